"""A results store on disk that survives interruptions and never serves a number it cannot vouch for.

Layout: ``<root>/<experiment key>/seed_<s>/round_<nn>/<strategy>.pt`` holds tensors (masks,
weights) and ``<strategy>.json`` next to it holds the numbers (record, learning curves), the
entry's identity (experiment key, seed, round, strategy, the population it was trained in, the
entry it was computed from) and two checksums: SHA-256 of the ``.pt`` file, and SHA-256 of
everything else in the JSON. Both files are written to a per-process temporary name and renamed
into place, the JSON last, so an entry exists whole or not at all, and two processes writing the
same entry cannot mix their files.

An entry is served only if all of this holds; otherwise it counts as missing and is recomputed:

* the JSON parses and its content matches its checksum (a flipped digit is caught);
* its identity matches its place and the experiment asking (a file copied to another seed,
  round or strategy is caught, with a warning);
* the ``.pt`` exists, matches its checksum and loads with ``weights_only=True`` (a pickle that
  would run code is refused, and counts as corrupt);
* it was trained in the population and from the parent entry asked for (otherwise it is stale,
  and is recomputed quietly).
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import torch

__all__ = ["ResultStore", "Entry", "CorruptResultWarning", "experiment_key", "atomic_write_text",
           "content_checksum"]


class CorruptResultWarning(UserWarning):
    """A results file was damaged, or does not belong where it was found, and is being recomputed."""


def experiment_key(settings: dict[str, Any]) -> str:
    """A short stable hash of a JSON-serializable configuration."""
    canonical = json.dumps(settings, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def content_checksum(content: dict[str, Any]) -> str:
    """SHA-256 of a JSON-serializable dict, independent of key order."""
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), allow_nan=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _tmp_name(path: Path) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}.tmp")


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that readers see the old file or the new one, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp_name(path)
    try:
        tmp.write_text(text)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_temporaries(directory: Path) -> int:
    """Delete ``.*.<pid>.tmp`` files left by processes that no longer run; return how many."""
    removed = 0
    for tmp in directory.rglob(".*.tmp"):
        pid = tmp.name.rsplit(".", 2)[-2]
        if not pid.isdigit() or (int(pid) != os.getpid() and not _pid_alive(int(pid))):
            tmp.unlink(missing_ok=True)
            removed += 1
    return removed


@dataclass(frozen=True)
class Entry:
    """One stored training: its identity, numbers and checksums, as read back and verified."""

    seed: int
    round: int
    strategy: str
    population: tuple[str, ...]
    parent: str | None
    record: dict[str, Any]
    history: dict[str, Any]
    checksum: str


_REQUIRED = ("key", "seed", "round", "strategy", "population", "parent", "record", "history", "sha256", "checksum")


class ResultStore:
    """Entries keyed by ``(seed, round, strategy)`` under one experiment directory."""

    def __init__(self, root: str | os.PathLike, key: str, settings: dict[str, Any]) -> None:
        self.directory = Path(root) / key
        self.key = key
        self.directory.mkdir(parents=True, exist_ok=True)
        remove_stale_temporaries(self.directory)
        settings_file = self.directory / "settings.json"
        if not settings_file.exists():
            atomic_write_text(settings_file, json.dumps(settings, indent=2, sort_keys=True))

    @property
    def settings(self) -> dict[str, Any]:
        """What every entry of this store was trained with (schedule, data fingerprint, trainer, device)."""
        return json.loads((self.directory / "settings.json").read_text())

    def _paths(self, seed: int, round_: int, strategy: str) -> tuple[Path, Path]:
        folder = self.directory / f"seed_{seed}" / f"round_{round_:02d}"
        return folder / f"{strategy}.pt", folder / f"{strategy}.json"

    def load(self, seed: int, round_: int, strategy: str, population: Sequence[str],
             parent: str | None) -> Entry | None:
        """The verified entry, or ``None`` if it is absent, damaged, misplaced or stale.

        ``population`` names the networks the entry must have been trained beside (their
        float rounding depends on it) and ``parent`` the checksum of the entry it must have
        been computed from (the previous round's ticket; ``None`` for the dense network).
        """
        pt_path, json_path = self._paths(seed, round_, strategy)
        if not json_path.exists():
            return None
        try:
            meta = json.loads(json_path.read_text())
            problem = self._problem(meta, seed, round_, strategy, pt_path)
        except (ValueError, UnicodeDecodeError, OSError) as error:
            problem = f"it cannot be read ({error.__class__.__name__}: {error})"
        if problem:
            warnings.warn(f"ignoring results file {json_path}: {problem}; recomputing it",
                          CorruptResultWarning, stacklevel=2)
            json_path.unlink(missing_ok=True)
            return None
        if tuple(meta["population"]) != tuple(population) or meta["parent"] != parent:
            return None  # trained beside other networks, or from another ticket: stale, recompute quietly
        return Entry(seed, round_, strategy, tuple(meta["population"]), meta["parent"], meta["record"],
                     meta["history"], meta["checksum"])

    def _problem(self, meta: Any, seed: int, round_: int, strategy: str, pt_path: Path) -> str | None:
        """Why ``meta`` cannot be trusted for this place, or ``None``."""
        if not isinstance(meta, dict) or any(field not in meta for field in _REQUIRED):
            return "it lacks fields of a results entry"
        if content_checksum({k: v for k, v in meta.items() if k != "checksum"}) != meta["checksum"]:
            return "its content does not match its checksum (edited or corrupt)"
        if meta["key"] != self.key:
            return "it belongs to another configuration"
        found = (meta["seed"], meta["round"], meta["strategy"])
        if found != (seed, round_, strategy):
            return (f"it holds seed {found[0]}, round {found[1]}, {found[2]!r}, not seed {seed}, "
                    f"round {round_}, {strategy!r} (copied or moved)")
        if not pt_path.exists():
            return f"{pt_path.name} is missing"
        if _file_sha256(pt_path) != meta["sha256"]:
            return f"{pt_path.name} does not match its checksum (truncated or corrupt)"
        try:
            torch.load(pt_path, map_location="cpu", weights_only=True)
        except Exception as error:  # an unpickling error, or anything else torch refuses to load
            return f"{pt_path.name} cannot be loaded safely ({error.__class__.__name__})"
        return None

    def tensors(self, seed: int, round_: int, strategy: str) -> dict[str, Any]:
        """The tensors saved with an entry (masks, weights)."""
        pt_path, _ = self._paths(seed, round_, strategy)
        return torch.load(pt_path, map_location="cpu", weights_only=True)

    def save(self, seed: int, round_: int, strategy: str, population: Sequence[str], parent: str | None,
             tensors: dict[str, Any], record: dict[str, Any], history: dict[str, Any]) -> Entry:
        """Write an entry (tensors first, then the JSON that vouches for them) and return it."""
        pt_path, json_path = self._paths(seed, round_, strategy)
        pt_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = _tmp_name(pt_path)
        try:
            # Through a handle: given a path, torch.save names the archive inside after it (here with
            # the pid), so identical tensors would get a different checksum in every process.
            with open(tmp, "wb") as handle:
                torch.save(tensors, handle)
            os.replace(tmp, pt_path)
        finally:
            tmp.unlink(missing_ok=True)
        meta = {"key": self.key, "seed": seed, "round": round_, "strategy": strategy,
                "population": list(population), "parent": parent, "record": record, "history": history,
                "sha256": _file_sha256(pt_path)}
        meta["checksum"] = content_checksum(meta)
        atomic_write_text(json_path, json.dumps(meta))
        return Entry(seed, round_, strategy, tuple(population), parent, record, history, meta["checksum"])
