"""Notebook 6's tables and sentences: what each start keeps of the ticket, and what the intervals say.

Like :mod:`lth_helpers.evidence`, nothing here states an effect that its 95% interval does not
support; every sentence is computed from the run's records at the notebook's checkpoints
(:data:`lth_helpers.claims_contents.CHECKPOINTS`).
"""

from __future__ import annotations

from typing import Sequence

from .claims import HOLDS
from . import claims_contents
from .claims_contents import CONTENT_NAMES, content_estimates, within
from .evidence import across_rounds
from .intervals import PairedEstimate
from .results import Source, records_of

__all__ = ["KEEPS", "keeps_table", "comparison_table", "versus_sentences", "as_good_as_ticket", "scale_verdict"]

#: What each start keeps of the ticket's theta_0 on its mask: (magnitudes, signs, the pairing of
#: values with positions, exact values).
KEEPS: dict[str, tuple[str, str, str, str]] = {
    "original": ("yes", "yes", "yes", "yes"),
    "noisy_0.5": ("approximately", "mostly", "yes", "no"),
    "noisy_3": ("no", "partly", "yes", "no"),
    "same_sign_reinit": ("no (fresh Glorot)", "yes", "signs only", "no"),
    "same_sign_constant": ("no (one constant)", "yes", "signs only", "no"),
    "flipped_sign": ("yes", "no (random)", "magnitudes only", "no"),
    "permuted": ("the layer's set", "the layer's set", "no", "no"),
    "ticket_scale": ("the layer's std", "no", "no", "no"),
    "reinit": ("no", "no", "no", "no"),
}


def keeps_table(strategies: Sequence[str]) -> str:
    """A Markdown table: what each of ``strategies`` keeps of the ticket (mask kept by all of them)."""
    lines = ["| start | magnitudes | signs | which position gets which value | exact values |", "|---|---|---|---|---|"]
    for s in strategies:
        keeps = KEEPS.get(s, ("?", "?", "?", "?"))
        lines.append(f"| {CONTENT_NAMES.get(s, s)} (`{s}`) | " + " | ".join(keeps) + " |")
    return "\n".join(lines)


def comparison_table(source: Source, strategies: Sequence[str], baseline: str) -> str:
    """A Markdown table: each strategy minus ``baseline`` in test accuracy at each checkpoint, with interval."""
    rows, header = [], None
    for s in strategies:
        estimates = content_estimates(source, s, baseline)
        if not estimates:
            continue
        if header is None:
            header = [f"{100 * e.density:.1f}%" for e in estimates]
        cells = [f"{e.text()} ({e.verdict})" for e in estimates]
        rows.append(f"| {CONTENT_NAMES.get(s, s)} | " + " | ".join(cells) + " |")
    if header is None:
        return f"(no records to compare with {CONTENT_NAMES.get(baseline, baseline)})"
    head = f"| minus {CONTENT_NAMES.get(baseline, baseline)} | " + " | ".join(header) + " |"
    return "\n".join([head, "|---" * (len(header) + 1) + "|", *rows])


def versus_sentences(source: Source, strategies: Sequence[str], baseline: str) -> str:
    """One sentence per strategy: where, at the checkpoints, it is resolved above or below ``baseline``."""
    out = []
    for s in strategies:
        estimates = content_estimates(source, s, baseline)
        if estimates:
            out.append("* " + across_rounds(estimates, CONTENT_NAMES.get(s, s), CONTENT_NAMES.get(baseline, baseline)))
    return "\n".join(out)


def as_good_as_ticket(source: Source, strategy: str) -> tuple[str, list[PairedEstimate]]:
    """Whether ``strategy`` loses less than :data:`~lth_helpers.claims_contents.TOLERANCE` against the
    ticket at every checkpoint (``holds``), more at some (``does not hold``), or cannot be told (``unresolved``); with the estimates."""
    estimates = content_estimates(source, strategy, "original")
    verdicts = [within(e) for e in estimates]
    if verdicts and all(v == HOLDS for v in verdicts):
        return HOLDS, estimates
    return ("does not hold" if "does not hold" in verdicts else "unresolved"), estimates


def scale_verdict(source: Source) -> str:
    """What the run says about the conjecture that a ticket is about the *scale* of its weights.

    Compares the start that keeps the ticket's scale without its signs (``ticket_scale``) with the
    starts that keep the signs without the scale (``same_sign_reinit``, ``same_sign_constant``, both
    at the dense Glorot scale), each against the ticket.
    """
    present = {r["strategy"] for r in records_of(source)}
    parts = []
    for s in ("ticket_scale", "same_sign_reinit", "same_sign_constant"):
        if s not in present:
            continue
        verdict, estimates = as_good_as_ticket(source, s)
        where = "; ".join(f"{100 * e.density:.1f}%: {e.text()}" for e in estimates)
        said = {"holds": "does as well as the ticket (every interval rules out a loss over "
                         f"{100 * claims_contents.TOLERANCE:.1f} points)",
                "does not hold": f"falls short of the ticket by more than {100 * claims_contents.TOLERANCE:.1f} points somewhere",
                "unresolved": "cannot be told apart from a loss at this size"}[verdict]
        parts.append(f"* {CONTENT_NAMES[s]} {said}: {where}.")
    if not parts:
        return "No scale or sign control in this run."
    scale_ok = "ticket_scale" in present and as_good_as_ticket(source, "ticket_scale")[0] == HOLDS
    sign_ok = any(as_good_as_ticket(source, s)[0] == HOLDS for s in ("same_sign_reinit", "same_sign_constant")
                  if s in present)
    if sign_ok and not scale_ok:
        conclusion = ("Keeping the signs at the dense network's scale was enough here, keeping the scale without the "
                      "signs was not: in this run the ticket's advantage travels with its signs, not its scale.")
    elif scale_ok and not sign_ok:
        conclusion = "Keeping the scale was enough here and keeping the signs was not: this run supports the scale conjecture."
    elif scale_ok and sign_ok:
        conclusion = "Both the scale and the signs alone were enough here: this run cannot separate them."
    else:
        conclusion = ("Neither the scale nor the signs alone were shown to be enough at this size: the intervals "
                      "leave the question open.")
    return "\n".join(parts) + "\n\n" + conclusion
