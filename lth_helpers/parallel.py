"""Train independent stages of an IMP experiment in several processes, one per CPU core.

Why processes: a LeNet-300-100 population is made of small matrix products (a minibatch of 60),
which two threads of one process share badly (measured with ``python -m lth_helpers bench``:
about 60% of the two-core matmul limit), while two single-threaded processes each keep their own
core busy (about 80% of it). Which stages are independent follows from the algorithm: round
``n``'s ticket and its controls all start from the mask of round ``n - 1``'s ticket, so once that
ticket is trained they can run at once, beside the other seeds' stages.

Every stage is trained by the same :func:`lth_helpers.imp.train_stage` the sequential driver uses
and saved to the same store the moment it finishes (the store is safe for concurrent writers), so
the entries, and every number, are the same for any number of workers. :func:`fill_store` only
fills the store; :func:`lth_helpers.imp.run_imp` then reads the experiment back in order.
"""

from __future__ import annotations

import heapq
import multiprocessing
import os
import time
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from .training import progress_bar

if TYPE_CHECKING:  # imported lazily at run time: lth_helpers.imp imports this module
    from .data import MNISTData
    from .imp import IMPConfig
    from .stages import Stages

__all__ = ["usable_cores", "choose_workers", "fill_store", "fill_one_shot", "MIN_PARALLEL_ITERATIONS"]

#: Below this many iterations per training, starting worker processes (a few seconds each, to
#: import PyTorch) costs more than it saves: such runs stay in one process.
MIN_PARALLEL_ITERATIONS = 1_000


def usable_cores() -> int:
    """CPU cores this process may run on (its affinity where the OS tells, else the CPU count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS and Windows have no affinity call
        return max(1, os.cpu_count() or 1)


def choose_workers(workers: int | str, config: IMPConfig, device: torch.device) -> int:
    """How many processes to train with; ``ValueError`` naming the value for anything but
    ``"auto"`` or an int >= 1.

    ``"auto"``: one per usable core, at most one per seed-stage that can run at once, and one on a
    GPU (a single device is shared by time, not by processes) or for short trainings.
    """
    if workers == "auto":
        if device.type != "cpu" or config.iterations < MIN_PARALLEL_ITERATIONS:
            return 1
        return max(1, min(usable_cores(), 2 * len(config.seeds)))
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be 'auto' or an integer >= 1 (processes training at once), got {workers!r}")
    return workers


@dataclass(order=True)
class _Task:
    """One stage to train: a seed's round, one group of it. Ordered so that tickets (the chain every
    later round waits for) and earlier rounds go first."""

    priority: tuple[int, int, int]
    seed: int = field(compare=False)
    round: int = field(compare=False)
    group: tuple[str, ...] = field(compare=False)
    parent: str | None = field(compare=False)


def _tasks_of_round(config: IMPConfig, seed: int, round_: int, parent: str | None) -> list[_Task]:
    from .imp import round_groups

    return [_Task((0 if group == ("original",) else 1, round_, seed), seed, round_, group, parent)
            for group in round_groups(config, round_)]


# One per worker process: the experiment it trains for, opened once.
_WORKER: dict = {}


def _start_worker(config: IMPConfig, data: MNISTData, results_dir: str, device: str, use_population: bool,
                  threads: int) -> None:
    from .imp import open_experiment

    torch.set_num_threads(threads)
    _WORKER["config"] = config
    _WORKER["stages"] = open_experiment(config, data, results_dir, torch.device(device), use_population, False)


def _train(seed: int, round_: int, group: tuple[str, ...], parent: str | None) -> tuple[str, int, float]:
    """In a worker: train one stage; return the ticket's checksum (or ``""``), how many it trained and
    the seconds it took."""
    from .imp import train_stage

    stages = _WORKER["stages"]
    before, started = stages.computed, time.perf_counter()
    entries = train_stage(stages, _WORKER["config"], seed, round_, group, parent)
    ticket = entries.get((round_, "original"))
    return (ticket.checksum if ticket else ""), stages.computed - before, time.perf_counter() - started


def _train_one_shot(seed: int, rounds: list[int]) -> int:
    """In a worker: train one seed's one-shot tickets (and its dense network if missing); how many it trained."""
    from .one_shot import one_shot_stage

    stages = _WORKER["stages"]
    before = stages.computed
    one_shot_stage(stages, _WORKER["config"], seed, rounds)
    return stages.computed - before


def _pool(count: int, config: IMPConfig, data: MNISTData, results_dir: str | Path, device: torch.device,
          use_population: bool) -> ProcessPoolExecutor:
    """``count`` fresh processes (spawned: safe with OpenMP), each with its share of the cores."""
    threads = max(1, usable_cores() // count)
    return ProcessPoolExecutor(count, mp_context=multiprocessing.get_context("spawn"), initializer=_start_worker,
                               initargs=(config, data.to(torch.device("cpu")), str(results_dir), str(device),
                                         use_population, threads))


def _stop(pool: ProcessPoolExecutor) -> None:
    """Stop the workers now rather than after their current stage (on an interruption or a failure).
    Every finished stage is already saved, and half-written files are never read (the store writes
    atomically and removes a dead process's leftovers)."""
    for process in list(getattr(pool, "_processes", {}).values()):
        process.terminate()


def fill_one_shot(config: IMPConfig, rounds: list[int], data: MNISTData, results_dir: str | Path,
                  device: torch.device, workers: int | str, progress: bool, stages: Stages) -> int:
    """The one-shot tickets of every seed missing from the store, one seed per process at once (as
    :func:`fill_store`); returns how many networks the workers trained."""
    from .strategies import ONE_SHOT

    count = choose_workers(workers, config, device)
    group = [f"{ONE_SHOT}@{n}" for n in rounds]

    def stored(seed: int) -> bool:
        dense = stages.store.load(seed, 0, "original", ["original@0"], None)
        return dense is not None and all(stages.store.load(seed, n, ONE_SHOT, group, dense.checksum) for n in rounds)

    missing = [seed for seed in config.seeds if not stored(seed)]
    if count == 1 or len(missing) < 2:
        return 0
    count = min(count, len(missing))
    pool = _pool(count, config, data, results_dir, device, True)
    try:
        with progress_bar(len(missing) * len(rounds), f"one-shot tickets ({count} processes)",
                          progress, unit="network") as bar:
            futures = [pool.submit(_train_one_shot, seed, rounds) for seed in missing]
            trained = 0
            for future in futures:
                trained += future.result()
                bar.update(len(rounds))
    except BaseException:
        _stop(pool)
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return trained


def _stored_checksum(stages: Stages, task: _Task) -> str | None:
    """The checksum of a task's stored result when every member is already in the store (else ``None``;
    ``""`` for a complete control group)."""
    group = [f"{s}@{task.round}" for s in task.group]
    entries = [stages.store.load(task.seed, task.round, s, group, task.parent) for s in task.group]
    if any(e is None for e in entries):
        return None
    return entries[0].checksum if task.group == ("original",) else ""


def fill_store(config: IMPConfig, data: MNISTData, results_dir: str | Path, device: torch.device,
               use_population: bool, workers: int | str, progress: bool, stages: Stages,
               timings: list[tuple[int, int, tuple[str, ...], float]] | None = None) -> int:
    """Train every stage of ``config`` missing from the store, ``workers`` processes at once.

    Does nothing with one worker (the sequential driver trains as it goes) or when everything is
    stored; returns how many networks the workers trained. Stages already stored are skipped
    without starting a process. ``timings``, if given, receives ``(seed, round, group, seconds)``
    for every stage a worker trained (what :mod:`lth_helpers.benchmarks.schedule` replays).
    """
    count = choose_workers(workers, config, device)
    if count == 1:
        return 0
    ready = [t for seed in config.seeds for t in _tasks_of_round(config, seed, 0, None)]
    heapq.heapify(ready)
    running: dict[Future, _Task] = {}
    trained = 0
    pool: ProcessPoolExecutor | None = None
    from .imp import round_groups

    total = len(config.seeds) * sum(len(g) for r in range(config.rounds + 1) for g in round_groups(config, r))
    try:
        with progress_bar(total, f"IMP trainings ({count} processes)", progress, unit="network") as bar:
            while ready or running:
                while ready and len(running) < count:
                    task = heapq.heappop(ready)
                    stored = _stored_checksum(stages, task)
                    if stored is not None:  # nothing to train: release what waits on it right away
                        bar.update(len(task.group))
                        ready.extend(_followers(config, task, stored))
                        heapq.heapify(ready)
                        continue
                    if pool is None:
                        pool = _pool(count, config, data, results_dir, device, use_population)
                    running[pool.submit(_train, task.seed, task.round, task.group, task.parent)] = task
                if not running:
                    continue
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    task = running.pop(future)
                    checksum, newly, seconds = future.result()
                    trained += newly
                    if timings is not None and newly:
                        timings.append((task.seed, task.round, task.group, seconds))
                    bar.update(len(task.group))
                    for follower in _followers(config, task, checksum):
                        heapq.heappush(ready, follower)
    except BaseException:
        if pool is not None:
            _stop(pool)
        raise
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
    return trained


def _followers(config: IMPConfig, task: _Task, checksum: str) -> list[_Task]:
    """What a finished stage releases: after round ``n``'s ticket, every stage of round ``n + 1``."""
    if task.group != ("original",) or task.round >= config.rounds:
        return []
    return _tasks_of_round(config, task.seed, task.round + 1, checksum)
