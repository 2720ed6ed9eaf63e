"""Pruning a trained network once, at many sparsities, and retraining the result (notebook 1).

Before the lottery ticket hypothesis, pruning was something done *after* training: train a
dense network, remove the weights of smallest magnitude, fine-tune what is left (Han et al.,
2015). This module holds the pure computations behind that story:

* :class:`TrainedNet` wraps a trained LeNet-300-100's weights and biases and evaluates any
  set of masks on it with three matrix multiplies, no retraining. That is what makes a sweep
  over 20 sparsities, or a slider that re-prunes on every tick, take milliseconds.
* :func:`prune` turns one number, the fraction of all weights to remove, into masks, by one of
  three :data:`METHODS`: the paper's layer-wise proportions, the same rate in every layer, or a
  single global magnitude threshold. :func:`prune_net` gives the same masks for a
  :class:`TrainedNet`, from its presorted weights.
* :func:`sweep` evaluates the pruned network at many densities; each record also says how the
  method spread the pruning over the layers (``layer_density``).
* :func:`pixel_survival` and :func:`pixel_survival_stats` read the first layer's mask as
  28x28 receptive fields.
* :func:`retraining_experiment` retrains the sparse networks three ways (fine-tuning the
  pruned weights, a fresh random initialization, a reset to the original initialization)
  and trains all of them at once with :func:`~lth_helpers.population.train_population`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

import torch
import torch.nn.functional as F

from .data import MNISTData
from .models import LAYER_NAMES, LeNet300100, glorot_weights
from .population import LeNetPopulation, train_population
from .pruning import (
    PAPER_RATES,
    check_rate,
    expected_density,
    global_magnitude_masks,
    layerwise_magnitude_masks,
    mask_stats,
)
from .training import History, TrainConfig

__all__ = [
    "METHODS",
    "METHOD_LABELS",
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
    "sweep_table",
    "pixel_survival",
    "pixel_survival_stats",
    "sparse_state",
    "RETRAIN_VARIANTS",
    "RETRAIN_LABELS",
    "RetrainResult",
    "retraining_experiment",
    "paper_comparison",
]

Masks = dict[str, torch.Tensor]

#: How one overall prune rate is shared out among the layers.
#: ``layerwise``: the paper's proportions (output layer pruned at half the hidden layers' rate
#: per round); ``uniform``: the same fraction of every layer; ``global``: one magnitude
#: threshold for all weights of the network, whatever layer they are in.
METHODS: tuple[str, ...] = ("layerwise", "uniform", "global")

METHOD_LABELS: dict[str, str] = {
    "layerwise": "layer-wise (paper's rates)",
    "uniform": "layer-wise (same rate everywhere)",
    "global": "global magnitude",
}


def check_method(method: str) -> str:
    """Return ``method`` if it is one of :data:`METHODS`; otherwise raise ``ValueError``."""
    if method not in METHODS:
        raise ValueError(f"unknown pruning method {method!r}: expected one of {METHODS}")
    return method


# ---------------------------------------------------------------------------- the network


@dataclass(frozen=True)
class TrainedNet:
    """The weights and biases of a LeNet-300-100, ready to be pruned and evaluated at any sparsity.

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

    @torch.no_grad()
    def logits(self, x: torch.Tensor, masks: Mapping[str, torch.Tensor] | None = None) -> torch.Tensor:
        """Outputs for inputs ``x`` of shape (n, 784), with pruned weights set to zero."""
        h = x
        for i, name in enumerate(LAYER_NAMES):
            w = self.weights[name]
            if masks is not None and name in masks:
                w = w * masks[name].to(w.dtype)
            h = F.linear(h, w, self.biases[name])
            if i < len(LAYER_NAMES) - 1:
                h = h.relu()
        return h

    def evaluate(self, x: torch.Tensor, y: torch.Tensor,
                 masks: Mapping[str, torch.Tensor] | None = None) -> tuple[float, float]:
        """Mean cross-entropy loss and accuracy (0-1) on ``(x, y)`` under ``masks``."""
        return _loss_acc(self.logits(x, masks), y)


def _loss_acc(logits: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    return float(F.cross_entropy(logits, y)), float((logits.argmax(1) == y).double().mean())


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
    # One forward pass over validation and test together: half the calls into the BLAS.
    n_val = len(data.val_y)
    logits = net.logits(torch.cat([data.val_x, data.test_x]), masks)
    val_loss, val_acc = _loss_acc(logits[:n_val], data.val_y)
    test_loss, test_acc = _loss_acc(logits[n_val:], data.test_y)
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


def sweep_table(records: Sequence[dict], densities: Sequence[float] | None = None, metric: str = "test_acc") -> str:
    """A plain-text table of a sweep: one row per density, one column per method (``metric`` in %).

    ``densities`` picks rows (the nearest record to each); default: every density swept.
    """
    if not records:
        raise ValueError("no records: pass the list sweep() returns")
    methods = [m for m in METHODS if any(r["method"] == m for r in records)]
    if densities is None:
        densities = sorted({round(r["density"], 6) for r in records}, reverse=True)
    head = f"{'% weights':>9} | " + " | ".join(f"{METHOD_LABELS[m]:>33}" for m in methods)
    lines = [head, "-" * len(head)]
    for d in densities:
        cells = []
        for m in methods:
            row = min((r for r in records if r["method"] == m), key=lambda r: abs(r["density"] - d))
            cells.append(f"{100 * row[metric]:>32.1f}%")
        lines.append(f"{100 * d:>9.1f} | " + " | ".join(cells))
    return "\n".join(lines)


def pixel_survival(mask_fc1: torch.Tensor) -> torch.Tensor:
    """How many of the 300 first-layer units still see each input pixel: a (28, 28) tensor."""
    if tuple(mask_fc1.shape) != (300, 784):
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


# ----------------------------------------------------------------------------- retraining

#: The three ways of training a pruned architecture that notebook 1 compares.
RETRAIN_VARIANTS: tuple[str, ...] = ("fine_tune", "reinit", "ticket")

RETRAIN_LABELS: dict[str, str] = {
    "fine_tune": "pruned + fine-tuned (trained weights kept)",
    "reinit": "same mask, fresh random init",
    "ticket": "same mask, reset to $\\theta_0$",
}


def sparse_state(weights: Mapping[str, torch.Tensor], masks: Mapping[str, torch.Tensor],
                 biases: Mapping[str, torch.Tensor] | None = None) -> dict[str, torch.Tensor]:
    """A ``LeNet300100`` state dict with these weights, masks and biases (zero if not given)."""
    state = {}
    for name in LAYER_NAMES:
        mask = masks[name].bool()
        state[f"{name}.weight"] = weights[name].detach().float() * mask
        state[f"{name}.bias"] = (biases[name].detach().float().clone() if biases is not None
                                 else torch.zeros(weights[name].shape[0]))
        state[f"{name}.mask"] = mask.float()
    return state


@dataclass
class RetrainResult:
    """Pruned architectures retrained three ways (see :data:`RETRAIN_VARIANTS`).

    ``records`` has one dict per trained network: ``variant``, ``density`` (0-1), ``draw``
    (which random reinitialization; 0 otherwise), ``start_test_acc`` (before any training),
    ``iterations``, ``early_stop_iteration``, ``test_acc_at_early_stop``, ``final_test_acc``.
    ``histories`` holds the learning curves under the key ``(variant, density, draw)``.
    """

    method: str
    densities: list[float]
    records: list[dict] = field(default_factory=list)
    histories: dict[tuple[str, float, int], History] = field(default_factory=dict)

    def select(self, variant: str | None = None, density: float | None = None) -> list[dict]:
        """Records matching ``variant`` and/or ``density`` (compared to 1e-9)."""
        return [r for r in self.records
                if (variant is None or r["variant"] == variant)
                and (density is None or abs(r["density"] - density) < 1e-9)]

    def mean(self, variant: str, density: float, key: str = "test_acc_at_early_stop") -> float:
        """Mean of ``key`` over the records of one variant at one density."""
        rows = self.select(variant, density)
        if not rows:
            raise ValueError(f"no records for variant {variant!r} at density {density!r}")
        return sum(r[key] for r in rows) / len(rows)

    def table(self, metric: str = "test_acc_at_early_stop") -> str:
        """A plain-text table: one row per density, ``metric`` per variant (mean over draws).

        ``metric`` is ``test_acc_at_early_stop``, ``final_test_acc``, ``start_test_acc`` (before
        any training; all printed in %) or ``early_stop_iteration``. The "pruned" column is the
        network before fine-tuning.
        """
        choices = ("test_acc_at_early_stop", "final_test_acc", "start_test_acc", "early_stop_iteration")
        if metric not in choices:
            raise ValueError(f"unknown metric {metric!r}: expected one of {choices}")
        names = {"fine_tune": "fine-tuned", "reinit": "fresh init", "ticket": "reset to theta_0"}
        head = f"{'% weights':>9} | {'pruned':>7} | " + " | ".join(f"{names[v]:>16}" for v in RETRAIN_VARIANTS)
        lines = [head, "-" * len(head)]
        for d in self.densities:
            pruned = self.select("fine_tune", d)[0]["start_test_acc"]
            cells = []
            for variant in RETRAIN_VARIANTS:
                value = self.mean(variant, d, metric)
                cells.append(f"{value:>16,.0f}" if metric == "early_stop_iteration" else f"{100 * value:>15.1f}%")
            lines.append(f"{100 * d:>9.1f} | {100 * pruned:>6.1f}% | " + " | ".join(cells))
        return "\n".join(lines)


def retraining_experiment(net: TrainedNet, theta0: Mapping[str, torch.Tensor], data: MNISTData,
                          densities: Sequence[float], iterations: int, finetune_iterations: int,
                          eval_every: int = 50, method: str = "layerwise", reinit_draws: int = 1,
                          seed: int = 0, progress: bool = True) -> RetrainResult:
    """Prune ``net`` once at each density, then train the pruned architecture three ways.

    * ``fine_tune``: keep the trained weights and biases of the survivors, train for
      ``finetune_iterations`` more with the mask fixed (pruning as practised before the paper).
    * ``reinit``: the same mask on fresh Gaussian Glorot weights (``reinit_draws`` draws),
      trained for ``iterations`` (the dense network's budget).
    * ``ticket``: the same mask on the dense network's own initial weights ``theta0``, trained
      for ``iterations``: a one-shot winning ticket (notebook 2 does this properly).

    All networks see the same minibatches (``seed``) and are trained in lockstep, the
    fine-tuned ones in one population and the from-scratch ones in another.
    """
    check_method(method)
    if reinit_draws < 1:
        raise ValueError(f"reinit_draws must be >= 1, got {reinit_draws!r}")
    for name, value in (("iterations", iterations), ("finetune_iterations", finetune_iterations)):
        if int(value) < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    densities = [float(d) for d in densities]
    for d in densities:
        if not (0.0 < d <= 1.0):
            raise ValueError(f"densities must be in (0, 1], got {d!r}")

    result = RetrainResult(method=method, densities=densities)
    fine_members: list[tuple[str, float, int, dict]] = []
    scratch_members: list[tuple[str, float, int, dict]] = []
    for i, d in enumerate(densities):
        masks, _ = prune_net(net, 1.0 - d, method)
        fine_members.append(("fine_tune", d, 0, sparse_state(net.weights, masks, net.biases)))
        scratch_members.append(("ticket", d, 0, sparse_state(theta0, masks)))
        for draw in range(reinit_draws):
            # A generator per (density, draw): the draws do not depend on the list of densities' order.
            gen = torch.Generator().manual_seed(10_007 * (seed + 1) + 101 * i + draw)
            scratch_members.append(("reinit", d, draw, sparse_state(glorot_weights(gen), masks)))

    for members, its, desc in ((fine_members, finetune_iterations, "fine-tuning"),
                               (scratch_members, iterations, "training from scratch")):
        population = LeNetPopulation([m[3] for m in members])
        _, start_acc = population.evaluate(data.test_x, data.test_y)
        config = TrainConfig(iterations=int(its), eval_every=min(int(eval_every), int(its)))
        histories = train_population(population, data, config, seed=seed, progress=progress, desc=desc)
        for (variant, d, draw, _), acc0, history in zip(members, start_acc.tolist(), histories):
            result.histories[(variant, d, draw)] = history
            result.records.append({
                "variant": variant, "density": d, "draw": draw, "start_test_acc": acc0,
                "iterations": int(its), **history.summary(),
            })
    return result


# ---------------------------------------------------------------------- paper comparison


def _nearest(records: Sequence[dict], method: str, density: float) -> dict:
    rows = [r for r in records if r["method"] == method]
    if not rows:
        raise ValueError(f"no sweep records for method {method!r}")
    return min(rows, key=lambda r: abs(r["density"] - density))


def paper_comparison(history: History, records: Sequence[dict], retrain: RetrainResult,
                     data: MNISTData, compare_density: float = 0.07) -> str:
    """Notebook 1's "paper vs. this notebook" table as Markdown, filled in from this run.

    Args:
        history: the dense network's training history.
        records: the no-retraining sweep (must include ``layerwise`` and ``global``).
        retrain: the retraining experiment.
        data: the data the run used (for its size).
        compare_density: where to compare layer-wise and global pruning without retraining.
    """
    pct = lambda v: f"{100 * v:.1f}%"  # noqa: E731
    dense = history.test_acc_at_early_stop
    lowest = min(retrain.densities)
    fine = retrain.select("fine_tune", lowest)[0]
    fresh = "; ".join(
        f"{pct(d)}: {pct(retrain.mean('reinit', d))} vs. {pct(retrain.mean('fine_tune', d))}" for d in retrain.densities)
    ticket = "; ".join(
        f"{pct(d)}: {pct(retrain.mean('ticket', d))} at it. {retrain.mean('ticket', d, 'early_stop_iteration'):,.0f} "
        f"(fresh init: it. {retrain.mean('reinit', d, 'early_stop_iteration'):,.0f})" for d in retrain.densities)
    ticket += f"; dense: {pct(dense)} at it. {history.early_stop_iteration:,}"
    lw, gl = _nearest(records, "layerwise", compare_density), _nearest(records, "global", compare_density)
    rows = [
        ("Dense LeNet-300-100, test accuracy at early stopping",
         "about 98% (Fig. 3; 55,000 training digits, 50,000 iterations)",
         f"{pct(dense)} (iteration {history.early_stop_iteration:,} of {history.iterations[-1]:,}; "
         f"{len(data.train_y):,} training digits)"),
        ("Pruning, then retraining the survivors",
         "over 90% of the weights removed without losing accuracy (Section 1); LeNet-300-100 at about "
         "1/12 of its weights (Han et al. 2015)",
         f"at {pct(lowest)} of the weights: {pct(fine['start_test_acc'])} right after pruning, "
         f"{pct(fine['test_acc_at_early_stop'])} after {fine['iterations']:,} iterations of fine-tuning "
         f"(dense: {pct(dense)})"),
        ("The pruned architecture trained from a fresh random initialization",
         "learns slower and ends less accurate than the original network (Section 1, Fig. 1); reinitialized "
         "tickets fall behind from about 21.1% remaining (Fig. 4)",
         f"fresh init vs. fine-tuned, test accuracy at early stopping: {fresh}"),
        ("The same architecture reset to the original initialization (a one-shot ticket)",
         "one-shot tickets more accurate than the dense network for 95.0% \u2265 P<sub>m</sub> \u2265 5.17% "
         "and faster for 67.5% \u2265 P<sub>m</sub> \u2265 17.6% (Section 2, Fig. 4c)",
         f"{ticket}"),
        ("Layer-wise vs. global magnitude pruning",
         "layer-wise for LeNet; global for VGG-19 and ResNet-18, where layer-wise pruning makes the small "
         "layers bottlenecks (Section 4)",
         f"no retraining, at {pct(lw['density'])}: layer-wise {pct(lw['test_acc'])}, global "
         f"{pct(gl['test_acc'])}; global leaves fc1 {pct(gl['layer_density']['fc1'])}, fc2 "
         f"{pct(gl['layer_density']['fc2'])}, fc3 {pct(gl['layer_density']['fc3'])}"),
    ]
    lines = ["| | paper (LeNet-300-100, MNIST) | this notebook (this run) |", "|---|---|---|"]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in rows]
    return "\n".join(lines)
