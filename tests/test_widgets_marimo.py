"""The widgets in marimo (`marimo run`, headless Chromium): marimo renders anywidgets itself,
with its own model and host, so this checks the views and the Explorer (which renders the
views it holds through anywidget's host.getWidget) outside Jupyter."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator

import pytest
from browser_helpers import CHROMIUM, launch

from lazynwb_explorer import demo_data

pytest.importorskip("marimo")
pytestmark = [
    pytest.mark.timeout(300),
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="needs Debian's chromium (make test installs it)"),
]

APP = '''
import marimo

app = marimo.App()


@app.cell
def _():
    import marimo as mo
    from lazynwb_explorer import Explorer, TimeSeriesPlot
    path = {path!r}
    plot = mo.ui.anywidget(TimeSeriesPlot(path, "/acquisition/ElectricalSeries", height=400))
    plot
    return Explorer, mo, path


@app.cell
def _(Explorer, mo, path):
    explorer = mo.ui.anywidget(Explorer(path))
    explorer
    return
'''


@pytest.fixture(scope="module")
def marimo_app(tmp_path_factory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("marimo")
    sample = demo_data.write_demo_file(root / "sample.nwb", small=True)
    app = root / "app.py"
    app.write_text(APP.format(path=str(sample)))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = open(root / "marimo.log", "wb")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [sys.executable, "-m", "marimo", "run", str(app), "--headless", "--host", "127.0.0.1",
         "--port", str(port), "--no-token"],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True, cwd=root,
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(url, timeout=2):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError((root / "marimo.log").read_text()[-2000:]) from None
                time.sleep(0.5)
        yield url
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
        log.close()


def test_plot_and_explorer_in_marimo(marimo_app) -> None:
    from playwright.sync_api import expect

    with launch() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(60_000)
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(marimo_app)
        # a view on its own
        page.locator(".lnx-plot .scatterlayer .trace").first.wait_for()
        assert page.locator(".lnx-plot [role=status]").first.inner_text().startswith("envelope of all 30,000 samples")
        # the Explorer: its views rendered through marimo's host, the selection routed
        explorer = page.locator(".lnx-explorer")
        explorer.locator(".lnx-session td").first.wait_for()
        explorer.scroll_into_view_if_needed()
        explorer.locator('.lnx-tree [role=treeitem][data-path="/units"]').click()
        # a units table opens as a raster (drawn through marimo's host too); the grid is a tab
        expect(explorer.locator(".lnx-raster [role=status]")).to_have_text(
            re.compile(r"spikes of \d+ of 24 units"), timeout=60_000)
        explorer.get_by_role("tab", name="Table").click()
        explorer.locator(".lnx-grid .lnx-row:not(.lnx-loading)").first.wait_for()
        assert explorer.locator(".lnx-grid [role=status]").inner_text() == "24 rows"
        assert "spike_times" in explorer.locator(".lnx-schema").inner_text()
        assert not errors, errors
