"""Real processes on one results folder: concurrent identical runs, and Ctrl-C.

Two ``python -m lth_helpers imp`` processes started together on the same ``--out`` must both
succeed and leave a store that reads back cleanly, with exactly a single run's numbers. A run
interrupted with SIGINT must exit 130 saying where its work is, leave no temporary file, and
resume to exactly a single uninterrupted run's numbers.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pytest

from lth_helpers.data import load_mnist
from lth_helpers.imp import make_config, run_imp
from lth_helpers.store import CorruptResultWarning

from conftest import write_fake_mnist

pytestmark = pytest.mark.skipif(os.name != "posix", reason="uses POSIX signals and process groups")

REPO = Path(__file__).resolve().parents[1]
STRATEGIES = "original,reinit,random_mask"
TINY = ["--size", "quick", "--iterations", "20", "--eval-every", "10", "--rounds", "1"]
LONGER = ["--size", "quick", "--iterations", "100", "--eval-every", "50", "--rounds", "3"]
TIMEOUT = 300


@pytest.fixture(scope="module")
def fake_data(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("idx")
    write_fake_mnist(folder)
    return folder


def _env() -> dict[str, str]:
    path = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)
    # One thread everywhere: the same arithmetic in every process, and light on a shared machine.
    return dict(os.environ, PYTHONPATH=path, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONUNBUFFERED="1")


def _command(data: Path, out: Path, schedule: list[str]) -> list[str]:
    return [sys.executable, "-m", "lth_helpers", "imp", *schedule, "--strategies", STRATEGIES, "--seeds", "1",
            "--device", "cpu", "--no-progress", "--data", "mnist", "--data-dir", str(data), "--out", str(out)]


def _default_sigint() -> None:
    """In the child: Ctrl-C behaves as in a terminal even if this test runs with SIGINT ignored."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _start(data: Path, out: Path, schedule: list[str]) -> subprocess.Popen:
    return subprocess.Popen(_command(data, out, schedule), cwd=REPO, env=_env(), text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=_default_sigint)


def _finish(process: subprocess.Popen) -> tuple[int, str, str]:
    try:
        stdout, stderr = process.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        stdout, stderr = process.communicate()
        pytest.fail(f"the command did not finish in {TIMEOUT} s:\n{stdout}\n{stderr}")
    return process.returncode, stdout, stderr


def _run(data: Path, out: Path, schedule: list[str]) -> tuple[str, str]:
    code, stdout, stderr = _finish(_start(data, out, schedule))
    assert code == 0, f"exit code {code}:\n{stdout}\n{stderr}"
    assert "Traceback" not in stderr, stderr
    return stdout, stderr


def _counts(stdout: str) -> tuple[int, int]:
    found = re.search(r"IMP: (\d+) network\(s\) trained, (\d+) reused", stdout)
    assert found, stdout
    return int(found[1]), int(found[2])


def _records(out: Path) -> list[dict]:
    return json.loads((out / "results.json").read_text())


def _store_files(out: Path) -> dict[str, bytes]:
    runs = out / "runs"
    return {str(p.relative_to(runs)): p.read_bytes() for p in sorted(runs.rglob("*")) if p.is_file()}


def _temporaries(out: Path) -> list[str]:
    return [str(p) for p in out.rglob("*.tmp")] + [str(p) for p in out.rglob(".write-test*")]


def _reload(data: Path, out: Path, schedule: list[str]):
    """The store read back in this process: every entry must be served, none recomputed."""
    values = dict(zip(schedule[::2], schedule[1::2]))
    config = make_config(values["--size"], STRATEGIES, 1, iterations=int(values["--iterations"]),
                         eval_every=int(values["--eval-every"]), rounds=int(values["--rounds"]))
    with warnings.catch_warnings():
        warnings.simplefilter("error", CorruptResultWarning)
        return run_imp(config, load_mnist("mnist", data, download=False), out / "runs", progress=False,
                       device="cpu", verbose=False)


# ------------------------------------------------------------------------------ concurrency


def test_two_identical_runs_at_once_share_one_store(fake_data, tmp_path):
    fresh = tmp_path / "fresh"
    _run(fake_data, fresh, TINY)

    shared = tmp_path / "shared"
    first, second = _start(fake_data, shared, TINY), _start(fake_data, shared, TINY)
    results = [_finish(first), _finish(second)]
    for code, stdout, stderr in results:
        assert code == 0, f"exit code {code}:\n{stdout}\n{stderr}"
        assert "Traceback" not in stderr, stderr
        assert sum(_counts(stdout)) == 4  # each saw every network, trained or reused

    assert _records(shared) == _records(fresh)
    assert _temporaries(shared) == []
    # The two writers did not mix their files: the store is byte for byte a single run's.
    assert _store_files(shared) == _store_files(fresh)
    # And it reads back with no warning and nothing to recompute.
    again = _reload(fake_data, shared, TINY)
    assert (again.computed, again.reused) == (0, 4)
    assert again.records == _records(fresh)


# ---------------------------------------------------------------------------------- SIGINT


def _wait_for(pattern: str, folder: Path, process: subprocess.Popen, timeout: float = TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not list(folder.glob(pattern)):
        if process.poll() is not None:
            stdout, stderr = process.communicate()
            pytest.fail(f"the run ended (exit code {process.returncode}) before {pattern} appeared:\n"
                        f"{stdout}\n{stderr}")
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"{pattern} did not appear in {timeout} s")
        time.sleep(0.02)


def test_sigint_says_where_the_work_is_and_the_run_resumes_exactly(fake_data, tmp_path):
    out = tmp_path / "out"
    process = _start(fake_data, out, LONGER)
    _wait_for("runs/*/seed_0/round_00/original.json", out, process)
    process.send_signal(signal.SIGINT)
    code, stdout, stderr = _finish(process)
    assert code == 130, f"exit code {code}:\n{stdout}\n{stderr}"
    assert "Traceback" not in stderr, stderr
    assert "saved in" in stderr and str(out / "runs") in stderr, stderr
    assert not (out / "results.json").exists()  # it did stop before the end
    assert _temporaries(out) == []

    stdout, _ = _run(fake_data, out, LONGER)
    computed, reused = _counts(stdout)
    assert reused >= 1 and computed + reused == 1 + 3 * 3

    fresh = tmp_path / "fresh"
    _run(fake_data, fresh, LONGER)
    assert _records(out) == _records(fresh)
    assert _store_files(out) == _store_files(fresh)
