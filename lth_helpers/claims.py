"""The paper's claims, checked on this run: holds, does not hold, or unresolved, with the numbers.

Every "paper vs. this notebook" table and every summary sentence about an effect is rendered
from a :class:`Claim`, so that no prose can go stale or contradict its own outputs at any size.
A comparison *holds* when its 95% interval (:mod:`lth_helpers.intervals`) lies on the side the
paper reports, *does not hold* when it lies on the other side, and is *unresolved* when it
includes zero. Where the paper gives a size (say, 0.3 points), the run's own number is quoted
beside it; the verdict is about the direction.

Paper references are to Frankle & Carbin, ICLR 2019 (arXiv v5): Figures 1, 3, 4 and 4c,
Appendix F.1 and F.5.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

from .intervals import PairedEstimate, paired_estimate
from .results import Source, closest_round, records_of, stats_at

__all__ = ["Claim", "HOLDS", "FAILS", "UNRESOLVED", "claims_table", "checkpoint", "direction",
           "earlier_than_dense", "between_dense_and_21", "slows_again", "more_accurate_than_dense",
           "ticket_not_below_dense", "control_slower", "control_less_accurate", "control_falls_off_earlier",
           "one_shot_claims", "bimodal_initial_values", "ticket_weights_move_more", "ticket_weights_grow"]

HOLDS, FAILS, UNRESOLVED = "holds", "does not hold", "unresolved"
NAMES = {"original": "ticket", "reinit": "random reinit", "random_mask": "random sparse network",
         "fan_corrected": "fan-corrected reinit", "ticket_scale": "ticket-scale reinit",
         "shuffled": "shuffled values", "one_shot": "one-shot ticket"}


@dataclass(frozen=True)
class Claim:
    """One of the paper's claims and what this run says about it."""

    cite: str      # where the paper says it, e.g. "Fig. 4"
    paper: str     # the claim, in this companion's words
    here: str      # this run's numbers
    verdict: str   # HOLDS, FAILS or UNRESOLVED


def claims_table(claims: Iterable[Claim]) -> str:
    """The claims as a Markdown table: paper | this run | verdict."""
    lines = ["| paper | this run | verdict |", "|---|---|---|"]
    lines += [f"| {c.paper} ({c.cite}) | {c.here} | **{c.verdict}** |" for c in claims]
    return "\n".join(lines)


def direction(estimate: PairedEstimate, expected: str) -> str:
    """HOLDS when the interval lies on the ``expected`` side of zero ("higher"/"lower"), FAILS when
    on the other, UNRESOLVED when it includes zero."""
    if estimate.verdict == "unresolved":
        return UNRESOLVED
    return HOLDS if estimate.verdict == expected else FAILS


def _all(verdicts: Sequence[str]) -> str:
    if FAILS in verdicts:
        return FAILS
    return HOLDS if verdicts and all(v == HOLDS for v in verdicts) else UNRESOLVED


def _rounds(source: Source, strategy: str = "original") -> list[int]:
    return sorted({r["round"] for r in records_of(source) if r["strategy"] == strategy})


def checkpoint(source: Source, density: float, strategy: str = "original") -> int:
    """The run's round nearest the paper's checkpoint ``density`` (a short run: its sparsest)."""
    return closest_round(density, _rounds(source, strategy))


def _pct(source: Source, round_: int, strategy: str = "original") -> str:
    return f"{100 * stats_at(source, strategy, round_, 'early_stop_iteration')['density']:.1f}%"


def _es(source: Source, strategy: str, round_: int) -> float:
    return stats_at(source, strategy, round_, "early_stop_iteration")["mean"]


# ------------------------------------------------------------------------ Figures 3-4: tickets


def earlier_than_dense(source: Source, density: float = 0.211) -> Claim:
    """Fig. 3-4: at 21.1% the ticket reaches minimum validation loss 38% earlier than dense."""
    n = checkpoint(source, density)
    est = paired_estimate(source, "original", "original", n, "early_stop_iteration", baseline_round=0)
    ticket, dense = _es(source, "original", n), _es(source, "original", 0)
    return Claim("Fig. 3-4", "At 21.1% of the weights the ticket stops 38% earlier than the dense network",
                 f"at {_pct(source, n)}: {ticket:,.0f} vs. {dense:,.0f} it. ({100 * (ticket / dense - 1):+.0f}%); "
                 f"difference {est.text()}", direction(est, "lower"))


def between_dense_and_21(source: Source) -> Claim:
    """Fig. 3: 51.3% learns faster than the dense network but slower than 21.1%."""
    n51, n21 = checkpoint(source, 0.513), checkpoint(source, 0.211)
    vs_dense = paired_estimate(source, "original", "original", n51, "early_stop_iteration", baseline_round=0)
    vs_21 = paired_estimate(source, "original", "original", n51, "early_stop_iteration", baseline_round=n21)
    verdict = _all([direction(vs_dense, "lower"), direction(vs_21, "higher")] if n51 != n21 else [])
    return Claim("Fig. 3", "51.3% stops earlier than the dense network but later than 21.1%",
                 f"{_pct(source, n51)} minus dense: {vs_dense.text()}; {_pct(source, n51)} minus "
                 f"{_pct(source, n21)}: {vs_21.text()}", verdict)


def slows_again(source: Source) -> Claim:
    """Fig. 3: below about 21%, learning slows again (3.6% stops later than 21.1%)."""
    n21, n36 = checkpoint(source, 0.211), checkpoint(source, 0.036)
    est = paired_estimate(source, "original", "original", n36, "early_stop_iteration", baseline_round=n21)
    return Claim("Fig. 3", "Below about 21% learning slows again: 3.6% stops later than 21.1%",
                 f"{_pct(source, n36)} minus {_pct(source, n21)}: {est.text()}",
                 direction(est, "higher") if n36 != n21 else UNRESOLVED)


def more_accurate_than_dense(source: Source, density: float = 0.135) -> Claim:
    """Fig. 3: at 13.5% the ticket's test accuracy is more than 0.3 points above dense."""
    n = checkpoint(source, density)
    est = paired_estimate(source, "original", "original", n, baseline_round=0)
    return Claim("Fig. 3", "At 13.5% the ticket is more than 0.3 points more accurate than the dense network",
                 f"at {_pct(source, n)}, ticket minus dense: {est.text()}", direction(est, "higher"))


def ticket_not_below_dense(source: Source, down_to: float = 0.036) -> Claim:
    """Fig. 4: tickets do not fall below the dense network's accuracy until about 2.9-3.6%."""
    # Compared as the paper labels densities, to 0.1% (round 15 keeps 3.58%: the paper's "3.6%").
    rounds = [n for n in _rounds(source) if n > 0 and
              round(100 * stats_at(source, "original", n, "early_stop_iteration")["density"], 1) >= 100 * down_to]
    estimates = [paired_estimate(source, "original", "original", n, baseline_round=0) for n in rounds]
    below = [e for e in estimates if e.verdict == "lower"]
    above = [e for e in estimates if e.verdict == "higher"]
    here = (f"{len(estimates)} rounds from {_pct(source, rounds[0])} to {_pct(source, rounds[-1])}: resolved above "
            f"dense at {len(above)}, below at {len(below)}" if estimates else "no sparse round in this run")
    if below:
        here += "; below at " + ", ".join(f"{100 * e.density:.1f}% ({e.text()})" for e in below)
    elif estimates:
        here += f"; lowest interval bound {100 * min(e.low for e in estimates):+.2f} points"
    # "At least as accurate" holds only where the intervals say so: an interval that merely includes
    # zero does not rule out a loss, so such rounds leave the claim unresolved.
    verdict = FAILS if below else HOLDS if estimates and len(above) == len(estimates) else UNRESOLVED
    return Claim("Fig. 4", f"Tickets stay at least as accurate as the dense network down to {100 * down_to:.1f}%",
                 here, verdict)


# ---------------------------------------------------------------------- Figure 4 and 1: controls


def control_slower(source: Source, control: str, density: float = 0.211) -> Claim:
    """Fig. 4 (reinit; Fig. 1 for random sparse networks): the ticket stops sooner than the control."""
    n = checkpoint(source, density)
    est = paired_estimate(source, "original", control, n, "early_stop_iteration")
    ratio = _es(source, control, n) / _es(source, "original", n)
    paper = "2.51x sooner" if control == "reinit" and abs(density - 0.211) < 0.01 else "sooner"
    return Claim("Fig. 4" if control == "reinit" else "Fig. 1",
                 f"At {100 * density:.1f}% the ticket reaches minimum validation loss {paper} than a {NAMES[control]}",
                 f"at {_pct(source, n)}: {ratio:.2f}x sooner; ticket minus {NAMES[control]} {est.text()}",
                 direction(est, "lower"))


def control_less_accurate(source: Source, control: str, density: float = 0.211) -> Claim:
    """Fig. 4 (reinit; Fig. 1 for random sparse networks): the ticket is more accurate than the control
    (paper, reinit at 21.1%: by 0.5 points)."""
    n = checkpoint(source, density)
    est = paired_estimate(source, "original", control, n)
    paper = "0.5 points more accurate" if control == "reinit" and abs(density - 0.211) < 0.01 else "more accurate"
    return Claim("Fig. 4" if control == "reinit" else "Fig. 1",
                 f"At {100 * density:.1f}% the ticket is {paper} than a {NAMES[control]}",
                 f"at {_pct(source, n)}, ticket minus {NAMES[control]}: {est.text()}", direction(est, "higher"))


def _falloff(source: Source, strategy: str) -> int | None:
    """First round from which ``strategy`` is resolved below the dense network at every sparser round."""
    found = None
    for n in sorted(_rounds(source, strategy), reverse=True):
        if n == 0 or paired_estimate(source, strategy, "original", n, baseline_round=0).verdict != "lower":
            break
        found = n
    return found


def control_falls_off_earlier(source: Source, control: str) -> Claim:
    """Fig. 4: the control falls below the dense network's accuracy at a larger size than the ticket
    (paper: reinit from about 21.1% remaining, tickets only at 2.9%)."""
    ours, theirs = _falloff(source, "original"), _falloff(source, control)
    where = lambda s, n: "never, down to the last round" if n is None else f"from {_pct(source, n, s)}"  # noqa: E731
    here = f"{NAMES[control]} below dense: {where(control, theirs)}; ticket: {where('original', ours)}"
    if theirs is None:
        verdict = UNRESOLVED if ours is None else FAILS
    else:
        verdict = HOLDS if ours is None or ours > theirs else FAILS
    return Claim("Fig. 4", f"A {NAMES[control]} falls below the dense network's accuracy at a larger size than "
                 "the ticket (reinit: from about 21.1%, tickets at 2.9%)", here, verdict)


# ------------------------------------------------------------------------ Figure 4c: one-shot


def one_shot_claims(source: Source) -> list[Claim]:
    """Fig. 4c: one-shot tickets stop earlier than dense for 67.5% >= Pm >= 17.6% and are more
    accurate for 95.0% >= Pm >= 5.17%; iterative pruning wins at the smallest sizes."""
    rounds = _rounds(source, "one_shot")
    if not rounds:
        return []
    def in_range(n: int, high: float, low: float) -> bool:  # noqa: E306
        density = round(100 * stats_at(source, "one_shot", n, "early_stop_iteration")["density"], 2)
        return 100 * low <= density <= 100 * high
    claims = []
    for metric, high, low, expected, text in (
            ("early_stop_iteration", 0.675, 0.176, "lower", "stop earlier than the dense network"),
            ("test_acc_at_early_stop", 0.950, 0.0517, "higher", "are more accurate than the dense network")):
        chosen = [n for n in rounds if in_range(n, high, low)]
        estimates = [paired_estimate(source, "one_shot", "original", n, metric, baseline_round=0) for n in chosen]
        here = "; ".join(f"{100 * e.density:.1f}%: {e.text()}" for e in estimates) or "no one-shot round in range"
        claims.append(Claim("Fig. 4c", f"One-shot tickets {text} for {100 * high:.3g}% >= P_m >= {100 * low:.3g}%",
                            here, _all([direction(e, expected) for e in estimates])))
    smallest = rounds[-1]
    est = paired_estimate(source, "original", "one_shot", smallest)
    claims.append(Claim("Fig. 4c", "At small sizes iterative pruning finds more accurate tickets than one-shot",
                        f"at {100 * est.density:.1f}%, iterative minus one-shot: {est.text()}",
                        direction(est, "higher")))
    return claims


# -------------------------------------------------------------- Appendix F: initial values, movement

BIMODAL = 5 / 9  # Sarle's bimodality coefficient above 5/9 suggests two modes (a Gaussian: 1/3)


def bimodal_initial_values(rows_by_seed: Mapping[int, Sequence[Mapping]], round_: int) -> Claim:
    """App. F.1: the ticket's initial values become bimodal in layers 2 and 3, not in layer 1.

    ``rows_by_seed`` maps each seed to :func:`lth_helpers.scaling.initial_value_shape` rows.
    A layer counts as bimodal in a seed when its coefficient exceeds 5/9.
    """
    values = {layer: [row["bimodality"] for rows in rows_by_seed.values() for row in rows
                      if row["layer"] == layer and row["round"] == round_] for layer in ("fc1", "fc2", "fc3")}
    def state(layer: str) -> str:  # noqa: E306
        flags = [v > BIMODAL for v in values[layer]]
        return "bimodal" if flags and all(flags) else "not bimodal" if not any(flags) else "mixed"
    states = {layer: state(layer) for layer in values}
    here = "; ".join(f"{layer} {', '.join(f'{v:.2f}' for v in vals)} ({states[layer]})" for layer, vals in values.items())
    if "mixed" in states.values():
        verdict = UNRESOLVED
    else:
        verdict = HOLDS if (states["fc2"], states["fc3"], states["fc1"]) == ("bimodal", "bimodal", "not bimodal") else FAILS
    return Claim("App. F.1", "The ticket's initial values become bimodal in layers 2 and 3; layer 1 keeps its shape",
                 f"bimodality coefficient per seed (Gaussian 0.33, bimodal above 0.56): {here}", verdict)


def _ratios(rows_by_seed: Mapping[int, Sequence[Mapping]], field: str) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {}
    for rows in rows_by_seed.values():
        by = {(r["layer"], r["group"]): r for r in rows}
        for layer in sorted({r["layer"] for r in rows}):
            ticket, others = by[(layer, "ticket")][field], by[(layer, "others")][field]
            out.setdefault(layer, []).append(ticket / others if field == "movement_median" else ticket - others)
    return out


def ticket_weights_move_more(rows_by_seed: Mapping[int, Sequence[Mapping]]) -> Claim:
    """App. F.5, Fig. 19: in the dense run, ticket weights move further than the others.

    ``rows_by_seed`` maps each seed to :func:`lth_helpers.movement.movement_summary` rows.
    """
    ratios = _ratios(rows_by_seed, "movement_median")
    flags = [v > 1 for vals in ratios.values() for v in vals]
    verdict = HOLDS if all(flags) else FAILS if not any(flags) else UNRESOLVED
    here = "; ".join(f"{layer} {', '.join(f'{v:.2f}x' for v in vals)}" for layer, vals in ratios.items())
    return Claim("App. F.5", "Weights that end up in the ticket move further in training than the others",
                 f"median movement, ticket over others, per seed: {here}", verdict)


def ticket_weights_grow(rows_by_seed: Mapping[int, Sequence[Mapping]]) -> Claim:
    """App. F.5, Fig. 20: ticket weights tend to grow in magnitude (more often than the others)."""
    shares = {layer: [r["grew"] for rows in rows_by_seed.values() for r in rows
                      if r["layer"] == layer and r["group"] == "ticket"] for layer in ("fc1", "fc2", "fc3")}
    margins = _ratios(rows_by_seed, "grew")
    flags = [v > 0.5 for vals in shares.values() for v in vals] + [m > 0 for vals in margins.values() for m in vals]
    verdict = HOLDS if all(flags) else FAILS if not any(flags) else UNRESOLVED
    here = "; ".join(f"{layer} {', '.join(f'{100 * v:.0f}%' for v in vals)}" for layer, vals in shares.items())
    return Claim("App. F.5", "Ticket weights tend to grow in magnitude during training (more often than the others)",
                 f"share of ticket weights that grew, per seed: {here}", verdict)
