"""Notebook 6's claims on hand-built records: one that holds, one that fails, one unresolved."""

from __future__ import annotations

import pytest

from lth_helpers import claims_contents as cc
from lth_helpers.claims import FAILS, HOLDS, UNRESOLVED

from test_claims import record


def run(gains: dict[str, float], jitter: float = 0.0) -> list[dict]:
    """Three seeds, rounds 0-16; each strategy's accuracy is the ticket's 95% plus its gain.
    ``jitter`` moves seeds apart in alternating directions so that the interval straddles zero."""
    out = []
    for seed in range(3):
        offset = jitter * (1 if seed % 2 else -1)
        out.append(record("original", seed, 0, 0.95, 1_000))
        for n in range(1, 17):
            out.append(record("original", seed, n, 0.95, 800))
            for strategy, gain in gains.items():
                out.append(record(strategy, seed, n, 0.95 + gain + offset, 900))
    return out


@pytest.mark.parametrize("gain, jitter, verdict", [(-0.001, 0.0, HOLDS), (-0.03, 0.0, FAILS), (-0.005, 0.03, UNRESOLVED)])
def test_barely_hurts_uses_the_tolerance(gain, jitter, verdict):
    claim = cc.noise_barely_hurts(run({"noisy_0.5": gain}, jitter))
    assert claim.verdict == verdict
    assert "0.5 points" in claim.paper and "21.1%" in claim.here and "3.6%" in claim.here


@pytest.mark.parametrize("gain, jitter, verdict", [(0.02, 0.0, HOLDS), (-0.02, 0.0, FAILS), (0.0, 0.03, UNRESOLVED)])
def test_directional_claims(gain, jitter, verdict):
    records = run({"noisy_3": gain, "reinit": 0.0, "flipped_sign": -gain}, jitter)
    # noisy_3 vs reinit: the noisy ticket is higher by `gain`; the ticket vs flipped signs likewise.
    assert cc.noise_above_reinit(records).verdict == verdict
    assert cc.random_signs_lose(run({"flipped_sign": -gain}, jitter)).verdict == verdict


def test_checkpoints_are_the_papers_densities():
    records = run({"permuted": -0.01})
    assert cc.checkpoints(records, "permuted") == [7, 12, 15]
    assert [round(e.density, 3) for e in cc.content_estimates(records, "original", "permuted")] == [0.211, 0.07, 0.036]


def test_a_claim_without_records_is_unresolved_and_says_so():
    claim = cc.sign_suffices(run({"reinit": 0.0}))
    assert (claim.verdict, claim.here) == (UNRESOLVED, "not run")


def test_supermask_and_criteria_claims_read_their_own_records():
    rows = run({"ticket_mask": -0.3, "random_mask": -0.85, "ticket_mask_reinit": -0.85, "large_final_same_sign": -0.2})
    verdicts = [c.verdict for c in cc.supermask_claims(rows)]
    assert verdicts == [HOLDS, HOLDS, HOLDS]
    criteria = run({"one_shot": 0.0, "mask_random": -0.05, "mask_large_init": 0.01, "mask_magnitude_increase": -0.001})
    assert [c.verdict for c in cc.criteria_claims(criteria)] == [HOLDS, FAILS, HOLDS]


def test_scale_verdict_follows_the_intervals():
    from lth_helpers.contents_evidence import scale_verdict

    signs_win = run({"ticket_scale": -0.03, "same_sign_reinit": 0.0, "same_sign_constant": -0.001})
    assert "travels with its signs, not its scale" in scale_verdict(signs_win)
    scale_wins = run({"ticket_scale": 0.0, "same_sign_reinit": -0.03, "same_sign_constant": -0.03})
    assert "supports the scale conjecture" in scale_verdict(scale_wins)
    neither = run({"ticket_scale": -0.005, "same_sign_reinit": -0.005}, jitter=0.03)
    assert "leave the question open" in scale_verdict(neither)


def test_comparison_table_has_a_row_per_strategy_and_a_column_per_checkpoint():
    from lth_helpers.contents_evidence import comparison_table, keeps_table

    table = comparison_table(run({"permuted": -0.01, "flipped_sign": -0.02}), ["permuted", "flipped_sign"], "original")
    lines = table.splitlines()
    assert lines[0] == "| minus ticket | 21.1% | 7.0% | 3.6% |" and len(lines) == 4
    assert "-1.00 points" in lines[2] and "(lower)" in lines[2]
    assert keeps_table(["same_sign_constant"]).count("\n") == 2
