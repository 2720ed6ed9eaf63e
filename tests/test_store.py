"""The results store: entries exist whole or not at all, and a damaged entry is never trusted."""

from __future__ import annotations

import json
import warnings

import pytest
import torch

from lth_helpers.store import CorruptResultWarning, ResultStore, atomic_write_text, experiment_key

SETTINGS = {"iterations": 40, "lr": 1.2e-3, "data_source": "test"}


@pytest.fixture
def store(tmp_path):
    return ResultStore(tmp_path, experiment_key(SETTINGS), SETTINGS)


def _tensors(seed: int = 0) -> dict:
    generator = torch.Generator().manual_seed(seed)
    return {"mask": {"fc1": torch.rand(4, 3, generator=generator) > 0.5},
            "final": {"fc1": torch.randn(4, 3, generator=generator)}, "init": None}


def test_experiment_key_is_stable_and_order_free():
    key = experiment_key({"a": 1, "b": [1, 2]})
    assert key == experiment_key({"b": [1, 2], "a": 1})
    assert len(key) == 16 and key != experiment_key({"a": 2, "b": [1, 2]})


def test_save_and_load_round_trip(store, tmp_path):
    assert store.load(0, 1, "original") is None  # absent: quietly None
    tensors = _tensors()
    meta = store.save(0, 1, "original", tensors, {"record": {"x": 1.5}}, parent="abc")
    assert json.loads((tmp_path / store.key / "settings.json").read_text()) == SETTINGS
    loaded = store.load(0, 1, "original", parent="abc")
    assert loaded == meta and loaded["record"] == {"x": 1.5} and loaded["key"] == store.key
    back = store.tensors(0, 1, "original")
    assert torch.equal(back["mask"]["fc1"], tensors["mask"]["fc1"])
    assert torch.equal(back["final"]["fc1"], tensors["final"]["fc1"])
    assert back["init"] is None
    assert (tmp_path / store.key / "seed_0" / "round_01" / "original.pt").is_file()
    # No temporary files are left behind.
    assert not [p for p in (tmp_path / store.key).rglob("*") if p.name.endswith(".tmp")]


def test_saving_the_same_entry_again_gives_the_same_checksum(store):
    """What lets a repaired entry keep the later rounds that were computed from it."""
    first = store.save(0, 0, "original", _tensors(1), {})
    second = store.save(0, 0, "original", _tensors(1), {})
    assert first["sha256"] == second["sha256"]
    assert store.save(0, 0, "original", _tensors(2), {})["sha256"] != first["sha256"]


def test_checksum_does_not_depend_on_the_process(store, monkeypatch):
    """A run repaired in a new process must still vouch for the rounds computed after it."""
    first = store.save(0, 0, "original", _tensors(1), {})
    monkeypatch.setattr("os.getpid", lambda: 4_000_000)
    assert store.save(0, 0, "original", _tensors(1), {})["sha256"] == first["sha256"]


def test_stale_entry_is_ignored_quietly(store):
    store.save(0, 2, "reinit", _tensors(), {}, parent="old-ticket")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert store.load(0, 2, "reinit", parent="new-ticket") is None
    assert store.load(0, 2, "reinit", parent="old-ticket") is not None


@pytest.mark.parametrize("damage,reason", [
    ("truncate_pt", "does not match its checksum"),
    ("flip_byte", "does not match its checksum"),
    ("delete_pt", "is missing"),
    ("garble_json", "cannot be read"),
    ("binary_json", "cannot be read"),
    ("other_key", "another configuration"),
])
def test_damaged_entry_warns_and_counts_as_missing(store, damage, reason):
    store.save(1, 3, "original", _tensors(), {"record": {}})
    folder = store.directory / "seed_1" / "round_03"
    pt, js = folder / "original.pt", folder / "original.json"
    if damage == "truncate_pt":
        pt.write_bytes(pt.read_bytes()[:100])
    elif damage == "flip_byte":
        raw = bytearray(pt.read_bytes())
        raw[len(raw) // 2] ^= 0xFF
        pt.write_bytes(bytes(raw))
    elif damage == "delete_pt":
        pt.unlink()
    elif damage == "garble_json":
        js.write_text(js.read_text()[:-5])
    elif damage == "binary_json":
        js.write_bytes(b"\xff\xfe\x00garbage")
    else:
        meta = json.loads(js.read_text())
        js.write_text(json.dumps(dict(meta, key="0123456789abcdef")))
    with pytest.warns(CorruptResultWarning, match=reason):
        assert store.load(1, 3, "original") is None
    assert not js.exists()  # so that it is recomputed, and warned about once
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert store.load(1, 3, "original") is None


def test_settings_file_is_written_once(tmp_path):
    ResultStore(tmp_path, "k", {"a": 1})
    ResultStore(tmp_path, "k", {"a": 2})
    assert json.loads((tmp_path / "k" / "settings.json").read_text()) == {"a": 1}


def test_atomic_write_text(tmp_path):
    path = tmp_path / "deep" / "file.json"
    atomic_write_text(path, "one")
    atomic_write_text(path, "two")
    assert path.read_text() == "two"
    assert [p.name for p in path.parent.iterdir()] == ["file.json"]
