"""Sentences and tables that state an effect only as far as its interval supports it.

The notebooks print these instead of typing conclusions, so that a page cannot say more than its
own numbers do: an effect whose 95% interval (:mod:`lth_helpers.intervals`) excludes zero is
stated with its direction, anything else is "not resolved at this size", always with the
interval. :func:`convergence_text` says whether every network had finished learning before its
training ended (the records' ``late_minimum`` flag).
"""

from __future__ import annotations

from typing import Iterable, Sequence

from .intervals import METHOD, PairedEstimate, method, paired_estimates
from .results import Source, records_of, summarize_records

__all__ = ["versus_dense", "versus", "effect_sentence", "across_rounds", "estimates_table", "convergence_text",
           "METHOD"]

WORDS = {  # metric: (word when higher, word when lower)
    "early_stop_iteration": ("stops later than", "stops earlier than"),
    "test_acc_at_early_stop": ("is more accurate than", "is less accurate than"),
    "final_test_acc": ("ends more accurate than", "ends less accurate than"),
    "val_acc_at_early_stop": ("is more accurate on validation than", "is less accurate on validation than"),
}


def _sparse_rounds(source: Source, strategy: str) -> list[int]:
    return sorted({r["round"] for r in records_of(source) if r["strategy"] == strategy and r["round"] > 0})


def versus_dense(source: Source, strategy: str = "original", metric: str = "test_acc_at_early_stop",
                 rounds: Iterable[int] | None = None) -> list[PairedEstimate]:
    """``strategy`` minus the dense network (its own seed's round 0) at every sparse round (or ``rounds``)."""
    rounds = _sparse_rounds(source, strategy) if rounds is None else rounds
    return paired_estimates(source, strategy, "original", rounds, metric, against_dense=True)


def versus(source: Source, strategy: str, baseline: str, metric: str = "test_acc_at_early_stop",
           rounds: Iterable[int] | None = None) -> list[PairedEstimate]:
    """``strategy`` minus ``baseline`` of the same seed and round, at every sparse round (or ``rounds``)."""
    rounds = _sparse_rounds(source, strategy) if rounds is None else rounds
    return paired_estimates(source, strategy, baseline, rounds, metric)


def _pct(estimate: PairedEstimate) -> str:
    return f"{100 * estimate.density:.1f}%"


def effect_sentence(estimate: PairedEstimate, subject: str, other: str) -> str:
    """One sentence: "At 21.1%, the ticket stops earlier than the dense network: -210 it. [...]"."""
    higher, lower = WORDS[estimate.metric]
    if estimate.verdict == "unresolved":
        return (f"At {_pct(estimate)}, whether the {subject} differs from the {other} is not resolved at this "
                f"size: {estimate.text()}.")
    verb = higher if estimate.verdict == "higher" else lower
    return f"At {_pct(estimate)}, the {subject} {verb} the {other}: {estimate.text()}."


def _spans(estimates: Sequence[PairedEstimate]) -> str:
    """"51.3-21.1%, 3.6%": consecutive rounds joined."""
    if not estimates:
        return "none"
    groups: list[list[PairedEstimate]] = [[estimates[0]]]
    for e in estimates[1:]:
        (groups[-1].append(e) if e.round == groups[-1][-1].round + 1 else groups.append([e]))
    return ", ".join(_pct(g[0]) if len(g) == 1 else f"{100 * g[0].density:.1f}-{_pct(g[-1])}" for g in groups)


def across_rounds(estimates: Sequence[PairedEstimate], subject: str, other: str) -> str:
    """Where, over the rounds, the intervals put ``subject`` above, below, or not resolved against ``other``."""
    if not estimates:
        return f"No round has both the {subject} and the {other}."
    higher_word, lower_word = WORDS[estimates[0].metric]
    estimates = sorted(estimates, key=lambda e: e.round)
    up = [e for e in estimates if e.verdict == "higher"]
    down = [e for e in estimates if e.verdict == "lower"]
    open_ = [e for e in estimates if e.verdict == "unresolved"]
    parts = []
    if down:
        parts.append(f"{lower_word} the {other} at {_spans(down)} of the weights ({len(down)} of {len(estimates)} rounds)")
    if up:
        parts.append(f"{higher_word} the {other} at {_spans(up)} ({len(up)} of {len(estimates)} rounds)")
    if not parts:
        return (f"Whether the {subject} differs from the {other} is not resolved at this size at any round "
                f"({_spans(open_)}).")
    text = f"The {subject} " + "; it ".join(parts)
    if open_:
        text += f"; elsewhere not resolved at this size ({_spans(open_)})"
    return text + "."


def estimates_table(estimates: Sequence[PairedEstimate], label: str = "difference") -> str:
    """A plain-text table: weights left, mean paired difference, 95% interval, seeds that agree, verdict."""
    if not estimates:
        return "(no pairs)"
    is_acc = "acc" in estimates[0].metric
    scale, unit = (100.0, "points") if is_acc else (1.0, "iterations")
    fmt = (lambda v: f"{scale * v:+.2f}") if is_acc else (lambda v: f"{scale * v:+,.0f}")
    header = f"{'weights':>8}  {label + ' (' + unit + ')':>24}  {'95% interval':>20}  {'seeds agree':>11}  verdict"
    lines = [header, "-" * len(header)]
    for e in sorted(estimates, key=lambda e: e.round):
        interval = f"[{fmt(e.low)}, {fmt(e.high)}]"
        verdict = e.verdict if e.verdict == "unresolved" else f"{e.verdict} (resolved)"
        flag = f"  ({e.late} cut short)" if e.late else ""
        lines.append(f"{_pct(e):>8}  {fmt(e.mean):>24}  {interval:>20}  {f'{e.agree}/{e.seeds}':>11}  {verdict}{flag}")
    lines.append(f"({method(estimates[0].metric)})")
    return "\n".join(lines)


def convergence_text(source: Source, target: float = 0.75) -> str:
    """Did every network finish learning before its training ended?

    Reports the latest mean early-stopping iteration over strategies and rounds as a share of the
    training budget (``target``: the share it should stay under), and names every network whose
    validation minimum fell in the last 10% of its training.
    """
    records = records_of(source)
    if not records:
        raise ValueError("no records")
    budget = max(int(r["iterations"]) for r in records)
    strategies = list(dict.fromkeys(r["strategy"] for r in records))
    series = summarize_records(records, "early_stop_iteration", strategies, include_dense=False)
    worst = max(((mean, s, n, d) for s, ser in series.items() for n, d, mean in zip(ser.rounds, ser.density, ser.mean)),
                key=lambda t: t[0])
    mean, strategy, _, density = worst
    share = mean / budget
    text = (f"Latest mean early-stopping iteration over every strategy and round: {mean:,.0f} of {budget:,} "
            f"iterations ({100 * share:.0f}% of training; {strategy} at {100 * density:.1f}%), "
            f"{'within' if share <= target else 'above'} the {100 * target:.0f}% this companion aims for.")
    late = [r for r in records if r.get("late_minimum")]
    if late:
        names = ", ".join(f"{r['strategy']} seed {r['seed']} at {100 * r['density']:.1f}%" for r in late[:8])
        more = f" and {len(late) - 8} more" if len(late) > 8 else ""
        text += (f" {len(late)} of {len(records)} networks reached their minimum in the last 10% of training "
                 f"and may be cut short: {names}{more}.")
    else:
        text += f" None of the {len(records)} networks reached its minimum in the last 10% of its training."
    return text
