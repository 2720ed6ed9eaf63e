"""Notebook 5's evidence on hand-built records: for each statement, one run where it holds, one
where it fails, and one where the seeds leave it unresolved."""

from __future__ import annotations

import numpy as np
import torch

from lth_helpers import scaling_evidence as S
from lth_helpers.claims import FAILS, HOLDS, UNRESOLVED
from lth_helpers.history import pack_bits
from lth_helpers.pruning import expected_density

N_DIGITS = 2_000
SEEDS = (0, 1, 2)


def _correct(accuracy: float, shared: int = 0) -> str:
    """``accuracy`` of N_DIGITS right; the same ``shared`` gets the same digits right first."""
    flags = np.zeros(N_DIGITS, dtype=bool)
    flags[np.random.default_rng(shared).permutation(N_DIGITS)[:round(accuracy * N_DIGITS)]] = True
    return pack_bits(flags)


def record(strategy: str, seed: int, round_: int, acc: float, stop: int, shared: int = 0) -> dict:
    return {"strategy": strategy, "seed": seed, "round": round_, "density": expected_density(round_),
            "early_stop_iteration": stop, "test_acc_at_early_stop": round(acc * N_DIGITS) / N_DIGITS,
            "late_minimum": False, "test_correct": _correct(acc, shared)}


def run(ticket: tuple[float, int], controls: tuple[float, int], jitter: float = 0.0) -> list[dict]:
    """Three seeds, rounds 0-16: the ticket and every scale control at the given (accuracy, stop);
    ``jitter`` moves each seed's controls up or down so that the seeds disagree."""
    out = []
    for seed in SEEDS:
        offset = jitter * (1, -1, 0)[seed]
        out.append(record("original", seed, 0, 0.95, 1_000))
        for n in range(1, 17):
            out.append(record("original", seed, n, *ticket))
            for k, control in enumerate(S.SCALE_CONTROLS):
                out.append(record(control, seed, n, controls[0] + offset, controls[1] + int(1e4 * offset), k + 1))
    return out


HOLDS_RUN = run((0.96, 600), (0.93, 1_500))
FAILS_RUN = run((0.93, 1_500), (0.96, 600))
UNRESOLVED_RUN = run((0.95, 1_000), (0.95, 1_000), jitter=0.02)


def test_checkpoints_are_the_rounds_nearest_the_papers():
    assert S.checkpoints(HOLDS_RUN) == [7, 12, 15, 16]


def test_estimate_table_and_sentence_state_only_what_the_interval_supports():
    found = S.estimates(HOLDS_RUN, [("original", "reinit")], [7])
    table = S.estimate_table(found)
    assert "ticket minus random reinit" in table and "**more accurate**" in table and "**stops earlier**" in table
    assert S.comparison_sentence(found, "original", "reinit").endswith(
        "accuracy: more accurate at 21.1%; early stopping: stops earlier at 21.1%.")
    reversed_ = S.comparison_sentence(S.estimates(FAILS_RUN, [("original", "reinit")], [7]), "original", "reinit")
    assert "less accurate at 21.1%" in reversed_ and "stops later at 21.1%" in reversed_
    unsure = S.estimates(UNRESOLVED_RUN, [("original", "reinit")], [7])
    assert "not resolved at 21.1%" in S.comparison_sentence(unsure, "original", "reinit")
    assert "**" not in S.estimate_table(unsure)


def test_one_seed_resolves_nothing():
    one = [r for r in HOLDS_RUN if r["seed"] == 0]
    assert "**" not in S.estimate_table(S.estimates(one, [("original", "reinit")], [7]))


def test_claims_hold_fail_and_stay_unresolved():
    rounds = S.checkpoints(HOLDS_RUN)
    assert {c.verdict for c in S.ticket_beats_any_std(HOLDS_RUN, rounds)} == {HOLDS}
    assert {c.verdict for c in S.ticket_beats_any_std(FAILS_RUN, rounds)} == {FAILS}
    assert {c.verdict for c in S.ticket_beats_any_std(UNRESOLVED_RUN, rounds)} == {UNRESOLVED}
    # The controls share (accuracy, stop), so none beats reinit: zero differences are unresolved.
    assert S.control_beats_reinit(HOLDS_RUN, "fan_corrected", rounds).verdict == UNRESOLVED
    better = [dict(r, test_acc_at_early_stop=0.97, early_stop_iteration=500, test_correct=_correct(0.97, 9))
              if r["strategy"] == "ticket_scale" else r for r in HOLDS_RUN]
    assert S.control_beats_reinit(better, "ticket_scale", rounds).verdict == HOLDS
    assert S.control_beats_reinit(FAILS_RUN, "fan_corrected", rounds).verdict == UNRESOLVED


def test_scale_conclusion_claims_only_what_every_checkpoint_supports():
    def conclude(records: list[dict]) -> str:
        return S.scale_conclusion(S.estimates(records, [("original", c) for c in S.SCALE_CONTROLS[1:]], [7, 15]))
    assert "Neither of the two scales tested reproduces the ticket" in conclude(HOLDS_RUN)
    assert "more accurate at 21.1%, 3.6%" in conclude(FAILS_RUN) and "not ruled out" in conclude(FAILS_RUN)
    assert "not resolved at 21.1%, 3.6%" in conclude(UNRESOLVED_RUN) and "not ruled out" in conclude(UNRESOLVED_RUN)


def test_tie_sentence_tells_identical_networks_from_different_ones():
    tie = [dict(r, test_acc_at_early_stop=0.96, early_stop_iteration=600) if r["strategy"] == "fan_corrected" else r
           for r in run((0.96, 600), (0.93, 1_500))]
    # Same early stop and accuracy as the ticket, but other digits right: different networks.
    text = S.tie_sentence(tie, [("fan_corrected", "original")], [7], 100)
    assert "test accuracy: exactly 0 in all 3 seeds" in text and "different networks" in text
    assert "evaluations every 100 iterations" in text
    same = [dict(r, test_correct=_correct(0.96)) if r["strategy"] == "fan_corrected" else r for r in tie]
    weights = lambda seed, round_, strategy: {"fc1": torch.ones(2, 2)}  # noqa: E731
    assert "**identical networks**" in S.tie_sentence(same, [("fan_corrected", "original")], [7], 100, weights)
    assert "exactly the same test digits" in S.tie_sentence(same, [("fan_corrected", "original")], [7], 100)
    assert S.tie_sentence(HOLDS_RUN, [("original", "reinit")], [7], 100).startswith("No paired difference")


def test_signal_and_init_scale_sentences():
    dense = {"input": 1.0, "fc1": 1.2, "fc2": 1.0, "fc3": 0.8}
    text = S.signal_sentence({"reinit": {"input": 1.0, "fc1": 0.6, "fc2": 0.2, "fc3": 0.08},
                              "fan_corrected": {"input": 1.0, "fc1": 1.2, "fc2": 1.1, "fc3": 1.2}}, dense, "3.6%")
    assert "random reinit 0.10x" in text and "Shrinking at every layer: random reinit." in text
    rows = [{"seed": s, "round": 15, "layer": layer, "ticket_ratio": 2.0 + 0.01 * s, "subnet_ratio": 5.0}
            for s in SEEDS for layer in ("fc1", "fc2")]
    said = S.init_scale_sentence(rows, 15, "3.6%")
    assert "above the dense std in 2/2 layers" in said and "below the sub-network's Glorot std in 2/2 layers" in said
    flat = [dict(r, ticket_ratio=(0.9, 1.1, 1.0)[r["seed"]], subnet_ratio=1.0) for r in rows]
    assert "in 0/2 layers, and below the sub-network's Glorot std in 0/2" in S.init_scale_sentence(flat, 15, "3.6%")
