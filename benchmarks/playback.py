"""The playback row of `make bench` (issue 19): a FrameViewer playing the bench movie (a local
512x512 uint16 file in gzip chunks of 4 frames, datasets.ensure_movie) at 30 fps in a real
JupyterLab and headless Chromium; it counts the frames the browser draws in 5 s.

Why a real lab: while playing, frames come from the kernel over the widget's comm (batches
of frames as binary buffers, prefetched about a second ahead), so the kernel's read and
decode, the comm and the canvas all share the machine's 2 cores; a stub page calling the
handlers in-process would leave the comm out. The lab and the browser are
benchmarks/browser_lab.py's (the end-to-end tests' too); nothing touches the network.

What is measured, in the page (never trusting the widget's own counters alone):
  - every draw of the frame canvas, by wrapping CanvasRenderingContext2D's createImageData /
    putImageData: its time, the frame index shown (the slider) and how long the draw took;
  - every frames request sent on the kernel's WebSocket and every large message received
    (a batch of frames), by wrapping WebSocket before JupyterLab loads: each batch's
    request -> reply time;
and around it: the kernel's read + encode time per frame (the same request answered in the
kernel by `handle_message`, on frames the playback did not touch), the CPU seconds of the
kernel, the browser and the Jupyter server during the play, the machine's busy cores and its
load average.

Target: counting from the first frame played, every frame due in the next 5 s drawn (150 of
150), none skipped. The time from Play to that first frame (the first batch's read) is
reported apart: it is a start-up delay, not a dropped frame.

The browser is Chromium driven over its DevTools pipe with no network instrumentation
(browser_lab.BarePage): under Playwright every WebSocket frame is copied to the driver, which
costs more than the play itself.

    python -m benchmarks.playback [--quick]     # this row alone, printed
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

import psutil

from benchmarks.browser_lab import jupyter_server, launch_bare, open_and_run, write_notebook
from benchmarks.datasets import ensure_movie

SERIES = "/acquisition/TwoPhotonSeries"
FPS = 30.0
SECONDS = 5.0
QUICK_SECONDS = 1.0  # the quick movie has 40 frames
VIEW = ".jp-NotebookPanel:not(.lm-mod-hidden) .lnx-frames"
CANVAS = f"{VIEW} canvas.lnx-frame-canvas"
BATCH_MB = 1.0  # a WebSocket message larger than this is a batch of frames

# before JupyterLab loads: note when a frames request leaves and when a batch arrives
SOCKET_SPY = r"""
(() => {
  const spy = { sent: [], received: [] };
  window.lnxSocketSpy = spy;
  const Native = window.WebSocket;
  const small = (d) => typeof d === "string" ? d
    : (d instanceof ArrayBuffer || ArrayBuffer.isView(d)) && d.byteLength < 65536 ? new TextDecoder().decode(d) : "";
  class Spied extends Native {
    constructor(...args) {
      super(...args);
      this.addEventListener("message", (e) => {
        const n = typeof e.data === "string" ? e.data.length : (e.data.byteLength ?? e.data.size ?? 0);
        if (n > BATCH_BYTES) spy.received.push([performance.now(), n]);
      });
    }
    send(data) {
      if (/"type":\s*"frames"/.test(small(data))) spy.sent.push(performance.now());
      return super.send(data);
    }
  }
  window.WebSocket = Spied;
})();
""".replace("BATCH_BYTES", str(int(BATCH_MB * 1e6)))

# once the view is up: every draw of the frame canvas, with the frame it shows
DRAW_SPY = r"""
() => {
  const spy = { draws: [], start: 0 };
  window.lnxDrawSpy = spy;
  const proto = CanvasRenderingContext2D.prototype;
  const make = proto.createImageData, put = proto.putImageData;
  const ours = (ctx) => ctx.canvas.classList.contains("lnx-frame-canvas");
  proto.createImageData = function (...args) {
    if (ours(this)) spy.start = performance.now();
    return make.apply(this, args);
  };
  proto.putImageData = function (...args) {
    const out = put.apply(this, args);
    if (ours(this)) {
      const now = performance.now();
      const slider = this.canvas.closest(".lnx-frames").querySelector(".lnx-frame-slider");
      spy.draws.push([now, Number(slider.value), now - spy.start]);
    }
    return out;
  };
}
"""

PLAY = f"""
() => {{
  const view = document.querySelector({VIEW!r});
  const t0 = performance.now();
  view.querySelector("button[aria-label=Play]").click();
  return t0;
}}
"""

PAUSE = f"""
() => {{
  document.querySelector({VIEW!r} + " button[aria-label=Pause]")?.click();
  return {{...document.querySelector({VIEW!r}).lnxFrameStats}};
}}
"""

# run code in the notebook's kernel (the one the view talks to); its stdout back
IN_KERNEL = """
async (code) => {
  const kernel = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
  let out = "";
  const future = kernel.requestExecute({ code });
  future.onIOPub = (msg) => {
    if (msg.header.msg_type === "stream") out += msg.content.text;
    if (msg.header.msg_type === "error") out += `ERROR ${msg.content.ename}: ${msg.content.evalue}`;
  };
  await future.done;
  return out;
}
"""

# in the kernel: frames requests answered as the comm handler answers them, timed
KERNEL_TIMING = """
import json as _json, time as _time
_times = []
for _start in range({start}, {stop}, {batch}):
    _t = _time.perf_counter()
    _reply, _buffers = viewer.handle_message({{"type": "frames", "gen": 0, "path": viewer.path,
                                              "start": _start, "count": {batch}, "plane": 0}}, [])
    _times.append([_time.perf_counter() - _t, len(_buffers), sum(len(b) for b in _buffers)])
print(_json.dumps(_times))
"""


@dataclasses.dataclass
class Playback:
    """One play of the movie: what the browser drew and what the machine was doing."""

    fps: float
    seconds: float
    frames: int = 0  # the movie's
    expected: int = 0  # frames due in `seconds` from the first frame played
    drawn: int = 0  # frames drawn in that time
    skipped: int = 0  # frames jumped over between two draws (the player never should)
    stalls: int = 0  # times the player waited for a frame (the widget's count; 1: the first)
    startup_ms: float | None = None  # Play -> the first frame played (its batch's read)
    interval_median_ms: float | None = None
    interval_p95_ms: float | None = None
    interval_max_ms: float | None = None
    draw_median_ms: float | None = None  # createImageData .. putImageData, in the browser
    draw_p95_ms: float | None = None
    batch_frames: int | None = None  # frames per reply while playing
    batch_mb: float | None = None
    reply_median_ms: float | None = None  # frames request sent -> batch received (browser)
    reply_p95_ms: float | None = None
    kernel_batch_ms: float | None = None  # the same request answered in the kernel (median)
    load_1min: float | None = None  # the machine's load average as the play started
    busy_cores: float | None = None  # all processes, during the play
    kernel_cpu_s: float | None = None
    browser_cpu_s: float | None = None
    server_cpu_s: float | None = None
    error: str | None = None

    @property
    def dropped(self) -> int:
        return max(0, self.expected - self.drawn)

    @property
    def met(self) -> bool:
        return self.error is None and self.drawn >= self.expected and self.skipped == 0

    @property
    def kernel_ms_per_frame(self) -> float | None:
        if self.kernel_batch_ms is None or not self.batch_frames:
            return None
        return self.kernel_batch_ms / self.batch_frames


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def summarize(result: Playback, t0: float, draws: list[list[float]], sent: list[float],
              received: list[list[float]]) -> Playback:
    """Fill `result` from the page's records: draws [time, frame, ms] and the socket's."""
    period = 1000.0 / result.fps
    played = [d for d in draws if d[0] >= t0]
    if not played:
        return result
    # the clock starts at the first frame played (before it, the first batch is on its way:
    # startup, reported apart); frame k is then due k periods later and drawn at the next
    # animation frame, so `expected` frames are due in the window and frame `expected` + 1
    # is not
    first = played[0][0]
    result.startup_ms = first - t0
    end = first + result.seconds * 1000 - 0.1 * period
    shown = [d for d in played if d[0] <= end]
    result.drawn = len(shown)
    result.skipped = sum(max(0, int(b[1] - a[1]) - 1) for a, b in zip(shown, shown[1:]))
    gaps = [b[0] - a[0] for a, b in zip(shown, shown[1:])]
    result.interval_median_ms = statistics.median(gaps) if gaps else None
    result.interval_p95_ms = _percentile(gaps, 0.95)
    result.interval_max_ms = max(gaps) if gaps else None
    costs = [d[2] for d in shown]
    result.draw_median_ms = statistics.median(costs) if costs else None
    result.draw_p95_ms = _percentile(costs, 0.95)
    # replies come in the order asked (the kernel answers a comm's messages one by one)
    waits = [r[0] - s for s, r in zip(sent, received) if r[0] >= s]
    result.reply_median_ms = statistics.median(waits) if waits else None
    result.reply_p95_ms = _percentile(waits, 0.95)
    if received:
        result.batch_mb = statistics.median(r[1] for r in received) / 1e6
    return result


def _cpu(processes: list[psutil.Process]) -> float:
    total = 0.0
    for p in processes:
        try:
            t = p.cpu_times()
            total += t.user + t.system
        except psutil.NoSuchProcess:
            pass
    return total


def _roles(kernel_pid: int) -> dict[str, list[psutil.Process]]:
    """The kernel, the browser's processes and the Jupyter server (all under this process)."""
    roles: dict[str, list[psutil.Process]] = {"kernel": [], "browser": [], "server": []}
    for p in psutil.Process().children(recursive=True):
        try:
            name, cmdline = p.name(), " ".join(p.cmdline())
        except psutil.NoSuchProcess:
            continue
        if p.pid == kernel_pid:
            roles["kernel"].append(p)
        elif "chrom" in name:
            roles["browser"].append(p)
        elif "jupyter-lab" in cmdline or "jupyter lab" in cmdline:
            roles["server"].append(p)
    return roles


def notebook_cells(movie: Path, fps: float) -> list[str]:
    return [
        "from lazynwb_explorer import FrameViewer\n"
        f"viewer = FrameViewer({str(movie)!r}, {SERIES!r}, fps={fps}, height=600)\n"
        "viewer",
    ]


def measure(movie: Path, seconds: float = SECONDS, fps: float = FPS) -> Playback:
    """Open the movie in a FrameViewer in a fresh JupyterLab, play it `seconds`, measure."""
    result = Playback(fps=fps, seconds=seconds, expected=int(round(seconds * fps)))
    with tempfile.TemporaryDirectory(prefix="lazynwb-playback-") as tmp:
        root = Path(tmp)
        write_notebook(root / "playback.ipynb", notebook_cells(movie, fps))
        # the kernel's caches live in the run's directory (never the user's ~/.cache)
        env = {"LAZYNWB_CACHE_DIR": str(root / "cache"), "TQDM_DISABLE": "1"}
        try:
            with jupyter_server(root, env) as (base, token), launch_bare(root / "chromium") as browser:
                page = browser.new_page()
                page.add_init_script(SOCKET_SPY)
                _play(page, f"{base}/lab/tree/playback.ipynb?token={token}", result)
        except Exception as exc:  # noqa: BLE001 - the row shows what failed, the run goes on
            result.error = " ".join(f"{type(exc).__name__}: {exc}".split())[:300]
    return result


def _play(page: Any, url: str, result: Playback) -> None:
    open_and_run(page, url, "playback.ipynb", CANVAS)
    status = page.wait_for_function(
        "(v) => { const s = document.querySelector(`${v} [role=status]`)?.textContent;"
        " return s?.startsWith('frame 1 of') && s; }", arg=VIEW, timeout=120_000)
    result.frames = int(status.split(" of ")[1].split()[0])
    page.evaluate(DRAW_SPY)
    kernel_pid = int(page.evaluate(IN_KERNEL, "import os; print(os.getpid())").strip())
    roles = _roles(kernel_pid)
    load = os.getloadavg()[0]
    machine = psutil.cpu_times()
    before = {role: _cpu(procs) for role, procs in roles.items()}
    t0 = page.evaluate(PLAY)
    page.wait_for_timeout(result.seconds * 1000 + 500)
    stats = page.evaluate(PAUSE)
    after = {role: _cpu(procs) for role, procs in roles.items()}
    machine_after = psutil.cpu_times()
    result.load_1min = load
    total = sum(machine_after) - sum(machine)
    idle = (machine_after.idle + machine_after.iowait) - (machine.idle + machine.iowait)
    result.busy_cores = (total - idle) / total * (os.cpu_count() or 1) if total > 0 else None
    result.kernel_cpu_s = after["kernel"] - before["kernel"]
    result.browser_cpu_s = after["browser"] - before["browser"]
    result.server_cpu_s = after["server"] - before["server"]
    result.stalls = int(stats.get("stalls", 0))
    draws = page.evaluate("() => window.lnxDrawSpy.draws")
    socket = page.evaluate("() => window.lnxSocketSpy")
    summarize(result, t0, draws, socket["sent"], socket["received"])
    # the kernel's share: the same batches answered in the kernel, on frames not played
    batch = int(page.evaluate(IN_KERNEL, "print(viewer.handle_message({'type': 'open', "
                                         "'path': viewer.path})[0]['batch'])").strip())
    played = max(d[1] for d in draws) + 1 if draws else 0
    start = played if result.frames - played >= batch else 0
    stop = min(result.frames, start + 4 * batch)
    out = page.evaluate(IN_KERNEL, KERNEL_TIMING.format(start=start, stop=stop, batch=batch))
    timed = json.loads(out.strip().splitlines()[-1])
    full = [t for t in timed if t[1] == batch] or timed
    result.batch_frames = batch
    result.kernel_batch_ms = statistics.median(t[0] for t in full) * 1000


def _num(value: float | None, fmt: str = ".1f") -> str:
    return "–" if value is None else f"{value:{fmt}}"


def table(result: Playback | None) -> str:
    """The README's playback table: the row, its target, and where the time goes."""
    if result is None:
        return "Not measured in this run (`--no-playback`, or a saved run from before the row)."
    title = (f"play a local 512x512 uint16 movie at {result.fps:g} fps for {result.seconds:g} s "
             "(issue 19)")
    head = ("| Task | Frames drawn / due | Dropped | Skipped | Interval median / p95 / max (ms) "
            "| Play → first frame (ms) | Target: all due frames drawn, none skipped "
            "| Machine during the play |\n"
            "|---|--:|--:|--:|--:|--:|---|---|")
    if result.error:
        return f"{head}\n| {title} | error: {result.error.replace('|', '/')} |" + " |" * 6
    mark = "✓" if result.met else "✗"
    machine = (f"load {_num(result.load_1min, '.1f')}; {_num(result.busy_cores, '.2f')} of "
               f"{os.cpu_count()} cores busy; CPU s: kernel {_num(result.kernel_cpu_s, '.2f')}, "
               f"browser {_num(result.browser_cpu_s, '.2f')}, server {_num(result.server_cpu_s, '.2f')}")
    row = (f"| {title} | {result.drawn} / {result.expected} | {result.dropped} | {result.skipped} "
           f"| {_num(result.interval_median_ms)} / {_num(result.interval_p95_ms)} / "
           f"{_num(result.interval_max_ms)} | {_num(result.startup_ms, '.0f')} | {mark} {result.drawn} of {result.expected}, "
           f"{result.dropped} dropped, {result.skipped} skipped | {machine} |")
    cost = ("\nWhere a frame's time goes (budget {budget:.1f} ms a frame): the kernel reads and "
            "encodes a batch of {batch} frames in {kernel} ms ({per} ms a frame); a batch "
            "({mb} MB) arrives {reply} ms (median; p95 {reply95}) after the browser asks for "
            "it, the comm's share being the difference; drawing a frame (contrast, colour map, "
            "putImageData) takes {draw} ms (p95 {draw95}); the player waited for a frame "
            "{stalls} times (the first included).").format(
        budget=1000 / result.fps, batch=_num(result.batch_frames, "d"),
        kernel=_num(result.kernel_batch_ms, ".0f"), per=_num(result.kernel_ms_per_frame),
        mb=_num(result.batch_mb), reply=_num(result.reply_median_ms, ".0f"),
        reply95=_num(result.reply_p95_ms, ".0f"), draw=_num(result.draw_median_ms),
        draw95=_num(result.draw_p95_ms), stalls=result.stalls)
    return f"{head}\n{row}\n{cost}"


def run(quick: bool) -> Playback:
    """The row as `make bench` runs it (`--quick`: the quick movie, 1 s)."""
    return measure(ensure_movie(quick), QUICK_SECONDS if quick else SECONDS)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.playback", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="the quick movie, 1 s")
    parser.add_argument("--seconds", type=float, help="how long to play")
    parser.add_argument("--fps", type=float, default=FPS)
    args = parser.parse_args(argv)
    seconds = args.seconds or (QUICK_SECONDS if args.quick else SECONDS)
    result = measure(ensure_movie(args.quick), seconds, args.fps)
    print(json.dumps(dataclasses.asdict(result), indent=1))
    print(table(result))
    return 0 if result.met else 1


if __name__ == "__main__":
    sys.exit(main())
