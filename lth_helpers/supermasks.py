"""Supermasks: how well does a mask classify on its own, applied to weights that were never trained?

Zhou, Lan, Liu & Yosinski (2019, Section 5) observed that a winning ticket's mask, applied to the
*untrained* theta_0, already classifies far above chance (10% for ten digits), and that a mask
chosen to keep weights whose final value is large *and* kept the sign it started with ("large
final, same sign") does even better. Nothing is trained here: each network is evaluated once on
the test set, so the whole analysis takes seconds.

For every seed and round of an IMP run, :func:`supermask_records` evaluates four masked,
untrained networks (biases zero, as at initialization):

* ``ticket_mask``: the ticket's mask on theta_0 (the winning ticket before its training);
* ``ticket_mask_reinit``: the same mask on fresh Glorot weights (the reinit control's start);
* ``random_mask``: a random mask of the same per-layer density on theta_0 (the random sparse
  network's start);
* ``large_final_same_sign``: keeps, in each layer, the weights with the largest final magnitude in
  the trained dense network among those whose sign did not change, at the round's per-layer
  density, on theta_0.

The records look like training records (``strategy``, ``seed``, ``round``, ``density``,
``test_acc_at_early_stop``, ``test_correct``), so the paired intervals of
:mod:`lth_helpers.intervals` apply to them unchanged.
"""

from __future__ import annotations

from typing import Mapping

import torch

from .data import MNISTData
from .history import pack_bits
from .models import LAYER_NAMES, lenet_logits
from .pruning import _keep_largest, mask_stats
from .results import IMPResult
from .strategies import member_start
from .training import evaluate_examples

__all__ = ["SUPERMASKS", "large_final_same_sign_masks", "untrained_accuracy", "supermask_records"]

SUPERMASKS: tuple[str, ...] = ("ticket_mask", "ticket_mask_reinit", "random_mask", "large_final_same_sign")

Tensors = Mapping[str, torch.Tensor]


def large_final_same_sign_masks(initial: Tensors, final: Tensors, keep: Mapping[str, int]) -> dict[str, torch.Tensor]:
    """Per layer, keep the ``keep[layer]`` weights with the largest ``|final|`` among those whose
    sign is the same at the start and the end (Zhou et al.'s "large final, same sign" criterion).

    A layer asked to keep more weights than kept their sign gets only those that did.
    """
    masks = {}
    for name in LAYER_NAMES:
        same_sign = torch.sign(initial[name]) == torch.sign(final[name])
        n_keep = min(int(keep[name]), int(same_sign.sum()))
        masks[name] = _keep_largest(final[name].abs(), same_sign, int(same_sign.sum()) - n_keep)
    return masks


def untrained_accuracy(weights: Tensors, masks: Tensors, data: MNISTData) -> torch.Tensor:
    """Which test digits ``weights * masks`` (zero biases) gets right, as a bool tensor."""
    with torch.no_grad():
        _, correct = evaluate_examples(lambda x: lenet_logits(x, weights, None, masks), data.test_x, data.test_y)
    return correct.cpu()


def _record(kind: str, seed: int, round_: int, masks: Tensors, correct: torch.Tensor, source: str) -> dict:
    return {"strategy": kind, "seed": seed, "round": round_, "density": mask_stats(masks)["density"],
            "test_acc_at_early_stop": float(correct.double().mean()), "test_correct": pack_bits(correct.numpy()),
            "data_source": source}


def supermask_records(result: IMPResult, data: MNISTData, rounds: list[int] | None = None) -> list[dict]:
    """The four supermasks of the module's docstring, for every seed and round (default: all) of
    ``result``'s ticket, evaluated untrained on ``data``'s test set (which must be the run's own)."""
    expected = result.store.settings.get("data_fingerprint") if result.store is not None else None
    if data.source != result.data_source or (expected is not None and expected != data.fingerprint()):
        raise ValueError(f"data {data.describe()!r} is not the data this run was trained on ({result.data_source!r})")
    rows = []
    for seed in sorted({r["seed"] for r in result.select("original")}):
        theta0 = result.theta0(seed)
        dense_final = result.final_weights(seed, 0)
        available = sorted(r["round"] for r in result.select("original", seed=seed))
        for round_ in [n for n in available if rounds is None or n in rounds]:
            ticket = result.masks(seed, round_)
            # The same draws as the reinit and random-mask controls of this seed and round.
            reinit, _ = member_start("reinit", seed, round_, ticket, theta0)
            _, random = member_start("random_mask", seed, round_, ticket, theta0)
            keep = {n: int(ticket[n].sum()) for n in LAYER_NAMES}
            starts = {
                "ticket_mask": (theta0, ticket),
                "ticket_mask_reinit": (reinit, ticket),
                "random_mask": (theta0, random),
                "large_final_same_sign": (theta0, large_final_same_sign_masks(theta0, dense_final, keep)),
            }
            for kind, (weights, masks) in starts.items():
                rows.append(_record(kind, seed, round_, masks, untrained_accuracy(weights, masks, data), data.source))
    return rows
