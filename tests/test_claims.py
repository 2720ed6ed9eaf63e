"""Paired intervals and the paper's claims, on hand-built records: one that holds, one that fails,
one unresolved, for each kind of claim."""

from __future__ import annotations

import numpy as np
import pytest

from lth_helpers import claims
from lth_helpers.history import pack_bits
from lth_helpers.intervals import paired_estimate
from lth_helpers.pruning import expected_density

N_DIGITS = 2_000


def _correct(accuracy: float, seed: int, shared: int = 0) -> str:
    """``accuracy`` of N_DIGITS right; networks with the same ``shared`` get the same digits right first."""
    order = np.random.default_rng(shared).permutation(N_DIGITS)
    flags = np.zeros(N_DIGITS, dtype=bool)
    flags[order[:round(accuracy * N_DIGITS)]] = True
    return pack_bits(flags)


def record(strategy: str, seed: int, round_: int, acc: float, stop: int, late: bool = False) -> dict:
    return {"strategy": strategy, "seed": seed, "round": round_, "density": expected_density(round_),
            "early_stop_iteration": stop, "test_acc_at_early_stop": round(acc * N_DIGITS) / N_DIGITS,
            "val_acc_at_early_stop": acc, "final_test_acc": acc, "late_minimum": late,
            "test_correct": _correct(acc, seed)}


def run(ticket_gain: float, reinit_gain: float, ticket_stop: int, reinit_stop: int, rounds: int = 16,
        jitter: float = 0.0) -> list[dict]:
    """Three seeds; dense 95.0% stopping at 1,000; at every sparse round the ticket and reinit differ
    from dense by the given gains (fractions) and stop at the given iterations. ``jitter`` alternates
    the sign of a per-seed offset so that seeds disagree."""
    out = []
    for seed in range(3):
        offset = jitter * (1 if seed % 2 else -1)
        out.append(record("original", seed, 0, 0.95, 1_000))
        for n in range(1, rounds + 1):
            out.append(record("original", seed, n, 0.95 + ticket_gain + offset, ticket_stop + int(1e4 * offset)))
            out.append(record("reinit", seed, n, 0.95 + reinit_gain - offset, reinit_stop - int(1e4 * offset)))
    return out


HOLDS = run(ticket_gain=0.01, reinit_gain=-0.03, ticket_stop=600, reinit_stop=1_500)
FAILS = run(ticket_gain=-0.03, reinit_gain=0.01, ticket_stop=1_500, reinit_stop=600)
UNRESOLVED = run(ticket_gain=0.0, reinit_gain=0.0, ticket_stop=1_000, reinit_stop=1_000, jitter=0.02)


def test_interval_of_an_exact_difference_is_tight_and_positive():
    est = paired_estimate(HOLDS, "original", "reinit", 7)
    assert est.mean == pytest.approx(0.04)
    assert 0 < est.low <= est.mean <= est.high
    assert (est.seeds, est.agree, est.verdict) == (3, 3, "higher")
    assert "+4.00 points" in est.text() and "3/3 seeds" in est.text()


def test_interval_includes_test_digit_noise():
    """Two networks one point apart on different digits: the digit resampling alone makes the interval
    wide, even with identical seeds."""
    rows = []
    for seed in range(3):
        a = record("original", seed, 1, 0.95, 500)
        b = record("reinit", seed, 1, 0.95, 500)
        b["test_correct"] = _correct(0.95, seed, shared=1)  # same accuracy, other digits
        rows += [a, b]
    est = paired_estimate(rows, "original", "reinit", 1)
    assert est.mean == 0 and est.low < -0.005 and est.high > 0.005 and est.verdict == "unresolved"


def test_early_stop_interval_resamples_seeds():
    est = paired_estimate(UNRESOLVED, "original", "reinit", 3, "early_stop_iteration")
    assert est.low < 0 < est.high and est.verdict == "unresolved"


def test_missing_pairs_and_missing_digits_are_clear_errors():
    with pytest.raises(ValueError, match="no seed has both"):
        paired_estimate(HOLDS, "original", "random_mask", 3)
    rows = [dict(r, test_correct="") for r in HOLDS]
    with pytest.raises(ValueError, match="no per-digit test results"):
        paired_estimate(rows, "original", "reinit", 3)


@pytest.mark.parametrize("records, verdict", [(HOLDS, claims.HOLDS), (FAILS, claims.FAILS),
                                              (UNRESOLVED, claims.UNRESOLVED)])
def test_claims_about_tickets_and_controls(records, verdict):
    for claim in (claims.earlier_than_dense(records), claims.more_accurate_than_dense(records),
                  claims.control_slower(records, "reinit"), claims.control_less_accurate(records, "reinit")):
        assert claim.verdict == verdict, claim


def test_falloff_claims():
    assert claims.ticket_not_below_dense(HOLDS).verdict == claims.HOLDS
    assert claims.ticket_not_below_dense(FAILS).verdict == claims.FAILS
    assert claims.control_falls_off_earlier(HOLDS, "reinit").verdict == claims.HOLDS
    assert claims.control_falls_off_earlier(FAILS, "reinit").verdict == claims.FAILS
    assert claims.control_falls_off_earlier(UNRESOLVED, "reinit").verdict == claims.UNRESOLVED


def test_shape_of_the_ticket_curve():
    """51.3% between dense and 21.1%, and slowing again at 3.6%: build the U-shape by hand."""
    stops = {0: 1_000, 3: 800, 7: 500, 15: 900}
    rows = [record("original", s, n, 0.95, stop + 10 * s) for s in range(3) for n, stop in stops.items()]
    assert claims.between_dense_and_21(rows).verdict == claims.HOLDS
    assert claims.slows_again(rows).verdict == claims.HOLDS
    flat = [dict(r, early_stop_iteration=1_000 + 100 * (r["seed"] - 1) * (1 if r["round"] % 2 else -1)) for r in rows]
    assert claims.slows_again(flat).verdict == claims.UNRESOLVED
    backwards = [dict(r, early_stop_iteration=2_000 - stops[r["round"]]) for r in rows]
    assert claims.between_dense_and_21(backwards).verdict == claims.FAILS


def test_one_shot_claims():
    rows = [record("original", s, 0, 0.95, 1_000) for s in range(3)]
    for s in range(3):
        for n in (3, 7, 12, 15):   # 12: 6.9% of the weights, inside the paper's range; 15: 3.6%, outside
            rows.append(record("one_shot", s, n, 0.96 if n < 12 else 0.94, 700))
            rows.append(record("original", s, n, 0.96, 600))
    early, accurate, iterative = claims.one_shot_claims(rows)
    assert early.verdict == claims.HOLDS
    assert accurate.verdict == claims.FAILS        # 6.9% is in range and below dense
    assert iterative.verdict == claims.HOLDS


def test_appendix_claims():
    shape = {s: [{"layer": l, "round": 15, "bimodality": b} for l, b in (("fc1", 0.40), ("fc2", 0.7), ("fc3", 0.8))]
             for s in range(3)}
    assert claims.bimodal_initial_values(shape, 15).verdict == claims.HOLDS
    shape[0][0]["bimodality"] = 0.7
    assert claims.bimodal_initial_values(shape, 15).verdict == claims.UNRESOLVED
    for s in range(3):
        shape[s][0]["bimodality"] = 0.7
    assert claims.bimodal_initial_values(shape, 15).verdict == claims.FAILS

    def moves(ticket: float, others: float, grew: float) -> dict:
        return {s: [{"layer": "fc1", "group": "ticket", "movement_median": ticket, "grew": grew},
                    {"layer": "fc1", "group": "others", "movement_median": others, "grew": 0.4}] for s in range(3)}
    assert claims.ticket_weights_move_more(moves(2.0, 1.0, 0.9)).verdict == claims.HOLDS
    assert claims.ticket_weights_move_more(moves(0.5, 1.0, 0.9)).verdict == claims.FAILS
    assert claims.ticket_weights_grow(moves(2.0, 1.0, 0.9)).verdict == claims.HOLDS
    assert claims.ticket_weights_grow(moves(2.0, 1.0, 0.3)).verdict == claims.FAILS


def test_table_renders_every_claim():
    table = claims.claims_table([claims.earlier_than_dense(HOLDS), claims.control_slower(FAILS, "reinit")])
    assert table.count("\n") == 3 and "**holds**" in table and "**does not hold**" in table
