"""How fast does LeNet-300-100 train here, next to what this machine's matmul unit allows?

``python -m lth_helpers bench [--json] [--quick] [--populations 1,2,4,8,16]`` measures, on
random tensors shaped like MNIST (no dataset needed):

* the dense float32 matrix-multiply rate of this machine (a large square ``A @ B``),
* training throughput of the single-network reference loop (:func:`lth_helpers.training.train`)
  and of the population trainer (:func:`lth_helpers.population.train_population`) at several
  population sizes K, at batch 60 with Adam, as the paper trains LeNet,
* the cost of one evaluation at the paper's sizes (5,000 validation + 10,000 test examples),

and from these estimates the wall time of one seed of the paper-size experiment.

Units. A *network-sample* is one training example passed forward and backward through one
network, with that network's share of the Adam step. Throughput is counted in network-samples
per second summed over the networks trained together (K members x batch x steps / seconds):
that is the quantity the machine's matmul rate bounds. A LeNet-300-100 training sample costs
``6 x 266,200`` floating-point operations (266,200 weights; 2 FLOPs per weight forward, 4
backward), so the machine's limit is ``matmul FLOP/s / (6 x 266,200)`` network-samples per
second, and ``fraction_of_limit`` is the measured throughput over that limit.

Timings are the best of several short repeats, taken in turns after a warm-up: on a shared
machine the best repeat is the one least disturbed by other jobs. Numbers are still noisy when
other jobs run.
"""

from __future__ import annotations

import json
import math
import os
import platform
import time
from dataclasses import dataclass
from typing import Callable, Sequence

import torch

from .data import MNISTData
from .models import LAYER_SHAPES, LeNet300100
from .population import LeNetPopulation, train_population
from .sizes import SIZES
from .training import TrainConfig, train

__all__ = [
    "LENET_WEIGHTS",
    "TRAIN_FLOPS_PER_SAMPLE",
    "EVAL_FLOPS_PER_SAMPLE",
    "BATCH_SIZE",
    "MAX_POPULATION",
    "BenchPlan",
    "matmul_gflops",
    "random_mnist_like",
    "training_throughput",
    "EVAL_OPTIONS",
    "evaluation_options",
    "paper_estimate",
    "measure",
    "format_report",
    "run_benchmark",
]

#: Weights of LeNet-300-100: 784*300 + 300*100 + 100*10 = 266,200 multiply-adds per example.
LENET_WEIGHTS = sum(out * inp for out, inp in LAYER_SHAPES.values())
#: FLOPs of one training example: forward 2 per weight, backward 4 (input and weight gradients).
TRAIN_FLOPS_PER_SAMPLE = 6 * LENET_WEIGHTS
#: FLOPs of one evaluated example (forward only).
EVAL_FLOPS_PER_SAMPLE = 2 * LENET_WEIGHTS
#: The paper's LeNet minibatch.
BATCH_SIZE = 60
#: Largest population the benchmark accepts (memory grows linearly with K).
MAX_POPULATION = 64
#: The paper's evaluation sets: 5,000 validation and 10,000 test examples.
PAPER_VAL, PAPER_TEST = 5_000, 10_000
#: Strategies trained together from round 1 on in the estimate: original, reinit, random_mask.
PAPER_STRATEGIES = 3

DEFINITION = (
    "network-samples/s: training examples (forward + backward + Adam step) through one network "
    "per second, summed over the networks trained together (K x batch x steps / seconds); "
    f"a LeNet-300-100 training sample costs 6 x {LENET_WEIGHTS:,} FLOPs, so the machine's limit is "
    f"matmul FLOP/s / {TRAIN_FLOPS_PER_SAMPLE:,}"
)


@dataclass(frozen=True)
class BenchPlan:
    """How long each measurement runs. ``quick`` is a smoke test; its numbers are rough."""

    matmul_size: int
    matmul_repeats: int
    single_iterations: int
    population_samples: int  # network-samples per timed run (iterations = this / (K * batch))
    min_iterations: int
    repeats: int
    eval_repeats: int
    eval_scale: int  # evaluation is timed on 1/eval_scale of the paper's examples, then scaled up
    n_train: int

    @classmethod
    def make(cls, quick: bool) -> "BenchPlan":
        if quick:
            return cls(matmul_size=512, matmul_repeats=2, single_iterations=20, population_samples=2_400,
                       min_iterations=10, repeats=1, eval_repeats=1, eval_scale=10, n_train=2_000)
        # Many short runs rather than a few long ones: on a shared machine, the best of many
        # short runs is more likely to have caught a quiet moment.
        return cls(matmul_size=2048, matmul_repeats=7, single_iterations=600, population_samples=60_000,
                   min_iterations=100, repeats=7, eval_repeats=5, eval_scale=1, n_train=55_000)

    def population_iterations(self, k: int) -> int:
        return max(self.min_iterations, self.population_samples // (k * BATCH_SIZE))


def _best_seconds(runs: dict[str, Callable[[], object]], repeats: int) -> dict[str, float]:
    """Smallest wall time of each run over ``repeats`` rounds, after one untimed warm-up round.

    The runs take turns (round-robin) so that a burst of activity from another job slows one
    repeat of one run rather than every repeat of the same run.
    """
    for fn in runs.values():
        fn()
    best = {name: math.inf for name in runs}
    for _ in range(max(1, repeats)):
        for name, fn in runs.items():
            start = time.perf_counter()
            fn()
            best[name] = min(best[name], time.perf_counter() - start)
    return best


def matmul_gflops(size: int = 2048, repeats: int = 5, dtype: torch.dtype = torch.float32) -> float:
    """Best dense ``size x size`` matrix-multiply rate of this machine in GFLOP/s (2 size^3 FLOPs)."""
    if not isinstance(size, int) or size < 1:
        raise ValueError(f"size must be a positive integer, got {size!r}")
    generator = torch.Generator().manual_seed(0)
    a = torch.randn(size, size, generator=generator).to(dtype)
    b = torch.randn(size, size, generator=generator).to(dtype)
    out = torch.empty(size, size, dtype=dtype)
    torch.mm(a, b, out=out)  # a second warm-up comes from _best_seconds
    seconds = _best_seconds({"mm": lambda: torch.mm(a, b, out=out)}, repeats)["mm"]
    return 2 * size ** 3 / seconds / 1e9


def random_mnist_like(n_train: int = 55_000, n_val: int = BATCH_SIZE, n_test: int = BATCH_SIZE,
                      seed: int = 0) -> MNISTData:
    """Random normal ``(n, 784)`` inputs with labels 0-9: MNIST's shapes without MNIST.

    Speed does not depend on the values. The default validation and test sets are one
    minibatch each so that the training timings include almost no evaluation (evaluation is
    timed on its own at the paper's sizes).
    """
    for name, n in (("n_train", n_train), ("n_val", n_val), ("n_test", n_test)):
        if not isinstance(n, int) or n < 1:
            raise ValueError(f"{name} must be a positive integer, got {n!r}")
    g = torch.Generator().manual_seed(seed)

    def split(n: int) -> tuple[torch.Tensor, torch.Tensor]:
        return torch.randn(n, 784, generator=g), torch.randint(0, 10, (n,), generator=g)

    (tx, ty), (vx, vy), (sx, sy) = split(n_train), split(n_val), split(n_test)
    return MNISTData("random MNIST-shaped tensors", "random normal (benchmark)", tx, ty, vx, vy, sx, sy)


def _config(iterations: int) -> TrainConfig:
    # One evaluation, at the end (both loops always evaluate after the last iteration).
    return TrainConfig(iterations=iterations, batch_size=BATCH_SIZE, eval_every=iterations)


def training_throughput(ks: Sequence[int], data: MNISTData, plan: BenchPlan) -> tuple[float, dict[int, float]]:
    """Network-samples/s of the single-network loop and of the population trainer at each K.

    The single-network loop is :func:`lth_helpers.training.train` itself (autograd, one
    network); the population is :func:`lth_helpers.population.train_population`, summed over
    its K members. Both include drawing the minibatches and one final evaluation on the
    (one-minibatch) validation and test sets of ``data``.
    """
    model = LeNet300100(seed=0)
    populations = {k: LeNetPopulation([LeNet300100(seed=i).state_dict() for i in range(k)]) for k in ks}
    runs: dict[str, Callable[[], object]] = {
        "single": lambda: train(model, data, _config(plan.single_iterations), seed=1, progress=False)}
    for k, population in populations.items():
        runs[str(k)] = (lambda p=population, n=plan.population_iterations(k):
                        train_population(p, data, _config(n), seed=1, progress=False))
    best = _best_seconds(runs, plan.repeats)
    single = plan.single_iterations * BATCH_SIZE / best["single"]
    rates = {k: k * plan.population_iterations(k) * BATCH_SIZE / best[str(k)] for k in ks}
    return single, rates


def _eval_set(n: int, seed: int, bf16: bool) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x, y = torch.randn(n, 784, generator=g), torch.randint(0, 10, (n,), generator=g)
    return (x.bfloat16() if bf16 else x), y


#: Ways to evaluate, timed by :func:`evaluation_options`: (evaluate keyword arguments,
#: inputs given in bfloat16, test set evaluated). The paper size's own schedule is estimated from
#: these by :func:`paper_schedule_eval_seconds`.
EVAL_OPTIONS: dict[str, tuple[dict, bool, bool]] = {
    "float32": ({}, False, True),
    "float32_chunk_5000": ({"chunk": 5_000}, False, True),
    "validation_only_float32": ({}, False, False),
    "bfloat16_converting_inputs": ({"precision": "bfloat16"}, False, True),
    "bfloat16": ({"precision": "bfloat16"}, True, True),
    "validation_only_bfloat16": ({"precision": "bfloat16"}, True, False),
}


def _available_precisions() -> tuple[str, ...]:
    try:
        from .population import EVAL_PRECISIONS
    except ImportError:  # a population module without the bfloat16 options
        return ("float32",)
    return tuple(EVAL_PRECISIONS)


def evaluation_options(ks: Sequence[int], repeats: int, scale: int = 1) -> dict[int, dict[str, dict]]:
    """Seconds for one paper-size evaluation (5,000 validation + 10,000 test) of K members, several ways.

    ``float32`` is the paper's protocol (both sets in float32 at every evaluation); the others are cheaper:
    larger chunks (same numbers); the hidden layers in bfloat16 (numbers move slightly, see
    ``benchmarks/README.md``), with the inputs converted once beforehand or at every call;
    and validation only (the test set evaluated only where the validation loss reaches a new
    minimum: a lower bound, since those evaluations are not counted). With ``scale`` > 1 the
    sets are ``scale`` times smaller and the times multiplied back (rough).
    """
    precisions = _available_precisions()
    options = {name: spec for name, spec in EVAL_OPTIONS.items()
               if spec[0].get("precision", "float32") in precisions}
    sets = {bf16: (_eval_set(PAPER_VAL // scale, 1, bf16), _eval_set(PAPER_TEST // scale, 2, bf16))
            for bf16 in (False, True)}
    runs: dict[str, Callable[[], object]] = {}
    for k in ks:
        population = LeNetPopulation([LeNet300100(seed=i).state_dict() for i in range(k)])
        for name, (kwargs, bf16, with_test) in options.items():
            chosen = sets[bf16] if with_test else sets[bf16][:1]

            def run(p=population, chosen=chosen, kwargs=kwargs) -> None:
                for x, y in chosen:
                    p.evaluate(x, y, **kwargs)

            runs[f"{k}/{name}"] = run
    best = _best_seconds(runs, repeats)
    results: dict[int, dict[str, dict]] = {}
    for k in ks:
        results[k] = {}
        for name, (_, _, with_test) in options.items():
            seconds = scale * best[f"{k}/{name}"]
            examples = PAPER_VAL + (PAPER_TEST if with_test else 0)
            results[k][name] = {"seconds": seconds, "gflops": k * examples * EVAL_FLOPS_PER_SAMPLE / seconds / 1e9}
    return results


def paper_estimate(step_seconds: dict[int, float], eval_seconds: dict[int, float],
                   iterations: int = SIZES["paper"].iterations, eval_every: int = SIZES["paper"].eval_every,
                   rounds: int = SIZES["paper"].rounds, strategies: int = PAPER_STRATEGIES) -> dict:
    """Wall time of one seed of IMP at the paper's schedule.

    Round 0 trains the dense network alone (K=1); rounds 1..``rounds`` train the ticket and
    its controls as one population of K=``strategies``. ``step_seconds[k]`` and
    ``eval_seconds[k]`` are the measured time of one training iteration and of one
    evaluation (validation + test) for a population of ``k``.
    """
    evaluations = math.ceil(iterations / eval_every)
    plan = [(1, 1), (strategies, rounds)]  # (K, number of trainings)
    train_s = sum(n * iterations * step_seconds[k] for k, n in plan)
    eval_s = sum(n * evaluations * eval_seconds[k] for k, n in plan)
    total = train_s + eval_s
    return {
        "trainings": 1 + rounds,
        "networks_trained": 1 + rounds * strategies,
        "iterations": iterations,
        "eval_every": eval_every,
        "evaluations_per_training": evaluations,
        "train_minutes": train_s / 60,
        "eval_minutes": eval_s / 60,
        "minutes": total / 60,
        "eval_fraction": eval_s / total,
    }


#: Name of the estimate that follows ``SIZES["paper"]``'s own evaluation schedule.
PAPER_SCHEDULE = "paper_size_schedule"


def paper_schedule_eval_seconds(by_name: dict[str, dict]) -> float:
    """Average seconds per evaluation under ``SIZES["paper"]``'s schedule, from timed options.

    Validation (bfloat16) runs at every evaluation; the float32 test pass (timed as
    ``float32`` minus ``validation_only_float32``) runs every ``test_every`` iterations, plus
    once after training on the weights kept at the validation minimum.
    """
    paper = SIZES["paper"]
    evaluations = math.ceil(paper.iterations / paper.eval_every)
    tests = (math.ceil(paper.iterations / paper.test_every) + 1) if paper.test_every else evaluations
    test_seconds = max(by_name["float32"]["seconds"] - by_name["validation_only_float32"]["seconds"], 0.0)
    validation = by_name[f"validation_only_{paper.eval_precision}"]["seconds"]
    return validation + test_seconds * tests / evaluations


def _validate_populations(populations: Sequence[int]) -> list[int]:
    if not populations:
        raise ValueError("populations must list at least one population size K")
    ks = []
    for k in populations:
        if not isinstance(k, int) or isinstance(k, bool) or not 1 <= k <= MAX_POPULATION:
            raise ValueError(f"population size K must be an integer in 1..{MAX_POPULATION}, got {k!r}")
        if k not in ks:
            ks.append(k)
    return ks


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def measure(quick: bool = False, populations: Sequence[int] = (1, 2, 4, 8, 16)) -> dict:
    """Run every measurement and return the results as a JSON-ready dict (see :func:`run_benchmark`)."""
    ks = _validate_populations(populations)
    plan = BenchPlan.make(quick)
    started = time.perf_counter()

    fp32 = matmul_gflops(plan.matmul_size, plan.matmul_repeats)
    bf16 = matmul_gflops(plan.matmul_size, plan.matmul_repeats, torch.bfloat16)
    limit = fp32 * 1e9 / TRAIN_FLOPS_PER_SAMPLE

    data = random_mnist_like(plan.n_train)
    # K=1 and K=3 are what the paper-size estimate needs, whatever K the caller asked for.
    needed = ks + [k for k in (1, PAPER_STRATEGIES) if k not in ks]
    single, rates = training_throughput(needed, data, plan)
    per_k = [{
        "k": k,
        "iterations_timed": plan.population_iterations(k),
        "samples_per_s_per_net": rates[k],
        "samples_per_s_each_member": rates[k] / k,
        "steps_per_s": rates[k] / (k * BATCH_SIZE),
        "fraction_of_limit": rates[k] / limit,
    } for k in ks]
    best = max(per_k, key=lambda row: row["samples_per_s_per_net"])

    eval_k = evaluation_options((1, PAPER_STRATEGIES), plan.eval_repeats, plan.eval_scale)
    step_seconds = {k: k * BATCH_SIZE / rates[k] for k in (1, PAPER_STRATEGIES)}
    estimates = {name: paper_estimate(step_seconds, {k: eval_k[k][name]["seconds"] for k in eval_k})
                 for name in eval_k[1]}
    if "validation_only_bfloat16" in eval_k[1]:
        estimates[PAPER_SCHEDULE] = paper_estimate(
            step_seconds, {k: paper_schedule_eval_seconds(eval_k[k]) for k in eval_k})
    default = estimates.get(PAPER_SCHEDULE, estimates["float32"])

    return {
        "benchmark": "LeNet-300-100, batch 60, Adam (lr 1.2e-3), random MNIST-shaped tensors",
        "definition": DEFINITION,
        "quick": quick,
        "machine": {"cpu": _cpu_name(), "torch": torch.__version__, "threads": torch.get_num_threads(),
                    "cpu_count": os.cpu_count()},
        "batch_size": BATCH_SIZE,
        "flops_per_training_sample": TRAIN_FLOPS_PER_SAMPLE,
        "matmul_size": plan.matmul_size,
        "matmul_gflops": fp32,
        "matmul_gflops_bfloat16": bf16,
        "limit_samples_per_s": limit,
        "samples_per_s_per_net_single": single,
        "fraction_of_limit_single": single / limit,
        "samples_per_s_per_net_population": best["samples_per_s_per_net"],
        "best_k": best["k"],
        "fraction_of_limit": best["samples_per_s_per_net"] / limit,
        "population": per_k,
        "evaluation": {
            "examples": PAPER_VAL + PAPER_TEST,
            "note": ("seconds for one evaluation of K members on 5,000 validation + 10,000 test examples; "
                     "'float32' is the paper's protocol (both sets every time); 'bfloat16' options run the hidden layers in "
                     "bfloat16 with inputs converted once beforehand (except 'bfloat16_converting_inputs'); "
                     "'validation_only' options skip the test set (a lower bound: "
                     "the test evaluations needed where the validation loss reaches a new minimum are not counted)"),
            "timed_on_fraction": 1 / plan.eval_scale,
            "by_k": {str(k): eval_k[k] for k in eval_k},
        },
        "eval_fraction": default["eval_fraction"],
        "paper_estimate": default,
        "paper_estimate_minutes": default["minutes"],
        "paper_estimate_inputs": {
            "samples_per_s_per_net": {str(k): rates[k] for k in (1, PAPER_STRATEGIES)},
            "size": f"SIZES['paper']: {SIZES['paper'].rounds} pruning rounds after the dense round 0",
        },
        "paper_estimate_options": estimates,
        "targets": {
            "population_samples_per_s_per_net": 95_000,
            "paper_estimate_minutes": 30,
            "eval_fraction": 0.15,
        },
        "benchmark_seconds": time.perf_counter() - started,
    }


def format_report(result: dict) -> str:
    """The readable report (tables) of a result from :func:`measure`."""
    limit = result["limit_samples_per_s"]
    lines = [
        f"LeNet-300-100 training speed: batch {result['batch_size']}, Adam, random MNIST-shaped tensors"
        + (" (quick: rough numbers)" if result["quick"] else ""),
        f"Machine: {result['machine']['cpu']}, {result['machine']['threads']} torch thread(s), "
        f"torch {result['machine']['torch']}",
        f"Dense float32 matmul ({result['matmul_size']}^3): {result['matmul_gflops']:.1f} GFLOP/s "
        f"(bfloat16: {result['matmul_gflops_bfloat16']:.1f})",
        f"Limit: {result['matmul_gflops']:.1f} GFLOP/s / (6 x {LENET_WEIGHTS:,} FLOPs) = {limit:,.0f} network-samples/s",
        "",
        f"{'training loop':<28}{'network-samples/s':>19}{'per member':>12}{'of limit':>10}",
        f"{'single network (train)':<28}{result['samples_per_s_per_net_single']:>19,.0f}"
        f"{result['samples_per_s_per_net_single']:>12,.0f}{result['fraction_of_limit_single']:>10.0%}",
    ]
    for row in result["population"]:
        mark = "  <- best" if row["k"] == result["best_k"] else ""
        lines.append(f"{'population K=' + str(row['k']):<28}{row['samples_per_s_per_net']:>19,.0f}"
                     f"{row['samples_per_s_each_member']:>12,.0f}{row['fraction_of_limit']:>10.0%}{mark}")
    lines += ["", "network-samples/s = " + DEFINITION.split(": ", 1)[1].split("; ")[0] + ".", ""]

    by_k = result["evaluation"]["by_k"]
    options = result["paper_estimate_options"]
    lines.append("One evaluation (5,000 validation + 10,000 test examples) and the paper-size estimate:")
    lines.append(f"{'evaluation':<34}{'K=1 ms':>8}{'K=3 ms':>8}{'K=3 GFLOP/s':>13}{'eval share':>12}{'one seed':>11}")
    for name, est in options.items():
        if name not in by_k["1"]:
            continue
        lines.append(f"{name:<34}{1e3 * by_k['1'][name]['seconds']:>8.1f}{1e3 * by_k['3'][name]['seconds']:>8.1f}"
                     f"{by_k['3'][name]['gflops']:>13.0f}{est['eval_fraction']:>12.0%}{est['minutes']:>7.1f} min")
    est = result["paper_estimate"]
    lines += [
        "",
        f"Paper-size experiment, one seed, with the paper size's evaluation schedule ({SIZES['paper'].describe().split('), ', 1)[1].split(', 16 pruning')[0]}): "
        f"{est['trainings']} trainings (round 0 alone, then {est['trainings'] - 1} rounds of "
        f"{PAPER_STRATEGIES} networks), {est['iterations']:,} iterations each, evaluation every "
        f"{est['eval_every']}: {est['minutes']:.1f} min ({est['train_minutes']:.1f} training + "
        f"{est['eval_minutes']:.1f} evaluation; evaluation is {est['eval_fraction']:.0%} of the time).",
        "The rows above time other ways to evaluate: 'float32' evaluates both sets in float32 every 100 "
        "iterations (the paper's protocol); 'validation_only' rows skip the test set altogether.",
        "Best of several repeats; other jobs on the machine make these numbers noisy.",
    ]
    return "\n".join(lines)


def run_benchmark(as_json: bool = False, quick: bool = False, populations: Sequence[int] = (1, 2, 4, 8, 16)) -> int:
    """Measure and print (a table, or one JSON object with ``as_json``); return the exit code 0.

    The JSON object holds ``samples_per_s_per_net_single``, ``samples_per_s_per_net_population``
    (at ``best_k``), ``matmul_gflops``, ``fraction_of_limit``, ``population`` (one row per K),
    ``evaluation``, ``eval_fraction``, ``paper_estimate`` and more; the unit is defined in
    ``definition``. Raises ``ValueError`` for a population size outside 1..64.
    """
    result = measure(quick=quick, populations=list(populations))
    print(json.dumps(result, indent=2) if as_json else format_report(result), flush=True)
    return 0
