"""Notebook 5's evidence: does a better *scale* of initial weights explain the winning ticket?

Three fresh Gaussian initializations share the ticket's mask and minibatches and differ only in
their std (:mod:`lth_helpers.strategies`): ``reinit`` (the dense network's Glorot std),
``fan_corrected`` (Glorot for each weight's own per-unit fans in the sub-network) and
``ticket_scale`` (one std per layer: that of the ticket's own surviving theta_0 values). Each is
compared with the ticket and with each other by :func:`~lth_helpers.intervals.paired_estimate`,
and every sentence here states an effect only where its 95% interval excludes zero.
"""

from __future__ import annotations

from typing import Callable, Mapping, Sequence

import numpy as np
import torch

from .claims import FAILS, HOLDS, NAMES, UNRESOLVED, Claim, checkpoint
from .history import unpack_bits
from .intervals import PairedEstimate, paired_estimate
from .results import Source, records_of
from .weights_evidence import interval

__all__ = ["METRICS", "SCALE_CONTROLS", "checkpoints", "estimates", "estimate_table", "comparison_sentence",
           "tie_sentence", "signal_sentence", "init_scale_sentence", "scale_conclusion", "ticket_beats_any_std",
           "control_beats_reinit"]

#: What the comparisons report: accuracy (higher is better) and the early-stopping iteration (lower is sooner).
METRICS = ("test_acc_at_early_stop", "early_stop_iteration")
#: The fresh Gaussian initializations of the ticket's mask, from the dense scale to the ticket's own.
SCALE_CONTROLS = ("reinit", "fan_corrected", "ticket_scale")
#: The std each of them draws from.
STDS = {"reinit": "the dense network's Glorot std", "fan_corrected": "the sub-network's Glorot std (per weight)",
        "ticket_scale": "the ticket's own per-layer std"}
WORDS = {("test_acc_at_early_stop", "higher"): "more accurate", ("test_acc_at_early_stop", "lower"): "less accurate",
         ("early_stop_iteration", "lower"): "stops earlier", ("early_stop_iteration", "higher"): "stops later"}
Weights = Callable[[int, int, str], Mapping[str, torch.Tensor]]


def checkpoints(source: Source, targets: Sequence[float] = (0.211, 0.07, 0.036, 0.029)) -> list[int]:
    """The run's rounds nearest the paper's checkpoints (a short run has fewer distinct ones)."""
    return sorted({checkpoint(source, t) for t in targets})


def _pct(est: PairedEstimate) -> str:
    return f"{100 * est.density:.1f}%"


def _verdict(est: PairedEstimate) -> str:
    # One seed gives a zero-width interval: nothing to judge the spread by, so nothing is resolved.
    return "unresolved" if est.seeds < 2 else est.verdict


def estimates(source: Source, comparisons: Sequence[tuple[str, str]], rounds: Sequence[int]) -> list[PairedEstimate]:
    """:func:`paired_estimate` for each ``(strategy, baseline)``, round and metric of :data:`METRICS`."""
    return [paired_estimate(source, s, b, r, m) for s, b in comparisons for r in rounds for m in METRICS]


def _cell(est: PairedEstimate) -> str:
    verdict = _verdict(est)
    return f"{est.text()}: " + (f"**{WORDS[est.metric, verdict]}**" if verdict != "unresolved" else "not resolved")


def estimate_table(found: Sequence[PairedEstimate]) -> str:
    """Markdown: one row per comparison and round, accuracy and early-stopping differences with intervals."""
    lines = ["| weights left | difference | test accuracy at early stopping | early-stopping iteration |",
             "|---|---|---|---|"]
    rows: dict[tuple, dict[str, PairedEstimate]] = {}
    for est in found:
        rows.setdefault((est.round, est.strategy, est.baseline), {})[est.metric] = est
    for (_, strategy, baseline), pair in rows.items():
        any_ = next(iter(pair.values()))
        lines.append(f"| {_pct(any_)} | {NAMES[strategy]} minus {NAMES[baseline]} | "
                     + " | ".join(_cell(pair[m]) if m in pair else "" for m in METRICS) + " |")
    return "\n".join(lines)


def comparison_sentence(found: Sequence[PairedEstimate], strategy: str, baseline: str) -> str:
    """Where ``strategy`` is resolved better, worse, or not, than ``baseline``, per metric."""
    parts = []
    for metric, name in zip(METRICS, ("accuracy", "early stopping")):
        mine = [e for e in found if (e.strategy, e.baseline, e.metric) == (strategy, baseline, metric)]
        groups = {v: [_pct(e) for e in mine if _verdict(e) == v] for v in ("higher", "lower", "unresolved")}
        said = [f"{WORDS[metric, v]} at {', '.join(groups[v])}" for v in ("higher", "lower") if groups[v]]
        if groups["unresolved"]:
            said.append(f"not resolved at {', '.join(groups['unresolved'])}")
        if said:
            parts.append(f"{name}: " + ", ".join(said))
    joined = "; ".join(parts)
    return f"The {NAMES[strategy]} compared with the {NAMES[baseline]}, {joined}."


def _differing_digits(a: Mapping, b: Mapping) -> int | None:
    if not a.get("test_correct") or not b.get("test_correct"):
        return None
    return int((unpack_bits(a["test_correct"]) != unpack_bits(b["test_correct"])).sum())


def tie_sentence(source: Source, comparisons: Sequence[tuple[str, str]], rounds: Sequence[int],
                 eval_every: int, weights: Weights | None = None) -> str:
    """Every comparison whose paired difference is exactly zero on every seed, and why: the same
    networks (identical trained weights, read through ``weights(seed, round, strategy)``), or
    different networks that happen to tie (``eval_every``: the evaluation grid of early stopping)."""
    records = {(r["strategy"], r["seed"], r["round"]): r for r in records_of(source)}
    notes = []
    for strategy, baseline in comparisons:
        for round_ in rounds:
            for metric in METRICS:
                seeds = sorted(s for (st, s, n) in records if st == strategy and n == round_
                               and (baseline, s, n) in records)
                pairs = [(records[strategy, s, round_], records[baseline, s, round_]) for s in seeds]
                if len(pairs) < 2 or any(float(a[metric]) != float(b[metric]) for a, b in pairs):
                    continue
                differ = [d for d in (_differing_digits(a, b) for a, b in pairs) if d is not None]
                same = weights is not None and all(
                    all(torch.equal(x, y) for x, y in zip(weights(s, round_, strategy).values(),
                                                           weights(s, round_, baseline).values())) for s in seeds)
                what = "the early-stopping iteration" if metric == "early_stop_iteration" else "test accuracy"
                if same:
                    why = "the two are **identical networks** (the same trained weights in every seed)"
                elif differ and np.mean(differ) > 0:
                    why = (f"they are different networks, right on different test digits ({np.mean(differ):,.0f} "
                           "digits per seed on average)")
                else:
                    why = "they get exactly the same test digits right in every seed" + (
                        ", although their trained weights differ" if weights is not None else "")
                grid = (f" Early stopping is read off evaluations every {eval_every} iterations, so two networks "
                        "stopping at the same evaluation is plausible." if metric == "early_stop_iteration" else "")
                notes.append(f"* {NAMES[strategy]} minus {NAMES[baseline]} at {100 * pairs[0][0]['density']:.1f}%, "
                             f"{what}: exactly 0 in all {len(pairs)} seeds; {why}.{grid}")
    return ("Paired differences that are exactly zero on every seed (a bar of zero width):\n\n" + "\n".join(notes)
            if notes else "No paired difference shown here is exactly zero on every seed.")


def signal_sentence(signal: Mapping[str, Mapping[str, float]], dense: Mapping[str, float], label: str) -> str:
    """At initialization: each network's output-layer signal relative to the dense network's, and
    which of them shrink layer after layer (``signal``: strategy -> :func:`~lth_helpers.scaling.activation_scales`)."""
    ratio = {s: v["fc3"] / dense["fc3"] for s, v in signal.items()}
    shrinking = [NAMES[s] for s, v in signal.items() if v["fc1"] > v["fc2"] > v["fc3"]]
    return (f"{label}: output-layer signal relative to the dense network's: "
            + ", ".join(f"{NAMES[s]} {r:.2f}x" for s, r in ratio.items())
            + ". Shrinking at every layer: " + (", ".join(shrinking) or "none") + ".")


def init_scale_sentence(rows: Sequence[Mapping], round_: int, label: str) -> str:
    """Per layer at ``round_``: the ticket's theta_0 RMS against the dense std (1) and against the
    sub-network's Glorot std, over seeds (``rows``: :func:`~lth_helpers.scaling.init_scale_rows` with ``seed``)."""
    parts, above, below = [], [], []
    for layer in sorted({r["layer"] for r in rows}):
        pick = [r for r in rows if r["round"] == round_ and r["layer"] == layer]
        vs_dense = interval([r["ticket_ratio"] for r in pick], 1.0, "x")
        vs_subnet = interval([r["ticket_ratio"] / r["subnet_ratio"] for r in pick], 1.0, "x")
        above.append(vs_dense[0] == "higher")
        below.append(vs_subnet[0] == "lower")
        parts.append(f"{layer}: {vs_dense[1]} the dense std, {vs_subnet[1]} the sub-network's Glorot std")
    n = len(above)
    return (f"{label}, the ticket's theta_0 (RMS, mean [95% interval over seeds]): " + "; ".join(parts)
            + f". Resolved above the dense std in {sum(above)}/{n} layers, and below the sub-network's Glorot std "
            f"in {sum(below)}/{n} layers.")


def scale_conclusion(found: Sequence[PairedEstimate]) -> str:
    """What the intervals allow one to conclude about scale: does a fresh init at either larger
    scale (``fan_corrected``, ``ticket_scale``) reproduce the ticket's accuracy at the checkpoints?"""
    said = []
    for control in SCALE_CONTROLS[1:]:
        mine = [e for e in found if (e.strategy, e.baseline, e.metric) == ("original", control, METRICS[0])]
        groups = {v: [_pct(e) for e in mine if _verdict(e) == v] for v in ("higher", "lower", "unresolved")}
        if mine and len(groups["higher"]) == len(mine):
            said.append(f"a fresh init at {STDS[control]} is **less accurate than the ticket at every checkpoint** "
                        f"({', '.join(groups['higher'])})")
        else:
            where = {v: ", ".join(groups[v]) or "none" for v in groups}
            said.append(f"a fresh init at {STDS[control]} is resolved less accurate than the ticket at "
                        f"{where['higher']}, more accurate at {where['lower']}, "
                        f"and not resolved at {where['unresolved']}")
    text = "Scale, as tested here: " + "; ".join(said) + "."
    beaten = all(_verdict(e) == "higher" for e in found if e.strategy == "original" and e.metric == METRICS[0]
                 and e.baseline in SCALE_CONTROLS[1:])
    if beaten and any(e.strategy == "original" for e in found):
        text += (" Neither of the two scales tested reproduces the ticket: at these checkpoints it carries something "
                 "beyond its per-layer scale (which weights are large, their signs, where they sit, the shape of "
                 "their distribution). Scales not tested here (per unit, or the ticket's own values rescaled) "
                 "remain open.")
    else:
        text += " So at the checkpoints listed as not resolved (or reversed), scale alone is not ruled out by this run."
    return text


def _combine(found: Sequence[PairedEstimate], expected: Mapping[str, str]) -> str:
    verdicts = [_verdict(e) for e in found]
    if any(v not in ("unresolved", expected[e.metric]) for v, e in zip(verdicts, found)):
        return FAILS
    return HOLDS if found and all(v == expected[e.metric] for v, e in zip(verdicts, found)) else UNRESOLVED


def _here(found: Sequence[PairedEstimate]) -> str:
    short = {"test_acc_at_early_stop": "accuracy", "early_stop_iteration": "early stop"}
    return "; ".join(f"{_pct(e)} {short[e.metric]} {e.text()}" for e in found)


def ticket_beats_any_std(source: Source, rounds: Sequence[int]) -> list[Claim]:
    """App. G.5 ("the pattern holds for any Gaussian init std"), asked of this run's three stds:
    the ticket is more accurate and stops earlier than a fresh Gaussian init of each std on its mask."""
    claims = []
    for control in SCALE_CONTROLS:
        found = estimates(source, [("original", control)], rounds)
        claims.append(Claim("App. G.5", "Tickets beat a random reinitialization whatever the Gaussian std; here: the "
                            f"ticket vs. a fresh init on its mask at {STDS[control]}, more accurate and earlier",
                            _here(found),
                            _combine(found, {"test_acc_at_early_stop": "higher", "early_stop_iteration": "lower"})))
    return claims


def control_beats_reinit(source: Source, control: str, rounds: Sequence[int]) -> Claim:
    """The scaling argument's prediction: a larger, better-matched scale makes the control more
    accurate (and faster) than plain reinit. Not the paper's claim: what the scaling argument predicts."""
    found = estimates(source, [(control, "reinit")], rounds)
    return Claim("scaling argument", f"A fresh init on the ticket's mask at {STDS[control]} is more accurate and stops earlier "
                 "than random reinit (the scaling argument's prediction)",
                 _here(found), _combine(found, {"test_acc_at_early_stop": "higher", "early_stop_iteration": "lower"}))
