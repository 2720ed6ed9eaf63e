"""Notebook 1's evidence: its dense network is notebook 2's, and its comparisons carry intervals.

* :func:`lth_helpers.retraining.train_dense` gives, bit for bit, the dense network that
  :func:`lth_helpers.imp.run_imp` trains for the same seed (round 0), and reuses it from the store;
* :mod:`lth_helpers.claims_basics` states an effect only when its interval supports it, on
  hand-built records where the answer is known (one that holds, one that fails, one unresolved).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from lth_helpers import claims_basics as cb
from lth_helpers.claims import FAILS, HOLDS, UNRESOLVED
from lth_helpers.data import MNISTData
from lth_helpers.history import History, pack_bits
from lth_helpers.imp import make_config, run_imp
from lth_helpers.models import LAYER_NAMES
from lth_helpers.retraining import RetrainResult, retraining_experiment, train_dense
from lth_helpers.sizes import Size
from lth_helpers.strategies import theta0_for
from lth_helpers.training import TrainConfig

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "01_pruning_basics.ipynb"
TINY = Size("tiny", iterations=40, eval_every=20, rounds=0, seeds=1)


# ------------------------------------------------------------------ one dense network, not two


@pytest.fixture(scope="module")
def imp_dense(small_data, tmp_path_factory):
    """Notebook 2's way: IMP's round 0 for seed 0 at the tiny schedule, in a store of its own."""
    folder = tmp_path_factory.mktemp("nb2_store")
    config = make_config("quick", "original", [0], iterations=TINY.iterations, eval_every=TINY.eval_every, rounds=0)
    result = run_imp(config, small_data, folder, progress=False, device="cpu", verbose=False)
    return result, folder


def test_train_dense_is_notebook2s_seed0_dense_network(small_data, imp_dense) -> None:
    result, _ = imp_dense
    record = next(r for r in result.records if r["seed"] == 0 and r["round"] == 0)
    ours = train_dense(0, small_data, TINY, device="cpu", progress=False)

    assert ours.history.early_stop_iteration == record["early_stop_iteration"]
    assert ours.history.test_acc_at_early_stop == record["test_acc_at_early_stop"]   # bitwise, not approx
    assert ours.history.test_correct_at_early_stop == record["test_correct"]
    assert ours.history.val_loss == result.histories[("original", 0, 0)].val_loss
    final = result.final_weights(0, 0)
    final_bias = result.store.tensors(0, 0, "original")["final_bias"]
    for name in LAYER_NAMES:
        assert torch.equal(ours.state[f"{name}.weight"], final[name])
        assert torch.equal(ours.state[f"{name}.bias"], final_bias[name])
        assert torch.equal(ours.theta0[name], theta0_for(0)[name])
    assert ours.config == TrainConfig(iterations=TINY.iterations, eval_every=TINY.eval_every)
    # The model and the prunable net hold the same trained weights.
    assert all(torch.equal(ours.model().weights()[n], ours.net.weights[n]) for n in LAYER_NAMES)


def test_train_dense_reads_notebook2s_network_from_the_store(small_data, imp_dense) -> None:
    result, folder = imp_dense
    read = train_dense(0, small_data, TINY, results_dir=folder, device="cpu", progress=False)
    assert read.reused
    record = next(r for r in result.records if r["seed"] == 0 and r["round"] == 0)
    assert read.history.test_correct_at_early_stop == record["test_correct"]
    assert all(torch.equal(read.state[f"{n}.weight"], result.final_weights(0, 0)[n]) for n in LAYER_NAMES)


def test_a_new_seed_is_trained_and_saved_for_notebook2(small_data, tmp_path) -> None:
    first = train_dense(1, small_data, TINY, results_dir=tmp_path, device="cpu", progress=False)
    again = train_dense(1, small_data, TINY, results_dir=tmp_path, device="cpu", progress=False)
    assert not first.reused and again.reused
    assert first.history.test_correct_at_early_stop == again.history.test_correct_at_early_stop
    assert all(torch.equal(first.theta0[n], theta0_for(1)[n]) for n in LAYER_NAMES)


def _code_cells() -> list[str]:
    notebook = json.loads(NOTEBOOK.read_text())
    return ["".join(c["source"]) for c in notebook["cells"] if c["cell_type"] == "code"]


def test_notebook1_trains_its_dense_network_with_train_dense() -> None:
    code = "\n".join(_code_cells())
    assert "train_dense(seed, nb.data, nb.size" in code
    assert "LeNet300100(seed" not in code           # no second, private dense network
    assert "nb = setup(size, data)" in code
    assert _code_cells()[-1].strip().startswith("nb.report()")


# ------------------------------------------------------------------ comparisons and verdicts


DIGITS = 400


def _correct(n_right: int, offset: int = 0) -> np.ndarray:
    """``n_right`` of DIGITS right, starting at ``offset`` (wrapping)."""
    flags = np.zeros(DIGITS, dtype=bool)
    flags[(offset + np.arange(n_right)) % DIGITS] = True
    return flags


def _history(correct: np.ndarray, early: int = 50, last: int = 100) -> History:
    h = History()
    h.append(early, 0.5, (0.3, 0.9), (0.3, 0.9))
    h.append(last, 0.4, (0.4, 0.9), (0.4, 0.9))
    h.set_test_at_early_stop(0.3, correct)
    return h


def _retrain(by_variant: dict[str, list[np.ndarray]], density: float = 0.2) -> RetrainResult:
    result = RetrainResult(method="layerwise", densities=[density])
    for variant, nets in by_variant.items():
        for draw, correct in enumerate(nets):
            result.records.append({
                "variant": variant, "density": density, "draw": draw, "iterations": 100,
                "start_test_acc": 0.1, "start_test_correct": pack_bits(_correct(DIGITS // 10, draw)),
                "early_stop_iteration": 40 + 10 * draw, "test_acc_at_early_stop": float(correct.mean()),
                "final_test_acc": float(correct.mean()), "late_minimum": False, "test_correct": pack_bits(correct),
            })
    return result


def test_comparison_pairs_the_single_network_with_every_draw() -> None:
    c = cb.compare([_correct(300)], [_correct(380), _correct(370)], "ticket", "reinit", 0.2)
    assert c.pairs == 2 and c.negative == 2 and c.digits == DIGITS
    assert c.mean == pytest.approx((300 - 380 + 300 - 370) / 2 / DIGITS)
    assert c.verdict == "lower" and c.high < 0
    assert "2/2 draws agree" in c.text()
    assert c.sentence("more", "less").startswith("less (")
    with pytest.raises(ValueError):
        cb.compare([_correct(1), _correct(2)], [_correct(1), _correct(2), _correct(3)], "a", "b", 0.2)


def test_puzzle_that_holds() -> None:
    """Fresh init clearly worse than fine-tuned; the ticket clearly better than fresh init."""
    retrain = _retrain({"fine_tune": [_correct(380)], "reinit": [_correct(300), _correct(310, 7)],
                        "ticket": [_correct(382)]})
    puzzle = cb.compare_retrained(retrain, "reinit", "fine_tune", 0.2)
    assert puzzle.verdict == "lower"
    assert cb._verdicts([puzzle], "lower") == HOLDS
    text = cb.puzzle_text(retrain, _history(_correct(381)), seed=0)
    assert "the fresh initialization is less accurate" in text
    assert "the reset network is more accurate" in text
    assert "no interval" in text and "fresh init 45 (draws: 40, 50)" in text
    summary = cb.puzzle_summary(retrain, _history(_correct(381)), seed=0)
    assert "one dense network (seed 0) and 2 fresh-init draw(s)" in summary and "400 test digits" in summary


def test_puzzle_that_fails() -> None:
    retrain = _retrain({"fine_tune": [_correct(300)], "reinit": [_correct(380), _correct(385, 3)],
                        "ticket": [_correct(300, 5)]})
    puzzle = cb.compare_retrained(retrain, "reinit", "fine_tune", 0.2)
    assert puzzle.verdict == "higher" and cb._verdicts([puzzle], "lower") == FAILS
    assert "the fresh initialization is the more accurate" in cb.puzzle_text(retrain, _history(_correct(300)))


def test_puzzle_unresolved_says_so_with_its_interval() -> None:
    # Two digits apart out of 400: well inside the noise of the test digits.
    retrain = _retrain({"fine_tune": [_correct(350)], "reinit": [_correct(348, 11)], "ticket": [_correct(351, 3)]})
    puzzle = cb.compare_retrained(retrain, "reinit", "fine_tune", 0.2)
    assert puzzle.verdict == "unresolved" and puzzle.low < 0 < puzzle.high
    assert cb._verdicts([puzzle], "lower") == UNRESOLVED
    text = cb.puzzle_text(retrain, _history(_correct(350)))
    assert "not resolved at this size (" in text and "less accurate" not in text


def test_verdicts_per_density_and_no_loss_claims() -> None:
    at = lambda d, mean, low, high: cb.Comparison("a", "b", d, mean, low, high, 1, 0, 0, DIGITS)  # noqa: E731
    lower, unresolved, higher = at(0.211, -0.02, -0.03, -0.01), at(0.036, 0.0, -0.01, 0.01), at(0.07, 0.02, 0.01, 0.03)
    assert cb._verdicts([lower, unresolved], "lower") == f"{HOLDS} at 21.1%; {UNRESOLVED} at 3.6%"
    assert cb._verdicts([higher], "lower") == FAILS
    # "No loss": fails only where a loss is resolved.
    assert cb._verdicts([unresolved, higher], "higher", no_loss=True) == HOLDS
    assert cb._verdicts([lower], "higher", no_loss=True) == FAILS


def test_comparing_with_the_dense_network_needs_its_digits() -> None:
    retrain = _retrain({"fine_tune": [_correct(380)], "reinit": [_correct(300)], "ticket": [_correct(382)]})
    with pytest.raises(ValueError, match="dense"):
        cb.compare_retrained(retrain, "ticket", "dense", 0.2, History())
    old = _retrain({"fine_tune": [_correct(380)]})
    old.records[0]["test_correct"] = ""
    with pytest.raises(ValueError, match="test_correct"):
        cb.compare_retrained(old, "fine_tune", "fine_tune", 0.2)


# ------------------------------------------------------------------ table and summary on a real run


def _synthetic(n_train: int = 240, n_test: int = 80, seed: int = 0) -> MNISTData:
    gen = torch.Generator().manual_seed(seed)
    projection = torch.randn(784, 10, generator=gen)

    def split(n: int):
        x = torch.randn(n, 784, generator=gen)
        return x, (x @ projection).argmax(1)

    (tx, ty), (vx, vy), (sx, sy) = split(n_train), split(60), split(n_test)
    return MNISTData("synthetic", "synthetic", tx, ty, vx, vy, sx, sy)


def test_table_and_summary_quote_intervals_and_verdicts() -> None:
    data = _synthetic()
    dense = train_dense(0, data, Size("tiny", iterations=6, eval_every=3, rounds=0, seeds=1), device="cpu",
                        progress=False)
    retrain = retraining_experiment(dense.net, dense.theta0, data, [0.211, 0.07, 0.036], iterations=4,
                                    finetune_iterations=2, eval_every=2, reinit_draws=2, progress=False)
    for record in retrain.records:
        assert record["test_correct"] and record["start_test_correct"] and "late_minimum" in record
    table = cb.pruning_basics_table(dense, retrain, data)
    lines = table.splitlines()
    assert lines[0] == "| paper | this run | verdict |" and all(line.count("|") == 4 for line in lines)
    verdicts = [line.rsplit("|", 2)[1].strip() for line in lines[2:]]
    allowed = (HOLDS, FAILS, UNRESOLVED, cb.NOT_COMPARED)
    assert all(any(word in v for word in allowed) for v in verdicts)
    assert sum("points [" in line for line in lines) >= 6         # the comparisons quote their intervals
    assert "no interval" in table                                  # the early-stopping row says why not
    summary = cb.basics_summary(dense, retrain, data, [1.0, 0.5, 0.2, 0.05])
    assert "*Caveat:* one dense network (seed 0) and 2 fresh-init draw(s)" in summary
    assert "80 test digits" in summary


def test_border_range_holds_random_masks() -> None:
    gen = torch.Generator().manual_seed(0)
    pixel_std = torch.ones(784)
    pixel_std[:100] = 0.0                                          # 100 always-blank pixels
    inside = 0
    for _ in range(40):
        mask = torch.rand(300, 784, generator=gen) < 0.05
        low, high = cb.border_range(mask, pixel_std)
        ratio = mask[:, :100].float().mean() / mask.float().mean()
        inside += int(low <= ratio <= high)
    assert inside >= 34                                            # about 95% of random masks
    thinned = torch.rand(300, 784, generator=gen) < 0.05
    thinned[:, :100] = False
    assert "fewer than at random" in cb.pixel_text({"no border": thinned}, pixel_std)
