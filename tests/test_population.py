"""The population trainer: K networks in lockstep give each member what the reference loop gives it."""

from __future__ import annotations

import pytest
import torch

from lth_helpers.data import MNISTData
from lth_helpers.history import unpack_bits
from lth_helpers.models import LAYER_NAMES, LAYER_SHAPES, LeNet300100
from lth_helpers.population import LeNetPopulation, train_population
from lth_helpers.pruning import layerwise_magnitude_masks, one_shot_rates, random_masks_like
from lth_helpers.training import TrainConfig, evaluate, evaluate_examples, train


def _members() -> list[LeNet300100]:
    """Three different members: dense, a magnitude-pruned ticket (~51%), a random mask (~21%)."""
    dense = LeNet300100(seed=0)
    ticket = LeNet300100(seed=1)
    ticket.set_masks(layerwise_magnitude_masks(ticket.weights(), one_shot_rates(3)))
    sparse = LeNet300100(seed=2)
    sparse.set_masks(random_masks_like(layerwise_magnitude_masks(sparse.weights(), one_shot_rates(7)),
                                       torch.Generator().manual_seed(3)))
    return [dense, ticket, sparse]


def _in_float64(data: MNISTData) -> MNISTData:
    return MNISTData(data.name, data.source, data.train_x.double(), data.train_y, data.val_x.double(),
                     data.val_y, data.test_x.double(), data.test_y)


def _relative_difference(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a.double() - b.double()).norm() / b.double().norm())


@pytest.mark.parametrize("weight_decay", [0.0, 1e-3], ids=["adam", "adam+L2"])
def test_population_trajectory_equals_the_single_network_loop_in_float64(small_data, weight_decay):
    """Tens of Adam steps in float64: both loops give every member the same weights and curves.

    In float64 the rounding of the two loops' different kernels (one wide matmul vs one
    per network) is ~1e-16, far below Adam's epsilon, so it cannot be amplified into a
    visible difference: this checks the algorithm, on any CPU.
    """
    config = TrainConfig(iterations=30, eval_every=10, weight_decay=weight_decay)
    members = [m.double() for m in _members()]
    population = LeNetPopulation.from_models(members, dtype=torch.float64)
    histories = train_population(population, small_data, config, seed=5, progress=False)
    data64 = _in_float64(small_data)
    for k, model in enumerate(members):
        alone = train(model, data64, config, seed=5, progress=False)
        together = histories[k]
        assert together.iterations == alone.iterations == [10, 20, 30]
        for key in ("train_loss", "val_loss", "test_loss", "val_acc", "test_acc"):
            assert getattr(together, key) == pytest.approx(getattr(alone, key), rel=1e-6, abs=1e-9), key
        assert together.test_correct_at_early_stop == alone.test_correct_at_early_stop  # the same digits right
        state = population.member_state(k)
        for name, layer in model.layers():
            torch.testing.assert_close(state[f"{name}.weight"].double(), layer.weight.detach(), rtol=0, atol=1e-6)
            assert torch.equal(state[f"{name}.mask"].bool(), layer.mask.bool())
        assert together.val_acc[-1] > 0.6  # the members really trained


def test_population_equals_the_single_network_loop_in_float32(small_data):
    """Float32 end to end, compared in ways kernel rounding cannot break: relative norms of the
    weight updates, losses, and accuracies within a couple of examples."""
    config = TrainConfig(iterations=30, eval_every=10, weight_decay=1e-3)
    members = _members()
    start = [m.weights() for m in members]
    population = LeNetPopulation.from_models(members)
    histories = train_population(population, small_data, config, seed=5, progress=False)
    for k, model in enumerate(members):
        alone = train(model, small_data, config, seed=5, progress=False)
        state = population.member_state(k)
        for name, layer in model.layers():
            moved_alone = layer.weight.detach() - start[k][name]
            moved_together = state[f"{name}.weight"] - start[k][name]
            assert _relative_difference(moved_together, moved_alone) < 1e-2, name
        for key in ("train_loss", "val_loss", "test_loss"):
            assert histories[k].__dict__[key] == pytest.approx(getattr(alone, key), rel=1e-3), key
        for key, n in (("val_acc", small_data.sizes["val"]), ("test_acc", small_data.sizes["test"])):
            assert histories[k].__dict__[key] == pytest.approx(getattr(alone, key), abs=2.01 / n), key


def test_hand_written_gradients_equal_autograd(small_data):
    """One step from the same weights, in float64: the population's backward pass is autograd's."""
    members = [m.double() for m in _members()]
    with torch.no_grad():
        for k, model in enumerate(members):  # nonzero biases, so that their gradients are checked too
            for _, layer in model.layers():
                layer.bias.normal_(0.0, 0.1, generator=torch.Generator().manual_seed(k))
    population = LeNetPopulation.from_models(members, dtype=torch.float64)
    grads = [torch.zeros_like(p) for p in population._parameters()]
    for batch in range(3):
        idx = torch.arange(60 * batch, 60 * (batch + 1))
        x, y = small_data.train_x[idx].double(), small_data.train_y[idx]
        losses = population._step(x, y, grads)
        for k, model in enumerate(members):
            model.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(x), y)
            loss.backward()
            assert float(losses[k]) == pytest.approx(loss.item(), rel=1e-12)
            for i, (name, layer) in enumerate(model.layers()):
                torch.testing.assert_close(grads[2 * i][k], layer.weight.grad, rtol=1e-10, atol=1e-13)
                torch.testing.assert_close(grads[2 * i + 1][k], layer.bias.grad, rtol=1e-10, atol=1e-13)


def test_pruned_weights_stay_exactly_zero_in_population(small_data):
    members = _members()
    masks = [m.masks() for m in members]
    population = LeNetPopulation.from_models(members)
    start = [population.member_state(k) for k in range(3)]
    train_population(population, small_data, TrainConfig(iterations=25, eval_every=25, weight_decay=1e-2),
                     seed=0, progress=False)
    for k in range(3):
        state = population.member_state(k)
        for name in LAYER_NAMES:
            weight = state[f"{name}.weight"]
            assert torch.all(weight[~masks[k][name]] == 0.0)
            assert (weight != start[k][f"{name}.weight"])[masks[k][name]].float().mean() > 0.5
        # The member as a stand-alone model: its pruned positions ignore any stored value.
        model = population.member_model(k)
        x = small_data.test_x[:20]
        before = model(x)
        with torch.no_grad():
            for name, layer in model.layers():
                layer.weight[~masks[k][name]] = -7.0
        assert torch.equal(model(x), before)


def test_population_pruned_positions_are_zeroed_on_entry():
    """A state whose weight is nonzero where the mask prunes is cleaned when stacked."""
    model = LeNet300100(seed=0)
    state = {k: v.clone() for k, v in model.state_dict().items()}
    state["fc2.mask"] = (torch.rand(LAYER_SHAPES["fc2"], generator=torch.Generator().manual_seed(0)) < 0.5).float()
    population = LeNetPopulation([state])
    weight = population.member_state(0)["fc2.weight"]
    assert torch.all(weight[state["fc2.mask"] == 0] == 0.0)
    assert torch.equal(weight[state["fc2.mask"] == 1], state["fc2.weight"][state["fc2.mask"] == 1])


def test_logits_and_evaluate_match_each_member(small_data):
    members = _members()
    population = LeNetPopulation.from_models(members)
    x, y = small_data.test_x, small_data.test_y
    logits = population.logits(x)
    assert logits.shape == (3, len(y), 10)
    loss, acc = population.evaluate(x, y, chunk=64)
    for k, model in enumerate(members):
        with torch.no_grad():
            torch.testing.assert_close(logits[k], model(x), rtol=1e-5, atol=1e-5)
        single_loss, single_acc = evaluate(model, x, y)
        assert float(loss[k]) == pytest.approx(single_loss, rel=1e-5)
        assert float(acc[k]) == pytest.approx(single_acc, abs=1.01 / len(y))


def test_evaluate_examples_says_which_examples_each_member_gets_right(small_data):
    members = _members()
    population = LeNetPopulation.from_models(members)
    x, y = small_data.test_x, small_data.test_y
    loss, correct = population.evaluate_examples(x, y, chunk=64)
    assert loss.shape == (3,) and loss.dtype == torch.float64
    assert correct.shape == (3, len(y)) and correct.dtype == torch.bool
    assert torch.equal(correct, population.logits(x).argmax(2) == y)
    assert torch.equal(population.evaluate_examples(x, y)[1], correct)  # chunks do not change it
    same_loss, acc = population.evaluate(x, y, chunk=64)
    assert torch.equal(same_loss, loss) and torch.equal(acc, correct.double().mean(1))
    for k, model in enumerate(members):  # each member's flags are its own (up to float32 near-ties)
        assert (evaluate_examples(model, x, y)[1] != correct[k]).sum() <= 2


def test_member_state_round_trip():
    members = _members()
    population = LeNetPopulation.from_models(members)
    for k, model in enumerate(members):
        state = population.member_state(k)
        assert set(state) == set(model.state_dict())
        for key, value in model.state_dict().items():
            assert torch.equal(state[key], value.float()), key
        assert torch.equal(population.member_model(k).masks()["fc1"], model.masks()["fc1"])


def test_training_leaves_no_autograd_state(small_data):
    population = LeNetPopulation.from_models(_members()[:1])
    train_population(population, small_data, TrainConfig(iterations=2, eval_every=2), progress=False)
    for tensor in population.weights + population.biases:
        assert tensor.grad is None and not tensor.requires_grad


def test_population_rejects_other_optimizers_and_no_members(small_data):
    population = LeNetPopulation.from_models([LeNet300100(seed=0)])
    with pytest.raises(ValueError, match="'sgd'"):
        train_population(population, small_data, TrainConfig(iterations=2, optimizer="sgd"), progress=False)
    with pytest.raises(ValueError, match="at least one member"):
        LeNetPopulation([])


def test_same_numbers_with_two_threads(small_data):
    """The suite runs single-threaded; a reader's default of several threads is just as repeatable."""
    config = TrainConfig(iterations=8, eval_every=4)
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        runs = []
        for _ in range(2):
            population = LeNetPopulation.from_models(_members()[:2])
            histories = train_population(population, small_data, config, seed=1, progress=False)
            runs.append((histories, [population.member_state(k) for k in range(2)]))
    finally:
        torch.set_num_threads(threads)
    (first, first_states), (second, second_states) = runs
    assert first == second
    for a, b in zip(first_states, second_states):
        assert all(torch.equal(a[key], b[key]) for key in a)


def test_train_population_records_which_test_digits_each_member_gets_right(small_data, monkeypatch):
    """Each member's packed flags are those of its own weights at its own validation minimum."""
    seen = []  # every test-set evaluation, in order: one per evaluation, then the kept weights'
    real = LeNetPopulation.evaluate_examples

    def spy(self, x, y, chunk=2_500):
        loss, correct = real(self, x, y, chunk)
        if y is small_data.test_y:
            seen.append(correct.clone())
        return loss, correct

    monkeypatch.setattr(LeNetPopulation, "evaluate_examples", spy)
    population = LeNetPopulation([LeNet300100(seed=10 + i).state_dict() for i in range(3)])
    histories = train_population(population, small_data, TrainConfig(iterations=60, eval_every=10, lr=0.03),
                                 seed=0, progress=False)
    assert len(seen) == len(histories[0].iterations) + 1
    stops = [h.early_stop_iteration for h in histories]
    assert any(stop < histories[0].iterations[-1] for stop in stops), stops  # (this schedule stops some early)
    for k, history in enumerate(histories):
        correct = unpack_bits(history.test_correct_at_early_stop)
        assert len(correct) == len(small_data.test_y)
        assert correct.mean() == history.test_acc_at_early_stop  # exactly
        best = history.iterations.index(history.early_stop_iteration)
        assert correct.tolist() == seen[best][k].tolist() == seen[-1][k].tolist()
    # The population keeps its final weights.
    assert torch.equal(real(population, small_data.test_x, small_data.test_y)[1], seen[-2])
