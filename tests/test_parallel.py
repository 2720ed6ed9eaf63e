"""Training in several processes, and which strategies are trained at which rounds."""

from __future__ import annotations

import pytest
import torch

from lth_helpers import parallel
from lth_helpers.cli import main
from lth_helpers.imp import EVERY_ROUND, make_config, round_groups, run_imp, run_one_shot
from lth_helpers.parallel import choose_workers, usable_cores
from lth_helpers.strategies import STRATEGIES

from conftest import assert_same_results, tiny_config


@pytest.fixture
def one_thread_per_worker(monkeypatch):
    """Workers get as many threads as this process has (one, see conftest) whatever the machine's
    core count, so that both sides run the same kernels and the comparison can be bitwise."""
    monkeypatch.setattr(parallel, "usable_cores", lambda: 2)


def test_two_worker_processes_give_the_same_results_as_one(small_data, tmp_path, one_thread_per_worker):
    """Stages trained by two spawned processes (one thread each, as here) are bitwise the entries the
    sequential driver trains, and a second run reuses all of them without starting a process."""
    config = tiny_config("original,reinit,random_mask,shuffled", seeds=2)
    alone = run_imp(config, small_data, tmp_path / "one", progress=False, verbose=False, workers=1)
    together = run_imp(config, small_data, tmp_path / "two", progress=False, verbose=False, workers=2)
    assert together.computed == alone.computed == 2 * (1 + 2 * 4) and together.reused == 0
    assert_same_results(alone, together)
    again = run_imp(config, small_data, tmp_path / "two", progress=False, verbose=False, workers=2)
    assert (again.computed, again.reused) == (0, together.computed)


def test_one_shot_tickets_of_several_seeds_train_in_parallel_with_the_same_results(small_data, tmp_path,
                                                                                 one_thread_per_worker):
    config = tiny_config("original", seeds=2)
    alone = run_one_shot(config, [1, 2], small_data, tmp_path / "one", progress=False, verbose=False, workers=1)
    together = run_one_shot(config, [1, 2], small_data, tmp_path / "two", progress=False, verbose=False, workers=2)
    assert (together.computed, together.reused) == (alone.computed, 0) == (2 * 3, 0)  # dense + 2 tickets per seed
    assert together.records == alone.records


@pytest.mark.parametrize("bad", [0, -1, 1.5, "two", True, None])
def test_bad_worker_counts_are_refused(bad):
    with pytest.raises(ValueError, match="workers must be 'auto' or an integer >= 1"):
        choose_workers(bad, tiny_config(), torch.device("cpu"))


def test_auto_workers_stay_in_one_process_when_processes_cannot_pay():
    assert choose_workers("auto", tiny_config(), torch.device("cpu")) == 1  # 40 iterations: start-up dominates
    long = make_config("standard", "original,reinit", 3)
    assert choose_workers("auto", long, torch.device("cuda")) == 1  # one GPU is shared by time
    assert choose_workers("auto", long, torch.device("cpu")) == min(usable_cores(), 6)
    assert choose_workers(3, long, torch.device("cpu")) == 3


def test_cli_refuses_a_bad_worker_count(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["imp", "--size", "quick", "--workers", "0"])
    assert exit_info.value.code == 2
    assert "expected 'auto' or an integer >= 1" in capsys.readouterr().err


def test_extra_strategies_are_trained_at_the_checkpoint_rounds_only(small_data, tmp_path):
    """At the standard size, strategies beyond the paper's Figure 4 train only at the rounds nearest
    the paper's checkpoints; ``all_rounds`` (the quick size's default) trains them everywhere."""
    config = make_config("standard", STRATEGIES, 1)
    assert config.checkpoint_rounds == (3, 7, 9, 12, 15, 16)  # 51.3, 21.1, 13.5, 7.0, 3.6 and 2.9%
    assert round_groups(config, 1) == [("original",), ("reinit", "random_mask")]
    assert round_groups(config, 7) == [("original",), tuple(s for s in STRATEGIES if s != "original")]
    assert round_groups(config, 0) == [("original",)]
    assert make_config("quick", STRATEGIES, 1).all_rounds

    short = make_config("standard", STRATEGIES, 1, iterations=40, eval_every=20, test_every=20, rounds=4)
    assert short.checkpoint_rounds == (3, 4)  # a short run: the rounds nearest each checkpoint
    result = run_imp(short, small_data, tmp_path, progress=False, verbose=False, workers=1)
    trained = {(r["round"], r["strategy"]) for r in result.records}
    for round_ in range(1, 5):
        expected = set(STRATEGIES) if round_ in (3, 4) else set(EVERY_ROUND)
        assert {s for r, s in trained if r == round_} == expected
