"""Late rewinding and instability analysis."""

from __future__ import annotations

import pytest
import torch

from lth_helpers import stages as stages_module
from lth_helpers import stability
from lth_helpers.imp import make_config, rewind_point, run_imp
from lth_helpers.models import LAYER_NAMES
from lth_helpers.population import LeNetPopulation, train_population
from lth_helpers.pruning import full_masks
from lth_helpers.stability import error_barrier, interpolate, path_errors, stability_records
from lth_helpers.strategies import derive_seed, start_state, theta0_for

from conftest import TrainSpy, assert_same_results, tiny_config


def test_rewinding_to_iteration_0_is_the_papers_reset_bit_for_bit(tmp_path, small_data):
    default = run_imp(tiny_config("original,reinit"), small_data, tmp_path / "a", progress=False, verbose=False)
    zero = run_imp(tiny_config("original,reinit", rewind=0), small_data, tmp_path / "b", progress=False, verbose=False)
    assert_same_results(default, zero)
    # Same store key too: a rewind-0 request reuses the paper's run without training.
    again = run_imp(tiny_config("original,reinit", rewind=0), small_data, tmp_path / "a", progress=False, verbose=False)
    assert again.computed == 0


def test_saved_rewind_points_are_the_weights_at_that_iteration(tmp_path, small_data):
    k = 15
    result = run_imp(tiny_config("original", rewind=k), small_data, tmp_path, progress=False, verbose=False)
    weights, biases = rewind_point(result.store, 0, k)
    # Train the dense network again for exactly k iterations on the same minibatches.
    theta0 = theta0_for(0)
    population = LeNetPopulation([start_state(theta0, full_masks(theta0))])
    config = tiny_config("original").train_config
    short = type(config)(**{**config.to_dict(), "iterations": k, "eval_every": k})
    train_population(population, small_data, short, seed=derive_seed("batches", 0, 0), progress=False)
    state = population.member_state(0)
    for name in LAYER_NAMES:
        assert torch.equal(weights[name], state[f"{name}.weight"])
        assert torch.equal(biases[name], state[f"{name}.bias"])
    assert all(r["rewind_iteration"] == k for r in result.records)


def test_a_rewound_ticket_starts_from_theta_k_on_its_mask(tmp_path, small_data, monkeypatch):
    spy = TrainSpy()
    monkeypatch.setattr(stages_module, "train_members", spy)
    result = run_imp(tiny_config("original,reinit", rewind=10), small_data, tmp_path, progress=False, verbose=False)
    weights, biases = rewind_point(result.store, 0, 10)
    ticket, reinit = spy.calls[1][0], spy.calls[2][0]  # round 1: the ticket alone, then its control
    mask = result.masks(0, 1)
    for name in LAYER_NAMES:
        assert torch.equal(ticket[f"{name}.weight"], weights[name] * mask[name].float())
        assert torch.equal(ticket[f"{name}.bias"], biases[name])
        assert torch.count_nonzero(reinit[f"{name}.bias"]) == 0  # the control starts fresh


@pytest.mark.parametrize("overrides, message", [
    ({"rewind": 40}, "rewind must be an iteration in 0..39"),
    ({"rewind": -1}, "rewind must be an iteration"),
    ({"rewind": 10, "strategies": "original,random_mask"}, "trains original and reinit only"),
])
def test_bad_rewind_settings_are_refused(overrides, message):
    strategies = overrides.pop("strategies", "original")
    with pytest.raises(ValueError, match=message):
        tiny_config(strategies, **overrides)


def test_interpolation_and_the_error_barrier():
    a = {"fc1.weight": torch.zeros(2), "fc1.mask": torch.ones(2)}
    b = {"fc1.weight": torch.full((2,), 4.0), "fc1.mask": torch.ones(2)}
    assert torch.equal(interpolate(a, b, 0.25)["fc1.weight"], torch.ones(2))
    assert error_barrier([0.02, 0.10, 0.04]) == pytest.approx(0.07)
    assert error_barrier([0.02, 0.03, 0.04]) == pytest.approx(0.01)  # a ramp: half the ends' difference


def test_path_ends_are_the_two_networks(small_data):
    theta0, other = theta0_for(0), theta0_for(1)
    masks = full_masks(theta0)
    a, b = start_state(theta0, masks), start_state(other, masks)
    alphas, errors = path_errors(a, b, small_data, points=3)
    assert alphas == [0.0, 0.5, 1.0]
    for state, error in ((a, errors[0]), (b, errors[-1])):
        from lth_helpers.models import LeNet300100
        model = LeNet300100()
        model.load_state_dict(state)
        accuracy = (model(small_data.test_x).argmax(1) == small_data.test_y).double().mean()
        assert error == pytest.approx(1 - float(accuracy))


def test_instability_is_cached_per_configuration_and_start(tmp_path, small_data, monkeypatch):
    config = tiny_config("original")
    theta0 = theta0_for(0)
    start = start_state(theta0, full_masks(theta0))
    calls = []
    real = stability.instability
    monkeypatch.setattr(stability, "instability", lambda *args, **kw: calls.append(args[3]) or real(*args, **kw))
    label = {"kind": "dense", "seed": 0, "rewind": 0}
    first = stability_records([(label, lambda: start)], small_data, config, tmp_path, points=3, progress=False)
    again = stability_records([(label, lambda: start)], small_data, config, tmp_path, points=3, progress=False)
    assert len(calls) == 1 and first == again and first[0]["kind"] == "dense"
    assert len(set(calls[0])) == 2  # two different minibatch orders
    assert first[0]["barrier"] == pytest.approx(error_barrier(first[0]["errors"]))
    other = tiny_config("original", iterations=30)
    stability_records([(label, lambda: start)], small_data, other, tmp_path, points=3, progress=False)
    assert len(calls) == 2  # another schedule: not reused


def test_the_rewind_experiment_and_its_claims(tmp_path, small_data):
    from lth_helpers.claims import FAILS, HOLDS, UNRESOLVED
    from lth_helpers.claims_rewind import rewind_claims
    from lth_helpers.rewinding import rewind_experiment, rewind_name

    e = rewind_experiment("quick", 1, small_data, tmp_path, progress=False, points=[0, 20])
    assert e.points == [0, 20] and e.ticket_rewinds == [0, 20]
    assert {r["strategy"] for r in e.records} == {"original", "reinit", rewind_name(0), rewind_name(20)}
    kinds = {(r["kind"], r["rewind"]) for r in e.stability}
    assert kinds == {("dense", 0), ("dense", 20), ("ticket", 0), ("ticket", 20), ("reinit", 0)}
    claims = rewind_claims(e)
    assert len(claims) == 4 and all(c.verdict in (HOLDS, FAILS, UNRESOLVED) for c in claims)
    with pytest.raises(ValueError, match="must include 0"):
        rewind_experiment("quick", 1, small_data, tmp_path, progress=False, points=[20])


def test_a_damaged_instability_cache_is_recomputed(tmp_path, small_data):
    config = tiny_config("original")
    theta0 = theta0_for(0)
    start = start_state(theta0, full_masks(theta0))
    label = {"kind": "dense", "seed": 0, "rewind": 0}
    first = stability_records([(label, lambda: start)], small_data, config, tmp_path, points=3, progress=False)
    cache = next(tmp_path.glob("instability-*.json"))
    cache.write_text("{not json")
    with pytest.warns(RuntimeWarning, match="damaged instability cache"):
        again = stability_records([(label, lambda: start)], small_data, config, tmp_path, points=3, progress=False)
    assert again == first
