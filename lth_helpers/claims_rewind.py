"""Notebook 7's claims: late rewinding and stability, checked on this run.

Sources: Frankle, Dziugaite, Roy & Carbin, "Stabilizing the Lottery Ticket Hypothesis" (2019) and
"Linear Mode Connectivity and the Lottery Ticket Hypothesis" (ICML 2020). For LeNet on MNIST they
report that IMP finds winning tickets with the paper's reset to theta_0 (no rewinding needed), that
the dense network is already stable to SGD noise at initialization, and that IMP tickets are stable
where they match the dense network's accuracy, while random reinitializations of the same masks
are not. A network counts as *stable* when its error barrier is below 2 percentage points, the
threshold of the 2020 paper; verdicts use 95% bootstrap intervals over seeds
(:func:`lth_helpers.intervals.mean_interval`).
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from .claims import FAILS, HOLDS, UNRESOLVED, Claim
from . import claims_contents
from .claims_contents import content_estimates, within
from .intervals import mean_interval
from .rewinding import rewind_name

__all__ = ["STABLE_BARRIER", "barrier_interval", "no_rewind_needed", "dense_stable_at_init", "tickets_stable",
           "reinit_less_stable", "rewind_claims"]

#: A barrier below this (2 points of test error) counts as stable (Frankle et al. 2020).
STABLE_BARRIER = 0.02


def _select(stability: Sequence[Mapping], kind: str, rewind: int, round_: int | None = None) -> dict[int, Mapping]:
    return {r["seed"]: r for r in stability
            if r["kind"] == kind and r["rewind"] == rewind and (round_ is None or r["round"] == round_)}


def barrier_interval(stability: Sequence[Mapping], kind: str, rewind: int, round_: int) -> tuple[float, float, float]:
    """Mean error barrier over seeds of one kind of start, with its 95% bootstrap interval over seeds."""
    found = _select(stability, kind, rewind, round_)
    if not found:
        raise ValueError(f"no instability record for {kind!r} rewound to {rewind} at round {round_}")
    return mean_interval([found[s]["barrier"] for s in sorted(found)])


def _stable_verdict(low: float, high: float) -> str:
    return HOLDS if high < STABLE_BARRIER else FAILS if low > STABLE_BARRIER else UNRESOLVED


def _text(mean: float, low: float, high: float) -> str:
    return f"{100 * mean:.2f} points [{100 * low:.2f}, {100 * high:.2f}]"


def no_rewind_needed(records: Sequence[Mapping], points: Sequence[int]) -> Claim:
    """Frankle et al. 2019: for LeNet the reset to theta_0 works; rewinding to k > 0 is not needed
    (the theta_0 ticket loses less than the tolerance against every rewound one)."""
    parts, verdicts = [], []
    for k in [k for k in points if k > 0]:
        for e in content_estimates(records, rewind_name(0), rewind_name(k)):
            verdicts.append(within(e))
            parts.append(f"k={k} at {100 * e.density:.1f}%: {e.text()}")
    verdict = (HOLDS if verdicts and all(v == HOLDS for v in verdicts) else FAILS if FAILS in verdicts
               else UNRESOLVED)
    return Claim("Frankle et al. 2019", "LeNet tickets need no rewinding: reset to theta_0 they are as accurate as "
                 f"rewound to k > 0 (a loss under {100 * claims_contents.TOLERANCE:.1f} points counts as 'as accurate')",
                 "theta_0 ticket minus rewound ticket: " + ("; ".join(parts) or "no rewound chain"), verdict)


def dense_stable_at_init(stability: Sequence[Mapping]) -> Claim:
    """Frankle et al. 2020: the dense LeNet is stable to SGD noise from initialization (k = 0)."""
    mean, low, high = barrier_interval(stability, "dense", 0, 0)
    return Claim("Frankle et al. 2020", "The dense LeNet is stable from initialization: error barrier under 2 points",
                 f"barrier {_text(mean, low, high)}", _stable_verdict(low, high))


def tickets_stable(stability: Sequence[Mapping], rounds: Sequence[int]) -> Claim:
    """Frankle et al. 2020: IMP tickets of LeNet (reset to theta_0) are stable at the sparsities studied."""
    parts, verdicts = [], []
    for n in rounds:
        mean, low, high = barrier_interval(stability, "ticket", 0, n)
        density = next(iter(_select(stability, "ticket", 0, n).values()))["density"]
        parts.append(f"{100 * density:.1f}%: {_text(mean, low, high)}")
        verdicts.append(_stable_verdict(low, high))
    verdict = HOLDS if all(v == HOLDS for v in verdicts) else FAILS if FAILS in verdicts else UNRESOLVED
    return Claim("Frankle et al. 2020", "IMP tickets reset to theta_0 are stable: error barrier under 2 points",
                 "ticket barrier " + "; ".join(parts), verdict)


def reinit_less_stable(stability: Sequence[Mapping], round_: int) -> Claim:
    """Frankle et al. 2020: a random reinitialization of the ticket's mask is less stable than the ticket."""
    ticket, reinit = _select(stability, "ticket", 0, round_), _select(stability, "reinit", 0, round_)
    seeds = sorted(set(ticket) & set(reinit))
    if not seeds:
        return Claim("Frankle et al. 2020", "Random reinitializations are less stable than IMP tickets", "not run",
                     UNRESOLVED)
    diffs = np.array([reinit[s]["barrier"] - ticket[s]["barrier"] for s in seeds])
    mean, low, high = mean_interval(diffs)
    verdict = HOLDS if low > 0 else FAILS if high < 0 else UNRESOLVED
    return Claim("Frankle et al. 2020", "A random reinit of the ticket's mask is less stable than the ticket",
                 f"at {100 * ticket[seeds[0]]['density']:.1f}%, reinit minus ticket barrier: {_text(mean, low, high)}, "
                 f"{int((diffs > 0).sum())}/{len(seeds)} seeds", verdict)


def rewind_claims(experiment) -> list[Claim]:
    """Every claim above, on a :class:`~lth_helpers.rewinding.RewindExperiment`."""
    e = experiment
    return [no_rewind_needed(e.records, e.points), dense_stable_at_init(e.stability),
            tickets_stable(e.stability, e.rounds), reinit_less_stable(e.stability, max(e.rounds))]
