"""One-shot pruning: train the dense network once, prune straight to a target density, reset, train.

The paper's comparison for IMP (Section 2; Figure 4's "one-shot" curves): the same density as IMP
round ``n``, reached in a single step from the dense network's trained weights. It shares the
dense network, and the results store, with :func:`lth_helpers.imp.run_imp`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, Sequence

import torch

from .data import MNISTData, load_mnist
from .imp import IMPConfig, _collect, open_experiment, resolve_device
from .pruning import full_masks, layerwise_magnitude_masks, one_shot_rates
from .results import IMPResult
from .stages import Stages
from .strategies import ONE_SHOT, derive_seed, theta0_for

__all__ = ["check_one_shot_rounds", "dense_network", "one_shot_stage", "run_one_shot"]


def check_one_shot_rounds(rounds: Iterable[int]) -> list[int]:
    """The IMP rounds one-shot pruning matches, sorted; ``ValueError`` for anything but ints >= 1."""
    values = list(rounds) if not isinstance(rounds, (str, bytes)) and isinstance(rounds, Iterable) else [rounds]
    if not values or any(not isinstance(r, int) or isinstance(r, bool) or r < 1 for r in values):
        raise ValueError(f"one-shot rounds must be IMP rounds (integers >= 1), got {values!r}")
    return sorted(set(values))


def dense_network(stages: Stages, result: IMPResult | None, seed: int) -> tuple[dict, dict, str]:
    """The dense network of ``seed``, shared with :func:`run_imp` (trained here if IMP has not run
    yet) and added to ``result``: ``(theta_0, its trained weights, its entry's checksum)``."""
    theta0 = theta0_for(seed)
    dense = stages.run(seed, [(0, "original")], {0: full_masks(theta0)}, theta0, None,
                       derive_seed("batches", seed, 0), keep_final=True)
    if result is not None:
        _collect(result, dense)
    return theta0, stages.store.tensors(seed, 0, "original")["final"], dense[(0, "original")].checksum


def one_shot_stage(stages: Stages, config: IMPConfig, seed: int, rounds: Sequence[int],
                   result: IMPResult | None = None) -> dict:
    """Train (or reuse) the one-shot tickets of ``seed`` at every one of ``rounds``, together; add them
    (and the dense network) to ``result`` if given, and return their entries."""
    theta0, final, checksum = dense_network(stages, result, seed)
    masks = {n: layerwise_magnitude_masks(final, one_shot_rates(n, config.rates)) for n in rounds}
    # All requested rounds train together, as in an uninterrupted run (see lth_helpers.stages).
    entries = stages.run(seed, [(n, ONE_SHOT) for n in rounds], masks, theta0, checksum,
                         derive_seed("one_shot batches", seed))
    if result is not None:
        _collect(result, entries)
    return entries


def run_one_shot(config: IMPConfig, rounds: Sequence[int], data: MNISTData | None = None,
                 results_dir: str | Path = "results", progress: bool = True,
                 device: str | torch.device | None = None, verbose: bool = True,
                 workers: int | str = "auto") -> IMPResult:
    """One-shot pruning: train the dense network once, prune straight to the density IMP reaches
    after ``n`` rounds (for each ``n`` in ``rounds``), reset to theta_0 and train.

    Uses the same store as :func:`run_imp` (the dense network is shared); records carry
    ``strategy="one_shot"`` and the IMP round whose density they match. ``workers`` processes train
    the seeds at once, as in :func:`lth_helpers.imp.run_imp`.
    """
    rounds = check_one_shot_rounds(rounds)
    device = resolve_device(device)
    data = data if data is not None else load_mnist()
    stages = open_experiment(config, data, results_dir, device, True, progress)
    result = IMPResult(config=config, data_source=data.source, store=stages.store)
    from .parallel import fill_one_shot

    filled = fill_one_shot(config, rounds, data, results_dir, device, workers, progress, stages)
    for seed in config.seeds:
        one_shot_stage(stages, config, seed, rounds, result)
    # What worker processes trained is read back here, counted as reused: count it as trained.
    result.computed, result.reused = stages.computed + filled, stages.reused - filled
    if verbose:
        print(f"one-shot pruning: {result.computed} network(s) trained, {result.reused} reused "
              f"from {stages.store.directory}")
    return result
