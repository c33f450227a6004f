"""A real Jupyter server for the end-to-end tests: `jupyter lab` on 127.0.0.1 in its own
process group, with a kernel spec running this interpreter and its own config, data and
runtime directories (never the user's). With the `notebook` package installed the same server
also serves Notebook 7 (/notebooks/...), so one server covers both front ends.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import nbformat

KERNEL = "lazynwb-explorer-lab-test"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_notebook(path: Path, cells: list[str]) -> Path:
    """A notebook of code cells that runs on the test kernel."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    nb.metadata["kernelspec"] = {"name": KERNEL, "display_name": KERNEL, "language": "python"}
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


@contextmanager
def jupyter_server(root: Path, env: dict[str, str]) -> Iterator[tuple[str, str]]:
    """`jupyter lab` serving `root`; yields (base url, token). `env` reaches the kernels."""
    kernels = root / "data" / "kernels" / KERNEL
    kernels.mkdir(parents=True, exist_ok=True)
    (kernels / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": KERNEL, "language": "python", "env": env,
    }))
    labconfig = root / "config" / "labconfig"
    labconfig.mkdir(parents=True, exist_ok=True)
    (labconfig / "page_config.json").write_text(json.dumps(
        {"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}}))
    # no autosave: a notebook saved with its widget outputs comes back in the next test's page
    # (the workspace reopens it) and asks for views of models that test's kernel has dropped
    docmanager = root / "settings" / "@jupyterlab" / "docmanager-extension"
    docmanager.mkdir(parents=True, exist_ok=True)
    (docmanager / "plugin.jupyterlab-settings").write_text(json.dumps({"autosave": False}))
    port, token = _free_port(), secrets.token_hex(16)
    environ = {**os.environ, "JUPYTER_PATH": str(root / "data"), "JUPYTER_CONFIG_DIR": str(root / "config"),
               "JUPYTER_RUNTIME_DIR": str(root / "runtime")}
    log = open(root / "server.log", "wb")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [str(Path(sys.executable).with_name("jupyter")), "lab", "--no-browser", "--ip=127.0.0.1",
         f"--port={port}", f"--IdentityProvider.token={token}", f"--notebook-dir={root}",
         "--LabApp.expose_app_in_browser=True", "--JupyterNotebookApp.expose_app_in_browser=True",
         f"--LabApp.workspaces_dir={root / 'workspaces'}",
         f"--LabApp.user_settings_dir={root / 'settings'}",
         *(["--allow-root"] if os.geteuid() == 0 else [])],
        env=environ, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
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
                raise RuntimeError(f"Jupyter did not start: {(root / 'server.log').read_text()[-3000:]}")
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


def open_and_run(page: Any, url: str, path: str, ready: str, timeout: float = 120_000) -> None:
    """Open a notebook (JupyterLab or Notebook 7), wait for its kernel, run every cell, and
    wait for `ready` (a selector) to appear."""
    page.goto(url)
    page.wait_for_function(
        "(path) => { const w = window.jupyterapp?.shell?.currentWidget;"
        " return !!(w?.context?.path?.endsWith(path) && w.sessionContext?.session?.kernel); }",
        arg=path, timeout=timeout)
    page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
    try:
        page.locator(ready).first.wait_for(timeout=timeout)
    except Exception:
        page.screenshot(path=os.path.join(os.environ.get("TMPDIR", "/tmp"), "lnx-open-failure.png"))
        raise


def end_sessions(base: str, token: str) -> None:
    """Shut down every notebook session (and its kernel) of the server, so the next test's
    notebook starts on a fresh kernel: a kernel that ran a notebook several times holds every
    widget it made (the Out history keeps them), and a new page restores them all first."""
    headers = {"Authorization": f"token {token}"}
    with urllib.request.urlopen(urllib.request.Request(f"{base}/api/sessions", headers=headers), timeout=30) as r:
        sessions = json.load(r)
    for session in sessions:
        request = urllib.request.Request(f"{base}/api/sessions/{session['id']}", headers=headers, method="DELETE")
        urllib.request.urlopen(request, timeout=60).close()


@contextmanager
def lab_page(browser: Any, lab: tuple[str, str], record_sent: bool = False) -> Iterator[Any]:
    """A 1400x900 page for the end-to-end tests on `lab` (base url, token); an uncaught page
    error of the widgets fails the test. `record_sent`: `page.sent` collects the websocket
    frames the page sends (the comm messages, to count a view's requests).

    After the test every session and its kernel is shut down, so the next test's notebook
    starts on a fresh kernel: a page opened on a kernel holding earlier tests' widgets restores
    every one of them at once, which under load passes anywidget's 2 s limit for initialising
    a model."""
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.set_default_timeout(60_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    if record_sent:
        page.sent = []
        page.on("websocket", lambda ws: ws.on("framesent", lambda payload: page.sent.append(
            payload if isinstance(payload, str) else payload.decode("latin-1"))))
    yield page
    page.evaluate("window.jupyterapp.serviceManager.sessions.shutdownAll()")
    page.close()
    end_sessions(*lab)
    assert not [e for e in errors if "lnx" in e or "anywidget" in e.lower()], errors


def cell_count(page: Any) -> int:
    """Cells of the notebook in front."""
    return page.evaluate("window.jupyterapp.shell.currentWidget.content.widgets.length")


def set_theme(page: Any, theme: str) -> None:
    """Switch JupyterLab's theme ('JupyterLab Light' / 'JupyterLab Dark') and wait for it."""
    page.evaluate("(t) => window.jupyterapp.commands.execute('apputils:change-theme', {theme: t})", theme)
    page.wait_for_function(
        "(t) => document.body.dataset.jpThemeName === t && getComputedStyle(document.body)"
        ".getPropertyValue('--jp-layout-color1').trim() !== ''", arg=theme)
    page.wait_for_timeout(400)  # the theme's stylesheet settles
