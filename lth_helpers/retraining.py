"""Retraining a pruned architecture three ways: the puzzle that motivates the paper (notebook 1).

Prune a trained network once, then train what is left:

* ``fine_tune``: keep the survivors' trained weights and biases and train some more with the
  mask fixed (pruning as practised before the paper, Han et al. 2015);
* ``reinit``: the same mask on fresh random weights: the pruned *architecture* trained from
  scratch, which learns slower and ends less accurate;
* ``ticket``: the same mask on the dense network's own initial weights theta_0: a one-shot
  winning ticket, which does not (notebook 2 finds tickets properly, by iterating).

All networks of one kind train in lockstep as one population, on the same minibatches.

The dense network they all come from is :func:`train_dense`: exactly the dense network of
notebooks 2-5 for the same seed (IMP's round 0: theta_0 from
:func:`~lth_helpers.strategies.theta0_for`, the same minibatches, trainer and schedule).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Mapping, Sequence

import torch

from .data import MNISTData
from .history import History, pack_bits
from .imp import IMPConfig, resolve_device, run_imp
from .models import LAYER_NAMES, LeNet300100, glorot_weights
from .population import LeNetPopulation, train_population
from .pruning import full_masks
from .sizes import Size, get_size
from .stages import train_members
from .strategies import derive_seed, start_state, theta0_for
from .sweeps import TrainedNet, check_method, prune_net
from .training import TrainConfig

__all__ = ["RETRAIN_VARIANTS", "DenseRun", "train_dense", "RetrainResult", "retraining_experiment"]

#: The three ways of training a pruned architecture that notebook 1 compares.
RETRAIN_VARIANTS: tuple[str, ...] = ("fine_tune", "reinit", "ticket")


# ------------------------------------------------------------------------ the dense network


@dataclass
class DenseRun:
    """A trained dense LeNet-300-100 and where it came from.

    Attributes:
        seed: the IMP seed it belongs to (its theta_0 and minibatch order).
        theta0: the initial weights, :func:`~lth_helpers.strategies.theta0_for` ``(seed)``.
        history: its learning curves.
        state: its trained ``state_dict`` (weights, biases and the all-ones masks), on the CPU.
        config: the schedule it was trained with.
        reused: True when it was read from a results store instead of trained.
    """

    seed: int
    theta0: dict[str, torch.Tensor]
    history: History
    state: dict[str, torch.Tensor]
    config: TrainConfig
    reused: bool = False

    def model(self) -> LeNet300100:
        """A fresh :class:`~lth_helpers.models.LeNet300100` holding the trained weights."""
        model = LeNet300100()
        model.load_state_dict(self.state)
        return model

    @cached_property
    def net(self) -> TrainedNet:
        """The trained weights and biases, sorted once, ready to be pruned (:class:`~lth_helpers.sweeps.TrainedNet`)."""
        return TrainedNet({n: self.state[f"{n}.weight"].float() for n in LAYER_NAMES},
                          {n: self.state[f"{n}.bias"].float() for n in LAYER_NAMES})


def _dense_config(seed: int, size: Size | str) -> IMPConfig:
    """IMP's configuration for one seed's dense network (round 0 only) at ``size``'s schedule."""
    size = get_size(size) if isinstance(size, str) else size
    return IMPConfig(size=size.name, strategies=("original",), seeds=(int(seed),), iterations=size.iterations,
                     eval_every=size.eval_every, rounds=0, test_every=size.test_every)


def train_dense(seed: int, data: MNISTData, size: Size | str, results_dir: str | Path | None = None,
                device: str | torch.device | None = None, progress: bool = True) -> DenseRun:
    """The dense network of IMP's seed ``seed`` (round 0 of :func:`~lth_helpers.imp.run_imp`).

    The same theta_0 (``theta0_for(seed)``), the same minibatches (``derive_seed("batches", seed, 0)``),
    the same trainer (a population of one) and the same schedule as notebooks 2-5 use, so the
    numbers are bit for bit those of their seed-``seed`` dense network on the same device.

    With ``results_dir`` it goes through IMP's results store: a dense network already trained
    there (by notebook 2, say) is read instead of trained again, and a new one is saved for them.
    Without it, it trains here and stores nothing.
    """
    config = _dense_config(seed, size)
    theta0 = theta0_for(config.seeds[0])
    if results_dir is not None:
        result = run_imp(config, data, results_dir, progress=progress, device=device, verbose=False)
        tensors = result.store.tensors(config.seeds[0], 0, "original")
        state = {}
        for name in LAYER_NAMES:
            state[f"{name}.weight"] = tensors["final"][name].float()
            state[f"{name}.bias"] = tensors["final_bias"][name].float()
            state[f"{name}.mask"] = torch.ones_like(state[f"{name}.weight"])
        return DenseRun(config.seeds[0], theta0, result.histories[("original", config.seeds[0], 0)], state,
                        config.train_config, reused=result.reused > 0)
    device = resolve_device(device)
    # Exactly what IMP's stage for round 0 does (lth_helpers.stages.Stages.run).
    histories, finals = train_members([start_state(theta0, full_masks(theta0))], data.to(device),
                                      config.train_config, derive_seed("batches", config.seeds[0], 0), device,
                                      progress, f"dense network (seed {config.seeds[0]})")
    return DenseRun(config.seeds[0], theta0, histories[0], finals[0], config.train_config)


@dataclass
class RetrainResult:
    """Pruned architectures retrained three ways (see :data:`RETRAIN_VARIANTS`).

    ``records`` has one dict per trained network: ``variant``, ``density`` (0-1), ``draw``
    (which random reinitialization; 0 otherwise), ``start_test_acc`` (before any training),
    ``iterations``, ``early_stop_iteration``, ``test_acc_at_early_stop``, ``final_test_acc``,
    ``late_minimum`` (the validation minimum fell in the last 10% of training: perhaps cut short),
    and which test digits the network gets right before training (``start_test_correct``) and at
    early stopping (``test_correct``), packed by :func:`~lth_helpers.history.pack_bits`.
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
        _, start_correct = population.evaluate_examples(data.test_x, data.test_y)
        config = TrainConfig(iterations=int(its), eval_every=min(int(eval_every), int(its)))
        histories = train_population(population, data, config, seed=seed, progress=progress, desc=desc)
        for (variant, d, draw, _), correct0, history in zip(members, start_correct.cpu(), histories):
            result.histories[(variant, d, draw)] = history
            summary = history.summary()
            result.records.append({
                "variant": variant, "density": d, "draw": draw,
                "start_test_acc": float(correct0.double().mean()), "start_test_correct": pack_bits(correct0.numpy()),
                "iterations": int(its), **summary,
                "late_minimum": summary["early_stop_iteration"] > 0.9 * int(its),
                "test_correct": history.test_correct_at_early_stop,
            })
    return result
