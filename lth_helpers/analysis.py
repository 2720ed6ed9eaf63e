"""Pure analysis of weights and masks: how weights move, which criterion predicts a winning
ticket, how the ticket's initial values are distributed, effective fans and weight scales.

Every function takes plain tensors (``{layer: tensor}`` dicts as :class:`~lth_helpers.imp.IMPResult`
returns them) or result records, and returns numbers, tensors or lists of row dicts. Nothing
here trains, loads or draws, so each function can be checked on a tensor small enough to work
out by hand (see ``tests/test_analysis.py``).

Vocabulary used throughout (the paper's Appendix F.5):

* *movement* of a weight: ``|theta_final - theta_0|``, how far training took it;
* *growth*: ``|theta_final| - |theta_0|``, positive when training pushed it away from zero;
* the *ticket* at a round: the weights its mask keeps; the *others*: those it prunes.
"""

from __future__ import annotations

import math
from typing import Callable, Iterable, Mapping, Sequence

import numpy as np
import torch

from .initialization import effective_fans, subnetwork_glorot_std
from .models import LAYER_NAMES, LAYER_SHAPES, glorot_std
from .pruning import PAPER_RATES, expected_density

__all__ = [
    "CRITERIA",
    "GAUSSIAN_NEAR_ZERO",
    "closest_round",
    "weight_changes",
    "split_by_mask",
    "movement_summary",
    "roc_auc",
    "top_k_overlap",
    "criterion_scores",
    "survival_prediction",
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
    "paired_differences",
    "compare_at_rounds",
    "paired_tally",
    "average_rows",
    "format_rows",
]

Weights = Mapping[str, torch.Tensor]
Masks = Mapping[str, torch.Tensor]

#: P(|z| < 0.5) for a standard normal z: the share of a Gaussian within half a std of zero.
GAUSSIAN_NEAR_ZERO: float = math.erf(0.5 / math.sqrt(2.0))


# ------------------------------------------------------------------------------ rounds


def closest_round(target: float, rounds: Iterable[int], rates: Mapping[str, float] = PAPER_RATES,
                  minimum: int = 1) -> int:
    """Among the available ``rounds`` (at least ``minimum``), the one whose density is closest to ``target``.

    Densities are those IMP reaches at ``rates`` (:func:`~lth_helpers.pruning.expected_density`).
    A short run (the ``quick`` size has only rounds 0-2) simply gets its sparsest round, so a
    notebook can ask for "the round nearest 3.6%" at every size without crashing. Rounds below
    ``minimum`` are used only when nothing else is available.

    Raises:
        ValueError: ``target`` outside (0, 1] or no rounds given.
    """
    if not isinstance(target, (int, float)) or not (0.0 < float(target) <= 1.0):
        raise ValueError(f"target density must be a fraction in (0, 1], got {target!r}")
    available = sorted(set(int(r) for r in rounds))
    if not available:
        raise ValueError("rounds must name at least one available round, got none")
    eligible = [r for r in available if r >= minimum] or available
    return min(eligible, key=lambda r: (abs(expected_density(r, rates) - target), r))


# ----------------------------------------------------------------------------- movement


def _check_layers(a: Mapping[str, torch.Tensor], b: Mapping[str, torch.Tensor], what: str) -> list[str]:
    names = [n for n in a if n in b]
    if not names:
        raise ValueError(f"{what}: no layer in common (got {sorted(a)} and {sorted(b)})")
    for name in names:
        if tuple(a[name].shape) != tuple(b[name].shape):
            raise ValueError(f"{what}: layer {name} has shapes {tuple(a[name].shape)} and {tuple(b[name].shape)}")
    return names


def weight_changes(theta0: Weights, theta_final: Weights) -> dict[str, dict[str, torch.Tensor]]:
    """Per layer, ``movement = |final - init|`` and ``growth = |final| - |init|`` (same shape as the weight).

    Note ``|growth| <= movement`` always (triangle inequality); they are equal when the weight
    kept its sign and moved straight away from (or towards) zero.
    """
    names = _check_layers(theta0, theta_final, "weight_changes")
    out = {}
    for name in names:
        init, final = theta0[name].double(), theta_final[name].double()
        out[name] = {"movement": (final - init).abs(), "growth": final.abs() - init.abs()}
    return out


def split_by_mask(values: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(values where mask is True, values where it is False)`` as 1-D tensors."""
    if tuple(values.shape) != tuple(mask.shape):
        raise ValueError(f"values of shape {tuple(values.shape)} and mask of shape {tuple(mask.shape)} differ")
    mask = mask.bool()
    return values[mask], values[~mask]


def movement_summary(theta0: Weights, theta_final: Weights, ticket: Masks) -> list[dict]:
    """Movement and growth of ticket weights vs. the others, per layer.

    One row per (layer, group) with ``group`` in ``("ticket", "others")``: ``n``, median and
    mean ``movement``, median ``growth``, and ``grew`` (fraction with growth > 0).
    """
    changes = weight_changes(theta0, theta_final)
    rows = []
    for name, change in changes.items():
        if name not in ticket:
            continue
        for group, index in (("ticket", 0), ("others", 1)):
            movement = split_by_mask(change["movement"], ticket[name])[index]
            growth = split_by_mask(change["growth"], ticket[name])[index]
            n = movement.numel()
            rows.append({
                "layer": name, "group": group, "n": n,
                "movement_median": float(movement.median()) if n else math.nan,
                "movement_mean": float(movement.mean()) if n else math.nan,
                "growth_median": float(growth.median()) if n else math.nan,
                "grew": float((growth > 0).double().mean()) if n else math.nan,
            })
    return rows


# ---------------------------------------------------------------- predicting the ticket


def roc_auc(scores: torch.Tensor, labels: torch.Tensor) -> float:
    """Area under the ROC curve of ``scores`` as a predictor of the boolean ``labels``.

    The probability that a random positive scores higher than a random negative (ties count
    one half), computed from average ranks (the Mann-Whitney U statistic). 1.0 is a perfect
    predictor, 0.5 is chance, 0.0 is perfectly inverted.

    Raises:
        ValueError: shapes differ, or ``labels`` is all True or all False (AUC undefined).
    """
    scores, labels = scores.detach().flatten().double().cpu(), labels.flatten().bool().cpu()
    if scores.numel() != labels.numel():
        raise ValueError(f"scores ({scores.numel()} values) and labels ({labels.numel()}) must have the same size")
    n_pos = int(labels.sum())
    n_neg = labels.numel() - n_pos
    if n_pos == 0 or n_neg == 0:
        raise ValueError(f"AUC needs both classes; got {n_pos} positive and {n_neg} negative labels")
    # Average ranks (1-based) so that tied scores share their rank: one sort, then each run of
    # equal scores gets the mean of the ranks it spans.
    values = scores.numpy()
    order = np.argsort(values)
    sorted_values = values[order]
    starts = np.concatenate(([0], np.flatnonzero(np.diff(sorted_values)) + 1))
    ends = np.concatenate((starts[1:], [values.size]))
    ranks = np.empty(values.size)
    ranks[order] = np.repeat((starts + ends + 1) / 2.0, ends - starts)
    u = float(ranks[labels.numpy()].sum()) - n_pos * (n_pos + 1) / 2
    return u / (n_pos * n_neg)


def top_k_overlap(scores: torch.Tensor, labels: torch.Tensor) -> dict[str, float]:
    """How well the top-``k`` entries by ``scores`` match the ``k`` True ``labels``.

    Returns ``k``, ``precision`` (share of the top-k that is labelled True; here also the
    recall, since both sets have ``k`` members), ``jaccard`` (intersection over union) and
    ``chance`` (the precision a random choice of k would have on average).
    """
    scores, labels = scores.flatten().double(), labels.flatten().bool()
    if scores.numel() != labels.numel():
        raise ValueError(f"scores ({scores.numel()} values) and labels ({labels.numel()}) must have the same size")
    k, n = int(labels.sum()), labels.numel()
    if k == 0:
        raise ValueError("labels must mark at least one entry True")
    top = torch.topk(scores, k).indices
    hits = int(labels[top].sum())
    return {"k": k, "precision": hits / k, "jaccard": hits / (2 * k - hits), "chance": k / n}


#: Criteria for "will this weight be in the ticket", from the dense network's own training.
CRITERIA: dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {
    "final magnitude": lambda init, final: final.abs(),
    "magnitude increase": lambda init, final: final.abs() - init.abs(),
    "movement": lambda init, final: (final - init).abs(),
    "initial magnitude": lambda init, final: init.abs(),
}


def criterion_scores(theta0: torch.Tensor, theta_final: torch.Tensor, criterion: str) -> torch.Tensor:
    """The score a criterion in :data:`CRITERIA` gives each weight of one layer (higher = keep)."""
    if criterion not in CRITERIA:
        raise ValueError(f"unknown criterion {criterion!r}: expected one of {', '.join(CRITERIA)}")
    return CRITERIA[criterion](theta0.double(), theta_final.double())


def survival_prediction(theta0: Weights, theta_final: Weights, ticket: Masks, eligible: Masks | None = None,
                        criteria: Sequence[str] = tuple(CRITERIA)) -> list[dict]:
    """Score every criterion as a predictor of ticket membership, per layer.

    ``theta0``/``theta_final`` come from the *dense* run; ``ticket`` is a later mask. With
    ``eligible`` (e.g. the round-1 mask) only weights it keeps are scored, which asks "among
    the weights still in play, who survives?". Layers where every eligible weight survives
    (or none does) are skipped: there is nothing to predict.

    Returns rows with ``layer``, ``criterion``, ``auc``, ``precision`` (top-k vs. ticket),
    ``jaccard``, ``chance``, ``k`` and ``n`` (eligible weights).
    """
    names = _check_layers(theta0, theta_final, "survival_prediction")
    rows = []
    for name in names:
        if name not in ticket:
            continue
        keep = eligible[name].bool() if eligible is not None else torch.ones_like(ticket[name], dtype=torch.bool)
        labels = ticket[name].bool()[keep]
        if labels.all() or not labels.any():
            continue
        for criterion in criteria:
            scores = criterion_scores(theta0[name], theta_final[name], criterion)[keep]
            overlap = top_k_overlap(scores, labels)
            rows.append({"layer": name, "criterion": criterion, "auc": roc_auc(scores, labels),
                         "n": labels.numel(), **overlap})
    return rows


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
            std = _dense_std(name, theta0[name])
            rows.append({
                "layer": name, "round": round_, "density": float(mask.double().mean()), "n": values.numel(),
                "rms_ratio": rms(values) / std,
                "bimodality": bimodality_coefficient(values) if values.numel() > 1 else math.nan,
                "near_zero": near_zero_fraction(values, std),
            })
    return rows


# ---------------------------------------------------------------------------------- fans


def _dense_std(name: str, weight: torch.Tensor) -> float:
    fan_out, fan_in = weight.shape
    return glorot_std(fan_in, fan_out)


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
            dense = _dense_std(name, theta0[name])
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
    h = x.double()
    for i, name in enumerate(LAYER_NAMES):
        pre = h @ (weights[name].double() * masks[name].double()).T
        out[name] = rms(pre)
        h = torch.relu(pre) if i < len(LAYER_NAMES) - 1 else pre
    return out


# ---------------------------------------------------------------- comparing strategies


def paired_differences(records: Iterable[Mapping], strategy: str, baseline: str,
                       key: str = "test_acc_at_early_stop") -> list[dict]:
    """Per round, ``strategy`` minus ``baseline`` in ``key``, paired by seed (same mask, same batches).

    Rows with ``round``, ``density``, ``mean``, ``min``, ``max`` (over seeds) and ``n`` (seeds that
    have both). Rounds where either strategy is missing are skipped; round 0 (the shared dense
    network) is skipped too.
    """
    by_key: dict[tuple[str, int, int], Mapping] = {}
    for record in records:
        by_key[(record["strategy"], record["seed"], record["round"])] = record
    rounds: dict[int, list[float]] = {}
    density: dict[int, float] = {}
    for (s, seed, round_), record in by_key.items():
        if s != strategy or round_ == 0 or (baseline, seed, round_) not in by_key:
            continue
        rounds.setdefault(round_, []).append(float(record[key]) - float(by_key[(baseline, seed, round_)][key]))
        density[round_] = float(record["density"])
    return [{"round": r, "density": density[r], "mean": sum(v) / len(v), "min": min(v), "max": max(v), "n": len(v)}
            for r, v in sorted(rounds.items())]


def compare_at_rounds(records: Iterable[Mapping], rounds: Iterable[int],
                      strategies: Sequence[str] = ("original", "reinit", "fan_corrected"),
                      baseline: str = "reinit") -> list[dict]:
    """Side-by-side numbers of several strategies at chosen rounds, averaged over seeds.

    One row per round with ``round``, ``density``, and per strategy ``<s>_acc`` (mean test
    accuracy at early stopping, 0-1) and ``<s>_es`` (mean early-stopping iteration); per
    strategy other than ``baseline``, ``<s>_minus_<baseline>`` (mean paired accuracy difference)
    with ``_min``/``_max`` over seeds. Rounds with no record are skipped.
    """
    records = list(records)
    rows = []
    for round_ in sorted(set(int(r) for r in rounds)):
        row: dict = {"round": round_}
        for strategy in strategies:
            group = [r for r in records if r["strategy"] == strategy and r["round"] == round_]
            if not group:
                continue
            row["density"] = float(group[0]["density"])
            row[f"{strategy}_acc"] = sum(r["test_acc_at_early_stop"] for r in group) / len(group)
            row[f"{strategy}_es"] = sum(r["early_stop_iteration"] for r in group) / len(group)
        if "density" not in row:
            continue
        for strategy in strategies:
            if strategy == baseline:
                continue
            diff = next((d for d in paired_differences(records, strategy, baseline) if d["round"] == round_), None)
            if diff is not None:
                name = f"{strategy}_minus_{baseline}"
                row[name], row[name + "_min"], row[name + "_max"] = diff["mean"], diff["min"], diff["max"]
        rows.append(row)
    return rows


def paired_tally(records: Iterable[Mapping], strategy: str, baseline: str, rounds: Iterable[int],
                 key: str = "test_acc_at_early_stop") -> dict[str, float]:
    """Over every (seed, round) in ``rounds``: how often ``strategy`` beats ``baseline`` on ``key``.

    Returns ``n`` pairs, ``wins``, ``ties``, ``losses`` and ``mean`` difference. With a small
    test set a single digit moves accuracy in steps, so ties are common and worth counting.
    """
    wanted = set(int(r) for r in rounds)
    by_key = {(r["strategy"], r["seed"], r["round"]): r for r in records}
    diffs = [float(rec[key]) - float(by_key[(baseline, seed, round_)][key])
             for (s, seed, round_), rec in by_key.items()
             if s == strategy and round_ in wanted and (baseline, seed, round_) in by_key]
    if not diffs:
        raise ValueError(f"no (seed, round) in rounds {sorted(wanted)} has both {strategy!r} and {baseline!r}")
    return {"n": len(diffs), "wins": sum(d > 0 for d in diffs), "ties": sum(d == 0 for d in diffs),
            "losses": sum(d < 0 for d in diffs), "mean": sum(diffs) / len(diffs)}


def average_rows(rows: Iterable[Mapping], by: Sequence[str]) -> list[dict]:
    """Average the numeric fields of ``rows`` over groups with equal ``by`` fields (e.g. over seeds).

    Each output row keeps the ``by`` fields, the mean of every other numeric field, and ``n``.
    Non-numeric fields that are not in ``by`` are dropped.
    """
    groups: dict[tuple, list[Mapping]] = {}
    for row in rows:
        groups.setdefault(tuple(row[b] for b in by), []).append(row)
    out = []
    for values, group in groups.items():
        row = dict(zip(by, values))
        for field in group[0]:
            if field in by or field == "n":
                continue
            numbers = [g[field] for g in group if isinstance(g.get(field), (int, float)) and not isinstance(g.get(field), bool)]
            if len(numbers) == len(group):
                row[field] = sum(numbers) / len(numbers)
        row["n"] = len(group)
        out.append(row)
    return out


def format_rows(rows: Sequence[Mapping], columns: Mapping[str, str]) -> str:
    """A plain-text table: ``columns`` maps each field to a format spec (e.g. ``{"auc": ".3f"}``).

    Headers are the field names; missing values print as ``-``.
    """
    if not columns:
        raise ValueError("columns must name at least one field")
    cells = [[name for name in columns]]
    for row in rows:
        line = []
        for name, spec in columns.items():
            value = row.get(name)
            line.append("-" if value is None or (isinstance(value, float) and math.isnan(value)) else format(value, spec))
        cells.append(line)
    widths = [max(len(c[i]) for c in cells) for i in range(len(columns))]
    lines = ["  ".join(c.rjust(w) for c, w in zip(line, widths)) for line in cells]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)
