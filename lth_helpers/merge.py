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

from .out_folder import check_out_folder, read_json, resolve_out
from .store import atomic_write_text

__all__ = ["merge_results"]


def _is_seed(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _read(folder: Path) -> tuple[dict, list[dict]]:
    """A job folder's configuration and records, checked to be what ``imp`` writes (``ValueError``)."""
    if not folder.is_dir():
        raise ValueError(f"{folder} is not a results folder: " + ("it is a file" if folder.exists() else "it does not exist"))
    config, records = read_json(folder / "config.json"), read_json(folder / "results.json")
    seeds = config.get("seeds") if isinstance(config, dict) else None
    if not isinstance(seeds, list) or not seeds or not all(_is_seed(s) for s in seeds) or len(set(seeds)) != len(seeds):
        raise ValueError(f"{folder / 'config.json'} is not written by `lth_helpers imp`: "
                         f"expected a 'seeds' list of distinct ints >= 0, got {seeds!r}")
    if not isinstance(records, list):
        raise ValueError(f"{folder / 'results.json'} is not written by `lth_helpers imp`: expected a list of records")
    seen: set[str] = set()
    for index, record in enumerate(records):
        if not (isinstance(record, dict) and isinstance(record.get("round"), int)
                and isinstance(record.get("strategy"), str) and _is_seed(record.get("seed"))
                and record["seed"] in seeds):
            seed = record.get("seed") if isinstance(record, dict) else None
            raise ValueError(f"{folder / 'results.json'}: record {index} is not a record of seeds {seeds} "
                             f"(seed {seed!r}); expected seed, round and strategy as `lth_helpers imp` writes them")
        text = json.dumps(record, sort_keys=True)
        if text in seen:
            raise ValueError(f"{folder / 'results.json'}: record {index} repeats an earlier record "
                             f"(seed {record['seed']}, round {record['round']}, {record['strategy']})")
        seen.add(text)
    return config, records


def _store_files(folders: Sequence[Path], out: Path) -> list[tuple[Path, Path]]:
    """Every store file to copy, as (source, destination); ``ValueError`` if any copy would fail.

    Checked before anything is copied, so that a refused merge leaves ``out`` as it was: sources
    must be plain files (a store holds no links), destinations absent or plain files.
    """
    pairs = []
    for folder in folders:
        runs = folder / "runs"
        if not runs.exists():
            continue
        if runs.is_symlink() or not runs.is_dir():
            raise ValueError(f"{runs} is not a store folder; expected the folder `lth_helpers imp` writes")
        for source in sorted(runs.rglob("*")):
            destination = out / "runs" / source.relative_to(runs)
            if source.is_symlink() or not (source.is_file() or source.is_dir()):
                raise ValueError(f"{source} is not a plain file or folder; a store holds nothing else")
            if destination.is_symlink() or (destination.exists() and destination.is_dir() != source.is_dir()):
                raise ValueError(f"--out {out} holds {destination}, which {source} cannot be copied onto")
            if source.is_file():
                pairs.append((source, destination))
    return pairs


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def merge_results(folders: Sequence[str | Path], out: str | Path) -> Path:
    """Merge the job folders into ``out``; return the path of the merged ``results.json``.

    Raises ``ValueError``, before anything is written, when a folder is not a results folder of
    ``lth_helpers imp``, when the folders' configurations differ in anything but their seeds, when
    two folders hold the same seed, or when ``out`` lies inside one of them or holds results of
    another configuration. Merging the same folders into the same ``out`` again is allowed.
    """
    folders = [Path(f) for f in folders]
    if len(folders) < 2:
        raise ValueError(f"merge needs at least two results folders, got {len(folders)}")
    out = Path(out)
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
    resolved = resolve_out(out)
    for folder in folders:
        if _inside(resolved, folder.resolve()):
            raise ValueError(f"--out {out} is, or lies inside, the results folder {folder}; choose a folder outside every input")
    merged = dict(reference, seeds=sorted(seen))
    check_out_folder(out, merged)
    for source, destination in _store_files(folders, out):
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, destination)
    records.sort(key=lambda r: (r["seed"], r["round"], r["strategy"]))
    atomic_write_text(out / "config.json", json.dumps(merged, indent=1))
    path = out / "results.json"
    atomic_write_text(path, json.dumps(records, indent=1))
    return path
