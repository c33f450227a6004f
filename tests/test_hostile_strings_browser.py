"""Hostile text inside a file stays text in every view, in a real browser.

The file (written by pynwb, then edited with h5py where pynwb would not go) carries markup in
attribute values and names, in group, table, column and series names (paths), in string and
ragged-string column values, and in file names of a multi-file grid (its `_nwb_path` column
and its error line). TreeBrowser, SchemaViewer, TableGrid, TimeSeriesPlot and the views an
Explorer composes are rendered from the built bundles in headless Chromium (Debian's, via
tests/browser_helpers.py). Each string must be visible literally, no element or handler from
the data may exist in the DOM, and none of the payloads may have run.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest
from browser_helpers import CHROMIUM, mount
from hdmf.common import DynamicTable
from pynwb import NWBHDF5IO, NWBFile, TimeSeries
from pynwb.file import Subject

import nwb_factory as nf

pytestmark = [
    pytest.mark.timeout(180),
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="needs Debian's chromium (make test installs it)"),
]

# Every payload sets window.__pwned if it ever runs; those without "/" are also used as names.
IMG = '<img src=x onerror="window.__pwned=1">'
SVG = '<svg onload="window.__pwned=3">'
LINK = '<a href="javascript:window.__pwned=4">click me'
STYLE = '<style>body{display:none}</style>'  # would hide the page if parsed (has a "/": values only)
SCRIPT = "<script>window.__pwned=2</script>"  # values only ("/" cannot be in an HDF5 name)
ENTITY = "&lt;b&gt;bold&lt;/b&gt; &amp; co"  # decoded if ever parsed as HTML: must show as typed
PAYLOADS = (IMG, SVG, LINK, SCRIPT, ENTITY, STYLE)

MODULE = IMG  # a processing module (a group in the path)
TABLE = SVG  # a DynamicTable inside it
SERIES = LINK  # a TimeSeries inside it (renamed with h5py: pynwb refuses ':' in names)
COLUMN = f"label {IMG}"  # a column name
TABLE_PATH = f"/processing/{MODULE}/{TABLE}"
SERIES_PATH = f"/processing/{MODULE}/{SERIES}"


def _write(path: Path) -> Path:
    f = NWBFile(session_description=SCRIPT, identifier=IMG, institution=ENTITY,
                experimenter=[SVG, LINK], session_start_time=nf.SESSION_START_TIME,
                subject=Subject(subject_id=IMG, description=SCRIPT, species=ENTITY))
    module = f.create_processing_module(name=MODULE, description=SCRIPT)
    table = DynamicTable(name=TABLE, description=STYLE)
    table.add_column(name=COLUMN, description=SCRIPT)
    table.add_column(name="note", description=LINK)
    for k, text in enumerate(PAYLOADS):
        table.add_row(**{COLUMN: text, "note": PAYLOADS[-1 - k]})
    module.add(table)
    module.add(TimeSeries(name="series", data=np.sin(np.arange(400) / 20.0), unit=IMG,
                          description=SCRIPT, comments=ENTITY, rate=20.0))
    f.add_unit_column("location", description=SVG)
    for k in range(12):
        f.add_unit(spike_times=[0.1 * k, 0.2 * k + 1], location=PAYLOADS[k % len(PAYLOADS)])
    f.add_trial_column("stim", description=IMG)
    f.add_trial_column("tags_text", description=ENTITY, index=True)
    for k in range(6):
        f.add_trial(start_time=float(k), stop_time=k + 0.5, stim=PAYLOADS[k],
                    tags_text=[PAYLOADS[(k + 1) % 6], PAYLOADS[(k + 2) % 6]])
    with NWBHDF5IO(str(path), "w") as io:
        io.write(f)
    with h5py.File(path, "a") as h5:  # where pynwb would not put text: names with ':' too
        h5.move(f"/processing/{MODULE}/series", SERIES_PATH)
        h5["units"].attrs[IMG] = SCRIPT
        h5["units"].attrs["remark"] = LINK
        h5["intervals/trials"].attrs[SVG] = ENTITY
        h5[TABLE_PATH].attrs["comment"] = STYLE
    return path


@pytest.fixture(scope="module")
def hostile(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("hostile")
    main = _write(root / "hostile.nwb")
    twin = root / f"twin {IMG}.nwb"  # a file name with markup (no "/": fine on POSIX)
    shutil.copyfile(main, twin)
    return {"main": main, "twin": twin, "missing": root / f"gone {SVG}.nwb"}


def _assert_inert(page: Any) -> None:
    """Nothing from the data became markup, and nothing ran. (Attribute values such as a
    tree item's data-path or a cell's title may hold the text: they are never parsed.)"""
    page.wait_for_load_state("networkidle")  # an <img src=x> would have failed by now
    found = page.evaluate("""() => {
        const root = document.getElementById('mounts');
        const tags = [...root.querySelectorAll('img, script, style, iframe, object, embed, a[href]')]
            .map((e) => e.outerHTML.slice(0, 80));
        const handlers = [...root.querySelectorAll('*')].flatMap((e) =>
            [...e.attributes].filter((a) => /^on/i.test(a.name)
                || (/^(href|xlink:href|src|srcdoc|action|formaction)$/i.test(a.name)
                    && /javascript:|onerror|<script/i.test(a.value)))
                .map((a) => `${e.tagName} ${a.name}=${a.value.slice(0, 40)}`));
        const svgs = [...root.querySelectorAll('svg')].filter((s) => s.hasAttribute('onload'));
        return {tags, handlers, svgs: svgs.length, pwned: window.__pwned === undefined ? null : window.__pwned,
                hidden: getComputedStyle(document.body).display === 'none'};
    }""")
    assert found == {"tags": [], "handlers": [], "svgs": 0, "pwned": None, "hidden": False}, found


def _visible(page: Any, selector: str) -> str:
    return page.locator(selector).inner_text()


def test_tree_schema_grid_show_hostile_text_as_text(page, bridge, hostile) -> None:
    from lazynwb_explorer.widgets import SchemaViewer, TableGrid, TreeBrowser

    main = hostile["main"]
    tree = TreeBrowser(main, selected_path=TABLE_PATH, height=500)
    mount(page, bridge.add("tree", tree), "tree")
    mount(page, bridge.add("schema", SchemaViewer(main, TABLE_PATH)), "schema")
    mount(page, bridge.add("units_schema", SchemaViewer(main, "/units")), "schema")
    mount(page, bridge.add("grid", TableGrid(main, TABLE_PATH)), "grid")
    mount(page, bridge.add("trials", TableGrid(main, "/intervals/trials")), "grid")
    page.wait_for_selector("#w-tree [role=treeitem][aria-selected=true]")
    page.wait_for_selector("#w-grid .lnx-row:not(.lnx-loading)")
    page.wait_for_selector("#w-trials .lnx-row:not(.lnx-loading)")
    page.wait_for_selector("#w-schema td")
    page.wait_for_selector("#w-units_schema td")

    selected = page.locator("#w-tree [role=treeitem][aria-selected=true]")
    assert selected.get_attribute("data-path") == TABLE_PATH  # a path, as an attribute value
    tree_text = _visible(page, "#w-tree")
    assert MODULE in tree_text and TABLE in tree_text and SERIES in tree_text
    assert TABLE_PATH in page.locator("#w-tree .lnx-snippet").inner_text()  # the code snippet
    schema_text = _visible(page, "#w-schema")
    for text in (TABLE_PATH, COLUMN, SCRIPT, LINK, STYLE):  # path, column, descriptions, attrs
        assert text in schema_text, text
    units_schema = _visible(page, "#w-units_schema")
    assert IMG in units_schema and SCRIPT in units_schema and LINK in units_schema  # attrs
    grid_text = _visible(page, "#w-grid")
    assert COLUMN in grid_text  # a header
    for text in PAYLOADS:  # the rows
        assert text in grid_text, text
    trials_text = _visible(page, "#w-trials")
    assert all(text in trials_text for text in PAYLOADS[:4])  # scalar and ragged strings
    options = page.locator("#w-grid select[aria-label='Filter column'] option").all_inner_texts()
    assert COLUMN in options
    _assert_inert(page)

    root = page.locator("#w-tree")
    root.get_by_placeholder("Search paths…").fill("onerror")  # search results are text too
    page.wait_for_selector("#w-tree [role=option]")
    assert IMG in root.get_by_role("option").first.inner_text()
    _assert_inert(page)


def test_filtering_on_hostile_values_and_multi_file_labels(page, bridge, hostile) -> None:
    from lazynwb_explorer.widgets import TableGrid

    files = [hostile["main"], hostile["twin"], hostile["missing"]]
    grid = TableGrid(files, "/units", height=420)
    root = mount(page, bridge.add("grid", grid), "grid")
    page.wait_for_selector("#w-grid .lnx-row:not(.lnx-loading)")
    text = _visible(page, "#w-grid")
    assert f"twin {IMG}.nwb" in text  # _nwb_path of the second file, as text
    error = page.locator("#w-grid [role=alert]")
    assert f"gone {SVG}.nwb" in error.inner_text()  # the missing file, named in the error line
    root.get_by_label("Filter column").select_option("location")
    root.get_by_label("Filter value").fill(SCRIPT)  # typed by a user: a query value
    root.get_by_role("button", name="Add filter").click()
    page.wait_for_function("document.querySelector('#w-grid [role=status]').textContent.startsWith('4 of')")
    root.locator(".lnx-row:not(.lnx-loading)").first.wait_for()  # the filtered page arrived
    locations = set(root.locator(".lnx-row:not(.lnx-loading)").all_inner_texts())
    assert locations and all(SCRIPT in row for row in locations)
    assert grid.filters == [{"column": "location", "op": "==", "value": SCRIPT}]
    assert SCRIPT in root.locator(".lnx-chip, [class*=chip]").first.inner_text()  # the chip
    _assert_inert(page)


def test_plot_and_explorer_views_show_hostile_text_as_text(page, bridge, hostile) -> None:
    from lazynwb_explorer.widgets import Explorer, TimeSeriesPlot

    main = hostile["main"]
    mount(page, bridge.add("plot", TimeSeriesPlot(main, SERIES_PATH, height=360)), "plot")
    explorer = Explorer(main, selected_path="/units")
    assert explorer.grid.table_path == "/units"  # the explorer routed the selection
    mount(page, bridge.add("ex_tree", explorer.tree), "tree")
    mount(page, bridge.add("ex_schema", explorer.schema), "schema")
    mount(page, bridge.add("ex_grid", explorer.grid), "grid")
    page.wait_for_selector("#w-plot .scatterlayer .trace")
    page.wait_for_selector("#w-ex_grid .lnx-row:not(.lnx-loading)")
    page.wait_for_selector("#w-ex_schema td")
    svg_text = page.locator("#w-plot .ytitle").text_content()
    assert IMG in svg_text  # the unit on the y axis, in plotly's SVG, as text
    heading = page.locator("#w-plot .lnx-name").first.text_content()
    assert heading.endswith(SERIES)  # the series' path (a hostile path component), as text
    assert all(text in _visible(page, "#w-ex_grid") for text in PAYLOADS)
    assert SVG in _visible(page, "#w-ex_schema")  # the location column's description

    explorer.selected_path = SERIES_PATH  # the explorer opens its plot for the series
    assert explorer.plot is not None and explorer.plot.series_path == SERIES_PATH
    mount(page, bridge.add("ex_plot", explorer.plot), "plot")
    page.wait_for_selector("#w-ex_plot .scatterlayer .trace")
    assert IMG in page.locator("#w-ex_plot .ytitle").text_content()
    _assert_inert(page)
