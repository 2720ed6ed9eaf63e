"""The masked LeNet-300-100: initialization, masks as buffers, and what a pruned weight does."""

from __future__ import annotations

import math

import pytest
import torch

from lth_helpers.models import LAYER_NAMES, LAYER_SHAPES, LeNet300100, MaskedLinear, glorot_std, glorot_weights
from lth_helpers.pruning import random_masks_like


def _random_masks(density: float, seed: int = 0) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    return {name: torch.rand(shape, generator=generator) < density for name, shape in LAYER_SHAPES.items()}


def test_architecture():
    model = LeNet300100(seed=0)
    assert [name for name, _ in model.layers()] == list(LAYER_NAMES)
    for name, layer in model.layers():
        assert tuple(layer.weight.shape) == LAYER_SHAPES[name]
        assert tuple(layer.mask.shape) == LAYER_SHAPES[name]
    assert model(torch.randn(5, 1, 28, 28)).shape == (5, 10)  # images are flattened
    assert sum(p.numel() for p in model.parameters()) == 784 * 300 + 300 + 300 * 100 + 100 + 100 * 10 + 10


def test_glorot_initialization():
    assert glorot_std(784, 300) == pytest.approx(math.sqrt(2 / 1084))
    model = LeNet300100(seed=3)
    for name, weight in model.weights().items():
        fan_out, fan_in = LAYER_SHAPES[name]
        std = float(weight.std())
        # fc3 has only 1,000 weights: a looser sampling tolerance.
        assert std == pytest.approx(glorot_std(fan_in, fan_out), rel=0.05 if name == "fc3" else 0.01)
        assert float(weight.mean()) == pytest.approx(0.0, abs=3 * std / math.sqrt(weight.numel()))
        assert torch.count_nonzero(getattr(model, name).bias) == 0  # biases start at zero


def test_seed_gives_the_same_network():
    a, b, c = LeNet300100(seed=7), LeNet300100(seed=7), LeNet300100(seed=8)
    for name in LAYER_NAMES:
        assert torch.equal(a.weights()[name], b.weights()[name])
        assert not torch.equal(a.weights()[name], c.weights()[name])
    generator = torch.Generator().manual_seed(7)
    assert all(torch.equal(a.weights()[n], w) for n, w in glorot_weights(generator).items())


def test_set_masks_zeroes_pruned_weights_and_reports_density():
    model = LeNet300100(seed=0)
    masks = _random_masks(0.3)
    model.set_masks(masks)
    weights = model.weights()
    for name in LAYER_NAMES:
        assert torch.all(weights[name][~masks[name]] == 0.0)
        assert torch.all(weights[name][masks[name]] != 0.0)
        assert torch.equal(model.masks()[name], masks[name])
        assert model.masks()[name].dtype == torch.bool
    kept = sum(int(m.sum()) for m in masks.values())
    assert model.density() == pytest.approx(kept / 266_200)


@pytest.mark.parametrize("density", [0.8, 0.2, 0.03])
def test_pruned_weights_contribute_nothing(density):
    """Whatever value a pruned weight's parameter holds, the output does not change."""
    torch.manual_seed(0)
    model = LeNet300100(seed=1)
    model.set_masks(_random_masks(density, seed=2))
    x = torch.randn(32, 784)
    before = model(x)
    with torch.no_grad():
        for _, layer in model.layers():
            pruned = layer.mask == 0
            layer.weight[pruned] = torch.randn(int(pruned.sum())) * 100.0
    assert torch.equal(model(x), before)


def test_pruned_weights_get_zero_gradient():
    model = LeNet300100(seed=1)
    masks = _random_masks(0.2, seed=3)
    model.set_masks(masks)
    x, y = torch.randn(16, 784), torch.randint(0, 10, (16,))
    torch.nn.functional.cross_entropy(model(x), y).backward()
    for name, layer in model.layers():
        assert torch.all(layer.weight.grad[~masks[name]] == 0.0)
        assert torch.count_nonzero(layer.weight.grad[masks[name]]) > 0


def test_state_dict_round_trip_keeps_masks(tmp_path):
    model = LeNet300100(seed=4)
    masks = random_masks_like(_random_masks(0.25, seed=5), torch.Generator().manual_seed(6))
    model.set_masks(masks)
    with torch.no_grad():
        model.fc2.bias.add_(0.5)
    assert {f"{n}.mask" for n in LAYER_NAMES} <= set(model.state_dict())
    torch.save(model.state_dict(), tmp_path / "lenet.pt")

    fresh = LeNet300100()
    assert fresh.density() == 1.0
    fresh.load_state_dict(torch.load(tmp_path / "lenet.pt", weights_only=True))
    for name in LAYER_NAMES:
        assert torch.equal(fresh.masks()[name], masks[name])
        assert torch.equal(fresh.weights()[name], model.weights()[name])
    assert fresh.density() == pytest.approx(model.density())
    x = torch.randn(8, 784)
    assert torch.equal(fresh(x), model(x))


def test_load_weights_applies_the_mask_and_zeroes_biases():
    model = LeNet300100(seed=0)
    masks = _random_masks(0.5, seed=1)
    model.set_masks(masks)
    with torch.no_grad():
        model.fc1.bias.fill_(1.0)
    new = glorot_weights(torch.Generator().manual_seed(9))
    model.load_weights(new)
    for name, layer in model.layers():
        assert torch.equal(layer.weight.detach(), new[name] * masks[name])
        assert torch.count_nonzero(layer.bias) == 0


def test_masked_linear_accepts_float_masks():
    layer = MaskedLinear(4, 3)
    layer.set_mask(torch.tensor([[1.0, 0, 0, 1], [0, 0, 0, 0], [1, 1, 1, 1]]))
    assert layer.density == pytest.approx(6 / 12)
    assert torch.all(layer.weight[1] == 0.0)
    assert "density=0.500" in repr(layer)
