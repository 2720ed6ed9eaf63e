"""What a ticket carries: the ticket-content strategies, supermasks and mask criteria."""

from __future__ import annotations

import pytest
import torch

from lth_helpers.imp import make_config, run_imp
from lth_helpers.mask_criteria import CRITERIA, check_criteria, criterion_masks, run_mask_criteria
from lth_helpers.models import LAYER_NAMES, lenet_logits
from lth_helpers.pruning import layerwise_magnitude_masks, one_shot_rates, random_masks_like
from lth_helpers.strategies import check_strategies, member_start, theta0_for
from lth_helpers.supermasks import SUPERMASKS, large_final_same_sign_masks, supermask_records
from lth_helpers.ticket_contents import CONTENTS, layer_init_std, noise_level

from conftest import tiny_config


@pytest.fixture(scope="module")
def ticket():
    """A seed's theta_0 and a half-density mask that is *not* random (magnitude-selected)."""
    theta0 = theta0_for(3)
    masks = layerwise_magnitude_masks(theta0, 0.5)
    return theta0, masks


def start(strategy, ticket, seed=3, round_=4):
    theta0, masks = ticket
    return member_start(strategy, seed, round_, masks, theta0)


@pytest.mark.parametrize("strategy", CONTENTS)
def test_every_content_strategy_keeps_the_mask_and_zeros_outside_it(strategy, ticket):
    weights, masks = start(strategy, ticket)
    for name in LAYER_NAMES:
        assert torch.equal(masks[name].bool(), ticket[1][name].bool())
        assert torch.count_nonzero(weights[name][~masks[name].bool()]) == 0


@pytest.mark.parametrize("strategy", CONTENTS)
def test_every_content_strategy_is_deterministic_per_seed_and_round(strategy, ticket):
    a, b = start(strategy, ticket)[0], start(strategy, ticket)[0]
    assert all(torch.equal(a[n], b[n]) for n in LAYER_NAMES)
    if strategy != "same_sign_constant":  # the one without randomness
        other_round, other_seed = start(strategy, ticket, round_=5)[0], start(strategy, ticket, seed=4)[0]
        assert not torch.equal(a["fc1"], other_round["fc1"]) and not torch.equal(a["fc1"], other_seed["fc1"])


def test_permuted_keeps_each_layers_values_but_moves_them(ticket):
    theta0, masks = ticket
    weights, _ = start("permuted", ticket)
    for name in LAYER_NAMES:
        kept = masks[name].bool()
        assert torch.equal(weights[name][kept].sort().values, theta0[name][kept].sort().values)
        assert (weights[name][kept] == theta0[name][kept]).float().mean() < 0.05


def test_same_sign_reinit_has_theta0_signs_and_fresh_glorot_magnitudes(ticket):
    theta0, masks = ticket
    weights, _ = start("same_sign_reinit", ticket)
    for name in LAYER_NAMES:
        kept = masks[name].bool()
        assert torch.equal(torch.sign(weights[name][kept]), torch.sign(theta0[name][kept]))
        assert not torch.equal(weights[name][kept].abs(), theta0[name][kept].abs())
    # A Glorot draw: the std of the signed values is the layer's sigma (fc1 has 117,600 of them).
    assert weights["fc1"][masks["fc1"].bool()].std() == pytest.approx(layer_init_std("fc1"), rel=0.02)


def test_same_sign_constant_is_plus_or_minus_the_layer_sigma(ticket):
    theta0, masks = ticket
    weights, _ = start("same_sign_constant", ticket)
    for name in LAYER_NAMES:
        kept = masks[name].bool()
        assert torch.allclose(weights[name][kept], torch.sign(theta0[name][kept]) * layer_init_std(name))


def test_flipped_sign_keeps_magnitudes_and_flips_about_half_the_signs(ticket):
    theta0, masks = ticket
    weights, _ = start("flipped_sign", ticket)
    for name in LAYER_NAMES:
        kept = masks[name].bool()
        assert torch.equal(weights[name][kept].abs(), theta0[name][kept].abs())
    flipped = (torch.sign(weights["fc1"]) != torch.sign(theta0["fc1"]))[masks["fc1"].bool()].float().mean()
    assert 0.48 < flipped < 0.52


@pytest.mark.parametrize("level", [0.5, 1.0, 3.0])
def test_noisy_adds_gaussian_noise_of_s_layer_sigmas(level, ticket):
    theta0, masks = ticket
    weights, _ = start(f"noisy_{level:g}", ticket)
    for name in ("fc1", "fc2"):  # enough weights for a 3% check
        noise = (weights[name] - theta0[name])[masks[name].bool()]
        assert noise.std() == pytest.approx(level * layer_init_std(name), rel=0.03)
        assert abs(float(noise.mean())) < 0.05 * level * layer_init_std(name)


def test_strategy_names_are_checked_and_ordered():
    assert check_strategies("noisy_3,reinit,permuted") == ("original", "reinit", "permuted", "noisy_3")
    assert check_strategies(["noisy_1.5"]) == ("original", "noisy_1.5")
    assert noise_level("noisy_0.5") == 0.5 and noise_level("noisy_x") is None and noise_level("noisy_0") is None
    for bad in ("noisy_0", "noisy_-1", "signs", "noisy_"):
        with pytest.raises(ValueError, match=repr(bad).replace("'", ".")):
            check_strategies(bad)


def test_content_strategies_train_beside_the_ticket_without_changing_the_controls(tmp_path, small_data):
    plain = run_imp(tiny_config("original,reinit", rounds=1), small_data, tmp_path / "a", progress=False, verbose=False)
    both = run_imp(tiny_config("original,reinit,same_sign_reinit,noisy_0.5", rounds=1), small_data, tmp_path / "b",
                   progress=False, verbose=False)
    assert {r["strategy"] for r in both.records} == {"original", "reinit", "same_sign_reinit", "noisy_0.5"}
    pick = lambda result, s: [r for r in result.records if r["strategy"] == s]  # noqa: E731
    # The content strategies are a group of their own: asking for them leaves the controls bitwise alone.
    assert pick(plain, "reinit") == pick(both, "reinit") and pick(plain, "original") == pick(both, "original")


# ------------------------------------------------------------------------------- supermasks


def test_large_final_same_sign_keeps_the_largest_finals_that_kept_their_sign():
    initial = {n: torch.tensor([[1.0, -1.0, 1.0, 1.0, -1.0]]) for n in LAYER_NAMES}
    final = {n: torch.tensor([[0.5, 3.0, -4.0, 2.0, -0.1]]) for n in LAYER_NAMES}
    masks = large_final_same_sign_masks(initial, final, {n: 2 for n in LAYER_NAMES})
    # Same sign: positions 0 (0.5), 3 (2.0) and 4 (-0.1); the largest two finals among them are 3 and 0.
    assert masks["fc1"].tolist() == [[True, False, False, True, False]]
    assert large_final_same_sign_masks(initial, final, {n: 9 for n in LAYER_NAMES})["fc2"].sum() == 3


def test_supermask_records_evaluate_untrained_masked_networks(tmp_path, small_data):
    result = run_imp(tiny_config("original", rounds=2), small_data, tmp_path, progress=False, verbose=False)
    rows = supermask_records(result, small_data)
    assert [r["strategy"] for r in rows[:4]] == list(SUPERMASKS) and len(rows) == 4 * 3
    row = next(r for r in rows if r["strategy"] == "ticket_mask" and r["round"] == 2)
    theta0, masks = result.theta0(0), result.masks(0, 2)
    expected = (lenet_logits(small_data.test_x, theta0, None, masks).argmax(1) == small_data.test_y).double().mean()
    assert row["test_acc_at_early_stop"] == pytest.approx(float(expected))
    assert row["density"] == pytest.approx(result.select("original", round_=2)[0]["density"])
    lfss = next(r for r in rows if r["strategy"] == "large_final_same_sign" and r["round"] == 2)
    assert lfss["density"] <= row["density"] + 1e-9


def test_supermasks_refuse_other_data(tmp_path, small_data):
    from conftest import subset

    result = run_imp(tiny_config("original", rounds=1), small_data, tmp_path, progress=False, verbose=False)
    with pytest.raises(ValueError, match="not the data this run was trained on"):
        supermask_records(result, subset(small_data, 100, 50, 50))


# ---------------------------------------------------------------------------- mask criteria


def test_large_final_criterion_is_the_papers_one_shot_mask():
    theta0, final = theta0_for(0), theta0_for(1)
    rates = one_shot_rates(3)
    ours = criterion_masks("large_final", theta0, final, rates)
    assert all(torch.equal(ours[n], layerwise_magnitude_masks(final, rates)[n]) for n in LAYER_NAMES)


@pytest.mark.parametrize("criterion", CRITERIA)
def test_every_criterion_keeps_the_one_shot_count_per_layer(criterion):
    theta0, final = theta0_for(0), theta0_for(1)
    rates = one_shot_rates(7)
    masks = criterion_masks(criterion, theta0, final, rates, torch.Generator().manual_seed(0))
    reference = layerwise_magnitude_masks(final, rates)
    assert all(int(masks[n].sum()) == int(reference[n].sum()) for n in LAYER_NAMES)


def test_criteria_rank_by_their_scores():
    initial = {n: torch.tensor([[0.1, 2.0, -1.0, 1.5]]) for n in LAYER_NAMES}
    final = {n: torch.tensor([[1.0, 2.1, 1.5, 0.0]]) for n in LAYER_NAMES}
    rates = {n: 0.5 for n in LAYER_NAMES}
    keep = lambda c: criterion_masks(c, initial, final, rates)["fc1"].tolist()[0]  # noqa: E731
    assert keep("large_final") == [False, True, True, False]         # |w_f| = 1.0, 2.1, 1.5, 0.0
    assert keep("magnitude_increase") == [True, False, True, False]  # |w_f| - |w_i| = 0.9, 0.1, 0.5, -1.5
    assert keep("movement") == [False, False, True, True]            # |w_f - w_i| = 0.9, 0.1, 2.5, 1.5
    assert keep("large_init") == [False, True, False, True]          # |w_i| = 0.1, 2.0, 1.0, 1.5


def test_unknown_criteria_are_refused():
    assert check_criteria("random,large_final") == ["large_final", "random"]
    with pytest.raises(ValueError, match="'smallest'"):
        check_criteria("smallest")


def test_mask_criteria_train_reset_to_theta0_and_resume(tmp_path, small_data):
    config = tiny_config("original", rounds=1)
    first = run_mask_criteria(config, [1], ["movement", "random"], small_data, tmp_path, progress=False, verbose=False)
    assert sorted(r["strategy"] for r in first.records) == ["mask_movement", "mask_random", "original"]
    again = run_mask_criteria(config, [1], ["movement", "random"], small_data, tmp_path, progress=False, verbose=False)
    assert (again.computed, first.records) == (0, again.records)
    start_weights = first.initial_weights(0, 1, "mask_movement")
    masks = first.masks(0, 1, "mask_movement")
    assert torch.equal(start_weights["fc1"], first.theta0(0)["fc1"] * masks["fc1"].float())
