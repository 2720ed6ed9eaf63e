"""A compact snapshot of the committed ``standard`` run, shipped with the package for the app.

The app (``app/explorer.ipynb``) must open in seconds, so it cannot train. It reads this file
instead: every record and learning curve of the shared experiment (the ticket, its controls and
one-shot pruning, all seeds), and one seed's dense network (theta_0 and its trained weights) for
the prune-rate slider. About 3 MB; ``tools/make_snapshot.py`` writes it from the results store.

The file is a gzip of ``torch.save`` output holding only plain types and tensors (loaded with
``weights_only=True``) and a SHA-256 of its content, checked on load: a damaged or edited
snapshot is refused with a clear error rather than shown.
"""

from __future__ import annotations

import gzip
import hashlib
import io
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Mapping

import torch

from .history import History
from .imp import RESULTS_VERSION, IMPConfig
from .models import LAYER_NAMES, LeNet300100
from .results import IMPResult

__all__ = ["SNAPSHOT_FORMAT", "DEFAULT_SNAPSHOT", "Snapshot", "write_snapshot", "load_snapshot"]

SNAPSHOT_FORMAT = 2
DEFAULT_SNAPSHOT = Path(__file__).with_name("snapshot") / "standard.pt.gz"


def _serialize(obj: Any) -> bytes:
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


@dataclass(frozen=True)
class Snapshot:
    """What the app shows: a run's records and curves, and one trained dense network."""

    source: dict          # which run: size, seeds, strategies, data, store key, code version
    result: IMPResult     # records and histories (no tensors: ``store`` is None)
    dense_seed: int
    theta0: dict[str, torch.Tensor]
    dense_weights: dict[str, torch.Tensor]
    dense_biases: dict[str, torch.Tensor]
    sweep: list[dict]     # the dense network pruned once at many densities (the slider's accuracy curve)

    def dense_model(self) -> LeNet300100:
        """The trained dense network of ``dense_seed`` (round 0 of the run), ready for the slider."""
        model = LeNet300100()
        model.load_weights(self.dense_weights, zero_biases=False)
        with torch.no_grad():
            for name, layer in model.layers():
                layer.bias.copy_(self.dense_biases[name])
        return model

    def describe(self) -> str:
        """One line naming the run: ``size 'standard', seeds 0-2, ... (store 528ed3000d6fbfee)``."""
        s = self.source
        return (f"size '{s['size']}', {s['iterations']:,} iterations per round, seeds {s['seeds']}, "
                f"{len(self.result.records)} trained networks on {s['data']} (results store {s['store_key']})")


def write_snapshot(result: IMPResult, extra_records: list[dict], dense_seed: int, data_description: str,
                   path: str | Path = DEFAULT_SNAPSHOT, sweep: list[dict] | None = None) -> Path:
    """Write ``result`` (plus ``extra_records``, e.g. one-shot ones, whose histories are not kept)
    and the dense network of ``dense_seed`` to ``path``; return the path. ``sweep`` holds that
    network's :func:`lth_helpers.sweeps.sweep` records, so the app need not compute them."""
    if result.store is None:
        raise ValueError("the result has no results store to read the dense network from")
    tensors = result.store.tensors(dense_seed, 0, "original")
    config = {f.name: getattr(result.config, f.name) for f in fields(result.config)}
    content = {
        "format": SNAPSHOT_FORMAT,
        "source": {"size": result.config.size, "iterations": result.config.iterations,
                   "seeds": list(result.config.seeds), "strategies": list(result.config.strategies),
                   "data": data_description, "data_source": result.data_source,
                   "store_key": result.store.key, "results_version": RESULTS_VERSION},
        "config": {k: list(v) if isinstance(v, tuple) else v for k, v in config.items()},
        "records": list(result.records) + list(extra_records),
        "histories": [[s, seed, n, h.to_dict()] for (s, seed, n), h in sorted(result.histories.items())],
        "dense": {"seed": dense_seed, "theta0": tensors["init"], "final": tensors["final"],
                  "final_bias": tensors["final_bias"]},
        "sweep": list(sweep or []),
    }
    payload = _serialize(content)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # mtime 0: the same run gives the same bytes.
    path.write_bytes(gzip.compress(_serialize({"sha256": hashlib.sha256(payload).hexdigest(), "payload": payload}),
                                   mtime=0))
    return path


def _check(content: Mapping, path: Path) -> None:
    if content.get("format") != SNAPSHOT_FORMAT:
        raise ValueError(f"snapshot {path} has format {content.get('format')!r}; this code reads format "
                         f"{SNAPSHOT_FORMAT}: regenerate it with tools/make_snapshot.py")
    if content["source"].get("results_version") != RESULTS_VERSION:
        raise ValueError(f"snapshot {path} was made by results version {content['source'].get('results_version')}, "
                         f"this code is version {RESULTS_VERSION}: regenerate it with tools/make_snapshot.py")
    for name in LAYER_NAMES:
        if name not in content["dense"]["final"] or name not in content["dense"]["theta0"]:
            raise ValueError(f"snapshot {path} lacks the dense network's {name} weights")


def load_snapshot(path: str | Path = DEFAULT_SNAPSHOT) -> Snapshot:
    """Read and verify a snapshot; ``ValueError`` naming the file for anything damaged or stale."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no snapshot at {path}: run tools/make_snapshot.py to write one")
    try:
        with gzip.open(path, "rb") as handle:
            outer = torch.load(io.BytesIO(handle.read()), weights_only=True)
        payload = outer["payload"]
        if hashlib.sha256(payload).hexdigest() != outer["sha256"]:
            raise ValueError("checksum mismatch")
        content = torch.load(io.BytesIO(payload), weights_only=True)
    except (OSError, EOFError, KeyError, TypeError, RuntimeError, ValueError) as error:
        raise ValueError(f"snapshot {path} is damaged ({error}); regenerate it with tools/make_snapshot.py") from None
    _check(content, path)
    config = IMPConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in content["config"].items()})
    result = IMPResult(config=config, data_source=content["source"]["data_source"], store=None,
                       records=content["records"],
                       histories={(s, seed, n): History.from_dict(h) for s, seed, n, h in content["histories"]})
    dense = content["dense"]
    return Snapshot(source=content["source"], result=result, dense_seed=dense["seed"], theta0=dense["theta0"],
                    dense_weights=dense["final"], dense_biases=dense["final_bias"], sweep=content["sweep"])
