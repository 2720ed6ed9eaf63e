"""Tests of the IMP summaries, figures and round scrubber, on a tiny real IMP run."""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pytest
from matplotlib.figure import Figure

from lth_helpers.comparisons import paired_differences, round_view
from lth_helpers.imp import make_config, run_imp, run_one_shot
from lth_helpers.plots.curves import plot_learning_curves, plot_round, plot_strategy_curves, shared_ylim
from lth_helpers.plots.imp import plot_imp_overview, plot_one_shot_vs_iterative, plot_vs_density
from lth_helpers.plots.style import density_ticks
from lth_helpers.results import mean_curve, records_of, round_curve, stats_at, summarize_records
from lth_helpers.strategies import STRATEGIES
from lth_helpers.tables import round_text, summary_table
from lth_helpers.widgets.rounds import round_scrubber

SEEDS = (0, 1)


@pytest.fixture(scope="module")
def data(mnist):
    return mnist  # the offline digits, loaded once by conftest


@pytest.fixture(scope="module")
def run(tmp_path_factory, data):
    """Two seeds, every strategy, two pruning rounds of 30 iterations each."""
    config = make_config("quick", STRATEGIES, SEEDS, iterations=30, eval_every=15, rounds=2)
    return run_imp(config, data, tmp_path_factory.mktemp("runs"), progress=False, verbose=False)


@pytest.fixture(scope="module")
def one_shot(run, data):
    return run_one_shot(run.config, [2], data, run.store.directory.parent, progress=False, verbose=False)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


# ------------------------------------------------------------------------------ aggregation


def test_summary_matches_the_records_by_hand(run):
    series = summarize_records(run, "test_acc_at_early_stop")
    assert list(series) == list(STRATEGIES)
    ticket = series["original"]
    assert ticket.rounds == (0, 1, 2)
    for i, round_ in enumerate(ticket.rounds):
        values = [r["test_acc_at_early_stop"] for r in run.select(strategy="original", round_=round_)]
        assert len(values) == len(SEEDS) == ticket.n[i]
        assert ticket.mean[i] == pytest.approx(sum(values) / len(values))
        assert ticket.low[i] == min(values) and ticket.high[i] == max(values)
        assert ticket.low[i] <= ticket.mean[i] <= ticket.high[i]
    # Densities follow the paper's schedule: 20% / 20% / 10% of what remains, per round.
    assert ticket.density[0] == 1.0
    assert ticket.density[1] == pytest.approx((265_200 * 0.8 + 1_000 * 0.9) / 266_200, abs=1e-4)
    assert ticket.percent[2] == pytest.approx(100 * ticket.density[2])


def test_controls_start_from_the_dense_network(run):
    with_dense = summarize_records(run, "early_stop_iteration", ["reinit"])["reinit"]
    without = summarize_records(run, "early_stop_iteration", ["reinit"], include_dense=False)["reinit"]
    assert with_dense.rounds == (0, 1, 2) and without.rounds == (1, 2)
    dense = [r["early_stop_iteration"] for r in run.select(strategy="original", round_=0)]
    assert with_dense.mean[0] == pytest.approx(sum(dense) / len(dense))
    assert with_dense.mean[1:] == without.mean


def test_stats_at_and_its_errors(run):
    s = stats_at(run, "random_mask", 2, "final_test_acc")
    values = [r["final_test_acc"] for r in run.select(strategy="random_mask", round_=2)]
    assert s["mean"] == pytest.approx(sum(values) / 2) and s["n"] == 2
    assert s["density"] == run.select(strategy="original", round_=2)[0]["density"]
    with pytest.raises(ValueError, match="round 5"):
        stats_at(run, "original", 5)
    with pytest.raises(ValueError, match="unknown metric 'accuracy'"):
        summarize_records(run, "accuracy")
    with pytest.raises(ValueError, match="no records for strategy 'one_shot'"):
        summarize_records(run, strategies=["one_shot"])


def test_paired_differences_pair_each_seed_with_its_own_control(run):
    pairs = paired_differences(run, "original", "reinit", "test_acc_at_early_stop", rounds=[2])
    assert [(p["round"], p["seed"]) for p in pairs] == [(2, s) for s in SEEDS]
    for p in pairs:
        ticket = run.select(strategy="original", seed=p["seed"], round_=2)[0]["test_acc_at_early_stop"]
        control = run.select(strategy="reinit", seed=p["seed"], round_=2)[0]["test_acc_at_early_stop"]
        assert (p["value"], p["baseline_value"]) == (ticket, control)
        assert p["difference"] == pytest.approx(ticket - control)
    # By default every sparse round; round 0 (every strategy is the dense network) only when asked.
    assert {p["round"] for p in paired_differences(run)} == {1, 2}
    assert all(p["difference"] == 0 for p in paired_differences(run, "original", "reinit", rounds=[0]))
    with pytest.raises(ValueError, match=r"round\(s\) \[9\]"):
        paired_differences(run, rounds=[9])


def test_summary_table_lists_what_the_series_say(run):
    table = summary_table(run, ["original", "reinit"], rounds=[0, 2])
    lines = table.splitlines()
    assert "weights left" in lines[0] and "test acc @ES" in lines[0] and "final test acc" in lines[0]
    lines = [line for line in lines if not line.startswith("!")]  # the footnote on networks cut short
    rows = [line.split() for line in lines[2:]]
    assert [(r[0], r[1]) for r in rows] == [("original", "0"), ("original", "2"), ("reinit", "0"), ("reinit", "2")]
    acc = stats_at(run, "reinit", 2)
    cut_short = rows[-1][-1] if rows[-1][-1] != "!" else rows[-1][-2]
    assert f"{100 * acc['mean']:.2f}%" in lines[-1] and rows[-1][-3 if rows[-1][-1] == "!" else -2] == str(len(SEEDS))
    assert cut_short.isdigit()
    # Without the dense network as every strategy's round 0 (what the command line prints).
    rows = [line.split()[:2] for line in summary_table(run, ["reinit"], include_dense=False).splitlines()[2:]
            if not line.startswith("!")]
    assert rows == [["reinit", "1"], ["reinit", "2"]]


def test_records_of_counts_the_shared_dense_network_once(run, one_shot):
    combined = records_of(list(run.records) + list(one_shot.records))
    keys = [(r["strategy"], r["seed"], r["round"]) for r in combined]
    assert len(keys) == len(set(keys))
    assert sum(1 for k in keys if k[0] == "original" and k[2] == 0) == len(SEEDS)
    assert {k[2] for k in keys if k[0] == "one_shot"} == {2}
    # One-shot to round 2's density prunes 1 - 0.8^2 of each hidden layer at once: the same
    # number of weights as two iterative rounds, so the densities agree.
    shot = one_shot.select(strategy="one_shot", seed=0, round_=2)[0]
    assert shot["density"] == pytest.approx(run.select(strategy="original", seed=0, round_=2)[0]["density"], abs=1e-5)


def test_mean_curve_averages_histories_point_by_point(run):
    histories = [run.history("original", s, 1) for s in SEEDS]
    curve = mean_curve(histories, "test_acc")
    assert curve.iterations == (15, 30) and curve.n == 2
    for i in range(2):
        values = [h.test_acc[i] for h in histories]
        assert curve.mean[i] == pytest.approx(sum(values) / 2)
        assert (curve.low[i], curve.high[i]) == (min(values), max(values))
    assert round_curve(run, "original", 1) == curve
    with pytest.raises(ValueError, match="unknown metric"):
        mean_curve(histories, "accuracy")
    with pytest.raises(ValueError, match="at least one"):
        mean_curve([], "test_acc")


def test_density_ticks_use_the_papers_checkpoints_within_range():
    assert density_ticks([100, 80.0, 51.3, 21.1, 3.6, 2.9]) == [100, 51.3, 21.1, 7.0, 3.6, 2.9]
    # Too narrow a range for the paper's checkpoints: the data's own densities.
    assert density_ticks([100, 80.0, 64.1]) == [100, 80.0, 64.1]


# ------------------------------------------------------------------------------- the scrubber


def test_round_view_reports_what_the_records_say(run):
    view = round_view(run, 2, ["original", "reinit"])
    ticket = run.select(strategy="original", round_=2)
    assert view.round == 2 and view.density == ticket[0]["density"]
    es = [r["early_stop_iteration"] for r in ticket]
    assert view.stats["original"]["early_stop"]["mean"] == pytest.approx(sum(es) / len(es))
    assert view.stats["original"]["early_stop"]["low"] == min(es)
    acc = [r["test_acc_at_early_stop"] for r in run.select(strategy="reinit", round_=2)]
    assert view.stats["reinit"]["accuracy"]["high"] == max(acc)
    # The scrubber shows validation accuracy (measured every evaluation; the test set may be sparser).
    assert view.curves["reinit"] == round_curve(run, "reinit", 2, "val_acc")
    assert view.dense_curve == round_curve(run, "original", 0, "val_acc")
    text = round_text(view)
    assert text == view.text
    assert text.startswith(f"Round 2: {100 * view.density:.1f}% of weights remaining")
    assert "winning ticket" in text and "random reinit" in text and "dense:" in text
    assert f"{100 * view.stats['original']['accuracy']['mean']:.2f}%" in text


def test_round_zero_is_the_dense_network(run):
    view = round_view(run, 0, ["original", "reinit"])
    assert view.density == 1.0
    assert view.text.startswith("Round 0: 100.0% of weights remaining | dense network:")
    assert "random reinit" not in view.text


@pytest.mark.parametrize("bad", [-1, 3, 1.5, True])
def test_round_view_rejects_rounds_outside_the_run(run, bad):
    with pytest.raises(ValueError, match=r"0\.\.2"):
        round_view(run, bad)


def test_round_view_rejects_unknown_strategies_and_metrics(run):
    with pytest.raises(ValueError, match="unknown strategy 'lottery'"):
        round_view(run, 1, ["lottery"])
    with pytest.raises(ValueError, match="unknown metric"):
        round_view(run, 1, metric="accuracy")


def test_shared_ylim_contains_every_round(run):
    low, high = shared_ylim(run)
    for n in range(3):
        curve = round_curve(run, "original", n)
        late = [i for i, it in enumerate(curve.iterations) if it >= 3]
        assert all(low <= 100 * curve.low[i] and 100 * curve.high[i] <= high for i in late)


def test_scrubber_widget_moves_with_its_slider(run):
    pytest.importorskip("ipywidgets")
    box = round_scrubber(run, ["original", "reinit"], start=1)
    slider = box.children[0].children[1]
    label = box.children[1]
    assert (slider.min, slider.max, slider.value) == (0, 2, 1)
    assert "Round 1:" in label.value
    slider.value = 2
    assert "Round 2:" in label.value and round_view(run, 2, ["original", "reinit"]).text in label.value
    with pytest.raises(ValueError):
        round_scrubber(run, start=7)


# ------------------------------------------------------------------------------------ figures


def test_plot_functions_return_figures(run, one_shot):
    figures = [
        plot_vs_density(run, "early_stop_iteration", ["original", "reinit"], show_seeds=True),
        plot_imp_overview(run, STRATEGIES, title="tiny run"),
        plot_learning_curves(run, [0, 1, 2]),
        plot_strategy_curves(run, 2, ["original", "reinit", "random_mask"]),
        plot_one_shot_vs_iterative(run, one_shot),
        plot_round(round_view(run, 1, ["original", "fan_corrected"])),
    ]
    for fig in figures:
        assert isinstance(fig, Figure)
        assert all(ax.has_data() for ax in fig.axes)
    # Accuracy is drawn in percent, and the density axis is logarithmic and decreasing.
    ax = plot_vs_density(run, "test_acc_at_early_stop").axes[0]
    assert ax.get_xscale() == "log" and ax.xaxis_inverted()
    y = ax.lines[0].get_ydata()
    assert math.isclose(y[0], 100 * summarize_records(run)["original"].mean[0])


def test_plots_draw_on_a_given_axes(run):
    fig, axes = plt.subplots(1, 2)
    assert plot_vs_density(run, ax=axes[0]) is fig
    assert plot_learning_curves(run, [0, 2], ax=axes[1]) is fig
    assert len(axes[1].lines) == 2


def test_one_shot_plot_needs_one_shot_records(run):
    with pytest.raises(ValueError, match="one-shot"):
        plot_one_shot_vs_iterative(run, run)
