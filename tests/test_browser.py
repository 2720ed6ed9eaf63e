"""The companion's widgets work in a real browser: the app in Voila, notebook 1 in Voila and JupyterLab.

Debian's headless Chromium, driven by Playwright, opens each page on localhost (hermetic: every
request to anywhere else is blocked), moves the "prune rate" slider with the keyboard, exactly as
a reader would, and checks that the accuracy text and the figure change, that no widget is left
as "Error displaying widget", and that the console shows no errors. It prints the time to the
first interactive slider (the app, which reads a snapshot, must show it within seconds) and
keeps screenshots in ``test-artifacts/``. Notebooks run at quick size (``LTH_QUICK=1``).

Outside CI the tests are skipped, with the reason, when Chromium, Playwright, Voila or JupyterLab
is missing. In CI (``CI`` set) a missing Chromium is an error: ``.ci/run`` installs it.
"""
from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
# LTH_BROWSER_NOTEBOOK lets a developer point the harness at another slider notebook.
NOTEBOOK = Path(os.environ.get("LTH_BROWSER_NOTEBOOK", ROOT / "notebooks" / "01_pruning_basics.ipynb"))
ARTIFACTS = ROOT / "test-artifacts"
SLIDER_LABEL = "prune rate"

# The notebook trains a small network before the slider appears: be generous.
RENDER_TIMEOUT_S = 180
# After a slider move the widget recomputes masks and accuracy (no retraining).
UPDATE_TIMEOUT_S = 60

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-dev-shm-usage",  # /dev/shm is small in containers
]


def find_chromium() -> str | None:
    """Path of a Chromium binary (Debian's first), or None when there is none."""
    for candidate in ("/usr/bin/chromium", "/usr/bin/chromium-browser"):
        if os.access(candidate, os.X_OK):
            return candidate
    return shutil.which("chromium") or shutil.which("chromium-browser")


def chromium_or_skip() -> str:
    """Chromium's path; without one, skip (outside CI) or fail (in CI, where .ci/run installs it)."""
    chromium = find_chromium()
    if chromium is None:
        reason = "no Chromium found (/usr/bin/chromium or on PATH): apt-get install chromium"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return chromium


def open_browser(pw, chromium: str, profile: Path, allowed: str):
    """A headless Chromium context with a fresh profile that may only talk to ``allowed`` (a URL
    prefix): badge images and CDNs would otherwise hold up the page offline. Returns
    ``(context, page, console_errors, page_errors)``; the two lists fill as the page runs."""
    context = pw.chromium.launch_persistent_context(
        user_data_dir=str(profile), executable_path=chromium, headless=True, args=CHROMIUM_ARGS,
        viewport={"width": 1280, "height": 1400})
    context.route("**/*", lambda route: route.continue_()
                  if route.request.url.startswith((allowed, "data:", "blob:", "ws:")) else route.abort())
    page = context.pages[0] if context.pages else context.new_page()
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text) if message.type == "error" else None)
    page_errors: list[str] = []
    page.on("pageerror", lambda error: page_errors.append(str(error)))
    return context, page, console, page_errors


def move_slider(page, slider) -> tuple[dict, dict]:
    """Press the right arrow five times on ``slider``'s handle, as a reader would; wait until the
    figure and the accuracy text next to it change and settle. Returns the states before and after."""
    page.evaluate(f"window.__lthSliderState = {_STATE_JS}")
    before = _read_state(page)
    slider.locator(".noUi-handle").focus()
    for _ in range(5):
        page.keyboard.press("ArrowRight")
        page.wait_for_timeout(150)
    page.wait_for_function(
        """([label, before]) => { const s = window.__lthSliderState(label);
             return !s.error && s.img !== before.img && s.accuracy !== before.accuracy; }""",
        arg=[SLIDER_LABEL, before], timeout=UPDATE_TIMEOUT_S * 1000)
    return before, _settled_state(page)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen, timeout_s: float) -> None:
    """Block until something accepts connections on ``port`` (without requesting a page:
    a request to Voila's root would start executing the notebook)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited early with code {process.returncode}")
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.settimeout(1.0)
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.25)
    raise TimeoutError(f"voila did not listen on port {port} within {timeout_s:.0f} s")


def stop_server(process: subprocess.Popen) -> None:
    """Stop a server started in its own session, with everything it started (its kernels)."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=15)


@contextmanager
def voila_server(notebook: Path, workdir: Path) -> Iterator[tuple[str, Path]]:
    """Run Voila on ``notebook`` at quick size; yield (page URL, log file)."""
    port = free_port()
    token = secrets.token_hex(16)
    env = dict(os.environ)
    env.update(
        LTH_QUICK="1",
        JUPYTER_CONFIG_DIR=str(workdir / "jupyter-config"),
        JUPYTER_RUNTIME_DIR=str(workdir / "jupyter-runtime"),
        IPYTHONDIR=str(workdir / "ipython"),
        PYTHONUNBUFFERED="1",
    )
    # CI exports MPLBACKEND=Agg; the kernel must use the inline backend so that the figure
    # reaches the widget's output area as an image (ipykernel picks it when this is unset).
    env.pop("MPLBACKEND", None)
    log_path = workdir / "voila.log"
    command = [
        sys.executable, "-m", "voila", str(notebook),
        "--no-browser", f"--port={port}", "--Voila.ip=127.0.0.1", f"--Voila.token={token}",
        "--show_tracebacks=True",
    ]
    with open(log_path, "w") as log:
        # Its own session, so the kernel Voila starts is stopped together with it.
        process = subprocess.Popen(
            command, cwd=notebook.parent, env=env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            wait_for_port(port, process, timeout_s=60)
            yield f"http://127.0.0.1:{port}/?token={token}", log_path
        finally:
            stop_server(process)


# Runs in the page: the state a reader sees in the widget that holds the slider.
_STATE_JS = """
(label) => {
  const sliders = [...document.querySelectorAll('.widget-slider')].filter(
    s => [...s.querySelectorAll('.widget-label')].some(l => l.textContent.trim() === label));
  if (sliders.length !== 1) return {error: `found ${sliders.length} sliders labelled ${label}`};
  const slider = sliders[0];
  // The explorer is the nearest enclosing box that also holds an output area with a figure.
  let box = slider.parentElement;
  while (box && !box.querySelector('.widget-output img')) box = box.parentElement;
  if (!box) return {error: 'no figure in an output area next to the slider'};
  const img = box.querySelector('.widget-output img');
  const readout = slider.querySelector('.widget-readout');
  // Accuracy text: visible text lines of the box outside the slider that mention accuracy.
  const lines = [];
  for (const el of box.querySelectorAll('.widget-html, .widget-label, .widget-text, .widget-output')) {
    if (slider.contains(el)) continue;
    for (const line of el.innerText.split('\\n')) {
      if (/accura/i.test(line) && !lines.includes(line.trim())) lines.push(line.trim());
    }
  }
  return {
    value: readout ? readout.textContent.trim() : null,
    img: img.getAttribute('src') || '',
    imgCount: box.querySelectorAll('.widget-output img').length,
    accuracy: lines.join(' | '),
  };
}
"""


def _read_state(page) -> dict:
    state = page.evaluate("label => window.__lthSliderState(label)", SLIDER_LABEL)
    assert "error" not in state, state.get("error")
    return state


def test_prune_rate_slider_in_real_browser(tmp_path: Path) -> None:
    chromium = chromium_or_skip()
    sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed")
    pytest.importorskip("voila", reason="Voila is not installed")
    assert NOTEBOOK.is_file(), f"{NOTEBOOK} does not exist"
    ARTIFACTS.mkdir(exist_ok=True)

    with voila_server(NOTEBOOK, tmp_path) as (url, log_path), sync_api.sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            user_data_dir=str(tmp_path / "chromium-profile"),
            executable_path=chromium,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1280, "height": 1400},
        )
        try:
            # Hermetic: the page may only talk to the local Voila (badge images and CDNs in
            # the notebook's markdown would otherwise hold up the page's load event offline).
            local = url.split("?", 1)[0]  # http://127.0.0.1:PORT/
            context.route("**/*", lambda route: route.continue_()
                          if route.request.url.startswith((local, "data:", "blob:")) else route.abort())
            page = context.pages[0] if context.pages else context.new_page()
            page_errors: list[str] = []
            page.on("pageerror", lambda error: page_errors.append(str(error)))
            console: list[str] = []
            page.on("console", lambda message: console.append(message.text) if message.type == "error" else None)

            def diagnose() -> str:
                page.screenshot(path=str(ARTIFACTS / "browser-slider-failure.png"), full_page=True)
                log_tail = log_path.read_text(errors="replace")[-3000:]
                return f"page errors: {page_errors}\n--- voila log (tail) ---\n{log_tail}"

            # Voila streams the page while the kernel runs the notebook: the page has loaded
            # once every cell has run, so no later cell competes with the slider's updates.
            start = time.monotonic()
            slider = page.locator(".widget-slider").filter(
                has=page.locator(".widget-label", has_text=SLIDER_LABEL))
            try:
                page.goto(url, wait_until="load", timeout=RENDER_TIMEOUT_S * 1000)
                slider.wait_for(state="visible", timeout=UPDATE_TIMEOUT_S * 1000)
                page.wait_for_function(
                    "() => document.querySelector('.widget-output img') !== null",
                    timeout=UPDATE_TIMEOUT_S * 1000)
            except sync_api.TimeoutError:
                pytest.fail(f"the '{SLIDER_LABEL}' slider and its figure never appeared\n{diagnose()}")

            print(f"notebook executed and rendered in {time.monotonic() - start:.1f} s")
            slider.scroll_into_view_if_needed()
            page.evaluate(f"window.__lthSliderState = {_STATE_JS}")
            before = _read_state(page)
            assert before["accuracy"], f"no accuracy text next to the slider: {before}\n{diagnose()}"
            page.screenshot(path=str(ARTIFACTS / "browser-slider-before.png"), full_page=True)

            # A reader's move: focus the handle, press the right arrow a few times.
            handle = slider.locator(".noUi-handle")
            handle.focus()
            start = time.monotonic()
            for _ in range(5):
                page.keyboard.press("ArrowRight")
                page.wait_for_timeout(150)

            try:
                page.wait_for_function(
                    """([label, before]) => {
                         const state = window.__lthSliderState(label);
                         return !state.error && state.value !== before.value
                           && state.img !== before.img && state.accuracy !== before.accuracy
                           && state.accuracy !== '';
                       }""",
                    arg=[SLIDER_LABEL, before],
                    timeout=UPDATE_TIMEOUT_S * 1000,
                )
            except sync_api.TimeoutError:
                pytest.fail(f"slider moved but the widget did not update: before={_summary(before)} "
                            f"after={_summary(_read_state(page))}\n{diagnose()}")
            # Each key press is one update; let the last one land before looking.
            after = _settled_state(page)
            print(f"widget updated and settled {time.monotonic() - start:.1f} s after the key presses")
            slider.scroll_into_view_if_needed()
            page.screenshot(path=str(ARTIFACTS / "browser-slider.png"), full_page=True)
            text = page.inner_text("body")
        finally:
            context.close()

    # Progress bars and widgets all render: none is left as an error message.
    assert _ERROR_WIDGET_TEXT not in text
    assert not _console_errors(console), f"console errors: {_console_errors(console)}"

    # Right arrow moves the handle up: the readout shows a larger prune rate.
    assert float(after["value"]) > float(before["value"]), (before["value"], after["value"])
    assert after["accuracy"] != before["accuracy"]
    assert after["img"] != before["img"] and after["img"].startswith("data:image/")
    assert not page_errors, f"JavaScript errors on the page: {page_errors}"


def _settled_state(page, quiet_ms: int = 1500) -> dict:
    """The widget state once it has stopped changing for ``quiet_ms``."""
    deadline = time.monotonic() + UPDATE_TIMEOUT_S
    state = _read_state(page)
    while time.monotonic() < deadline:
        page.wait_for_timeout(quiet_ms)
        newer = _read_state(page)
        if newer == state:
            return state
        state = newer
    raise AssertionError(f"the widget kept changing for {UPDATE_TIMEOUT_S} s: {_summary(state)}")


def _summary(state: dict) -> dict:
    """The state with the figure shortened to something printable."""
    return {**state, "img": f"{state.get('img', '')[:40]}... ({len(state.get('img', ''))} chars)"}


APP = ROOT / "app" / "explorer.ipynb"
#: The app reads a snapshot instead of training: its slider must be there within seconds.
APP_SLIDER_BUDGET_S = 10.0
_ERROR_WIDGET_TEXT = "Error displaying widget"


def _console_errors(messages: list) -> list[str]:
    """Console errors other than the external requests this hermetic test blocks on purpose."""
    return [m for m in messages if "net::ERR_FAILED" not in m and "ERR_BLOCKED" not in m]


def test_app_opens_in_seconds_with_clean_widgets(tmp_path: Path) -> None:
    chromium = chromium_or_skip()
    sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed")
    pytest.importorskip("voila", reason="Voila is not installed")
    ARTIFACTS.mkdir(exist_ok=True)

    with voila_server(APP, tmp_path) as (url, log_path), sync_api.sync_playwright() as pw:
        context, page, console, page_errors = open_browser(pw, chromium, tmp_path / "chromium-profile",
                                                           url.split("?", 1)[0])
        try:
            slider = page.locator(".widget-slider").filter(has=page.locator(".widget-label", has_text=SLIDER_LABEL))

            # Time to first interactive slider: from the request (Voila starts the kernel then)
            # until the slider and its figure are on the page.
            start = time.monotonic()
            page.goto(url, wait_until="commit", timeout=RENDER_TIMEOUT_S * 1000)
            try:
                slider.wait_for(state="visible", timeout=RENDER_TIMEOUT_S * 1000)
                page.wait_for_function("() => document.querySelector('.widget-output img') !== null",
                                       timeout=UPDATE_TIMEOUT_S * 1000)
            except sync_api.TimeoutError:
                page.screenshot(path=str(ARTIFACTS / "app-failure.png"), full_page=True)
                pytest.fail(f"the app's slider never appeared\n{log_path.read_text(errors='replace')[-3000:]}")
            first_slider_s = time.monotonic() - start
            print(f"app: first interactive slider {first_slider_s:.1f} s after the request")
            page.wait_for_load_state("load", timeout=RENDER_TIMEOUT_S * 1000)
            page.screenshot(path=str(ARTIFACTS / "app-opened.png"), full_page=True)

            before, after = move_slider(page, slider)

            # The results tab draws the run's figure.
            page.locator(".lm-TabBar-tabLabel", has_text="Tickets vs. controls").click()
            page.wait_for_function(
                "() => [...document.querySelectorAll('.lth-app-strategies')].some(b => b.offsetParent !== null)",
                timeout=UPDATE_TIMEOUT_S * 1000)
            page.screenshot(path=str(ARTIFACTS / "app-results-tab.png"), full_page=True)
            text = page.inner_text("body")
        finally:
            context.close()

    assert float(after["value"]) > float(before["value"]) and after["img"] != before["img"]
    assert _ERROR_WIDGET_TEXT not in text
    assert not page_errors, f"JavaScript errors on the page: {page_errors}"
    assert not _console_errors(console), f"console errors: {_console_errors(console)}"
    assert first_slider_s <= APP_SLIDER_BUDGET_S * (3 if os.environ.get("CI") else 1), (
        f"the app's slider took {first_slider_s:.1f} s to appear (budget {APP_SLIDER_BUDGET_S:.0f} s)")


@contextmanager
def jupyterlab_server(workdir: Path) -> Iterator[tuple[str, str, Path]]:
    """JupyterLab on localhost over ``workdir`` at quick size; yield (base URL, token, log file)."""
    port, token = free_port(), secrets.token_hex(16)
    env = dict(os.environ, LTH_QUICK="1", JUPYTER_CONFIG_DIR=str(workdir / "jupyter-config"),
               JUPYTER_RUNTIME_DIR=str(workdir / "jupyter-runtime"), IPYTHONDIR=str(workdir / "ipython"),
               PYTHONUNBUFFERED="1")
    env.pop("MPLBACKEND", None)
    log_path = workdir / "jupyterlab.log"
    command = [sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}", "--ServerApp.ip=127.0.0.1",
               f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={workdir}",
               "--LabApp.expose_app_in_browser=True", "--LabApp.news_url=None", "--LabApp.check_for_updates_class="
               "jupyterlab.NeverCheckForUpdate"] + (["--allow-root"] if os.geteuid() == 0 else [])
    with open(log_path, "w") as log:
        process = subprocess.Popen(command, cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        try:
            wait_for_port(port, process, timeout_s=60)
            yield f"http://127.0.0.1:{port}", token, log_path
        finally:
            stop_server(process)


def test_notebook_1_in_jupyterlab(tmp_path: Path) -> None:
    chromium = chromium_or_skip()
    sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed")
    pytest.importorskip("jupyterlab", reason="JupyterLab is not installed")
    ARTIFACTS.mkdir(exist_ok=True)
    work = tmp_path / "lab"
    work.mkdir()
    shutil.copy(NOTEBOOK, work / NOTEBOOK.name)  # a copy: JupyterLab autosaves what it runs

    with jupyterlab_server(work) as (base, token, log_path), sync_api.sync_playwright() as pw:
        context, page, console, _ = open_browser(pw, chromium, tmp_path / "chromium-profile", base)
        try:
            page.goto(f"{base}/lab/tree/{NOTEBOOK.name}?token={token}", wait_until="load",
                      timeout=RENDER_TIMEOUT_S * 1000)
            # The kernel is ready when JupyterLab says so; then run every cell, as a reader would.
            page.wait_for_function(
                "() => window.jupyterapp && window.jupyterapp.shell.currentWidget"
                " && window.jupyterapp.shell.currentWidget.sessionContext"
                " && window.jupyterapp.shell.currentWidget.sessionContext.session"
                " && window.jupyterapp.shell.currentWidget.sessionContext.session.kernel"
                " && window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.connectionStatus === 'connected'",
                timeout=RENDER_TIMEOUT_S * 1000)
            start = time.monotonic()
            page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
            slider = page.locator(".widget-slider").filter(has=page.locator(".widget-label", has_text=SLIDER_LABEL))
            try:
                slider.wait_for(state="visible", timeout=RENDER_TIMEOUT_S * 1000)
                page.wait_for_function(
                    "() => [...document.querySelectorAll('.widget-output img')].length > 0",
                    timeout=UPDATE_TIMEOUT_S * 1000)
            except sync_api.TimeoutError:
                page.screenshot(path=str(ARTIFACTS / "lab-failure.png"), full_page=True)
                pytest.fail(f"the slider never appeared in JupyterLab\n{log_path.read_text(errors='replace')[-3000:]}")
            print(f"JupyterLab: first interactive slider {time.monotonic() - start:.1f} s after Run All")
            slider.scroll_into_view_if_needed()
            before, after = move_slider(page, slider)
            # Let the rest of the notebook finish, then look at the whole page.
            page.wait_for_function(
                "() => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.status === 'idle'",
                timeout=RENDER_TIMEOUT_S * 1000)
            slider.scroll_into_view_if_needed()
            page.screenshot(path=str(ARTIFACTS / "lab-slider.png"))
            text = page.inner_text("body")
        finally:
            context.close()

    assert float(after["value"]) > float(before["value"]) and after["img"] != before["img"]
    assert _ERROR_WIDGET_TEXT not in text
    assert not _console_errors(console), f"console errors: {_console_errors(console)}"
