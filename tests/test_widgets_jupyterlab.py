"""End to end in a real JupyterLab (and Notebook 7, served by the same server), in headless
Chromium: the demo notebook used as a person would, then the Explorer measured - in the light
and the dark theme, at 1400x900 and 900x800 - for room (the plot's drawing area), overlapping
controls, text contrast of badges and the selection (WCAG AA, from the rendered colours), keys
that must not reach the notebook, and state that must reset when the selection changes.
Screenshots of what was measured go to docs/screenshots/ (linked from the README).

One browser serves every test of this module; the server is the suite's (conftest.jupyter_lab).
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser_helpers import CHROMIUM, open_tree_path, tree_item
from jupyter_server import cell_count, lab_page, open_and_run, set_theme
from lab_root import EPHYS
from page_checks import contrast, overlaps

pytestmark = [
    pytest.mark.timeout(420),
    pytest.mark.skipif(importlib.util.find_spec("jupyterlab") is None, reason="needs the demo extra"),
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="needs Debian's chromium (make test installs it)"),
]
REPO = Path(__file__).resolve().parents[1]
SHOTS = REPO / "docs" / "screenshots"


@pytest.fixture
def page(browser, lab) -> Iterator[Any]:
    with lab_page(browser, lab) as p:
        yield p


def _units_table(explorer: Any) -> Any:
    """Select /units and show it as a table (it opens as a raster; the grid is a tab)."""
    tree_item(explorer, "/units").click()
    explorer.get_by_role("tab", name="Table").click()
    return explorer.locator(".lnx-grid")


def test_demo_notebook_in_jupyterlab(lab, page) -> None:
    base, token = lab
    open_and_run(page, f"{base}/lab/tree/notebooks/explorer.ipynb?token={token}",
                 "notebooks/explorer.ipynb", '.lnx-tree [role=treeitem][data-path="/units"]')
    explorer = page.locator(".lnx-explorer")
    assert "session description" in explorer.locator(".lnx-session").inner_text()  # opens on it

    # open /units from the tree: schema and grid (its Table tab) follow the selection
    grid = _units_table(explorer)
    grid.locator(".lnx-row:not(.lnx-loading)").first.wait_for()
    assert grid.get_by_role("status").inner_text() == "120 rows"
    assert "spike_times" in explorer.locator(".lnx-schema").inner_text()
    assert grid.locator(".lnx-row").first.inner_text().split("\n")[0] == "0"

    # filter in the grid (kernel-side), then page by scrolling
    grid.get_by_label("Filter column").select_option("presence_ratio")
    grid.get_by_label("Filter operation").select_option(">=")
    grid.get_by_label("Filter value").fill("0.9")
    grid.get_by_role("button", name="Add filter").click()
    page.wait_for_function(
        "/^\\d+ of 120 rows$/.test(document.querySelector('.lnx-panels .lnx-grid [role=status]').textContent)")
    assert grid.get_by_label("Filter column").input_value() == "presence_ratio"  # kept
    shown = int(grid.get_by_role("status").inner_text().split()[0])
    assert 0 < shown < 120
    grid.locator(".lnx-grid-scroll").evaluate("el => { el.scrollTop = el.scrollHeight; }")
    page.wait_for_function(
        f"document.querySelector('.lnx-panels .lnx-grid .lnx-row[aria-rowindex=\"{shown}\"]:not(.lnx-loading)') !== null")

    # a time series: the plot replaces the grid; zoom by dragging on the x axis
    open_tree_path(page, explorer, "/processing", "/processing/behavior", "/processing/behavior/running_speed")
    plot = explorer.locator(".lnx-panels .lnx-plot")
    plot.locator(".scatterlayer .trace").first.wait_for()
    assert grid.is_hidden()
    status = plot.get_by_role("status")
    page.wait_for_function("document.querySelector('.lnx-panels .lnx-plot [role=status]').textContent.startsWith('envelope of all 36,000')")
    drag = plot.locator(".nsewdrag")
    drag.scroll_into_view_if_needed()
    box = drag.bounding_box()
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] * 0.40, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.42, y, steps=5)
    page.mouse.up()
    page.wait_for_function(  # 2% of ten minutes at 60 Hz: every sample, drawn as it is
        "document.querySelector('.lnx-panels .lnx-plot [role=status]').textContent.startsWith('all ')")
    assert int(status.inner_text().split()[1].replace(",", "")) < 1000
    ticks = [float(t) for t in plot.locator(".xtick text").all_text_contents() if t.strip()]
    assert ticks and max(ticks) - min(ticks) < 30  # the axis shows the zoomed window


# -- the Explorer measured: both themes, two window sizes ------------------------------------

# (width, height, JupyterLab's file browser open): at 900 px with the file browser open the
# Explorer has ~470 px and stacks the tree above the rest
VIEWPORTS = [(1400, 900, True), (900, 800, False), (900, 800, True)]
THEMES = {"light": "JupyterLab Light", "dark": "JupyterLab Dark"}


def _measure(page: Any, explorer: Any, label: str) -> list[str]:
    """Problems with what is on screen: overlapping controls, controls outside the Explorer."""
    found = overlaps(explorer)
    assert found["count"] > 5, found
    return [f"{label}: overlap {p}" for p in found["pairs"]] + \
        [f"{label}: outside {o}" for o in found["outside"]]


@pytest.mark.parametrize("theme", list(THEMES))
def test_explorer_room_contrast_keys_in_both_themes(lab, page, theme) -> None:
    base, token = lab
    open_and_run(page, f"{base}/lab/tree/ephys.ipynb?token={token}", "ephys.ipynb",
                 ".lnx-panels .lnx-plot .scatterlayer .trace")
    explorer = page.locator(".lnx-explorer")
    ticks = explorer.locator(".lnx-panels .lnx-plot .xtick text").first
    drawn_in = ticks.evaluate("el => getComputedStyle(el).fill")
    set_theme(page, THEMES[theme])
    if theme == "dark":  # drawn in the light theme, the plot follows the switch without a redraw
        page.wait_for_function("(before) => getComputedStyle(document.querySelector("
                               "'.lnx-panels .lnx-plot .xtick text')).fill !== before", arg=drawn_in)
        channels = [int(c) for c in ticks.evaluate("el => getComputedStyle(el).fill")
                    .split("(")[1].split(")")[0].split(",")[:3]]
        assert min(channels) > 200, channels  # light text on the dark background
    page.evaluate("window.jupyterapp.commands.execute('statusbar:toggle')")  # not over the shots
    problems: list[str] = []
    for width, height, sidebar in VIEWPORTS:
        page.set_viewport_size({"width": width, "height": height})
        page.evaluate(f"window.jupyterapp.shell.{'expandLeft' if sidebar else 'collapseLeft'}()")
        page.wait_for_timeout(800)  # layout and plotly's resize settle
        explorer.scroll_into_view_if_needed()
        label = f"{theme} {width}x{height}{'' if sidebar or width > 1000 else ' sidebar closed'}"
        name = f"{theme}-{width}x{height}{'-narrow' if sidebar and width < 1000 else ''}"
        # the plot: stacked channels, every sample's envelope, a drawing area of 300 px or more
        plot = explorer.locator(".lnx-panels .lnx-plot")
        page.wait_for_function("document.querySelectorAll('.lnx-panels .lnx-plot .scatterlayer .trace').length === 16")
        area = plot.locator(".nsewdrag").bounding_box()
        assert area["height"] >= 300, (label, area)
        assert area["width"] >= 200, (label, area)
        box = explorer.bounding_box()
        assert box["x"] <= area["x"] and area["x"] + area["width"] <= box["x"] + box["width"]
        assert plot.get_by_role("status").inner_text().startswith("envelope of all 300,000 samples")
        problems += _measure(page, explorer, f"{label} plot")
        explorer.screenshot(path=str(SHOTS / f"explorer-plot-{name}.png"))
        # the selected row and the badges are readable (WCAG AA: 4.5:1)
        selected = explorer.locator(".lnx-tree .lnx-selected .lnx-name")
        ratios = {"selected row": contrast(selected)}
        for k, badge in enumerate(explorer.locator(".lnx-tree .lnx-item .lnx-badge").all()[:6]):
            ratios[f"badge {k}"] = contrast(badge)
        ratios["selected badge"] = contrast(explorer.locator(".lnx-tree .lnx-selected .lnx-badge"))
        for name, measured in ratios.items():
            assert measured["ratio"] >= 4.5, (label, name, measured)
    # the grid and the session panel, stacked (900 px, file browser open) and beside the tree
    for sidebar in (True, False):
        page.evaluate(f"window.jupyterapp.shell.{'expandLeft' if sidebar else 'collapseLeft'}()")
        page.wait_for_timeout(500)
        name = f"{theme}-900x800{'-narrow' if sidebar else ''}"
        _units_table(explorer)
        explorer.locator(".lnx-grid .lnx-row:not(.lnx-loading)").first.wait_for()
        problems += _measure(page, explorer, f"{name} grid")
        explorer.screenshot(path=str(SHOTS / f"explorer-grid-{name}.png"))
        tree_item(explorer, "/general").click()
        explorer.locator(".lnx-session td").first.wait_for()
        problems += _measure(page, explorer, f"{name} session")
    explorer.screenshot(path=str(SHOTS / f"explorer-session-{theme}-900x800.png"))
    assert not problems, problems

    # typing in the tree and in its search box never edits the notebook
    cells = cell_count(page)
    tree_item(explorer, "/units").click()
    page.keyboard.press("a")  # the tree's type-ahead: to 'acquisition'
    page.keyboard.press("b")
    page.keyboard.press("d")
    page.keyboard.press("d")
    page.keyboard.press("ArrowDown")
    assert cell_count(page) == cells
    assert page.evaluate("document.activeElement.closest('.lnx-tree') !== null")
    search = explorer.get_by_label("Search paths")
    search.click()
    page.keyboard.type("abd")
    assert search.input_value() == "abd" and cell_count(page) == cells
    search.fill("running")
    option = explorer.get_by_role("option").first
    option.wait_for()
    page.keyboard.press("ArrowDown")  # into the results
    assert page.evaluate("document.activeElement.getAttribute('role')") == "option"
    page.keyboard.press("Escape")  # closes them
    assert explorer.get_by_role("listbox").is_hidden()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")  # the first result, chosen with the keyboard
    page.wait_for_selector('.lnx-tree [role=treeitem][data-path="/processing/behavior/running_speed"][aria-selected=true]')
    assert cell_count(page) == cells
    set_theme(page, THEMES["light"])
    page.evaluate("window.jupyterapp.commands.execute('statusbar:toggle')")


def test_switching_selection_resets_view_state_but_keeps_the_time_axis(lab, page) -> None:
    base, token = lab
    open_and_run(page, f"{base}/lab/tree/ephys.ipynb?token={token}", "ephys.ipynb",
                 ".lnx-panels .lnx-plot .scatterlayer .trace")
    explorer = page.locator(".lnx-explorer")
    plot = explorer.locator(".lnx-panels .lnx-plot")
    page.wait_for_function("document.querySelectorAll('.lnx-panels .lnx-plot .scatterlayer .trace').length === 16")
    # pick channels and zoom on the ElectricalSeries
    plot.locator("summary", has_text="Channels").click()
    plot.locator(".lnx-channel-list input").nth(20).check()
    page.wait_for_function("document.querySelectorAll('.lnx-plot .scatterlayer .trace').length === 17")
    plot.locator("summary", has_text="Channels").click()
    drag = plot.locator(".nsewdrag")
    box = drag.bounding_box()
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] * 0.2, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.3, y, steps=5)
    page.mouse.up()
    page.wait_for_function(  # a tenth of the series: the zoomed window
        "/^envelope of all [23]\\d,\\d{3} samples/.test(document.querySelector('.lnx-panels .lnx-plot [role=status]').textContent)")
    assert "channels (volts)" in plot.locator(".ytitle").text_content()
    # another series: its own unit, no channel picker, the same time window (the Explorer's
    # one time axis: a second of running speed at 60 Hz)
    open_tree_path(page, explorer, "/processing", "/processing/behavior", "/processing/behavior/running_speed")
    page.wait_for_function("document.querySelector('.lnx-plot .ytitle')?.textContent === 'value (cm/s)'")
    page.wait_for_function("/^all \\d{2,3} samples in view/.test(document.querySelector('.lnx-plot [role=status]').textContent)")
    assert plot.locator(".lnx-channels").is_hidden() and plot.locator(".scatterlayer .trace").count() == 1
    # a table scrolled down and right, then another table: at its top left
    _units_table(explorer)
    scroller = explorer.locator(".lnx-grid .lnx-grid-scroll")
    explorer.locator(".lnx-grid .lnx-row:not(.lnx-loading)").first.wait_for()
    scroller.evaluate("el => { el.scrollTop = 1500; el.scrollLeft = 400; }")
    page.wait_for_function("document.querySelector('.lnx-panels .lnx-grid .lnx-grid-scroll').scrollTop > 0")
    open_tree_path(page, explorer, "/intervals", "/intervals/trials")
    page.wait_for_function("[...document.querySelectorAll('.lnx-panels .lnx-grid .lnx-head-name')]"
                           ".some(h => h.textContent === 'stimulus_name')")
    assert scroller.evaluate("el => [el.scrollTop, el.scrollLeft]") == [0, 0]
    # back to the ElectricalSeries: the first 16 channels, in the same window
    open_tree_path(page, explorer, "/acquisition", EPHYS)
    page.wait_for_function(
        "/^envelope of all [23]\\d,\\d{3} samples/.test(document.querySelector('.lnx-plot [role=status]').textContent)")
    assert plot.locator(".scatterlayer .trace").count() == 16
    assert plot.locator("summary", has_text="Channels").inner_text() == "Channels (16 of 32)"


def test_a_bad_path_shows_its_error_beside_a_working_tree(lab, page) -> None:
    base, token = lab
    open_and_run(page, f"{base}/lab/tree/bad.ipynb?token={token}", "bad.ipynb",
                 '.lnx-tree [role=treeitem][data-path="/units"]')
    explorer = page.locator(".lnx-explorer")
    problem = explorer.locator(".lnx-main-pane .lnx-panels > .lnx-error")
    problem.wait_for()
    assert "/units/nowhere is not in" in problem.inner_text()
    assert explorer.locator(".lnx-tree [role=treeitem]").count() >= 5  # the tree is there
    _units_table(explorer)  # and works
    explorer.locator(".lnx-grid .lnx-row:not(.lnx-loading)").first.wait_for()
    assert problem.is_hidden()


def test_explorer_in_notebook_7(lab, page) -> None:
    base, token = lab
    open_and_run(page, f"{base}/notebooks/ephys_nb7.ipynb?token={token}", "ephys_nb7.ipynb",
                 ".lnx-panels .lnx-plot .scatterlayer .trace")
    assert page.evaluate("!!document.querySelector('#main-panel, .jp-NotebookPanel')")
    explorer = page.locator(".lnx-explorer")
    assert explorer.locator(".lnx-panels .lnx-plot .nsewdrag").bounding_box()["height"] >= 300
    cells = cell_count(page)
    _units_table(explorer)
    explorer.locator(".lnx-grid .lnx-row:not(.lnx-loading)").first.wait_for()
    tree_item(explorer, "/units").click()  # the tree keeps the focus
    page.keyboard.press("a")
    page.keyboard.press("b")
    assert cell_count(page) == cells
    explorer.get_by_label("Filter value").fill("abc")
    assert cell_count(page) == cells
