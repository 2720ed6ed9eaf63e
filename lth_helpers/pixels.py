"""The first layer's mask read as 28x28 images: which input pixels does pruning keep?

Each of the 300 units of LeNet's first layer has one weight per pixel, so a column of the
``(300, 784)`` mask says how many units still see a pixel. Summed over units this is an image
(notebook 1 draws it), and it can be compared with where the digits actually have ink.
"""

from __future__ import annotations

import torch

__all__ = ["pixel_survival", "pixel_survival_stats"]

_FC1_SHAPE = (300, 784)


def pixel_survival(mask_fc1: torch.Tensor) -> torch.Tensor:
    """How many of the 300 first-layer units still see each input pixel: a (28, 28) tensor."""
    if tuple(mask_fc1.shape) != _FC1_SHAPE:
        raise ValueError(f"expected the first layer's (300, 784) mask, got shape {tuple(mask_fc1.shape)}")
    return mask_fc1.bool().sum(0).view(28, 28)


def pixel_survival_stats(mask_fc1: torch.Tensor, pixel_std: torch.Tensor) -> dict[str, float]:
    """Does first-layer pruning follow the ink? Survival of blank vs. inked pixels.

    Args:
        mask_fc1: the first layer's (300, 784) mask.
        pixel_std: per-pixel standard deviation of the training images (784 values); a pixel
            with zero deviation is blank in every training image.

    Returns:
        ``density`` (fc1's kept fraction), ``blank_pixels`` (how many), ``blank_ratio`` and
        ``ink_ratio`` (mean number of units keeping such a pixel, divided by what a uniformly
        random mask of the same density would keep: 1.0 = no preference), and
        ``correlation`` (Pearson, over pixels, between units kept and ``pixel_std``).
    """
    counts = pixel_survival(mask_fc1).flatten().double()
    std = pixel_std.detach().flatten().double()
    if std.numel() != 784:
        raise ValueError(f"pixel_std must have 784 values, got {std.numel()}")
    density = float(mask_fc1.float().mean())
    if density == 0.0:
        raise ValueError("the first-layer mask keeps no weight at all")
    blank = std < 1e-6
    uniform = 300 * density
    return {
        "density": density,
        "blank_pixels": int(blank.sum()),
        "blank_ratio": float(counts[blank].mean() / uniform) if blank.any() else float("nan"),
        "ink_ratio": float(counts[~blank].mean() / uniform),
        "correlation": float(torch.corrcoef(torch.stack([counts, std]))[0, 1]),
    }
