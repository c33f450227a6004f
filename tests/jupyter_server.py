"""The end-to-end tests' Jupyter helpers. The server itself (`jupyter lab` on 127.0.0.1 with
a private kernel spec and directories), `write_notebook` and `open_and_run` live in
benchmarks/browser_lab.py, which the playback benchmark shares; this module adds what only
the tests do (sessions, themes, cell counts).
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from benchmarks.browser_lab import KERNEL, jupyter_server, open_and_run, write_notebook

__all__ = ["KERNEL", "cell_count", "end_sessions", "jupyter_server", "lab_page", "open_and_run",
           "set_theme", "write_notebook"]


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
