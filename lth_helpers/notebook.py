"""What every notebook does first: pick the size, load the data, say both out loud.

Notebooks 2-5 share one IMP experiment (:func:`shared_experiment`), so the expensive run
happens once, in whichever notebook runs first, and the others read it from the results store.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from .data import MNISTData, load_mnist
from .imp import STRATEGIES, IMPConfig, make_config
from .ticket_contents import CONTENTS
from .sizes import Size, resolve_size

__all__ = ["Setup", "setup", "shared_experiment", "contents_experiment", "shared_one_shot_rounds", "ONE_SHOT_ROUNDS",
           "on_colab", "peak_memory_mb", "explorer"]


def on_colab() -> bool:
    """True inside Google Colab."""
    return "COLAB_RELEASE_TAG" in os.environ or "google.colab" in sys.modules


@dataclass
class Setup:
    """The size and data a notebook runs on, and where it keeps results."""

    size: Size
    data: MNISTData
    results_dir: Path
    started: float = field(default_factory=time.perf_counter)

    def report(self) -> None:
        """Print the wall time since set-up and the kernel's peak memory (a notebook's last line)."""
        minutes = (time.perf_counter() - self.started) / 60
        print(f"wall time {minutes:.1f} min at size '{self.size.name}'; peak memory {peak_memory_mb():,.0f} MB")


def peak_memory_mb() -> float:
    """The most memory this process has held so far, in MB (``ru_maxrss``: kB on Linux, bytes on macOS)."""
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 ** 2 if sys.platform == "darwin" else 1024)


def setup(size: str = "standard", data: str = "offline", data_dir: str | os.PathLike = "data",
          results_dir: str | os.PathLike = "results/runs") -> Setup:
    """Resolve the size (``LTH_QUICK=1`` forces ``quick``), load the data, print one line for each.

    ``data`` is ``"offline"`` (15,000 genuine digits shipped with the package) or ``"mnist"``
    (full MNIST, downloaded into ``data_dir``); see :func:`lth_helpers.data.load_mnist`.
    """
    chosen = resolve_size(size)
    dataset = load_mnist(data, data_dir)
    print(f"Running at {chosen.describe()}.")
    print(f"Data: {dataset.describe()}.")
    return Setup(chosen, dataset, Path(results_dir))


#: The IMP rounds the shared experiment's one-shot tickets match (51.3%, 21.1%, 7.0% and 3.6% of the weights).
ONE_SHOT_ROUNDS: tuple[int, ...] = (3, 7, 12, 15)


def shared_one_shot_rounds(config: IMPConfig) -> list[int]:
    """The one-shot rounds of the shared experiment that ``config`` reaches (a short run: its last round)."""
    return [n for n in ONE_SHOT_ROUNDS if n <= config.rounds] or [config.rounds]


def shared_experiment(size: Size | str, seeds: int | None = None) -> IMPConfig:
    """The IMP experiment notebooks 2-5 share: every strategy, the size's seeds and schedule."""
    name = size.name if isinstance(size, Size) else size
    return make_config(name, STRATEGIES, seeds)


def contents_experiment(size: Size | str, seeds: int | None = None) -> IMPConfig:
    """Notebook 6's experiment: the shared one (reused from the store) plus every ticket-content strategy."""
    name = size.name if isinstance(size, Size) else size
    return make_config(name, STRATEGIES + CONTENTS, seeds)


def explorer():
    """The app of ``app/explorer.ipynb``: the shipped snapshot of the standard run, the offline digits
    for its prune-rate slider, and a button that retrains a quick experiment (one seed) live."""
    import tempfile

    from .imp import run_imp
    from .snapshot import load_snapshot
    from .widgets.app import APP_RETRAIN_STRATEGIES, explorer_app

    data = load_mnist("offline")

    def retrain():
        with tempfile.TemporaryDirectory() as folder:
            return run_imp(make_config("quick", APP_RETRAIN_STRATEGIES, 1), data, folder, progress=False,
                           verbose=False)

    return explorer_app(load_snapshot(), data, retrain)
