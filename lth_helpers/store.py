"""A results store on disk that survives interruptions and never trusts a damaged file.

Layout: ``<root>/<experiment key>/seed_<s>/round_<nn>/<strategy>.pt`` holds tensors (masks,
weights) and ``<strategy>.json`` next to it holds the numbers (record, learning curves) plus
the SHA-256 of the ``.pt`` file. Both are written to a temporary name and renamed into place,
the JSON last, so an entry either exists whole or not at all. On reading, a JSON that does not
parse, a missing ``.pt`` or a checksum that does not match makes the entry count as missing
(with a warning) so that it is recomputed.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from pathlib import Path
from typing import Any

import torch

__all__ = ["ResultStore", "CorruptResultWarning", "experiment_key", "atomic_write_text"]


class CorruptResultWarning(UserWarning):
    """A results file was truncated or corrupt and is being recomputed."""


def experiment_key(settings: dict[str, Any]) -> str:
    """A short stable hash of a JSON-serializable configuration."""
    canonical = json.dumps(settings, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that readers see the old file or the new one, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


class ResultStore:
    """Entries keyed by ``(seed, round, strategy)`` under one experiment directory."""

    def __init__(self, root: str | os.PathLike, key: str, settings: dict[str, Any]) -> None:
        self.directory = Path(root) / key
        self.key = key
        self.directory.mkdir(parents=True, exist_ok=True)
        settings_file = self.directory / "settings.json"
        if not settings_file.exists():
            atomic_write_text(settings_file, json.dumps(settings, indent=2, sort_keys=True))

    def _paths(self, seed: int, round_: int, strategy: str) -> tuple[Path, Path]:
        folder = self.directory / f"seed_{seed}" / f"round_{round_:02d}"
        return folder / f"{strategy}.pt", folder / f"{strategy}.json"

    def load(self, seed: int, round_: int, strategy: str, parent: str | None = None) -> dict | None:
        """The entry's JSON data (with ``"sha256"`` of its tensors), or ``None`` if absent or bad.

        ``parent`` is the checksum the entry must have been computed from (the previous
        round's ticket); an entry computed from something else is stale and is ignored.
        """
        pt_path, json_path = self._paths(seed, round_, strategy)
        if not json_path.exists():
            return None
        problem = None
        try:
            meta = json.loads(json_path.read_text())
            if not isinstance(meta, dict) or meta.get("key") != self.key:
                problem = "it belongs to another configuration"
            elif not pt_path.exists():
                problem = f"{pt_path.name} is missing"
            elif _sha256(pt_path) != meta.get("sha256"):
                problem = f"{pt_path.name} does not match its checksum (truncated or corrupt)"
        except (json.JSONDecodeError, UnicodeDecodeError, OSError) as error:
            problem = f"it cannot be read ({error.__class__.__name__}: {error})"
        if problem:
            warnings.warn(f"ignoring results file {json_path}: {problem}; recomputing it",
                          CorruptResultWarning, stacklevel=2)
            json_path.unlink(missing_ok=True)
            return None
        if parent is not None and meta.get("parent") != parent:
            return None  # computed from a different ticket: stale, recompute quietly
        return meta

    def tensors(self, seed: int, round_: int, strategy: str) -> dict[str, Any]:
        """The tensors saved with an entry (masks, weights)."""
        pt_path, _ = self._paths(seed, round_, strategy)
        return torch.load(pt_path, map_location="cpu", weights_only=True)

    def save(self, seed: int, round_: int, strategy: str, tensors: dict[str, Any], meta: dict[str, Any],
             parent: str | None = None) -> dict:
        """Write an entry (tensors first, then the JSON that vouches for them); return its JSON."""
        pt_path, json_path = self._paths(seed, round_, strategy)
        pt_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = pt_path.with_name(f".{pt_path.name}.{os.getpid()}.tmp")
        # Through a handle: given a path, torch.save names the archive inside after it (here with
        # the pid), so identical tensors would get a different checksum in every process.
        with open(tmp, "wb") as handle:
            torch.save(tensors, handle)
        os.replace(tmp, pt_path)
        meta = dict(meta, key=self.key, sha256=_sha256(pt_path), parent=parent)
        atomic_write_text(json_path, json.dumps(meta))
        return meta
