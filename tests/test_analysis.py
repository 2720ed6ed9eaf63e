"""Tests of lth_helpers.movement and lth_helpers.scaling on tensors small enough to check by hand,
and of the weight figures on a tiny real IMP run."""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pytest
import torch
from matplotlib.figure import Figure

from lth_helpers import movement as M
from lth_helpers import scaling as S
from lth_helpers.initialization import dense_glorot_std, fan_corrected_weights, subnetwork_glorot_std
from lth_helpers.models import LAYER_NAMES, LAYER_SHAPES, glorot_weights, lenet_logits
from lth_helpers.results import closest_round
from lth_helpers.pruning import expected_density, full_masks, layerwise_magnitude_masks, random_masks_like

from conftest import subset


# ------------------------------------------------------------------------- movement


def test_weight_changes_known_values():
    init = {"fc3": torch.tensor([[1.0, -1.0, 0.5, 2.0]])}
    final = {"fc3": torch.tensor([[3.0, 1.0, 0.0, -2.5]])}
    changes = M.weight_changes(init, final)["fc3"]
    assert torch.allclose(changes["movement"], torch.tensor([[2.0, 2.0, 0.5, 4.5]], dtype=torch.float64))
    # 1 -> 3 grew by 2; -1 -> 1 crossed zero: moved 2 but magnitude unchanged; 0.5 -> 0 shrank.
    assert torch.allclose(changes["growth"], torch.tensor([[2.0, 0.0, -0.5, 0.5]], dtype=torch.float64))
    assert (changes["growth"].abs() <= changes["movement"] + 1e-12).all()


def test_weight_changes_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="shapes"):
        M.weight_changes({"fc3": torch.zeros(2, 2)}, {"fc3": torch.zeros(2, 3)})


def test_movement_summary_splits_ticket_and_others():
    init = {"fc3": torch.tensor([[1.0, 1.0, 1.0, 1.0]])}
    final = {"fc3": torch.tensor([[4.0, 3.0, 1.0, 0.5]])}
    ticket = {"fc3": torch.tensor([[True, True, False, False]])}
    rows = {r["group"]: r for r in M.movement_summary(init, final, ticket)}
    assert rows["ticket"]["n"] == 2 and rows["others"]["n"] == 2
    assert rows["ticket"]["movement_mean"] == pytest.approx(2.5)
    assert rows["others"]["movement_mean"] == pytest.approx(0.25)
    assert rows["ticket"]["grew"] == 1.0 and rows["others"]["grew"] == 0.0


def test_split_by_mask_rejects_wrong_shape():
    with pytest.raises(ValueError, match="differ"):
        M.split_by_mask(torch.zeros(3), torch.ones(4, dtype=torch.bool))


# ------------------------------------------------------------------- AUC and overlap


def test_auc_perfect_inverted_and_chance():
    labels = torch.tensor([False, False, True, True])
    assert M.roc_auc(torch.tensor([0.1, 0.2, 0.8, 0.9]), labels) == 1.0
    assert M.roc_auc(torch.tensor([0.9, 0.8, 0.2, 0.1]), labels) == 0.0
    # All scores tied: every positive/negative pair counts one half.
    assert M.roc_auc(torch.ones(4), labels) == 0.5


def test_auc_counts_pairs():
    # Positives 0.5 and 0.9; negatives 0.2, 0.6, 0.5. Pairs won: 0.5>0.2, 0.5=0.5 (half),
    # 0.9 beats all three: (1 + 0.5 + 3) / 6 = 0.75.
    scores = torch.tensor([0.5, 0.9, 0.2, 0.6, 0.5])
    labels = torch.tensor([True, True, False, False, False])
    assert M.roc_auc(scores, labels) == pytest.approx(0.75)


def test_auc_matches_brute_force_on_random_data():
    gen = torch.Generator().manual_seed(0)
    scores = torch.randint(0, 5, (200,), generator=gen).double()  # many ties
    labels = torch.rand(200, generator=gen) < 0.3
    pos, neg = scores[labels], scores[~labels]
    diff = pos[:, None] - neg[None, :]
    brute = float(((diff > 0).double() + 0.5 * (diff == 0).double()).mean())
    assert M.roc_auc(scores, labels) == pytest.approx(brute)


def test_auc_needs_both_classes():
    with pytest.raises(ValueError, match="both classes"):
        M.roc_auc(torch.rand(5), torch.ones(5, dtype=torch.bool))


def test_top_k_overlap_known_values():
    labels = torch.tensor([True, True, False, False])
    perfect = M.top_k_overlap(torch.tensor([4.0, 3.0, 2.0, 1.0]), labels)
    assert perfect == {"k": 2, "precision": 1.0, "jaccard": 1.0, "chance": 0.5}
    half = M.top_k_overlap(torch.tensor([4.0, 1.0, 3.0, 2.0]), labels)
    assert half["precision"] == 0.5
    assert half["jaccard"] == pytest.approx(1 / 3)  # one shared of three distinct


def test_final_magnitude_predicts_round_one_perfectly():
    # The round-1 mask *is* the top 80% by final magnitude, so that criterion is perfect there:
    # the authors' caveat, checked.
    gen = torch.Generator().manual_seed(1)
    init = glorot_weights(gen)
    final = {n: w + 0.05 * torch.randn(w.shape, generator=gen) for n, w in init.items()}
    round1 = layerwise_magnitude_masks(final, {"fc1": 0.2, "fc2": 0.2, "fc3": 0.1})
    rows = M.survival_prediction(init, final, round1)
    for row in rows:
        if row["criterion"] == "final magnitude":
            assert row["auc"] == 1.0 and row["precision"] == 1.0
    # A mask made of the biggest movers is predicted perfectly by movement instead.
    movers = {n: M.criterion_scores(init[n], final[n], "movement") > M.criterion_scores(init[n], final[n], "movement").median()
              for n in init}
    by = {(r["layer"], r["criterion"]): r for r in M.survival_prediction(init, final, movers)}
    assert by[("fc2", "movement")]["auc"] == 1.0
    assert by[("fc2", "final magnitude")]["auc"] < 1.0


def test_survival_prediction_restricts_to_eligible_and_skips_trivial_layers():
    init = {"fc3": torch.tensor([[1.0, 2.0, 3.0, 4.0]])}
    final = {"fc3": torch.tensor([[1.0, 2.0, 3.0, 4.0]])}
    ticket = {"fc3": torch.tensor([[False, False, True, True]])}
    eligible = {"fc3": torch.tensor([[False, False, True, True]])}
    assert M.survival_prediction(init, final, ticket, eligible) == []  # everything eligible survives
    rows = M.survival_prediction(init, final, ticket, criteria=("final magnitude",))
    assert len(rows) == 1 and rows[0]["auc"] == 1.0 and rows[0]["n"] == 4


def test_unknown_criterion_is_named():
    with pytest.raises(ValueError, match="sign"):
        M.criterion_scores(torch.zeros(2), torch.zeros(2), "sign")


# ----------------------------------------------------------------------- bimodality


def test_bimodality_coefficient_reference_shapes():
    gen = torch.Generator().manual_seed(0)
    gaussian = torch.randn(200_000, generator=gen)
    uniform = torch.rand(200_000, generator=gen)
    assert S.bimodality_coefficient(gaussian) == pytest.approx(1 / 3, abs=0.01)
    assert S.bimodality_coefficient(uniform) == pytest.approx(5 / 9, abs=0.01)
    assert S.bimodality_coefficient(torch.tensor([-1.0, 1.0] * 50)) == pytest.approx(1.0)
    # A Gaussian with its middle cut out (what magnitude selection does) is bimodal.
    assert S.bimodality_coefficient(gaussian[gaussian.abs() > 1.0]) > 5 / 9


def test_bimodality_rejects_degenerate_input():
    with pytest.raises(ValueError, match="equal"):
        S.bimodality_coefficient(torch.ones(10))
    with pytest.raises(ValueError, match="at least 2"):
        S.bimodality_coefficient(torch.ones(1))


def test_near_zero_fraction_of_a_gaussian():
    gen = torch.Generator().manual_seed(0)
    x = 0.3 * torch.randn(200_000, generator=gen)
    assert S.near_zero_fraction(x, 0.3) == pytest.approx(S.GAUSSIAN_NEAR_ZERO, abs=0.005)
    assert S.near_zero_fraction(torch.tensor([0.1, -0.1, 1.0, 2.0]), 1.0) == 0.5
    with pytest.raises(ValueError, match="positive"):
        S.near_zero_fraction(x, 0.0)


def test_initial_value_shape_sees_magnitude_selection():
    gen = torch.Generator().manual_seed(2)
    theta0 = glorot_weights(gen)
    by_magnitude = {n: w.abs() > w.abs().median() for n, w in theta0.items()}
    rows = S.initial_value_shape(theta0, {0: full_masks(theta0), 1: by_magnitude})
    row = {(r["layer"], r["round"]): r for r in rows}
    assert row[("fc1", 0)]["bimodality"] == pytest.approx(1 / 3, abs=0.01)
    assert row[("fc1", 0)]["near_zero"] == pytest.approx(S.GAUSSIAN_NEAR_ZERO, abs=0.01)
    assert row[("fc1", 0)]["rms_ratio"] == pytest.approx(1.0, abs=0.01)
    assert row[("fc1", 1)]["near_zero"] == 0.0  # the median of |z| is 0.674 > 0.5
    assert row[("fc1", 1)]["bimodality"] > 5 / 9
    assert row[("fc3", 1)]["density"] == pytest.approx(0.5)


# ----------------------------------------------------------------------------- fans


def test_fan_statistics_of_a_hand_made_mask():
    mask = torch.tensor([[1, 1, 0, 0],
                         [1, 0, 0, 0],
                         [0, 0, 0, 0]], dtype=torch.bool)  # (out=3, in=4)
    s = S.fan_statistics(mask)
    assert s["density"] == pytest.approx(3 / 12)
    assert (s["dense_fan_in"], s["dense_fan_out"]) == (4, 3)
    assert s["uniform_fan_in"] == pytest.approx(1.0) and s["uniform_fan_out"] == pytest.approx(0.75)
    # fan_in per output unit: 2, 1, 0; fan_out per input unit: 2, 1, 0, 0.
    assert (s["fan_in_mean"], s["fan_in_min"], s["fan_in_max"], s["fan_in_zero"]) == (1.0, 0.0, 2.0, 1)
    assert (s["fan_out_mean"], s["fan_out_max"], s["fan_out_zero"]) == (0.75, 2.0, 2)
    assert s["fan_in_cv"] == pytest.approx(1 / 3)  # alive fans 2 and 1: std 0.5, mean 1.5


def test_fan_statistics_even_mask_has_no_spread():
    s = S.fan_statistics(torch.eye(5, dtype=torch.bool))
    assert s["fan_in_cv"] == 0.0 and s["fan_out_cv"] == 0.0 and s["fan_in_zero"] == 0


def test_dead_units_counts_cut_off_units():
    masks = {n: torch.ones(shape, dtype=torch.bool) for n, shape in LAYER_SHAPES.items()}
    assert set(S.dead_units(masks).values()) == {0}
    masks["fc1"][:, 5] = False      # pixel 5 unused
    masks["fc1"][7, :] = False      # hidden-1 unit 7 gets no input
    masks["fc2"][:, 7] = False      # ... and sends nothing
    masks["fc3"][:, 3] = False      # hidden-2 unit 3 sends nothing
    dead = S.dead_units(masks)
    assert dead == {"inputs_unused": 1, "hidden1_no_input": 1, "hidden1_no_output": 1,
                    "hidden2_no_input": 0, "hidden2_no_output": 1, "outputs_no_input": 0}
    with pytest.raises(ValueError, match="fc3"):
        S.dead_units({"fc1": masks["fc1"], "fc2": masks["fc2"]})


# --------------------------------------------------------------------------- scales


def test_rms_with_and_without_mask():
    x = torch.tensor([3.0, -4.0, 100.0])
    assert S.rms(x, torch.tensor([True, True, False])) == pytest.approx(math.sqrt(12.5))
    assert S.rms(torch.tensor([-2.0, 2.0])) == 2.0
    assert math.isnan(S.rms(x, torch.zeros(3, dtype=torch.bool)))


def test_init_scale_rows_random_subset_vs_fan_corrected():
    gen = torch.Generator().manual_seed(3)
    theta0 = glorot_weights(gen)
    quarter = random_masks_like({n: torch.rand(s, generator=gen) < 0.25 for n, s in LAYER_SHAPES.items()}, gen)
    fan = fan_corrected_weights(quarter, gen)
    rows = S.init_scale_rows(theta0, {4: quarter}, {4: {"fan_corrected": fan}})
    fc1 = next(r for r in rows if r["layer"] == "fc1")
    assert fc1["dense_std"] == pytest.approx(dense_glorot_std("fc1"))
    # A random subset of theta_0 keeps the dense scale; Glorot for a quarter-dense layer asks for 2x.
    assert fc1["ticket_ratio"] == pytest.approx(1.0, abs=0.02)
    assert fc1["uniform_ratio"] == pytest.approx(1 / math.sqrt(fc1["density"]))
    assert fc1["subnet_ratio"] == pytest.approx(2.0, rel=0.03)
    assert fc1["fan_corrected_ratio"] == pytest.approx(fc1["subnet_ratio"], rel=0.02)


def test_trained_scale_rows_known_values():
    dense = {"fc3": torch.tensor([[1.0, -1.0, 1.0, -1.0]])}
    ticket_final = {"fc3": torch.tensor([[4.0, 0.0, 0.0, -4.0]])}
    mask = {"fc3": torch.tensor([[True, False, False, True]])}
    row = S.trained_scale_rows(dense, ticket_final, mask)[0]
    assert row["ticket_over_dense"] == 4.0 and row["dense_on_ticket_over_dense"] == 1.0
    assert row["uniform_factor"] == pytest.approx(math.sqrt(2))


def test_activation_scales_shrink_in_a_sparse_net_and_fan_correction_restores_them():
    gen = torch.Generator().manual_seed(4)
    x = torch.randn(256, 784, generator=gen)
    weights = glorot_weights(gen)
    dense = S.activation_scales(weights, full_masks(weights), x)
    sparse_masks = {n: torch.rand(s, generator=gen) < 0.1 for n, s in LAYER_SHAPES.items()}
    sparse = S.activation_scales(weights, sparse_masks, x)
    fixed = S.activation_scales(fan_corrected_weights(sparse_masks, gen), sparse_masks, x)
    # Each masked layer keeps ~10% of its terms: pre-activation RMS falls by ~sqrt(0.1).
    assert sparse["fc1"] / dense["fc1"] == pytest.approx(math.sqrt(0.1), rel=0.1)
    assert fixed["fc1"] / dense["fc1"] == pytest.approx(1.0, rel=0.15)
    with pytest.raises(ValueError, match="784"):
        S.activation_scales(weights, sparse_masks, torch.zeros(3, 10))


def test_activation_scales_last_layer_is_the_network_output():
    # The probe walks the layers itself; its last layer must be LeNet's own forward pass (float64).
    gen = torch.Generator().manual_seed(5)
    x = torch.randn(64, 784, generator=gen)
    weights = glorot_weights(gen)
    masks = {n: torch.rand(s, generator=gen) < 0.3 for n, s in LAYER_SHAPES.items()}
    logits = lenet_logits(x.double(), {n: w.double() for n, w in weights.items()}, masks=masks)
    assert S.activation_scales(weights, masks, x)["fc3"] == pytest.approx(S.rms(logits), rel=1e-12)


# ------------------------------------------------------------- figures on a real run


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory, mnist):
    from lth_helpers.imp import make_config, run_imp
    from lth_helpers.strategies import STRATEGIES

    data = subset(mnist, 5_000, 500, 500)  # genuine digits; small evaluation sets keep it quick
    config = make_config("quick", STRATEGIES, seeds=1, iterations=30, eval_every=15, rounds=2)
    return run_imp(config, data, tmp_path_factory.mktemp("runs"), progress=False, verbose=False)


def test_weight_figures_draw_from_a_real_run(tiny_run):
    from lth_helpers.plots import scaling as P
    from lth_helpers.plots import weights as W

    result = tiny_run
    theta0, dense_final = result.theta0(0), result.final_weights(0, 0)
    rounds = range(result.config.rounds + 1)
    small = closest_round(0.036, rounds, result.config.rates)
    assert small == 2
    masks = {r: result.masks(0, r) for r in rounds}
    tickets = {"round 1": masks[1], "round 2": masks[2]}
    figures = [
        W.plot_weight_changes(theta0, dense_final, tickets, "movement"),
        W.plot_weight_changes(theta0, dense_final, tickets, "growth"),
        W.plot_initial_values(theta0, masks, {r: float(expected_density(r)) for r in rounds}),
        W.plot_survival_prediction({"round 2": M.survival_prediction(theta0, dense_final, masks[2]),
                                    "round 2 | round 1": M.survival_prediction(theta0, dense_final, masks[2], masks[1])}),
        P.plot_fan_histograms(tickets),
        P.plot_scale_vs_density(S.init_scale_rows(theta0, masks)),
        W.plot_trained_magnitudes(dense_final, result.final_weights(0, small), masks[small], theta0),
        P.plot_strategy_comparison(result.summary(), dense=result.summary()[0]),
        P.plot_paired_differences(result.records),
    ]
    for fig in figures:
        assert isinstance(fig, Figure)
        assert fig.axes
        plt.close(fig)
    # The ticket's starting weights are theta_0 on the mask; the controls' are regenerated: the
    # fan-corrected ones are fresh draws, zero where pruned, at the sub-network's Glorot scale.
    mask = masks[small]
    ticket = result.initial_weights(0, small, "original")
    start = result.initial_weights(0, small, "fan_corrected")
    assert set(start) == set(LAYER_NAMES)
    for name in LAYER_NAMES:
        assert torch.equal(ticket[name], theta0[name] * mask[name])
        assert not start[name][~mask[name]].any() and start[name][mask[name]].all()
        assert not torch.equal(start[name][mask[name]], theta0[name][mask[name]])
        # A sample RMS over >= 800 draws lies within a few percent of the std it was drawn with.
        assert S.rms(start[name], mask[name]) == pytest.approx(subnetwork_glorot_std(mask[name]), rel=0.1)


def test_weight_figures_reject_bad_arguments(tiny_run):
    from lth_helpers.plots import scaling as P
    from lth_helpers.plots import weights as W

    theta0 = tiny_run.theta0(0)
    with pytest.raises(ValueError, match="quantity"):
        W.plot_weight_changes(theta0, theta0, {"t": tiny_run.masks(0, 1)}, "speed")
    with pytest.raises(ValueError, match="metric"):
        W.plot_survival_prediction({"t": []}, metric="f1")
    with pytest.raises(ValueError, match="strategies"):
        P.plot_strategy_comparison([], strategies=("original",))
