"""Combine the results of independent jobs (different seeds of one configuration) into one folder.

Seeds are independent runs, so a large experiment can be split by seed over several machines
or a cluster's job array (``python -m lth_helpers imp --seed-range 0:2 --out job0`` and so on),
and merged afterwards::

    python -m lth_helpers merge job0 job1 --out merged

Each job folder holds ``config.json``, ``results.json`` and its store in ``runs/``. Folders of
different configurations (anything but the seeds differs) are refused with a clear error; the
store entries are copied, and verified again whenever they are read.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Sequence

from .store import atomic_write_text

__all__ = ["merge_results"]


def _read(folder: Path) -> tuple[dict, list[dict]]:
    try:
        config = json.loads((folder / "config.json").read_text())
        records = json.loads((folder / "results.json").read_text())
    except FileNotFoundError as error:
        raise ValueError(f"{folder} is not a finished results folder: {Path(error.filename).name} is missing") from None
    except json.JSONDecodeError as error:
        raise ValueError(f"{folder}: cannot read its results ({error})") from None
    if not isinstance(config, dict) or not isinstance(records, list) or "seeds" not in config:
        raise ValueError(f"{folder} is not a results folder written by `lth_helpers imp`")
    return config, records


def merge_results(folders: Sequence[str | Path], out: str | Path) -> Path:
    """Merge the job folders into ``out``; return the path of the merged ``results.json``.

    Raises ``ValueError`` when the folders' configurations differ in anything but their seeds,
    or when two folders hold the same seed.
    """
    folders = [Path(f) for f in folders]
    if len(folders) < 2:
        raise ValueError(f"merge needs at least two results folders, got {len(folders)}")
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out} is a file; expected a folder")
    configs, records, seen = [], [], {}
    for folder in folders:
        config, folder_records = _read(folder)
        for seed in config["seeds"]:
            if seed in seen:
                raise ValueError(f"seed {seed} is in both {seen[seed]} and {folder}; each seed must come from one job")
            seen[seed] = folder
        configs.append(config)
        records += folder_records
    reference = {k: v for k, v in configs[0].items() if k != "seeds"}
    for folder, config in zip(folders[1:], configs[1:]):
        differing = sorted(k for k in set(reference) | set(config) if k != "seeds" and reference.get(k) != config.get(k))
        if differing:
            raise ValueError(f"{folder} has another configuration than {folders[0]} "
                             f"(differs in {', '.join(differing)}); only folders differing in seeds can be merged")
    for folder in folders:
        if (folder / "runs").is_dir():
            shutil.copytree(folder / "runs", out / "runs", dirs_exist_ok=True)
    merged = dict(reference, seeds=sorted(seen))
    records.sort(key=lambda r: (r["seed"], r["round"], r["strategy"]))
    atomic_write_text(out / "config.json", json.dumps(merged, indent=1))
    path = out / "results.json"
    atomic_write_text(path, json.dumps(records, indent=1))
    return path
