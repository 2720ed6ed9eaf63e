"""How the dense network's weights move in training, and which of them a winning ticket keeps.

The paper's Appendix F.5 compares, in the dense network's own training, the weights that end up
in a winning ticket with all the others. Vocabulary:

* *movement* of a weight: ``|theta_final - theta_0|``, how far training took it;
* *growth*: ``|theta_final| - |theta_0|``, positive when training pushed it away from zero;
* the *ticket* at a round: the weights its mask keeps; the *others*: those it prunes.

Then: which quantity of the dense run predicts membership of the ticket best (final magnitude,
magnitude increase, movement, initial magnitude), scored by ROC AUC and top-k overlap.

Every function takes plain ``{layer: tensor}`` dicts and returns numbers, tensors or row dicts;
nothing here trains, loads or draws, so each can be checked on tensors small enough to work out
by hand (``tests/test_analysis.py``). Comparisons run in float64.
"""

from __future__ import annotations

import math
from typing import Callable, Mapping, Sequence

import numpy as np
import torch

__all__ = [
    "CRITERIA",
    "weight_changes",
    "split_by_mask",
    "movement_summary",
    "roc_auc",
    "top_k_overlap",
    "criterion_scores",
    "survival_prediction",
]

Weights = Mapping[str, torch.Tensor]
Masks = Mapping[str, torch.Tensor]


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
