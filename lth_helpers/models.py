"""A mask-aware LeNet-300-100, the fully connected network of the paper's MNIST experiments.

Masks live next to the weights as buffers (as in ``torch.nn.utils.prune``), so they are saved
and loaded with ``state_dict`` and move with ``.to(device)``. The forward pass multiplies each
weight by its mask, which is what makes a pruned weight inert:

* it contributes nothing to the output (it is multiplied by zero);
* its gradient is exactly zero (the chain rule passes through the same zero);
* its stored value is set to 0.0 when it is pruned, and an optimizer whose state for it is
  zero (a fresh Adam, SGD with momentum, weight decay of either kind) never moves it, since
  every update those optimizers make is a multiple of the gradient, the momentum or the
  weight itself.
"""

from __future__ import annotations

import math
from typing import Iterator, Mapping

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "MaskedLinear",
    "LeNet300100",
    "LAYER_NAMES",
    "LAYER_SHAPES",
    "glorot_std",
    "glorot_weights",
    "lenet_logits",
    "check_mask",
]

LAYER_NAMES: tuple[str, ...] = ("fc1", "fc2", "fc3")
# (out_features, in_features) of each layer, as stored in ``weight``.
LAYER_SHAPES: dict[str, tuple[int, int]] = {"fc1": (300, 784), "fc2": (100, 300), "fc3": (10, 100)}


def glorot_std(fan_in: float, fan_out: float) -> float:
    """Standard deviation of Glorot & Bengio's (2010) normal initialization: sqrt(2/(in+out))."""
    if fan_in + fan_out <= 0:
        raise ValueError(f"fan_in + fan_out must be positive, got {fan_in} + {fan_out}")
    return math.sqrt(2.0 / (fan_in + fan_out))


def glorot_weights(generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
    """Fresh Gaussian Glorot weights for every LeNet layer (the paper's initialization)."""
    weights = {}
    for name, (fan_out, fan_in) in LAYER_SHAPES.items():
        weights[name] = torch.randn(fan_out, fan_in, generator=generator) * glorot_std(fan_in, fan_out)
    return weights


def lenet_logits(x: torch.Tensor, weights: Mapping[str, torch.Tensor],
                 biases: Mapping[str, torch.Tensor] | None = None,
                 masks: Mapping[str, torch.Tensor] | None = None) -> torch.Tensor:
    """LeNet-300-100's forward pass as a function: ``relu(x W1^T + b1)``, then fc2, then fc3.

    This is the one place the network's arithmetic is written down; :class:`LeNet300100`, the
    pruning sweeps and the analyses all call it. ``weights`` (and optional ``biases``, ``masks``)
    are dicts keyed by :data:`LAYER_NAMES`; a mask multiplies its weight, so a pruned weight
    contributes nothing. Inputs of shape ``(n, 784)`` (or images, flattened) give ``(n, 10)``.
    """
    h = x.flatten(1)
    for i, name in enumerate(LAYER_NAMES):
        w = weights[name]
        if masks is not None and name in masks:
            w = w * masks[name].to(w.dtype)
        h = F.linear(h, w, None if biases is None else biases[name])
        if i < len(LAYER_NAMES) - 1:
            h = F.relu(h)
    return h


def check_mask(mask: object, shape: tuple[int, ...], name: str = "mask") -> torch.Tensor:
    """``mask`` as a bool tensor if it is a tensor of ``shape`` holding only 0/1 (or bool) values.

    Raises ``TypeError`` or ``ValueError`` naming what is wrong: a mask of 0.5, NaN, -1 or 2
    would otherwise be silently read as "keep".
    """
    if not isinstance(mask, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of 0/1 or bool values, got {type(mask).__name__}")
    if tuple(mask.shape) != tuple(shape):
        raise ValueError(f"{name} of shape {tuple(mask.shape)} does not match weight of shape {tuple(shape)}")
    if mask.dtype != torch.bool:
        bad = ~((mask == 0) | (mask == 1))
        if bool(bad.any()):
            raise ValueError(f"{name} must hold only 0 and 1 (or bools), found {mask[bad].flatten()[0].item()!r}")
    return mask.bool()


class MaskedLinear(nn.Module):
    """A linear layer whose weight is multiplied by a 0/1 ``mask`` buffer in every forward pass."""

    def __init__(self, in_features: int, out_features: int) -> None:
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        self.weight = nn.Parameter(torch.empty(out_features, in_features))
        self.bias = nn.Parameter(torch.zeros(out_features))
        self.register_buffer("mask", torch.ones(out_features, in_features))
        nn.init.normal_(self.weight, std=glorot_std(in_features, out_features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight * self.mask, self.bias)

    def set_mask(self, mask: torch.Tensor) -> None:
        """Install ``mask`` (bool or 0/1) and set the pruned weights to exactly 0.0."""
        mask = check_mask(mask, tuple(self.weight.shape))
        with torch.no_grad():
            self.mask.copy_(mask.to(device=self.mask.device, dtype=self.mask.dtype))
            self.weight.mul_(self.mask)

    @property
    def density(self) -> float:
        """Fraction of weights that are not pruned."""
        return float(self.mask.mean())

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, density={self.density:.3f}"


class LeNet300100(nn.Module):
    """LeNet-300-100: 784 -> 300 -> 100 -> 10, ReLU, every weight maskable.

    Weights are drawn from a Gaussian Glorot initialization and biases start at zero, as in the
    paper (Figure 2). Pass ``seed`` (or a ``generator``) for a reproducible initialization.
    """

    def __init__(self, seed: int | None = None, generator: torch.Generator | None = None) -> None:
        super().__init__()
        self.fc1 = MaskedLinear(784, 300)
        self.fc2 = MaskedLinear(300, 100)
        self.fc3 = MaskedLinear(100, 10)
        if seed is not None or generator is not None:
            if generator is None:
                generator = torch.Generator().manual_seed(seed)
            self.load_weights(glorot_weights(generator))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        layers = dict(self.layers())
        return lenet_logits(x, {n: l.weight for n, l in layers.items()},
                            {n: l.bias for n, l in layers.items()}, {n: l.mask for n, l in layers.items()})

    # -- masks ---------------------------------------------------------------------------

    def layers(self) -> Iterator[tuple[str, MaskedLinear]]:
        """``(name, layer)`` for fc1, fc2, fc3."""
        for name in LAYER_NAMES:
            yield name, getattr(self, name)

    def masks(self) -> dict[str, torch.Tensor]:
        """A copy of every layer's mask, as bool tensors."""
        return {name: layer.mask.detach().bool().cpu().clone() for name, layer in self.layers()}

    def set_masks(self, masks: Mapping[str, torch.Tensor]) -> None:
        """Install masks for some or all layers; pruned weights become exactly 0.0."""
        unknown = set(masks) - set(LAYER_NAMES)
        if unknown:
            raise ValueError(f"unknown layer(s) {sorted(unknown)}: expected names from {LAYER_NAMES}")
        # Every mask is checked before any is installed: a refused call leaves the model as it was.
        checked = {name: check_mask(mask, LAYER_SHAPES[name], f"mask for {name}") for name, mask in masks.items()}
        for name, mask in checked.items():
            getattr(self, name).set_mask(mask)

    def load_state_dict(self, state_dict: Mapping[str, torch.Tensor], strict: bool = True, assign: bool = False):
        """``nn.Module.load_state_dict``, refusing masks that are not 0/1 and zeroing pruned weights."""
        for name in LAYER_NAMES:
            if f"{name}.mask" in state_dict:
                check_mask(state_dict[f"{name}.mask"], LAYER_SHAPES[name], f"{name}.mask")
        result = super().load_state_dict(state_dict, strict=strict, assign=assign)
        with torch.no_grad():
            for _, layer in self.layers():
                layer.weight.mul_(layer.mask)
        return result

    def density(self) -> float:
        """Fraction of all weights (biases excluded) that are not pruned."""
        kept = sum(float(layer.mask.sum()) for _, layer in self.layers())
        total = sum(layer.mask.numel() for _, layer in self.layers())
        return kept / total

    # -- weights -------------------------------------------------------------------------

    def weights(self) -> dict[str, torch.Tensor]:
        """A detached CPU copy of every layer's weight (pruned entries read 0.0)."""
        return {name: layer.weight.detach().cpu().clone() for name, layer in self.layers()}

    def load_weights(self, weights: Mapping[str, torch.Tensor], zero_biases: bool = True) -> None:
        """Overwrite the weights (and zero the biases); the masks are applied afterwards."""
        with torch.no_grad():
            for name, layer in self.layers():
                if name in weights:
                    if tuple(weights[name].shape) != tuple(layer.weight.shape):
                        raise ValueError(
                            f"weights for {name} have shape {tuple(weights[name].shape)}, "
                            f"expected {tuple(layer.weight.shape)}"
                        )
                    layer.weight.copy_(weights[name])
                    layer.weight.mul_(layer.mask)
                if zero_biases:
                    layer.bias.zero_()
