"""Bad input is refused at once, by name, before any work and before anything is written.

Two tables: command lines that must exit 2 with one error line naming the bad value (no
traceback, nothing written under ``--out``), and API calls that must raise ``ValueError`` or
``TypeError`` naming the value.
"""

from __future__ import annotations

import builtins
import errno
import io
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from lth_helpers.cli import main
from lth_helpers.data import MNISTData, load_mnist, write_idx
from lth_helpers.imp import check_one_shot_rounds, make_config, resolve_device
from lth_helpers.models import LAYER_SHAPES, LeNet300100
from lth_helpers.pruning import expected_density, one_shot_rates
from lth_helpers.training import TrainConfig

from conftest import write_fake_mnist

REPO = Path(__file__).resolve().parents[1]
TINY = ["--size", "quick", "--iterations", "20", "--eval-every", "10", "--rounds", "1", "--no-progress",
        "--device", "cpu"]
NO_CUDA = pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA GPU: --device cuda is valid")


# ------------------------------------------------------------------------------- helpers


def _cli(argv: list[str], capsys) -> tuple[int, str, str]:
    """Run the command line in this process: ``(exit code, stdout, stderr)``."""
    try:
        code = main(argv)
    except SystemExit as exit_:  # what argparse does on an argument it cannot parse
        code = exit_.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _error_line(err: str) -> str:
    """The one error line of ``err``; everything else may only be argparse's usage block."""
    assert "Traceback" not in err, err
    lines = [line for line in err.splitlines() if line.strip()]
    errors = [line for line in lines if "error:" in line]
    assert len(errors) == 1, f"expected exactly one error line, got:\n{err}"
    assert lines[-1] == errors[0], f"the error must be the last line:\n{err}"
    usage = lines[:-1]
    assert not usage or (usage[0].startswith("usage:") and all(line[:1].isspace() for line in usage[1:])), \
        f"stderr holds more than the usage block and the error:\n{err}"
    return errors[0]


def _simulate_read_only(monkeypatch, folder: Path) -> None:
    """Make every write under ``folder`` fail with EROFS, as on a read-only file system.

    Needed where permissions do not bind (running as root): ``chmod`` alone would not stop it.
    """
    root = os.path.realpath(folder)

    def inside(path) -> bool:
        try:
            resolved = os.path.realpath(os.fspath(path))
        except TypeError:  # a file descriptor
            return False
        return resolved == root or resolved.startswith(root + os.sep)

    def refuse(path):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), os.fspath(path))

    real_mkdir, real_open, real_os_open = os.mkdir, builtins.open, os.open
    real_replace, real_rename = os.replace, os.rename

    def mkdir(path, *args, **kwargs):
        if inside(path):
            refuse(path)
        return real_mkdir(path, *args, **kwargs)

    def open_(file, mode="r", *args, **kwargs):
        if isinstance(file, (str, bytes, os.PathLike)) and set(mode) & set("wax+") and inside(file):
            refuse(file)
        return real_open(file, mode, *args, **kwargs)

    def os_open(path, flags, *args, **kwargs):
        if flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT) and inside(path):
            refuse(path)
        return real_os_open(path, flags, *args, **kwargs)

    def replace(src, dst, *args, **kwargs):
        if inside(dst):
            refuse(dst)
        return real_replace(src, dst, *args, **kwargs)

    def rename(src, dst, *args, **kwargs):
        if inside(dst):
            refuse(dst)
        return real_rename(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "mkdir", mkdir)
    monkeypatch.setattr(os, "open", os_open)
    monkeypatch.setattr(os, "replace", replace)
    monkeypatch.setattr(os, "rename", rename)
    monkeypatch.setattr(builtins, "open", open_)
    monkeypatch.setattr(io, "open", open_)


def _make_read_only(folder: Path, monkeypatch) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o500)
    if os.access(folder, os.W_OK):  # root: permissions do not bind, so simulate the file system's refusal
        _simulate_read_only(monkeypatch, folder)


def _files_under(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*")) if folder.is_dir() else []


# --------------------------------------------------------------------------- command line

# arguments, what the error line must contain (the bad value), what --out is beforehand
CLI_CASES = [
    pytest.param(["--device", "cuda"], ["'cuda'"], None, marks=NO_CUDA, id="device-cuda-without-gpu"),
    pytest.param(["--device", "tpu"], ["'tpu'"], None, id="device-tpu"),
    pytest.param([], ["{out}", "file"], "file", id="out-is-a-regular-file"),
    pytest.param([], ["{out}", "not writable"], "read-only", id="out-read-only"),
    pytest.param(["--one-shot", "a"], ["'a'"], None, id="one-shot-a"),
    pytest.param(["--one-shot", "0"], ["one-shot", "[0]"], None, id="one-shot-0"),
    pytest.param(["--one-shot", "2,-1"], ["one-shot", "-1"], None, id="one-shot-negative"),
    pytest.param(["--seeds", "0"], ["seeds", "got 0"], None, id="seeds-0"),
    pytest.param(["--seeds", "-1"], ["seeds", "-1"], None, id="seeds-negative"),
    pytest.param(["--seeds", "two"], ["'two'"], None, id="seeds-two"),
    pytest.param(["--seeds", "1,1"], ["seeds", "[1, 1]"], None, id="seeds-repeated"),
    pytest.param(["--seed-range", "5:3"], ["5:3"], None, id="seed-range-backwards"),
    pytest.param(["--seed-range", "a:b"], ["a:b"], None, id="seed-range-letters"),
    pytest.param(["--seeds", "-1,2"], ["seeds", "-1"], None, id="seeds-negative-in-a-list"),
    pytest.param(["--seed-range", "-1:2"], ["'-1:2'"], None, id="seed-range-negative"),
    # 1 is --seeds' value when it is not given; given, it must still exclude --seed-range.
    pytest.param(["--seeds", "1", "--seed-range", "4:6"], ["--seed-range", "--seeds"], None, id="seeds-1-and-range"),
    pytest.param(["--seeds", "9223372036854775808"], ["9223372036854775808"], None, id="seeds-huge-count"),
    pytest.param(["--seed-range", "0:100000000000"], ["'0:100000000000'"], None, id="seed-range-huge"),
    pytest.param(["--size", "huge"], ["'huge'"], None, id="size-huge"),
    pytest.param(["--strategies", "bogus"], ["'bogus'"], None, id="strategies-bogus"),
    pytest.param(["--strategies", "original,bogus"], ["'bogus'"], None, id="strategies-one-bogus"),
    pytest.param(["--iterations", "0"], ["iterations", "got 0"], None, id="iterations-0"),
    pytest.param(["--eval-every", "0"], ["eval_every", "got 0"], None, id="eval-every-0"),
    pytest.param(["--rounds", "-1"], ["rounds", "got -1"], None, id="rounds-negative"),
    pytest.param(["--data", "bogus"], ["--data", "'bogus'", "'offline'", "'mnist'"], None, id="data-bogus"),
]


@pytest.mark.parametrize("args,needles,out_kind", CLI_CASES)
def test_bad_command_line_exits_2_with_one_line_and_writes_nothing(tmp_path, capsys, no_download, args, needles,
                                                                  out_kind):
    data = tmp_path / "data"
    write_fake_mnist(data)
    out = tmp_path / "out"
    if out_kind == "file":
        out.write_text("not a folder")
    before = _files_under(out)
    with pytest.MonkeyPatch.context() as patch:
        if out_kind == "read-only":
            _make_read_only(out, patch)
        try:
            code, stdout, stderr = _cli(["imp", *TINY, "--data", "mnist", "--data-dir", str(data), "--out", str(out),
                                        *args], capsys)
        finally:
            if out.is_dir():
                out.chmod(0o700)
    assert code == 2, (stdout, stderr)
    line = _error_line(stderr)
    for needle in needles:
        assert needle.format(out=out) in line, line
    assert "Traceback" not in stdout and not stdout.strip(), stdout
    # Nothing written under --out: no results, no store folder.
    if out_kind == "file":
        assert out.read_text() == "not a folder"
    else:
        assert _files_under(out) == before == []
        assert out_kind == "read-only" or not out.exists()
    assert not (tmp_path / "results.json").exists()


def test_read_only_out_holding_a_complete_store_is_refused_before_any_work(tmp_path, capsys, no_download):
    """with a complete store, a read-only --out used to fail only at the final write."""
    data, out = tmp_path / "data", tmp_path / "out"
    write_fake_mnist(data)
    argv = ["imp", *TINY, "--strategies", "original", "--data", "mnist", "--data-dir", str(data), "--out", str(out)]
    assert _cli(argv, capsys)[0] == 0
    files = {name: (out / name).read_bytes() for name in _files_under(out) if (out / name).is_file()}
    with pytest.MonkeyPatch.context() as patch:
        _make_read_only(out, patch)
        try:
            code, stdout, stderr = _cli(argv, capsys)
        finally:
            out.chmod(0o700)
    assert code == 2
    assert str(out) in _error_line(stderr)
    assert "Data:" not in stdout  # refused before the data was loaded
    assert {name: (out / name).read_bytes() for name in _files_under(out) if (out / name).is_file()} == files


def _bad_label_data(folder: Path, file: str = "train-labels-idx1-ubyte", label: int = 72) -> Path:
    arrays = write_fake_mnist(folder)
    labels = arrays[file].copy()
    labels[5] = label
    write_idx(folder / f"{file}.gz", labels)
    return folder


@pytest.mark.parametrize("file", ["train-labels-idx1-ubyte", "t10k-labels-idx1-ubyte"])
def test_labels_outside_0_9_exit_2_before_training(tmp_path, capsys, no_download, file):
    """IDX labels outside 0-9 were an IndexError deep in the training loop."""
    data = _bad_label_data(tmp_path / "data", file)
    out = tmp_path / "out"
    code, stdout, stderr = _cli(["imp", *TINY, "--data", "mnist", "--data-dir", str(data), "--out", str(out)], capsys)
    assert code == 2
    line = _error_line(stderr)
    assert "72" in line and "0-9" in line
    assert not (out / "results.json").exists()
    assert not list(out.rglob("*.json"))  # no store entry, no results


@pytest.mark.parametrize("args,needle", [
    (["--seeds", "two"], "'two'"),
    (["--iterations", "0"], "got 0"),
], ids=["argparse-error", "package-error"])
def test_real_process_exits_2_without_traceback(tmp_path, args, needle):
    """The same through ``python -m lth_helpers``: the exit code and stderr a shell sees."""
    out = tmp_path / "out"
    completed = subprocess.run([sys.executable, "-m", "lth_helpers", "imp", *TINY, "--out", str(out),
                                "--data-dir", str(tmp_path / "data"), *args],
                               cwd=REPO, capture_output=True, text=True, timeout=120,
                               env=dict(os.environ, PYTHONPATH=str(REPO)))
    assert completed.returncode == 2, completed.stderr
    assert needle in _error_line(completed.stderr)
    assert not out.exists()


# ---------------------------------------------------------------------------------- API


def _mask(value, name: str = "fc1") -> torch.Tensor:
    mask = torch.ones(LAYER_SHAPES[name])
    mask[5, 7] = value
    mask[0, 0] = 0.0
    return mask


def _state_with_mask(value) -> dict[str, torch.Tensor]:
    state = {k: v.clone() for k, v in LeNet300100(seed=0).state_dict().items()}
    state["fc2.mask"] = _mask(value, "fc2")
    return state


def _data(**changes) -> MNISTData:
    fields = dict(train_x=torch.zeros(4, 784), train_y=torch.tensor([0, 1, 2, 9]), val_x=torch.zeros(2, 784),
                  val_y=torch.tensor([3, 4]), test_x=torch.zeros(2, 784), test_y=torch.tensor([5, 6]))
    fields.update(changes)
    return MNISTData(name="tiny", source="test", **fields)


def _nan_images() -> torch.Tensor:
    images = torch.zeros(2, 784)
    images[1, 100] = math.nan
    return images


def _inf_images() -> torch.Tensor:
    images = torch.zeros(2, 784)
    images[0, 3] = -math.inf
    return images


# id, call (given tmp_path), exception, regex the message must match
API_CASES = [
    pytest.param(lambda _: LeNet300100(seed=0).set_masks({"fc1": _mask(0.5)}), ValueError, r"0\.5", id="mask-0.5"),
    pytest.param(lambda _: LeNet300100(seed=0).set_masks({"fc1": _mask(math.nan)}), ValueError, r"(?i)nan",
                 id="mask-nan"),
    pytest.param(lambda _: LeNet300100(seed=0).set_masks({"fc1": _mask(-1)}), ValueError, r"-1", id="mask-minus-1"),
    pytest.param(lambda _: LeNet300100(seed=0).set_masks({"fc3": _mask(2, "fc3")}), ValueError, r"\b2(\.0)?\b",
                 id="mask-2"),
    pytest.param(lambda _: LeNet300100(seed=0).set_masks({"fc3": [[1] * 100] * 10}), TypeError, r"list",
                 id="mask-list"),
    pytest.param(lambda _: LeNet300100(seed=0).set_masks({"fc3": np.ones((10, 100))}), TypeError, r"ndarray",
                 id="mask-numpy"),
    pytest.param(lambda _: LeNet300100(seed=0).set_masks({"fc3": torch.ones(100, 10)}), ValueError,
                 r"\(100, 10\)", id="mask-transposed"),
    pytest.param(lambda _: LeNet300100(seed=0).load_state_dict(_state_with_mask(0.5)), ValueError,
                 r"fc2\.mask.*0\.5", id="load_state_dict-mask-0.5"),
    pytest.param(lambda _: LeNet300100(seed=0).load_state_dict(_state_with_mask(math.nan)), ValueError,
                 r"fc2\.mask.*(?i:nan)", id="load_state_dict-mask-nan"),
    pytest.param(lambda _: TrainConfig(weight_decay=math.nan), ValueError, r"weight_decay.*nan",
                 id="TrainConfig-weight_decay-nan"),
    pytest.param(lambda _: TrainConfig(weight_decay=math.inf), ValueError, r"weight_decay.*inf",
                 id="TrainConfig-weight_decay-inf"),
    pytest.param(lambda _: TrainConfig(lr=math.inf), ValueError, r"lr.*inf", id="TrainConfig-lr-inf"),
    pytest.param(lambda _: TrainConfig(lr=math.nan), ValueError, r"lr.*nan", id="TrainConfig-lr-nan"),
    pytest.param(lambda _: make_config("quick", seeds="12"), ValueError, r"'12'", id="make_config-seeds-str"),
    pytest.param(lambda _: make_config("quick", seeds=2.5), ValueError, r"2\.5", id="make_config-seeds-float"),
    pytest.param(lambda _: make_config("quick", seeds=[1, 1]), ValueError, r"\[1, 1\]", id="make_config-seeds-repeat"),
    pytest.param(lambda _: make_config("quick", seeds=[0, -2]), ValueError, r"-2", id="make_config-seeds-negative"),
    pytest.param(lambda _: make_config("quick", seeds=True), ValueError, r"True", id="make_config-seeds-bool"),
    pytest.param(lambda _: make_config("quick", "original,bogus"), ValueError, r"'bogus'",
                 id="make_config-strategy"),
    pytest.param(lambda _: make_config("quick", hidden_rate=1.0), ValueError, r"hidden_rate.*1\.0",
                 id="make_config-rate-1"),
    pytest.param(lambda _: make_config("quick", rounds=-1), ValueError, r"rounds.*-1", id="make_config-rounds"),
    pytest.param(lambda _: check_one_shot_rounds([3, 0]), ValueError, r"\[3, 0\]", id="one-shot-rounds-0"),
    pytest.param(lambda _: check_one_shot_rounds(["3"]), ValueError, r"'3'", id="one-shot-rounds-str"),
    pytest.param(lambda _: resolve_device("tpu"), ValueError, r"'tpu'", id="device-tpu"),
    pytest.param(lambda _: resolve_device("cuda"), ValueError, r"'cuda'", id="device-cuda-without-gpu",
                 marks=NO_CUDA),
    pytest.param(lambda _: one_shot_rates(math.nan), ValueError, r"(?i)nan", id="one_shot_rates-nan"),
    pytest.param(lambda _: one_shot_rates(3, {"fc1": 1.5, "fc2": 0.2, "fc3": 0.1}), ValueError, r"1\.5",
                 id="one_shot_rates-rate-above-1"),
    pytest.param(lambda _: expected_density(-3), ValueError, r"-3", id="expected_density-negative"),
    pytest.param(lambda _: _data(train_y=torch.tensor([0, 1, 72, 9])), ValueError, r"72", id="MNISTData-label-72"),
    pytest.param(lambda _: _data(test_y=torch.tensor([5, -1])), ValueError, r"-1", id="MNISTData-label-minus-1"),
    pytest.param(lambda _: _data(val_x=_nan_images()), ValueError, r"NaN", id="MNISTData-nan-images"),
    pytest.param(lambda _: _data(test_x=_inf_images()), ValueError, r"infinite", id="MNISTData-inf-images"),
    pytest.param(lambda tmp: load_mnist("mnist", _bad_label_data(tmp / "idx"), download=False),
                 ValueError, r"label 72.*0-9", id="load_mnist-idx-label-72"),
    pytest.param(lambda tmp: load_mnist("mnist", _bad_label_data(tmp / "idx", "t10k-labels-idx1-ubyte", 10),
                                        download=False), ValueError, r"label 10.*0-9",
                 id="load_mnist-idx-test-label-10"),
    pytest.param(lambda tmp: load_mnist("full", tmp), ValueError, r"unknown data 'full'.*'offline', 'mnist'",
                 id="load_mnist-data-full"),
]


@pytest.mark.parametrize("call,error,pattern", API_CASES)
def test_bad_api_input_is_refused_by_name(tmp_path, call, error, pattern):
    with pytest.raises(error, match=pattern):
        call(tmp_path)


# ---------------------------------------------------------------------- masks in models


def test_load_state_dict_zeroes_weights_under_mask_zero():
    """``load_state_dict`` kept non-zero weights where the mask was 0."""
    generator = torch.Generator().manual_seed(1)
    state = {k: v.clone() for k, v in LeNet300100(seed=0).state_dict().items()}
    masks = {name: torch.rand(shape, generator=generator) > 0.3 for name, shape in LAYER_SHAPES.items()}
    for name in masks:
        state[f"{name}.weight"] = torch.randn(LAYER_SHAPES[name], generator=generator) + 10.0  # nowhere zero
    state["fc1.mask"] = masks["fc1"].float()  # 0/1 floats
    state["fc2.mask"] = masks["fc2"]          # bools
    state["fc3.mask"] = masks["fc3"].double()
    model = LeNet300100()
    model.load_state_dict(state)
    for name, mask in masks.items():
        weight = getattr(model, name).weight.detach()
        assert torch.all(weight[~mask] == 0.0), name
        assert torch.equal(weight[mask], state[f"{name}.weight"][mask]), name
        assert torch.equal(model.masks()[name], mask)


def test_refused_load_state_dict_leaves_the_model_unchanged():
    model = LeNet300100(seed=0)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    state = _state_with_mask(0.5)
    state["fc1.weight"] = state["fc1.weight"] + 1.0
    with pytest.raises(ValueError):
        model.load_state_dict(state)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_refused_set_masks_leaves_the_model_unchanged():
    """A mask dict with one bad mask is refused whole: no layer is pruned by the good ones."""
    model = LeNet300100(seed=0)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    good = torch.rand(LAYER_SHAPES["fc1"], generator=torch.Generator().manual_seed(0)) > 0.5
    with pytest.raises(ValueError, match=r"0\.5"):
        model.set_masks({"fc1": good, "fc2": _mask(0.5, "fc2")})
    changed = [k for k, v in model.state_dict().items() if not torch.equal(before[k], v)]
    assert changed == [], f"a refused set_masks changed {changed}"
