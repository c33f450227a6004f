"""JupyterLab for `open`: find a running server that can open the notebook, or start one on
127.0.0.1 and keep it in the foreground until Ctrl-C.

A running server is used when its root directory holds the notebook (Jupyter's own list of
running servers, from its runtime directory). A new one is `python -m jupyterlab` of this
interpreter (so its kernel sees this environment), bound to 127.0.0.1, with a random token
in the URL, and no browser of its own: we open the browser (or print the URL) once it
answers.
"""

from __future__ import annotations

import os
import pathlib
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from typing import Any

from .failures import CLIError, ErrorCode, ExitCode

START_TIMEOUT = 120.0


def _needs(extra: str, exc: ImportError) -> CLIError:
    return CLIError(code=ErrorCode.USAGE_ERROR, exit_code=ExitCode.USAGE_ERROR,
                    details={"missing": exc.name},
                    message=f"open needs JupyterLab and the widgets: pip install "
                            f"'lazynwb_explorer[{extra}]'", reason=str(exc))


def notebook_url(base_url: str, root_dir: pathlib.Path, notebook: pathlib.Path, token: str) -> str:
    relative = notebook.resolve().relative_to(root_dir.resolve()).as_posix()
    url = f"{base_url.rstrip('/')}/lab/tree/{urllib.parse.quote(relative)}"
    return f"{url}?token={token}" if token else url


def running_server_for(notebook: pathlib.Path) -> dict[str, Any] | None:
    """A live Jupyter server whose root directory holds the notebook (the newest), if any."""
    try:
        from jupyter_server.serverapp import list_running_servers
    except ImportError as exc:
        raise _needs("widgets,demo", exc) from exc
    candidates = []
    for info in list_running_servers():
        root = pathlib.Path(info.get("root_dir") or info.get("notebook_dir") or "")
        try:
            notebook.resolve().relative_to(root.resolve())
        except ValueError:
            continue
        if _answers(info["url"], info.get("token", "")):
            candidates.append(info)
    return max(candidates, key=lambda i: i.get("pid", 0), default=None)


def _answers(base_url: str, token: str, timeout: float = 2.0) -> bool:
    query = f"?token={token}" if token else ""
    try:
        with urllib.request.urlopen(f"{base_url.rstrip('/')}/api/status{query}", timeout=timeout) as r:
            return r.status == 200
    except OSError:
        return False


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


class LabServer:
    """A JupyterLab we started: `url` once it answers; `wait()` until it ends or Ctrl-C."""

    def __init__(self, root_dir: pathlib.Path, port: int | None = None) -> None:
        try:
            import jupyterlab  # noqa: F401 - only to fail early with the install hint
        except ImportError as exc:
            raise _needs("widgets,demo", exc) from exc
        self.root_dir = root_dir
        self.port = port or _free_port()
        self.token = secrets.token_hex(24)
        self.base_url = f"http://127.0.0.1:{self.port}/"
        command = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1",
                   f"--port={self.port}", "--port-retries=0", f"--ServerApp.root_dir={root_dir}",
                   f"--IdentityProvider.token={self.token}"]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            command.append("--allow-root")  # containers run as root; the user asked for it
        # The server's own log goes to our stderr: stdout carries only the URL.
        self.process = subprocess.Popen(command, stdout=sys.stderr, stderr=sys.stderr,
                                        start_new_session=hasattr(os, "killpg"))

    def wait_until_ready(self, timeout: float = START_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while not _answers(self.base_url, self.token):
            if self.process.poll() is not None:
                raise CLIError(code=ErrorCode.INTERNAL_ERROR, exit_code=ExitCode.INTERNAL_ERROR,
                               message="JupyterLab exited before it answered.",
                               details={"returncode": self.process.returncode})
            if time.monotonic() > deadline:
                self.stop()
                raise CLIError(code=ErrorCode.INTERNAL_ERROR, exit_code=ExitCode.INTERNAL_ERROR,
                               message=f"JupyterLab did not answer within {timeout:.0f} s.")
            time.sleep(0.25)

    def serve_forever(self) -> int:
        """Wait for the server; Ctrl-C or SIGTERM stops it (and its kernels)."""
        previous = signal.signal(signal.SIGTERM, _interrupt)
        try:
            return self.process.wait()
        except KeyboardInterrupt:
            self.stop()
            return 0
        finally:
            signal.signal(signal.SIGTERM, previous)

    def stop(self) -> None:
        """End the server and its kernels (its own process group): politely, then firmly."""
        if not hasattr(os, "killpg"):  # Windows: no process groups to signal
            self.process.terminate()
            self.process.wait(timeout=30)
            return
        for sig, wait in ((signal.SIGTERM, 20.0), (signal.SIGKILL, 10.0)):
            try:
                os.killpg(self.process.pid, sig)
            except ProcessLookupError:
                return
            try:
                self.process.wait(timeout=wait)
                return
            except subprocess.TimeoutExpired:
                continue
