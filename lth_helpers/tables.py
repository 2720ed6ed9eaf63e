"""Plain-text tables: what the notebooks and the command line print.

The numbers come from :mod:`lth_helpers.results` and :mod:`lth_helpers.comparisons`; this module
only lays them out. Names of strategies, pruning methods and retraining variants come from
:mod:`lth_helpers.plots.style`, so a table and a figure call a thing the same way.

* :func:`summary_table`: per strategy and round, the paper's numbers (mean, min-max over seeds);
* :func:`round_text`: one IMP round in one line (the round scrubber's caption);
* :func:`sweep_table` and :func:`retrain_table`: notebook 1's pruning sweep and retraining;
* :func:`average_rows` and :func:`format_rows`: any list of row dicts, averaged over seeds and printed.
"""

from __future__ import annotations

import math
from typing import Iterable, Mapping, Sequence

from .comparisons import RoundView
from .plots.style import METHOD_LABELS, RETRAIN_NAMES, STRATEGY_NAMES
from .results import Source, records_of, summarize_records
from .retraining import RETRAIN_VARIANTS, RetrainResult

__all__ = ["summary_table", "round_text", "sweep_table", "RETRAIN_METRICS", "retrain_table", "average_rows",
           "format_rows"]


def summary_table(source: Source, strategies: Sequence[str] = ("original",), rounds: Sequence[int] | None = None,
                  include_dense: bool = True) -> str:
    """Per strategy and round: % of weights left, early-stopping iteration and test accuracy there
    (mean, min-max over seeds), final test accuracy, the number of seeds, and how many of them
    reached their validation minimum in the last 10% of training ("cut short", flagged with ``!``).

    ``rounds`` picks rows (default: all); ``include_dense`` lists the dense network as round 0 of
    every strategy, as the figures draw it.
    """
    columns = ("early_stop_iteration", "test_acc_at_early_stop", "final_test_acc")
    series = {m: summarize_records(source, m, strategies, include_dense) for m in columns}
    late: dict[tuple[str, int], int] = {}
    for r in records_of(source):
        late[(r["strategy"], r["round"])] = late.get((r["strategy"], r["round"]), 0) + bool(r.get("late_minimum"))
    header = (f"{'strategy':<14}{'round':>6}{'weights left':>14}  {'early stop (min-max)':<22}"
              f"{'test acc @ES (min-max)':<26}{'final test acc':>14}{'seeds':>7}{'cut short':>11}")
    lines = [header, "-" * len(header)]
    flagged = 0
    for strategy in strategies:
        es, acc, final = (series[m][strategy] for m in columns)
        for i, round_ in enumerate(es.rounds):
            if rounds is not None and round_ not in rounds:
                continue
            cut = late.get((strategy if round_ else "original", round_), 0)
            flagged += cut
            lines.append(
                f"{strategy:<14}{round_:>6}{es.percent[i]:>13.1f}%  "
                f"{f'{es.mean[i]:,.0f} ({es.low[i]:,.0f}-{es.high[i]:,.0f})':<22}"
                f"{f'{100 * acc.mean[i]:.2f}% ({100 * acc.low[i]:.1f}-{100 * acc.high[i]:.1f})':<26}"
                f"{100 * final.mean[i]:>13.2f}%{es.n[i]:>7}{f'{cut} !' if cut else '0':>11}")
    if flagged:
        lines.append(f"! {flagged} network(s) reached their validation minimum in the last 10% of training: "
                     "their early stop and accuracy may be cut short (train longer to be sure).")
    return "\n".join(lines)


def _spread(values: Mapping[str, float], fmt: str, scale: float = 1.0, unit: str = "") -> str:
    """``mean``, followed by ``(min-max)`` over seeds when there is more than one seed."""
    text = format(scale * values["mean"], fmt) + unit
    if values["n"] > 1:
        text += f" ({format(scale * values['low'], fmt)}-{format(scale * values['high'], fmt)}{unit})"
    return text


def round_text(view: RoundView) -> str:
    """One line: the round, its % of weights left, and per strategy the early-stopping iteration
    and the test accuracy there (mean, min-max over seeds in brackets), then the dense network's."""
    parts = [f"Round {view.round}: {100 * view.density:.1f}% of weights remaining"]
    for strategy, stats in view.stats.items():
        name = "dense network" if view.round == 0 else STRATEGY_NAMES.get(strategy, strategy)
        parts.append(f"{name}: early stop at iteration {_spread(stats['early_stop'], ',.0f')}, "
                     f"test accuracy {_spread(stats['accuracy'], '.2f', 100, '%')}")
        if view.round == 0:
            break  # every strategy is the same dense network at round 0
    if view.round != 0:
        d = view.dense_stats
        parts.append(f"dense: {_spread(d['early_stop'], ',.0f')} iterations, {_spread(d['accuracy'], '.2f', 100, '%')}")
    return " | ".join(parts)


def sweep_table(records: Sequence[Mapping], densities: Sequence[float] | None = None, metric: str = "test_acc") -> str:
    """A pruning sweep (:func:`lth_helpers.sweeps.sweep`): one row per density, one column per
    method, ``metric`` in %. ``densities`` picks rows (the nearest record to each; default: all)."""
    if not records:
        raise ValueError("no records: pass the list sweep() returns")
    methods = [m for m in METHOD_LABELS if any(r["method"] == m for r in records)]
    if densities is None:
        densities = sorted({round(r["density"], 6) for r in records}, reverse=True)
    head = f"{'% weights':>9} | " + " | ".join(f"{METHOD_LABELS[m]:>33}" for m in methods)
    lines = [head, "-" * len(head)]
    for d in densities:
        cells = []
        for m in methods:
            row = min((r for r in records if r["method"] == m), key=lambda r: abs(r["density"] - d))
            cells.append(f"{100 * row[metric]:>32.1f}%")
        lines.append(f"{100 * d:>9.1f} | " + " | ".join(cells))
    return "\n".join(lines)


#: What :func:`retrain_table` can show.
RETRAIN_METRICS = ("test_acc_at_early_stop", "final_test_acc", "start_test_acc", "early_stop_iteration")


def retrain_table(result: RetrainResult, metric: str = "test_acc_at_early_stop") -> str:
    """Notebook 1's retraining experiment: one row per density, ``metric`` per variant (mean over
    draws), after the pruned network's own test accuracy before any retraining.

    ``metric`` is one of :data:`RETRAIN_METRICS`; accuracies print in %.
    """
    if metric not in RETRAIN_METRICS:
        raise ValueError(f"unknown metric {metric!r}: expected one of {RETRAIN_METRICS}")
    head = f"{'% weights':>9} | {'pruned':>7} | " + " | ".join(f"{RETRAIN_NAMES[v]:>16}" for v in RETRAIN_VARIANTS)
    lines = [head, "-" * len(head)]
    for d in result.densities:
        pruned = result.select("fine_tune", d)[0]["start_test_acc"]
        cells = []
        for variant in RETRAIN_VARIANTS:
            value = result.mean(variant, d, metric)
            cells.append(f"{value:>16,.0f}" if metric == "early_stop_iteration" else f"{100 * value:>15.1f}%")
        lines.append(f"{100 * d:>9.1f} | {100 * pruned:>6.1f}% | " + " | ".join(cells))
    return "\n".join(lines)


def average_rows(rows: Iterable[Mapping], by: Sequence[str]) -> list[dict]:
    """Average the numeric fields of ``rows`` over groups with equal ``by`` fields (e.g. over seeds).

    Each output row keeps the ``by`` fields, the mean of every field that is numeric throughout
    the group, and ``n``; other fields are dropped.
    """
    groups: dict[tuple, list[Mapping]] = {}
    for row in rows:
        groups.setdefault(tuple(row[b] for b in by), []).append(row)
    out = []
    for values, group in groups.items():
        row = dict(zip(by, values))
        for name in group[0]:
            if name in by or name == "n":
                continue
            numbers = [g.get(name) for g in group]
            if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in numbers):
                row[name] = sum(numbers) / len(numbers)
        row["n"] = len(group)
        out.append(row)
    return out


def format_rows(rows: Sequence[Mapping], columns: Mapping[str, str]) -> str:
    """A plain-text table: ``columns`` maps each field to a format spec (e.g. ``{"auc": ".3f"}``).

    Headers are the field names; missing values print as ``-``.
    """
    if not columns:
        raise ValueError("columns must name at least one field")
    cells = [list(columns)]
    for row in rows:
        line = []
        for name, spec in columns.items():
            value = row.get(name)
            missing = value is None or (isinstance(value, float) and math.isnan(value))
            line.append("-" if missing else format(value, spec))
        cells.append(line)
    widths = [max(len(c[i]) for c in cells) for i in range(len(columns))]
    lines = ["  ".join(c.rjust(w) for c, w in zip(line, widths)) for line in cells]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)
