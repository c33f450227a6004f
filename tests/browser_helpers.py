"""A stub page for the widgets' front ends, bridged to the real Python views over HTTP.

Why: browser tests should run the built ES modules against the real kernel-side handlers
without a Jupyter server. The page loads a bundle from lazynwb_explorer/static and gives it a
fake anywidget `model` (get / set / on / off / send / save_changes). `send` POSTs the request
to this server, which calls `widget.handle_message(...)` and returns the reply, its buffers
(base64) and the widget's state; the fake model then fires `change:<name>` for changed
traitlets and `msg:custom` with the reply, as anywidget would. Calls are queued in order, like
messages on a comm.
"""

from __future__ import annotations

import base64
import json
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from benchmarks.browser_lab import CHROMIUM, launch

__all__ = ["CHROMIUM", "Bridge", "harness_page", "launch", "mount", "widget_state"]

STATIC = Path(__file__).resolve().parents[1] / "lazynwb_explorer" / "static"
_SKIP = {"layout", "tabbable", "tooltip", "comm", "keys", "log"}

HARNESS = r"""
<!doctype html><html><head><meta charset="utf-8">
<link rel="stylesheet" href="/static/widgets.css">
<style>body{margin:8px;width:1000px} .mount{margin-bottom:8px}</style></head>
<body><div id="mounts"></div>
<script type="module">
let queue = Promise.resolve();
const post = (url, body) => (queue = queue.then(() => fetch(url, {method: "POST",
  headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)}).then(r => r.json())));
const bytes = (b64) => { const s = atob(b64); const a = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) a[i] = s.charCodeAt(i); return new DataView(a.buffer); };
class FakeModel {
  constructor(id, state) { this.id = id; this.state = state; this.listeners = new Map(); this.dirty = new Set(); this.sent = []; }
  get(name) { return this.state[name]; }
  set(name, value) { this.state[name] = value; this.dirty.add(name); this.emit(`change:${name}`); }
  on(event, cb) { if (!this.listeners.has(event)) this.listeners.set(event, new Set()); this.listeners.get(event).add(cb); }
  off(event, cb) { this.listeners.get(event)?.delete(cb); }
  emit(event, ...args) { for (const cb of [...(this.listeners.get(event) || [])]) cb(...args); }
  apply(state) {
    for (const [k, v] of Object.entries(state || {})) {
      if (JSON.stringify(this.state[k]) !== JSON.stringify(v)) { this.state[k] = v; this.emit(`change:${k}`); }
    }
  }
  save_changes() {
    const changes = {}; for (const k of this.dirty) changes[k] = this.state[k]; this.dirty.clear();
    post(`/state/${this.id}`, changes).then((r) => this.apply(r.state));
  }
  send(content) {
    this.sent.push(content);
    post(`/msg/${this.id}`, content).then((r) => {
      this.apply(r.state);
      setTimeout(() => this.emit("msg:custom", r.reply, r.buffers.map(bytes)), r.delay || 0);
    });
  }
  async sync() { const r = await post(`/state/${this.id}`, {}); this.apply(r.state); }
}
window.models = {};
window.mount = async (id, bundle) => {
  const state = await (await fetch(`/state/${id}`)).json();
  const model = new FakeModel(id, state.state);
  window.models[id] = model;
  const el = document.createElement("div"); el.className = "mount"; el.id = `w-${id}`;
  document.getElementById("mounts").append(el);
  const mod = await import(`/static/${bundle}.js`);
  await mod.default.render({model, el});
  return true;
};
window.harnessReady = true;
</script></body></html>
"""


def _pop(delays: list[float] | None) -> float:
    return delays.pop(0) if delays else 0


def widget_state(widget: Any) -> dict[str, Any]:
    """The widget's synced traitlets a front end reads (not the ESM / CSS)."""
    return {k: getattr(widget, k) for k in widget.keys if not k.startswith("_") and k not in _SKIP}


class Bridge:
    """HTTP server: the harness page, the static bundles, and the widgets' handlers."""

    def __init__(self) -> None:
        self.widgets: dict[str, Any] = {}
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self.delays: dict[str, list[float]] = {}  # request type -> delays (ms) of next replies
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/"

    def add(self, name: str, widget: Any) -> str:
        self.widgets[name] = widget
        return name

    def sent(self, kind: str) -> list[dict[str, Any]]:
        """Requests of one type the page sent, in order."""
        return [c for k, c in self.requests if c.get("type") == kind]

    def wait_sent(self, kind: str, count: int = 1, timeout: float = 15.0) -> list[dict[str, Any]]:
        """Requests of one type, once at least `count` reached the kernel side. The page logs
        a request before its HTTP call arrives here, so a page-side wait is not enough."""
        deadline = time.monotonic() + timeout
        while len(self.sent(kind)) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.sent(kind)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        bridge = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, body: bytes, ctype: str = "application/json") -> None:
                self.send_response(200)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:  # noqa: N802
                if self.path in ("/", "/index.html"):
                    return self._send(HARNESS.encode(), "text/html; charset=utf-8")
                if self.path.startswith("/static/"):
                    name = os.path.basename(self.path)
                    file = STATIC / name
                    if file.is_file():
                        ctype = "text/css" if name.endswith(".css") else "text/javascript"
                        return self._send(file.read_bytes(), ctype)
                if self.path.startswith("/state/"):
                    widget = bridge.widgets[self.path.rsplit("/", 1)[1]]
                    return self._send(json.dumps({"state": widget_state(widget)}).encode())
                self.send_error(404)

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                _, kind, name = self.path.split("/", 2)
                widget = bridge.widgets[name]
                with bridge._lock:
                    if kind == "state":
                        with widget.hold_sync():
                            for key, value in body.items():
                                setattr(widget, key, value)
                        out: dict[str, Any] = {"state": widget_state(widget)}
                    else:
                        bridge.requests.append((name, body))
                        reply, buffers = widget.handle_message(body, [])
                        out = {"reply": reply, "state": widget_state(widget),
                               "buffers": [base64.b64encode(b).decode() for b in buffers],
                               "delay": _pop(bridge.delays.get(str(body.get("type"))))}
                self._send(json.dumps(out, default=str).encode())

        return Handler

    def start(self) -> Bridge:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


@contextmanager
def harness_page(browser: Any, bridge: Bridge) -> Iterator[Any]:
    """A page on the harness; `page.js_errors` collects uncaught page errors."""
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.set_default_timeout(20_000)
    try:
        page.goto(bridge.url)
        page.wait_for_function("window.harnessReady === true")
        page.js_errors = errors  # type: ignore[attr-defined]
        yield page
    finally:
        page.close()


def mount(page: Any, name: str, bundle: str) -> Any:
    """Render a bridged widget's bundle into the page; returns its root locator."""
    page.evaluate("([id, bundle]) => window.mount(id, bundle)", [name, bundle])
    return page.locator(f"#w-{name}")


def tree_item(scope: Any, path: str) -> Any:
    """The Explorer tree's item of `path` (inside `scope`: a page or a view's locator)."""
    return scope.locator(f'.lnx-tree [role=treeitem][data-path="{path}"]')


def open_tree_path(page: Any, explorer: Any, *parts: str) -> None:
    """Open groups in the Explorer's tree by clicking their toggles, then select the last path."""
    for path in parts[:-1]:
        item = tree_item(explorer, path)
        if item.get_attribute("aria-expanded") != "true":
            item.locator(".lnx-toggle").click()
        page.wait_for_function(
            "(p) => document.querySelector(`.lnx-tree [data-path='${p}']`)?.getAttribute('aria-expanded') === 'true'",
            arg=path)
    tree_item(explorer, parts[-1]).click()
