"""A real JupyterLab and headless Chromium, for whatever needs a kernel and a browser: the
end-to-end tests' shared lab (tests/jupyter_server.py, tests/browser_helpers.py re-export
these) and the playback benchmark (benchmarks/playback.py).

Why here: the benchmarks must not import the tests, and the tests may import this package
(they run from the repository root), so the one copy lives on this side.

`jupyter lab` runs on 127.0.0.1 in its own process group, with a kernel spec running this
interpreter and its own config, data, runtime and workspace directories (never the user's).
With the `notebook` package installed the same server also serves Notebook 7
(/notebooks/...). Chromium is Debian's (/usr/bin/chromium, via Playwright's
executable_path): no browser is ever downloaded.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import select
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
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_notebook(path: Path, cells: list[str]) -> Path:
    """A notebook of code cells that runs on the lab's kernel."""
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


# the first element a selector matches is there and takes room (Playwright's "visible")
VISIBLE = ("(s) => { const e = document.querySelector(s);"
           " return !!e && e.getClientRects().length > 0 && getComputedStyle(e).visibility !== 'hidden'; }")


def open_and_run(page: Any, url: str, path: str, ready: str, timeout: float = 120_000) -> None:
    """Open a notebook (JupyterLab or Notebook 7), wait for its kernel, run every cell, and
    wait for `ready` (a selector) to appear. `page`: a Playwright page or a `BarePage`."""
    page.goto(url)
    page.wait_for_function(
        "(path) => { const w = window.jupyterapp?.shell?.currentWidget;"
        " return !!(w?.context?.path?.endsWith(path) && w.sessionContext?.session?.kernel); }",
        arg=path, timeout=timeout)
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
    try:
        page.wait_for_function(VISIBLE, arg=ready, timeout=timeout)
    except Exception:
        page.screenshot(path=os.path.join(os.environ.get("TMPDIR", "/tmp"), "lnx-open-failure.png"))
        raise


@contextmanager
def launch() -> Iterator[Any]:
    """Headless Chromium (Debian's, via executable_path: no browser download)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


class BarePage:
    """A Chromium page driven over the DevTools pipe with the Page and Runtime domains only:
    `goto`, `evaluate(fn, arg)`, `wait_for_function(fn, arg, timeout)`, `add_init_script`,
    `screenshot`, named and used as Playwright's are.

    Why not Playwright here: Playwright enables the Network domain on every page, and Chromium
    then copies each WebSocket frame to the driver, base64 (Network.webSocketFrameReceived).
    A FrameViewer playing a 512x512 uint16 movie receives ~8 MB batches of frames on the
    kernel's WebSocket: measured under Playwright, each batch cost the renderer's main thread
    ~300 ms and the driver and the browser process about a core between them, so a benchmark
    of playback under Playwright measured the instrumentation. A user's browser has none.
    """

    def __init__(self, browser: BareBrowser, session: str) -> None:
        self._browser, self._session = browser, session

    def _send(self, method: str, **params: Any) -> dict[str, Any]:
        return self._browser.send(method, params, self._session)

    def goto(self, url: str) -> None:
        self._send("Page.navigate", url=url)

    def add_init_script(self, source: str) -> None:
        self._send("Page.addScriptToEvaluateOnNewDocument", source=source)

    def evaluate(self, fn: str, arg: Any = None) -> Any:
        """`fn` (a JavaScript function's source) called with `arg`; its (awaited) value."""
        expression = f"({fn})({json.dumps(arg)})"
        out = self._send("Runtime.evaluate", expression=expression, awaitPromise=True,
                         returnByValue=True)
        if "exceptionDetails" in out:
            details = out["exceptionDetails"]
            text = details.get("exception", {}).get("description") or details.get("text")
            raise RuntimeError(f"in the page: {text}")
        return out["result"].get("value")

    def wait_for_function(self, fn: str, arg: Any = None, timeout: float = 30_000) -> Any:
        """Poll `fn(arg)` until it is truthy (every 50 ms, up to `timeout` ms)."""
        deadline = time.monotonic() + timeout / 1000
        while True:
            try:
                value = self.evaluate(fn, arg)
            except RuntimeError:  # the page is navigating
                value = None
            if value:
                return value
            if time.monotonic() > deadline:
                raise TimeoutError(f"waited {timeout / 1000:.0f} s for {fn[:80]}")
            time.sleep(0.05)

    def wait_for_timeout(self, ms: float) -> None:
        time.sleep(ms / 1000)

    def screenshot(self, path: str) -> None:
        shot = self._send("Page.captureScreenshot", format="png")
        Path(path).write_bytes(base64.b64decode(shot["data"]))


class BareBrowser:
    """Headless Chromium over --remote-debugging-pipe (fd 3 in, fd 4 out; JSON messages ending
    in NUL). Only the Page domain's few events come unasked; they are read past."""

    def __init__(self, process: subprocess.Popen, to_chrome: int, from_chrome: int) -> None:
        self.process, self._out, self._in = process, to_chrome, from_chrome
        self._next, self._buffer = 0, b""

    def send(self, method: str, params: dict[str, Any] | None = None, session: str | None = None,
             timeout: float = 120.0) -> dict[str, Any]:
        self._next += 1
        message: dict[str, Any] = {"id": self._next, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._out, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            reply = self._read(deadline)
            if reply.get("id") == self._next:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error'].get('message')}")
                return reply.get("result", {})

    def _read(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            wait = deadline - time.monotonic()
            if wait <= 0 or not select.select([self._in], [], [], wait)[0]:
                raise TimeoutError("Chromium did not answer")
            chunk = os.read(self._in, 1 << 20)
            if not chunk:
                raise RuntimeError("Chromium closed its DevTools pipe")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def new_page(self) -> BarePage:
        """A new tab, the window's size (--window-size)."""
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        self.send("Page.enable", session=session)  # for init scripts (its events are ignored)
        return BarePage(self, session)


def _pipe_fds(commands: int, replies: int) -> Any:
    """In the child, before exec: Chromium's fd 3 reads `commands`, fd 4 writes `replies`
    (both copied first, so neither overwrites the other)."""
    def child() -> None:
        read, write = os.dup(commands), os.dup(replies)
        os.dup2(read, 3)
        os.dup2(write, 4)
    return child


@contextmanager
def launch_bare(profile: Path) -> Iterator[BareBrowser]:
    """Debian's headless Chromium with a DevTools pipe and nothing else attached (see
    BarePage); `profile` is its user-data directory."""
    to_chrome_r, to_chrome_w = os.pipe()
    from_chrome_r, from_chrome_w = os.pipe()
    process = subprocess.Popen(
        [CHROMIUM, *CHROMIUM_ARGS, "--remote-debugging-pipe", f"--user-data-dir={profile}",
         "--disable-background-timer-throttling", "--disable-backgrounding-occluded-windows",
         "--disable-renderer-backgrounding", "--window-size=1400,900", "about:blank"],
        pass_fds=(3, 4), stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        preexec_fn=_pipe_fds(to_chrome_r, from_chrome_w),
    )
    os.close(to_chrome_r)
    os.close(from_chrome_w)
    browser = BareBrowser(process, to_chrome_w, from_chrome_r)
    try:
        yield browser
    finally:
        try:
            browser.send("Browser.close", timeout=10)
        except (OSError, RuntimeError, TimeoutError):
            pass
        _stop(process)
        os.close(to_chrome_w)
        os.close(from_chrome_r)
