#!/usr/bin/env python
"""Write the app's snapshot (lth_helpers/snapshot/standard.pt.gz) from the committed standard run.

Reads the shared experiment of notebooks 2-5 and its one-shot tickets from the results store in
notebooks/results/runs (nothing is trained when the store holds them, as it does after the
notebooks have run at standard size) and keeps seed 0's dense network for the prune-rate slider.

Usage::

    python tools/make_snapshot.py            # from the repository root
"""
from __future__ import annotations

import sys
from pathlib import Path

import torch

from lth_helpers.data import load_mnist
from lth_helpers.imp import run_imp, run_one_shot
from lth_helpers.notebook import shared_experiment, shared_one_shot_rounds
from lth_helpers.snapshot import load_snapshot, write_snapshot
from lth_helpers.sweeps import TrainedNet, default_densities, sweep

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    torch.set_num_threads(1)
    store = ROOT / "notebooks" / "results" / "runs"
    data = load_mnist("offline")
    config = shared_experiment("standard")
    result = run_imp(config, data, store, progress=False)
    one_shot = run_one_shot(config, shared_one_shot_rounds(config), data, store, progress=False)
    if result.computed or one_shot.computed:
        print("warning: some networks were trained just now; the snapshot is of this run, which the committed "
              "notebooks may not show", file=sys.stderr)
    # The prune-rate slider's accuracy curve, computed once here instead of at every app start.
    dense = TrainedNet(dict(result.final_weights(0, 0)), dict(result.store.tensors(0, 0, "original")["final_bias"]))
    curve = sweep(dense, data, default_densities(20), methods=("layerwise",))
    path = write_snapshot(result, [r for r in one_shot.records if r["strategy"] == "one_shot"], 0, data.describe(),
                          sweep=curve)
    snapshot = load_snapshot(path)
    print(f"{path.relative_to(ROOT)}: {path.stat().st_size / 1e6:.1f} MB; {snapshot.describe()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
