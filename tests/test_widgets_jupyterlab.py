"""End to end in a real JupyterLab: start `jupyter lab` on 127.0.0.1, open a notebook that shows
the Explorer, run all cells in headless Chromium, then use it as a person would: open /units
from the tree, filter, scroll, open a time series and zoom, checking what is on screen."""

from __future__ import annotations

import importlib.util
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest
from browser_helpers import CHROMIUM, launch

from lazynwb_explorer import demo_data

pytestmark = [
    pytest.mark.timeout(240),
    pytest.mark.skipif(importlib.util.find_spec("jupyterlab") is None, reason="needs the demo extra"),
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="needs Debian's chromium (make test installs it)"),
]
KERNEL = "lazynwb-explorer-lab-test"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _notebook(directory: Path) -> Path:
    """notebooks/explorer.ipynb (what `make demo` opens) copied into the server's tree, with
    the benchmarks package beside it as in the repository (its cost section serves the
    sample through benchmarks.server)."""
    repo = Path(__file__).resolve().parents[1]
    notebook = directory / "notebooks" / "explorer.ipynb"
    notebook.parent.mkdir()
    nb = nbformat.read(repo / "notebooks" / "explorer.ipynb", as_version=4)
    nb.metadata["kernelspec"] = {"name": KERNEL, "display_name": KERNEL, "language": "python"}
    nbformat.write(nb, notebook)
    shutil.copytree(repo / "benchmarks", directory / "benchmarks",
                    ignore=shutil.ignore_patterns("data", "__pycache__", "*.md"))
    return notebook


@pytest.fixture(scope="module")
def lab(tmp_path_factory) -> Iterator[tuple[str, str]]:
    """A JupyterLab server (subprocess, own process group); yields (base url, token)."""
    root = tmp_path_factory.mktemp("lab")
    sample = demo_data.write_demo_file(root / "sample.nwb", small=True)
    _notebook(root)
    kernels = root / "data" / "kernels" / KERNEL
    kernels.mkdir(parents=True)
    (kernels / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": KERNEL, "language": "python", "env": {"LAZYNWB_DEMO_FILE": str(sample)},
    }))
    labconfig = root / "config" / "labconfig"
    labconfig.mkdir(parents=True)
    (labconfig / "page_config.json").write_text(json.dumps(
        {"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}}))
    port, token = _free_port(), secrets.token_hex(16)
    env = {**os.environ, "JUPYTER_PATH": str(root / "data"), "JUPYTER_CONFIG_DIR": str(root / "config"),
           "JUPYTER_RUNTIME_DIR": str(root / "runtime")}
    log = open(root / "lab.log", "wb")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [str(Path(sys.executable).with_name("jupyter")), "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
         f"--IdentityProvider.token={token}", f"--notebook-dir={root}", "--LabApp.expose_app_in_browser=True",
         f"--LabApp.workspaces_dir={root / 'workspaces'}", f"--LabApp.user_settings_dir={root / 'settings'}",
         *(["--allow-root"] if os.geteuid() == 0 else [])],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"JupyterLab did not start: {(root / 'lab.log').read_text()[-3000:]}")
            time.sleep(0.5)
        yield base, token
    finally:
        _stop(process)
        log.close()


def _stop(process: subprocess.Popen) -> None:
    """End the server and its kernels (its own process group), politely then firmly."""
    for sig, wait in ((signal.SIGTERM, 20), (signal.SIGKILL, 10)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def _item(page: Any, path: str) -> Any:
    return page.locator(f'.lnx-tree [role=treeitem][data-path="{path}"]')


def test_explorer_in_jupyterlab(lab) -> None:
    base, token = lab
    with launch() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(60_000)
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(f"{base}/lab/tree/notebooks/explorer.ipynb?token={token}")
        page.wait_for_function(  # the notebook is open and its kernel session exists
            "() => { const w = window.jupyterapp?.shell?.currentWidget;"
            " return !!(w?.context?.path?.endsWith('notebooks/explorer.ipynb') && w.sessionContext?.session?.kernel); }")
        page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
        _item(page, "/units").wait_for(timeout=120_000)  # kernel started, cell ran, tree drawn

        # open /units from the tree: schema and grid follow the selection
        _item(page, "/units").click()
        grid = page.locator(".lnx-grid")
        grid.locator(".lnx-row:not(.lnx-loading)").first.wait_for()
        assert grid.get_by_role("status").inner_text() == "24 rows"
        assert "spike_times" in page.locator(".lnx-schema").inner_text()
        first = grid.locator(".lnx-row").first.inner_text()
        assert first.split("\n")[0] == "0"

        # filter in the grid (kernel-side), then page by scrolling
        grid.get_by_label("Filter column").select_option("presence_ratio")
        grid.get_by_label("Filter operation").select_option(">=")
        grid.get_by_label("Filter value").fill("0.9")
        grid.get_by_role("button", name="Add filter").click()
        page.wait_for_function(
            "/^\\d+ of 24 rows$/.test(document.querySelector('.lnx-grid [role=status]').textContent)")
        shown = int(grid.get_by_role("status").inner_text().split()[0])
        assert 0 < shown < 24
        grid.locator(".lnx-grid-scroll").evaluate("el => { el.scrollTop = el.scrollHeight; }")
        page.wait_for_function(
            f"document.querySelector('.lnx-grid .lnx-row[aria-rowindex=\"{shown}\"]:not(.lnx-loading)') !== null")

        # open a time series: the plot replaces the grid; zoom by dragging on the x axis
        _item(page, "/processing").click()
        page.keyboard.press("ArrowRight")
        _item(page, "/processing/behavior").wait_for()
        _item(page, "/processing/behavior").click()
        page.keyboard.press("ArrowRight")
        _item(page, "/processing/behavior/running_speed").click()
        plot = page.locator(".lnx-plot")
        plot.locator(".scatterlayer .trace").first.wait_for()
        assert grid.is_hidden()
        assert plot.locator(".legendtext").first.text_content() == "running_speed (downsampled)"
        plot.locator(".nsewdrag").scroll_into_view_if_needed()  # the Explorer is the last output
        box = plot.locator(".nsewdrag").bounding_box()
        y = box["y"] + box["height"] / 2
        page.mouse.move(box["x"] + box["width"] * 0.40, y)
        page.mouse.down()
        page.mouse.move(box["x"] + box["width"] * 0.42, y, steps=5)
        page.mouse.up()
        page.wait_for_function(  # 2% of two minutes at 60 Hz: every sample, not marked
            "document.querySelector('.lnx-plot .legendtext').textContent === 'running_speed'")
        status = plot.get_by_role("status").inner_text()
        assert "all samples" in status and int(status.split()[0]) < 7200
        ticks = [float(t) for t in plot.locator(".xtick text").all_text_contents() if t.strip()]
        assert ticks and max(ticks) - min(ticks) < 10  # the axis shows the zoomed window
        assert not [e for e in errors if "lnx" in e or "anywidget" in e.lower()], errors
