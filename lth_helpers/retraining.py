"""Retraining a pruned architecture three ways: the puzzle that motivates the paper (notebook 1).

Prune a trained network once, then train what is left:

* ``fine_tune``: keep the survivors' trained weights and biases and train some more with the
  mask fixed (pruning as practised before the paper, Han et al. 2015);
* ``reinit``: the same mask on fresh random weights: the pruned *architecture* trained from
  scratch, which learns slower and ends less accurate;
* ``ticket``: the same mask on the dense network's own initial weights theta_0: a one-shot
  winning ticket, which does not (notebook 2 finds tickets properly, by iterating).

All networks of one kind train in lockstep as one population, on the same minibatches.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

import torch

from .data import MNISTData
from .history import History
from .models import glorot_weights
from .population import LeNetPopulation, train_population
from .strategies import start_state
from .sweeps import TrainedNet, check_method, prune_net
from .training import TrainConfig

__all__ = ["RETRAIN_VARIANTS", "RetrainResult", "retraining_experiment"]

#: The three ways of training a pruned architecture that notebook 1 compares.
RETRAIN_VARIANTS: tuple[str, ...] = ("fine_tune", "reinit", "ticket")


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

    def spread(self, variant: str, density: float, key: str = "test_acc_at_early_stop") -> tuple[float, float, float]:
        """``(mean, min, max)`` of ``key`` over the records (the draws) of one variant at one density."""
        values = [r[key] for r in self.select(variant, density)]
        if not values:
            raise ValueError(f"no records for variant {variant!r} at density {density!r}")
        return sum(values) / len(values), min(values), max(values)

    def mean(self, variant: str, density: float, key: str = "test_acc_at_early_stop") -> float:
        """Mean of ``key`` over the records of one variant at one density."""
        return self.spread(variant, density, key)[0]

    def table(self, metric: str = "test_acc_at_early_stop") -> str:
        """The experiment as a plain-text table (:func:`lth_helpers.tables.retrain_table`)."""
        from .tables import retrain_table  # the table module builds on this one

        return retrain_table(self, metric)


def _check_densities(densities: Sequence[float]) -> list[float]:
    values = [float(d) for d in densities]
    for d in values:
        if not (0.0 < d <= 1.0):
            raise ValueError(f"densities must be in (0, 1], got {d!r}")
    return values


def retraining_experiment(net: TrainedNet, theta0: Mapping[str, torch.Tensor], data: MNISTData,
                          densities: Sequence[float], iterations: int, finetune_iterations: int,
                          eval_every: int = 50, method: str = "layerwise", reinit_draws: int = 1,
                          seed: int = 0, progress: bool = True) -> RetrainResult:
    """Prune ``net`` once at each density, then train the pruned architecture three ways.

    * ``fine_tune``: the survivors' trained weights and biases, ``finetune_iterations`` more;
    * ``reinit``: fresh Gaussian Glorot weights on the same mask (``reinit_draws`` draws),
      trained for ``iterations`` (the dense network's budget);
    * ``ticket``: the dense network's own initial weights ``theta0`` on the same mask, trained
      for ``iterations``.

    All networks see the same minibatches (``seed``); the fine-tuned ones train as one population
    and the from-scratch ones as another.
    """
    check_method(method)
    if reinit_draws < 1:
        raise ValueError(f"reinit_draws must be >= 1, got {reinit_draws!r}")
    for name, value in (("iterations", iterations), ("finetune_iterations", finetune_iterations)):
        if int(value) < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    densities = _check_densities(densities)

    result = RetrainResult(method=method, densities=densities)
    fine_members: list[tuple[str, float, int, dict]] = []
    scratch_members: list[tuple[str, float, int, dict]] = []
    for i, d in enumerate(densities):
        masks, _ = prune_net(net, 1.0 - d, method)
        fine_tuned = start_state(net.weights, masks)
        # Fine-tuning carries on from the trained network: its biases too, not the zeros of an initialization.
        fine_tuned.update({f"{name}.bias": bias.detach().float().clone() for name, bias in net.biases.items()})
        fine_members.append(("fine_tune", d, 0, fine_tuned))
        scratch_members.append(("ticket", d, 0, start_state(theta0, masks)))
        for draw in range(reinit_draws):
            # One generator per (density, draw), so that a draw does not depend on how many came before it.
            gen = torch.Generator().manual_seed(10_007 * (seed + 1) + 101 * i + draw)
            scratch_members.append(("reinit", d, draw, start_state(glorot_weights(gen), masks)))

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
