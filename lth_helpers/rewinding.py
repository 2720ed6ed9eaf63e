"""Notebook 7's experiment: IMP with late rewinding at several iterations k, and the starts whose
stability it measures.

* :func:`rewind_points`: the iterations k to rewind to, 0, 100, 500 and 1,500 at the ``standard``
  schedule (3,000 iterations per round), scaled with the schedule at other sizes.
* :func:`rewind_runs`: one IMP chain per k (k = 0 is the shared experiment itself, reused);
  :func:`as_rewind_records` renames each chain's tickets ``rewind_<k>`` so that the paired
  comparisons of :mod:`lth_helpers.intervals` can set them side by side.
* :func:`instability_starts`: the starts of the instability analysis: the dense network at theta_0
  and at every theta_k, IMP tickets at a few densities reset to theta_0 and rewound to k, and the
  random-reinit control of the same masks.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import torch

from .data import MNISTData
from .imp import IMPConfig, make_config, rewind_point, run_imp
from .pruning import full_masks
from .results import IMPResult
from .sizes import Size
from .strategies import STRATEGIES, member_start, start_state

__all__ = ["STANDARD_REWIND_POINTS", "rewind_points", "rewind_runs", "as_rewind_records", "rewind_name",
           "instability_starts", "RewindExperiment", "rewind_experiment", "dense_start", "ticket_start",
           "reinit_start"]

#: Rewind iterations at the ``standard`` schedule (3,000 iterations per round).
STANDARD_REWIND_POINTS: tuple[int, ...] = (0, 100, 500, 1_500)


def rewind_points(iterations: int) -> list[int]:
    """:data:`STANDARD_REWIND_POINTS` scaled to a schedule of ``iterations`` per round (distinct, sorted)."""
    return sorted({min(iterations - 1, round(k * iterations / 3_000)) for k in STANDARD_REWIND_POINTS})


def rewind_name(k: int) -> str:
    """The strategy name a chain's tickets get in :func:`as_rewind_records`: ``ticket, k=500``."""
    return "ticket, k=0 (theta_0)" if k == 0 else f"ticket, k={k}"


def _size_name(size) -> str:
    return getattr(size, "name", size)


def rewind_runs(size: str | Size, seeds: int | Sequence[int], data: MNISTData, results_dir: str | Path,
                points: Sequence[int] | None = None, progress: bool = True) -> dict[int, IMPResult]:
    """One IMP chain per rewind point (default: :func:`rewind_points` of the size's schedule).

    k = 0 is the shared experiment of notebooks 2-5 (every strategy, reused from the store); the
    other chains train the ticket alone, rewound to theta_k.
    """
    size = _size_name(size)
    shared = make_config(size, STRATEGIES, seeds)
    points = rewind_points(shared.iterations) if points is None else list(points)
    runs = {}
    for k in points:
        config = shared if k == 0 else make_config(size, ("original",), seeds, rewind=k)
        runs[k] = run_imp(config, data, results_dir, progress=progress)
    return runs


def as_rewind_records(runs: dict[int, IMPResult]) -> list[dict]:
    """Every chain's ticket records renamed ``rewind_<k>`` (the dense network stays ``original``
    round 0), plus k = 0's random-reinit control: ready for paired comparisons across k."""
    records = []
    for k, result in runs.items():
        for record in result.records:
            if record["strategy"] == "original":
                records.append(dict(record, strategy=rewind_name(k)) if record["round"] > 0 else dict(record))
            elif k == 0 and record["strategy"] == "reinit":
                records.append(dict(record))
    return records


def dense_start(result: IMPResult, seed: int, k: int) -> dict[str, torch.Tensor]:
    """The dense network's ``state_dict`` at iteration ``k`` of its training (``k = 0``: theta_0)."""
    theta0 = result.theta0(seed)
    if k == 0:
        return start_state(theta0, full_masks(theta0))
    weights, biases = rewind_point(result.store, seed, k)
    return start_state(weights, full_masks(weights), biases)


def ticket_start(result: IMPResult, seed: int, round_: int, k: int) -> dict[str, torch.Tensor]:
    """The ticket of ``round_`` in the chain rewound to ``k`` (``result`` is that chain), as it starts."""
    masks = result.masks(seed, round_)
    if k == 0:
        return start_state(result.theta0(seed), masks)
    weights, biases = rewind_point(result.store, seed, k)
    return start_state(weights, masks, biases)


def reinit_start(result: IMPResult, seed: int, round_: int) -> dict[str, torch.Tensor]:
    """The random-reinit control's start on the ticket's mask of ``round_``."""
    weights, masks = member_start("reinit", seed, round_, result.masks(seed, round_), result.theta0(seed))
    return start_state(weights, masks)


def instability_starts(runs: dict[int, IMPResult], config: IMPConfig, rounds: Sequence[int],
                       ticket_rewinds: Sequence[int]) -> list[tuple[dict, Callable[[], dict]]]:
    """Labelled starts for :func:`lth_helpers.stability.stability_records`, for every seed:

    * ``dense`` at every rewind point of ``runs``;
    * ``ticket`` at each of ``rounds``, for each k in ``ticket_rewinds`` (that chain's own mask);
    * ``reinit`` at each of ``rounds`` (k = 0's mask, fresh Glorot weights: the reinit control's start).
    """
    starts = []
    density = lambda r, s, n: round(float(r.select("original", seed=s, round_=n)[0]["density"]), 6)  # noqa: E731
    for seed in config.seeds:
        for k, result in runs.items():
            starts.append(({"kind": "dense", "seed": seed, "round": 0, "rewind": k, "density": 1.0},
                           lambda r=result, s=seed, k=k: dense_start(r, s, k)))
        for round_ in rounds:
            for k in ticket_rewinds:
                starts.append(({"kind": "ticket", "seed": seed, "round": round_, "rewind": k,
                                "density": density(runs[k], seed, round_)},
                               lambda r=runs[k], s=seed, n=round_, k=k: ticket_start(r, s, n, k)))
            starts.append(({"kind": "reinit", "seed": seed, "round": round_, "rewind": 0,
                            "density": density(runs[0], seed, round_)},
                           lambda r=runs[0], s=seed, n=round_: reinit_start(r, s, n)))
    return starts


@dataclass
class RewindExperiment:
    """Everything notebook 7 shows (and notebook 8 summarizes)."""

    runs: dict[int, IMPResult]   # one IMP chain per rewind point k
    records: list[dict]          # their tickets as ``ticket, k=...`` records, plus k = 0's reinit control
    stability: list[dict]        # one instability record per start and seed
    points: list[int]            # the rewind points
    rounds: list[int]            # the IMP rounds whose tickets the instability analysis measures
    ticket_rewinds: list[int]    # the rewind points of those tickets (0 and one k > 0)


def rewind_experiment(size: str | Size, seeds: int | Sequence[int], data: MNISTData, results_dir: str | Path,
                      progress: bool = True, points: Sequence[int] | None = None) -> RewindExperiment:
    """Notebook 7's experiment: rewind chains at :func:`rewind_points`, and the instability of the dense
    network at every k and of tickets and reinits at about 21.1% and 3.6% of the weights.

    ``points`` replaces the rewind points (0 must be among them)."""
    from .claims import checkpoint
    from .stability import stability_records

    size = _size_name(size)
    if points is not None and 0 not in points:
        raise ValueError(f"rewind points must include 0 (the paper's reset), got {list(points)}")
    runs = rewind_runs(size, seeds, data, results_dir, points, progress=progress)
    points = sorted(runs)
    shared = runs[0]
    rounds = sorted({checkpoint(shared, d) for d in (0.211, 0.036)})
    ticket_rewinds = [0, points[min(2, len(points) - 1)]] if len(points) > 1 else [0]
    # The two copies only need their final weights: evaluate once, at the end.
    config = make_config(size, ("original",), seeds, eval_every=shared.config.iterations)
    starts = instability_starts(runs, config, rounds, ticket_rewinds)
    stability = stability_records(starts, data, config, Path(results_dir), progress=progress)
    return RewindExperiment(runs, as_rewind_records(runs), stability, points, rounds, ticket_rewinds)
