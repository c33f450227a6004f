"""`lazynwb-explorer open` end to end: the console script indexes a remote file, writes the
notebook, starts a real JupyterLab on 127.0.0.1 and prints its URL (--no-browser); headless
Chromium opens that URL, runs the notebook and sees the Explorer on the file. A second `open`
finds the running server and asks the file's server nothing (the stored catalog answers).
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import selectors
import signal
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser_helpers import CHROMIUM, launch

from cli_runner import OURS, run

pytestmark = [
    pytest.mark.timeout(300),
    pytest.mark.skipif(importlib.util.find_spec("jupyterlab") is None, reason="needs the demo extra"),
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="needs Debian's chromium (make test installs it)"),
]
URL = re.compile(r"^http://127\.0\.0\.1:(\d+)/lab/tree/(\S+)\?token=([0-9a-f]+)$")


@pytest.fixture
def lab_env(tmp_path) -> dict[str, str]:
    """Jupyter's config, runtime, workspaces and settings in this test's directory; the lab
    exposes `window.jupyterapp` so the test can run the notebook's cells."""
    config = tmp_path / "jupyter-config"
    (config / "labconfig").mkdir(parents=True)
    (config / "jupyter_lab_config.json").write_text(json.dumps({"LabApp": {"expose_app_in_browser": True}}))
    (config / "labconfig" / "page_config.json").write_text(json.dumps(
        {"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}}))
    return {"JUPYTER_CONFIG_DIR": str(config), "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
            "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path / "workspaces"),
            "JUPYTERLAB_SETTINGS_DIR": str(tmp_path / "settings")}


def _read_line(process: subprocess.Popen, timeout: float) -> str:
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if selector.select(timeout=1.0):
            return process.stdout.readline().strip()
        if process.poll() is not None:
            break
    raise AssertionError(f"no URL from `open` (exit {process.poll()}): {process.stderr.read() if process.poll() is not None else ''}")


@pytest.fixture
def opened(tmp_path, lab_env, http_server, rich_hdf5, served) -> Iterator[dict[str, Any]]:
    """`open URL --no-browser` running (it keeps JupyterLab in the foreground)."""
    url = http_server.url(rich_hdf5.relative_to(served).as_posix())
    notebooks = tmp_path / "notebooks"
    http_server.reset_stats()
    process = subprocess.Popen(
        [OURS, "open", url, "--no-browser", "--dir", str(notebooks), "--select", "/intervals/trials"],
        env={**os.environ, **lab_env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,
    )
    try:
        line = _read_line(process, timeout=150)
        yield {"process": process, "line": line, "source": url, "dir": notebooks,
               "requests": http_server.stats.requests}
    finally:
        for sig, wait in ((signal.SIGTERM, 30), (signal.SIGKILL, 10)):
            try:
                os.killpg(process.pid, sig)
                process.wait(timeout=wait)
                break
            except ProcessLookupError:
                break
            except subprocess.TimeoutExpired:
                continue


def test_open_runs_the_explorer_in_jupyterlab(opened, lab_env, http_server) -> None:
    match = URL.match(opened["line"])
    assert match, opened["line"]
    port, notebook, token = match.groups()
    assert notebook == "explore_rich.ipynb"
    assert opened["requests"] > 0  # the file was indexed before the server started
    written = json.loads((opened["dir"] / notebook).read_text())
    code = "".join(written["cells"][1]["source"])
    assert opened["source"] in code and "Explorer(sources" in code
    assert "".join(written["cells"][3]["source"]) == "ex.lazyframe()"

    # a second `open` finds this server and answers from the stored catalog
    http_server.reset_stats()
    again = run(OURS, ["open", opened["source"], "--no-browser", "--dir", str(opened["dir"]),
                       "--notebook", "again.ipynb"], env=lab_env, timeout=60)
    assert again.code == 0, again.stderr
    assert again.stdout.strip() == f"http://127.0.0.1:{port}/lab/tree/again.ipynb?token={token}"
    assert http_server.stats.requests == 0, http_server.stats.log

    with launch() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(60_000)
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(opened["line"])
        page.wait_for_function(  # the notebook is open and its kernel session exists
            "() => { const w = window.jupyterapp?.shell?.currentWidget;"
            f" return !!(w?.context?.path?.endsWith('{notebook}') && w.sessionContext?.session?.kernel); }}")
        page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
        tree_item = page.locator('.lnx-tree [role=treeitem][data-path="/intervals/trials"]')
        tree_item.wait_for(timeout=120_000)
        grid = page.locator(".lnx-grid")
        grid.locator(".lnx-row:not(.lnx-loading)").first.wait_for()
        assert grid.get_by_role("status").inner_text() == "40 rows"  # the file's 40 trials
        assert "start_time" in page.locator(".lnx-schema").inner_text()
        # the last cell, ex.lazyframe(), shows the selected table's lazy plan
        last = page.locator(".jp-CodeCell").nth(1).locator(".jp-OutputArea-output")
        last.first.wait_for()
        assert "naive plan" in last.first.inner_text()
        assert page.locator('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]').count() == 0
        assert not [e for e in errors if "lnx" in e or "anywidget" in e.lower()], errors

    # Ctrl-C / SIGTERM ends the server it started
    os.killpg(opened["process"].pid, signal.SIGTERM)
    assert opened["process"].wait(timeout=60) == 0
    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status", timeout=2)


def test_open_without_jupyter_extras_or_sources_says_why(tmp_path, lab_env) -> None:
    missing = run(OURS, ["open", str(tmp_path / "nope.nwb"), "--no-browser", "--dir", str(tmp_path)],
                  env=lab_env)
    assert missing.code == 3 and missing.json()["error"]["code"] == "source_path_not_found"
    assert missing.stderr.splitlines()[-1].startswith("lazynwb-explorer: error: ")
    assert not list(Path(tmp_path).glob("*.ipynb"))  # nothing written for a bad source
