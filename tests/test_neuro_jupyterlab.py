"""The neuroscience views end to end in a real JupyterLab (the server of conftest.py's `lab`,
shared with test_widgets_jupyterlab.py), in headless Chromium, on the demo file: each view
opened from the Explorer's tree (raster, PSTH, probe, trajectory, aligned series, the plot
with bands), in the light and the dark theme, with screenshots in docs/screenshots/; the
raster zoomed while pinned below a plot: one window request each, the plot moved with it,
the cursor shared. Each view is measured where it is drawn: its chart's room, controls that
overlap or stick out, and the contrast of its text (WCAG AA) at 1400x900 and 900x800.
"""

from __future__ import annotations

import importlib.util
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser_helpers import CHROMIUM, open_tree_path, tree_item
from jupyter_server import lab_page, open_and_run, set_theme
from page_checks import contrast, overlaps

pytestmark = [
    pytest.mark.timeout(420),
    pytest.mark.skipif(importlib.util.find_spec("jupyterlab") is None, reason="needs the demo extra"),
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="needs Debian's chromium (make test installs it)"),
]
SHOTS = Path(__file__).resolve().parents[1] / "docs" / "screenshots"
THEMES = {"light": "JupyterLab Light", "dark": "JupyterLab Dark"}
SPEED = "/processing/behavior/running_speed"
POSITION = "/processing/behavior/Position/position"


@pytest.fixture
def page(browser, lab) -> Iterator[Any]:
    """A JupyterLab page recording the comm messages it sends (`page.sent`)."""
    with lab_page(browser, lab, record_sent=True) as p:
        yield p


FIRST_ROW_LABEL_JS = """(box) => {
  // ink left of the raster's plot area, level with its first row: that row's label
  const canvas = box.querySelector('canvas'), over = box.querySelector('.u-over');
  const c = canvas.getBoundingClientRect(), o = over.getBoundingClientRect();
  const rows = Number(box.dataset.rows), scale = canvas.width / c.width;
  const y = (o.top - c.top + o.height / rows / 2) * scale;
  const data = canvas.getContext('2d').getImageData(0, Math.round(y - 4 * scale),
                                                    Math.round((o.left - c.left - 6) * scale), Math.round(8 * scale)).data;
  let ink = 0;
  for (let i = 3; i < data.length; i += 4) if (data[i] > 128) ink++;
  return {rows, ink};
}"""


def _first_row_labelled(raster: Any) -> list[str]:
    """The first unit row of a raster page has its label beside it (uPlot's y scale follows the
    page's rows: a stale scale put labels beside other rows, or under the plot)."""
    found = raster.locator(".lnx-raster-box").evaluate(FIRST_ROW_LABEL_JS)
    return [] if found["ink"] >= 6 else [f"raster: no label beside the first of {found['rows']} rows {found}"]


def _requests(page: Any, kind: str, marker: str) -> int:
    """Requests of one kind the views sent to the kernel (`marker`: a key only that view's
    request has, e.g. table_path for the raster's window)."""
    pattern = re.compile(rf'"type":"{re.escape(kind)}","gen":\d+')
    return sum(1 for frame in page.sent if pattern.search(frame) and f'"{marker}"' in frame)


def _status(scope: Any) -> str:
    return scope.get_by_role("status").first.inner_text()


def _shoot(page: Any, explorer: Any, name: str, theme: str) -> list[str]:
    """A screenshot of the Explorer (named by view, theme and viewport), and what is wrong
    in it: controls that overlap or stick out, text of the panel shown (its status, legend,
    labels) and the tabs under 4.5:1 against what is painted behind it."""
    page.wait_for_timeout(300)
    size = page.viewport_size
    label = f"{name} {theme} {size['width']}x{size['height']}"
    found = overlaps(explorer)
    explorer.screenshot(path=str(SHOTS / f"{name}-{theme}-{size['width']}x{size['height']}.png"))
    problems = [f"{label}: overlap {p}" for p in found["pairs"]] + \
        [f"{label}: outside {o}" for o in found["outside"]]
    shown = explorer.locator(".lnx-panels > :not([hidden])").first
    texts = shown.locator("[role=status], .lnx-legend:not(:empty), .lnx-toolbar label").all()
    texts += explorer.locator(".lnx-tabs [role=tab]").all()
    assert texts, label
    for element in texts[:12]:
        measured = contrast(element)
        if measured["ratio"] < 4.5:
            problems.append(f"{label}: contrast {measured} of {element.inner_text()[:40]!r}")
    return problems


def _drag(page: Any, target: Any, start: float, stop: float) -> None:
    box = target.bounding_box()
    y = box["y"] + box["height"] * 0.5
    page.mouse.move(box["x"] + box["width"] * start, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * stop, y, steps=6)
    page.mouse.up()


def test_a_pinned_raster_zoomed_fetches_its_window_and_moves_the_plot(lab, page) -> None:
    base, token = lab
    page.set_viewport_size({"width": 1400, "height": 1100})  # a 900 px Explorer in view
    open_and_run(page, f"{base}/lab/tree/pinned.ipynb?token={token}", "pinned.ipynb",
                 ".lnx-raster .lnx-raster-box canvas")
    explorer = page.locator(".lnx-explorer")
    raster = explorer.locator(".lnx-panels .lnx-raster")
    page.wait_for_function("/spikes of/.test(document.querySelector('.lnx-raster [role=status]')?.textContent)")
    assert [t.inner_text() for t in explorer.get_by_role("tab").all()] == ["Raster", "PSTH", "Probe", "Table"]
    explorer.get_by_role("button", name="Pin").click()
    pinned = explorer.locator(".lnx-pinned .lnx-raster")
    page.wait_for_function("/spikes of/.test(document.querySelector('.lnx-pinned .lnx-raster [role=status]')?.textContent)")
    # the running speed in the panel, the raster pinned below: one time axis
    open_tree_path(page, explorer, "/processing", "/processing/behavior", SPEED)
    plot = explorer.locator(".lnx-panels .lnx-plot")
    plot.locator(".scatterlayer .trace").first.wait_for()
    assert raster.is_hidden() and pinned.is_visible()
    page.wait_for_function("document.querySelector('.lnx-panels .lnx-plot [role=status]').textContent.startsWith('envelope of all 36,000')")
    before = (_requests(page, "window", "table_path"), _requests(page, "window", "series_path"))
    whole = _status(pinned)
    target = pinned.locator(".lnx-raster-box .u-over")
    target.scroll_into_view_if_needed()
    _drag(page, target, 0.40, 0.45)  # 5% of ten minutes
    page.wait_for_function("(whole) => { const s = document.querySelector('.lnx-pinned .lnx-raster [role=status]').textContent;"
                           " return s !== whole && /^every spike/.test(s); }", arg=whole)
    page.wait_for_function("/^(all|envelope of all) 1,\\d{3} samples/.test(document.querySelector('.lnx-panels .lnx-plot [role=status]').textContent)")
    page.wait_for_timeout(500)  # nothing else follows
    after = (_requests(page, "window", "table_path"), _requests(page, "window", "series_path"))
    assert after[0] - before[0] == 1, (before, after)  # the raster: one request for its window
    assert after[1] - before[1] == 1, (before, after)  # the plot, moved by the link: one
    samples = int(re.search(r"all ([\d,]+) samples", _status(plot)).group(1).replace(",", ""))
    assert 1500 < samples < 2200  # ~30 s at 60 Hz: the raster's window
    ticks = [float(t) for t in plot.locator(".xtick text").all_text_contents() if t.strip()]
    assert ticks and 230 <= min(ticks) and max(ticks) <= 275
    # the cursor: the time under the pointer on the raster is a line on the plot
    explorer.scroll_into_view_if_needed()  # the plot and the pinned raster, both in view
    box = pinned.locator(".lnx-raster-box .u-over").bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + 20)
    page.wait_for_function("!document.querySelector('.lnx-panels .lnx-plot .lnx-cursor-line').hidden")
    line = plot.locator(".lnx-cursor-line").bounding_box()
    area = plot.locator(".nsewdrag").bounding_box()
    assert abs((line["x"] - area["x"]) / area["width"] - 0.5) < 0.05
    page.mouse.move(0, 0)
    problems = _shoot(page, explorer, "explorer-pinned-raster", "light")
    # scrolled down to the pinned raster, the tabs are still there to click
    hidden_tabs = explorer.get_by_role("tab").evaluate_all(
        "(tabs) => tabs.filter((t) => { const b = t.getBoundingClientRect();"
        " const hit = document.elementFromPoint(b.x + b.width / 2, b.y + b.height / 2);"
        " return !(hit && t.contains(hit)); }).map((t) => t.textContent)")
    assert page.locator(".lnx-main-pane").evaluate("(p) => p.scrollTop") > 0  # it did scroll
    problems += [f"pinned: tab {t!r} covered or out of view" for t in hidden_tabs]
    assert not problems, problems


@pytest.mark.parametrize("theme", list(THEMES))
def test_each_view_opens_from_the_tree(lab, page, theme) -> None:
    base, token = lab
    open_and_run(page, f"{base}/lab/tree/units.ipynb?token={token}", "units.ipynb",
                 ".lnx-raster .lnx-raster-box canvas")
    set_theme(page, THEMES[theme])
    page.evaluate("window.jupyterapp.commands.execute('statusbar:toggle')")
    page.evaluate("window.jupyterapp.shell.collapseLeft()")
    explorer = page.locator(".lnx-explorer")
    explorer.scroll_into_view_if_needed()
    problems: list[str] = []
    # the raster: every unit of the page, coloured by location, the rate on top
    raster = explorer.locator(".lnx-panels .lnx-raster")
    page.wait_for_function("/spikes of \\d+ of 120 units/.test(document.querySelector('.lnx-raster [role=status]')?.textContent)")
    assert raster.locator(".lnx-raster-box").bounding_box()["height"] >= 250
    assert "VISp" in raster.locator(".lnx-legend").first.inner_text()
    problems += _first_row_labelled(raster)
    problems += _shoot(page, explorer, "raster", theme)
    # the PSTH, grouped by stimulus
    explorer.get_by_role("tab", name="PSTH").click()
    psth = explorer.locator(".lnx-psth")
    psth.get_by_label("Group by").select_option("stimulus_name")
    page.wait_for_function("document.querySelectorAll('.lnx-psth .lnx-legend .lnx-swatch').length === 4")
    assert "around 120 events" in _status(psth)
    problems += _shoot(page, explorer, "psth", theme)
    # the probe: a site chosen with the keyboard selects its units; the raster shows them
    explorer.get_by_role("tab", name="Probe").click()
    probe = explorer.locator(".lnx-probe")
    page.wait_for_function("/192 sites on 2 shank/.test(document.querySelector('.lnx-probe [role=status]')?.textContent)")
    problems += _shoot(page, explorer, "probe", theme)
    probe.locator(".lnx-probe-box").focus()
    for _ in range(60):  # down the first shank until a site with units
        page.keyboard.press("ArrowDown")
        page.keyboard.press("Enter")
        if "selected" in _status(probe):
            break
    chosen = int(re.search(r"(\d+) unit\(s\) selected", _status(probe)).group(1))
    explorer.get_by_role("tab", name="Raster").click()
    page.wait_for_function(f"/ of {chosen} units/.test(document.querySelector('.lnx-raster [role=status]').textContent)")
    problems += _first_row_labelled(raster)
    page.keyboard.press("Escape")  # the raster has the focus: Escape is the notebook's
    # the trajectory of the first minute
    open_tree_path(page, explorer, "/processing", "/processing/behavior", "/processing/behavior/Position", POSITION)
    position = explorer.locator(".lnx-position")
    position.get_by_label("Window start (s)").fill("0")
    position.get_by_label("Window end (s)").fill("120")
    position.get_by_label("Window end (s)").press("Tab")
    try:
        page.wait_for_function("/^3,601 samples from 0.00 to 120.00 s/.test(document.querySelector('.lnx-position [role=status]').textContent)")
    except Exception as exc:  # say what it showed instead (once seen under a load of 8-9)
        shown = [position.get_by_label(f"Window {end} (s)").input_value() for end in ("start", "end")]
        raise AssertionError(f"trajectory: {_status(position)!r}, fields {shown}") from exc
    problems += _shoot(page, explorer, "trajectory", theme)
    # running speed: the trials as bands behind the plot, then aligned to the stimulus
    tree_item(explorer, SPEED).click()
    plot = explorer.locator(".lnx-panels .lnx-plot")
    plot.locator(".scatterlayer .trace").first.wait_for()
    plot.locator("summary", has_text="Overlays").click()
    plot.get_by_label("Intervals drawn as bands").select_option("/intervals/trials")
    plot.locator("summary", has_text="Overlays").click()
    page.wait_for_function("document.querySelectorAll('.lnx-panels .lnx-plot .layer-below path').length > 10")
    problems += _shoot(page, explorer, "plot-bands", theme)
    explorer.get_by_role("tab", name="Aligned").click()
    aligned = explorer.locator(".lnx-aligned")
    aligned.get_by_label("Group by").select_option("is_rewarded")
    page.wait_for_function("document.querySelectorAll('.lnx-aligned .lnx-legend .lnx-swatch').length === 2")
    assert _status(aligned).startswith("120 events")
    problems += _shoot(page, explorer, "aligned", theme)
    # 900x800: the same views in less room (the Explorer beside the collapsed sidebar)
    page.set_viewport_size({"width": 900, "height": 800})
    page.wait_for_timeout(800)
    explorer.scroll_into_view_if_needed()
    problems += _shoot(page, explorer, "aligned", theme)
    tree_item(explorer, "/units").click()
    page.wait_for_function("/spikes of/.test(document.querySelector('.lnx-panels .lnx-raster [role=status]')?.textContent)")
    raster.locator(".lnx-raster-box").wait_for()  # shown (its status may be the hidden one's)
    raster_box = raster.locator(".lnx-raster-box").bounding_box()
    whole = explorer.bounding_box()
    assert raster_box["height"] >= 250 and raster_box["width"] >= 300, raster_box  # beside the tree
    assert raster_box["x"] + raster_box["width"] <= whole["x"] + whole["width"] + 1
    problems += _shoot(page, explorer, "raster", theme)
    explorer.get_by_role("tab", name="PSTH").click()
    page.wait_for_function("document.querySelectorAll('.lnx-psth .lnx-legend .lnx-swatch').length >= 2")
    problems += _shoot(page, explorer, "psth", theme)
    explorer.get_by_role("tab", name="Probe").click()
    page.wait_for_function("/192 sites on 2 shank/.test(document.querySelector('.lnx-probe [role=status]')?.textContent)")
    problems += _shoot(page, explorer, "probe", theme)
    page.set_viewport_size({"width": 1400, "height": 900})
    assert not problems, problems
    set_theme(page, THEMES["light"])
    page.evaluate("window.jupyterapp.commands.execute('statusbar:toggle')")
