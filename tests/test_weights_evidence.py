"""Notebook 4's evidence on hand-built inputs: for each statement, one case where it holds, one
where it fails, and one where the seeds leave it unresolved."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

from lth_helpers import weights_evidence as W
from lth_helpers.claims import FAILS, HOLDS, UNRESOLVED
from lth_helpers.models import LAYER_NAMES

SEEDS = (0, 1, 2)
LABELS = {7: "21.1% ticket", 15: "3.6% ticket"}


def test_interval_verdicts_and_text():
    assert W.interval([1.2, 1.3, 1.25], 1.0)[0] == "higher"
    assert W.interval([0.8, 0.7, 0.9], 1.0)[0] == "lower"
    assert W.interval([0.9, 1.1, 1.0], 1.0)[0] == "unresolved"
    assert W.interval([2.0], 1.0)[0] == "unresolved"         # one seed: no spread, nothing resolved
    verdict, text = W.interval([0.1, 0.2, 0.3])
    assert verdict == "higher" and text.startswith("+0.20 [")
    assert W.interval([1.5, 1.5], 1.0, "x")[1] == "1.50x [1.50, 1.50]"


def movement(ticket: list[float], others: float = 1.0, grew: list[float] | None = None) -> dict:
    """{round: {seed: rows}}, the same per-seed ticket medians (and shares that grew) in every layer."""
    grew = grew or [0.5] * len(SEEDS)
    rows = {s: [row for layer in LAYER_NAMES for row in (
        {"layer": layer, "group": "ticket", "movement_median": ticket[i], "grew": grew[i]},
        {"layer": layer, "group": "others", "movement_median": others, "grew": 0.5})] for i, s in enumerate(SEEDS)}
    return {7: rows}


def test_movement_sentence_holds_fails_unresolved():
    assert "move further than the others in every layer" in W.movement_sentence(movement([1.5, 1.6, 1.4]), LABELS)
    assert "move *less*" in W.movement_sentence(movement([0.5, 0.6, 0.7]), LABELS)
    assert "Not resolved" in W.movement_sentence(movement([0.9, 1.2, 1.0]), LABELS)


def test_growth_sentence_holds_fails_unresolved():
    def said(grew: list[float]) -> str:
        return W.growth_sentence(movement([1.0] * 3, grew=grew), LABELS).split("At this size, ")[1]
    assert said([0.7, 0.75, 0.8]).count("holds in every layer") == 2
    assert said([0.3, 0.35, 0.4]).count("is reversed in at least one layer") == 2
    assert said([0.4, 0.6, 0.5]).count("is not resolved in every layer") == 2


def criteria_rows(final: list[float], increase: list[float]) -> list[dict]:
    rows = []
    for i, s in enumerate(SEEDS):
        for layer in LAYER_NAMES:
            for criterion, auc in (("final magnitude", final[i]), ("magnitude increase", increase[i]),
                                   ("movement", 0.5)):
                rows.append({"seed": s, "ticket": "t", "among": "all weights", "layer": layer,
                             "criterion": criterion, "auc": auc})
    return rows


def test_criteria_sentence_and_growth_bias_claim():
    ahead = W.criteria_sentence(criteria_rows([0.95, 0.96, 0.94], [0.6, 0.62, 0.61]), "t", "all weights")
    assert "over magnitude increase" in ahead and "(resolved ahead in 3/3 layers)" in ahead
    tied = W.criteria_sentence(criteria_rows([0.6, 0.7, 0.5], [0.62, 0.6, 0.63]), "t", "all weights")
    assert "over magnitude increase" in tied and "(resolved ahead in 0/3 layers)" in tied
    assert W.growth_bias_claim(criteria_rows([0.9] * 3, [0.6, 0.62, 0.61]), "t").verdict == HOLDS
    assert W.growth_bias_claim(criteria_rows([0.9] * 3, [0.4, 0.38, 0.41]), "t").verdict == FAILS
    assert W.growth_bias_claim(criteria_rows([0.9] * 3, [0.45, 0.55, 0.5]), "t").verdict == UNRESOLVED


def scale_rows(ticket: list[float], control: list[float], other: list[float] | None = None) -> list[dict]:
    """Trained scales (``end``) per seed: the ticket, reinit (``control``) and the random sparse network
    (``other``, default ``control``), the same in every layer."""
    rows = []
    for i, s in enumerate(SEEDS):
        for strategy, values in (("original", ticket), ("reinit", control), ("random_mask", other or control)):
            rows += [{"seed": s, "round": 15, "strategy": strategy, "layer": layer, "end": values[i], "start": 1.0}
                     for layer in LAYER_NAMES]
    return rows


def test_larger_weights_sparse_networks_in_general():
    rows = scale_rows([2.0, 2.1, 2.2], [2.0, 2.1, 2.2])     # controls as large as the ticket
    text = W.larger_weights_sentence(rows, 15, "3.6%")
    assert "**sparse networks in general end up with larger weights**" in text
    assert "**not resolved**" in text                       # ticket minus control is exactly zero
    assert W.larger_weights_claim(rows, 15).verdict == HOLDS


def test_larger_weights_tickets_more_than_controls():
    rows = scale_rows([3.0, 3.1, 3.2], [1.5, 1.6, 1.7])
    text = W.larger_weights_sentence(rows, 15, "3.6%")
    assert "**tickets more than controls**" in text and "sparse networks in general" in text


def test_larger_weights_fails_and_unresolved():
    smaller = scale_rows([2.0, 2.1, 2.2], [0.8, 0.85, 0.9])
    assert W.larger_weights_claim(smaller, 15).verdict == FAILS
    assert "sparse networks in general" not in W.larger_weights_sentence(smaller, 15, "3.6%")
    mixed = scale_rows([2.0, 2.1, 2.2], [0.8, 1.3, 1.0])
    assert W.larger_weights_claim(mixed, 15).verdict == UNRESOLVED
    assert "**tickets more than controls**" in W.larger_weights_sentence(mixed, 15, "3.6%")
    split = W.larger_weights_sentence(scale_rows([2.0, 2.1, 2.2], [3.0, 3.1, 3.2], [1.5, 1.6, 1.7]), 15, "3.6%")
    assert "larger than random sparse network; smaller than random reinit" in split
    assert "**tickets more than controls**" not in split
    reversed_ = W.larger_weights_sentence(scale_rows([2.0, 2.1, 2.2], [3.0, 3.1, 3.2]), 15, "3.6%")
    assert "**controls more than tickets**" in reversed_ and "**sparse networks in general" in reversed_


def test_scale_table_has_every_network_and_the_paired_difference():
    table = W.scale_table(scale_rows([2.0, 2.1, 2.2], [1.5, 1.6, 1.7]), 15)
    assert table.count("\n") == 4                            # header, rule, ticket and two controls
    assert "| ticket | 1.00x, 2.10x [" in table and "ticket minus it: +0.50 [+0.50, +0.50]" in table


def test_remark_table_states_each_difference_with_its_verdict():
    rows = [{"seed": s, "round": r, "layer": layer, "ticket_over_dense": t, "uniform_factor": u,
             "init_ratio": 1.7 + 0.3 * (r == 15), "dense_on_ticket_over_dense": 1.71 + 0.3 * (r == 15) + 0.01 * s}
            for s in SEEDS for layer in LAYER_NAMES for r, t, u in ((7, 1.8 + 0.01 * s, 2.2), (15, 4.0 + 0.1 * s, 5.3))]
    table = W.remark_table(rows, 7, 15, LABELS)
    fc1 = next(line for line in table.splitlines() if line.startswith("| fc1"))
    assert fc1.count("(**above 0**)") == 2 and fc1.count("(**below 0**)") == 2   # grows; short of 1/sqrt(d)
    same = W.remark_table(rows, 15, 15, LABELS)
    assert "smaller ticket minus larger" not in same


def test_trained_scales_reads_each_networks_own_mask():
    ones = {layer: torch.ones(2, 2) for layer in LAYER_NAMES}
    half = {layer: torch.tensor([[True, False], [False, True]]) for layer in LAYER_NAMES}

    def final(seed: int, round_: int, strategy: str = "original") -> dict:
        return {layer: (2.0 if round_ else 1.0) * torch.ones(2, 2) * half[layer] if round_ else torch.ones(2, 2)
                for layer in LAYER_NAMES}
    fake = SimpleNamespace(config=SimpleNamespace(seeds=(0,)), theta0=lambda seed: ones, final_weights=final,
                           masks=lambda seed, round_, strategy="original": half,
                           initial_weights=lambda seed, round_, strategy: {k: v * half[k] for k, v in ones.items()})
    rows = W.trained_scales(fake, [15], ["original", "reinit"])
    assert len(rows) == 2 * len(LAYER_NAMES)
    assert all(row["end"] == pytest.approx(2.0) and row["start"] == pytest.approx(1.0) for row in rows)


def test_labelled_and_verdict_list_name_where_a_claim_was_checked():
    claim = W.larger_weights_claim(scale_rows([2.0] * 3, [1.5] * 3), 15)
    assert W.labelled(claim, "3.6% ticket").here.startswith("3.6% ticket: larger in 6/6 control-layer pairs")
    assert W.verdict_list([("3.6% ticket", claim)]) == (
        "* Sparse networks, not only tickets, end training with larger weights than the dense network (scaling argument), "
        "3.6% ticket: **holds**")
