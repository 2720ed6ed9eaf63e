"""The reference training loop: configuration, minibatches, history, and masks under every optimizer."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from lth_helpers import training as training_module
from lth_helpers.history import pack_bits, unpack_bits
from lth_helpers.models import LAYER_SHAPES, LeNet300100
from lth_helpers.training import (
    History,
    TrainConfig,
    evaluate,
    evaluate_examples,
    make_optimizer,
    minibatch_indices,
    train,
)


def _masks(density: float, seed: int) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    return {name: torch.rand(shape, generator=generator) < density for name, shape in LAYER_SHAPES.items()}


# ----------------------------------------------------------------------- mask invariants

OPTIMIZER_SETTINGS = {
    "adam": dict(optimizer="adam"),
    "adam+L2": dict(optimizer="adam", weight_decay=1e-2),
    "adamw": dict(optimizer="adamw", weight_decay=0.1),
    "sgd+momentum": dict(optimizer="sgd", lr=0.05, momentum=0.9),
    "sgd+momentum+decay": dict(optimizer="sgd", lr=0.05, momentum=0.9, weight_decay=1e-2),
}


@pytest.mark.parametrize("settings", OPTIMIZER_SETTINGS.values(), ids=OPTIMIZER_SETTINGS.keys())
def test_pruned_weights_stay_exactly_zero(settings, small_data):
    model = LeNet300100(seed=0)
    masks = _masks(0.3, seed=1)
    model.set_masks(masks)
    start = model.weights()
    train(model, small_data, TrainConfig(iterations=25, eval_every=25, **settings), seed=0, progress=False)
    after = model.weights()
    for name, mask in masks.items():
        assert torch.all(after[name][~mask] == 0.0), f"{name}: a pruned weight moved"
        assert torch.equal(model.masks()[name], mask)  # training never touches the mask
        moved = (after[name] != start[name])[mask].float().mean()
        assert moved > 0.5, f"{name}: the kept weights did not train"
    # And a pruned weight still contributes nothing, whatever its parameter holds.
    x = small_data.test_x[:50]
    before = model(x)
    with torch.no_grad():
        for name, layer in model.layers():
            layer.weight[~masks[name]] = 1e3
    assert torch.equal(model(x), before)


@pytest.mark.parametrize("settings", OPTIMIZER_SETTINGS.values(), ids=OPTIMIZER_SETTINGS.keys())
def test_one_optimizer_step_leaves_pruned_weights_at_zero(settings):
    """A single step with nonzero weights everywhere else, large decay, large learning rate."""
    model = LeNet300100(seed=2)
    masks = _masks(0.1, seed=3)
    model.set_masks(masks)
    optimizer = make_optimizer(model.parameters(), TrainConfig(**settings))
    x, y = torch.randn(60, 784), torch.randint(0, 10, (60,))
    for _ in range(3):
        optimizer.zero_grad()
        F.cross_entropy(model(x), y).backward()
        optimizer.step()
    for name, layer in model.layers():
        assert torch.all(layer.weight.detach()[~masks[name]] == 0.0)


# ------------------------------------------------------------------------------ config


def test_train_config_defaults_are_the_papers():
    config = TrainConfig()
    assert (config.iterations, config.batch_size, config.lr, config.eval_every, config.optimizer) == (
        50_000, 60, 1.2e-3, 100, "adam")
    assert TrainConfig(iterations=5).to_dict()["iterations"] == 5


@pytest.mark.parametrize("kwargs,pattern", [
    (dict(iterations=0), "iterations must be a positive integer, got 0"),
    (dict(batch_size=2.5), "batch_size must be a positive integer, got 2.5"),
    (dict(eval_every=-1), "eval_every .* got -1"),
    (dict(lr=0), "lr must be a positive finite number, got 0"),
    (dict(lr=float("inf")), "lr must be a positive finite number, got inf"),
    (dict(weight_decay=float("nan")), "weight_decay must be a finite number >= 0, got nan"),
    (dict(optimizer="rmsprop"), "unknown optimizer 'rmsprop'.*adam"),
    (dict(momentum=1.0), r"momentum must be in \[0, 1\), got 1.0"),
    (dict(weight_decay=-0.1), "weight_decay must be a finite number >= 0, got -0.1"),
])
def test_train_config_rejects_bad_values(kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        TrainConfig(**kwargs)


# --------------------------------------------------------------------------- minibatches


def test_minibatches_cover_each_epoch_exactly_once():
    batches = list(minibatch_indices(10, 4, 5, seed=3))
    assert [len(b) for b in batches] == [4] * 5
    flat = torch.cat(batches)
    # 20 indices = two full epochs, each a permutation of 0..9 (a batch may straddle them).
    assert sorted(flat[:10].tolist()) == list(range(10))
    assert sorted(flat[10:].tolist()) == list(range(10))
    again = torch.cat(list(minibatch_indices(10, 4, 5, seed=3)))
    other = torch.cat(list(minibatch_indices(10, 4, 5, seed=4)))
    assert torch.equal(flat, again) and not torch.equal(flat, other)


def test_minibatch_larger_than_data_is_an_error():
    with pytest.raises(ValueError, match="batch_size 60 is larger than the training set"):
        next(minibatch_indices(50, 60, 1, seed=0))


# ------------------------------------------------------------------------------ history


def test_history_reads_early_stopping_off_validation_loss():
    history = History()
    for iteration, val_loss, test_acc in [(100, 0.5, 0.90), (200, 0.3, 0.95), (300, 0.3, 0.97), (400, 0.4, 0.96)]:
        history.append(iteration, 1.0, (val_loss, test_acc - 0.01), (val_loss, test_acc))
    assert history.early_stop_iteration == 200  # the first minimum wins ties
    assert history.test_acc_at_early_stop == 0.95
    assert history.val_acc_at_early_stop == pytest.approx(0.94)
    assert history.final_test_acc == 0.96
    assert History.from_dict(history.to_dict()) == history
    assert history.summary()["early_stop_iteration"] == 200


def test_empty_history_has_no_early_stop():
    with pytest.raises(ValueError, match="no evaluations"):
        History().early_stop_iteration


def test_set_test_at_early_stop_records_loss_accuracy_and_which_examples():
    history = History()
    for iteration, val_loss in [(10, 0.5), (20, 0.3), (30, 0.4)]:
        history.append(iteration, 1.0, (val_loss, 0.9), (0.7, 0.8))
    correct = torch.tensor([True, False, True, True, False, True, True, True, True, False])
    history.set_test_at_early_stop(0.25, correct)
    assert history.test_loss == [0.7, 0.25, 0.7] and history.test_acc == [0.8, 0.7, 0.8]  # only the minimum's entry
    assert history.test_acc_at_early_stop == 0.7
    assert history.test_correct_at_early_stop == "10:b780"  # 10110111 10(000000): MSB first
    assert unpack_bits(history.test_correct_at_early_stop).tolist() == correct.tolist()
    # A list or a numpy array does the same; the record survives a round trip through a dict (JSON).
    for same in (correct.tolist(), correct.numpy()):
        other = History.from_dict(history.to_dict())
        other.set_test_at_early_stop(0.25, same)
        assert other == history
    assert History.from_dict(history.to_dict()).test_correct_at_early_stop == "10:b780"
    # A history saved before the field existed reads back with none.
    old = {k: v for k, v in history.to_dict().items() if k != "test_correct_at_early_stop"}
    assert History.from_dict(old).test_correct_at_early_stop == ""


# -------------------------------------------------------------------- packed booleans


@pytest.mark.parametrize("n", [0, 1, 7, 8, 9, 5000])
def test_pack_bits_round_trip(n):
    flags = np.random.default_rng(n).random(n) < 0.6
    text = pack_bits(flags)
    assert text.startswith(f"{n}:") and len(text.split(":")[1]) == 2 * ((n + 7) // 8)
    back = unpack_bits(text)
    assert back.dtype == bool and back.shape == (n,)
    np.testing.assert_array_equal(back, flags)
    for constant in (np.zeros(n, bool), np.ones(n, bool)):
        np.testing.assert_array_equal(unpack_bits(pack_bits(constant)), constant)
    assert pack_bits(torch.as_tensor(flags)) == pack_bits(flags.tolist()) == text


@pytest.mark.parametrize("text", [
    "", "5", "abc:00", "3:zz", "2:0", "a:b:c", ":00", "1.0:80",  # not 'n:hex'
    "9:00", "8:", "1:0000", "0:00", "-1:",  # the hex does not hold n values
])
def test_unpack_bits_rejects_malformed_text(text):
    with pytest.raises(ValueError, match=r"packed booleans"):
        unpack_bits(text)


# ------------------------------------------------------------------------------ evaluate


def test_evaluate_matches_a_direct_computation(small_data):
    model = LeNet300100(seed=5)
    model.train()
    x, y = small_data.test_x, small_data.test_y
    loss, acc = evaluate(model, x, y, chunk=64)  # chunks must not change the answer
    with torch.no_grad():
        logits = model(x)
    assert loss == pytest.approx(float(F.cross_entropy(logits, y)), rel=1e-5)
    assert acc == pytest.approx(float((logits.argmax(1) == y).float().mean()))
    assert model.training  # restored


def test_evaluate_examples_says_which_examples_are_right(small_data):
    model = LeNet300100(seed=5)
    x, y = small_data.test_x, small_data.test_y
    loss, correct = evaluate_examples(model, x, y, chunk=64)
    with torch.no_grad():
        logits = model(x)
    assert correct.dtype == torch.bool and correct.shape == (len(y),)
    assert torch.equal(correct, logits.argmax(1) == y)
    assert torch.equal(evaluate_examples(model, x, y)[1], correct)  # chunks do not change it
    assert loss == pytest.approx(float(F.cross_entropy(logits, y)), rel=1e-5)
    assert evaluate(model, x, y, chunk=64) == (loss, float(correct.double().mean()))


# ------------------------------------------------------------------------------- train


def test_train_history_schedule_and_determinism(small_data):
    config = TrainConfig(iterations=25, eval_every=10)
    runs = []
    for seed in (0, 0, 1):
        model = LeNet300100(seed=0)
        history = train(model, small_data, config, seed=seed, progress=False)
        runs.append((history, model.weights()))
    history = runs[0][0]
    assert history.iterations == [10, 20, 25]  # the last iteration is always evaluated
    assert all(len(getattr(history, k)) == 3 for k in ("train_loss", "val_loss", "val_acc", "test_loss", "test_acc"))
    assert all(0.0 <= a <= 1.0 for a in history.val_acc + history.test_acc)
    # Same seed (minibatch order) and same initialization: bitwise the same.
    assert runs[1][0] == history
    assert all(torch.equal(runs[0][1][n], runs[1][1][n]) for n in LAYER_SHAPES)
    # Another minibatch order: different numbers.
    assert not torch.equal(runs[0][1]["fc1"], runs[2][1]["fc1"])


def test_training_learns(small_data):
    model = LeNet300100(seed=1)
    untrained = evaluate(model, small_data.val_x, small_data.val_y)
    history = train(model, small_data, TrainConfig(iterations=100, eval_every=50), seed=0, progress=False)
    assert history.val_loss[-1] < untrained[0] / 2
    assert history.val_acc[-1] > 0.75
    assert history.train_loss[-1] < history.train_loss[0]


def test_train_records_which_test_digits_are_right_at_early_stopping(small_data, monkeypatch):
    """The packed flags are those of the weights at the validation minimum, not the final weights."""
    seen = []  # every test-set evaluation, in order: one per evaluation, then the kept weights'
    real = training_module.evaluate_examples

    def spy(model, x, y, chunk=10_000):
        loss, correct = real(model, x, y, chunk)
        if y is small_data.test_y:
            seen.append(correct.clone())
        return loss, correct

    monkeypatch.setattr(training_module, "evaluate_examples", spy)
    model = LeNet300100(seed=0)
    history = train(model, small_data, TrainConfig(iterations=60, eval_every=10), seed=0, progress=False)
    assert history.early_stop_iteration < history.iterations[-1]  # (this schedule stops early)
    correct = unpack_bits(history.test_correct_at_early_stop)
    assert len(correct) == len(small_data.test_y)
    assert correct.mean() == history.test_acc_at_early_stop  # exactly: the accuracy is the fraction right
    assert len(seen) == len(history.iterations) + 1
    best = history.iterations.index(history.early_stop_iteration)
    assert correct.tolist() == seen[best].tolist() == seen[-1].tolist()
    # The model is left with its final weights: the early-stopping ones were restored only to be tested.
    assert real(model, small_data.test_x, small_data.test_y)[1].tolist() == seen[len(history.iterations) - 1].tolist()
