"""Replaying measured stage times through the driver's schedule (how a paper-size seed is scaled)."""

from __future__ import annotations

import pytest

from lth_helpers import parallel
from lth_helpers.benchmarks.schedule import replay_seconds, stage_kind, typical_seconds
from lth_helpers.imp import EVERY_ROUND, make_config, run_imp

from conftest import tiny_config

TICKET, CONTROLS = ("original",), ("reinit", "random_mask")


def test_one_process_takes_the_sum_of_every_stage():
    config = make_config("paper", EVERY_ROUND, 1, rounds=4)
    seconds = {("dense",): 10.0, TICKET: 7.0, CONTROLS: 11.0}
    assert replay_seconds(config, seconds, 1) == pytest.approx(10 + 4 * (7 + 11))


def test_two_processes_pipeline_the_ticket_chain():
    """Round n+1's ticket starts as soon as round n's ticket is done; the controls take the other process.

    Dense 1, tickets 1, controls 1.5 (hand-scheduled): A runs dense [0, 1], then tickets [1, 2], [2, 3];
    B runs controls [1, 2.5] and [2.5, 4]. So two rounds end at 4, not at 1 + 2 x 1.5 + ... a round.
    """
    config = make_config("paper", EVERY_ROUND, 1, rounds=2)
    seconds = {("dense",): 1.0, TICKET: 1.0, CONTROLS: 1.5}
    assert replay_seconds(config, seconds, 2) == pytest.approx(4.0)
    # Sixteen rounds on two processes: bounded below by the work and by the ticket chain.
    full = make_config("paper", EVERY_ROUND, 1)
    wall = replay_seconds(full, seconds, 2)
    assert max(1 + 16 * 1.0 + 1.5, (1 + 16 * 2.5) / 2) <= wall <= 1 + 16 * 2.5


def test_stage_kinds_and_typical_seconds():
    assert stage_kind(0, TICKET) == ("dense",) and stage_kind(3, CONTROLS) == CONTROLS
    timings = [(0, 0, TICKET, 4.0), (0, 1, TICKET, 2.0), (0, 2, TICKET, 4.0), (0, 1, CONTROLS, 5.0)]
    assert typical_seconds(timings) == {("dense",): 4.0, TICKET: 3.0, CONTROLS: 5.0}
    with pytest.raises(ValueError, match="no stage timings"):
        typical_seconds([])


def test_missing_kinds_and_bad_worker_counts_are_refused():
    config = make_config("paper", EVERY_ROUND, 1, rounds=1)
    with pytest.raises(ValueError, match="no measured time for stages of kind"):
        replay_seconds(config, {("dense",): 1.0}, 2)
    with pytest.raises(ValueError, match="workers must be an integer >= 1"):
        replay_seconds(config, {("dense",): 1.0}, 0)


def test_fill_store_records_the_seconds_of_every_stage_it_trains(small_data, tmp_path, monkeypatch):
    """The timings come from the real workers: one entry per trained stage, none for stored ones."""
    monkeypatch.setattr(parallel, "usable_cores", lambda: 2)
    from lth_helpers.imp import open_experiment
    import torch

    config = tiny_config("original,reinit,random_mask", seeds=1)
    stages = open_experiment(config, small_data, tmp_path, torch.device("cpu"), True, False)
    timings: list = []
    parallel.fill_store(config, small_data, tmp_path, torch.device("cpu"), True, 2, False, stages, timings)
    assert sorted((r, g) for _, r, g, _ in timings) == [(0, TICKET), (1, TICKET), (1, CONTROLS), (2, TICKET),
                                                        (2, CONTROLS)]
    assert all(seconds > 0 for *_, seconds in timings)
    again: list = []
    parallel.fill_store(config, small_data, tmp_path, torch.device("cpu"), True, 2, False, stages, again)
    assert again == []
    result = run_imp(config, small_data, tmp_path, progress=False, verbose=False, workers=1)
    assert result.computed == 0
