"""What is in a winning ticket? Starting weights that keep one part of the ticket and lose the rest.

Each strategy below keeps the ticket's mask and replaces its surviving theta_0 values by
something that keeps only part of what they carry (Zhou, Lan, Liu & Yosinski, "Deconstructing
Lottery Tickets", NeurIPS 2019; the paper's App. F.7 for noise):

=====================  ============  ========  ====================  ===================
strategy               magnitudes    signs     positions (who gets   exact values
                                               which value)
=====================  ============  ========  ====================  ===================
``original``           theta_0       theta_0   theta_0               yes
``permuted``           theta_0 set   shuffled  shuffled              no
``same_sign_reinit``   fresh Glorot  theta_0   -                     no
``same_sign_constant`` one constant  theta_0   -                     no
``flipped_sign``       theta_0       random    theta_0 (magnitudes)  no
``noisy_<s>``          theta_0 + s sigma of Gaussian noise           no
=====================  ============  ========  ====================  ===================

(``permuted`` moves each value, sign included, to another surviving position of the same layer.)

Every function takes the ticket's masks and theta_0 and returns weights that are exactly zero
where the mask prunes; every random draw comes from the generator it is given, which the IMP
driver derives from ``(strategy, seed, round)``.
"""

from __future__ import annotations

import math
import re
from typing import Mapping

import torch

from .models import LAYER_SHAPES, glorot_std

__all__ = ["CONTENTS", "NOISE_LEVELS", "is_content_strategy", "noise_level", "layer_init_std",
           "permuted_weights", "same_sign_reinit_weights", "same_sign_constant_weights",
           "flipped_sign_weights", "noisy_weights", "content_weights"]

#: Noise levels of the paper's App. F.7, in standard deviations of the layer's initialization.
NOISE_LEVELS: tuple[str, ...] = ("0.5", "1", "2", "3")
#: The ticket-content strategies, in the order notebooks show them (all opt-in).
CONTENTS: tuple[str, ...] = ("permuted", "same_sign_reinit", "same_sign_constant", "flipped_sign",
                             *(f"noisy_{s}" for s in NOISE_LEVELS))

Weights = dict[str, torch.Tensor]
_NOISY = re.compile(r"noisy_(\d+(?:\.\d+)?)")


def noise_level(strategy: str) -> float | None:
    """``s`` of a ``noisy_<s>`` strategy (``noisy_0.5`` gives 0.5); ``None`` for any other name."""
    match = _NOISY.fullmatch(strategy)
    if match is None:
        return None
    value = float(match.group(1))
    return value if 0.0 < value < math.inf else None


def is_content_strategy(strategy: str) -> bool:
    """Whether ``strategy`` is one of this module's (any ``noisy_<s>`` with ``s > 0`` counts)."""
    return strategy in CONTENTS or noise_level(strategy) is not None


def layer_init_std(layer: str) -> float:
    """sigma of the paper's Gaussian Glorot initialization of ``layer`` (dense fans)."""
    fan_out, fan_in = LAYER_SHAPES[layer]
    return glorot_std(fan_in, fan_out)


def _kept(masks: Mapping[str, torch.Tensor], name: str) -> torch.Tensor:
    return masks[name].bool()


def permuted_weights(masks: Mapping[str, torch.Tensor], theta0: Mapping[str, torch.Tensor],
                     generator: torch.Generator) -> Weights:
    """The ticket's surviving theta_0 values, permuted at random among the surviving positions of
    each layer: the same mask and the same multiset of values, every value's position lost."""
    out = {}
    for name in LAYER_SHAPES:
        kept = _kept(masks, name)
        values = theta0[name][kept]
        placed = torch.zeros_like(theta0[name])
        placed[kept] = values[torch.randperm(values.numel(), generator=generator)]
        out[name] = placed
    return out


def same_sign_reinit_weights(masks: Mapping[str, torch.Tensor], theta0: Mapping[str, torch.Tensor],
                             generator: torch.Generator) -> Weights:
    """Fresh Glorot magnitudes, each surviving weight with its theta_0 sign."""
    out = {}
    for name, shape in LAYER_SHAPES.items():
        fresh = torch.randn(*shape, generator=generator).abs() * layer_init_std(name)
        out[name] = fresh * torch.sign(theta0[name]) * _kept(masks, name)
    return out


def same_sign_constant_weights(masks: Mapping[str, torch.Tensor], theta0: Mapping[str, torch.Tensor]) -> Weights:
    """Every surviving weight set to +/- the layer's Glorot sigma, the sign from theta_0 (no randomness)."""
    return {name: layer_init_std(name) * torch.sign(theta0[name]) * _kept(masks, name) for name in LAYER_SHAPES}


def flipped_sign_weights(masks: Mapping[str, torch.Tensor], theta0: Mapping[str, torch.Tensor],
                         generator: torch.Generator) -> Weights:
    """theta_0's magnitudes with random signs (each sign flipped with probability 1/2)."""
    out = {}
    for name, shape in LAYER_SHAPES.items():
        signs = torch.randint(0, 2, shape, generator=generator).float() * 2 - 1
        out[name] = theta0[name].abs() * signs * _kept(masks, name)
    return out


def noisy_weights(masks: Mapping[str, torch.Tensor], theta0: Mapping[str, torch.Tensor], level: float,
                  generator: torch.Generator) -> Weights:
    """theta_0 plus Gaussian noise of ``level`` times the layer's Glorot sigma (paper, App. F.7)."""
    out = {}
    for name, shape in LAYER_SHAPES.items():
        noise = torch.randn(*shape, generator=generator) * (level * layer_init_std(name))
        out[name] = (theta0[name] + noise) * _kept(masks, name)
    return out


def content_weights(strategy: str, masks: Mapping[str, torch.Tensor], theta0: Mapping[str, torch.Tensor],
                    generator: torch.Generator) -> Weights:
    """The starting weights of ticket-content ``strategy`` on the ticket's ``masks``."""
    if strategy == "permuted":
        return permuted_weights(masks, theta0, generator)
    if strategy == "same_sign_reinit":
        return same_sign_reinit_weights(masks, theta0, generator)
    if strategy == "same_sign_constant":
        return same_sign_constant_weights(masks, theta0)
    if strategy == "flipped_sign":
        return flipped_sign_weights(masks, theta0, generator)
    level = noise_level(strategy)
    if level is not None:
        return noisy_weights(masks, theta0, level, generator)
    raise ValueError(f"unknown ticket-content strategy {strategy!r}: expected one of {', '.join(CONTENTS)} "
                     "(or noisy_<s> with s > 0)")
