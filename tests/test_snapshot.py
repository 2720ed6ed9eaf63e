"""The app's snapshot: the shipped file matches the code's record format, and damage is refused."""

from __future__ import annotations

import dataclasses
import gzip

import pytest
import torch

from lth_helpers.history import History
from lth_helpers.imp import IMPConfig, run_imp
from lth_helpers.models import LAYER_NAMES
from lth_helpers.snapshot import DEFAULT_SNAPSHOT, load_snapshot, write_snapshot

from conftest import tiny_config


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory, small_data):
    folder = tmp_path_factory.mktemp("snapshot_run")
    return run_imp(tiny_config("original,reinit,random_mask", rounds=1), small_data, folder, progress=False,
                   verbose=False)


def test_the_shipped_snapshot_is_the_standard_run_in_the_codes_record_format(tiny_run):
    snapshot = load_snapshot()  # verifies the checksum, the format and the results version
    assert snapshot.source["size"] == "standard" and snapshot.source["seeds"] == [0, 1, 2]
    assert snapshot.source["data_source"] == "offline-mnist-15000"
    expected_keys = set(tiny_run.records[0])
    for record in snapshot.result.records:
        assert set(record) == expected_keys, record["strategy"]
    assert {f.name for f in dataclasses.fields(IMPConfig)} == {f.name for f in dataclasses.fields(snapshot.result.config)}
    assert all(isinstance(h, History) for h in snapshot.result.histories.values())
    # Every trained network of the shared experiment, every seed and round, and its curves.
    config = snapshot.result.config
    assert len(snapshot.result.select("original")) == len(config.seeds) * (config.rounds + 1)
    assert len(snapshot.result.histories) == len([r for r in snapshot.result.records if r["strategy"] != "one_shot"])
    model = snapshot.dense_model()
    assert torch.equal(model.weights()["fc1"], snapshot.dense_weights["fc1"])
    assert DEFAULT_SNAPSHOT.stat().st_size < 5e6


def test_a_snapshot_round_trips(tmp_path, tiny_run, small_data):
    path = write_snapshot(tiny_run, [], 0, small_data.describe(), tmp_path / "s.pt.gz")
    snapshot = load_snapshot(path)
    assert snapshot.result.records == tiny_run.records
    assert snapshot.result.histories.keys() == tiny_run.histories.keys()
    assert all(torch.equal(snapshot.theta0[n], tiny_run.theta0(0)[n]) for n in LAYER_NAMES)
    # Written twice, the same bytes (no time stamp inside).
    assert write_snapshot(tiny_run, [], 0, small_data.describe(), tmp_path / "t.pt.gz").read_bytes() == path.read_bytes()


def test_damaged_or_missing_snapshots_are_refused(tmp_path, tiny_run, small_data):
    path = write_snapshot(tiny_run, [], 0, small_data.describe(), tmp_path / "s.pt.gz")
    raw = bytearray(gzip.decompress(path.read_bytes()))
    raw[len(raw) // 2] ^= 0xFF
    path.write_bytes(gzip.compress(bytes(raw)))
    with pytest.raises(ValueError, match="is damaged"):
        load_snapshot(path)
    path.write_bytes(b"not a snapshot")
    with pytest.raises(ValueError, match="is damaged"):
        load_snapshot(path)
    with pytest.raises(FileNotFoundError, match="tools/make_snapshot.py"):
        load_snapshot(tmp_path / "absent.pt.gz")


def test_the_app_builds_from_a_snapshot(tmp_path, tiny_run, small_data):
    from lth_helpers.widgets.app import explorer_app

    snapshot = load_snapshot(write_snapshot(tiny_run, [], 0, small_data.describe(), tmp_path / "s.pt.gz"))
    retrained = []
    app = explorer_app(snapshot, small_data, lambda: retrained.append(1) or tiny_run)
    tabs = app.children[1]
    assert tabs.titles == ("Pruning", "Tickets vs. controls", "Curves by round", "Retrain live")
    assert "lth-app" in tabs._dom_classes
    assert tabs.children[1].children == ()  # built when first opened
    tabs.selected_index = 1
    assert tabs.children[1].children[0].children[1].outputs  # the results figure
    tabs.selected_index = 3
    retrain_tab = tabs.children[3].children[0]
    retrain_tab.children[0].click()  # the live retraining: calls the given function and draws its result
    assert retrained == [1] and retrain_tab.children[2].outputs
    assert "done" in retrain_tab.children[1].value


def test_the_shipped_sweep_is_the_dense_networks_own(mnist):
    from lth_helpers.sweeps import TrainedNet, default_densities, sweep

    snapshot = load_snapshot()
    assert snapshot.sweep and {r["method"] for r in snapshot.sweep} == {"layerwise"}
    again = sweep(TrainedNet.from_model(snapshot.dense_model()), mnist, default_densities(20), methods=("layerwise",))
    assert len(again) == len(snapshot.sweep)
    for ours, theirs in zip(snapshot.sweep, again):
        # Up to a digit or two of float rounding on another CPU's kernels.
        assert ours["density"] == pytest.approx(theirs["density"], abs=1e-6)
        assert ours["test_acc"] == pytest.approx(theirs["test_acc"], abs=0.002)
