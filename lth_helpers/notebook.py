"""What every notebook does first: pick the size, load the data, say both out loud.

Notebooks 2-5 share one IMP experiment (:func:`shared_experiment`), so the expensive run
happens once, in whichever notebook runs first, and the others read it from the results store.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from .data import MNISTData, load_mnist
from .imp import STRATEGIES, IMPConfig, make_config
from .sizes import Size, resolve_size

__all__ = ["Setup", "setup", "shared_experiment", "on_colab"]


def on_colab() -> bool:
    """True inside Google Colab."""
    return "COLAB_RELEASE_TAG" in os.environ or "google.colab" in sys.modules


@dataclass
class Setup:
    """The size and data a notebook runs on, and where it keeps results."""

    size: Size
    data: MNISTData
    results_dir: Path


def setup(size: str = "standard", data_dir: str | os.PathLike = "data",
          results_dir: str | os.PathLike = "results/runs") -> Setup:
    """Resolve the size (``LTH_QUICK=1`` forces ``quick``), load MNIST, print one line for each."""
    chosen = resolve_size(size)
    data = load_mnist(data_dir, verbose=False)  # described once, below
    print(f"Running at {chosen.describe()}.")
    print(f"Data: {data.describe()}.")
    return Setup(chosen, data, Path(results_dir))


def shared_experiment(size: Size | str, seeds: int | None = None) -> IMPConfig:
    """The IMP experiment notebooks 2-5 share: every strategy, the size's seeds and schedule."""
    name = size.name if isinstance(size, Size) else size
    return make_config(name, STRATEGIES, seeds)
