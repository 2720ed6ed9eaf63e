"""Iterative magnitude pruning: schedule, resets, controls, reproducibility, resuming, damaged files."""

from __future__ import annotations

import json
import math
import shutil

import pytest
import torch

from lth_helpers import stages as stages_module
from lth_helpers.imp import make_config, run_imp, run_one_shot
from lth_helpers.results import IMPResult
from lth_helpers.strategies import STRATEGIES, member_start, theta0_for
from lth_helpers.initialization import dense_glorot_std, subnetwork_glorot_std
from lth_helpers.models import LAYER_NAMES, LAYER_SHAPES
from lth_helpers.pruning import PAPER_RATES, expected_density, layerwise_magnitude_masks, one_shot_rates
from lth_helpers.store import CorruptResultWarning

from conftest import assert_same_results, tiny_config

TOTALS = {name: out * inp for name, (out, inp) in LAYER_SHAPES.items()}
REQUIRED_KEYS = {"strategy", "seed", "round", "density", "layer_density", "early_stop_iteration",
                 "test_acc_at_early_stop", "val_acc_at_early_stop", "final_test_acc", "data_source"}


def _start(spy, round_: int, strategy: str, result: IMPResult) -> dict[str, torch.Tensor]:
    """The state a member was handed for training, as captured by the spy."""
    if round_ == 0 or strategy == "original":
        return spy.calls[max(0, 2 * round_ - 1)][0]  # the ticket is trained alone
    controls = [r["strategy"] for r in result.select(seed=0, round_=round_) if r["strategy"] != "original"]
    return spy.calls[2 * round_][controls.index(strategy)]


# --------------------------------------------------------------------------------- records


def test_records_and_histories(imp_run, small_data):
    result, _ = imp_run
    assert result.computed == 1 + 2 * len(STRATEGIES) and result.reused == 0
    assert [(r["strategy"], r["round"]) for r in result.records] == [("original", 0)] + [
        (s, k) for k in (1, 2) for s in STRATEGIES]
    for record in result.records:
        assert REQUIRED_KEYS <= set(record)
        assert record["data_source"] == small_data.source == result.data_source
        assert record["seed"] == 0 and record["iterations"] == 40
        for key in ("test_acc_at_early_stop", "val_acc_at_early_stop", "final_test_acc"):
            assert 0.0 <= record[key] <= 1.0
        history = result.history(record["strategy"], 0, record["round"])
        assert history.iterations == [20, 40]
        assert record["early_stop_iteration"] == history.early_stop_iteration
        assert record["final_test_acc"] == history.test_acc[-1]
    # At round 0 every strategy is the dense network.
    assert result.history("reinit", 0, 0) is result.history("original", 0, 0)
    assert result.select(strategy="original", round_=0)[0]["final_test_acc"] > 0.5
    with pytest.raises(KeyError, match="no run for strategy='reinit', seed=5"):
        result.history("reinit", 5, 1)


def test_records_say_which_test_digits_each_network_gets_right(imp_run, small_data, tmp_path):
    """Every record carries its network's right/wrong test digits at early stopping (for paired
    intervals); they agree with its accuracy exactly and survive the store and results.json."""
    from lth_helpers.history import unpack_bits

    result, _ = imp_run
    for record in result.records:
        correct = unpack_bits(record["test_correct"])
        assert len(correct) == small_data.sizes["test"]
        assert correct.mean() == record["test_acc_at_early_stop"]
        history = result.history(record["strategy"], 0, record["round"])
        assert record["test_correct"] == history.test_correct_at_early_stop
    # Networks that differ get different digits right, not just different counts.
    assert len({r["test_correct"] for r in result.records}) > 1
    path = result.to_json(tmp_path / "results.json")
    assert [r["test_correct"] for r in json.loads(path.read_text())] == [r["test_correct"] for r in result.records]
    again = run_imp(result.config, small_data, result.store.directory.parent, progress=False, device="cpu",
                    verbose=False)
    assert again.computed == 0 and again.records == result.records


def test_summary_and_table(imp_run):
    result, _ = imp_run
    rows = result.summary()
    assert [(r["strategy"], r["round"]) for r in rows] == [("original", 0), ("original", 1), ("original", 2)] + [
        (s, k) for s in STRATEGIES[1:] for k in (1, 2)]
    row = rows[1]
    assert row["n"] == 1 and row["final_test_acc_min"] == row["final_test_acc"] == row["final_test_acc_max"]
    table = result.format_table()
    assert "strategy" in table and "fan_corrected" in table and "random_mask" in table
    assert f"{100 * expected_density(2):.1f}%" in table  # 64.1% of the weights left at round 2


# ------------------------------------------------------------------------------ schedule


def test_layer_densities_follow_the_schedule(imp_run):
    result, _ = imp_run
    for k in range(3):
        record = result.select(strategy="original", round_=k)[0]
        masks = result.masks(0, k)
        for name, total in TOTALS.items():
            kept = int(masks[name].sum())
            assert kept == round(record["layer_density"][name] * total)
            assert abs(kept - total * (1 - PAPER_RATES[name]) ** k) <= 1.0
        assert record["density"] == pytest.approx(expected_density(k), abs=2 / 266_200)
        # Every control at that round has the same per-layer density as the ticket.
        for strategy in STRATEGIES[1:] if k else ():
            assert result.select(strategy=strategy, round_=k)[0]["layer_density"] == record["layer_density"]


def test_each_mask_prunes_the_trained_ticket_of_the_round_before(imp_run):
    result, _ = imp_run
    for k in (1, 2):
        expected = layerwise_magnitude_masks(result.final_weights(0, k - 1), PAPER_RATES, result.masks(0, k - 1))
        for name in LAYER_NAMES:
            assert torch.equal(result.masks(0, k)[name], expected[name])
            assert not torch.any(result.masks(0, k)[name] & ~result.masks(0, k - 1)[name])
            # The trained ticket is zero where it was pruned.
            assert torch.all(result.final_weights(0, k)[name][~result.masks(0, k)[name]] == 0.0)


# ----------------------------------------------------------------- initializations


def test_original_resets_survivors_to_exactly_theta0(imp_run):
    result, spy = imp_run
    theta0 = result.theta0(0)
    for name in LAYER_NAMES:
        assert torch.equal(theta0[name], theta0_for(0)[name])
        assert torch.equal(spy.calls[0][0][f"{name}.weight"], theta0[name])  # the dense start is theta_0
    for k in (1, 2):
        start = _start(spy, k, "original", result)
        masks = result.masks(0, k)
        initial = result.initial_weights(0, k, "original")
        for name in LAYER_NAMES:
            kept = masks[name]
            assert torch.equal(start[f"{name}.weight"][kept], theta0[name][kept])
            assert torch.all(start[f"{name}.weight"][~kept] == 0.0)
            assert torch.equal(start[f"{name}.mask"].bool(), kept)
            assert torch.count_nonzero(start[f"{name}.bias"]) == 0
            assert torch.equal(initial[name], start[f"{name}.weight"])
            # It is theta_0, not the trained weights of the round before.
            assert not torch.equal(start[f"{name}.weight"][kept], result.final_weights(0, k - 1)[name][kept])


@pytest.mark.parametrize("strategy", ["reinit", "fan_corrected", "ticket_scale", "random_mask", "shuffled"])
def test_initial_weights_regenerate_what_was_trained(imp_run, strategy):
    result, spy = imp_run
    for k in (1, 2):
        start = _start(spy, k, strategy, result)
        initial = result.initial_weights(0, k, strategy)
        for name in LAYER_NAMES:
            assert torch.equal(initial[name], start[f"{name}.weight"])
            assert torch.equal(result.masks(0, k, strategy)[name], start[f"{name}.mask"].bool())


@pytest.mark.parametrize("strategy", ["reinit", "fan_corrected"])
def test_reinitializations_do_not_reuse_theta0(imp_run, strategy):
    result, spy = imp_run
    theta0 = result.theta0(0)
    for k in (1, 2):
        start = _start(spy, k, strategy, result)
        masks = result.masks(0, k)
        for name in LAYER_NAMES:
            kept = masks[name]
            weight = start[f"{name}.weight"]
            assert torch.equal(start[f"{name}.mask"].bool(), kept)  # same mask as the ticket
            assert torch.all(weight[~kept] == 0.0)
            same = (weight[kept] == theta0[name][kept]).float().mean()
            assert same < 1e-3, f"{strategy} round {k} {name}: {same:.1%} of survivors equal theta_0"
    # Fresh draws every round, and the two controls differ from each other.
    assert not torch.equal(_start(spy, 1, strategy, result)["fc1.weight"][result.masks(0, 2)["fc1"]],
                           _start(spy, 2, strategy, result)["fc1.weight"][result.masks(0, 2)["fc1"]])
    assert not torch.equal(_start(spy, 1, "reinit", result)["fc1.weight"],
                           _start(spy, 1, "fan_corrected", result)["fc1.weight"])


def test_random_mask_keeps_counts_changes_pattern(imp_run):
    result, spy = imp_run
    theta0 = result.theta0(0)
    for k in (1, 2):
        ticket = result.masks(0, k, "original")
        random = result.masks(0, k, "random_mask")
        start = _start(spy, k, "random_mask", result)
        for name in LAYER_NAMES:
            assert int(random[name].sum()) == int(ticket[name].sum())
            assert not torch.equal(random[name], ticket[name])
            # theta_0's values on the random pattern.
            assert torch.equal(start[f"{name}.weight"][random[name]], theta0[name][random[name]])
            assert torch.all(start[f"{name}.weight"][~random[name]] == 0.0)


def test_control_stds_at_twenty_percent_density():
    """reinit keeps the dense Glorot std; fan_corrected has the sub-network's own (about 1/sqrt(d) larger)."""
    theta0 = theta0_for(0)
    masks = layerwise_magnitude_masks(theta0, one_shot_rates(7))  # 21% of hidden weights, 48% of fc3
    reinit, _ = member_start("reinit", 0, 7, masks, theta0)
    corrected, _ = member_start("fan_corrected", 0, 7, masks, theta0)
    for name in LAYER_NAMES:
        kept = masks[name]
        density = float(kept.float().mean())
        tolerance = 0.15 if name == "fc3" else 0.03  # fc3 keeps only ~480 weights
        prescribed = subnetwork_glorot_std(kept)
        # RMS: the weights have mean zero, and the prescription is an RMS of per-weight stds.
        corrected_std = float(corrected[name][kept].pow(2).mean().sqrt())
        reinit_std = float(reinit[name][kept].pow(2).mean().sqrt())
        assert corrected_std == pytest.approx(prescribed, rel=tolerance)
        assert reinit_std == pytest.approx(dense_glorot_std(name), rel=tolerance)
        assert prescribed == pytest.approx(dense_glorot_std(name) / math.sqrt(density), rel=0.1)
        assert torch.all(corrected[name][~kept] == 0.0)


# ------------------------------------------------------------------------ reproducibility


def test_same_seed_same_numbers_bitwise(imp_run, small_data, tmp_path):
    first, _ = imp_run
    second = run_imp(tiny_config(), small_data, tmp_path / "again", progress=False, device="cpu", verbose=False)
    assert second.store.directory != first.store.directory
    assert second.computed == first.computed
    assert_same_results(first, second)


def test_rerun_reuses_everything(imp_run, small_data, tmp_path):
    result, _ = imp_run
    copy = tmp_path / "runs"
    shutil.copytree(result.store.directory.parent, copy)
    again = run_imp(tiny_config(), small_data, copy, progress=False, device="cpu", verbose=False)
    assert (again.computed, again.reused) == (0, 1 + 2 * len(STRATEGIES))
    assert_same_results(result, again)


def test_interrupted_run_resumes_to_the_same_numbers(imp_run, small_data, tmp_path, monkeypatch, capsys):
    uninterrupted, _ = imp_run
    calls = []
    train_members = stages_module.train_members

    def interrupt_on_second_round(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return train_members(*args, **kwargs)

    monkeypatch.setattr(stages_module, "train_members", interrupt_on_second_round)
    with pytest.raises(KeyboardInterrupt):
        run_imp(tiny_config(), small_data, tmp_path, progress=False, device="cpu", verbose=False)
    assert "run the same command again to resume" in capsys.readouterr().out
    monkeypatch.setattr(stages_module, "train_members", train_members)

    resumed = run_imp(tiny_config(), small_data, tmp_path, progress=False, device="cpu", verbose=False)
    assert (resumed.computed, resumed.reused) == (2 * len(STRATEGIES), 1)  # round 0 was saved before the interruption
    assert_same_results(uninterrupted, resumed)


def test_interruption_between_saves_resumes_to_the_same_numbers(imp_run, small_data, tmp_path, monkeypatch):
    """Killed while writing a round's results: some controls of that round are saved, others not."""
    uninterrupted, _ = imp_run
    store_class = type(uninterrupted.store)
    save = store_class.save
    saved = []

    def interrupt_after_round_twos_ticket(self, *args, **kwargs):
        if len(saved) == 1 + len(STRATEGIES) + 1:  # round 0, all of round 1, and round 2's original
            raise KeyboardInterrupt
        saved.append(args[:3])
        return save(self, *args, **kwargs)

    monkeypatch.setattr(store_class, "save", interrupt_after_round_twos_ticket)
    with pytest.raises(KeyboardInterrupt):
        run_imp(tiny_config(), small_data, tmp_path, progress=False, device="cpu", verbose=False)
    monkeypatch.setattr(store_class, "save", save)
    assert saved[-1] == (0, 2, "original")

    resumed = run_imp(tiny_config(), small_data, tmp_path, progress=False, device="cpu", verbose=False)
    assert (resumed.computed, resumed.reused) == (len(STRATEGIES) - 1, len(STRATEGIES) + 2)
    assert_same_results(uninterrupted, resumed)


@pytest.mark.parametrize("damage", ["truncate_pt", "garble_json"])
@pytest.mark.parametrize("round_,strategy", [(1, "reinit"), (1, "original"), (0, "original")])
def test_damaged_result_is_detected_and_recomputed(imp_run, small_data, tmp_path, damage, round_, strategy):
    result, _ = imp_run
    copy = tmp_path / "runs"
    shutil.copytree(result.store.directory.parent, copy)
    directory = copy / result.store.key
    pt = directory / f"seed_0/round_{round_:02d}/{strategy}.pt"
    js = directory / f"seed_0/round_{round_:02d}/{strategy}.json"
    if damage == "truncate_pt":
        pt.write_bytes(pt.read_bytes()[: pt.stat().st_size // 2])
    else:
        js.write_text(js.read_text()[:40] + "}}garbage")
    with pytest.warns(CorruptResultWarning, match=f"{strategy}.json"):
        again = run_imp(tiny_config(), small_data, copy, progress=False, device="cpu", verbose=False)
    # Only the damaged entry is retrained, and bit for bit as before: the checksums chaining
    # the later rounds to it still match, so they are reused.
    assert (again.computed, again.reused) == (1, 2 * len(STRATEGIES))
    assert_same_results(result, again)
    # The repaired entry reads back cleanly.
    assert json.loads(js.read_text())["record"] == result.select(strategy=strategy, round_=round_)[0]


# ------------------------------------------------------------------------------ one-shot


def test_one_shot_prunes_the_dense_network_to_imp_densities(imp_run, small_data, tmp_path):
    result, _ = imp_run
    copy = tmp_path / "runs"
    shutil.copytree(result.store.directory.parent, copy)
    shot = run_one_shot(tiny_config(), [1, 2], small_data, copy, progress=False, device="cpu", verbose=False)
    assert (shot.computed, shot.reused) == (2, 1)  # the dense network is reused from the IMP run
    dense = shot.select(strategy="original")
    assert dense == result.select(strategy="original", round_=0)  # the dense network is reused
    for n in (1, 2):
        record = shot.select(strategy="one_shot", round_=n)[0]
        for name, total in TOTALS.items():
            kept = round(record["layer_density"][name] * total)
            assert abs(kept - total * (1 - PAPER_RATES[name]) ** n) <= 1.0
    # Round 1 of one-shot and of IMP prune the same dense network by the same rule.
    assert shot.select(strategy="one_shot", round_=1)[0]["layer_density"] == \
        result.select(strategy="original", round_=1)[0]["layer_density"]
    # A lost entry is recomputed to the same numbers; the other one (and the dense network) are reused.
    (shot.store.directory / "seed_0" / "round_02" / "one_shot.json").unlink()
    again = run_one_shot(tiny_config(), [1, 2], small_data, copy, progress=False, device="cpu", verbose=False)
    assert (again.computed, again.reused) == (1, 2)
    assert again.records == shot.records and again.histories == shot.histories
    with pytest.raises(ValueError, match=r"one-shot rounds must be IMP rounds \(integers >= 1\), got \[0\]"):
        run_one_shot(tiny_config(), [0], small_data, copy, progress=False)


# ------------------------------------------------------------------------------ config


def test_make_config():
    config = make_config("quick", "random_mask, reinit", 2)
    assert config.strategies == ("original", "reinit", "random_mask")  # original always, canonical order
    assert config.seeds == (0, 1)
    assert (config.iterations, config.eval_every, config.rounds) == (150, 50, 2)
    assert config.rates == {"fc1": 0.2, "fc2": 0.2, "fc3": 0.1}
    assert make_config("standard", seeds=[3, 5]).seeds == (3, 5)
    assert make_config("standard").seeds == (0, 1, 2)
    custom = make_config("quick", iterations=40, eval_every=20, rounds=1, hidden_rate=0.5)
    assert (custom.iterations, custom.rounds, custom.rates["fc1"]) == (40, 1, 0.5)
    assert custom.train_config.iterations == 40
    with pytest.raises(TypeError, match="unknown setting"):
        make_config("quick", iterations_per_round=3)


def test_ticket_scale_draws_fresh_weights_at_the_tickets_own_std(imp_run):
    result, spy = imp_run
    theta0 = result.theta0(0)
    for k in (1, 2):
        start, masks = _start(spy, k, "ticket_scale", result), result.masks(0, k)
        for name in ("fc1", "fc2"):  # enough weights for a std to be close to its target
            kept = masks[name]
            ticket_std = float(theta0[name][kept].std())
            drawn = start[f"{name}.weight"][kept]
            assert float(drawn.std()) == pytest.approx(ticket_std, rel=0.05)
            assert torch.all(start[f"{name}.weight"][~kept] == 0.0)
            assert (drawn == theta0[name][kept]).float().mean() < 1e-3


def test_shuffled_moves_the_tickets_own_values_onto_a_random_mask(imp_run):
    result, spy = imp_run
    theta0 = result.theta0(0)
    for k in (1, 2):
        start, ticket = _start(spy, k, "shuffled", result), result.masks(0, k)
        for name in LAYER_NAMES:
            mask = start[f"{name}.mask"].bool()
            assert int(mask.sum()) == int(ticket[name].sum())           # same size per layer
            assert not torch.equal(mask, ticket[name])                   # a different structure
            values = start[f"{name}.weight"][mask]
            assert torch.equal(values.sort().values, theta0[name][ticket[name]].sort().values)  # the same values
            assert torch.all(start[f"{name}.weight"][~mask] == 0.0)
