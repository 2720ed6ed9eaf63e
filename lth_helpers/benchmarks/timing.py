"""How every benchmark here is timed: a plan of run lengths, best-of-repeats, thread counts.

Timings are several short repeats taken in turns after a warm-up. On a machine shared with
other jobs the best repeat is the one least disturbed by them; taking the runs in turns
(round-robin) means a burst of outside activity spoils one repeat of one run rather than every
repeat of the same run, and it pairs the runs of one round for a comparison of ratios.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from typing import Callable, Iterator, Mapping

import torch

__all__ = ["BATCH_SIZE", "BenchPlan", "timed_rounds", "best_seconds", "torch_threads"]

#: The paper's LeNet minibatch.
BATCH_SIZE = 60


@dataclass(frozen=True)
class BenchPlan:
    """How long each measurement of ``python -m lth_helpers bench`` runs.

    Attributes:
        matmul_size: side of the square float32 product that measures the machine's limit
            (timed once before every training run, so that it sees the same conditions).
        single_iterations: iterations per timed run of the single-network loop.
        population_samples: network-samples per timed population run; a population of K
            trains ``population_samples / (K * 60)`` iterations (at least ``min_iterations``),
            so every K costs about the same time.
        min_iterations: floor on the iterations of one population run (large K).
        repeats: timed repeats of every training run (after one warm-up run).
        n_train: size of the random training set the minibatches are drawn from (MNIST's
            55,000 by default: gathering rows from a large tensor is part of a real step).
        budget_s: no new round of repeats starts that would, at the pace of the last round,
            end later than this many seconds after the start (the warm-up and one timed
            round always run), so that a busy machine shortens the benchmark instead of
            stretching it.
    """

    matmul_size: int
    single_iterations: int
    population_samples: int
    min_iterations: int
    repeats: int
    n_train: int
    budget_s: float

    @classmethod
    def make(cls, full: bool = False) -> "BenchPlan":
        """The default plan (its repeats stop after 20 s; the whole ``bench`` stays under 2 min) or ``full``.

        One round of the default plan trains about 170,000 network-samples (5 population sizes
        x 30,000 and the single network's 18,000) and runs six 2048^3 matmuls: about 4 s on a
        slow AVX2-only CPU (60,000 network-samples/s at the best K, 25,000 for one network),
        so the warm-up and 2-4 timed rounds fit the 20 s budget there. With the process rows
        and the end-to-end round, ``bench`` took 101-105 s on that machine (with a 30 s budget,
        94-119 s: too close to 2 minutes when the machine is busy).
        On a machine busy with other jobs everything is slower, and ``budget_s`` cuts the
        repeats instead. ``full`` trains 4x longer per run, repeats more and may take several
        minutes.
        """
        if full:
            return cls(matmul_size=2048, single_iterations=1_200, population_samples=120_000,
                       min_iterations=100, repeats=9, n_train=55_000, budget_s=900.0)
        return cls(matmul_size=2048, single_iterations=300, population_samples=30_000,
                   min_iterations=40, repeats=5, n_train=55_000, budget_s=20.0)

    def population_iterations(self, k: int) -> int:
        """Iterations of one timed run for a population of ``k`` members."""
        return max(self.min_iterations, self.population_samples // (k * BATCH_SIZE))


def timed_rounds(runs: Mapping[str, Callable[[], object]], repeats: int,
                 deadline: float | None = None) -> dict[str, list[float]]:
    """Wall times of each run in up to ``repeats`` rounds, after one untimed warm-up round.

    Every round times every run once. The warm-up pays for one-off costs (allocator growth,
    kernel selection, lazy imports) that a real training run pays once, not once per
    minibatch. Odd rounds take the runs in reverse order, so that no run always follows the
    same neighbour (whose leftovers in the caches could favour or slow it). After the first
    timed round, a round starts only if, taking as long as the previous one, it would end
    before ``deadline`` (a ``time.perf_counter()`` value).
    """
    for fn in runs.values():
        fn()
    times: dict[str, list[float]] = {name: [] for name in runs}
    order = list(runs.items())
    rounds, last = 0, 0.0
    while rounds < max(1, repeats):
        if rounds > 0 and deadline is not None and time.perf_counter() + last > deadline:
            break
        round_start = time.perf_counter()
        for name, fn in (reversed(order) if rounds % 2 else order):
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
        last = time.perf_counter() - round_start
        rounds += 1
    return times


def best_seconds(runs: Mapping[str, Callable[[], object]], repeats: int,
                 deadline: float | None = None) -> tuple[dict[str, float], int]:
    """Smallest wall time of each run over the rounds of :func:`timed_rounds`; and how many rounds ran.

    On a machine shared with other jobs the best repeat is the one least disturbed by them.
    """
    times = timed_rounds(runs, repeats, deadline)
    return {name: min(t) for name, t in times.items()}, len(next(iter(times.values())))


@contextlib.contextmanager
def torch_threads(threads: int | None) -> Iterator[int]:
    """Run the block with ``threads`` intra-op threads (``None``: leave torch's setting); yield the count."""
    before = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        yield torch.get_num_threads()
    finally:
        torch.set_num_threads(before)
