"""The imaging views end to end in a real JupyterLab (the suite's shared server, lab_root.py),
in headless Chromium, opened from the Explorer's tree as a person would:

- frames of a remote movie: each frame shown costs at most one HTTP request (its chunk),
  and the canvas shows that frame (the sample marks frame k at pixel (1, k));
- a local movie: playing at 30 fps draws frames without skipping (a loose lower bound, for
  a machine shared with other test runs), colour maps, a volume's planes, images (RGB pixels as
  stored), an Images container, frames in external files (listed, never opened);
- ROI masks over the mean image: a mask's pixels in its colour, hover shows its id and
  columns, clicking a mask draws its trace first, the table's filter selects ROIs and
  traces, clicking a trace picks its mask;
- light and dark, 1400x900 and 900x800 (where the ROI view puts the masks beside their
  table and the traces below): contrast of the texts, no overlapping controls, canvases at
  their pixels' aspect and inside the Explorer, channel labels that do not overlap,
  screenshots in docs/screenshots/.
"""

from __future__ import annotations

import importlib.util
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest
from browser_helpers import CHROMIUM
from jupyter_server import lab_page, open_and_run, set_theme
from lab_root import LAB, OPHYS
from page_checks import contrast, overlaps

from lazynwb_explorer.demo_ophys import EXTERNAL_FILES, roi_centres

pytestmark = [
    pytest.mark.timeout(420),
    pytest.mark.skipif(importlib.util.find_spec("jupyterlab") is None, reason="needs the demo extra"),
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="needs Debian's chromium (make test installs it)"),
]
SHOTS = Path(__file__).resolve().parents[1] / "docs" / "screenshots"
SEG = "/processing/ophys/ImageSegmentation/PlaneSegmentation"
# the notebook in front (JupyterLab keeps other tabs in the page, hidden)
EXPLORER = ".jp-NotebookPanel:not(.lm-mod-hidden) .lnx-explorer"
FRAMES = f"{EXPLORER} .lnx-frames"
ROIS = f"{EXPLORER} .lnx-rois"
WHITE = [255, 255, 255, 255]
# the pixel of a canvas at frame pixel (x, y): x down, y across
PIXEL_JS = "([sel, x, y]) => Array.from(document.querySelector(sel).getContext('2d').getImageData(y, x, 1, 1).data)"
# the fill an SVG text is painted with, as RGBA (any CSS colour syntax, read back from a canvas)
INK_JS = ("(el) => { const fill = getComputedStyle(el).fill;"
          " const ctx = document.createElement('canvas').getContext('2d');"
          " ctx.fillStyle = fill; ctx.fillRect(0, 0, 1, 1);"
          " return {fill, rgba: Array.from(ctx.getImageData(0, 0, 1, 1).data)}; }")
PALETTE = [[31, 119, 180], [255, 127, 14], [44, 160, 44], [214, 39, 40], [148, 103, 189],
           [140, 86, 75], [227, 119, 194], [188, 189, 34], [23, 190, 207], [255, 187, 120]]


@pytest.fixture
def page(browser, lab) -> Iterator[Any]:
    with lab_page(browser, lab) as p:
        yield p


def _open(page: Any, lab: tuple[str, str], notebook: str) -> Any:
    base, token = lab
    open_and_run(page, f"{base}/lab/tree/{notebook}?token={token}", notebook, f"{FRAMES} canvas")
    page.evaluate("window.jupyterapp.shell.collapseLeft()")
    _wait_status(page, FRAMES, "frame 1 of ")
    return page.locator(EXPLORER)


def _select(page: Any, explorer: Any, *parts: str) -> None:
    """Open groups in the tree by their toggles, then select the last path."""
    for path in parts[:-1]:
        item = explorer.locator(f'.lnx-tree [role=treeitem][data-path="{path}"]')
        if item.get_attribute("aria-expanded") != "true":
            item.locator(".lnx-toggle").click()
        page.wait_for_function("([e, p]) => document.querySelector(`${e} .lnx-tree [data-path='${p}']`)"
                               "?.getAttribute('aria-expanded') === 'true'", arg=[EXPLORER, path])
    explorer.locator(f'.lnx-tree [role=treeitem][data-path="{parts[-1]}"]').click()


def _wait_status(page: Any, view: str, text: str) -> None:
    page.wait_for_function("([v, t]) => document.querySelector(`${v} [role=status]`)?.textContent.includes(t)",
                           arg=[view, text])


def _pixel(page: Any, canvas: str, x: int, y: int) -> list[int]:
    return page.evaluate(PIXEL_JS, [canvas, int(x), int(y)])


def _stats(page: Any) -> dict[str, int]:
    return page.evaluate(f"({{...document.querySelector('{FRAMES}').lnxFrameStats}})")


def _chunk_bytes(path: Path, frame: int) -> int:
    with h5py.File(path, "r") as f:
        ds = f[f"{OPHYS}/data"]
        start = frame // ds.chunks[0] * ds.chunks[0]
        return ds.id.get_chunk_info_by_coord((start, 0, 0)).size


def test_remote_frames_cost_their_chunks(jupyter_lab, page, http_server, served) -> None:
    _open(page, jupyter_lab, "ophys_http.ipynb")
    canvas = f"{FRAMES} canvas.lnx-frame-canvas"
    assert _pixel(page, canvas, 0, 0) == WHITE and _pixel(page, canvas, 0, 1)[:3] == [0, 0, 0]
    assert _pixel(page, canvas, 1, 0) == WHITE  # frame 0's marker
    requests_before = _stats(page)["requests"]
    http_server.reset_stats()
    page.locator(f"{FRAMES} .lnx-frame-stage").focus()
    for k in (1, 2, 3):  # the keyboard steps a frame at a time
        page.keyboard.press("ArrowRight")
        _wait_status(page, FRAMES, f"frame {k + 1} of {LAB.frames}")
    assert _pixel(page, canvas, 1, 3) == WHITE and _pixel(page, canvas, 1, 2) != WHITE
    page.keyboard.press("End")
    _wait_status(page, FRAMES, f"frame {LAB.frames} of {LAB.frames}")
    last = LAB.frames - 1
    assert _pixel(page, canvas, 1, last % LAB.size[1]) == WHITE
    assert _stats(page)["requests"] - requests_before == 4  # one request per frame shown, no prefetch
    stats = http_server.stats
    chunks = [_chunk_bytes(served / "lab_ophys.nwb", k) for k in (1, 2, 3, last)]
    assert stats.requests <= 4, stats.log  # at most one read per frame (its chunk)
    assert stats.bytes_sent <= sum(chunks), (stats.bytes_sent, chunks)


def test_local_movie_plays_and_every_kind_of_frame_shows(jupyter_lab, page) -> None:
    explorer = _open(page, jupyter_lab, "ophys.ipynb")
    canvas = f"{FRAMES} canvas.lnx-frame-canvas"
    frames = page.locator(FRAMES)
    # play at 30 fps for three seconds: frames drawn one after another, none skipped
    frames.get_by_label("Frames per second").fill("30")
    frames.get_by_label("Frames per second").press("Enter")
    before = _stats(page)["drawn"]
    frames.get_by_role("button", name="Play").click()
    page.wait_for_timeout(3000)
    frames.get_by_role("button", name="Pause").click()
    drawn = _stats(page)["drawn"] - before
    index = int(re.search(r"frame (\d+) of", frames.get_by_role("status").inner_text()).group(1)) - 1
    assert drawn >= 45, _stats(page)  # ~90 at 30 fps; loose for a loaded machine
    assert _pixel(page, canvas, 1, index % LAB.size[1]) == WHITE  # the frame it stopped on
    # the slider, and a colour map
    page.evaluate("(s) => { const el = document.querySelector(s); el.value = '150'; "
                  "el.dispatchEvent(new Event('input', {bubbles: true})); }", f"{FRAMES} .lnx-frame-slider")
    _wait_status(page, FRAMES, "frame 151 of")
    frames.get_by_label("Colour map").select_option("viridis")
    page.wait_for_function("([s]) => document.querySelector(s).getContext('2d').getImageData(0, 0, 1, 1).data[0] === 253",
                           arg=[canvas])
    assert _pixel(page, canvas, 0, 0)[:3] == [253, 231, 37] and _pixel(page, canvas, 0, 1)[:3] == [68, 1, 84]
    assert _pixel(page, canvas, 1, 150 % LAB.size[1])[:3] == [253, 231, 37]
    frames.get_by_label("Colour map").select_option("gray")

    # a volume: its planes (each plane is 1000 brighter than the one before)
    _select(page, explorer, "/acquisition", "/acquisition/TwoPhotonSeriesVolume")
    _wait_status(page, FRAMES, "frame 1 of 40 · t = ")  # from its start
    _wait_status(page, FRAMES, "plane 1 of 3")
    limits = frames.get_by_label("Contrast limits", exact=True)
    low_first = float(limits.inner_text().split("–")[0])
    frames.get_by_label("Plane", exact=True).select_option(index=2)
    _wait_status(page, FRAMES, "plane 3 of 3")
    page.wait_for_function("([s, v]) => parseFloat(document.querySelector(s).textContent) > v + 1500",
                           arg=[f"{FRAMES} [aria-label='Contrast limits']", low_first])

    # images: RGB pixels as stored; an Images container's chooser
    _select(page, explorer, "/processing", "/processing/ophys", "/processing/ophys/ColorImages",
            "/processing/ophys/ColorImages/field_of_view")
    _wait_status(page, FRAMES, "RGBImage")
    x, y = LAB.small_size
    assert _pixel(page, canvas, 1, y // 3 + 2) == [230, 0, 0, 255]
    assert _pixel(page, canvas, x // 2 + 2, y // 2 + 2) == [0, 0, 255, 255]
    assert _pixel(page, canvas, x // 2 + 2, 1) == [0, 200, 0, 255]
    _select(page, explorer, "/processing/ophys/SummaryImages")
    _wait_status(page, FRAMES, "float32")  # the mean image first
    assert frames.get_by_label("Image", exact=True).input_value().endswith("/mean")
    frames.get_by_label("Image", exact=True).select_option(label="max_projection")
    _wait_status(page, FRAMES, f"GrayscaleImage {LAB.size[0]} × {LAB.size[1]} uint16")

    # frames in external files: listed with their first frames, never decoded
    _select(page, explorer, "/acquisition/ExternalVideo")
    _wait_status(page, FRAMES, "frame 1 of 300")
    files = frames.locator(".lnx-frame-files")
    assert all(name in files.inner_text() for name in EXTERNAL_FILES)
    frames.locator(".lnx-frame-stage").focus()
    page.keyboard.press("End")
    _wait_status(page, FRAMES, f"{EXTERNAL_FILES[1]}, frame 149")
    assert "lnx-selected" in (files.locator("tr[data-file='1']").get_attribute("class") or "")


def test_roi_masks_traces_and_table_are_linked(jupyter_lab, page, served) -> None:
    explorer = _open(page, jupyter_lab, "ophys.ipynb")
    _select(page, explorer, "/processing", "/processing/ophys", "/processing/ophys/ImageSegmentation", SEG)
    _wait_status(page, ROIS, f"{LAB.n_rois} of {LAB.n_rois} ROIs selected")
    rois = page.locator(ROIS)
    front = f"{ROIS} canvas.lnx-roi-front"
    page.wait_for_function("(s) => document.querySelector(s).width > 0", arg=front)
    page.wait_for_function(f"document.querySelectorAll('{ROIS} .scatterlayer .trace').length === 16")
    centres = np.rint(roi_centres(LAB)).astype(int)
    for row in (0, 5, 13):  # each mask drawn in its colour at its centre, over the mean image
        colour = _pixel(page, front, *centres[row])  # (un-premultiplied by the canvas: +-2)
        assert np.abs(np.subtract(colour[:3], PALETTE[row % 10])).max() <= 2 and colour[3] > 80, (row, colour)
    assert "over mean" in rois.locator(".lnx-roi-status").inner_text()

    def at(row: int | None, pixel: tuple[int, int] | None = None) -> tuple[float, float]:
        """Where on the page frame pixel (x, y) is: a ROI's centre, or `pixel`."""
        box = page.locator(front).bounding_box()
        x, y = centres[row] if row is not None else pixel
        return box["x"] + (y + 0.5) * box["width"] / LAB.size[1], box["y"] + (x + 0.5) * box["height"] / LAB.size[0]

    # hover: the ROI's id and columns; click: picked, its trace drawn first
    page.mouse.move(*at(20))
    page.wait_for_function(f"document.querySelector('{ROIS} .lnx-roi-hover').textContent.startsWith('ROI 120 ')")
    assert "cell_type" in rois.locator(".lnx-roi-hover").inner_text()
    page.mouse.click(*at(20))
    page.wait_for_function(f"[...document.querySelectorAll('{ROIS} .ytick text')].some(t => t.textContent === 'roi 120')")
    assert _pixel(page, front, *centres[20])[3] > 0
    page.mouse.click(*at(None, (0, 2)))  # no ROI there (the marker rows): none picked
    page.wait_for_function(f"![...document.querySelectorAll('{ROIS} .ytick text')].some(t => t.textContent === 'roi 120')")
    # the table's filter is the selection
    with h5py.File(served / "lab_ophys.nwb", "r") as f:
        quality = f[f"{SEG}/quality"][:]
    kept = [r for r in range(LAB.n_rois) if quality[r] >= 0.5]
    dropped = next(r for r in range(LAB.n_rois) if r not in kept)
    grid = rois.locator(".lnx-grid")
    grid.get_by_label("Filter column").select_option("quality")
    grid.get_by_label("Filter operation").select_option(">=")
    grid.get_by_label("Filter value").fill("0.5")
    grid.get_by_role("button", name="Add filter").click()
    _wait_status(page, ROIS, f"{len(kept)} of {LAB.n_rois} ROIs selected")
    page.wait_for_function(f"document.querySelectorAll('{ROIS} .scatterlayer .trace').length === {min(len(kept), 16)}")
    faint = _pixel(page, front, *centres[dropped])  # dropped by the filter: faint grey
    assert np.abs(np.subtract(faint[:3], 160)).max() <= 3 and faint[3] < 60, faint
    # a trace clicked picks its mask
    target = kept[1]
    trace = rois.locator(".scatterlayer .trace").nth(1).locator("path.js-line")
    point = trace.evaluate("(p) => { const q = p.getPointAtLength(p.getTotalLength() * 0.37);"
                           " const m = p.getScreenCTM(); return [q.x * m.a + m.e, q.y * m.d + m.f]; }")
    page.mouse.click(*point)
    page.wait_for_function(f"document.querySelector('{ROIS} .lnx-roi-hover').textContent.startsWith('picked: ROI {100 + target} ')")


VIEWPORTS = [(1400, 900), (900, 800)]


def _room(page: Any, explorer: Any, canvas: str, label: str, least: int) -> list[str]:
    """Problems with a view's geometry: overlapping controls, controls outside the Explorer,
    a canvas drawn at another aspect than its pixels, cut off, or under `least` px a side."""
    found = overlaps(explorer)
    problems = [f"{label}: overlap {p}" for p in found["pairs"]] + [f"{label}: outside {o}" for o in found["outside"]]
    box, outer = page.locator(canvas).bounding_box(), explorer.bounding_box()
    width, height = page.evaluate("(s) => [document.querySelector(s).width, document.querySelector(s).height]", canvas)
    if abs(box["width"] / box["height"] - width / height) > 0.03:
        problems.append(f"{label}: {width}x{height} canvas drawn at {box['width']:.0f}x{box['height']:.0f}")
    if min(box["width"], box["height"]) < least:
        problems.append(f"{label}: canvas drawn at {box['width']:.0f}x{box['height']:.0f}")
    if box["x"] < outer["x"] or box["x"] + box["width"] > outer["x"] + outer["width"] + 0.5 \
            or box["y"] + box["height"] > outer["y"] + outer["height"] + 0.5:
        problems.append(f"{label}: canvas {box} outside the Explorer {outer}")
    return problems


def _readable(view: Any, label: str, *selectors: str) -> list[str]:
    """Texts under WCAG AA (4.5:1) against what is painted behind them."""
    problems = []
    for selector in selectors:
        measured = contrast(view.locator(selector).first)
        if measured["ratio"] < 4.5:
            problems.append(f"{label}: {selector} {measured}")
    return problems


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_imaging_views_in_both_themes(jupyter_lab, page, theme: str) -> None:
    explorer = _open(page, jupyter_lab, "ophys.ipynb")
    set_theme(page, {"light": "JupyterLab Light", "dark": "JupyterLab Dark"}[theme])
    page.evaluate("window.jupyterapp.commands.execute('statusbar:toggle')")  # not over the shots
    problems: list[str] = []
    frames = page.locator(FRAMES)
    frames.locator(".lnx-frame-stage").focus()
    for _ in range(40):
        page.keyboard.press("ArrowRight")
    _wait_status(page, FRAMES, "frame 41 of")
    for width, height in VIEWPORTS:
        page.set_viewport_size({"width": width, "height": height})
        page.wait_for_timeout(800)  # the layout and the canvas's fit settle
        explorer.scroll_into_view_if_needed()
        label = f"{theme}-{width}x{height}"
        problems += _room(page, explorer, f"{FRAMES} canvas.lnx-frame-canvas", f"{label} frames", 300)
        problems += _readable(frames, f"{label} frames", "[role=status]", "[aria-label='Contrast limits']", "button")
        explorer.screenshot(path=str(SHOTS / f"explorer-frames-{label}.png"))
    _select(page, explorer, "/processing", "/processing/ophys", "/processing/ophys/ImageSegmentation", SEG)
    _wait_status(page, ROIS, "ROIs selected")
    page.wait_for_function(f"document.querySelectorAll('{ROIS} .scatterlayer .trace').length === 16")
    rois = page.locator(ROIS)
    if theme == "dark":  # the traces' axes are drawn in light ink (plotly may redraw its ticks: measure a live one)
        ink = page.wait_for_function(f"() => {{ const t = document.querySelector('{ROIS} .ytick text');"
                                     f" const ink = t && t.isConnected && ({INK_JS})(t);"
                                     " return ink && ink.fill ? ink : null; }").json_value()
        assert min(ink["rgba"][:3]) > 200, ink
    for width, height in reversed(VIEWPORTS):
        page.set_viewport_size({"width": width, "height": height})
        page.wait_for_timeout(800)
        explorer.scroll_into_view_if_needed()
        label = f"{theme}-{width}x{height}"
        area = rois.locator(".nsewdrag").bounding_box()
        # the traces keep room beside the masks and the table (below them, narrow: labels thinned)
        if area["height"] < (180 if width > 1000 else 140) or area["width"] < 200:
            problems.append(f"{label} rois: traces drawn in {area}")
        ticks = sorted(b["y"] for b in (t.bounding_box() for t in rois.locator(".ytick text").all()))
        if len(ticks) < 2 or min(np.diff(ticks)) < 11:  # channel labels that do not overlap
            problems.append(f"{label} rois: channel labels at {ticks}")
        if width > 1000 and len(ticks) != 16:  # with room, a label per trace
            problems.append(f"{label} rois: {len(ticks)} channel labels for 16 traces")
        problems += _room(page, explorer, f"{ROIS} canvas.lnx-roi-front", f"{label} rois",
                          200 if width > 1000 else 160)
        problems += _readable(rois, f"{label} rois", ".lnx-roi-status", ".lnx-grid [role=status]", ".lnx-head-name")
        explorer.screenshot(path=str(SHOTS / f"explorer-rois-{label}.png"))
    assert not problems, problems
    page.evaluate("window.jupyterapp.commands.execute('statusbar:toggle')")
    set_theme(page, "JupyterLab Light")
