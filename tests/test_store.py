"""The results store: entries exist whole or not at all, and a damaged entry is never trusted."""

from __future__ import annotations

import json
import math
import os
import warnings

import pytest
import torch

from lth_helpers.store import (CorruptResultWarning, ResultStore, atomic_write_text, content_checksum,
                               experiment_key, remove_stale_temporaries)

SETTINGS = {"iterations": 40, "lr": 1.2e-3, "data_source": "test"}


@pytest.fixture
def store(tmp_path):
    return ResultStore(tmp_path, experiment_key(SETTINGS), SETTINGS)


def _tensors(seed: int = 0) -> dict:
    generator = torch.Generator().manual_seed(seed)
    return {"mask": {"fc1": torch.rand(4, 3, generator=generator) > 0.5},
            "final": {"fc1": torch.randn(4, 3, generator=generator)}, "init": None}


GROUP = ("original@1",)


def _save(store, seed=0, round_=1, strategy="original", tensors=None, record=None, parent=None, group=GROUP):
    return store.save(seed, round_, strategy, group, parent, tensors if tensors is not None else _tensors(),
                      record if record is not None else {"x": 1.5}, {"val_loss": [0.5, float("nan")]})


def _rewrite(js, **changes) -> None:
    """Edit an entry's JSON as someone who knows the format would: the checksum is made to match."""
    meta = dict(json.loads(js.read_text()), **changes)
    meta["checksum"] = content_checksum({k: v for k, v in meta.items() if k != "checksum"})
    js.write_text(json.dumps(meta))


def test_experiment_key_is_stable_and_order_free():
    key = experiment_key({"a": 1, "b": [1, 2]})
    assert key == experiment_key({"b": [1, 2], "a": 1})
    assert len(key) == 16 and key != experiment_key({"a": 2, "b": [1, 2]})


def test_save_and_load_round_trip(store, tmp_path):
    assert store.load(0, 1, "original", GROUP, None) is None  # absent: quietly None
    tensors = _tensors()
    entry = _save(store, tensors=tensors, parent="abc")
    assert json.loads((tmp_path / store.key / "settings.json").read_text()) == SETTINGS
    loaded = store.load(0, 1, "original", GROUP, parent="abc")
    assert loaded.record == {"x": 1.5} and loaded.checksum == entry.checksum
    assert (loaded.seed, loaded.round, loaded.strategy, loaded.population) == (0, 1, "original", GROUP)
    assert math.isnan(loaded.history["val_loss"][1])  # NaN survives the round trip and its checksum
    back = store.tensors(0, 1, "original")
    assert torch.equal(back["mask"]["fc1"], tensors["mask"]["fc1"])
    assert torch.equal(back["final"]["fc1"], tensors["final"]["fc1"])
    assert back["init"] is None
    assert (tmp_path / store.key / "seed_0" / "round_01" / "original.pt").is_file()
    # No temporary files are left behind.
    assert not [p for p in (tmp_path / store.key).rglob("*") if p.name.endswith(".tmp")]


def test_saving_the_same_entry_again_gives_the_same_checksum(store):
    """What lets a repaired entry keep the later rounds that were computed from it."""
    first = _save(store, tensors=_tensors(1))
    assert _save(store, tensors=_tensors(1)).checksum == first.checksum
    assert _save(store, tensors=_tensors(2)).checksum != first.checksum
    assert _save(store, tensors=_tensors(1), record={"x": 1.25}).checksum != first.checksum


def test_checksum_does_not_depend_on_the_process(store, monkeypatch):
    """A run repaired in a new process must still vouch for the rounds computed after it."""
    first = _save(store, tensors=_tensors(1))
    monkeypatch.setattr("os.getpid", lambda: 4_000_000)
    assert _save(store, tensors=_tensors(1)).checksum == first.checksum


def test_stale_entry_is_ignored_quietly(store):
    _save(store, 0, 2, "reinit", parent="old-ticket", group=("reinit@2", "random_mask@2"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert store.load(0, 2, "reinit", ("reinit@2", "random_mask@2"), parent="new-ticket") is None
        assert store.load(0, 2, "reinit", ("reinit@2",), parent="old-ticket") is None  # another population
    assert store.load(0, 2, "reinit", ("reinit@2", "random_mask@2"), parent="old-ticket") is not None


@pytest.mark.parametrize("damage,reason", [
    ("truncate_pt", "does not match its checksum"),
    ("flip_byte", "does not match its checksum"),
    ("delete_pt", "is missing"),
    ("garble_json", "cannot be read"),
    ("binary_json", "cannot be read"),
    ("edit_number", "content does not match its checksum"),
    ("no_record", "lacks fields"),
    ("other_key", "another configuration"),
    ("other_seed", "holds seed 0, round 3, 'original', not seed 1"),
    ("other_strategy", "holds seed 1, round 3, 'reinit', not seed 1, round 3, 'original'"),
])
def test_damaged_entry_warns_and_counts_as_missing(store, damage, reason):
    _save(store, 1, 3, "original", record={"test_acc_at_early_stop": 0.948})
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
    elif damage == "edit_number":
        js.write_text(js.read_text().replace("0.948", "0.148"))
    elif damage == "no_record":
        meta = json.loads(js.read_text())
        del meta["record"]
        js.write_text(json.dumps(meta))
    elif damage == "other_key":
        _rewrite(js, key="0123456789abcdef")
    elif damage == "other_seed":
        _rewrite(js, seed=0)
    else:
        _rewrite(js, strategy="reinit")
    with pytest.warns(CorruptResultWarning, match=reason):
        assert store.load(1, 3, "original", GROUP, None) is None
    assert not js.exists()  # so that it is recomputed, and warned about once
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert store.load(1, 3, "original", GROUP, None) is None


def test_stale_temporary_files_are_removed_when_the_store_opens(tmp_path):
    folder = tmp_path / "k" / "seed_0" / "round_00"
    folder.mkdir(parents=True)
    dead = folder / ".original.pt.999999999.tmp"  # no process has this pid
    alive = folder / f".original.pt.{os.getpid()}.tmp"
    dead.write_bytes(b"")
    alive.write_bytes(b"")
    ResultStore(tmp_path, "k", {"a": 1})
    assert not dead.exists() and alive.exists()
    assert remove_stale_temporaries(tmp_path / "k") == 0


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
