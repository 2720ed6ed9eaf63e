"""Which weights to keep? One-shot pruning by different criteria, then reset to theta_0 and train.

The paper keeps the weights with the largest *final* magnitude. Zhou, Lan, Liu & Yosinski (2019,
Section 2) tried other scores of a weight's initial value ``w_i`` and final value ``w_f`` in the
trained dense network; this module keeps, in each layer, the weights with the highest score:

* ``large_final``: ``|w_f|`` (the paper's criterion; these records are the ``one_shot`` ones);
* ``magnitude_increase``: ``|w_f| - |w_i|``;
* ``movement``: ``|w_f - w_i|``;
* ``large_init``: ``|w_i|``;
* ``random``: a random score (a random mask of the same per-layer size).

Every mask prunes each layer to the density IMP reaches after ``n`` rounds; the survivors are reset
to theta_0 and trained on the one-shot minibatches. Records carry ``strategy="mask_<criterion>"``
and the IMP round ``n`` whose density they match, in the same store as the IMP run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Mapping, Sequence

import torch

from .data import MNISTData, load_mnist
from .imp import IMPConfig, _collect, open_experiment, resolve_device
from .one_shot import check_one_shot_rounds, dense_network
from .models import LAYER_NAMES
from .pruning import _keep_largest, one_shot_rates
from .results import IMPResult
from .strategies import ONE_SHOT, derive_seed, seeded_generator

__all__ = ["CRITERIA", "SCORES", "check_criteria", "criterion_strategy", "criterion_masks", "run_mask_criteria"]

Tensors = Mapping[str, torch.Tensor]

SCORES: dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {
    "large_final": lambda w_i, w_f: w_f.abs(),
    "magnitude_increase": lambda w_i, w_f: w_f.abs() - w_i.abs(),
    "movement": lambda w_i, w_f: (w_f - w_i).abs(),
    "large_init": lambda w_i, w_f: w_i.abs(),
}
#: Every criterion, the paper's first.
CRITERIA: tuple[str, ...] = (*SCORES, "random")


def criterion_strategy(criterion: str) -> str:
    """The records' strategy name for ``criterion`` (``large_final`` is the paper's one-shot)."""
    return ONE_SHOT if criterion == "large_final" else f"mask_{criterion}"


def criterion_masks(criterion: str, initial: Tensors, final: Tensors, rates: Mapping[str, float],
                    generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
    """Per layer, prune the fraction ``rates[layer]`` of the weights with the lowest score of ``criterion``.

    ``initial`` and ``final`` are the dense network's weights before and after training.
    """
    if criterion not in CRITERIA:
        raise ValueError(f"unknown mask criterion {criterion!r}: expected one of {', '.join(CRITERIA)}")
    masks = {}
    for name in LAYER_NAMES:
        if criterion == "random":
            score = torch.rand(final[name].shape, generator=generator)
        else:
            score = SCORES[criterion](initial[name], final[name])
        everything = torch.ones_like(final[name], dtype=torch.bool)
        masks[name] = _keep_largest(score, everything, round(rates[name] * everything.numel()))
    return masks


def check_criteria(criteria: str | Sequence[str]) -> list[str]:
    """The known criteria among ``criteria`` (a list or comma-separated text), in :data:`CRITERIA` order;
    ``ValueError`` naming the first unknown one."""
    if isinstance(criteria, str):
        criteria = [c.strip() for c in criteria.split(",") if c.strip()]
    unknown = [c for c in criteria if c not in CRITERIA]
    if unknown or not criteria:
        raise ValueError(f"unknown mask criterion {unknown[0] if unknown else criteria!r}: "
                         f"expected some of {', '.join(CRITERIA)}")
    return [c for c in CRITERIA if c in criteria]


def run_mask_criteria(config: IMPConfig, rounds: Sequence[int], criteria: Sequence[str] = CRITERIA,
                      data: MNISTData | None = None, results_dir: str | Path = "results", progress: bool = True,
                      device: str | torch.device | None = None, verbose: bool = True) -> IMPResult:
    """Train one-shot tickets chosen by each of ``criteria`` at the densities of IMP ``rounds``.

    ``large_final`` (the paper's criterion) is :func:`lth_helpers.imp.run_one_shot`'s job: run that
    too to compare with it. The other criteria of one seed train side by side, on the same
    minibatches as the one-shot tickets.
    """
    rounds = check_one_shot_rounds(rounds)
    chosen = [c for c in check_criteria(criteria) if c != "large_final"]
    device = resolve_device(device)
    data = data if data is not None else load_mnist()
    stages = open_experiment(config, data, results_dir, device, True, progress)
    result = IMPResult(config=config, data_source=data.source, store=stages.store)
    for seed in config.seeds:
        theta0, final, checksum = dense_network(stages, result, seed)
        members, masks = [], {}
        for criterion in chosen:
            generator = seeded_generator("mask criterion", criterion, seed)
            for n in rounds:
                strategy = criterion_strategy(criterion)
                members.append((n, strategy))
                masks[(n, strategy)] = criterion_masks(criterion, theta0, final, one_shot_rates(n, config.rates),
                                                       generator)
        if members:
            _collect(result, stages.run(seed, members, masks, theta0, checksum, derive_seed("one_shot batches", seed)))
    result.computed, result.reused = stages.computed, stages.reused
    if verbose:
        print(f"mask criteria: {result.computed} network(s) trained, {result.reused} reused from {stages.store.directory}")
    return result
