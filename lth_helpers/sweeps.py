"""Pruning a trained network once, at many sparsities, without retraining (notebook 1).

Before the lottery ticket hypothesis, pruning was something done *after* training: train a
dense network, remove the weights of smallest magnitude, fine-tune what is left (Han et al.,
2015). This module holds the first half of that story as pure functions:

* :class:`TrainedNet` holds a trained LeNet-300-100's weights and biases, sorted by magnitude
  once, so that pruning them at any rate is a single comparison. That is what makes a sweep
  over 20 sparsities, or a slider that re-prunes on every tick, take milliseconds.
* :func:`prune` turns one number, the fraction of all weights to remove, into masks, by one of
  three :data:`METHODS`: the paper's layer-wise proportions, the same rate in every layer, or a
  single global magnitude threshold. :func:`prune_net` gives the same masks for a
  :class:`TrainedNet`, from its presorted weights.
* :func:`prune_and_evaluate` and :func:`sweep` evaluate the pruned network (with
  :func:`~lth_helpers.models.lenet_logits` and :func:`~lth_helpers.training.evaluate`, the
  package's one forward pass and one evaluation); each record also says how the method spread
  the pruning over the layers (``layer_density``).

Retraining the pruned networks is :mod:`lth_helpers.retraining`; the first layer's masks read
as images are :mod:`lth_helpers.pixels`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

import torch

from .data import MNISTData
from .models import LAYER_NAMES, LeNet300100, lenet_logits
from .pruning import (
    PAPER_RATES,
    check_rate,
    expected_density,
    global_magnitude_masks,
    layerwise_magnitude_masks,
    mask_stats,
)
from .training import evaluate

__all__ = [
    "METHODS",
    "TrainedNet",
    "PruneResult",
    "check_method",
    "paper_rounds_for_density",
    "layer_rates",
    "prune",
    "prune_net",
    "prune_and_evaluate",
    "default_densities",
    "sweep",
]

Masks = dict[str, torch.Tensor]

#: How one overall prune rate is shared out among the layers.
#: ``layerwise``: the paper's proportions (output layer pruned at half the hidden layers' rate
#: per round); ``uniform``: the same fraction of every layer; ``global``: one magnitude
#: threshold for all weights of the network, whatever layer they are in.
METHODS: tuple[str, ...] = ("layerwise", "uniform", "global")


def check_method(method: str) -> str:
    """Return ``method`` if it is one of :data:`METHODS`; otherwise raise ``ValueError``."""
    if method not in METHODS:
        raise ValueError(f"unknown pruning method {method!r}: expected one of {METHODS}")
    return method


# ---------------------------------------------------------------------------- the network


@dataclass(frozen=True)
class TrainedNet:
    """The weights and biases of a trained LeNet-300-100, ready to be pruned at any sparsity.

    On creation it sorts the weights by magnitude once, per layer and over the whole network.
    After that, pruning the ``n`` smallest weights is a single comparison with the sorted
    order (:meth:`smallest_pruned`), which is what makes a slider that re-prunes on every tick
    responsive. The masks are the same as :func:`~lth_helpers.pruning.magnitude_mask` and
    :func:`~lth_helpers.pruning.global_magnitude_masks` give (trained weights have no ties in
    magnitude; where exact ties exist, either choice is a valid magnitude mask).

    Attributes:
        weights: ``{layer: (out, in) tensor}`` for fc1, fc2, fc3 (CPU, float32).
        biases: ``{layer: (out,) tensor}``.
    """

    weights: dict[str, torch.Tensor]
    biases: dict[str, torch.Tensor]
    # Filled in by __post_init__: rank of every weight's magnitude (0 = smallest) within its
    # layer and within the whole network, and the sorted magnitudes (for thresholds).
    _layer_rank: dict[str, torch.Tensor] = field(default_factory=dict, init=False, repr=False, compare=False)
    _layer_sorted: dict[str, torch.Tensor] = field(default_factory=dict, init=False, repr=False, compare=False)
    _global_rank: dict[str, torch.Tensor] = field(default_factory=dict, init=False, repr=False, compare=False)
    _global_sorted: list[torch.Tensor] = field(default_factory=list, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        missing = [n for n in LAYER_NAMES if n not in self.weights or n not in self.biases]
        if missing:
            raise ValueError(f"weights and biases are needed for every layer of {LAYER_NAMES}; missing {missing}")
        for name in LAYER_NAMES:
            magnitude = self.weights[name].detach().abs().flatten()
            order = torch.argsort(magnitude, stable=True)
            self._layer_rank[name] = _ranks(order).view_as(self.weights[name])
            self._layer_sorted[name] = magnitude[order]
        pooled = torch.cat([self.weights[n].detach().abs().flatten() for n in LAYER_NAMES])
        order = torch.argsort(pooled, stable=True)
        ranks = _ranks(order)
        start = 0
        for name in LAYER_NAMES:
            size = self.weights[name].numel()
            self._global_rank[name] = ranks[start:start + size].view_as(self.weights[name])
            start += size
        self._global_sorted.append(pooled[order])

    @classmethod
    def from_model(cls, model: LeNet300100) -> "TrainedNet":
        """Copy a model's current weights and biases (its masks are already applied to them)."""
        weights = model.weights()
        biases = {name: layer.bias.detach().cpu().clone() for name, layer in model.layers()}
        return cls(weights, biases)

    def smallest_pruned(self, n_prune: Mapping[str, int] | int) -> Masks:
        """Masks without the ``n_prune`` smallest-magnitude weights.

        ``n_prune`` per layer (a dict: layer-wise pruning) or for the whole network (an int:
        global pruning, one threshold for all layers).
        """
        if isinstance(n_prune, Mapping):
            return {name: self._layer_rank[name] >= int(n_prune[name]) for name in LAYER_NAMES}
        return {name: self._global_rank[name] >= int(n_prune) for name in LAYER_NAMES}

    def threshold(self, n_prune: int, layer: str | None = None) -> float:
        """The largest magnitude among the ``n_prune`` smallest (of ``layer``, or of all weights)."""
        values = self._global_sorted[0] if layer is None else self._layer_sorted[layer]
        return float(values[int(n_prune) - 1]) if n_prune > 0 else 0.0


def _ranks(order: torch.Tensor) -> torch.Tensor:
    """Inverse permutation: ``ranks[order[i]] = i``."""
    ranks = torch.empty_like(order)
    ranks[order] = torch.arange(len(order))
    return ranks


# --------------------------------------------------------------------------------- masks


def paper_rounds_for_density(density: float, rates: Mapping[str, float] = PAPER_RATES) -> float:
    """The (fractional) number of rounds ``n`` of the paper's schedule that leaves ``density``.

    Solves ``expected_density(n) = density`` by bisection. Whole numbers give the paper's
    checkpoints: 51.3% is n = 3, 21.1% is n = 7, 3.6% is n = 15.
    """
    if not (0.0 < density <= 1.0):
        raise ValueError(f"density must be in (0, 1], got {density!r}")
    lo, hi = 0.0, 1.0
    while expected_density(hi, rates) > density:  # expected_density falls with n
        hi *= 2.0
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        if expected_density(mid, rates) > density:
            lo = mid
        else:
            hi = mid
    return hi if density < 1.0 else 0.0


def layer_rates(prune_rate: float, method: str = "layerwise") -> dict[str, float]:
    """Per-layer prune rates that remove ``prune_rate`` of all weights (``layerwise``/``uniform``).

    ``layerwise`` keeps the paper's proportions: a layer pruned at rate ``p`` per round keeps
    ``(1 - p)^n`` of its weights after ``n`` rounds, and ``n`` is chosen (fractionally) so that
    the whole network keeps ``1 - prune_rate``. The output layer therefore keeps more than the
    hidden layers (0.9^n against 0.8^n). ``uniform`` prunes every layer at ``prune_rate``.
    """
    rate = check_rate(prune_rate)
    check_method(method)
    if method == "global":
        raise ValueError("method 'global' has no per-layer rates: use prune() or global_magnitude_masks()")
    if method == "uniform":
        return {name: rate for name in LAYER_NAMES}
    n = paper_rounds_for_density(1.0 - rate)
    return {name: 1.0 - (1.0 - PAPER_RATES[name]) ** n for name in LAYER_NAMES}


def prune(weights: Mapping[str, torch.Tensor], prune_rate: float, method: str = "layerwise") -> Masks:
    """Masks that remove ``prune_rate`` (in [0, 1)) of all weights, smallest magnitudes first.

    See :data:`METHODS` for how the pruning is shared out among the layers.
    """
    rate = check_rate(prune_rate)
    check_method(method)
    if method == "global":
        return global_magnitude_masks(weights, rate)
    return layerwise_magnitude_masks(weights, layer_rates(rate, method))


@dataclass
class PruneResult:
    """One network pruned once: its masks and what they do to it.

    Attributes:
        method: how the pruning was shared out (:data:`METHODS`).
        prune_rate: the fraction of all weights asked to be removed.
        masks: the masks (True = kept).
        density: fraction of all weights kept (0-1).
        layer_density: the same per layer.
        thresholds: per layer, the largest magnitude that was pruned (0.0 if none was).
        val_acc, val_loss, test_acc, test_loss: the pruned network, not retrained.
    """

    method: str
    prune_rate: float
    masks: Masks
    density: float
    layer_density: dict[str, float]
    thresholds: dict[str, float]
    val_acc: float
    val_loss: float
    test_acc: float
    test_loss: float

    def record(self) -> dict:
        """Everything but the masks, as a plain dict (one row of a sweep)."""
        return {
            "method": self.method, "prune_rate": self.prune_rate, "density": self.density,
            "layer_density": dict(self.layer_density), "thresholds": dict(self.thresholds),
            "val_acc": self.val_acc, "val_loss": self.val_loss,
            "test_acc": self.test_acc, "test_loss": self.test_loss,
        }


def prune_net(net: TrainedNet, prune_rate: float, method: str = "layerwise") -> tuple[Masks, dict[str, float]]:
    """:func:`prune` for a :class:`TrainedNet`, in about a millisecond, plus the thresholds.

    Returns ``(masks, thresholds)``; ``thresholds[layer]`` is the largest magnitude that was
    pruned in that layer's ranking (layer-wise methods) or in the whole network's (``global``:
    then it is the same number for every layer). 0.0 when nothing was pruned.
    """
    rate = check_rate(prune_rate)
    check_method(method)
    if method == "global":
        # The same count pruning.global_magnitude_masks removes.
        n = round(rate * sum(w.numel() for w in net.weights.values()))
        cut = net.threshold(n)
        return net.smallest_pruned(n), {name: cut for name in LAYER_NAMES}
    rates = layer_rates(rate, method)
    # The same count pruning.magnitude_mask removes from a dense layer.
    counts = {name: round(rates[name] * net.weights[name].numel()) for name in LAYER_NAMES}
    return net.smallest_pruned(counts), {name: net.threshold(counts[name], name) for name in LAYER_NAMES}


def prune_and_evaluate(net: TrainedNet, data: MNISTData, prune_rate: float,
                       method: str = "layerwise") -> PruneResult:
    """Prune ``net`` once at ``prune_rate`` and evaluate it on the validation and test sets.

    No retraining: this is the pure function under the notebook's slider, and it takes a few
    milliseconds on a CPU.
    """
    masks, thresholds = prune_net(net, prune_rate, method)
    stats = mask_stats(masks)

    def pruned(x: torch.Tensor) -> torch.Tensor:  # the trained network with these masks
        return lenet_logits(x, net.weights, net.biases, masks)

    val_loss, val_acc = evaluate(pruned, data.val_x, data.val_y)
    test_loss, test_acc = evaluate(pruned, data.test_x, data.test_y)
    return PruneResult(
        method=method, prune_rate=float(prune_rate), masks=masks, density=stats["density"],
        layer_density={n: v["density"] for n, v in stats["layers"].items()},
        thresholds=thresholds,
        val_acc=val_acc, val_loss=val_loss, test_acc=test_acc, test_loss=test_loss,
    )


def default_densities(rounds: int = 20) -> list[float]:
    """Densities (0-1) of the paper's schedule after 0, 1, ..., ``rounds`` rounds (20 rounds: 1.2%)."""
    if rounds < 0:
        raise ValueError(f"rounds must be >= 0, got {rounds}")
    return [expected_density(n) for n in range(rounds + 1)]


def sweep(net: TrainedNet, data: MNISTData, densities: Sequence[float] | None = None,
          methods: Sequence[str] = ("layerwise", "global")) -> list[dict]:
    """Prune ``net`` once at every density (fraction kept, in (0, 1]) by every method; no retraining.

    Returns one :meth:`PruneResult.record` per (method, density), in that order.
    """
    densities = default_densities() if densities is None else list(densities)
    for d in densities:
        if not (0.0 < d <= 1.0):
            raise ValueError(f"densities must be in (0, 1], got {d!r}")
    records = []
    for method in methods:
        check_method(method)
        for d in densities:
            records.append(prune_and_evaluate(net, data, 1.0 - d, method).record())
    return records
