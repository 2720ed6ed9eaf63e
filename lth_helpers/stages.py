"""Idempotent training stages: train a group of networks once, and reuse them ever after.

The IMP driver (:mod:`lth_helpers.imp`) reads like the paper because everything about caching
lives here. A *stage* is one group of networks trained side by side on the same minibatches,
for one seed and round: the winning ticket alone, or the ticket's controls together. Asking for
a stage that the results store already holds (verified, see :mod:`lth_helpers.store`) returns it
without training; otherwise the whole group is trained, and every network is saved the moment
its group finishes.

Why groups are fixed: a network's numbers depend, at float rounding, on which others it was
trained beside (they share wide matrix multiplies). The ticket is therefore always trained in a
group of its own, so the chain of tickets never depends on which controls were asked for, and
each entry records its group, so that a network trained beside other controls is not reused.
"""

from __future__ import annotations

import warnings
from typing import Mapping, Sequence

import torch

from .data import MNISTData
from .history import History
from .models import LAYER_NAMES, LeNet300100
from .population import LeNetPopulation, train_population, train_with_checkpoints
from .pruning import mask_stats
from .store import CorruptResultWarning, Entry, ResultStore
from .strategies import member_start, start_state
from .training import TrainConfig, train

__all__ = ["Stages", "make_record", "train_members"]

Masks = Mapping[str, torch.Tensor]


def make_record(strategy: str, seed: int, round_: int, masks: Mapping[str, torch.Tensor], history: History,
                config: TrainConfig, size: str, data: MNISTData) -> dict:
    """The record of one trained network: what it was, and the numbers the paper reads off it."""
    stats = mask_stats(masks)
    summary = history.summary()
    return {
        "strategy": strategy, "seed": seed, "round": round_,
        "density": stats["density"],
        "layer_density": {name: v["density"] for name, v in stats["layers"].items()},
        **summary,
        # The validation minimum in the last 10% of training: the network may not have converged.
        "late_minimum": summary["early_stop_iteration"] > 0.9 * config.iterations,
        # Which test digits the network gets right at early stopping (lth_helpers.history.pack_bits):
        # what the paired intervals resample.
        "test_correct": history.test_correct_at_early_stop,
        "iterations": config.iterations, "size": size,
        "data_source": data.source, "data": data.describe(),
    }


def train_members(states: list[dict[str, torch.Tensor]], data: MNISTData, config: TrainConfig, batch_seed: int,
                  device: torch.device, progress: bool, desc: str, use_population: bool = True,
                  checkpoints: Sequence[int] = ()) -> tuple[list[History], list[dict[str, torch.Tensor]]]:
    """Train networks side by side (one population) or one by one (the reference loop).

    Returns each network's history and final ``state_dict`` (on the CPU). With ``checkpoints``
    (population only), each final state also holds ``"checkpoints": {iteration: state_dict}``.
    """
    if use_population:
        population = LeNetPopulation(states, device=device)
        if checkpoints:
            histories, captured = train_with_checkpoints(population, data, config, batch_seed, checkpoints,
                                                         progress, desc)
        else:
            histories, captured = train_population(population, data, config, seed=batch_seed, progress=progress,
                                                   desc=desc), {}
        finals = [population.member_state(k) for k in range(population.size)]
        for k, final in enumerate(finals):
            if captured:
                final["checkpoints"] = {it: members[k] for it, members in captured.items()}
        return histories, finals
    if checkpoints:
        raise ValueError("checkpoints (late rewinding) need the population trainer")
    histories, finals = [], []
    for state in states:
        model = LeNet300100().to(device)
        model.load_state_dict(state)
        histories.append(train(model, data, config, seed=batch_seed, progress=progress, desc=desc))
        finals.append({k: v.detach().cpu() for k, v in model.state_dict().items()})
    return histories, finals


class Stages:
    """Trains or reuses groups of networks for one experiment; counts what it did."""

    def __init__(self, store: ResultStore, data: MNISTData, config: TrainConfig, size: str,
                 device: torch.device, use_population: bool = True, progress: bool = True) -> None:
        self.store, self.config, self.size = store, config, size
        self.data, self.device_data = data, data.to(device)
        self.device, self.use_population, self.progress = device, use_population, progress
        self.computed = 0
        self.reused = 0
        self.record_extra: dict = {}  # fields every record of this experiment carries (e.g. its rewind point)

    def run(self, seed: int, members: Sequence[tuple[int, str]], ticket_masks: Mapping[object, Masks],
            theta0: Mapping[str, torch.Tensor], parent: str | None, batch_seed: int,
            keep_final: bool = False, checkpoints: Sequence[int] = (),
            ticket_biases: Mapping[str, torch.Tensor] | None = None) -> dict[tuple[int, str], Entry]:
        """The entries of one group of networks, trained side by side (or reused).

        ``members`` lists ``(round, strategy)`` pairs; each starts as :func:`member_start` says,
        from ``ticket_masks[(round, strategy)]`` if given, else ``ticket_masks[round]``. All members see the minibatches of ``batch_seed``.
        ``keep_final`` saves the trained weights too (the ticket's are pruned next round).
        ``checkpoints`` saves, with the final weights, the weights and biases right after those
        iterations (``tensors["rewind"]``: what late rewinding resets to). ``ticket_biases`` start the
        ticket (``original``) from these biases instead of zeros (rewinding to a trained iteration).
        """
        group = [f"{strategy}@{round_}" for round_, strategy in members]
        # A member's mask is keyed by its round, or by (round, strategy) when members of one round
        # start from different masks (the mask criteria of lth_helpers.mask_criteria).
        starts = [member_start(s, seed, r, ticket_masks.get((r, s), ticket_masks.get(r)), theta0) for r, s in members]
        found = {m: self._verified(self.store.load(seed, m[0], m[1], group, parent), start, theta0)
                 for m, start in zip(members, starts)}
        missing = [m for m in members if found[m] is None]
        self.reused += len(members) - len(missing)
        if not missing:
            return found
        # The whole group is retrained even if only part of it is missing, so that a resumed or
        # repaired run matches an uninterrupted one bit for bit.
        density = 100 * mask_stats(starts[0][1])["density"]
        desc = f"seed {seed} round {members[0][0]} ({density:.1f}%): {', '.join(s for _, s in missing)}"
        states = [start_state(w, m, ticket_biases if strategy == "original" else None)
                  for (w, m), (_, strategy) in zip(starts, members)]
        histories, finals = train_members(states, self.device_data, self.config, batch_seed, self.device,
                                          self.progress, desc, self.use_population, checkpoints)
        for (round_, strategy), (_, masks), history, final in zip(members, starts, histories, finals):
            if (round_, strategy) not in missing:
                continue  # found intact: keep the saved entry
            tensors: dict = {"mask": {n: m.bool() for n, m in masks.items()}}
            if keep_final:
                tensors["final"] = {n: final[f"{n}.weight"] for n in LAYER_NAMES}
                tensors["final_bias"] = {n: final[f"{n}.bias"] for n in LAYER_NAMES}
                tensors["init"] = dict(theta0) if round_ == 0 else None
                if "checkpoints" in final:
                    tensors["rewind"] = {it: {"weight": {n: st[f"{n}.weight"] for n in LAYER_NAMES},
                                              "bias": {n: st[f"{n}.bias"] for n in LAYER_NAMES}}
                                         for it, st in final["checkpoints"].items()}
            record = dict(make_record(strategy, seed, round_, masks, history, self.config, self.size, self.data),
                          **self.record_extra)
            found[(round_, strategy)] = self.store.save(seed, round_, strategy, group, parent, tensors, record,
                                                        history.to_dict())
        self.computed += len(missing)
        return found

    def _verified(self, entry: Entry | None, start: tuple[Masks, Masks],
                  theta0: Mapping[str, torch.Tensor]) -> Entry | None:
        """``entry`` if its stored mask (and theta_0, for the dense network) is the one it must have."""
        if entry is None:
            return None
        tensors = self.store.tensors(entry.seed, entry.round, entry.strategy)
        masks = start[1]
        same = all(torch.equal(tensors["mask"][n], masks[n].bool()) for n in LAYER_NAMES)
        if tensors.get("init") is not None:
            same = same and all(torch.equal(tensors["init"][n], theta0[n]) for n in LAYER_NAMES)
        if same:
            return entry
        warnings.warn(f"ignoring results entry seed {entry.seed}, round {entry.round}, {entry.strategy!r} in "
                      f"{self.store.directory}: its mask or initialization is not the one this seed and round "
                      "start from; recomputing it", CorruptResultWarning, stacklevel=3)
        return None
