"""Scales and shapes of a ticket's weights: initial values, effective fans, Glorot's prescription.

* The shape of theta_0 restricted to the ticket (the paper's Appendix F.1: it becomes bimodal,
  away from zero, as pruning proceeds): :func:`bimodality_coefficient`,
  :func:`near_zero_fraction`, :func:`initial_value_shape`.
* Effective fans: a sub-network that keeps a fraction ``d`` of a layer has, per unit, about
  ``d`` times the dense fans, so Glorot's rule for the *sub*-network asks for weights about
  ``1/sqrt(d)`` larger (:func:`fan_statistics`, :func:`fan_table`, :func:`dead_units`).
* Scales: the ticket's initial and trained weights against those prescriptions
  (:func:`init_scale_rows`, :func:`trained_scale_rows`), and the signal a masked network passes
  forward at initialization (:func:`activation_scales`).

Pure functions of ``{layer: tensor}`` dicts, computed in float64 (notebooks 4 and 5).
"""

from __future__ import annotations

import math
from typing import Mapping

import torch

from .initialization import dense_glorot_std, effective_fans, subnetwork_glorot_std
from .models import LAYER_NAMES, LAYER_SHAPES
from .movement import split_by_mask

__all__ = [
    "GAUSSIAN_NEAR_ZERO",
    "bimodality_coefficient",
    "near_zero_fraction",
    "initial_value_shape",
    "fan_statistics",
    "fan_table",
    "dead_units",
    "rms",
    "init_scale_rows",
    "trained_scale_rows",
    "activation_scales",
]

Weights = Mapping[str, torch.Tensor]
Masks = Mapping[str, torch.Tensor]

#: P(|z| < 0.5) for a standard normal z: the share of a Gaussian within half a std of zero.
GAUSSIAN_NEAR_ZERO: float = math.erf(0.5 / math.sqrt(2.0))


# -------------------------------------------------------------- shape of initial values


def bimodality_coefficient(values: torch.Tensor) -> float:
    """Sarle's bimodality coefficient ``(skewness^2 + 1) / kurtosis`` (population moments).

    A Gaussian gives 1/3, a uniform distribution 5/9 (about 0.556), and a distribution with two
    separated peaks approaches 1 (two equal spikes give exactly 1). Values above 5/9 are
    the usual hint of bimodality.

    Raises:
        ValueError: fewer than 2 values, or all values equal.
    """
    x = values.flatten().double()
    if x.numel() < 2:
        raise ValueError(f"need at least 2 values, got {x.numel()}")
    centred = x - x.mean()
    var = float((centred ** 2).mean())
    if var == 0.0:
        raise ValueError("all values are equal: the shape of the distribution is undefined")
    skew = float((centred ** 3).mean()) / var ** 1.5
    kurt = float((centred ** 4).mean()) / var ** 2
    return (skew ** 2 + 1.0) / kurt


def near_zero_fraction(values: torch.Tensor, scale: float, width: float = 0.5) -> float:
    """Share of ``values`` with ``|v| < width * scale``.

    With ``scale`` the std of the Gaussian they were drawn from and ``width=0.5``, an unbiased
    subset gives about :data:`GAUSSIAN_NEAR_ZERO` (0.383); a subset that avoids zero gives less.
    """
    if scale <= 0 or width <= 0:
        raise ValueError(f"scale and width must be positive, got scale={scale!r}, width={width!r}")
    x = values.flatten()
    if x.numel() == 0:
        return math.nan
    return float((x.abs() < width * scale).double().mean())


def initial_value_shape(theta0: Weights, masks_by_round: Mapping[int, Masks]) -> list[dict]:
    """How theta_0 restricted to the ticket is distributed, per layer and round.

    Rows with ``layer``, ``round``, ``density`` (of the layer), ``n``, ``rms_ratio`` (RMS of the
    ticket's initial values over the dense Glorot std), ``bimodality`` (see
    :func:`bimodality_coefficient`) and ``near_zero`` (share within half a dense std of zero;
    0.383 for a random subset).
    """
    rows = []
    for round_, masks in sorted(masks_by_round.items()):
        for name in LAYER_NAMES:
            if name not in masks or name not in theta0:
                continue
            mask = masks[name].bool()
            values = theta0[name][mask]
            std = dense_glorot_std(name)
            rows.append({
                "layer": name, "round": round_, "density": float(mask.double().mean()), "n": values.numel(),
                "rms_ratio": rms(values) / std,
                "bimodality": bimodality_coefficient(values) if values.numel() > 1 else math.nan,
                "near_zero": near_zero_fraction(values, std),
            })
    return rows


# ---------------------------------------------------------------------------------- fans


def fan_statistics(mask: torch.Tensor) -> dict[str, float]:
    """Effective fans of one masked layer (weight shape ``(out, in)``), summarized.

    Returns ``density``, the dense fans ``dense_fan_in`` (= in) and ``dense_fan_out`` (= out),
    and for ``fan_in`` (per output unit) and ``fan_out`` (per input unit): ``_mean``,
    ``_median``, ``_min``, ``_max``, ``_cv`` (std / mean, 0 for a perfectly even mask; over the
    units with a non-zero fan) and ``_zero`` (units left with no connection at all).
    ``uniform_fan_in``/``uniform_fan_out`` are what a perfectly even mask of this density would
    give every unit (``density`` times the dense fan).
    """
    if mask.dim() != 2:
        raise ValueError(f"mask must be 2-D (out, in), got shape {tuple(mask.shape)}")
    fan_in, fan_out = effective_fans(mask)
    out_units, in_units = mask.shape
    density = float(mask.bool().double().mean())
    stats: dict[str, float] = {"density": density, "dense_fan_in": in_units, "dense_fan_out": out_units,
                               "uniform_fan_in": density * in_units, "uniform_fan_out": density * out_units}
    for label, fans in (("fan_in", fan_in), ("fan_out", fan_out)):
        f = fans.double()
        alive = f[f > 0]
        stats[f"{label}_mean"] = float(f.mean())
        stats[f"{label}_median"] = float(f.median())
        stats[f"{label}_min"] = float(f.min())
        stats[f"{label}_max"] = float(f.max())
        stats[f"{label}_cv"] = float(alive.std(unbiased=False) / alive.mean()) if alive.numel() else math.nan
        stats[f"{label}_zero"] = int((f == 0).sum())
    return stats


def fan_table(masks: Masks) -> list[dict]:
    """:func:`fan_statistics` for every layer of ``masks``, as rows with a ``layer`` key."""
    return [{"layer": name, **fan_statistics(masks[name])} for name in LAYER_NAMES if name in masks]


def dead_units(masks: Masks) -> dict[str, int]:
    """Units a LeNet mask cuts off.

    * ``inputs_unused``: pixels with no surviving weight into the first hidden layer;
    * ``hidden1_no_input`` / ``hidden2_no_input``: hidden units with no incoming weight (they
      output a constant, ReLU of their bias);
    * ``hidden1_no_output`` / ``hidden2_no_output``: hidden units with no outgoing weight
      (whatever they compute never reaches the output);
    * ``outputs_no_input``: classes whose logit is a constant.
    """
    for name in LAYER_NAMES:
        if name not in masks:
            raise ValueError(f"masks must have every LeNet layer {LAYER_NAMES}, missing {name!r}")
    fans = {name: effective_fans(masks[name]) for name in LAYER_NAMES}
    return {
        "inputs_unused": int((fans["fc1"][1] == 0).sum()),
        "hidden1_no_input": int((fans["fc1"][0] == 0).sum()),
        "hidden1_no_output": int((fans["fc2"][1] == 0).sum()),
        "hidden2_no_input": int((fans["fc2"][0] == 0).sum()),
        "hidden2_no_output": int((fans["fc3"][1] == 0).sum()),
        "outputs_no_input": int((fans["fc3"][0] == 0).sum()),
    }


# -------------------------------------------------------------------------------- scales


def rms(values: torch.Tensor, mask: torch.Tensor | None = None) -> float:
    """Root mean square of ``values`` (where ``mask`` is True, if given); NaN when empty.

    For weights drawn around zero this is their typical size, and for a zero-mean Gaussian it
    estimates the std, which is why it is compared with Glorot's std below.
    """
    x = values if mask is None else split_by_mask(values, mask)[0]
    x = x.flatten().double()
    if x.numel() == 0:
        return math.nan
    return math.sqrt(float((x ** 2).mean()))


def init_scale_rows(theta0: Weights, masks_by_round: Mapping[int, Masks],
                    other_inits: Mapping[int, Mapping[str, Weights]] | None = None) -> list[dict]:
    """Initial scale of the ticket's weights vs. Glorot's prescriptions, per layer and round.

    Rows with ``layer``, ``round``, ``density`` (layer), ``dense_std`` (the paper's Glorot std),
    ``ticket_rms`` (RMS of theta_0 on the ticket), ``subnet_std`` (Glorot for the sub-network's
    own per-unit fans, :func:`~lth_helpers.initialization.subnetwork_glorot_std`) and
    ``uniform_std`` (``dense_std / sqrt(density)``, the even-mask approximation). The ratios
    ``ticket_ratio``, ``subnet_ratio`` and ``uniform_ratio`` divide by ``dense_std``.

    ``other_inits[round][strategy]`` (e.g. the ``reinit`` and ``fan_corrected`` starting weights)
    adds ``<strategy>_rms`` and ``<strategy>_ratio`` columns, to check a control's actual scale.
    """
    rows = []
    for round_, masks in sorted(masks_by_round.items()):
        for name in LAYER_NAMES:
            if name not in masks:
                continue
            mask = masks[name].bool()
            density = float(mask.double().mean())
            dense = dense_glorot_std(name)
            row = {"layer": name, "round": round_, "density": density, "dense_std": dense,
                   "ticket_rms": rms(theta0[name], mask), "subnet_std": subnetwork_glorot_std(mask),
                   "uniform_std": dense / math.sqrt(density) if density > 0 else math.nan}
            for strategy, weights in (other_inits or {}).get(round_, {}).items():
                row[f"{strategy}_rms"] = rms(weights[name], mask)
            # Every scale divided by the dense std: "ticket_rms" -> "ticket_ratio", "subnet_std" -> "subnet_ratio".
            for key in [k for k in row if k != "dense_std" and k.endswith(("_rms", "_std"))]:
                row[key.rsplit("_", 1)[0] + "_ratio"] = row[key] / dense
            rows.append(row)
    return rows


def trained_scale_rows(dense_final: Weights, ticket_final: Weights, ticket: Masks) -> list[dict]:
    """Does a smaller network end up with larger weights? Trained scales, per layer.

    Rows with ``layer``, ``density``, ``dense_rms`` (every weight of the trained dense
    network), ``dense_on_ticket_rms`` (the dense network's trained weights at the ticket's
    positions), ``ticket_rms`` (the ticket's own trained weights), and ``ticket_over_dense``,
    ``dense_on_ticket_over_dense`` and ``uniform_factor`` (``1/sqrt(density)``, what Glorot for the
    sub-network would predict if the trained scale followed the fans).
    """
    rows = []
    for name in LAYER_NAMES:
        if name not in ticket:
            continue
        mask = ticket[name].bool()
        density = float(mask.double().mean())
        dense = rms(dense_final[name])
        row = {"layer": name, "density": density, "dense_rms": dense,
               "dense_on_ticket_rms": rms(dense_final[name], mask), "ticket_rms": rms(ticket_final[name], mask)}
        row["ticket_over_dense"] = row["ticket_rms"] / dense
        row["dense_on_ticket_over_dense"] = row["dense_on_ticket_rms"] / dense
        row["uniform_factor"] = 1.0 / math.sqrt(density) if density > 0 else math.nan
        rows.append(row)
    return rows


def activation_scales(weights: Weights, masks: Masks, x: torch.Tensor) -> dict[str, float]:
    """RMS of each layer's pre-activation for inputs ``x`` (n, 784), biases zero, at initialization.

    Glorot's std is chosen so this stays roughly constant from layer to layer in a dense
    network; in a sparse one with dense-scale weights it shrinks layer after layer. Returns
    ``{"input": rms(x), "fc1": ..., "fc2": ..., "fc3": ...}``.
    """
    if x.dim() != 2 or x.shape[1] != LAYER_SHAPES["fc1"][1]:
        raise ValueError(f"x must have shape (n, {LAYER_SHAPES['fc1'][1]}), got {tuple(x.shape)}")
    out = {"input": rms(x)}
    # lenet_logits returns only the last layer; this probe needs every layer's pre-activation,
    # so it walks the same three layers itself, in float64 (its last layer is tested equal to
    # lenet_logits on float64 weights).
    h = x.double()
    for i, name in enumerate(LAYER_NAMES):
        pre = h @ (weights[name].double() * masks[name].double()).T
        out[name] = rms(pre)
        h = torch.relu(pre) if i < len(LAYER_NAMES) - 1 else pre
    return out
