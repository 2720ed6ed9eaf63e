"""Magnitude pruning against torch.nn.utils.prune, the paper's schedule, random masks, statistics."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.nn.utils import prune

from lth_helpers.models import LAYER_SHAPES, glorot_weights
from lth_helpers.pruning import (
    PAPER_RATES,
    density,
    expected_density,
    full_masks,
    global_magnitude_masks,
    layerwise_magnitude_masks,
    magnitude_mask,
    mask_stats,
    one_shot_rates,
    random_masks_like,
    round_for_density,
)

TOTALS = {name: out * inp for name, (out, inp) in LAYER_SHAPES.items()}


def _weights(seed: int) -> dict[str, torch.Tensor]:
    return glorot_weights(torch.Generator().manual_seed(seed))


# ------------------------------------------------------------- agreement with torch.prune

SHAPES_AND_RATES = [
    ((300, 784), 0.2),
    ((100, 300), 0.2),
    ((10, 100), 0.1),
    ((13, 7), 0.2),  # 18.2 weights -> 18
    ((5, 5), 0.1),  # 2.5 weights: both round half to even -> 2
    ((6, 5), 0.05),  # 1.5 -> 2
    ((4, 4), 0.0),
]


@pytest.mark.parametrize("shape,rate", SHAPES_AND_RATES)
def test_fresh_layer_matches_l1_unstructured(shape, rate):
    generator = torch.Generator().manual_seed(sum(shape))
    weight = torch.randn(shape, generator=generator)
    layer = nn.Linear(shape[1], shape[0])
    with torch.no_grad():
        layer.weight.copy_(weight)
    prune.l1_unstructured(layer, "weight", amount=rate)
    ours = magnitude_mask(weight, rate)
    assert ours.dtype == torch.bool
    assert torch.equal(ours, layer.weight_mask.bool())


@pytest.mark.parametrize("shape,rate", SHAPES_AND_RATES)
def test_iterated_pruning_matches_pruning_container(shape, rate):
    """Pruning an already-pruned layer: torch applies the amount to the remaining weights only."""
    generator = torch.Generator().manual_seed(sum(shape) + 1)
    layer = nn.Linear(shape[1], shape[0])
    weight = torch.randn(shape, generator=generator)
    with torch.no_grad():
        layer.weight.copy_(weight)
    mask = None
    for _ in range(4):
        # importance_scores: torch would otherwise score by ``layer.weight`` as of the last
        # forward pass, not by the weights as they are now.
        prune.l1_unstructured(layer, "weight", amount=rate, importance_scores=weight)
        mask = magnitude_mask(weight, rate, mask)
        assert torch.equal(mask, layer.weight_mask.bool())
        # "Training" moves the weights between rounds: both prune by the new magnitudes.
        weight = torch.randn(shape, generator=generator)
        with torch.no_grad():
            layer.weight_orig.copy_(weight)
    assert isinstance(layer._forward_pre_hooks[next(iter(layer._forward_pre_hooks))], prune.PruningContainer)


def test_repeated_l1_unstructured_on_fixed_weights():
    """The plain torch idiom (no retraining): call l1_unstructured again on the pruned layer."""
    layer = nn.Linear(300, 100)
    weight = layer.weight.detach().clone()
    mask = None
    for _ in range(5):
        prune.l1_unstructured(layer, "weight", amount=0.2)
        mask = magnitude_mask(weight, 0.2, mask)
        assert torch.equal(mask, layer.weight_mask.bool())
    assert int(mask.sum()) == 30_000 - 6_000 - 4_800 - 3_840 - 3_072 - 2_458


def test_ties_are_broken_like_torch():
    weight = torch.tensor([[0.5, -0.5, 0.5, 0.1], [-0.1, 0.5, 0.2, -0.2]])
    layer = nn.Linear(4, 2)
    with torch.no_grad():
        layer.weight.copy_(weight)
    prune.l1_unstructured(layer, "weight", amount=0.5)
    assert torch.equal(magnitude_mask(weight, 0.5), layer.weight_mask.bool())


def test_magnitude_mask_keeps_largest_and_subset_of_old_mask():
    weight = torch.randn(50, 40, generator=torch.Generator().manual_seed(0))
    old = torch.rand(50, 40, generator=torch.Generator().manual_seed(1)) < 0.6
    new = magnitude_mask(weight, 0.25, old)
    assert not torch.any(new & ~old)  # never revives a pruned weight
    assert int(new.sum()) == int(old.sum()) - round(0.25 * int(old.sum()))
    assert float(weight.abs()[new].min()) >= float(weight.abs()[old & ~new].max())
    assert torch.equal(magnitude_mask(weight, 0.0, old), old)


# -------------------------------------------------------------------- the paper's schedule


def test_layer_densities_follow_the_schedule_for_20_rounds():
    """Round k keeps 0.8^k of each hidden layer and 0.9^k of the output layer, within one weight."""
    generator = torch.Generator().manual_seed(0)
    masks = full_masks(_weights(0))
    kept = dict(TOTALS)
    for k in range(1, 21):
        trained = {n: torch.randn(s, generator=generator) for n, s in LAYER_SHAPES.items()}
        new = layerwise_magnitude_masks(trained, PAPER_RATES, masks)
        stats = mask_stats(new)
        for name, total in TOTALS.items():
            kept[name] -= round(PAPER_RATES[name] * kept[name])
            assert stats["layers"][name]["kept"] == kept[name]
            assert abs(kept[name] - total * (1 - PAPER_RATES[name]) ** k) <= 1.0
            assert not torch.any(new[name] & ~masks[name])
        assert stats["density"] == pytest.approx(expected_density(k), abs=3 / 266_200)
        masks = new
    assert stats["density"] == pytest.approx(0.0119, abs=1e-4)


def test_expected_density_and_rounds():
    assert expected_density(0) == 1.0
    assert expected_density(3) == pytest.approx(0.513, abs=5e-4)
    assert expected_density(7) == pytest.approx(0.211, abs=5e-4)
    assert expected_density(15) == pytest.approx(0.036, abs=5e-4)
    assert round_for_density(0.211) == (7, pytest.approx(expected_density(7)))
    assert round_for_density(1.0)[0] == 0


@pytest.mark.parametrize("rounds", [1, 3, 7, 15])
def test_one_shot_reaches_the_density_of_n_rounds(rounds):
    weights = _weights(1)
    one_shot = mask_stats(layerwise_magnitude_masks(weights, one_shot_rates(rounds)))
    for name, total in TOTALS.items():
        assert abs(one_shot["layers"][name]["kept"] - total * (1 - PAPER_RATES[name]) ** rounds) <= 1.0
    assert one_shot_rates(0) == {"fc1": 0.0, "fc2": 0.0, "fc3": 0.0}


def test_single_rate_applies_to_every_layer():
    masks = layerwise_magnitude_masks(_weights(2), 0.5)
    assert all(int(m.sum()) == TOTALS[n] // 2 for n, m in masks.items())


# ----------------------------------------------------------------------- global pruning


def test_global_pruning_uses_one_threshold_across_layers():
    weights = _weights(3)
    masks = global_magnitude_masks(weights, 0.5)
    assert sum(int(m.sum()) for m in masks.values()) == 266_200 // 2
    kept_min = min(float(weights[n].abs()[m].min()) for n, m in masks.items())
    pruned_max = max(float(weights[n].abs()[~m].max()) for n, m in masks.items())
    assert kept_min >= pruned_max
    # The wide first layer has the smallest Glorot std, so it loses the most.
    stats = mask_stats(masks)["layers"]
    assert stats["fc1"]["density"] < stats["fc2"]["density"] < stats["fc3"]["density"]
    # Iterated: applies the rate to what remains.
    again = global_magnitude_masks(weights, 0.5, masks)
    assert sum(int(m.sum()) for m in again.values()) == 266_200 // 4
    assert all(not torch.any(again[n] & ~masks[n]) for n in masks)


# -------------------------------------------------------------------------- random masks


def test_random_mask_matches_counts_but_not_pattern():
    ticket = layerwise_magnitude_masks(_weights(4), one_shot_rates(5))
    random = random_masks_like(ticket, torch.Generator().manual_seed(0))
    for name in ticket:
        assert random[name].dtype == torch.bool and random[name].shape == ticket[name].shape
        assert int(random[name].sum()) == int(ticket[name].sum())
        assert not torch.equal(random[name], ticket[name])
        # Overlap of two independent masks of density d is about d^2, far from d.
        d = float(ticket[name].float().mean())
        overlap = float((random[name] & ticket[name]).float().mean())
        assert overlap == pytest.approx(d * d, abs=0.05)
    # Reproducible from the generator's seed, different for another seed.
    again = random_masks_like(ticket, torch.Generator().manual_seed(0))
    other = random_masks_like(ticket, torch.Generator().manual_seed(1))
    assert all(torch.equal(again[n], random[n]) for n in ticket)
    assert not torch.equal(other["fc1"], random["fc1"])


def test_mask_stats_and_density():
    masks = {"a": torch.tensor([True, False, True, True]), "b": torch.zeros(2, 3, dtype=torch.bool)}
    stats = mask_stats(masks)
    assert stats["layers"]["a"] == {"kept": 3, "total": 4, "density": 0.75}
    assert stats["layers"]["b"] == {"kept": 0, "total": 6, "density": 0.0}
    assert (stats["kept"], stats["total"]) == (3, 10)
    assert stats["density"] == density(masks) == 0.3
