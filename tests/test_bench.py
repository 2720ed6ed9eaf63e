"""The speed benchmark: its JSON report is complete and self-consistent, and the CLI prints it.

The timings themselves depend on the machine; what is checked here is that every number the
report promises is there, positive, and agrees with the numbers it is computed from.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import subprocess
import sys

import pytest
import torch

from lth_helpers import bench
from lth_helpers.cli import main
from lth_helpers.models import LeNet300100
from lth_helpers.population import LeNetPopulation

REQUIRED = (
    "samples_per_s_per_net_single",
    "samples_per_s_per_net_population",
    "best_k",
    "matmul_gflops",
    "fraction_of_limit",
    "population",
    "evaluation",
    "eval_fraction",
    "paper_estimate",
    "paper_estimate_minutes",
    "definition",
)


@pytest.fixture(scope="module")
def quick_report():
    """One quick benchmark run (K = 1, 2), parsed from what ``run_benchmark`` prints."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = bench.run_benchmark(as_json=True, quick=True, populations=[1, 2])
    assert code == 0
    return json.loads(out.getvalue())


def test_report_has_every_key_and_positive_numbers(quick_report):
    for key in REQUIRED:
        assert key in quick_report, key
    for key in ("samples_per_s_per_net_single", "samples_per_s_per_net_population", "matmul_gflops",
                "matmul_gflops_bfloat16", "fraction_of_limit", "eval_fraction", "paper_estimate_minutes"):
        assert quick_report[key] > 0, key
    assert quick_report["quick"] is True
    assert "summed over the networks" in quick_report["definition"]


def test_fraction_of_limit_follows_from_the_matmul_rate(quick_report):
    r = quick_report
    assert r["flops_per_training_sample"] == 6 * 266_200
    limit = r["matmul_gflops"] * 1e9 / (6 * 266_200)
    assert r["limit_samples_per_s"] == pytest.approx(limit, rel=1e-9)
    assert r["fraction_of_limit"] == pytest.approx(
        r["samples_per_s_per_net_population"] * 6 * 266_200 / (r["matmul_gflops"] * 1e9), rel=1e-6)
    assert r["fraction_of_limit_single"] == pytest.approx(r["samples_per_s_per_net_single"] / limit, rel=1e-6)


def test_population_rows_and_best_k(quick_report):
    rows = quick_report["population"]
    assert [row["k"] for row in rows] == [1, 2]
    for row in rows:
        assert row["samples_per_s_per_net"] > 0
        assert row["samples_per_s_each_member"] == pytest.approx(row["samples_per_s_per_net"] / row["k"])
        assert row["steps_per_s"] == pytest.approx(row["samples_per_s_per_net"] / (row["k"] * 60))
    best = max(rows, key=lambda row: row["samples_per_s_per_net"])
    assert quick_report["best_k"] == best["k"]
    assert quick_report["samples_per_s_per_net_population"] == best["samples_per_s_per_net"]


def test_paper_estimate_adds_up(quick_report):
    est = quick_report["paper_estimate"]
    assert est["trainings"] == 17 and est["networks_trained"] == 1 + 16 * 3
    assert est["evaluations_per_training"] == 500
    assert est["minutes"] == pytest.approx(est["train_minutes"] + est["eval_minutes"])
    assert est["eval_fraction"] == pytest.approx(est["eval_minutes"] / est["minutes"])
    assert quick_report["eval_fraction"] == est["eval_fraction"]
    assert quick_report["paper_estimate_minutes"] == est["minutes"]
    by_k = quick_report["evaluation"]["by_k"]
    assert set(by_k) == {"1", "3"}
    for options in by_k.values():
        assert options["float32"]["seconds"] > 0
        assert "bfloat16" in options and "validation_only_bfloat16" in options


def test_paper_estimate_arithmetic():
    # 1 ms per iteration alone, 2 ms for three; evaluations 10 ms and 30 ms.
    est = bench.paper_estimate({1: 1e-3, 3: 2e-3}, {1: 0.01, 3: 0.03}, iterations=1_000, eval_every=100,
                               rounds=2, strategies=3)
    train_s = 1_000 * 1e-3 + 2 * 1_000 * 2e-3
    eval_s = 10 * 0.01 + 2 * 10 * 0.03
    assert est["train_minutes"] * 60 == pytest.approx(train_s)
    assert est["eval_minutes"] * 60 == pytest.approx(eval_s)
    assert est["eval_fraction"] == pytest.approx(eval_s / (train_s + eval_s))


@pytest.mark.parametrize("populations", [[], [0], [65], [1.5]])
def test_bad_population_sizes_are_refused(populations):
    with pytest.raises(ValueError, match="population"):
        bench.run_benchmark(as_json=True, quick=True, populations=populations)


def test_cli_prints_one_json_object():
    # One thread, as in the rest of the suite: steadier on a machine shared with other jobs.
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    done = subprocess.run([sys.executable, "-m", "lth_helpers", "bench", "--json", "--quick", "--populations", "1"],
                          capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert [row["k"] for row in report["population"]] == [1]
    assert report["best_k"] == 1
    assert math.isfinite(report["paper_estimate_minutes"])


def test_cli_rejects_a_bad_population_size(capsys):
    assert main(["bench", "--quick", "--populations", "0"]) == 2
    captured = capsys.readouterr()
    assert "1..64" in captured.err and captured.out == ""


def test_bfloat16_evaluation_stays_close_to_float32():
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(600, 784, generator=g), torch.randint(0, 10, (600,), generator=g)
    population = LeNetPopulation([LeNet300100(seed=i).state_dict() for i in range(2)])
    loss32, acc32 = population.evaluate(x, y)
    loss16, acc16 = population.evaluate(x, y, precision="bfloat16")
    loss16b, acc16b = population.evaluate(x.bfloat16(), y, precision="bfloat16", chunk=250)
    assert torch.allclose(loss16, loss32, rtol=1e-3)
    assert (acc16 - acc32).abs().max() <= 5 / 600
    assert torch.allclose(loss16b, loss16) and torch.equal(acc16b, acc16)
    with pytest.raises(ValueError, match="precision"):
        population.evaluate(x, y, precision="float16")
