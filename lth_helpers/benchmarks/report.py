"""``python -m lth_helpers bench``: run the measurements, then print a report or one JSON line.

The report puts the training throughput of the real loops (:mod:`.throughput`) next to the
machine's own float32 matmul limit (:mod:`.limit`), so the fraction of the hardware limit is
visible on whatever machine runs it.

An end-to-end benchmark of the IMP driver plugs in through ``end_to_end`` (see
:data:`EndToEnd`): a function of ``full`` returning a JSON-ready dict, stored under the
``end_to_end`` key of the result; its ``table`` entry (a string), if any, is printed in the
readable report.
"""

from __future__ import annotations

import json
import os
import platform
import time
from typing import Callable, Sequence

import torch

from ..imp import EVERY_ROUND
from ..parallel import usable_cores
from .limit import (DEFINITION, LENET_WEIGHTS, TRAIN_FLOPS_PER_SAMPLE, fraction_of_limit, limit_samples_per_s,
                    matmul_gflops_from_seconds, matmul_run)
from .processes import process_rates
from .throughput import DEFAULT_POPULATIONS, random_mnist_like, rates, training_runs, validate_populations
from .timing import BATCH_SIZE, BenchPlan, best_seconds

__all__ = ["EndToEnd", "DRIVER_POPULATIONS", "machine_info", "driver_summary", "measure", "format_report",
           "to_json_line", "run_benchmark"]

#: The seam for an end-to-end benchmark: called with ``full``, returns a JSON-ready dict.
EndToEnd = Callable[[bool], dict]

#: CPU features that decide which kernels PyTorch can use (listed in the report when present).
_FEATURES = ("avx2", "fma", "avx512f", "avx512_bf16", "amx_tile", "amx_bf16", "neon", "asimd")


def _cpuinfo() -> tuple[str, list[str]]:
    """CPU model name and the vector features of :data:`_FEATURES` it has (Linux; else a best guess)."""
    name, flags = "", set()
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                key, _, value = line.partition(":")
                key = key.strip()
                if key == "model name" and not name:
                    name = value.strip()
                elif key in ("flags", "Features") and not flags:
                    flags = set(value.split())
    except OSError:
        pass
    return name or platform.processor() or platform.machine(), [f for f in _FEATURES if f in flags]


def machine_info() -> dict:
    """What the numbers depend on: CPU, the vector instructions PyTorch dispatches to, torch, threads."""
    cpu, features = _cpuinfo()
    return {
        "cpu": cpu,
        "cpu_features": features,
        # The widest vector instruction set PyTorch's CPU kernels use here (e.g. AVX2, AVX512).
        "capability": torch.backends.cpu.get_cpu_capability(),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "cpu_count": os.cpu_count(),
    }


#: The population sizes the IMP driver trains the paper's comparison in: each round's ticket alone
#: (so the chain of tickets never waits), then its two controls together.
DRIVER_POPULATIONS: tuple[int, ...] = (1, len(EVERY_ROUND) - 1)


def driver_summary(rows: list[dict], driver_mode: str) -> dict | None:
    """How the population sizes the driver uses compare with the best row measured on this machine.

    ``driver_mode`` is the ``mode`` of the rows the driver trains like (one single-threaded process
    per core on a machine with several). Returns ``None`` when a driver size was not measured
    (``--populations`` without it). ``below_best`` is, for each driver size, how far its
    throughput falls short of the fastest row of any K and mode (0 when it is the fastest).
    """
    by_k = {row["k"]: row for row in rows if row["mode"] == driver_mode}
    if not all(k in by_k for k in DRIVER_POPULATIONS):
        return None
    best = max(row["samples_per_s_per_net"] for row in rows)
    return {
        "mode": driver_mode,
        "population_sizes": list(DRIVER_POPULATIONS),
        "fraction_of_limit": [by_k[k]["fraction_of_limit"] for k in DRIVER_POPULATIONS],
        "below_best": [1 - by_k[k]["samples_per_s_per_net"] / best for k in DRIVER_POPULATIONS],
    }


def measure(full: bool = False, populations: Sequence[int] = DEFAULT_POPULATIONS,
            end_to_end: EndToEnd | None = None, plan: BenchPlan | None = None) -> dict:
    """Run every measurement and return the result as a JSON-ready dict.

    ``plan`` overrides how long each measurement runs (default :meth:`BenchPlan.make` of
    ``full``). ``repeats`` in the result is the number of timed rounds that fit the plan's
    time budget. Raises ``ValueError`` for a population size outside 1..64 before measuring.
    """
    ks = validate_populations(list(populations))
    plan = plan or BenchPlan.make(full)
    started = time.perf_counter()

    training = training_runs(ks, random_mnist_like(plan.n_train), plan)
    matmul = matmul_run(plan.matmul_size)
    # The limit is timed right before every training run, in the same rounds: a burst of
    # outside load then lowers both, instead of only the limit or only the throughput.
    runs: dict[str, Callable[[], object]] = {}
    for name, run in training.items():
        runs[f"matmul before {name}"] = matmul
        runs[name] = run
    seconds, rounds = best_seconds(runs, plan.repeats, deadline=started + plan.budget_s)
    matmul_seconds = min(t for name, t in seconds.items() if name.startswith("matmul"))
    gflops = matmul_gflops_from_seconds(plan.matmul_size, matmul_seconds)
    limit = limit_samples_per_s(gflops)
    single, rates_by_k = rates(seconds, ks, plan)
    rows = [{
        "k": k,
        "iterations_timed": plan.population_iterations(k),
        "samples_per_s_per_net": rates_by_k[k],
        "samples_per_s_each_member": rates_by_k[k] / k,
        "steps_per_s": rates_by_k[k] / (k * BATCH_SIZE),
        "fraction_of_limit": fraction_of_limit(rates_by_k[k], gflops),
    } for k in ks]
    for row in rows:
        row["mode"] = f"1 process x {torch.get_num_threads()} thread(s)"
    # How the IMP driver trains on a machine with several cores (lth_helpers.parallel): one
    # single-threaded process per core, each with its own population.
    cores = usable_cores()
    driver_mode = rows[0]["mode"]
    if cores > 1:
        driver_mode = f"{cores} processes x 1 thread"
        for k, rate in process_rates(ks, plan, cores, repeats=2).items():
            rows.append({"k": k, "mode": driver_mode, "iterations_timed": plan.population_iterations(k),
                         "samples_per_s_per_net": rate, "samples_per_s_each_member": rate / (cores * k),
                         "steps_per_s": rate / (cores * k * BATCH_SIZE), "fraction_of_limit": fraction_of_limit(rate, gflops)})
    # max() keeps the first of equal rates, i.e. the smaller K (and one process).
    best = max(rows, key=lambda row: row["samples_per_s_per_net"])
    return {
        "benchmark": "LeNet-300-100, batch 60, Adam (lr 1.2e-3), random MNIST-shaped tensors",
        "definition": DEFINITION,
        "full": full,
        "machine": machine_info(),
        "batch_size": BATCH_SIZE,
        "flops_per_training_sample": TRAIN_FLOPS_PER_SAMPLE,
        "matmul_size": plan.matmul_size,
        "matmul_gflops": gflops,
        "limit_samples_per_s": limit,
        "samples_per_s_per_net_single": single,
        "fraction_of_limit_single": fraction_of_limit(single, gflops),
        "samples_per_s_per_net_population": best["samples_per_s_per_net"],
        "best_k": best["k"],
        "best_mode": best["mode"],
        "fraction_of_limit": best["fraction_of_limit"],
        "population": rows,
        "driver": driver_summary(rows, driver_mode),
        "end_to_end": end_to_end(full) if end_to_end is not None else None,
        "repeats": rounds,
        "benchmark_seconds": time.perf_counter() - started,
    }


def format_report(result: dict) -> str:
    """The readable report (a table) of a result from :func:`measure`."""
    machine = result["machine"]
    features = ", ".join(machine.get("cpu_features", [])) or "none detected"
    single = result["samples_per_s_per_net_single"]
    lines = [
        f"LeNet-300-100 training speed: batch {result['batch_size']}, Adam, random MNIST-shaped tensors"
        + (" (--full)" if result["full"] else ""),
        f"Machine: {machine['cpu']} ({features}; PyTorch kernels: {machine['capability']}), "
        f"{machine['threads']} torch thread(s), torch {machine['torch']}",
        f"Dense float32 matmul ({result['matmul_size']}^3): {result['matmul_gflops']:.1f} GFLOP/s",
        f"Limit: {result['matmul_gflops']:.1f} GFLOP/s / (6 x {LENET_WEIGHTS:,} FLOPs) = "
        f"{result['limit_samples_per_s']:,.0f} network-samples/s",
        "",
        f"{'training loop':<44}{'network-samples/s':>19}{'per member':>12}{'of limit':>10}",
        f"{'single network (train)':<44}{single:>19,.0f}{single:>12,.0f}{result['fraction_of_limit_single']:>10.0%}",
    ]
    for row in result["population"]:
        best = row["k"] == result["best_k"] and row.get("mode") == result.get("best_mode", row.get("mode"))
        mark = "  <- best" if best else ""
        label = f"population K={row['k']}" + (f", {row['mode']}" if "processes" in row.get("mode", "") else "")
        lines.append(f"{label:<44}{row['samples_per_s_per_net']:>19,.0f}"
                     f"{row['samples_per_s_each_member']:>12,.0f}{row['fraction_of_limit']:>10.0%}{mark}")
    driver = result.get("driver")
    if driver:
        sizes = " and ".join(f"K={k}" for k in driver["population_sizes"])
        shares = " and ".join(f"{f:.0%}" for f in driver["fraction_of_limit"])
        gaps = " and ".join(f"{g:.0%}" for g in driver["below_best"])
        lines += ["", f"The IMP driver trains a ticket alone and its two controls together ({sizes}, "
                      f"{driver['mode']}): {shares} of the limit, {gaps} below the best row."]
    lines += [
        "",
        "network-samples/s = " + DEFINITION.split(": ", 1)[1].split("; ")[0] + ".",
        f"Best of {result['repeats']} repeats; other jobs on the machine lower these numbers "
        f"(benchmark took {result['benchmark_seconds']:.0f} s).",
    ]
    end_to_end = result.get("end_to_end")
    if end_to_end and isinstance(end_to_end.get("table"), str):
        lines += ["", end_to_end["table"]]
    return "\n".join(lines)


def to_json_line(result: dict) -> str:
    """``result`` as exactly one line of strict JSON (no NaN or infinity, no newline inside)."""
    return json.dumps(result, allow_nan=False, separators=(",", ":"))


def run_benchmark(as_json: bool = False, full: bool = False, populations: Sequence[int] = DEFAULT_POPULATIONS,
                  end_to_end: EndToEnd | None = None) -> int:
    """Measure and print a report (or, with ``as_json``, one JSON object on one line); return exit code 0.

    This is what ``python -m lth_helpers bench [--json] [--full]`` calls. The JSON object holds
    ``samples_per_s_per_net_population`` (at ``best_k``), ``fraction_of_limit``, ``best_k``,
    ``matmul_gflops``, ``limit_samples_per_s``, ``samples_per_s_per_net_single``,
    ``population`` (one row per K), ``machine`` (``cpu``, ``capability``, ``torch``,
    ``threads``), ``end_to_end`` and the unit's ``definition``. Raises ``ValueError`` for a
    population size outside 1..64, before measuring anything.
    """
    result = measure(full=full, populations=populations, end_to_end=end_to_end)
    print(to_json_line(result) if as_json else format_report(result), flush=True)
    return 0
