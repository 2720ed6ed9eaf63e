"""What each network of an IMP round starts from: the winning ticket and its controls.

At every round IMP hands the ticket's mask to each strategy, which decides the starting
weights (and, for ``random_mask``, the mask):

* ``original``: the winning ticket, survivors reset to theta_0 (the paper's method).
* ``reinit``: the same mask, a fresh Gaussian Glorot initialization (paper, Figure 4).
* ``fan_corrected``: the same mask, fresh weights with the std Glorot prescribes for the
  sub-network's own per-unit fans (see :mod:`lth_helpers.initialization`).
* ``ticket_scale``: the same mask, fresh Gaussian weights with the per-layer std of the ticket's
  own surviving theta_0 values (magnitude pruning keeps the larger ones, so this is wider than
  Glorot): the ticket's *scale* without its values.
* ``random_mask``: the paper's "random sparse network": a random mask with the same per-layer
  density, on theta_0. It loses the ticket's positions *and* its magnitude-selected values.
* ``shuffled``: the ticket's own surviving theta_0 values, shuffled within each layer onto a
  random mask of the same per-layer density: the ticket's values without its structure.

Opt-in, for notebook 6: the ticket-content strategies of :mod:`lth_helpers.ticket_contents`
(``permuted``, ``same_sign_reinit``, ``same_sign_constant``, ``flipped_sign``, ``noisy_<s>``),
which keep the ticket's mask and part of what its theta_0 values carry.

Every random draw is derived from ``(strategy, seed, round)`` alone, so a control's start can
be regenerated exactly for analysis without having been stored.
"""

from __future__ import annotations

import hashlib
from typing import Iterable, Mapping

import torch

from .initialization import fan_corrected_weights, reinit_weights, shuffled_values, ticket_scale_weights
from .models import LAYER_SHAPES, glorot_weights
from .pruning import random_masks_like
from .ticket_contents import CONTENTS, content_weights, is_content_strategy

__all__ = [
    "STRATEGIES",
    "CONTROLS",
    "CONTENTS",
    "check_strategies",
    "ONE_SHOT",
    "derive_seed",
    "seeded_generator",
    "theta0_for",
    "member_start",
    "start_state",
    "start_statistics",
]

STRATEGIES: tuple[str, ...] = ("original", "reinit", "fan_corrected", "ticket_scale", "random_mask", "shuffled")
#: The strategies trained beside the ticket on its mask (everything but ``original``).
CONTROLS: tuple[str, ...] = STRATEGIES[1:]
#: Every strategy a notebook or the command line may ask for, in display order.
KNOWN: tuple[str, ...] = STRATEGIES + CONTENTS
#: Records of one-shot pruning (dense network pruned once, reset to theta_0) carry this strategy.
ONE_SHOT = "one_shot"

Weights = dict[str, torch.Tensor]


def derive_seed(*parts: object) -> int:
    """A 60-bit seed derived from ``parts`` (e.g. ``("reinit", seed, round)``), stable across runs."""
    digest = hashlib.sha256(repr(parts).encode()).hexdigest()
    return int(digest[:15], 16)


def seeded_generator(*parts: object) -> torch.Generator:
    """A CPU generator seeded with :func:`derive_seed` of ``parts``."""
    return torch.Generator().manual_seed(derive_seed(*parts))


def check_strategies(strategies: str | Iterable[str]) -> tuple[str, ...]:
    """``strategies`` (a list, or one comma-separated string) in display order, ``original`` first
    and always included; ``ValueError`` naming the first unknown one."""
    if isinstance(strategies, str):
        strategies = [s.strip() for s in strategies.split(",") if s.strip()]
    strategies = list(strategies)
    for name in strategies:
        if not isinstance(name, str) or not (name in STRATEGIES or is_content_strategy(name)):
            raise ValueError(f"unknown strategy {name!r}: expected one of {', '.join(KNOWN)} (or noisy_<s>, s > 0)")
    extra = sorted({s for s in strategies if s not in KNOWN}, key=lambda s: float(s.split("_")[1]))
    return tuple(s for s in KNOWN if s == "original" or s in strategies) + tuple(extra)


def theta0_for(seed: int) -> Weights:
    """theta_0 of the run with this seed: Gaussian Glorot weights (the paper's initialization)."""
    return glorot_weights(seeded_generator("init", seed))


def member_start(strategy: str, seed: int, round_: int, ticket_masks: Mapping[str, torch.Tensor],
                 theta0: Weights) -> tuple[Weights, dict[str, torch.Tensor]]:
    """Initial ``(weights, masks)`` of one network, given the ticket's mask at that round."""
    if strategy in ("original", ONE_SHOT) or strategy.startswith("mask_"):
        # The ticket, a one-shot ticket, or a one-shot mask of another criterion (lth_helpers.mask_criteria):
        # the given mask on theta_0.
        return theta0, dict(ticket_masks)
    if strategy == "reinit":
        return reinit_weights(ticket_masks, seeded_generator("reinit", seed, round_)), dict(ticket_masks)
    if strategy == "fan_corrected":
        return fan_corrected_weights(ticket_masks, seeded_generator("fan_corrected", seed, round_)), dict(ticket_masks)
    if strategy == "ticket_scale":
        generator = seeded_generator("ticket_scale", seed, round_)
        return ticket_scale_weights(ticket_masks, theta0, generator), dict(ticket_masks)
    if strategy == "random_mask":
        return theta0, random_masks_like(ticket_masks, seeded_generator("random_mask", seed, round_))
    if strategy == "shuffled":
        generator = seeded_generator("shuffled", seed, round_)
        new_masks = random_masks_like(ticket_masks, generator)
        return shuffled_values(ticket_masks, theta0, new_masks, generator), new_masks
    if is_content_strategy(strategy):
        return content_weights(strategy, ticket_masks, theta0, seeded_generator(strategy, seed, round_)), dict(ticket_masks)
    raise ValueError(f"unknown strategy {strategy!r}: expected one of {', '.join(KNOWN)}")


def start_state(weights: Mapping[str, torch.Tensor], masks: Mapping[str, torch.Tensor],
                biases: Mapping[str, torch.Tensor] | None = None) -> dict[str, torch.Tensor]:
    """A :class:`~lth_helpers.models.LeNet300100` ``state_dict`` with these weights and masks and
    zero biases (the paper's initialization; ``biases`` when rewinding to a trained iteration);
    pruned weights are exactly 0.0."""
    state = {}
    for name, (out_features, _) in LAYER_SHAPES.items():
        mask = masks[name].float()
        state[f"{name}.weight"] = weights[name] * mask
        state[f"{name}.bias"] = torch.zeros(out_features) if biases is None else biases[name].clone()
        state[f"{name}.mask"] = mask
    return state


def start_statistics(theta0: Weights, ticket_masks: Mapping[str, torch.Tensor],
                     starts: Mapping[str, tuple[Weights, Mapping[str, torch.Tensor]]]) -> list[dict]:
    """How each strategy's network starts, per layer: rows ``strategy, layer, kept``,
    ``shared_with_ticket`` (fraction of its kept weights the ticket also keeps), ``std_at_start`` and
    ``corr_with_theta0`` (of its starting values with theta_0 at the same positions).

    ``starts`` maps a strategy to its ``(weights, masks)``, as :func:`member_start` returns them.
    """
    rows = []
    for strategy, (weights, masks) in starts.items():
        for name in LAYER_SHAPES:
            kept = masks[name].bool()
            values, original = weights[name][kept].double(), theta0[name][kept].double()
            corr = torch.corrcoef(torch.stack([values, original]))[0, 1] if values.numel() > 1 else torch.tensor(float("nan"))
            rows.append({"strategy": strategy, "layer": name, "kept": int(kept.sum()),
                         "shared_with_ticket": float((kept & ticket_masks[name].bool()).sum() / kept.sum()),
                         "std_at_start": float(values.std()), "corr_with_theta0": float(corr)})
    return rows
