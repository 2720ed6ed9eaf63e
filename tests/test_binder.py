"""Launching the companion elsewhere: Binder (binder/), Colab (badges and the install cell).

Binder builds the image with repo2docker from ``binder/``: ``requirements.txt`` must bring
CPU-only PyTorch from the CPU wheel index and name no local path (a local path makes every
rebuild reinstall PyTorch), ``runtime.txt`` pins Python, and ``postBuild`` installs the package
and fetches MNIST at build time. The README and every notebook carry their launch badges, and
every notebook's first code cell installs the package on Colab and does nothing elsewhere.
"""
from __future__ import annotations

import ast
import importlib.util
import inspect
import os
import re
import stat
import subprocess
import sys
import tomllib
import types
from pathlib import Path
from urllib.parse import unquote

import nbformat
import numpy as np
import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

from lth_helpers.data import write_idx
from lth_helpers.notebook import setup

ROOT = Path(__file__).resolve().parents[1]
BINDER = ROOT / "binder"
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
FIRST_NOTEBOOK = ROOT / "notebooks" / "01_pruning_basics.ipynb"
README = ROOT / "README.md"

CPU_INDEX = "https://download.pytorch.org/whl/cpu"
REPOSITORY = "lth-companion/lottery-ticket-companion"
BRANCH = "main"
# In requirements.txt for testing and building the site; a Binder reader needs none of them.
TOOLS_NOT_IN_BINDER = {"pytest", "nbval", "playwright", "jupyter-book"}


def _load_add_badges():
    spec = importlib.util.spec_from_file_location("add_badges", ROOT / "tools" / "add_badges.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


add_badges = _load_add_badges()


# --------------------------------------------------------------------- requirements files


def requirement_lines(path: Path) -> list[str]:
    """Non-empty lines of a requirements file, comments stripped."""
    lines = []
    for raw in path.read_text().splitlines():
        line = raw.split(" #", 1)[0].strip() if not raw.lstrip().startswith("#") else ""
        if line:
            lines.append(line)
    return lines


def requirements(path: Path) -> dict[str, Requirement]:
    """The package requirements of a file (options and local paths left out), by name."""
    found = {}
    for line in requirement_lines(path):
        if line.startswith("-") or line.startswith(".") or line.startswith("/"):
            continue
        req = Requirement(line)
        found[canonicalize_name(req.name)] = req
    return found


def pinned_version(req: Requirement) -> Version:
    """The version of an ``==`` pin (the only specifier allowed for torch and torchvision)."""
    specs = list(req.specifier)
    assert len(specs) == 1 and specs[0].operator == "==", f"{req} is not pinned with =="
    return Version(specs[0].version)


def test_binder_requirements_use_the_cpu_wheel_index() -> None:
    lines = requirement_lines(BINDER / "requirements.txt")
    assert f"--extra-index-url {CPU_INDEX}" in lines
    # An --index-url would replace PyPI, where everything but PyTorch comes from.
    assert not any(line.startswith(("--index-url", "-i ")) for line in lines), lines


@pytest.mark.parametrize("name", ["torch", "torchvision"])
def test_binder_pins_cpu_builds_of_pytorch(name: str) -> None:
    req = requirements(BINDER / "requirements.txt")[name]
    version = pinned_version(req)
    # "+cpu" can only be served by the CPU index; a plain pin would also match the CUDA build.
    assert version.local == "cpu", f"{req}: pin the CPU build, e.g. {name}=={version.public}+cpu"


def test_binder_torch_and_torchvision_belong_together() -> None:
    reqs = requirements(BINDER / "requirements.txt")
    torch, vision = pinned_version(reqs["torch"]), pinned_version(reqs["torchvision"])
    # Each torchvision release is built against one torch release: 0.(m+15) goes with 2.m.
    assert torch.major == 2 and vision.major == 0 and vision.minor == torch.minor + 15, (
        f"torch {torch} and torchvision {vision} are not a matching pair")


def test_binder_requirements_name_no_local_path() -> None:
    for line in requirement_lines(BINDER / "requirements.txt"):
        target = line.split(None, 1)[1] if line.startswith(("-e", "--editable")) else line
        assert not line.startswith(("-e", "--editable", "-r", "--requirement", "-c")), line
        assert not target.startswith((".", "/", "file:")), f"local reference: {line}"
        assert " @ file:" not in line, f"local reference: {line}"


def test_binder_requirements_match_the_main_ones() -> None:
    binder = requirements(BINDER / "requirements.txt")
    main = requirements(ROOT / "requirements.txt")
    expected = set(main) - TOOLS_NOT_IN_BINDER
    assert set(binder) == expected, (
        f"only in binder/: {sorted(set(binder) - expected)}; "
        f"missing from binder/: {sorted(expected - set(binder))}")
    for name, req in binder.items():
        allowed = main[name].specifier
        pins = [spec for spec in req.specifier if spec.operator == "=="]
        if pins:
            version = Version(pins[0].version)
            assert allowed.contains(version, prereleases=True), f"binder {req} outside main {main[name]}"
        else:
            assert req.specifier == allowed, f"binder {req} differs from main {main[name]}"


def test_binder_requirements_cover_the_package_dependencies() -> None:
    # postBuild installs the package with --no-deps: binder/requirements.txt must bring them all.
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    binder = requirements(BINDER / "requirements.txt")
    for line in project["dependencies"]:
        dep = Requirement(line)
        name = canonicalize_name(dep.name)
        assert name in binder, f"package dependency {dep} is missing from binder/requirements.txt"
        pins = [spec for spec in binder[name].specifier if spec.operator == "=="]
        if pins:
            assert dep.specifier.contains(Version(pins[0].version), prereleases=True), (
                f"binder pins {binder[name]} but the package needs {dep}")


def test_runtime_pins_a_python_the_package_supports() -> None:
    text = (BINDER / "runtime.txt").read_text().strip()
    match = re.fullmatch(r"python-(3\.\d+)", text)
    assert match, f"runtime.txt should read like 'python-3.11', got {text!r}"
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert SpecifierSet(project["requires-python"]).contains(match.group(1) + ".0")


# ----------------------------------------------------------------------------- postBuild


POST_BUILD = BINDER / "postBuild"


def test_post_build_is_an_executable_script_that_stops_on_error() -> None:
    assert POST_BUILD.stat().st_mode & stat.S_IXUSR, "postBuild must be executable (chmod +x)"
    lines = POST_BUILD.read_text().splitlines()
    assert re.fullmatch(r"#!\s*(/bin/bash|/usr/bin/env bash|/bin/sh)", lines[0]), lines[0]
    commands = [line.strip() for line in lines[1:] if line.strip() and not line.lstrip().startswith("#")]
    assert re.fullmatch(r"set -e\w*( .*)?", commands[0]), f"first command should be 'set -e': {commands[0]}"
    subprocess.run(["bash", "-n", str(POST_BUILD)], check=True)


def test_post_build_installs_the_package_and_fetches_mnist() -> None:
    text = POST_BUILD.read_text()
    install = re.search(r"pip install\b[^\n]*--no-deps[^\n]*\s(-e\s+)?\.(\s|$)", text)
    assert install, "postBuild should run 'pip install --no-deps -e .' (or '.')"
    fetch = re.search(r"load_mnist\(\s*['\"]mnist['\"]\s*,\s*['\"]notebooks/data['\"]\s*\)", text)
    assert fetch, "postBuild should call load_mnist('mnist', 'notebooks/data') (full MNIST, downloaded)"
    assert "download=False" not in fetch.group(0)
    assert text.index(install.group(0)) < text.index(fetch.group(0)), "install before download"


def _fake_python(tmp_path: Path, pip_status: int) -> tuple[dict, Path]:
    """A PATH whose ``python``/``pip`` log their arguments; pip exits ``pip_status`` without
    installing anything, any other python command runs for real."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "calls.log"
    shim = (
        "#!/bin/bash\n"
        f'echo "$(basename "$0") $*" >> "{log}"\n'
        'if [ "$(basename "$0")" = pip ] || { [ "$1" = -m ] && [ "$2" = pip ]; }; then\n'
        f"  exit {pip_status}\n"
        "fi\n"
        f'exec "{sys.executable}" "$@"\n'
    )
    for name in ("python", "python3", "pip"):
        (bin_dir / name).write_text(shim)
        (bin_dir / name).chmod(0o755)
    env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return env, log


def _write_small_mnist(folder: Path) -> None:
    """A tiny but well-formed MNIST in IDX format: 24 training and 5 test images per digit."""
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for prefix, per_class in (("train", 24), ("t10k", 5)):
        labels = np.repeat(np.arange(10, dtype=np.uint8), per_class)
        images = rng.integers(0, 256, size=(len(labels), 28, 28), dtype=np.uint8)
        write_idx(folder / f"{prefix}-images-idx3-ubyte", images)
        write_idx(folder / f"{prefix}-labels-idx1-ubyte", labels)


def test_post_build_runs_from_the_repository_root(tmp_path: Path) -> None:
    # repo2docker runs postBuild in the repository root. Run it in a stand-in root whose
    # notebooks/data already holds (tiny) MNIST: pip is faked, the data command runs for real.
    root = tmp_path / "repo"
    _write_small_mnist(root / "notebooks" / "data" / "MNIST" / "raw")
    env, log = _fake_python(tmp_path, pip_status=0)
    result = subprocess.run(["bash", str(POST_BUILD)], cwd=root, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    calls = log.read_text().splitlines()
    assert any("pip install" in call and "--no-deps" in call for call in calls), calls
    assert any("load_mnist" in call for call in calls), calls
    # The notebooks run in notebooks/ and read data/ there: the folder postBuild fills.
    assert inspect.signature(setup).parameters["data_dir"].default == "data"


def test_post_build_fails_when_mnist_cannot_be_downloaded(tmp_path: Path) -> None:
    # No MNIST in notebooks/data and a download that fails (patched at interpreter start-up, as
    # no network would): the build must fail, naming the problem, not ship an image without MNIST.
    root = tmp_path / "repo"
    (root / "notebooks").mkdir(parents=True)
    env, log = _fake_python(tmp_path, pip_status=0)
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(
        "import lth_helpers.data\n"
        "def _refuse(root):\n"
        "    raise RuntimeError('network unavailable (test)')\n"
        "lth_helpers.data._download_with_torchvision = _refuse\n"
    )
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(hook), env.get("PYTHONPATH")]))
    result = subprocess.run(["bash", str(POST_BUILD)], cwd=root, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode != 0, result.stdout + result.stderr
    assert "MNISTNotFoundError" in result.stderr and "could not be downloaded" in result.stderr, result.stderr
    assert any("load_mnist" in call for call in log.read_text().splitlines())


def test_post_build_stops_when_a_step_fails(tmp_path: Path) -> None:
    env, log = _fake_python(tmp_path, pip_status=3)
    result = subprocess.run(["bash", str(POST_BUILD)], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0, "a failed pip install must fail the image build"
    assert not any("load_mnist" in call for call in log.read_text().splitlines())


# --------------------------------------------------------------------------------- badges


def readme_problems(text: str, notebooks: list[Path]) -> list[str]:
    """What the README lacks: a Binder badge opening the first notebook in JupyterLab, and a
    Colab and a Binder link for every notebook."""
    problems = []
    names = [nb.relative_to(ROOT).as_posix() for nb in notebooks]
    binder_badges = re.findall(
        r"\[!\[[^\]]*\]\(https://mybinder\.org/badge_logo\.svg\)\]\((https://mybinder\.org/v2/gh/[^)\s]+)\)",
        text)
    if not binder_badges:
        problems.append("no Binder badge ([![Binder](https://mybinder.org/badge_logo.svg)](...))")
    for url in binder_badges + re.findall(r"https://mybinder\.org/v2/gh/[^)\s\"'>]+", text):
        prefix = f"https://mybinder.org/v2/gh/{REPOSITORY}/{BRANCH}"
        if not url.startswith(prefix):
            problems.append(f"Binder link not for {REPOSITORY}@{BRANCH}: {url}")
        match = re.search(r"[?&]labpath=([^&]+)", url)
        if match and not (ROOT / unquote(match.group(1))).is_file():
            problems.append(f"Binder link opens a notebook that does not exist: {url}")
    first = add_badges.binder_url(FIRST_NOTEBOOK.relative_to(ROOT).as_posix())
    if first not in binder_badges:
        problems.append(f"the Binder badge should open the first notebook: {first}")
    for name in names:
        if f"[![Open In Colab]({add_badges.COLAB_BADGE_IMAGE})]({add_badges.colab_url(name)})" not in text:
            problems.append(f"no Colab badge for {name}")
        if add_badges.binder_url(name) not in text:
            problems.append(f"no Binder link for {name}")
    return problems


def test_readme_has_launch_badges() -> None:
    assert FIRST_NOTEBOOK.is_file(), f"{FIRST_NOTEBOOK} is missing"
    assert README.is_file(), "README.md is missing"
    problems = readme_problems(README.read_text(), NOTEBOOKS)
    assert not problems, "\n".join(problems)


def test_readme_check_catches_missing_badges() -> None:
    # The checker itself: a README without badges, or with one for a missing notebook, fails.
    assert readme_problems("# title\n", NOTEBOOKS)
    bogus = "[![Binder](https://mybinder.org/badge_logo.svg)](" + \
        add_badges.binder_url("notebooks/99_missing.ipynb") + ")"
    assert any("does not exist" in p for p in readme_problems(bogus, []))


def test_badge_line_is_idempotent_and_per_notebook() -> None:
    source = "# Title\n\n<!-- badges -->\n\nGoals."
    once = add_badges.add_badges(source, "notebooks/01_a.ipynb")
    assert "<!-- badges -->" not in once
    assert add_badges.colab_url("notebooks/01_a.ipynb") in once
    assert add_badges.binder_url("notebooks/01_a.ipynb") in once
    assert add_badges.add_badges(once, "notebooks/01_a.ipynb") == once
    # A renamed notebook gets its own links in place of the old ones.
    renamed = add_badges.add_badges(once, "notebooks/02_b.ipynb")
    assert "01_a" not in renamed and renamed.count("Open In Colab") == 1
    assert add_badges.add_badges("no marker here", "notebooks/01_a.ipynb") == "no marker here"
    with pytest.raises(ValueError, match="relative path"):
        add_badges.colab_url("/abs/01_a.ipynb")


def test_add_badges_rewrites_a_notebook_once(tmp_path: Path, monkeypatch) -> None:
    folder = tmp_path / "notebooks"
    folder.mkdir()
    path = folder / "03_x.ipynb"
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# Three\n<!-- badges -->\ntext"),
        nbformat.v4.new_code_cell("1 + 1"),
    ])
    nbformat.write(nb, path)
    monkeypatch.setattr(add_badges, "ROOT", tmp_path)
    assert add_badges.process(path) is True
    first = path.read_bytes()
    assert add_badges.colab_url("notebooks/03_x.ipynb") in nbformat.read(path, 4).cells[0].source
    assert add_badges.process(path) is False and path.read_bytes() == first
    assert add_badges.main(["--check", str(path)]) == 0


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_carries_its_own_badges(notebook: Path) -> None:
    nb = nbformat.read(notebook, as_version=4)
    first_markdown = next(cell for cell in nb.cells if cell.cell_type == "markdown")
    name = notebook.relative_to(ROOT).as_posix()
    assert add_badges.MARKER not in first_markdown.source, (
        f"{name}: the badges marker is still there: run python tools/add_badges.py")
    colab_links = re.findall(r"https://colab\.research\.google\.com/github/[^)\s]+", first_markdown.source)
    assert colab_links, f"{name}: no Open in Colab badge in the first markdown cell"
    assert set(colab_links) == {add_badges.colab_url(name)}, f"{name}: badge of another notebook"
    assert add_badges.binder_url(name) in first_markdown.source


# ------------------------------------------------------------------------ the Colab cell


class _RecordingShell:
    """Stands in for IPython's shell: records ``!command`` lines instead of running them."""

    def __init__(self) -> None:
        self.commands: list[str] = []

    def system(self, command: str) -> None:
        self.commands.append(command)


def _run_colab_cell(source: str, on_colab: bool, monkeypatch) -> list[str]:
    """Run the cell as IPython would, with or without a ``google.colab`` module loaded."""
    from IPython.core.inputtransformer2 import TransformerManager

    python = TransformerManager().transform_cell(source)
    shell = _RecordingShell()
    if on_colab:
        monkeypatch.setitem(sys.modules, "google", types.ModuleType("google"))
        monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    else:
        monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    exec(compile(python, "<colab cell>", "exec"), {"get_ipython": lambda: shell})
    return shell.commands


def _first_code_cell(notebook: Path) -> str:
    nb = nbformat.read(notebook, as_version=4)
    return next(cell for cell in nb.cells if cell.cell_type == "code").source


def _check_colab_cell(source: str, monkeypatch) -> None:
    # Structure: nothing but `import sys` and one `if "google.colab" in sys.modules:` block.
    from IPython.core.inputtransformer2 import TransformerManager

    tree = ast.parse(TransformerManager().transform_cell(source))
    guards = [node for node in tree.body if isinstance(node, ast.If)]
    others = [node for node in tree.body if not isinstance(node, ast.If)]
    assert len(guards) == 1 and not guards[0].orelse, "expected one `if` without `else`"
    assert ast.unparse(guards[0].test) in ("'google.colab' in sys.modules",), ast.unparse(guards[0].test)
    assert all(isinstance(node, ast.Import) and [a.name for a in node.names] == ["sys"]
               for node in others), "only `import sys` may stand outside the Colab guard"
    # Behaviour: silent here, installs the package on Colab.
    assert _run_colab_cell(source, on_colab=False, monkeypatch=monkeypatch) == []
    commands = _run_colab_cell(source, on_colab=True, monkeypatch=monkeypatch)
    assert len(commands) == 1 and commands[0].startswith("pip install"), commands
    # Colab's own PyTorch and widget packages are left alone: nothing else is resolved.
    assert "--no-deps" in commands[0] and "-U" not in commands[0].split(), commands[0]
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["name"] in commands[0] and f"github.com/{REPOSITORY}" in commands[0], commands[0]


COLAB_CELL = (
    "# On Colab, install the companion's package first (this does nothing anywhere else).\n"
    "import sys\n"
    'if "google.colab" in sys.modules:\n'
    '    !pip install -q --no-deps "lth-helpers @ git+https://github.com/lth-companion/lottery-ticket-companion" mlxtend'
)


def test_colab_cell_check_accepts_the_convention_and_rejects_unguarded_installs(monkeypatch) -> None:
    _check_colab_cell(COLAB_CELL, monkeypatch)
    unguarded = "import sys\n!pip install -q lth-helpers"
    with pytest.raises(AssertionError):
        _check_colab_cell(unguarded, monkeypatch)


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
def test_first_code_cell_installs_only_on_colab(notebook: Path, monkeypatch) -> None:
    _check_colab_cell(_first_code_cell(notebook), monkeypatch)


def test_readme_block_of_the_badge_tool_passes_the_readme_check() -> None:
    # `python tools/add_badges.py --readme` prints what the README needs.
    block = add_badges.readme_block(NOTEBOOKS)
    assert not readme_problems(block, NOTEBOOKS), readme_problems(block, NOTEBOOKS)
    with pytest.raises(ValueError, match="no notebooks"):
        add_badges.readme_block([])
