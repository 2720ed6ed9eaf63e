"""Paper vs. this run: the comparison tables that close the notebooks, filled in from the run.

Each function takes what a notebook computed and returns a Markdown table whose right-hand
column quotes this run's own numbers, so that the text never goes stale when the size, the
data or a seed changes. The left-hand column cites the paper (Frankle & Carbin 2019, arXiv v5).
"""

from __future__ import annotations

from typing import Sequence

from .data import MNISTData
from .history import History
from .retraining import RetrainResult

__all__ = ["pruning_basics_table"]


def _nearest(records: Sequence[dict], method: str, density: float) -> dict:
    rows = [r for r in records if r["method"] == method]
    if not rows:
        raise ValueError(f"no sweep records for method {method!r}")
    return min(rows, key=lambda r: abs(r["density"] - density))


def pruning_basics_table(history: History, records: Sequence[dict], retrain: RetrainResult,
                         data: MNISTData, compare_density: float = 0.07) -> str:
    """Notebook 1's "paper vs. this notebook" table as Markdown, filled in from this run.

    Args:
        history: the dense network's training history.
        records: the no-retraining sweep (must include ``layerwise`` and ``global``).
        retrain: the retraining experiment.
        data: the data the run used (for its size).
        compare_density: where to compare layer-wise and global pruning without retraining.
    """
    pct = lambda v: f"{100 * v:.1f}%"  # noqa: E731
    dense = history.test_acc_at_early_stop
    lowest = min(retrain.densities)
    fine = retrain.select("fine_tune", lowest)[0]
    fresh = "; ".join(
        f"{pct(d)}: {pct(retrain.mean('reinit', d))} vs. {pct(retrain.mean('fine_tune', d))}" for d in retrain.densities)
    ticket = "; ".join(
        f"{pct(d)}: {pct(retrain.mean('ticket', d))} at it. {retrain.mean('ticket', d, 'early_stop_iteration'):,.0f} "
        f"(fresh init: it. {retrain.mean('reinit', d, 'early_stop_iteration'):,.0f})" for d in retrain.densities)
    ticket += f"; dense: {pct(dense)} at it. {history.early_stop_iteration:,}"
    lw, gl = _nearest(records, "layerwise", compare_density), _nearest(records, "global", compare_density)
    rows = [
        ("Dense LeNet-300-100, test accuracy at early stopping",
         "about 98% (Fig. 3; 55,000 training digits, 50,000 iterations)",
         f"{pct(dense)} (iteration {history.early_stop_iteration:,} of {history.iterations[-1]:,}; "
         f"{len(data.train_y):,} training digits)"),
        ("Pruning, then retraining the survivors",
         "over 90% of the weights removed without losing accuracy (Section 1); LeNet-300-100 at about "
         "1/12 of its weights (Han et al. 2015)",
         f"at {pct(lowest)} of the weights: {pct(fine['start_test_acc'])} right after pruning, "
         f"{pct(fine['test_acc_at_early_stop'])} after {fine['iterations']:,} iterations of fine-tuning "
         f"(dense: {pct(dense)})"),
        ("The pruned architecture trained from a fresh random initialization",
         "learns slower and ends less accurate than the original network (Section 1, Fig. 1); reinitialized "
         "tickets fall behind from about 21.1% remaining (Fig. 4)",
         f"fresh init vs. fine-tuned, test accuracy at early stopping: {fresh}"),
        ("The same architecture reset to the original initialization (a one-shot ticket)",
         "one-shot tickets more accurate than the dense network for 95.0% \u2265 P<sub>m</sub> \u2265 5.17% "
         "and faster for 67.5% \u2265 P<sub>m</sub> \u2265 17.6% (Section 2, Fig. 4c)",
         f"{ticket}"),
        ("Layer-wise vs. global magnitude pruning",
         "layer-wise for LeNet; global for VGG-19 and ResNet-18, where layer-wise pruning makes the small "
         "layers bottlenecks (Section 4)",
         f"no retraining, at {pct(lw['density'])}: layer-wise {pct(lw['test_acc'])}, global "
         f"{pct(gl['test_acc'])}; global leaves fc1 {pct(gl['layer_density']['fc1'])}, fc2 "
         f"{pct(gl['layer_density']['fc2'])}, fc3 {pct(gl['layer_density']['fc3'])}"),
    ]
    lines = ["| | paper (LeNet-300-100, MNIST) | this notebook (this run) |", "|---|---|---|"]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in rows]
    return "\n".join(lines)
