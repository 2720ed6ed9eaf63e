"""Magnitude pruning, random masks of matching density, and mask statistics.

Masks are dicts ``{layer name: bool tensor}`` with ``True`` for a weight that is kept. Every
function here is pure: it takes weights and masks and returns new masks.

The paper's rule (Section 2, Appendix G): each round prunes ``p%`` of the weights that are
*still remaining* in each layer, those of smallest magnitude; LeNet uses p = 20% for the
hidden layers and half that, 10%, for the output layer. The number pruned is
``round(rate * remaining)``, the same count ``torch.nn.utils.prune`` uses for a fractional
amount.
"""

from __future__ import annotations

import math
from typing import Mapping

import torch

__all__ = [
    "PAPER_RATES",
    "check_rate",
    "magnitude_mask",
    "layerwise_magnitude_masks",
    "global_magnitude_masks",
    "random_masks_like",
    "full_masks",
    "mask_stats",
    "density",
    "expected_density",
    "round_for_density",
    "one_shot_rates",
]

Masks = dict[str, torch.Tensor]

#: The paper's per-round pruning rates for LeNet-300-100.
PAPER_RATES: dict[str, float] = {"fc1": 0.2, "fc2": 0.2, "fc3": 0.1}


def check_rate(rate: float, name: str = "prune rate") -> float:
    """Return ``rate`` as a float if it lies in [0, 1); otherwise raise ``ValueError``."""
    try:
        value = float(rate)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number in [0, 1), got {rate!r}") from None
    if not (0.0 <= value < 1.0) or math.isnan(value):
        raise ValueError(f"{name} must be in [0, 1) (the fraction of remaining weights to prune), got {rate!r}")
    return value


def _check_mask(weight: torch.Tensor, mask: torch.Tensor | None, layer: str = "layer") -> torch.Tensor:
    if mask is None:
        return torch.ones_like(weight, dtype=torch.bool)
    if tuple(mask.shape) != tuple(weight.shape):
        raise ValueError(
            f"mask for {layer} has shape {tuple(mask.shape)}, but its weight has shape "
            f"{tuple(weight.shape)}"
        )
    return mask.to(device=weight.device).bool()


def _keep_largest(scores: torch.Tensor, mask: torch.Tensor, n_prune: int) -> torch.Tensor:
    """Drop the ``n_prune`` kept entries with the smallest ``scores`` from ``mask``."""
    new_mask = mask.clone()
    if n_prune <= 0:
        return new_mask
    kept_idx = mask.flatten().nonzero().squeeze(1)
    kept_scores = scores.flatten()[kept_idx]
    # topk(largest=False) is what torch.nn.utils.prune.l1_unstructured uses: same ties, same result.
    drop = torch.topk(kept_scores, n_prune, largest=False).indices
    new_mask.view(-1)[kept_idx[drop]] = False
    return new_mask


def magnitude_mask(weight: torch.Tensor, rate: float, mask: torch.Tensor | None = None,
                   layer: str = "layer") -> torch.Tensor:
    """Prune ``rate`` of the remaining weights of one layer, smallest ``|weight|`` first.

    Args:
        weight: the layer's weight tensor.
        rate: fraction in [0, 1) of the *currently kept* weights to prune.
        mask: current mask (bool, same shape); ``None`` means nothing is pruned yet.
        layer: name used in error messages.

    Returns:
        The new bool mask; it keeps a subset of what ``mask`` kept.
    """
    rate = check_rate(rate, f"prune rate for {layer}")
    mask = _check_mask(weight, mask, layer)
    n_prune = round(rate * int(mask.sum()))
    return _keep_largest(weight.detach().abs(), mask, n_prune)


def layerwise_magnitude_masks(weights: Mapping[str, torch.Tensor], rates: Mapping[str, float] | float,
                              masks: Mapping[str, torch.Tensor] | None = None) -> Masks:
    """Magnitude-prune every layer separately, each at its own rate (the paper's method).

    ``rates`` is a dict per layer (e.g. :data:`PAPER_RATES`) or one rate for all layers.
    """
    masks = masks or {}
    if not isinstance(rates, Mapping):
        rates = {name: rates for name in weights}
    missing = set(weights) - set(rates)
    if missing:
        raise ValueError(f"no prune rate given for layer(s) {sorted(missing)}")
    return {name: magnitude_mask(w, rates[name], masks.get(name), name) for name, w in weights.items()}


def global_magnitude_masks(weights: Mapping[str, torch.Tensor], rate: float,
                           masks: Mapping[str, torch.Tensor] | None = None) -> Masks:
    """Prune ``rate`` of all remaining weights pooled across layers, smallest ``|weight|`` first.

    Layers with smaller weights (the wide first layer) lose more than the others; compare
    with :func:`layerwise_magnitude_masks`.
    """
    rate = check_rate(rate, "global prune rate")
    masks = masks or {}
    names = list(weights)
    flat_masks = [_check_mask(weights[n], masks.get(n), n).flatten() for n in names]
    scores = torch.cat([weights[n].detach().abs().flatten() for n in names])
    pooled = torch.cat(flat_masks)
    new_pooled = _keep_largest(scores, pooled, round(rate * int(pooled.sum())))
    out, start = {}, 0
    for name in names:
        size = weights[name].numel()
        out[name] = new_pooled[start:start + size].view_as(weights[name]).clone()
        start += size
    return out


def random_masks_like(masks: Mapping[str, torch.Tensor], generator: torch.Generator | None = None) -> Masks:
    """Random masks with exactly the same number of kept weights in every layer."""
    out = {}
    for name, mask in masks.items():
        n_keep = int(mask.sum())
        order = torch.randperm(mask.numel(), generator=generator)
        new = torch.zeros(mask.numel(), dtype=torch.bool)
        new[order[:n_keep]] = True
        out[name] = new.view(mask.shape)
    return out


def full_masks(weights: Mapping[str, torch.Tensor]) -> Masks:
    """Masks that keep everything."""
    return {name: torch.ones_like(w, dtype=torch.bool) for name, w in weights.items()}


def density(masks: Mapping[str, torch.Tensor]) -> float:
    """Fraction of all weights kept, over every layer."""
    kept = sum(int(m.sum()) for m in masks.values())
    total = sum(m.numel() for m in masks.values())
    return kept / total


def mask_stats(masks: Mapping[str, torch.Tensor]) -> dict:
    """Per-layer and overall statistics of a set of masks.

    Returns a dict with ``layers`` (per layer: ``kept``, ``total``, ``density``) and the overall
    ``kept``, ``total`` and ``density`` (fractions in 0-1).
    """
    layers = {}
    for name, mask in masks.items():
        kept = int(mask.sum())
        layers[name] = {"kept": kept, "total": mask.numel(), "density": kept / mask.numel()}
    kept = sum(v["kept"] for v in layers.values())
    total = sum(v["total"] for v in layers.values())
    return {"layers": layers, "kept": kept, "total": total, "density": kept / total}


def _check_rounds(rounds: object) -> float:
    """``rounds`` if it is a number >= 0 (fractional rounds interpolate the schedule)."""
    if not isinstance(rounds, (int, float)) or isinstance(rounds, bool) or not (0 <= rounds < math.inf):
        raise ValueError(f"rounds must be a number >= 0 (IMP rounds), got {rounds!r}")
    return rounds


def _check_rates(rates: Mapping[str, float]) -> dict[str, float]:
    return {name: check_rate(rate, f"prune rate for {name}") for name, rate in rates.items()}


def expected_density(rounds: int, rates: Mapping[str, float] = PAPER_RATES,
                     sizes: Mapping[str, int] | None = None) -> float:
    """Overall fraction of weights left after ``rounds`` rounds of layer-wise pruning.

    For LeNet at the paper's rates this is (265,200 * 0.8^n + 1,000 * 0.9^n) / 266,200: 51.3%
    after 3 rounds, 21.1% after 7, 3.6% after 15.
    """
    rounds, rates = _check_rounds(rounds), _check_rates(rates)
    if sizes is None:
        sizes = {"fc1": 784 * 300, "fc2": 300 * 100, "fc3": 100 * 10}
    total = sum(sizes.values())
    return sum(sizes[n] * (1 - rates[n]) ** rounds for n in sizes) / total


def round_for_density(target: float, rates: Mapping[str, float] = PAPER_RATES) -> tuple[int, float]:
    """The IMP round ``n`` whose density is closest to ``target``, and that density."""
    if not (0.0 < target <= 1.0):
        raise ValueError(f"target density must be in (0, 1], got {target!r}")
    best = min(range(0, 60), key=lambda n: abs(expected_density(n, rates) - target))
    return best, expected_density(best, rates)


def one_shot_rates(rounds: int, rates: Mapping[str, float] = PAPER_RATES) -> dict[str, float]:
    """Per-layer rates that prune, in one step, what ``rounds`` iterative rounds would remove.

    One-shot pruning to the density of IMP round ``n`` prunes ``1 - (1 - p)^n`` of each layer.
    """
    rounds, rates = _check_rounds(rounds), _check_rates(rates)
    return {name: 1.0 - (1.0 - rate) ** rounds for name, rate in rates.items()}
