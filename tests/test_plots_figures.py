"""Readability checks of the standard figures, on small fake inputs (no training, a few seconds).

Each figure is drawn once and checked for what a reader needs: legends that cover no data,
a legend entry for every labelled series, a colour scale for every mask image, the dense
network's reference line, a visible mark where an error bar has zero length, and a legend or
title that says what a spread over seeds is.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.collections import PolyCollection  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.image import AxesImage  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402

from lth_helpers.history import History  # noqa: E402
from lth_helpers.plots import basics as pb  # noqa: E402
from lth_helpers.plots import curves as pc  # noqa: E402
from lth_helpers.plots import imp as pi  # noqa: E402
from lth_helpers.plots import retraining as pr  # noqa: E402
from lth_helpers.plots import scaling as ps  # noqa: E402
from lth_helpers.plots import weights as pw  # noqa: E402
from lth_helpers.plots.style import DENSE_REFERENCE_LABEL, TIE_TEXT, ZERO_SPREAD_LABEL  # noqa: E402
from lth_helpers.pruning import expected_density  # noqa: E402
from lth_helpers.results import summarize_records, summary_rows  # noqa: E402

SHAPES = {"fc1": (300, 784), "fc2": (100, 300), "fc3": (10, 100)}
STRATEGIES = ("original", "reinit", "fan_corrected", "random_mask")
SEEDS = (0, 1, 2)
ROUNDS = 6


# ------------------------------------------------------------------------------ fake inputs


def fake_history(n: int = 40, every: int = 50, stop: int = 950) -> History:
    """A dense run of ``n`` evaluations whose validation loss is lowest at iteration ``stop``."""
    h = History()
    for i in range(1, n + 1):
        it = i * every
        val_loss = 0.1 + 0.2 * abs(it - stop) / (n * every) + (0.3 / i if it < stop else 0.0)
        acc = 0.96 - 0.3 / i
        h.append(it, 0.7 * 0.85 ** i, (val_loss, acc + 0.002), (val_loss + 0.01, acc))
    return h


def fake_records(strategies=STRATEGIES, seeds=SEEDS, rounds=ROUNDS, tie_round: int | None = 3) -> list[dict]:
    """IMP records: the dense network (round 0, 'original') and every strategy's sparse rounds.

    At ``tie_round`` every seed of 'fan_corrected' and 'reinit' has the same values (a zero-length
    bar, and a tie of the paired difference)."""
    rng = np.random.default_rng(0)
    records = []
    for seed in seeds:
        records.append(dict(strategy="original", seed=seed, round=0, density=1.0, early_stop_iteration=700,
                            test_acc_at_early_stop=0.952 + 0.002 * seed, val_acc_at_early_stop=0.95,
                            final_test_acc=0.958))
        for k, strategy in enumerate(strategies):
            for n in range(1, rounds + 1):
                tie = n == tie_round and strategy in ("fan_corrected", "reinit")
                acc = 0.95 if tie else 0.955 - 0.003 * k * n / rounds + 0.003 * rng.standard_normal()
                records.append(dict(strategy=strategy, seed=seed, round=n, density=expected_density(n),
                                    early_stop_iteration=int(500 + 100 * k + (0 if tie else 50 * rng.integers(0, 4))),
                                    test_acc_at_early_stop=acc, val_acc_at_early_stop=acc,
                                    final_test_acc=acc + 0.001))
    return records


def fake_weights(seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return {name: torch.randn(shape, generator=g) * (2.0 / sum(shape)) ** 0.5 for name, shape in SHAPES.items()}


def fake_masks(density: float, seed: int = 1) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return {name: torch.rand(shape, generator=g) < density for name, shape in SHAPES.items()}


@dataclass
class FakeRetraining:
    """What the retraining figures read: two fresh-init draws, one network of each other variant."""

    method: str = "layerwise"
    densities: list[float] = field(default_factory=lambda: [0.211, 0.07, 0.036])
    records: list[dict] = field(default_factory=list)
    histories: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        for d in self.densities:
            for variant, draws in (("fine_tune", 1), ("reinit", 2), ("ticket", 1)):
                for draw in range(draws):
                    h = fake_history(20, 100)
                    self.histories[(variant, d, draw)] = h
                    self.records.append(dict(variant=variant, density=d, draw=draw, start_test_acc=0.1,
                                             test_acc_at_early_stop=h.test_acc_at_early_stop - 0.004 * draw,
                                             final_test_acc=h.final_test_acc - 0.004 * draw))

    def select(self, variant=None, density=None):
        return [r for r in self.records if (variant is None or r["variant"] == variant)
                and (density is None or abs(r["density"] - density) < 1e-9)]

    def spread(self, variant, density, key="test_acc_at_early_stop"):
        values = [r[key] for r in self.select(variant, density)]
        return sum(values) / len(values), min(values), max(values)


def survival_rows(shift: float) -> list[dict]:
    return [{"layer": name, "criterion": c, "auc": 0.5 + 0.1 * i + shift, "precision": 0.5, "chance": 0.2}
            for name in SHAPES for i, c in enumerate(("final magnitude", "magnitude increase", "movement"))]


# --------------------------------------------------------------------------------- helpers


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def legend_texts(fig: Figure) -> set[str]:
    """Every entry of every legend of ``fig`` (figure-level and per axes)."""
    legends = list(fig.legends) + [ax.get_legend() for ax in fig.axes if ax.get_legend() is not None]
    return {t.get_text() for legend in legends for t in legend.get_texts()}


def legend_titles(fig: Figure) -> list[str]:
    legends = list(fig.legends) + [ax.get_legend() for ax in fig.axes if ax.get_legend() is not None]
    return [legend.get_title().get_text() for legend in legends]


def assert_labelled_series_in_legends(fig: Figure) -> None:
    shown = legend_texts(fig)
    for ax in fig.axes:
        for line in ax.lines:
            label = line.get_label()
            if label and not label.startswith("_"):
                assert label in shown, f"{label!r} is drawn but in no legend"


def legend_extents(fig: Figure):
    fig.canvas.draw()
    legends = list(fig.legends) + [ax.get_legend() for ax in fig.axes if ax.get_legend() is not None]
    return [legend.get_window_extent() for legend in legends]


def data_extents(ax, kinds=(Rectangle,)):
    """Window extents of the bars/histogram patches of ``ax`` that have a height."""
    out = []
    for patch in ax.patches:
        if isinstance(patch, kinds) and abs(patch.get_height()) > 0 and patch.get_visible():
            out.append(patch.get_window_extent())
    return out


def assert_no_legend_over_patches(fig: Figure) -> None:
    legends = legend_extents(fig)
    assert legends, "the figure has no legend"
    for ax in fig.axes:
        for box in data_extents(ax):
            for legend in legends:
                assert not legend.overlaps(box), f"a legend covers a bar of {ax.get_title()!r}"


# ------------------------------------------------------------------------------ notebook 1


def test_dense_training_legend_and_early_stop_note_do_not_overlap():
    fig = pb.plot_dense_training(fake_history())
    ax_acc = fig.axes[1]
    [note] = [t for t in ax_acc.texts if "early stopping" in t.get_text()]
    assert "it. 950" in note.get_text()
    legends = legend_extents(fig)
    note_box = note.get_window_extent()
    axes_box = ax_acc.get_window_extent()
    assert all(not legend.overlaps(note_box) for legend in legends)
    # The note lies inside its panel, and the legends outside every panel.
    assert axes_box.x0 <= note_box.x0 and note_box.x1 <= axes_box.x1 and note_box.y1 <= axes_box.y1
    for legend in legends:
        assert not any(legend.overlaps(ax.get_window_extent()) for ax in fig.axes)
    assert_labelled_series_in_legends(fig)


@pytest.mark.parametrize("stop", [100, 1900])
def test_early_stop_note_stays_inside_the_panel_wherever_the_stop_is(stop):
    fig = pb.plot_dense_training(fake_history(stop=stop))
    fig.canvas.draw()
    ax_acc = fig.axes[1]
    [note] = [t for t in ax_acc.texts if "early stopping" in t.get_text()]
    box, axes_box = note.get_window_extent(), ax_acc.get_window_extent()
    assert axes_box.x0 <= box.x0 and box.x1 <= axes_box.x1


def test_weight_histograms_have_one_figure_legend_that_covers_no_bar():
    weights = fake_weights()
    thresholds = {"layer-wise, 21.1%": {n: 0.5 * float(w.abs().median()) for n, w in weights.items()},
                  "global, 21.1%": {n: 0.03 for n in weights}}
    fig = pb.plot_weight_histograms(weights, thresholds, init_weights=fake_weights(1))
    assert len(fig.legends) == 1 and all(ax.get_legend() is None for ax in fig.axes)
    assert_no_legend_over_patches(fig)
    assert_labelled_series_in_legends(fig)


def test_retraining_curves_list_every_draw():
    result = FakeRetraining()
    fig = pr.plot_retraining_curves(result)
    shown = legend_texts(fig)
    assert any(t.endswith("draw 1") for t in shown) and any(t.endswith("draw 2") for t in shown)
    assert_labelled_series_in_legends(fig)
    # Every line drawn has a label of its own (none hides as '_...').
    for ax in fig.axes:
        assert all(not line.get_label().startswith("_") for line in ax.lines)
    # The legend is below the panels, covering no curve.
    for legend in legend_extents(fig):
        assert not any(legend.overlaps(ax.get_window_extent()) for ax in fig.axes)


def test_retraining_legend_says_what_the_bars_are():
    fig = pr.plot_retraining(FakeRetraining(), dense_acc=0.96)
    assert any("min\u2013max over 2 draws" in t for t in legend_titles(fig))
    assert_labelled_series_in_legends(fig)
    _, ax = plt.subplots()
    fig = pr.plot_retraining(FakeRetraining(), ax=ax)
    assert "min\u2013max over 2 draws" in ax.get_legend().get_title().get_text()


def test_mask_images_have_a_labelled_colorbar():
    masks = {"layer-wise, 21.1%": fake_masks(0.211)["fc1"], "global, 3.6%": fake_masks(0.036)["fc1"]}
    fig = pb.plot_pixel_survival(masks, torch.rand(784))
    images = [im for ax in fig.axes for im in ax.images]
    assert len(images) == 3
    for im in images:
        assert im.colorbar is not None and im.colorbar.ax.get_ylabel(), "an image without a labelled colour scale"

    fig = pb.plot_unit_masks(fake_weights()["fc1"], fake_masks(0.05)["fc1"], units=range(12), ncols=6)
    images = [im for ax in fig.axes for im in ax.images if isinstance(im, AxesImage)]
    bars = [im.colorbar for im in images if im.colorbar is not None]
    assert len(images) == 12 and len(bars) == 1 and "weight" in bars[0].ax.get_ylabel()
    # One scale for all units: the colorbar's limits are every image's.
    assert all(im.get_clim() == bars[0].mappable.get_clim() for im in images)


# ------------------------------------------------------------------------------ notebook 2


def test_imp_overview_accuracy_panel_has_the_dense_reference_line():
    records = fake_records()
    fig = pi.plot_imp_overview(records, ["original", "reinit"], show_seeds=True)
    ax_es, ax_acc = fig.axes
    [dense] = [line for line in ax_acc.lines if line.get_label() == DENSE_REFERENCE_LABEL]
    expected = 100 * np.mean([r["test_acc_at_early_stop"] for r in records if r["round"] == 0])
    assert np.allclose(dense.get_ydata(), expected) and dense.get_linestyle() == "--"
    assert not any(line.get_label() == DENSE_REFERENCE_LABEL for line in ax_es.lines)
    assert DENSE_REFERENCE_LABEL in legend_texts(fig)
    assert_labelled_series_in_legends(fig)
    # The spread is named in each panel's legend: error bars (3 seeds) over 3 seeds.
    assert all("min\u2013max over 3 seeds" in title for title in legend_titles(fig))


def test_few_seeds_draw_offset_error_bars_and_many_seeds_a_light_band():
    records = fake_records(tie_round=None)
    fig = pi.plot_vs_density(records, "test_acc_at_early_stop", ["original", "reinit"])
    ax = fig.axes[0]
    assert not any(isinstance(c, PolyCollection) for c in ax.collections)  # no filled band
    first, second = (line for line in ax.lines if not line.get_label().startswith("_"))
    ratios = [b / a for a, b in zip(first.get_xdata(), second.get_xdata())]
    assert ratios == pytest.approx([pi.X_OFFSET] * len(ratios))  # nudged apart along x
    # The means are drawn at their values; only x moves.
    assert math.isclose(first.get_ydata()[0], 100 * summarize_records(records)["original"].mean[0])

    many = fake_records(seeds=tuple(range(7)), tie_round=None)
    fig = pi.plot_vs_density(many, "test_acc_at_early_stop", ["original", "reinit"])
    ax = fig.axes[0]
    bands = [c for c in ax.collections if isinstance(c, PolyCollection)]
    assert len(bands) == 2 and all(c.get_alpha() <= 0.15 for c in bands)
    assert legend_titles(fig) == ["line: mean; band: min\u2013max over 7 seeds"]
    # On its own figure the legend sits below the panel; on a given axes, in it.
    assert len(fig.legends) == 1 and ax.get_legend() is None
    for legend in legend_extents(fig):
        assert not legend.overlaps(ax.get_window_extent())
    _, given = plt.subplots()
    pi.plot_vs_density(many, "test_acc_at_early_stop", ["original"], ax=given)
    assert "over 7 seeds" in given.get_legend().get_title().get_text()


def test_zero_length_bars_are_marked():
    fig = pi.plot_vs_density(fake_records(), "test_acc_at_early_stop", ["original", "fan_corrected"])
    assert ZERO_SPREAD_LABEL in legend_texts(fig)


def test_learning_curve_legends_say_what_the_band_is():
    from lth_helpers.results import Curve

    curve = Curve(iterations=(10, 20, 30), mean=(0.9, 0.95, 0.96), low=(0.88, 0.94, 0.95), high=(0.91, 0.96, 0.97),
                  n=3)
    fig, ax = plt.subplots(layout="constrained")
    pc.draw_curve(ax, curve, 100, "black", "dense")
    pc._finish(ax, "test_acc", (80, 100), "title", curve.n, title="weights remaining")
    assert "band: min\u2013max over 3 seeds" in ax.get_legend().get_title().get_text()


# ------------------------------------------------------------------------------ notebook 4


def test_survival_prediction_legend_uses_the_empty_slot():
    panels = {f"panel {i}": survival_rows(0.02 * i) for i in range(5)}  # a 2 x 3 grid with one slot free
    fig = pw.plot_survival_prediction(panels, "auc", ncols=3)
    drawn = [ax for ax in fig.axes if ax.patches]
    assert len(drawn) == 5 and len(fig.axes) == 6  # the sixth axes holds only the legend
    [slot] = [ax for ax in fig.axes if not ax.patches]
    assert slot.get_legend() is not None and not slot.axison
    assert_no_legend_over_patches(fig)

    full = pw.plot_survival_prediction({f"panel {i}": survival_rows(0.0) for i in range(3)}, "auc", ncols=3)
    assert len(full.legends) == 1 and len(full.axes) == 3
    assert_no_legend_over_patches(full)


def test_weight_changes_legend_is_outside_the_panels():
    theta0, final = fake_weights(0), fake_weights(1)
    fig = pw.plot_weight_changes(theta0, final, {"21.1% ticket": fake_masks(0.211)}, "movement")
    assert len(fig.legends) == 1 and all(ax.get_legend() is None for ax in fig.axes)
    assert_no_legend_over_patches(fig)
    assert_labelled_series_in_legends(fig)


# ------------------------------------------------------------------------------ notebook 5


def test_paired_differences_mark_a_tie_on_every_seed():
    fig = ps.plot_paired_differences(fake_records(), baseline="reinit", strategies=("original", "fan_corrected"))
    ax = fig.axes[0]
    ties = [t for t in ax.texts if t.get_text() == TIE_TEXT]
    assert len(ties) == 1 and ties[0].xy[1] == 0
    [tick] = [line for line in ax.lines if line.get_label() == ZERO_SPREAD_LABEL]
    assert tick.get_marker() == "_" and tick.get_color() == "black"
    assert ZERO_SPREAD_LABEL in legend_texts(fig)
    assert any("min\u2013max over 3 seeds" in t for t in legend_titles(fig))
    assert_labelled_series_in_legends(fig)


def test_strategy_comparison_marks_zero_length_bars_and_names_the_spread():
    records = fake_records()
    summary = summary_rows(records)
    fig = ps.plot_strategy_comparison(summary, dense={"test_acc_at_early_stop": 0.95, "early_stop_iteration": 700})
    assert ZERO_SPREAD_LABEL in legend_texts(fig)
    assert any("min\u2013max over 3 seeds" in t for t in legend_titles(fig))
    assert_labelled_series_in_legends(fig)
    for legend in legend_extents(fig):
        assert not any(legend.overlaps(ax.get_window_extent()) for ax in fig.axes)


def test_every_labelled_line_is_in_a_legend_across_figures():
    records = fake_records()
    figures = [
        pb.plot_dense_training(fake_history()),
        pi.plot_imp_overview(records, list(STRATEGIES[:3]),
                             metrics=("early_stop_iteration", "test_acc_at_early_stop", "final_test_acc")),
        pi.plot_one_shot_vs_iterative(records, [dict(r, strategy="one_shot") for r in records
                                                if r["strategy"] == "reinit"]),
        pr.plot_retraining_curves(FakeRetraining()),
    ]
    for fig in figures:
        assert_labelled_series_in_legends(fig)
    assert all(isinstance(line, Line2D) for fig in figures for ax in fig.axes for line in ax.lines)
