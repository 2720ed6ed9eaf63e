"""Every claim the companion tests, in one place: what notebook 8 puts in one table (notebooks 2-7).

Each notebook renders its own claims (:mod:`lth_helpers.claims`, :mod:`lth_helpers.weights_evidence`,
:mod:`lth_helpers.scaling_evidence`, :mod:`lth_helpers.claims_contents`); this module calls the
same functions on the same records, so the closing table cannot disagree with the notebooks it
summarizes. Notebook 1's claims are about one dense network pruned once and retrained; they need
that notebook's own trainings and stay there.
"""

from __future__ import annotations

from collections import Counter
from typing import Mapping, Sequence

from . import claims as paper
from . import claims_contents as contents
from .claims import Claim
from .movement import movement_summary
from .results import IMPResult, Source
from .scaling import initial_value_shape
from .scaling_evidence import checkpoints as scaling_checkpoints
from .scaling_evidence import control_beats_reinit, ticket_beats_any_std
from .weights_evidence import labelled, larger_weights_claim, trained_scales

__all__ = ["companion_claims", "synthesis_table", "verdict_counts"]

Pair = tuple[str, Claim]


def _weights_claims(result: IMPResult, mid: int, small: int) -> list[Claim]:
    """Notebook 4: the initial values' shape (App. F.1), movement and growth (App. F.5), larger weights."""
    seeds = sorted({r["seed"] for r in result.select("original")})
    shape = {s: initial_value_shape(result.theta0(s), {small: result.masks(s, small)}) for s in seeds}
    movement = {s: movement_summary(result.theta0(s), result.final_weights(s, 0), result.masks(s, mid)) for s in seeds}
    pct = lambda n: f"{100 * result.select('original', round_=n)[0]['density']:.1f}% ticket"  # noqa: E731
    found = [labelled(paper.bimodal_initial_values(shape, small), pct(small)),
             labelled(paper.ticket_weights_move_more(movement), pct(mid)),
             labelled(paper.ticket_weights_grow(movement), pct(mid))]
    strategies = [s for s in ("original", "reinit", "random_mask") if result.select(s)]
    found.append(labelled(larger_weights_claim(trained_scales(result, [small], strategies), small), pct(small)))
    return found


def companion_claims(result: IMPResult, one_shot: Source = (), supermasks: Source = (),
                     mask_records: Source = (), rewind_experiment=None) -> list[Pair]:
    """``(notebook, claim)`` for every claim of notebooks 2-6 that the records allow.

    ``result`` is the shared experiment with the ticket-content strategies (notebook 6's
    :func:`~lth_helpers.notebook.contents_experiment`); ``one_shot`` the one-shot records,
    ``supermasks`` the rows of :func:`~lth_helpers.supermasks.supermask_records`, and
    ``mask_records`` the one-shot tickets of every mask criterion, ``rewind_experiment`` notebook 7's
    :class:`~lth_helpers.rewinding.RewindExperiment`.
    """
    rounds = sorted({r["round"] for r in result.select("original")})
    mid, small = paper.checkpoint(result, 0.211), paper.checkpoint(result, 0.036)
    both = list(result.records) + list(one_shot)
    pairs: list[Pair] = []
    pairs += [("2", c) for c in (paper.earlier_than_dense(result), paper.between_dense_and_21(result),
                                 paper.slows_again(result), paper.more_accurate_than_dense(result),
                                 paper.ticket_not_below_dense(result))]
    if one_shot:
        pairs += [("2", c) for c in paper.one_shot_claims(both)]
    for control in ("reinit", "random_mask"):
        pairs += [("3", paper.control_slower(result, control)), ("3", paper.control_less_accurate(result, control)),
                  ("3", paper.control_falls_off_earlier(result, control))]
    if len(rounds) > 1:
        pairs += [("4", c) for c in _weights_claims(result, mid, small)]
    sparse = scaling_checkpoints(result)
    pairs += [("5", c) for c in ticket_beats_any_std(result, sparse)]
    pairs += [("5", control_beats_reinit(result, c, sparse)) for c in ("fan_corrected", "ticket_scale")]
    pairs += [("6", c) for c in contents.contents_claims(result)]
    if supermasks:
        pairs += [("6", c) for c in contents.supermask_claims(supermasks)]
    if mask_records:
        pairs += [("6", c) for c in contents.criteria_claims(mask_records)]
    if rewind_experiment is not None:
        from .claims_rewind import rewind_claims

        pairs += [("7", c) for c in rewind_claims(rewind_experiment)]
    return pairs


def synthesis_table(pairs: Sequence[Pair]) -> str:
    """One Markdown table: notebook | claim (source) | this companion | verdict."""
    lines = ["| notebook | claim (source) | this companion's run | verdict |", "|---|---|---|---|"]
    lines += [f"| {nb} | {c.paper} ({c.cite}) | {c.here} | **{c.verdict}** |" for nb, c in pairs]
    return "\n".join(lines)


def verdict_counts(pairs: Sequence[Pair]) -> Mapping[str, int]:
    """How many claims hold, do not hold, and are unresolved."""
    counts = Counter(c.verdict for _, c in pairs)
    return {v: counts.get(v, 0) for v in (paper.HOLDS, paper.FAILS, paper.UNRESOLVED)}
