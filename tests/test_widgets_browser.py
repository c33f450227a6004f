"""The built front ends in headless Chromium, on a stub page bridged to the real Python views
(tests/browser_helpers.py): tree keyboard navigation, grid scroll -> page requests, filters,
plot zoom -> window requests (stale replies dropped), and hostile file contents shown as text."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from browser_helpers import CHROMIUM, mount
from hdmf.common import DynamicTable
from pynwb import NWBHDF5IO, NWBFile, TimeSeries

import lazynwb_explorer as lazynwb
from lazynwb_explorer.widgets import SchemaViewer, TableGrid, TimeSeriesPlot, TreeBrowser

import nwb_factory as nf

pytestmark = [
    pytest.mark.timeout(120),
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="needs Debian's chromium (make test installs it)"),
]

IMG = '<img src=x onerror="window.__pwned=1">'
SCRIPT = "<script>window.__pwned=2</script>"


@pytest.fixture(scope="module")
def hostile_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("hostile") / "hostile.nwb"
    f = NWBFile(session_description=SCRIPT, identifier="hostile",
                session_start_time=nf.SESSION_START_TIME)
    module = f.create_processing_module(name=IMG, description=SCRIPT)
    table = DynamicTable(name="evil_table", description=IMG)
    table.add_column(name="label", description=SCRIPT)
    table.add_row(label=IMG)
    table.add_row(label=SCRIPT)
    module.add(table)
    module.add(TimeSeries(name="evil_series", data=np.arange(50.0), unit=IMG, rate=10.0))
    with NWBHDF5IO(str(path), "w") as io:
        io.write(f)
    return path


def test_tree_keyboard_navigation(page, bridge, rich_hdf5) -> None:
    tree = TreeBrowser(rich_hdf5, height=400)
    root = mount(page, bridge.add("tree", tree), "tree")
    assert root.get_by_role("tree").count() == 1
    first = root.get_by_role("treeitem").first
    first.wait_for()
    assert first.get_attribute("data-path") == "/acquisition" and "acquisition" in first.inner_text()
    assert first.get_attribute("aria-expanded") == "false"
    first.focus()
    page.keyboard.press("ArrowRight")  # opens acquisition: its children are requested now
    page.wait_for_function("document.querySelector('[data-path=\"/acquisition\"]').getAttribute('aria-expanded') === 'true'")
    assert [r["path"] for r in bridge.wait_sent("children", 2)] == ["/", "/acquisition"]
    page.keyboard.press("ArrowRight")  # to the first child
    focused = page.evaluate("document.activeElement.dataset.path")
    assert focused.startswith("/acquisition/") and page.evaluate("document.activeElement.getAttribute('aria-level')") == "2"
    page.keyboard.press("ArrowDown")
    second = page.evaluate("document.activeElement.dataset.path")
    assert second != focused and second.startswith("/acquisition/")
    page.keyboard.press("Enter")
    page.wait_for_function(f"document.querySelector('[data-path=\"{second}\"]').getAttribute('aria-selected') === 'true'")
    page.wait_for_function("document.querySelector('.lnx-snippet').textContent.includes('get_timeseries')")
    assert tree.selected_path == second
    page.keyboard.press("ArrowLeft")  # to the parent, then close it
    assert page.evaluate("document.activeElement.dataset.path") == "/acquisition"
    page.keyboard.press("ArrowLeft")
    page.wait_for_function("document.querySelector('[data-path=\"/acquisition\"]').getAttribute('aria-expanded') === 'false'")
    page.keyboard.press("End")
    assert page.evaluate("document.activeElement.dataset.path") == "/timestamps_reference_time"
    root.get_by_placeholder("Search paths…").fill("pupil")
    option = root.get_by_role("option").first
    option.wait_for()
    option.click()  # selects and reveals the path inside the tree
    pupil = "/processing/behavior/BehavioralTimeSeries/pupil_area"
    page.wait_for_selector(f'[role=treeitem][data-path="{pupil}"][aria-selected=true]')
    assert tree.selected_path == pupil


def test_grid_scroll_requests_pages_and_filters(page, bridge, pushdown_file) -> None:
    grid = TableGrid(pushdown_file, "/units", height=420)
    root = mount(page, bridge.add("grid", grid), "grid")
    root.locator(".lnx-row:not(.lnx-loading)").first.wait_for()
    assert root.get_by_role("status").inner_text() == "1,000 rows"
    page.wait_for_function("window.models.grid.sent.filter(m => m.type === 'page').length >= 2")
    assert [r["offset"] for r in bridge.wait_sent("page", 2)][:2] == [0, 100]  # the next page prefetched
    root.locator(".lnx-grid-scroll").evaluate("el => { el.scrollTop = 520 * 24; }")
    page.wait_for_selector('#w-grid .lnx-row[aria-rowindex="521"]:not(.lnx-loading)')
    assert 500 in [r["offset"] for r in bridge.sent("page")]
    row = root.locator('.lnx-row[aria-rowindex="521"]').inner_text().split("\n")
    assert row[:3] == ["520", "520", "5520"]  # _table_index, id, unit_id
    root.get_by_label("Filter column").select_option("location")
    root.get_by_label("Filter value").fill("VISp")
    root.get_by_role("button", name="Add filter").click()
    page.wait_for_function("document.querySelector('#w-grid [role=status]').textContent === '200 of 1,000 rows'")
    assert grid.filters == [{"column": "location", "op": "==", "value": "VISp"}]
    root.locator(".lnx-row:not(.lnx-loading)").first.wait_for()
    locations = root.locator(".lnx-row .lnx-cell:nth-child(5)").all_inner_texts()
    assert locations and set(locations) == {"VISp"}
    root.get_by_role("columnheader", name="presence_ratio").click()  # sort ascending
    page.wait_for_function("document.querySelector('#w-grid [aria-sort=ascending]') !== null")
    assert grid.sort == [{"column": "presence_ratio", "descending": False}]
    root.get_by_label("Remove filter").click()
    page.wait_for_function("document.querySelector('#w-grid [role=status]').textContent === '1,000 rows'")


def test_plot_zoom_requests_window_and_drops_stale(page, bridge, rich_hdf5) -> None:
    plot = TimeSeriesPlot(rich_hdf5, "/acquisition/running_speed", height=380)
    root = mount(page, bridge.add("plot", plot), "plot")
    root.locator(".scatterlayer .trace").first.wait_for()
    status = root.get_by_role("status")
    assert status.inner_text().startswith("envelope of all 10,000 samples in view")
    box = root.locator(".nsewdrag").bounding_box()
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] * 0.3, y)  # drag a zoom box on the x axis
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.4, y, steps=5)
    page.mouse.up()
    page.wait_for_function("window.models.plot.sent.some(m => m.type === 'window')")
    request = bridge.wait_sent("window")[0]
    assert 0 < request["x0"] < request["x1"] < 200 and request["width"] > 100
    page.wait_for_function("window.models.plot.get('x_range').length === 2")
    assert plot.x_range == pytest.approx([request["x0"], request["x1"]])
    # 10% of 10,000 samples fit the plot's width: every sample is drawn as it is
    page.wait_for_function("document.querySelector('#w-plot [role=status]').textContent.startsWith('all ')")
    # stale replies: the first of two windows answers last and must not be drawn
    bridge.delays["window"] = [1500, 0]
    gd = "document.querySelector('#w-plot .js-plotly-plot')"
    page.evaluate(f"() => {{ const gd = {gd}; gd.emit('plotly_relayout', {{'xaxis.range[0]': 10, 'xaxis.range[1]': 20}}); }}")
    page.wait_for_function("window.models.plot.sent.filter(m => m.type === 'window').length === 2")
    page.evaluate(f"() => {{ const gd = {gd}; gd.emit('plotly_relayout', {{'xaxis.range[0]': 100, 'xaxis.range[1]': 110}}); }}")
    page.wait_for_function("window.models.plot.sent.filter(m => m.type === 'window').length === 3")
    page.wait_for_function(f"{gd}.data[0].x[0] >= 100")
    page.wait_for_timeout(1800)  # the stale reply has arrived by now
    assert page.evaluate(f"{gd}.data[0].x[0]") >= 100
    assert page.evaluate(f"{gd}.data[0].x[{gd}.data[0].x.length - 1]") <= 110


def test_hostile_strings_render_as_text(page, bridge, hostile_file) -> None:
    table = f"/processing/{IMG}/evil_table"
    tree = TreeBrowser(hostile_file, selected_path=table)
    mount(page, bridge.add("tree", tree), "tree")
    mount(page, bridge.add("schema", SchemaViewer(hostile_file, table)), "schema")
    mount(page, bridge.add("grid", TableGrid(hostile_file, table)), "grid")
    mount(page, bridge.add("plot", TimeSeriesPlot(hostile_file, f"/processing/{IMG}/evil_series")), "plot")
    page.wait_for_selector('#w-tree [role=treeitem][aria-selected=true]')
    page.wait_for_selector("#w-grid .lnx-row:not(.lnx-loading)")
    page.wait_for_selector("#w-plot .scatterlayer .trace")
    page.wait_for_selector("#w-schema td")
    text = page.locator("#mounts").text_content()
    assert IMG in text and SCRIPT in text  # shown literally
    assert IMG in page.locator("#w-plot .ytitle").text_content()  # the unit, in plotly's SVG
    assert page.locator("#mounts img, #mounts script").count() == 0
    assert page.evaluate("window.__pwned") is None
    assert IMG in page.locator("#w-grid").inner_text()


def test_grid_cell_in_full_and_region_link(page, bridge, rich_hdf5) -> None:
    grid = TableGrid(rich_hdf5, "/units", height=560)
    root = mount(page, bridge.add("grid", grid), "grid")
    root.locator(".lnx-row:not(.lnx-loading)").first.wait_for()
    headers = root.locator(".lnx-head-cell .lnx-head-name").all_inner_texts()
    expected = lazynwb.get_df(rich_hdf5, "/units", exclude_array_columns=False, as_polars=True)

    def cell(row: int, column: str) -> Any:
        return root.locator(f'.lnx-row[aria-rowindex="{row + 1}"] .lnx-cell:nth-child({headers.index(column) + 1})')

    # a ragged cell opens below the grid: every value, at full precision, with a histogram
    cell(0, "spike_times").click()
    view = root.get_by_role("region", name="Cell value")
    view.locator("canvas[data-kind=histogram]").wait_for()
    values = [float(v) for v in view.locator("pre").inner_text().split(", ")]
    assert values == expected["spike_times"][0].to_list()
    view.locator("pre").focus()
    page.keyboard.press("Escape")
    assert view.is_hidden()
    # a scalar keeps its full value on hover
    shown = cell(0, "presence_ratio")
    assert float(shown.get_attribute("title")) == expected["presence_ratio"][0]
    # a region cell is a link to the rows it names in its table
    referenced = sorted(set(expected["electrodes"][3].to_list()))
    cell(3, "electrodes").get_by_role("button").click()
    page.wait_for_function(
        f"document.querySelector('#w-grid [role=status]').textContent === '{len(referenced)} of 16 rows'")
    assert grid.table_path == "/general/extracellular_ephys/electrodes"
    page.wait_for_function(f"document.querySelectorAll('#w-grid .lnx-row:not(.lnx-loading)').length === {len(referenced)}")
    ids = root.locator(".lnx-row:not(.lnx-loading) .lnx-cell:nth-child(1)").all_inner_texts()
    assert [int(i) for i in ids] == referenced
    assert "_table_index in" in root.locator(".lnx-chip").first.inner_text()
    # the sort arrow of a header stays inside its cell
    root.get_by_role("columnheader", name="location").click()
    page.wait_for_selector("#w-grid [aria-sort=ascending] .lnx-sort")
    header = root.locator("[aria-sort=ascending]").bounding_box()
    arrow = root.locator("[aria-sort=ascending] .lnx-sort").bounding_box()
    assert arrow["width"] > 0 and arrow["x"] + arrow["width"] <= header["x"] + header["width"]


def test_a_click_survives_rows_drawn_again_under_it(page, bridge, rich_hdf5) -> None:
    """A press on a ragged cell, then the rows drawn again (as when another page arrives, or a
    scroll), then the release: the cell view opens, as the user clicked a cell."""
    root = mount(page, bridge.add("grid", TableGrid(rich_hdf5, "/units", height=560)), "grid")
    root.locator(".lnx-row:not(.lnx-loading)").first.wait_for()
    headers = root.locator(".lnx-head-cell .lnx-head-name").all_inner_texts()
    target = root.locator(f'.lnx-row[aria-rowindex="1"] .lnx-cell:nth-child({headers.index("spike_times") + 1})')
    target.scroll_into_view_if_needed()
    box = target.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.evaluate("""() => new Promise((done) => {
        document.querySelector('#w-grid .lnx-grid-scroll').dispatchEvent(new Event('scroll'));
        requestAnimationFrame(() => requestAnimationFrame(done));
    })""")
    page.mouse.up()
    root.get_by_role("region", name="Cell value").locator("pre").wait_for(timeout=5000)
