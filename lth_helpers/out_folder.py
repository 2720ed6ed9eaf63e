"""The folder ``imp`` and ``merge`` write their results to, checked before any work starts.

A results folder holds ``config.json`` (what was run), ``results.json`` (one record per trained
network) and the store in ``runs/``. Writing into a folder that holds another configuration's
results would mix them, so both commands refuse it up front, with one line saying why.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

__all__ = ["check_out_folder", "resolve_out", "same_configuration", "read_json"]


def read_json(path: Path) -> Any:
    """The JSON in ``path``; ``ValueError`` naming the file when it is missing, unreadable or not JSON."""
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise ValueError(f"{path} is missing") from None
    except IsADirectoryError:
        raise ValueError(f"{path} is a folder; expected a JSON file") from None
    except OSError as error:
        raise ValueError(f"cannot read {path} ({error.strerror})") from None
    except ValueError as error:  # invalid JSON, or bytes that are not UTF-8
        raise ValueError(f"{path} is not valid JSON ({error})") from None
    except RecursionError:
        raise ValueError(f"{path} is not valid JSON (nested too deeply)") from None


def same_configuration(a: object, b: object) -> bool:
    """Whether two ``config.json`` contents describe the same run; the order of the seeds does not count."""
    def normal(config: object) -> object:
        if isinstance(config, dict) and isinstance(config.get("seeds"), list):
            try:
                return dict(config, seeds=sorted(config["seeds"]))
            except TypeError:  # seeds of mixed types: compared as written
                return config
        return config
    return normal(a) == normal(b)


def resolve_out(out: Path) -> Path:
    """``out`` as an absolute path without links; ``ValueError`` where links loop."""
    try:
        return out.resolve(strict=False)
    except (RuntimeError, OSError):  # Python 3.11 raises RuntimeError on a symbolic-link loop
        raise ValueError(f"--out {out} cannot be resolved (a loop of symbolic links?); expected a folder") from None


def check_out_folder(out: Path, config: dict) -> None:
    """Refuse an ``out`` that cannot hold results, or holds another configuration's (``ValueError``).

    Nothing is left behind: writability is tested with a probe file in the nearest existing folder,
    created and removed at once (permission bits alone do not tell, e.g. for root).
    """
    resolve_out(out)
    if out.is_symlink() and not out.exists():
        raise ValueError(f"--out {out} is a symbolic link to {os.readlink(out)}, which does not exist; expected a folder")
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out} is a file; expected a folder (it is created if missing)")
    for name, should_be_folder in (("runs", True), ("config.json", False), ("results.json", False)):
        inside = out / name
        if inside.exists() and inside.is_dir() != should_be_folder:
            raise ValueError(f"--out {out} holds {inside}, which is not a {'folder' if should_be_folder else 'file'}; "
                             "choose another --out, or delete that folder")
    existing_parent = next(p for p in (out, *out.parents) if p.exists())
    if not existing_parent.is_dir():
        raise ValueError(f"--out {out} lies under the file {existing_parent}; expected a folder")
    for folder in [p for p in (out, out / "runs") if p.is_dir()] or [existing_parent]:
        try:
            handle, probe = tempfile.mkstemp(dir=folder, prefix=".write-test.")
            os.close(handle)
            os.unlink(probe)
        except OSError as error:
            raise ValueError(f"--out {out} is not writable ({error.strerror}); choose another folder") from None
    existing = out / "config.json"
    if existing.exists():
        try:
            held = read_json(existing)
        except ValueError:
            held = None
        if not same_configuration(held, config):
            raise ValueError(f"--out {out} holds the results of another configuration ({existing}); "
                             "choose another --out, or delete that folder")
