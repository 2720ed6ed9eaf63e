"""Tests of the results module and what builds on it (comparisons, tables), on records made by hand.

Every expected number here can be worked out on paper; the same functions on a real IMP run are
exercised in ``tests/test_plots_imp.py``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest

from lth_helpers.comparisons import (compare_at_rounds, falloff_round, paired_differences, paired_summary,
                                     paired_tally)
from lth_helpers.results import IMPResult, Record, closest_round, records_of, stats_at, summarize_records
from lth_helpers.tables import average_rows, format_rows, summary_table


def _rec(strategy: str, seed: int, round_: int, acc: float, es: int = 100, final: float | None = None) -> Record:
    return Record(strategy=strategy, seed=seed, round=round_, density=0.8 ** round_, test_acc_at_early_stop=acc,
                  early_stop_iteration=es, final_test_acc=acc if final is None else final)


#: Two seeds: the dense network, then the ticket and a reinitialized control at rounds 1 and 2.
RECORDS = [
    _rec("original", 0, 0, 0.90, 500), _rec("original", 1, 0, 0.92, 700),
    _rec("original", 0, 1, 0.95, 300), _rec("reinit", 0, 1, 0.93, 600),
    _rec("original", 1, 1, 0.96, 400), _rec("reinit", 1, 1, 0.90, 800),
    _rec("original", 0, 2, 0.94, 300), _rec("reinit", 0, 2, 0.86, 900),
    _rec("original", 1, 2, 0.92, 500), _rec("reinit", 1, 2, 0.88, 900),
]


# ------------------------------------------------------------------------------ records


def test_records_of_keeps_the_first_copy_of_each_network():
    duplicate = dict(RECORDS[0], test_acc_at_early_stop=0.1)
    unique = records_of(RECORDS + [duplicate])
    assert len(unique) == len(RECORDS) and unique[0]["test_acc_at_early_stop"] == 0.90


def test_summary_over_seeds_by_hand():
    series = summarize_records(RECORDS, "test_acc_at_early_stop")
    assert list(series) == ["original", "reinit"]  # the usual order, whatever the records' order
    ticket = series["original"]
    assert ticket.rounds == (0, 1, 2) and ticket.n == (2, 2, 2)
    assert ticket.mean == pytest.approx((0.91, 0.955, 0.93))
    assert (ticket.low[2], ticket.high[2]) == (0.92, 0.94)
    # A control's series starts at the dense network, unless asked not to.
    assert series["reinit"].rounds == (0, 1, 2) and series["reinit"].mean[0] == pytest.approx(0.91)
    assert summarize_records(RECORDS, strategies=["reinit"], include_dense=False)["reinit"].rounds == (1, 2)
    assert stats_at(RECORDS, "reinit", 2, "early_stop_iteration") == {
        "round": 2, "density": pytest.approx(0.64), "mean": 900, "low": 900, "high": 900, "n": 2}


def test_summary_errors_name_the_bad_value():
    with pytest.raises(ValueError, match="unknown metric 'accuracy'"):
        summarize_records(RECORDS, "accuracy")
    with pytest.raises(ValueError, match="no records for strategy 'random_mask'"):
        summarize_records(RECORDS, strategies=["random_mask"])
    with pytest.raises(ValueError, match="round 7"):
        stats_at(RECORDS, "original", 7)


@dataclass(frozen=True)
class _Config:
    """The part of an IMPConfig that results read."""

    seeds: tuple[int, ...] = (0, 1)
    rounds: int = 2
    strategies: tuple[str, ...] = ("original", "reinit")


def test_imp_result_summary_table_and_json(tmp_path):
    config = _Config()
    result = IMPResult(config=config, data_source="hand-made", store=None, records=list(RECORDS))
    rows = result.summary()
    assert [(r["strategy"], r["round"]) for r in rows] == [("original", 0), ("original", 1), ("original", 2),
                                                           ("reinit", 1), ("reinit", 2)]
    reinit_2 = rows[-1]
    assert reinit_2["test_acc_at_early_stop"] == pytest.approx(0.87)
    assert (reinit_2["test_acc_at_early_stop_min"], reinit_2["test_acc_at_early_stop_max"]) == (0.86, 0.88)
    assert reinit_2["n"] == 2 and reinit_2["density"] == pytest.approx(0.64)
    table = result.format_table()
    assert table == summary_table(result, ["original", "reinit"], include_dense=False)
    assert "64.0%" in table and "87.00%" in table
    path = result.to_json(tmp_path / "out" / "results.json")
    assert json.loads(path.read_text()) == RECORDS
    assert json.loads((tmp_path / "out" / "config.json").read_text()) == {
        "seeds": [0, 1], "rounds": 2, "strategies": ["original", "reinit"]}


# ------------------------------------------------------------------------------ pairing


def test_paired_differences_pair_by_seed_and_round():
    pairs = paired_differences(RECORDS, "original", "reinit")
    assert [(p["round"], p["seed"]) for p in pairs] == [(1, 0), (1, 1), (2, 0), (2, 1)]
    assert [p["difference"] for p in pairs] == pytest.approx([0.02, 0.06, 0.08, 0.04])
    summary = paired_summary(pairs)
    assert [(r["round"], r["n"]) for r in summary] == [(1, 2), (2, 2)]
    assert summary[0]["mean"] == pytest.approx(0.04)
    assert (summary[1]["min"], summary[1]["max"]) == (pytest.approx(0.04), pytest.approx(0.08))
    speed = paired_differences(RECORDS, "original", "reinit", "early_stop_iteration", rounds=[2])
    assert [p["difference"] for p in speed] == [-600, -400]  # the ticket stops earlier
    with pytest.raises(ValueError, match="'fan_corrected'"):
        paired_differences(RECORDS, "fan_corrected", "reinit")


def test_paired_tally_counts_ties():
    pairs = [{"difference": d} for d in (0.02, 0.0, -0.01, 0.0)]
    assert paired_tally(pairs) == {"n": 4, "wins": 1, "ties": 2, "losses": 1, "mean": pytest.approx(0.0025)}
    with pytest.raises(ValueError, match="no pairs"):
        paired_tally([])


def test_compare_at_rounds_side_by_side():
    rows = compare_at_rounds(RECORDS, [1, 2, 5], strategies=("original", "reinit"))  # round 5: no records
    assert [r["round"] for r in rows] == [1, 2]
    row = rows[1]
    assert row["original_acc"] == pytest.approx(0.93) and row["reinit_es"] == 900
    assert row["original_minus_reinit"] == pytest.approx(0.06)
    assert (row["original_minus_reinit_min"], row["original_minus_reinit_max"]) == (
        pytest.approx(0.04), pytest.approx(0.08))
    assert "reinit_minus_reinit" not in row


def test_falloff_round():
    # The dense mean is 0.91. The ticket stays above it; reinit is below from round 2 on for good.
    assert falloff_round(RECORDS, "original") is None
    assert falloff_round(RECORDS, "reinit") == 2
    assert falloff_round(RECORDS, "reinit", margin=0.05) is None  # 0.87 is within 5 points of 0.91
    with pytest.raises(ValueError, match="accuracy metric"):
        falloff_round(RECORDS, "reinit", "early_stop_iteration")
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        falloff_round(RECORDS, "reinit", margin=1.5)


# -------------------------------------------------------------------------------- tables


def test_average_rows_and_format_rows():
    rows = [{"layer": "fc1", "auc": 0.6, "tag": "a"}, {"layer": "fc1", "auc": 0.8, "tag": "b"},
            {"layer": "fc2", "auc": 0.5, "tag": "c"}]
    avg = average_rows(rows, ["layer"])
    assert avg[0] == {"layer": "fc1", "auc": pytest.approx(0.7), "n": 2}
    text = format_rows(avg + [{"layer": "fc3"}], {"layer": "s", "auc": ".2f"})
    lines = text.splitlines()
    assert lines[0].split() == ["layer", "auc"] and set(lines[1]) == {"-"}
    assert lines[2].split() == ["fc1", "0.70"] and lines[-1].split() == ["fc3", "-"]
    with pytest.raises(ValueError, match="at least one field"):
        format_rows(avg, {})


# --------------------------------------------------------------------------- rounds


def test_closest_round_picks_the_paper_checkpoints():
    assert closest_round(0.211, range(17)) == 7
    assert closest_round(0.036, range(17)) == 15
    assert closest_round(0.029, range(17)) == 16


def test_closest_round_falls_back_to_what_a_short_run_has():
    # The quick size has rounds 0-2: both targets get the sparsest available round.
    assert closest_round(0.211, range(3)) == 2
    assert closest_round(0.036, [0, 1, 2]) == 2
    # Round 0 (dense) only when nothing else exists.
    assert closest_round(0.5, [0]) == 0
    assert closest_round(0.99, [0, 1, 2]) == 1


@pytest.mark.parametrize("target", [0.0, -0.1, 1.5, "half"])
def test_closest_round_rejects_bad_targets(target):
    with pytest.raises(ValueError, match="target density"):
        closest_round(target, range(3))


def test_closest_round_rejects_no_rounds():
    with pytest.raises(ValueError, match="at least one"):
        closest_round(0.2, [])

