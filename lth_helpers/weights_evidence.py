"""Notebook 4's evidence: weight movement, growth and trained scale, each with its interval over seeds.

Every sentence a notebook shows about an effect is built here from per-seed numbers, so that it
says only what the 95% interval over seeds (:func:`lth_helpers.intervals.mean_interval`) supports
and "not resolved" otherwise. With a single seed there is no interval, so nothing is resolved.

The scaling argument's remark, "smaller sub-networks want larger weights", was first measured on tickets
only. Here it is put against sparse networks that are *not* tickets: every control of the shared
experiment keeps its trained weights (:meth:`~lth_helpers.results.IMPResult.final_weights`), so
the trained scale of the ticket can be compared with that of each control, seed by seed.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Mapping, Sequence

from .claims import FAILS, HOLDS, NAMES, UNRESOLVED, Claim
from .intervals import mean_interval
from .models import LAYER_NAMES
from .results import IMPResult
from .scaling import rms

__all__ = ["interval", "movement_sentence", "growth_sentence", "criteria_sentence",
           "remark_table", "trained_scales", "scale_table", "larger_weights_sentence", "larger_weights_claim",
           "growth_bias_claim", "labelled", "verdict_list"]

RowsBySeed = Mapping[int, Sequence[Mapping]]
#: Controls whose starting weights have the dense network's scale (the others start larger by construction).
DENSE_SCALE_START = ("reinit", "random_mask")


def interval(values: Sequence[float], reference: float = 0.0, unit: str = "", digits: int = 2) -> tuple[str, str]:
    """``(verdict, text)`` for per-seed ``values`` against ``reference``: "higher", "lower" or
    "unresolved" (always unresolved with one seed: no spread to judge by), and ``mean [low, high]``
    (differences, ``reference`` 0, are signed)."""
    mean, low, high = mean_interval(values)
    verdict = ("unresolved" if len(values) < 2 or low <= reference <= high
               else "higher" if low > reference else "lower")
    f = (lambda v: f"{v:+.{digits}f}") if reference == 0 else (lambda v: f"{v:.{digits}f}")  # noqa: E731
    return verdict, f"{f(mean)}{unit} [{f(low)}, {f(high)}]"


def _per_seed(rows_by_seed: RowsBySeed, layer: str, group: str, field: str) -> list[float]:
    return [row[field] for rows in rows_by_seed.values() for row in rows
            if row["layer"] == layer and row["group"] == group]


def _verdicts_line(parts: Mapping[str, tuple[str, str]]) -> str:
    return ", ".join(f"{name} {text}" for name, (_, text) in parts.items())


def _overall(verdicts: Sequence[str]) -> str:
    """HOLDS when every interval lies above its reference, FAILS when any lies below, else UNRESOLVED."""
    return FAILS if "lower" in verdicts else HOLDS if verdicts and all(v == "higher" for v in verdicts) else UNRESOLVED


def movement_sentence(movement: Mapping[int, RowsBySeed], labels: Mapping[int, str]) -> str:
    """Median movement of ticket weights over the others', per layer and ticket, with intervals."""
    lines, all_verdicts = [], []
    for r, by_seed in movement.items():
        ratios = {}
        for layer in LAYER_NAMES:
            ticket, others = (_per_seed(by_seed, layer, g, "movement_median") for g in ("ticket", "others"))
            ratios[layer] = interval([t / o for t, o in zip(ticket, others)], 1.0, "x")
        all_verdicts += [v for v, _ in ratios.values()]
        lines.append(f"* {labels[r]}: {_verdicts_line(ratios)}")
    end = {HOLDS: "Ticket weights move further than the others in every layer, as in the paper's Figure 19.",
           FAILS: "In at least one layer the ticket's weights move *less* than the others' (unlike Figure 19).",
           UNRESOLVED: "Not resolved at this size in every layer: at least one interval includes 1."}
    end = end[_overall(all_verdicts)]
    return ("Median movement of ticket weights over the others' (mean over seeds [95% interval over seeds]; "
            "above 1: the ticket's move further):\n\n" + "\n".join(lines) + "\n\n" + end)


def growth_sentence(movement: Mapping[int, RowsBySeed], labels: Mapping[int, str]) -> str:
    """Share of weights that grew in magnitude, ticket vs. others, per layer and ticket."""
    lines, majority, more = [], [], []
    for r, by_seed in movement.items():
        parts = []
        for layer in LAYER_NAMES:
            ticket, others = _per_seed(by_seed, layer, "ticket", "grew"), _per_seed(by_seed, layer, "others", "grew")
            share, diff = interval(ticket, 0.5), interval([t - o for t, o in zip(ticket, others)])
            majority.append(share[0])
            more.append(diff[0])
            parts.append(f"{layer} {share[1]} (others {sum(others) / len(others):.2f}; difference {diff[1]})")
        lines.append(f"* {labels[r]}: " + ", ".join(parts))
    said = {HOLDS: "holds in every layer", FAILS: "is reversed in at least one layer",
            UNRESOLVED: "is not resolved in every layer"}
    return ("Share of weights whose magnitude grew in the dense run (ticket: mean [95% interval over seeds]):\n\n"
            + "\n".join(lines) + f"\n\nAt this size, \"a majority of ticket weights grew\" {said[_overall(majority)]}; "
            f"\"a larger share than among the others\" {said[_overall(more)]}.")


def criteria_sentence(rows: Sequence[Mapping], ticket: str, among: str) -> str:
    """How far final magnitude's AUC leads each other criterion, per layer (rows carry ``seed``)."""
    pick = [r for r in rows if r["ticket"] == ticket and r["among"] == among]
    auc = {(r["seed"], r["layer"], r["criterion"]): r["auc"] for r in pick}
    seeds, others = sorted({r["seed"] for r in pick}), sorted({r["criterion"] for r in pick} - {"final magnitude"})
    parts = []
    for other in others:
        leads = {layer: interval([auc[s, layer, "final magnitude"] - auc[s, layer, other] for s in seeds], digits=3)
                 for layer in LAYER_NAMES}
        ahead = sum(v == "higher" for v, _ in leads.values())
        parts.append(f"over {other} {_verdicts_line(leads)} (resolved ahead in {ahead}/{len(leads)} layers)")
    weak = [auc[s, layer, c] for s in seeds for layer in LAYER_NAMES for c in ("magnitude increase", "movement")
            if (s, layer, c) in auc]
    tail = (f". Magnitude increase and movement score AUC {min(weak):.2f}-{max(weak):.2f} (chance: 0.5)."
            if weak else ".")
    return f"{ticket}, {among}: final magnitude's AUC lead " + "; ".join(parts) + tail


def remark_table(rows: Sequence[Mapping], mid: int, small: int, labels: Mapping[int, str]) -> str:
    """Markdown: the scaling argument's remark on tickets, per layer: trained scale at both tickets, against
    ``1/sqrt(d)``, the start scale, and the growth in the dense run (``rows``:
    :func:`~lth_helpers.scaling.trained_scale_rows` with ``seed``, ``round`` and ``init_ratio``)."""
    word = {"higher": " (**above 0**)", "lower": " (**below 0**)", "unresolved": " (not resolved)"}
    both = [mid, small] if mid != small else [small]
    head = ([f"trained ticket / trained dense, {labels[r]}" for r in both]
            + (["smaller ticket minus larger"] if mid != small else [])
            + [f"{labels[small]}: trained minus 1/sqrt(d)", "theta_0 minus 1/sqrt(d)", "grown in the dense run"])
    lines = ["| layer | 1/sqrt(d) | " + " | ".join(head) + " |", "|---" * (len(head) + 2) + "|"]
    for layer in LAYER_NAMES:
        def get(r: int, field: str) -> list[float]:
            return [x[field] for x in sorted(rows, key=lambda x: x["seed"]) if (x["round"], x["layer"]) == (r, layer)]
        pairs = ([(get(small, "ticket_over_dense"), get(mid, "ticket_over_dense"))] if mid != small else []) + [
            (get(small, "ticket_over_dense"), get(small, "uniform_factor")),
            (get(small, "init_ratio"), get(small, "uniform_factor")),
            (get(small, "dense_on_ticket_over_dense"), get(small, "init_ratio"))]
        cells = [interval(get(r, "ticket_over_dense"), 1.0, "x")[1] for r in both]
        cells += [t + word[v] for v, t in (interval([x - y for x, y in zip(a, b)]) for a, b in pairs)]
        lines.append(f"| {layer} | {get(small, 'uniform_factor')[0]:.2f} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def labelled(claim: Claim, label: str) -> Claim:
    """``claim`` with ``label`` (e.g. which ticket) in front of its numbers, for a table of several."""
    return replace(claim, here=f"{label}: {claim.here}")


def verdict_list(pairs: Sequence[tuple[str, Claim]]) -> str:
    """Markdown bullets, one per ``(where, claim)``: the claim, where it was checked, and its verdict."""
    return "\n".join(f"* {c.paper} ({c.cite}), {where}: **{c.verdict}**" for where, c in pairs)


def trained_scales(result: IMPResult, rounds: Sequence[int], strategies: Sequence[str]) -> list[dict]:
    """Per seed, round, strategy and layer: RMS of the network's surviving weights, trained
    (``end``) and at its start (``start``), over the dense network's RMS (trained, resp. theta_0)."""
    rows = []
    for seed in result.config.seeds:
        dense0, dense = result.theta0(seed), result.final_weights(seed, 0)
        for r in rounds:
            for strategy in strategies:
                mask = result.masks(seed, r, strategy)  # random_mask and shuffled have their own
                final, start = result.final_weights(seed, r, strategy), result.initial_weights(seed, r, strategy)
                rows += [{"seed": seed, "round": r, "strategy": strategy, "layer": layer,
                          "end": rms(final[layer], mask[layer]) / rms(dense[layer]),
                          "start": rms(start[layer], mask[layer]) / rms(dense0[layer])} for layer in LAYER_NAMES]
    return rows


def _values(rows: Sequence[Mapping], r: int, strategy: str, layer: str, field: str = "end") -> list[float]:
    pick = sorted((row["seed"], row[field]) for row in rows
                  if (row["round"], row["strategy"], row["layer"]) == (r, strategy, layer))
    return [v for _, v in pick]


def _controls(rows: Sequence[Mapping]) -> list[str]:
    return [s for s in NAMES if s != "original" and any(row["strategy"] == s for row in rows)]


def scale_table(rows: Sequence[Mapping], r: int) -> str:
    """Markdown: per network and layer, trained RMS over the dense network's [interval], its start
    scale, and for each control the ticket's paired difference [interval]."""
    head = "| network | " + " | ".join(f"{layer}: start, end [95% interval]" for layer in LAYER_NAMES) + " |"
    lines = [head, "|---" * (len(LAYER_NAMES) + 1) + "|"]
    for strategy in ["original"] + _controls(rows):
        cells = []
        for layer in LAYER_NAMES:
            start = mean_interval(_values(rows, r, strategy, layer, "start"))[0]
            cell = f"{start:.2f}x, {interval(_values(rows, r, strategy, layer), 1.0, 'x')[1]}"
            if strategy != "original":
                diff = [t - c for t, c in zip(_values(rows, r, "original", layer), _values(rows, r, strategy, layer))]
                cell += f"; ticket minus it: {interval(diff)[1]}"
            cells.append(cell)
        lines.append(f"| {NAMES[strategy]} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _verdicts(rows: Sequence[Mapping], r: int) -> tuple[dict, dict]:
    """Per (control, layer): the control against the dense network, and the ticket against the control."""
    vs_dense, ticket_vs = {}, {}
    for control in _controls(rows):
        for layer in LAYER_NAMES:
            vs_dense[control, layer] = interval(_values(rows, r, control, layer), 1.0)[0]
            diff = [t - c for t, c in zip(_values(rows, r, "original", layer), _values(rows, r, control, layer))]
            ticket_vs[control, layer] = interval(diff)[0]
    return vs_dense, ticket_vs


def larger_weights_sentence(rows: Sequence[Mapping], r: int, label: str) -> str:
    """What the trained scales at round ``r`` allow one to say about "sparse networks end larger"."""
    ticket = [interval(_values(rows, r, "original", layer), 1.0)[0] for layer in LAYER_NAMES]
    vs_dense, ticket_vs = _verdicts(rows, r)
    # reinit and the random sparse network start at the dense scale: if they end larger, sparsity did it.
    plain = [v for (c, _), v in vs_dense.items() if c in DENSE_SCALE_START]
    text = (f"{label}: the ticket's trained weights are larger than the dense network's in {ticket.count('higher')}/"
            f"{len(ticket)} layers; the controls' in {list(vs_dense.values()).count('higher')}/{len(vs_dense)} "
            f"control-layer pairs (smaller in {list(vs_dense.values()).count('lower')}); those of the controls that "
            f"start at the dense scale ({', '.join(NAMES[c] for c in DENSE_SCALE_START)}) in "
            f"{plain.count('higher')}/{len(plain)}.")
    if _overall(list(vs_dense.values()) + ticket) == HOLDS:
        text += " So **sparse networks in general end up with larger weights**, not only tickets."
    by = {v: sorted({NAMES[c] for (c, _), x in ticket_vs.items() if x == v}) for v in ("higher", "lower")}
    if _overall(list(ticket_vs.values())) == HOLDS:
        return text + (" The ticket's weights end larger than every control's in every layer: "
                       "**tickets more than controls**.")
    if ticket_vs and all(v == "lower" for v in ticket_vs.values()):
        return text + (" The ticket's weights end *smaller* than every control's in every layer: "
                       "**controls more than tickets**.")
    if not by["higher"] and not by["lower"]:
        return text + " Whether the ticket's weights end larger than the controls' is **not resolved** at this size."
    parts = [f"{word} than {', '.join(by[v])}" for v, word in (("higher", "larger"), ("lower", "smaller")) if by[v]]
    return (text + " Ticket minus control, resolved in at least one layer: " + "; ".join(parts) + "; not resolved in "
            f"{list(ticket_vs.values()).count('unresolved')} of {len(ticket_vs)} control-layer pairs.")


def larger_weights_claim(rows: Sequence[Mapping], r: int) -> Claim:
    """The scaling argument's remark, tested on non-tickets: every sparse control ends with larger weights
    than the dense network (holds), some end smaller (fails), else unresolved."""
    vs_dense, _ = _verdicts(rows, r)
    values = list(vs_dense.values())
    here = f"larger in {values.count('higher')}/{len(values)} control-layer pairs, smaller in {values.count('lower')}"
    return Claim("scaling argument", "Sparse networks, not only tickets, end training with larger weights than the dense network",
                 here, _overall(values))


def growth_bias_claim(rows: Sequence[Mapping], ticket: str, among: str = "all weights") -> Claim:
    """App. F.5's caveat, measured: magnitude increase predicts ticket membership better than chance."""
    pick = [r for r in rows if (r["ticket"], r["among"], r["criterion"]) == (ticket, among, "magnitude increase")]
    verdicts = {layer: interval([r["auc"] for r in pick if r["layer"] == layer], 0.5, digits=3)
                for layer in LAYER_NAMES}
    return Claim("App. F.5", "Magnitude pruning favours weights that grew (the authors' caveat)",
                 f"AUC of magnitude increase, {among}: {_verdicts_line(verdicts)} (chance 0.5)",
                 _overall([v for v, _ in verdicts.values()]))
