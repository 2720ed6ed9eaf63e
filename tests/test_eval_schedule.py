"""The sparse evaluation schedule of the paper size: test set every ``test_every`` iterations,
and an exact test accuracy at early stopping regardless."""

from __future__ import annotations

import math

import pytest

from lth_helpers.history import unpack_bits
from lth_helpers.imp import make_config, run_imp
from lth_helpers.models import LeNet300100
from lth_helpers.population import LeNetPopulation, train_population
from lth_helpers.sizes import SIZES
from lth_helpers.training import TrainConfig, train

SCHEDULE = dict(iterations=240, eval_every=20)


def _population(k: int = 3) -> LeNetPopulation:
    return LeNetPopulation([LeNet300100(seed=10 + i).state_dict() for i in range(k)])


def test_sparse_test_schedule_gives_the_same_headline_numbers(small_data):
    dense = train_population(_population(), small_data, TrainConfig(**SCHEDULE), seed=4, progress=False)
    sparse = train_population(_population(), small_data, TrainConfig(**SCHEDULE, test_every=100), seed=4,
                              progress=False)
    for full, thin in zip(dense, sparse):
        assert thin.val_loss == full.val_loss
        assert thin.early_stop_iteration == full.early_stop_iteration
        assert thin.test_acc_at_early_stop == full.test_acc_at_early_stop
        assert thin.test_correct_at_early_stop == full.test_correct_at_early_stop != ""
        assert thin.final_test_acc == full.final_test_acc
        iterations, values = thin.evaluated("test_acc")
        expected = {i for i in thin.iterations if i % 100 == 0} | {thin.iterations[-1], thin.early_stop_iteration}
        assert set(iterations) == expected
        assert all(full.test_acc[full.iterations.index(i)] == v for i, v in zip(iterations, values))


def test_single_loop_sparse_schedule_matches_its_full_schedule(small_data):
    histories = []
    for test_every in (None, 100):
        model = LeNet300100(seed=3)
        histories.append(train(model, small_data, TrainConfig(**SCHEDULE, test_every=test_every), seed=2,
                               progress=False))
    full, thin = histories
    assert thin.early_stop_iteration == full.early_stop_iteration
    assert thin.test_acc_at_early_stop == full.test_acc_at_early_stop
    assert thin.test_correct_at_early_stop == full.test_correct_at_early_stop != ""
    assert sum(math.isnan(v) for v in thin.test_acc) > 0


def test_paper_size_uses_the_cheap_schedule_and_runs(tmp_path, small_data):
    paper = SIZES["paper"]
    assert paper.eval_every == 100 and paper.test_every == 1_000
    config = make_config("paper", "original,reinit", seeds=1, iterations=200, eval_every=50, test_every=100, rounds=1)
    assert config.train_config.test_every == 100
    result = run_imp(config, small_data, tmp_path, progress=False, verbose=False)
    for record in result.records:
        assert 0.0 < record["test_acc_at_early_stop"] <= 1.0
        assert not math.isnan(record["final_test_acc"])
        correct = unpack_bits(record["test_correct"])
        assert len(correct) == small_data.sizes["test"] and correct.mean() == record["test_acc_at_early_stop"]


@pytest.mark.parametrize("bad", [{"test_every": 0}, {"test_every": -5}])
def test_bad_evaluation_settings_are_rejected(bad):
    name, value = next(iter(bad.items()))
    with pytest.raises(ValueError, match=f"{name}.*{value}"):
        TrainConfig(**bad)
