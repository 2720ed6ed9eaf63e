"""Notebook 1's evidence, part 1: pruning without retraining, compared with 95% intervals.

:class:`Comparison` (a paired accuracy difference over test digits, and draws where there are
any) and the sentences notebook 1 prints about its pruning sweep, global vs. layer-wise pruning
and the first layer's masks. Part 2, the retraining puzzle and the paper-vs-notebook table, is
:mod:`lth_helpers.claims_basics`, which explains why one dense network's intervals are over test
digits and draws only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np
import torch

from .data import MNISTData
from .history import unpack_bits
from .intervals import accuracy_interval
from .models import lenet_logits
from .pixels import pixel_survival_stats
from .sweeps import TrainedNet, prune_net

__all__ = ["Comparison", "compare", "pruned_correct", "sweep_text", "pruned_comparison_text", "border_range",
           "pixel_text", "NOT_COMPARED", "METHOD_NAMES"]

#: The verdict of a row that quotes the paper for reference but tests no claim of it.
NOT_COMPARED = "not compared"

METHOD_NAMES = {"layerwise": "layer-wise (paper's rates)", "uniform": "layer-wise (same rate everywhere)",
                "global": "global magnitude"}


def _pct(density: float) -> str:
    return f"{100 * density:.1f}%"


def _as_bool(correct) -> np.ndarray:
    return unpack_bits(correct) if isinstance(correct, str) else np.asarray(correct, dtype=bool)


# ---------------------------------------------------------------------------- comparisons


@dataclass(frozen=True)
class Comparison:
    """Test accuracy of ``ours`` minus ``theirs`` (fractions), paired over test digits and draws.

    Attributes:
        ours, theirs: what is compared (e.g. ``"reinit"`` and ``"fine_tune"``).
        density: fraction of the weights ``ours`` keeps.
        mean: mean accuracy difference over the pairs.
        low, high: its 95% paired bootstrap interval over pairs and test digits.
        pairs: how many pairs of networks (the fresh-init draws, or 1).
        positive, negative: how many pairs have a difference above, below zero.
        digits: how many test digits each network was tested on.
        late: how many of the networks compared reached their validation minimum in the last 10%
            of training (perhaps cut short).
    """

    ours: str
    theirs: str
    density: float
    mean: float
    low: float
    high: float
    pairs: int
    positive: int
    negative: int
    digits: int
    late: int = 0

    @property
    def verdict(self) -> str:
        """``"higher"`` or ``"lower"`` when the interval excludes zero, else ``"unresolved"``."""
        return "higher" if self.low > 0 else "lower" if self.high < 0 else "unresolved"

    def text(self) -> str:
        """``-1.10 points [-1.62, -0.58], 2/2 draws`` (the count only when there are several pairs)."""
        f = lambda v: f"{100 * v:+.2f}"  # noqa: E731
        out = f"{f(self.mean)} points [{f(self.low)}, {f(self.high)}]"
        if self.pairs > 1:
            agree = self.positive if self.mean > 0 else self.negative if self.mean < 0 else 0
            out += f", {agree}/{self.pairs} draws agree"
        if self.late:
            out += f", {self.late} cut short"
        return out

    def sentence(self, higher: str, lower: str) -> str:
        """``higher`` or ``lower`` (what the effect is, in words) with the interval, when it is resolved;
        otherwise "not resolved at this size" with the interval."""
        said = {"higher": higher, "lower": lower}.get(self.verdict)
        return f"{said} ({self.text()})" if said else f"not resolved at this size ({self.text()})"


def compare(ours: Sequence, theirs: Sequence, ours_name: str, theirs_name: str, density: float,
            late: int = 0) -> Comparison:
    """Pair ``ours[i]`` with ``theirs[i]`` (which test digits each network gets right) and resample.

    A side with one network is paired with every network of the other side (the ticket with each
    fresh-init draw, say); otherwise both sides must have as many networks.
    """
    ours, theirs = [_as_bool(c) for c in ours], [_as_bool(c) for c in theirs]
    if len(ours) == 1 and len(theirs) > 1:
        ours = ours * len(theirs)
    if len(theirs) == 1 and len(ours) > 1:
        theirs = theirs * len(ours)
    mean, low, high = accuracy_interval(ours, theirs)
    per_pair = np.array([a.mean() - b.mean() for a, b in zip(ours, theirs)])
    return Comparison(ours_name, theirs_name, float(density), mean, low, high, len(per_pair),
                      int((per_pair > 0).sum()), int((per_pair < 0).sum()), len(ours[0]), late)


def _single(correct) -> tuple[float, float, float]:
    """One network's accuracy and its 95% bootstrap interval over test digits (its difference from
    a network that gets nothing right)."""
    correct = _as_bool(correct)
    return accuracy_interval([correct], [np.zeros_like(correct)])


def _accuracy_text(correct) -> str:
    acc, low, high = _single(correct)
    return f"{100 * acc:.1f}% [{100 * low:.1f}, {100 * high:.1f}]"


# --------------------------------------------------------------- pruning without retraining


@torch.no_grad()
def pruned_correct(net: TrainedNet, data: MNISTData, density: float, method: str = "layerwise") -> np.ndarray:
    """Which test digits ``net`` gets right, pruned once to ``density`` by ``method`` (no retraining)."""
    masks = prune_net(net, 1.0 - density, method)[0] if density < 1.0 else None
    logits = lenet_logits(data.test_x, net.weights, net.biases, masks)
    return (logits.argmax(1) == data.test_y).cpu().numpy()


def _first_loss(net: TrainedNet, data: MNISTData, densities: Sequence[float], method: str,
                dense: np.ndarray) -> tuple[float | None, Comparison | None]:
    """Going sparser: the last density with no loss resolved against the unpruned network, and the
    comparison at the first density with one (``None`` if there is none)."""
    last_ok = None
    for d in sorted(densities, reverse=True):
        c = compare([pruned_correct(net, data, d, method)], [dense], method, "dense", d)
        if c.verdict == "lower":
            return last_ok, c
        last_ok = d
    return last_ok, None


def sweep_text(net: TrainedNet, data: MNISTData, densities: Sequence[float],
               methods: Sequence[str] = ("layerwise", "uniform", "global")) -> str:
    """For each method, how far down pruning without retraining goes before it costs accuracy
    (pruned minus unpruned, paired over the test digits), as Markdown bullets."""
    dense = pruned_correct(net, data, 1.0)
    lines = []
    for method in methods:
        last_ok, loss = _first_loss(net, data, densities, method, dense)
        if loss is None:
            said = f"no loss resolved at any density down to {_pct(min(densities))}"
        else:
            below = f"{-100 * loss.mean:.1f} points below the unpruned network ({loss.text()})"
            said = (f"no loss resolved down to {_pct(last_ok)}; at {_pct(loss.density)} it is {below}"
                    if last_ok is not None and last_ok < 1.0 else f"already at {_pct(loss.density)} it is {below}")
        lines.append(f"* **{METHOD_NAMES[method]}**: {said}.")
    return "\n".join(lines)


def pruned_comparison_text(net: TrainedNet, data: MNISTData, density: float,
                           ours: str = "global", theirs: str = "layerwise") -> str:
    """One sentence: ``ours`` minus ``theirs``, both pruned to ``density`` without retraining."""
    c = compare([pruned_correct(net, data, density, ours)], [pruned_correct(net, data, density, theirs)],
                ours, theirs, density)
    a, b = METHOD_NAMES[ours], METHOD_NAMES[theirs]
    return (f"Without retraining, at {_pct(density)}, {a} minus {b}: "
            + c.sentence(f"{a} is the more accurate", f"{b} is the more accurate") + ".")


# -------------------------------------------------------------------------- first-layer masks


def border_range(mask_fc1: torch.Tensor, pixel_std: torch.Tensor) -> tuple[float, float]:
    """The 95% range of the blank pixels' ratio (see :func:`~lth_helpers.pixels.pixel_survival_stats`)
    under a uniformly random mask of the same density: kept weights drawn without replacement."""
    total = mask_fc1.numel()
    kept = int(mask_fc1.bool().sum())
    n = int((pixel_std.flatten() < 1e-6).sum()) * mask_fc1.shape[0]  # weights on always-blank pixels
    d = kept / total
    if n == 0 or d == 0:
        return float("nan"), float("nan")
    # Hypergeometric: the number of kept weights among those n has mean n d and this spread.
    sd = np.sqrt(n * d * (1 - d) * (total - n) / max(total - 1, 1)) / (n * d)
    return 1 - 1.96 * sd, 1 + 1.96 * sd


def pixel_text(masks: Mapping[str, torch.Tensor], pixel_std: torch.Tensor) -> str:
    """For each labelled first-layer mask: do the always-blank pixels keep fewer units than a random
    mask of the same density would? Markdown bullets with the random mask's 95% range."""
    lines = []
    for label, mask in masks.items():
        s = pixel_survival_stats(mask, pixel_std)
        low, high = border_range(mask, pixel_std)
        ratio = f"{s['blank_ratio']:.2f}x the units a random mask would keep (random masks: {low:.2f}x-{high:.2f}x)"
        verdict = ("fewer than at random: pruning thins the border" if s["blank_ratio"] < low else
                   "more than at random" if s["blank_ratio"] > high else
                   "within the random range: no preference resolved")
        lines.append(f"* **{label}**: the {s['blank_pixels']} always-blank pixels keep {ratio}, {verdict}; "
                     f"the other pixels {s['ink_ratio']:.2f}x; correlation of units kept with the pixel std "
                     f"{s['correlation']:.2f}.")
    return "\n".join(lines)


# ------------------------------------------------------------------------------- the puzzle
