"""Attacks on the results store: every one is caught, warned about, and repaired.

Each attack is performed on a copy of one tiny IMP store (strategies original, reinit and
random_mask, 2 seeds, 2 rounds), which is then run again. The re-run must warn with a
:class:`CorruptResultWarning` naming the problem, retrain only what was attacked, and end with
records, learning curves, masks, weights *and store files* bitwise equal to those of the
uncorrupted run. Item 3: everything that changes a number changes the store key, and the
ticket chain does not depend on which controls were trained beside it.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
import torch

from lth_helpers import imp as imp_module
from lth_helpers.data import MNISTData
from lth_helpers.imp import run_imp
from lth_helpers.store import CorruptResultWarning, content_checksum

from conftest import assert_same_results, tiny_config

STRATEGIES = "original,reinit,random_mask"
N_ENTRIES = 2 * (1 + 2 * 3)  # 2 seeds x (dense network + 2 rounds x 3 strategies) = 14


def _config(strategies: str = STRATEGIES, seeds: int = 2, **overrides):
    return tiny_config(strategies, seeds=seeds, **overrides)


def _run(root: Path, data: MNISTData, strategies: str = STRATEGIES, **kwargs):
    return run_imp(_config(strategies), data, root, progress=False, device="cpu", verbose=False, **kwargs)


@pytest.fixture(scope="module")
def fresh(tmp_path_factory, small_data):
    """The uncorrupted reference run."""
    result = _run(tmp_path_factory.mktemp("fresh_store"), small_data)
    assert (result.computed, result.reused) == (N_ENTRIES, 0)
    return result


def _copy_store(fresh, tmp_path: Path) -> tuple[Path, Path]:
    """A private copy of the reference store: ``(results_dir, experiment directory)``."""
    root = tmp_path / "runs"
    shutil.copytree(fresh.store.directory.parent, root)
    return root, root / fresh.store.key


def _entry(directory: Path, seed: int, round_: int, strategy: str) -> tuple[Path, Path]:
    folder = directory / f"seed_{seed}" / f"round_{round_:02d}"
    return folder / f"{strategy}.pt", folder / f"{strategy}.json"


def _store_files(directory: Path) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


def _assert_same_store(fresh, directory: Path) -> None:
    """The repaired store holds byte for byte the files of the uncorrupted one (and no leftovers)."""
    expected, found = _store_files(fresh.store.directory), _store_files(directory)
    assert sorted(found) == sorted(expected)
    different = [name for name in expected if found[name] != expected[name]]
    assert not different, f"files differ from the uncorrupted store: {different}"


def _rewrite(json_path: Path, pt_path: Path | None = None, **changes) -> None:
    """Rewrite an entry's JSON with ``changes``, its ``.pt`` hash and its checksum made to match:
    what an attacker who knows the format would do, so that only the other checks can stop it."""
    meta = json.loads(json_path.read_text())
    meta.update(changes)
    if pt_path is not None:
        meta["sha256"] = hashlib.sha256(pt_path.read_bytes()).hexdigest()
    meta.pop("checksum")
    meta["checksum"] = content_checksum(meta)
    json_path.write_text(json.dumps(meta))


# ----------------------------------------------------------------------------- attacks


def _copy_entry(source: tuple[Path, Path], target: tuple[Path, Path]) -> None:
    for src, dst in zip(source, target):
        shutil.copyfile(src, dst)


def attack_copy_seed(directory: Path) -> None:
    """seed 0's dense network copied over seed 1's."""
    _copy_entry(_entry(directory, 0, 0, "original"), _entry(directory, 1, 0, "original"))


def attack_copy_strategy(directory: Path) -> None:
    """reinit copied over random_mask in the same round."""
    _copy_entry(_entry(directory, 0, 1, "reinit"), _entry(directory, 0, 1, "random_mask"))


def attack_copy_round(directory: Path) -> None:
    """A ticket copied to the next round of the same seed (same parent chain, other place)."""
    _copy_entry(_entry(directory, 1, 1, "original"), _entry(directory, 1, 2, "original"))


def _flip_first_decimal(number: float) -> tuple[str, str]:
    """``repr(number)`` and the same with its first decimal digit changed."""
    old = repr(number)
    digit = old.index(".") + 1
    new = old[:digit] + str((int(old[digit]) + 6) % 10) + old[digit + 1:]
    return old, new


def attack_flip_record_digit(directory: Path) -> None:
    """one digit of ``test_acc_at_early_stop`` changed; still valid JSON."""
    _, json_path = _entry(directory, 1, 1, "original")
    text = json_path.read_text()
    value = json.loads(text)["record"]["test_acc_at_early_stop"]
    old, new = _flip_first_decimal(value)
    needle = f'"test_acc_at_early_stop": {old}'
    assert needle in text
    json_path.write_text(text.replace(needle, f'"test_acc_at_early_stop": {new}', 1))
    assert json.loads(json_path.read_text())["record"]["test_acc_at_early_stop"] == float(new) != value


def attack_flip_curve_digit(directory: Path) -> None:
    """The learning curves are covered by the checksum too: one validation loss edited."""
    _, json_path = _entry(directory, 0, 2, "reinit")
    meta = json.loads(json_path.read_text())
    _, new = _flip_first_decimal(meta["history"]["val_loss"][0])
    meta["history"]["val_loss"][0] = float(new)
    json_path.write_text(json.dumps(meta))


def attack_json_without_record(directory: Path) -> None:
    """a JSON lacking ``record`` (was a KeyError that blocked resuming)."""
    _, json_path = _entry(directory, 0, 1, "reinit")
    meta = json.loads(json_path.read_text())
    del meta["record"]
    json_path.write_text(json.dumps(meta))


def attack_json_without_record_rechecksummed(directory: Path) -> None:
    """The same, with the checksum recomputed so that only the field check can catch it."""
    _, json_path = _entry(directory, 1, 2, "random_mask")
    meta = json.loads(json_path.read_text())
    del meta["record"]
    meta.pop("checksum")
    meta["checksum"] = content_checksum(meta)
    json_path.write_text(json.dumps(meta))


def attack_identity_rewritten(directory: Path) -> None:
    """Seed 0's round-1 reinit copied over seed 1's, its identity fields forged to match the place.

    The checksum is recomputed, so only the parent chain can tell: seed 0's reinit was computed
    from seed 0's round-0 ticket, not seed 1's. (It is stale, recomputed quietly: no warning.)
    """
    source, target = _entry(directory, 0, 1, "reinit"), _entry(directory, 1, 1, "reinit")
    _copy_entry(source, target)
    _rewrite(target[1], seed=1)


ATTACKS = [
    # attack, entry it damages (seed, round, strategy), what the warning says
    pytest.param(attack_copy_seed, (1, 0, "original"),
                 r"seed_1.round_00.original\.json: .*holds seed 0, round 0, 'original', not seed 1, round 0, "
                 r"'original'", id="copy-seed0-over-seed1"),
    pytest.param(attack_copy_strategy, (0, 1, "random_mask"),
                 r"round_01.random_mask\.json: .*holds seed 0, round 1, 'reinit', not seed 0, round 1, "
                 r"'random_mask'", id="copy-reinit-over-random_mask"),
    pytest.param(attack_copy_round, (1, 2, "original"),
                 r"round_02.original\.json: .*holds seed 1, round 1, 'original', not seed 1, round 2",
                 id="copy-round1-over-round2"),
    pytest.param(attack_flip_record_digit, (1, 1, "original"),
                 r"round_01.original\.json: .*does not match its checksum", id="flip-digit-of-record"),
    pytest.param(attack_flip_curve_digit, (0, 2, "reinit"),
                 r"round_02.reinit\.json: .*does not match its checksum", id="flip-digit-of-curve"),
    pytest.param(attack_json_without_record, (0, 1, "reinit"),
                 r"round_01.reinit\.json: .*(lacks fields|does not match its checksum)", id="json-without-record"),
    pytest.param(attack_json_without_record_rechecksummed, (1, 2, "random_mask"),
                 r"round_02.random_mask\.json: .*lacks fields", id="json-without-record-rechecksummed"),
]


@pytest.mark.parametrize("attack,damaged,warning", ATTACKS)
def test_attack_is_warned_about_and_recomputed_to_the_true_numbers(fresh, small_data, tmp_path, attack, damaged,
                                                                    warning):
    root, directory = _copy_store(fresh, tmp_path)
    attack(directory)
    with pytest.warns(CorruptResultWarning, match=warning) as caught:
        again = _run(root, small_data)
    corrupt = [w for w in caught if issubclass(w.category, CorruptResultWarning)]
    assert len(corrupt) == 1, [str(w.message) for w in corrupt]
    # Only the attacked network is retrained: its repair has the same checksum as the original
    # entry, so the rounds computed from it still match and are reused.
    assert (again.computed, again.reused) == (1, N_ENTRIES - 1)
    assert_same_results(fresh, again)
    _assert_same_store(fresh, directory)
    # And a third run finds nothing to complain about.
    with warnings.catch_warnings():
        warnings.simplefilter("error", CorruptResultWarning)
        third = _run(root, small_data)
    assert (third.computed, third.reused) == (0, N_ENTRIES)


def test_forged_identity_is_not_reused(fresh, small_data, tmp_path):
    """An entry re-labelled and re-checksummed for its new place still has the wrong parent."""
    root, directory = _copy_store(fresh, tmp_path)
    attack_identity_rewritten(directory)
    again = _run(root, small_data)
    assert (again.computed, again.reused) == (1, N_ENTRIES - 1)
    assert_same_results(fresh, again)
    _assert_same_store(fresh, directory)


class _PrintPayload:
    """Unpickling this calls ``print("pwned")``: harmless, and visible if it ever runs."""

    def __reduce__(self):
        return print, ("pwned",)


class _OpenPayload:
    """Unpickling this calls ``open(marker, "w")``: creates an empty file, and nothing else."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return open, (self.marker, "w")


@pytest.mark.parametrize("container", ["raw-pickle", "torch-save"])
def test_malicious_pickle_is_refused_and_recomputed(fresh, small_data, tmp_path, capfd, container):
    """a ``.pt`` whose unpickling would call code, with the JSON's sha256 and checksum
    recomputed to match, so that only ``weights_only=True`` stands between it and execution."""
    root, directory = _copy_store(fresh, tmp_path)
    pt_path, json_path = _entry(directory, 0, 1, "original")  # a ticket: its weights are pruned next round
    marker = tmp_path / "payload-ran"
    if container == "raw-pickle":
        pt_path.write_bytes(pickle.dumps({"mask": _PrintPayload(), "final": _OpenPayload(marker)}, protocol=2))
    else:
        with open(pt_path, "wb") as handle:
            torch.save({"mask": _PrintPayload(), "final": _OpenPayload(marker)}, handle)
    _rewrite(json_path, pt_path)
    assert json.loads(json_path.read_text())["sha256"] == hashlib.sha256(pt_path.read_bytes()).hexdigest()

    with pytest.warns(CorruptResultWarning, match=r"original\.json: .*original\.pt cannot be loaded safely"):
        again = _run(root, small_data)
    out, err = capfd.readouterr()
    assert "pwned" not in out + err
    assert not marker.exists()
    assert (again.computed, again.reused) == (1, N_ENTRIES - 1)
    assert_same_results(fresh, again)
    _assert_same_store(fresh, directory)


def _dead_pid() -> int:
    for pid in (999_999, 4_194_303):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return pid
        except (PermissionError, OverflowError):
            continue
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_stale_temporaries_are_removed_and_live_ones_kept(fresh, small_data, tmp_path):
    """a killed run's 0-byte ``.tmp`` files are cleaned when the store opens; a
    running process's (this one's, or another live one's) are left alone."""
    root, directory = _copy_store(fresh, tmp_path)
    dead = _dead_pid()
    folder_0, folder_1 = directory / "seed_0" / "round_00", directory / "seed_1" / "round_01"
    stale = [folder_0 / f".original.pt.{dead}.tmp", folder_0 / f".original.json.{dead}.tmp",
             directory / f".settings.json.{dead}.tmp"]
    live = [folder_1 / f".original.pt.{os.getpid()}.tmp", folder_1 / f".reinit.pt.{os.getppid()}.tmp"]
    for path in stale + live:
        path.write_bytes(b"")
    with warnings.catch_warnings():
        warnings.simplefilter("error", CorruptResultWarning)
        again = _run(root, small_data)
    assert [p.name for p in stale if p.exists()] == []
    assert [p.name for p in live if not p.exists()] == []
    assert (again.computed, again.reused) == (0, N_ENTRIES)
    assert_same_results(fresh, again)
    for path in live:
        path.unlink()
    _assert_same_store(fresh, directory)


# ------------------------------------------------------------------- item 3: the store key


def _with_images(data: MNISTData, **images: torch.Tensor) -> MNISTData:
    fields = dict(train_x=data.train_x, train_y=data.train_y, val_x=data.val_x, val_y=data.val_y,
                  test_x=data.test_x, test_y=data.test_y)
    fields.update(images)
    return MNISTData(name=data.name, source=data.source, **{k: v.clone() for k, v in fields.items()})


def test_fingerprint_covers_every_image_and_label(small_data):
    assert _with_images(small_data).fingerprint() == small_data.fingerprint()
    assert small_data.to("cpu").fingerprint() == small_data.fingerprint()
    one_pixel = small_data.val_x.clone()
    one_pixel[7, 300] += 0.5
    assert _with_images(small_data, val_x=one_pixel).fingerprint() != small_data.fingerprint()
    one_label = small_data.test_y.clone()
    one_label[3] = (one_label[3] + 1) % 10
    assert _with_images(small_data, test_y=one_label).fingerprint() != small_data.fingerprint()


def test_noise_images_with_the_same_labels_are_not_reused(fresh, small_data, tmp_path):
    """the images are in the key, not just the labels and the source's name."""
    root, _ = _copy_store(fresh, tmp_path)
    generator = torch.Generator().manual_seed(0)
    noise = _with_images(small_data, **{split: torch.randn(getattr(small_data, split).shape, generator=generator)
                                        for split in ("train_x", "val_x", "test_x")})
    assert noise.source == small_data.source and torch.equal(noise.train_y, small_data.train_y)
    assert noise.fingerprint() != small_data.fingerprint()
    with warnings.catch_warnings():
        warnings.simplefilter("error", CorruptResultWarning)
        on_noise = _run(root, noise)
    assert on_noise.store.key != fresh.store.key
    assert (on_noise.computed, on_noise.reused) == (N_ENTRIES, 0)
    dense = on_noise.select(strategy="original", round_=0)[0]
    assert dense["test_acc_at_early_stop"] != fresh.select(strategy="original", round_=0)[0]["test_acc_at_early_stop"]
    # The genuine digits' entries are still there, untouched, and reused.
    again = _run(root, small_data)
    assert (again.computed, again.reused) == (0, N_ENTRIES)
    assert_same_results(fresh, again)


def test_ticket_chain_does_not_depend_on_the_controls(fresh, small_data, tmp_path):
    """``original`` alone, then the three strategies on the same results folder,
    gives exactly the numbers of a fresh three-strategy run."""
    root = tmp_path / "runs"
    alone = _run(root, small_data, strategies="original")
    assert (alone.computed, alone.reused) == (2 * 3, 0)
    assert alone.records == fresh.select(strategy="original")
    with warnings.catch_warnings():
        warnings.simplefilter("error", CorruptResultWarning)
        joined = _run(root, small_data)
    assert (joined.computed, joined.reused) == (2 * 2 * 2, 2 * 3)  # the controls trained, the tickets reused
    assert_same_results(fresh, joined)
    _assert_same_store(fresh, root / fresh.store.key)


def test_controls_trained_in_another_group_are_recomputed(fresh, small_data, tmp_path):
    """A control's float rounding depends on the group it was trained in: asking for reinit alone
    does not reuse the reinit trained beside random_mask (but still reuses every ticket)."""
    root, _ = _copy_store(fresh, tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error", CorruptResultWarning)
        tickets = _run(root, small_data, strategies="original")
        assert (tickets.computed, tickets.reused) == (0, 2 * 3)
        assert tickets.records == fresh.select(strategy="original")
        reinit = _run(root, small_data, strategies="original,reinit")
    assert (reinit.computed, reinit.reused) == (2 * 2, 2 * 3)
    assert reinit.select(strategy="original") == fresh.select(strategy="original")


class _StoreOnly:
    """Stands in for :class:`lth_helpers.stages.Stages` so that a store can be opened for any device."""

    def __init__(self, store, *args, **kwargs):
        self.store = store


def test_trainer_device_and_version_change_the_key(small_data, tmp_path, monkeypatch):
    config = _config()
    monkeypatch.setattr(imp_module, "Stages", _StoreOnly)

    def key(device: str = "cpu", use_population: bool = True) -> str:
        return imp_module.open_experiment(config, small_data, tmp_path / "keys", torch.device(device),
                                          use_population, False).store.key

    base = key()
    assert key() == base
    assert key(use_population=False) != base
    assert key("cuda") != base and key("cuda") != key(use_population=False)
    assert key("cuda:0") == key("cuda")  # the device type, not which card
    monkeypatch.setattr(imp_module, "RESULTS_VERSION", imp_module.RESULTS_VERSION + 1)
    assert key() != base


def test_reference_trainer_results_are_not_mixed_with_population_results(small_data, tmp_path):
    config = _config("original", seeds=1, rounds=1)
    population = run_imp(config, small_data, tmp_path, progress=False, device="cpu", verbose=False)
    reference = run_imp(config, small_data, tmp_path, progress=False, device="cpu", verbose=False,
                        use_population=False)
    assert reference.store.key != population.store.key
    assert (reference.computed, reference.reused) == (2, 0)
    again = run_imp(config, small_data, tmp_path, progress=False, device="cpu", verbose=False)
    assert (again.computed, again.reused) == (0, 2)
    assert again.records == population.records
