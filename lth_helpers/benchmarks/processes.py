"""Training throughput the way the IMP driver trains: one population per process, one thread each.

Two threads of one process share a batch-60 population's small matrix products badly, so
:mod:`lth_helpers.parallel` runs one single-threaded process per core instead. This benchmark
times exactly that: ``P`` processes (one per usable core) each train a population of ``K`` at
the same moment, released together by a barrier after a warm-up, and the throughput is every
network-sample of every process over the slowest process's wall time.
"""

from __future__ import annotations

import multiprocessing
import time
from typing import Sequence

import torch

from .throughput import random_mnist_like
from .timing import BATCH_SIZE, BenchPlan

__all__ = ["process_rates"]

_START_TIMEOUT_S = 120.0  # importing PyTorch in a fresh process, on a slow or busy machine


def _worker(ks: Sequence[int], plan: BenchPlan, repeats: int, barrier, results) -> None:
    """In a fresh process: for each K, warm up, then time ``repeats`` runs, each released by ``barrier``."""
    from ..models import LeNet300100
    from ..population import LeNetPopulation, train_population
    from .throughput import _config

    torch.set_num_threads(1)
    data = random_mnist_like(plan.n_train)
    for k in ks:
        population = LeNetPopulation([LeNet300100(seed=i).state_dict() for i in range(k)])
        iterations = plan.population_iterations(k)
        train_population(population, data, _config(iterations), seed=1, progress=False)  # warm-up
        for _ in range(repeats):
            barrier.wait(timeout=_START_TIMEOUT_S)
            start = time.perf_counter()
            train_population(population, data, _config(iterations), seed=1, progress=False)
            results.put((k, time.perf_counter() - start))


def process_rates(ks: Sequence[int], plan: BenchPlan, processes: int, repeats: int = 3) -> dict[int, float]:
    """Network-samples/s summed over ``processes`` single-threaded processes training a population of
    ``K`` each at once, for every K in ``ks``: the best of ``repeats`` (each timed by its slowest process)."""
    if processes < 1:
        raise ValueError(f"processes must be >= 1, got {processes!r}")
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(processes), context.Queue()
    workers = [context.Process(target=_worker, args=(list(ks), plan, repeats, barrier, results), daemon=True)
               for _ in range(processes)]
    for worker in workers:
        worker.start()
    try:
        slowest: dict[tuple[int, int], float] = {}
        counts: dict[int, int] = {}
        for _ in range(len(ks) * repeats * processes):
            k, seconds = results.get(timeout=_START_TIMEOUT_S)
            repeat = counts.get(k, 0) // processes  # every process reports repeat r of K before r + 1
            counts[k] = counts.get(k, 0) + 1
            slowest[(k, repeat)] = max(slowest.get((k, repeat), 0.0), seconds)
    finally:
        for worker in workers:
            worker.join(timeout=10)
            if worker.is_alive():
                worker.terminate()
    return {k: processes * k * plan.population_iterations(k) * BATCH_SIZE /
            min(s for (kk, _), s in slowest.items() if kk == k) for k in ks}
