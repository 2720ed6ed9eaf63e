"""The benchmark harness (``lth_helpers.benchmarks``): its arithmetic, its report and its autograd rival.

Nothing here times anything or asserts on speed (timings belong to ``benchmarks/``): the
measurements are replaced by fixed numbers, so every check is exact and takes milliseconds.
What is checked: FLOP counting and the limit arithmetic, the run plans, the refusal of bad
population sizes, the shape of the one-line JSON, and that the autograd variant of the
comparison computes the same gradients as the reference network.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
from typing import Callable

import pytest
import torch
import torch.nn.functional as F

from lth_helpers.benchmarks import autograd_vs_manual, report, throughput
from lth_helpers.benchmarks.__main__ import main as bench_main
from lth_helpers.benchmarks.limit import (LENET_WEIGHTS, TRAIN_FLOPS_PER_SAMPLE, fraction_of_limit,
                                          limit_samples_per_s)
from lth_helpers.benchmarks.timing import BenchPlan, best_seconds
from lth_helpers.models import LAYER_NAMES, LeNet300100
from lth_helpers.population import LeNetPopulation

#: A plan whose real runs (where a test lets them run) take a few iterations on a tiny data set.
TINY = BenchPlan(matmul_size=8, single_iterations=2, population_samples=120, min_iterations=1, repeats=1,
                 n_train=120, budget_s=1.0)


def test_flops_per_training_sample():
    assert LENET_WEIGHTS == 784 * 300 + 300 * 100 + 100 * 10 == 266_200
    assert TRAIN_FLOPS_PER_SAMPLE == 6 * 266_200 == 1_597_200


def test_limit_arithmetic():
    # 1,597.2 GFLOP/s is exactly one million network-samples per second.
    assert limit_samples_per_s(1_597.2) == pytest.approx(1e6)
    assert fraction_of_limit(250_000, 1_597.2) == pytest.approx(0.25)
    for bad in (0.0, -1.0, math.nan):
        with pytest.raises(ValueError, match="positive"):
            limit_samples_per_s(bad)


def test_plans():
    default, full = BenchPlan.make(), BenchPlan.make(full=True)
    assert full.population_samples > default.population_samples and full.repeats > default.repeats
    # Every K costs about the same number of network-samples, with a floor on the iterations.
    assert default.population_iterations(1) == default.population_samples // 60
    assert default.population_iterations(4) == default.population_samples // 240
    assert default.population_iterations(64) == default.min_iterations


def _fake_clock(monkeypatch, durations: list[float]) -> tuple[list[int], Callable[[], None]]:
    """A clock that only the returned run advances, by ``durations`` in turn; also returns its list of calls."""
    now, calls, pending = [0.0], [], iter(durations)
    monkeypatch.setattr("lth_helpers.benchmarks.timing.time.perf_counter", lambda: now[0])

    def run() -> None:
        calls.append(1)
        now[0] += next(pending)
    return calls, run


def test_best_seconds_warms_up_and_keeps_the_best(monkeypatch):
    calls, run = _fake_clock(monkeypatch, [5.0, 3.0, 1.0, 2.0])  # warm-up 5 s, then 3, 1, 2
    assert best_seconds({"run": run}, repeats=3) == ({"run": 1.0}, 3)
    assert len(calls) == 4


def test_best_seconds_stops_at_the_deadline(monkeypatch):
    # After the warm-up (5 s) and one round (3 s) the clock reads 8 s; another 3 s round would
    # end at 11 s, past the deadline of 10 s, so it does not start.
    calls, run = _fake_clock(monkeypatch, [5.0, 3.0, 1.0])
    assert best_seconds({"run": run}, repeats=5, deadline=10.0) == ({"run": 3.0}, 1)
    assert len(calls) == 2


@pytest.mark.parametrize("populations", [[], [0], [65], [1.5], [True]])
def test_bad_population_sizes_are_refused(populations):
    with pytest.raises(ValueError, match="population"):
        throughput.validate_populations(populations)


def test_population_sizes_keep_their_order_without_repeats():
    assert throughput.validate_populations([4, 1, 4, 2]) == [4, 1, 2]
    assert throughput.parse_populations("4, 1,4,2,") == [4, 1, 2]
    with pytest.raises(ValueError, match="comma-separated integers"):
        throughput.parse_populations("1,x")


@pytest.mark.parametrize("text", ["a", "1.5", "2;4", "0", "65"])
def test_bench_command_names_a_bad_population_size_in_one_line(text, capsys):
    from lth_helpers.cli import main

    assert main(["bench", "--populations", text]) == 2
    captured = capsys.readouterr()
    assert not captured.out and "population size" in captured.err and len(captured.err.strip().splitlines()) == 1
    assert repr(text) in captured.err or text in captured.err


@pytest.fixture
def fake_measurements(monkeypatch):
    """Fixed timings instead of measured ones: a 1,597.2 GFLOP/s matmul (a limit of one million
    network-samples/s; one slower matmul sample that must not count), 300,000 network-samples/s
    for one network and fixed rates per K. Nothing is run."""
    rates = {1: 400_000.0, 2: 700_000.0, 4: 700_000.0}
    monkeypatch.setattr(report.BenchPlan, "make", classmethod(lambda cls, full=False: TINY))

    def fake_best_seconds(runs, repeats, deadline=None):
        seconds = {}
        for name in runs:
            if name.startswith("matmul"):
                seconds[name] = 2 * TINY.matmul_size ** 3 / 1_597.2e9 * (2 if name.endswith("K=1") else 1)
            elif name == "single":
                seconds[name] = TINY.single_iterations * 60 / 300_000
            else:
                k = int(name.removeprefix("K="))
                seconds[name] = k * TINY.population_iterations(k) * 60 / rates[k]
        return seconds, 3

    monkeypatch.setattr(report, "best_seconds", fake_best_seconds)
    monkeypatch.setattr(report, "usable_cores", lambda: 1)  # one core: no multi-process rows


def _printed(**kwargs) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert report.run_benchmark(**kwargs) == 0
    return out.getvalue()


def test_json_is_one_object_on_one_line(fake_measurements):
    printed = _printed(as_json=True, populations=[1, 2, 4])
    assert printed.count("\n") == 1 and printed.endswith("\n")
    r = json.loads(printed)
    assert r["matmul_gflops"] == 1_597.2
    assert r["limit_samples_per_s"] == pytest.approx(1e6)
    assert r["samples_per_s_per_net_single"] == 300_000.0
    assert r["fraction_of_limit_single"] == pytest.approx(0.3)
    # A tie goes to the smaller population.
    assert r["best_k"] == 2 and r["samples_per_s_per_net_population"] == 700_000.0
    assert r["fraction_of_limit"] == pytest.approx(0.7)
    assert [row["k"] for row in r["population"]] == [1, 2, 4]
    for row in r["population"]:
        assert row["samples_per_s_each_member"] == pytest.approx(row["samples_per_s_per_net"] / row["k"])
        assert row["steps_per_s"] == pytest.approx(row["samples_per_s_per_net"] / (row["k"] * 60))
        assert row["fraction_of_limit"] == pytest.approx(row["samples_per_s_per_net"] / 1e6)
    machine = r["machine"]
    assert {"cpu", "capability", "torch", "threads"} <= set(machine)
    assert machine["capability"] == torch.backends.cpu.get_cpu_capability()
    assert r["full"] is False and r["end_to_end"] is None and r["repeats"] == 3
    # One core: the driver trains in this process, at K=1 (a ticket) and K=2 (its two controls).
    assert r["driver"]["mode"] == r["population"][0]["mode"] and r["driver"]["population_sizes"] == [1, 2]
    assert r["driver"]["fraction_of_limit"] == pytest.approx([0.4, 0.7])
    assert r["driver"]["below_best"] == pytest.approx([1 - 4 / 7, 0.0])
    assert "summed over the networks" in r["definition"]


def test_report_table(fake_measurements):
    text = _printed(populations=[1, 2])
    assert "1,000,000 network-samples/s" in text
    assert "single network (train)" in text and "30%" in text
    best = [line for line in text.splitlines() if "<- best" in line]
    assert len(best) == 1 and "population K=2" in best[0]
    driver = [line for line in text.splitlines() if line.startswith("The IMP driver")]
    assert len(driver) == 1 and "(K=1 and K=2, " in driver[0] and "40% and 70% of the limit, 43% and 0% below" in driver[0]
    # Without a driver size measured there is nothing to compare, and no line.
    assert "The IMP driver" not in _printed(populations=[4])
    assert json.loads(_printed(as_json=True, populations=[4]))["driver"] is None


def test_end_to_end_seam(fake_measurements):
    seen = []

    def end_to_end(full: bool) -> dict:
        seen.append(full)
        return {"minutes": 1.5, "table": "END-TO-END TABLE"}

    result = report.measure(full=True, populations=[1], end_to_end=end_to_end)
    assert seen == [True] and result["end_to_end"] == {"minutes": 1.5, "table": "END-TO-END TABLE"}
    assert result["full"] is True
    assert report.format_report(result).endswith("END-TO-END TABLE")


def test_bad_sizes_are_refused_before_measuring(monkeypatch, capsys):
    def fail(*args, **kwargs):
        raise AssertionError("measured despite a bad population size")

    monkeypatch.setattr(report, "training_runs", fail)
    monkeypatch.setattr(report, "best_seconds", fail)
    with pytest.raises(ValueError, match="1..64"):
        report.run_benchmark(as_json=True, populations=[0])
    # The module's own entry point turns it into exit code 2 and one line on stderr.
    assert bench_main(["--populations", "1,65"]) == 2
    captured = capsys.readouterr()
    assert "1..64" in captured.err and captured.out == ""


def test_json_refuses_non_finite_numbers():
    with pytest.raises(ValueError):
        report.to_json_line({"rate": math.nan})


def test_training_runs_and_rates():
    # The real loops run once each, a few iterations on a tiny set; rates come from fixed seconds.
    runs = throughput.training_runs([1, 2], throughput.random_mnist_like(TINY.n_train), TINY)
    assert list(runs) == ["single", "K=1", "K=2"]
    for run in runs.values():
        run()
    single, rates = throughput.rates({"single": 0.5, "K=1": 0.5, "K=2": 0.25}, [1, 2], TINY)
    assert single == pytest.approx(TINY.single_iterations * 60 / 0.5)
    assert rates == {1: pytest.approx(TINY.population_iterations(1) * 60 / 0.5),
                     2: pytest.approx(2 * TINY.population_iterations(2) * 60 / 0.25)}


@pytest.mark.parametrize("argv", [["--threads", "0"], ["--threads", "two"], ["--populations", "99"],
                                  ["--repeats", "0"]])
def test_comparison_entry_point_refuses_bad_input(argv, monkeypatch, capsys):
    monkeypatch.setattr(autograd_vs_manual, "compare", lambda *a: pytest.fail("ran despite bad input"))
    assert autograd_vs_manual.main(argv) == 2
    assert capsys.readouterr().err.startswith("error: ")


def _reference_gradients(states: list[dict[str, torch.Tensor]], x: torch.Tensor, y: torch.Tensor
                         ) -> list[torch.Tensor]:
    """Each member's gradients from its own ``LeNet300100`` (autograd, one network), stacked."""
    per_member = []
    for state in states:
        model = LeNet300100()
        model.load_state_dict(state)
        F.cross_entropy(model(x), y).backward()
        layers = dict(model.layers())
        per_member.append([t for n in LAYER_NAMES for t in (layers[n].weight.grad, layers[n].bias.grad)])
    return [torch.stack(tensors) for tensors in zip(*per_member)]


@pytest.mark.parametrize("variant", autograd_vs_manual.VARIANTS)
def test_every_variant_computes_each_members_own_gradient(variant):
    states = autograd_vs_manual.member_states(3, density=0.7)
    g = torch.Generator().manual_seed(1)
    x, y = torch.randn(60, 784, generator=g), torch.randint(0, 10, (60,), generator=g)
    expected = _reference_gradients(states, x, y)
    got = autograd_vs_manual.step_gradients(variant, states, x, y)
    for layer, (a, b) in enumerate(zip(got, expected)):
        # Relative to the gradient's norm: float32 rounding (different kernels) is ~1e-7.
        assert float((a - b).norm() / b.norm()) < 1e-5, (variant, layer)
    for gw, name in zip(got[0::2], LAYER_NAMES):
        masks = torch.stack([s[f"{name}.mask"] for s in states])
        assert torch.all(gw[masks == 0] == 0)


@pytest.mark.parametrize("variant", autograd_vs_manual.VARIANTS)
def test_every_variant_steps_and_keeps_pruned_weights_at_zero(variant):
    states = autograd_vs_manual.member_states(2, density=0.5)
    population = LeNetPopulation(states)
    before = [w.detach().clone() for w in population.weights]
    step = autograd_vs_manual.make_step(variant, population)
    g = torch.Generator().manual_seed(2)
    for _ in range(2):
        step(torch.randn(60, 784, generator=g), torch.randint(0, 10, (60,), generator=g))
    for w, m, w0 in zip(population.weights, population.masks, before):
        assert torch.all(w[m == 0] == 0)
        assert not torch.equal(w, w0)


def test_comparison_rows_and_table(monkeypatch):
    # Each variant runs once on a tiny set; the clock is replaced by three rounds of fixed times.
    seconds = {"manual": [1.0, 2.0, 1.0], "autograd_mask_forward": [1.5, 1.5, 1.5],
               "autograd_mask_grad": [1.25, 2.2, 1.1]}
    monkeypatch.setattr(autograd_vs_manual, "timed_rounds",
                        lambda runs, repeats: {v: (fn(), seconds[v])[1] for v, fn in runs.items()})
    rows = autograd_vs_manual.compare(ks=[2], threads=[1], samples=120, repeats=3, min_iterations=1, n_train=120)
    assert len(rows) == 1
    row = rows[0]
    assert row["threads"] == 1 and row["k"] == 2 and row["iterations"] == 1 and row["rounds"] == 3
    assert row["manual"] == pytest.approx(2 * 60 / 1.0)  # best of the rounds
    # Paired ratios: mask_forward 1.5, 0.75, 1.5 (median 1.5); mask_grad 1.25, 1.1, 1.1 (median 1.1).
    assert row["autograd_slower_by"] == pytest.approx(0.10)
    assert row["autograd_slower_by_best_of"] == pytest.approx(0.10)  # best 1.0 vs best 1.1
    assert row["max_gradient_difference"] < 1e-5
    table = autograd_vs_manual.format_table(rows)
    assert "| 1 | 2 | 120 | 80 | 109 | +10% | +10% |" in table


def test_end_to_end_times_the_real_driver():
    """One quick round of every strategy through run_imp: the networks counted, evaluation timed."""
    from lth_helpers.benchmarks.end_to_end import format_table, measure_end_to_end
    from lth_helpers.strategies import STRATEGIES

    row = measure_end_to_end("quick", rounds=1)
    assert row["networks_timed"] == 1 + len(STRATEGIES)
    assert 0 < row["evaluation_share"] < 1 and row["seconds_per_network_round"] > 0
    # 1 of 2 rounds; the experiment: the dense network, 2 rounds of every strategy, one one-shot ticket.
    assert row["experiment_networks"] == 1 * (1 + 2 * len(STRATEGIES) + 1) and row["scaled"] is True
    assert "s / network-round" in format_table([row])
    with pytest.raises(ValueError, match="rounds must be in 1..2"):
        measure_end_to_end("quick", rounds=3)


def test_processes_rows_and_the_best_of_both_ways(fake_measurements, monkeypatch):
    """On a machine with several cores the report adds one row per K for one single-threaded process
    per core (how the IMP driver trains), and the best of all rows is the headline."""
    monkeypatch.setattr(report, "usable_cores", lambda: 2)
    monkeypatch.setattr(report, "process_rates", lambda ks, plan, processes, repeats=3: {1: 600_000.0, 2: 850_000.0})
    r = json.loads(_printed(as_json=True, populations=[1, 2]))
    modes = [(row["k"], row["mode"]) for row in r["population"]]
    assert modes[2:] == [(1, "2 processes x 1 thread"), (2, "2 processes x 1 thread")]
    assert (r["best_k"], r["best_mode"]) == (2, "2 processes x 1 thread")
    assert r["fraction_of_limit"] == pytest.approx(0.85)
    assert r["population"][3]["samples_per_s_each_member"] == pytest.approx(850_000 / 4)
    # The driver trains like the process rows, compared with the best of every row.
    assert r["driver"]["mode"] == "2 processes x 1 thread"
    assert r["driver"]["fraction_of_limit"] == pytest.approx([0.6, 0.85])
    assert r["driver"]["below_best"] == pytest.approx([1 - 6 / 8.5, 0.0])
    best = [line for line in _printed(populations=[1, 2]).splitlines() if "<- best" in line]
    assert len(best) == 1 and "K=2, 2 processes x 1 thread" in best[0]


def test_processes_benchmark_runs_real_processes():
    """Two spawned single-threaded processes, released together, each train a population of K."""
    from lth_helpers.benchmarks.processes import process_rates

    rates = process_rates([1, 2], TINY, processes=2, repeats=2)
    assert set(rates) == {1, 2} and all(rate > 0 for rate in rates.values())
    with pytest.raises(ValueError, match="processes must be >= 1"):
        process_rates([1], TINY, processes=0)


@pytest.mark.parametrize("processes", [1, 2], ids=["one core", "two processes"])
def test_one_seed_times_real_stages_and_replays_them(monkeypatch, processes):
    """One quick seed: the dense network in this process, the rounds in workers (or stage by stage on one
    core); the replay of the rounds that ran is close to their measured wall time. All of quick's rounds ran,
    so nothing is scaled; with fewer rounds timed than the size has, the total is labelled scaled."""
    from lth_helpers import parallel
    from lth_helpers.benchmarks import end_to_end

    monkeypatch.setattr(parallel, "usable_cores", lambda: processes)
    monkeypatch.setattr(end_to_end, "usable_cores", lambda: processes)
    monkeypatch.setattr(end_to_end, "choose_workers", lambda workers, config, device: processes)
    row = end_to_end.measure_one_seed("quick", rounds=2)
    assert row["processes"] == processes and row["scaled"] is False
    assert set(row["stage_seconds"]) == {"dense", "original", "reinit+random_mask"}
    assert 0 < row["evaluation_share"] < 1
    # The replay leaves out only process start-up and the store's reads and writes, which dominate at this
    # size (the paper-size check is in the README: 9.9 min replayed against 10.0 measured).
    assert 0 < row["replayed_seconds_timed"] <= 1.05 * row["wall_seconds_timed"]
    assert row["rounds_all"] == 2 and row["minutes_all_rounds"] * 60 == pytest.approx(row["replayed_seconds_timed"])
    text = end_to_end.format_one_seed(row)
    assert "every round ran" in text and "scaled:" not in text
    scaled = end_to_end.format_one_seed(dict(row, rounds_timed=1, scaled=True))
    assert "measured" in scaled and "scaled:" in scaled and "every round ran" not in scaled
    with pytest.raises(ValueError, match="rounds must be an integer in 1..2"):
        end_to_end.measure_one_seed("quick", rounds=3)


@pytest.mark.parametrize("argv, message", [
    (["--sizes", "huge", "--one-seed"], "unknown size 'huge'"),
    (["--sizes", "paper", "--one-seed", "--rounds", "0"], "rounds must be an integer in 1..16, got 0"),
    (["--sizes", "standard", "--rounds", "17"], "rounds must be in 1..16"),
], ids=["size", "one-seed rounds", "rounds"])
def test_end_to_end_command_refuses_bad_input_in_one_line(argv, message, capsys, monkeypatch):
    from lth_helpers.benchmarks import end_to_end

    monkeypatch.setattr(end_to_end, "load_mnist", lambda *a, **k: pytest.fail("data loaded before the check"))
    assert end_to_end.main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_experiment_counts_every_network_and_replays_its_own_stages(monkeypatch):
    """The whole quick experiment with two worker processes: every network counted once (those the
    workers trained included), and the replay of its own stage times close to its measured wall time."""
    from lth_helpers import parallel
    from lth_helpers.benchmarks import end_to_end

    monkeypatch.setattr(parallel, "usable_cores", lambda: 2)
    monkeypatch.setattr(end_to_end, "choose_workers", lambda workers, config, device: 2)
    row = end_to_end.measure_experiment("quick")
    assert row["networks"] == end_to_end.experiment_networks("quick")
    assert row["processes"] == 2 and row["wall_minutes"] >= row["imp_wall_minutes"] > 0
    assert 0 < row["imp_replayed_minutes"] <= 1.05 * row["imp_wall_minutes"]  # start-up is not replayed
