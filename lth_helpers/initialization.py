"""Initializations for the controls: plain Glorot reinitialization and its fan-corrected variant.

Glorot & Bengio (2010) pick the weight std of a layer from its fan-in and fan-out,
``sqrt(2 / (fan_in + fan_out))``, so that activations and gradients keep their scale from
layer to layer. A sub-network that keeps a fraction ``d`` of a layer's weights has, per unit,
only about ``d`` times the dense fans. Glorot *for the sub-network* would therefore prescribe
weights about ``1/sqrt(d)`` times larger than the dense network's initialization. The
``fan_corrected`` control draws each surviving weight with the std that Glorot's formula gives
for the fans of the two units it actually connects.
"""

from __future__ import annotations

import math
from typing import Mapping

import torch

from .models import LAYER_SHAPES, glorot_std, glorot_weights

__all__ = [
    "effective_fans",
    "fan_corrected_std",
    "subnetwork_glorot_std",
    "reinit_weights",
    "fan_corrected_weights",
]


def effective_fans(mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-unit fans of a masked layer whose weight has shape (out, in).

    Returns ``(fan_in, fan_out)``: ``fan_in[i]`` counts the surviving weights into output unit
    ``i`` (shape ``(out,)``); ``fan_out[j]`` counts those leaving input unit ``j`` (``(in,)``).
    """
    mask = mask.bool()
    return mask.sum(1), mask.sum(0)


def fan_corrected_std(mask: torch.Tensor) -> torch.Tensor:
    """Per-weight Glorot std from the fans of the two units each surviving weight connects.

    Entry ``(i, j)`` is ``sqrt(2 / (fan_in[i] + fan_out[j]))`` where the weight survives and 0
    where it is pruned.
    """
    fan_in, fan_out = effective_fans(mask)
    total = fan_in.unsqueeze(1).double() + fan_out.unsqueeze(0).double()
    std = torch.sqrt(2.0 / total.clamp(min=1.0))
    return torch.where(mask.bool(), std, torch.zeros_like(std)).float()


def subnetwork_glorot_std(mask: torch.Tensor) -> float:
    """The layer-level std the fan-corrected init prescribes: RMS of the per-weight stds.

    For a layer pruned uniformly to density ``d`` this is close to
    ``glorot_std(d * fan_in, d * fan_out) = dense std / sqrt(d)``.
    """
    std = fan_corrected_std(mask)
    kept = mask.bool()
    if not kept.any():
        return 0.0
    return math.sqrt(float((std[kept].double() ** 2).mean()))


def reinit_weights(masks: Mapping[str, torch.Tensor], generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
    """Fresh Gaussian Glorot weights (dense fans), zero where ``masks`` prune."""
    fresh = glorot_weights(generator)
    return {name: fresh[name] * masks[name].to(fresh[name].dtype) for name in LAYER_SHAPES}


def fan_corrected_weights(masks: Mapping[str, torch.Tensor],
                          generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
    """Fresh Gaussian weights with the sub-network's own per-unit Glorot std (see module doc)."""
    out = {}
    for name, shape in LAYER_SHAPES.items():
        noise = torch.randn(*shape, generator=generator)
        out[name] = noise * fan_corrected_std(masks[name])
    return out


def ticket_scale_weights(masks: Mapping[str, torch.Tensor], theta0: Mapping[str, torch.Tensor],
                         generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
    """Fresh Gaussian weights whose per-layer std is that of the ticket's own surviving theta_0
    values (the magnitude-selected survivors are wider than a Glorot draw), zero where pruned."""
    out = {}
    for name, shape in LAYER_SHAPES.items():
        kept = theta0[name][masks[name].bool()]
        std = float(kept.std()) if kept.numel() > 1 else float(kept.abs().sum())
        out[name] = torch.randn(*shape, generator=generator) * std * masks[name].to(theta0[name].dtype)
    return out


def shuffled_values(masks: Mapping[str, torch.Tensor], theta0: Mapping[str, torch.Tensor],
                    new_masks: Mapping[str, torch.Tensor], generator: torch.Generator | None = None
                    ) -> dict[str, torch.Tensor]:
    """The ticket's surviving theta_0 values of each layer, shuffled onto ``new_masks`` (which keep
    as many weights per layer): the ticket's values without its structure."""
    out = {}
    for name in LAYER_SHAPES:
        values = theta0[name][masks[name].bool()]
        placed = torch.zeros_like(theta0[name])
        placed[new_masks[name].bool()] = values[torch.randperm(values.numel(), generator=generator)]
        out[name] = placed
    return out


def dense_glorot_std(layer: str) -> float:
    """The std of the paper's (dense) Glorot initialization for ``layer``."""
    fan_out, fan_in = LAYER_SHAPES[layer]
    return glorot_std(fan_in, fan_out)
