"""How long the IMP driver's schedule takes, replayed from measured stage times.

A paper-size seed trains for most of an hour, so its benchmark times a few rounds and scales them
to 16. Scaling by "seconds per round" is wrong for a pipelined run: round ``n + 1``'s ticket starts
as soon as round ``n``'s ticket is done, while round ``n``'s controls are still training, so one
round's wall time is not a sixteenth of sixteen rounds'. Instead, the seconds every stage took in a
real run (``fill_store(..., timings=...)``) are replayed through the driver's own task order (the
same :class:`~lth_helpers.parallel._Task` priorities and the same rule for what a finished ticket
releases) on the same number of processes. Replaying the rounds that were really run gives a
check on the replay itself: it should come out close to their measured wall time.
"""

from __future__ import annotations

import heapq
import itertools
from statistics import mean
from typing import Callable, Iterable

from ..parallel import _followers, _Task, _tasks_of_round

__all__ = ["stage_kind", "typical_seconds", "replay_seconds"]

#: What one measured stage was: (seed, round, group, seconds), as fill_store records it.
Timing = tuple[int, int, tuple[str, ...], float]


def stage_kind(round_: int, group: tuple[str, ...]) -> tuple[str, ...]:
    """Stages that cost the same: the dense network (round 0), or a group of strategies at any later
    round (a round's sparsity does not change the cost of dense arithmetic)."""
    return ("dense",) if round_ == 0 else tuple(group)


def typical_seconds(timings: Iterable[Timing]) -> dict[tuple[str, ...], float]:
    """The mean measured seconds of each :func:`stage_kind`."""
    by_kind: dict[tuple[str, ...], list[float]] = {}
    for _, round_, group, seconds in timings:
        by_kind.setdefault(stage_kind(round_, tuple(group)), []).append(seconds)
    if not by_kind:
        raise ValueError("no stage timings to replay: every stage was already stored")
    return {kind: mean(values) for kind, values in by_kind.items()}


def replay_seconds(config, seconds: dict[tuple[str, ...], float] | Callable[[_Task], float], workers: int) -> float:
    """Wall seconds of every stage of ``config`` on ``workers`` processes, each stage taking
    ``seconds[stage_kind(...)]`` (or ``seconds(task)``), scheduled as
    :func:`lth_helpers.parallel.fill_store` schedules them. ``ValueError`` names a stage kind
    with no measured time."""
    if not isinstance(workers, int) or isinstance(workers, bool) or workers < 1:
        raise ValueError(f"workers must be an integer >= 1, got {workers!r}")

    def cost(task: _Task) -> float:
        if callable(seconds):
            return seconds(task)
        kind = stage_kind(task.round, task.group)
        if kind not in seconds:
            raise ValueError(f"no measured time for stages of kind {kind}; measured: {sorted(seconds)}")
        return seconds[kind]

    ready = [task for seed in config.seeds for task in _tasks_of_round(config, seed, 0, None)]
    heapq.heapify(ready)
    running: list[tuple[float, int, _Task]] = []  # (finish time, tie-break, task)
    order = itertools.count()
    now = 0.0
    while ready or running:
        while ready and len(running) < workers:
            task = heapq.heappop(ready)
            heapq.heappush(running, (now + cost(task), next(order), task))
        now, _, task = heapq.heappop(running)
        for follower in _followers(config, task, "replayed"):
            heapq.heappush(ready, follower)
    return now
