"""Kernel side of the widgets: every message handler driven with the JSON the front end sends,
on files written by nwb_factory, with transport counters proving each page or zoom reads only
what it shows (and in under 3 rounds once the file is open)."""

from __future__ import annotations

import datetime
import io
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from pynwb import NWBHDF5IO, NWBFile, TimeSeries

import lazynwb_explorer as lazynwb
from lazynwb_explorer import get_timeseries
from lazynwb_explorer.transport import counting
from lazynwb_explorer.widgets import Explorer, SchemaViewer, TableGrid, TimeSeriesPlot, TreeBrowser
from lazynwb_explorer.widgets.grid_engine import MAX_REPLY_BYTES, encode_page
from lazynwb_explorer.widgets.registry import PANELS
from lazynwb_explorer.widgets.tree import SelectionError

import nwb_factory as nf

LONG_N = 10_000_000


def ask(widget, kind: str, gen: int = 1, **params):
    """Send one request as the browser does; fail on an error reply."""
    reply, buffers = widget.handle_message({"type": kind, "gen": gen, **params}, [])
    assert reply["type"] == kind, reply
    assert reply["gen"] == gen
    return reply, buffers


def arrow(buffers) -> pl.DataFrame:
    return pl.read_ipc(io.BytesIO(buffers[0]))


@pytest.fixture(scope="module")
def long_file(served: Path) -> Path:
    """10 million samples twice: starting_time + rate, and stored timestamps (contiguous)."""
    path = served / "long_series.nwb"
    if not path.exists():
        f = NWBFile(session_description="long", identifier="long",
                    session_start_time=nf.SESSION_START_TIME)
        data = (np.sin(np.arange(LONG_N) / 5000.0) * 100).astype(np.float32)
        f.add_acquisition(TimeSeries(name="rated", data=data, unit="mV", starting_time=0.0,
                                     rate=1000.0, conversion=2.0, offset=1.0))
        f.add_acquisition(TimeSeries(name="stamped", data=data, unit="mV",
                                     timestamps=np.arange(LONG_N) / 1000.0 + 5.0))
        with NWBHDF5IO(str(path), "w") as io_:
            io_.write(f)
    return path


# -- tree ---------------------------------------------------------------------------------

@pytest.mark.parametrize("fixture", ["rich_hdf5", "rich_zarr"])
def test_tree_children_search_reveal_snippet(fixture, request) -> None:
    path = request.getfixturevalue(fixture)
    tree = TreeBrowser(path)
    reply, _ = ask(tree, "children", path="/")
    names = [n["name"] for n in reply["nodes"]]
    assert {"acquisition", "units", "intervals"} <= set(names)
    units = next(n for n in reply["nodes"] if n["name"] == "units")
    assert units["neurodata_type"] == "Units" and units["role"] == "table" and units["expandable"]
    with counting() as c:  # the file is open: expanding costs no request
        reply, _ = ask(tree, "children", 2, path="/units")
    assert c.requests == 0
    spikes = next(n for n in reply["nodes"] if n["name"] == "spike_times")
    assert spikes["shape"] and spikes["dtype"] == "float64" and spikes["size"].endswith("B")
    reply, _ = ask(tree, "search", 3, query="SPIKE_times")
    assert "/units/spike_times" in [n["path"] for n in reply["results"]]
    reply, _ = ask(tree, "reveal", 4, path="/processing/behavior/BehavioralTimeSeries/pupil_area")
    assert list(reply["levels"])[:2] == ["/", "/processing"]
    tree.selected_path = "/units"
    assert "get_df(" in tree.snippet and "'/units'" in tree.snippet
    tree.selected_path = "/acquisition/running_speed"
    assert "get_timeseries(" in tree.snippet
    assert tree.lazyframe().collect().height == 10_000
    tree.selected_path = "/units"
    assert tree.lazyframe().select("unit_id").collect().height == 50


def test_snippet_runs(rich_hdf5) -> None:
    tree = TreeBrowser(rich_hdf5, selected_path="/intervals/trials")
    scope: dict = {}
    exec(tree.snippet, scope)  # noqa: S102 - our own generated code
    assert scope["df"].height == 40


# -- schema -------------------------------------------------------------------------------

def test_schema_table_series_dataset_group(rich_hdf5) -> None:
    viewer = SchemaViewer(rich_hdf5)
    reply, _ = ask(viewer, "schema", path="/units")
    assert reply["entity"] == "table" and reply["rows"] == 50
    cols = {c["name"]: c for c in reply["columns"]}
    assert cols["spike_times"]["ragged_depth"] == 1 and cols["spike_times"]["dtype"] == "List(Float64)"
    assert cols["waveform_mean"]["cell_shape"] == [30, 4]
    assert cols["presence_ratio"]["description"].startswith("fraction")
    assert cols["location"]["chunks"] is not None  # hdmf >= 4 writes table columns chunked
    if nf.SUPPORTS_INDEX_2:
        assert cols["spike_amplitudes_by_epoch"]["ragged_depth"] == 2
    with counting() as c:
        reply, _ = ask(viewer, "schema", 2, path="/acquisition/raw_data")
    assert c.requests == 0
    fields = reply["fields"]
    assert reply["entity"] == "series" and fields["rate"] == nf.RAW_RATE and fields["unit"] == "volts"
    assert fields["conversion"] == pytest.approx(nf.RAW_CONVERSION)
    assert fields["timestamps"] == "starting_time + rate" and reply["data"]["shape"] == [3000, 16]
    reply, _ = ask(viewer, "schema", 3, path="/units/spike_times")
    assert reply["entity"] == "dataset" and reply["dtype"] == "float64"
    reply, _ = ask(viewer, "schema", 4, path="/general")
    assert reply["entity"] == "group"
    viewer.selected_path = "/intervals/trials"
    assert viewer.lazyframe().collect().height == 40


# -- grid ---------------------------------------------------------------------------------

@pytest.mark.parametrize("fixture", ["rich_hdf5", "rich_zarr"])
def test_grid_pages_match_get_df(fixture, request) -> None:
    rich = request.getfixturevalue(fixture)
    grid = TableGrid(rich, "/units")
    info, _ = ask(grid, "info")
    assert info["total"] == 50 and not info["multi_file"]
    kinds = {c["name"]: c["kind"] for c in info["columns"]}
    assert kinds["spike_times"] == "ragged" and kinds["waveform_mean"] == "ndarray"
    reply, buffers = ask(grid, "page", 2, offset=10, limit=20)
    page = arrow(buffers)
    assert reply["count"] == 20 and page.height == 20
    expected = lazynwb.get_df(rich, "/units", exclude_array_columns=False, as_polars=True)[10:30]
    assert page["_table_index"].to_list() == list(range(10, 30))
    for name in ("unit_id", "presence_ratio", "location", "is_good"):
        assert page[name].to_list() == expected[name].to_list()
    for text, spikes in zip(page["spike_times"], expected["spike_times"]):
        assert text.startswith(f"[{len(spikes)}]")
    assert page["waveform_mean"][0].startswith("(30, 4) float32: ")
    reply, buffers = ask(grid, "page", 3, offset=40, limit=100)
    assert reply["count"] == 10  # the end of the table


def test_grid_remote_page_reads_only_its_rows(pushdown_file, locate, http_server) -> None:
    grid = TableGrid(locate(pushdown_file, "http"), "/units")
    ask(grid, "info")  # opens the file
    http_server.reset_stats()
    with counting() as c:
        reply, buffers = ask(grid, "page", 2, offset=500, limit=100)
    assert reply["count"] == 100 and arrow(buffers)["unit_id"].to_list() == list(range(5500, 5600))
    assert c.rounds < 3, c
    # 100 waveforms would be 12.6 MB: they are shown by shape only, and nothing else is big
    assert http_server.stats.bytes_sent < 1_500_000, http_server.stats
    assert len(buffers[0]) < 10 * 1024 * 1024
    with counting() as again:  # the same page is served from the kernel's page cache
        ask(grid, "page", 3, offset=500, limit=100)
    assert again.requests == 0
    with counting() as warm:  # the indexes are known now: the next page is one round
        reply, _ = ask(grid, "page", 4, offset=600, limit=100)
    assert reply["count"] == 100 and warm.rounds == 1, warm


def test_grid_filter_sort_pushdown(pushdown_file, locate) -> None:
    grid = TableGrid(locate(pushdown_file, "http"), "/units")
    filters = [{"column": "location", "op": "==", "value": "VISp"},
               {"column": "presence_ratio", "op": ">=", "value": "0.5"}]
    sort = [{"column": "presence_ratio", "descending": True}]
    info, _ = ask(grid, "info", filters=filters, sort=sort)
    local = lazynwb.get_df(pushdown_file, "/units", as_polars=True)
    expected = local.filter(pl.col("location") == "VISp", pl.col("presence_ratio") >= 0.5) \
        .sort("presence_ratio", descending=True)
    assert info["total"] == expected.height > 0 and info["unfiltered"] == 1000
    with counting() as c:  # the survivors are cached: a page reads only its rows
        _, buffers = ask(grid, "page", 2, offset=0, limit=25, filters=filters, sort=sort)
    assert c.rounds < 3
    assert arrow(buffers)["unit_id"].to_list() == expected["unit_id"][:25].to_list()
    grid.filters, grid.sort = filters, sort
    assert grid.lazyframe().select("unit_id").collect()["unit_id"].to_list() == expected["unit_id"].to_list()


def test_page_replies_are_capped() -> None:
    frame = pl.DataFrame({"text": ["x" * 400] * 30_000})  # 12 MB of text
    data, rows = encode_page(frame)
    assert len(data) <= MAX_REPLY_BYTES < 10 * 1024 * 1024 and 0 < rows < 30_000
    assert pl.read_ipc(io.BytesIO(data)).height == rows


def test_grid_bad_requests_are_error_replies(rich_hdf5) -> None:
    grid = TableGrid(rich_hdf5, "/units")
    reply, _ = grid.handle_message({"type": "page", "gen": 7, "offset": 0, "sort": [
        {"column": "nope", "descending": True}]})
    assert reply["type"] == "error" and reply["gen"] == 7 and "nope" in reply["message"]
    reply, _ = grid.handle_message({"type": "nonsense", "gen": 8})
    assert reply["type"] == "error" and "nonsense" in reply["message"]
    reply, _ = grid.handle_message(["not", "a", "dict"])
    assert reply["type"] == "error"


def test_grid_many_files_and_a_broken_one(sessions, served) -> None:
    broken = nf.write_text_file_with_nwb_suffix(served / "not_really.nwb")
    grid = TableGrid([*sessions, broken], "/intervals/trials")
    info, _ = ask(grid, "info")
    assert info["multi_file"] and info["total"] == 30 and len(info["file_errors"]) == 1
    _, buffers = ask(grid, "page", 2, offset=5, limit=10)  # spans files 0 and 1
    page = arrow(buffers)
    assert page["_nwb_path"].to_list() == [str(sessions[0])] * 5 + [str(sessions[1])] * 5
    assert page["_table_index"].to_list() == [5, 6, 7, 8, 9, 0, 1, 2, 3, 4]
    only = [{"column": "_nwb_path", "op": "==", "value": str(sessions[2])}]
    info, _ = ask(grid, "info", 3, filters=only, sort=[{"column": "start_time", "descending": True}])
    assert info["total"] == 10
    _, buffers = ask(grid, "page", 4, offset=0, limit=3, filters=only,
                     sort=[{"column": "start_time", "descending": True}])
    assert arrow(buffers)["_table_index"].to_list() == [9, 8, 7]


# -- plot ---------------------------------------------------------------------------------

@pytest.mark.parametrize("series", ["rated", "stamped"])
def test_plot_zoom_reads_only_the_window(long_file, locate, http_server, series) -> None:
    plot = TimeSeriesPlot(locate(long_file, "http"), f"/acquisition/{series}")
    reply, buffers = ask(plot, "open", width=800)
    # 10 million samples (40 or 120 MB) over the 32 MB remote budget: sampled blocks, gaps
    assert reply["n_samples"] == LONG_N and reply["mode"] == "sampled"
    assert 0 < reply["rows_read"] < LONG_N and reply["budget"] == 32 * 1024 * 1024
    assert len(buffers) == 2 and len(np.frombuffer(buffers[0])) == 2 * 800
    assert np.isnan(np.frombuffer(buffers[1])).any()
    start = 0.0 if series == "rated" else 5.0
    http_server.reset_stats()
    with counting() as c:
        reply, buffers = ask(plot, "window", 2, x0=start + 1000.0, x1=start + 1100.0, width=800)
    x, y = np.frombuffer(buffers[0]), np.frombuffer(buffers[1])
    assert c.rounds < 3, c
    # the window's rows (stored timestamps: plus the coarse index's bracket), of 120 MB
    rows = 100_001 + (0 if series == "rated" else 2 * LONG_N // 256)
    assert http_server.stats.bytes_sent < rows * (4 if series == "rated" else 12) + 100_000
    # every sample of the window, as its envelope: 800 columns, none a gap
    assert reply["mode"] == "envelope" and reply["covered"] == 800 and not np.isnan(y).any()
    assert x[0] >= start + 1000.0 and x[-1] <= start + 1100.0 and len(x) == 1600
    raw = (np.sin(np.arange(LONG_N) / 5000.0) * 100).astype(np.float32)[1_000_000:1_100_001]
    expected = raw.astype(np.float64) * (2.0 if series == "rated" else 1.0) + (1.0 if series == "rated" else 0.0)
    assert y.max() == expected.max() and y.min() == expected.min()
    plot.x_range = [start + 1000.0, start + 1000.5]
    frame = plot.lazyframe().collect()
    assert frame.columns == ["time", "value"] and frame.height == 501


def test_plot_channels_conversion_and_generations(rich_hdf5) -> None:
    plot = TimeSeriesPlot(rich_hdf5, "/acquisition/raw_data")
    reply, buffers = ask(plot, "open", 5, width=2000, channels=[1, 3])
    assert plot.n_channels == 16 and [t["channel"] for t in reply["traces"]] == [1, 3]
    assert reply["mode"] == "samples" and reply["gen"] == 5
    raw = get_timeseries(rich_hdf5, "/acquisition/raw_data").data[:, 3]
    conversion = nf.RAW_CONVERSION
    offset = nf.RAW_OFFSET if nf.TIMESERIES_SUPPORTS_OFFSET else 0.0
    np.testing.assert_allclose(np.frombuffer(buffers[2]), raw * conversion + offset)
    # channel names from the electrodes table the series points to (id and location)
    electrodes = lazynwb.get_df(rich_hdf5, "/general/extracellular_ephys/electrodes", as_polars=True)
    assert reply["labels"] == [f"e{i} {loc}" for i, loc in zip(electrodes["id"], electrodes["location"])]
    assert reply["traces"][1]["label"] == reply["labels"][3]
    reply, buffers = ask(plot, "window", 6, x0=0.01, x1=0.02, width=200, channels=[0])
    t = np.frombuffer(buffers[0])
    assert reply["gen"] == 6 and t.min() >= 0.01 and t.max() <= 0.02 and len(t) == 301
    assert reply["mode"] == "samples"


def test_plot_state_resets_for_another_series(rich_hdf5) -> None:
    plot = TimeSeriesPlot(rich_hdf5, "/acquisition/raw_data", channels=[2, 5])
    plot.x_range = [0.01, 0.05]
    ask(plot, "open", width=300)
    assert plot.n_channels == 16
    plot.series_path = "/acquisition/running_speed"
    assert plot.x_range == [] and plot.channels == [] and plot.n_channels == 0
    reply, _ = ask(plot, "open", 2, width=300)
    assert reply["n_channels"] == 1 and reply["unit"] != "volts" and plot.n_channels == 1
    # a window asked for the series shown before is answered as stale, not read or drawn
    with counting() as c:
        reply, buffers = ask(plot, "window", 3, series_path="/acquisition/raw_data", x0=0, x1=1, width=300)
    assert reply["stale"] and reply["series_path"] == "/acquisition/raw_data" and not buffers
    assert c.requests == 0


# -- explorer -----------------------------------------------------------------------------

def test_explorer_follows_selection(rich_hdf5) -> None:
    explorer = Explorer(rich_hdf5)
    assert explorer.panel is explorer.session is not None  # it opens on the session
    metadata = lazynwb.get_metadata_df(rich_hdf5, as_polars=True)
    assert explorer.lazyframe().collect().equals(metadata)
    reply, _ = ask(explorer.session, "metadata")
    session = dict(reply["sections"][0]["fields"])
    subject = dict(reply["sections"][1]["fields"])
    assert session["session_description"] == metadata["session_description"][0]
    start = datetime.datetime.fromisoformat(session["session_start_time"])  # as the file says it
    assert start == metadata["session_start_time"][0] and start.utcoffset() is not None
    assert subject["species"] == metadata["species"][0] and "age" in subject
    explorer.selected_path = "/units"
    assert explorer.tree.selected_path == "/units" and explorer.schema.selected_path == "/units"
    # a units table opens as a raster; the other views of it are tabs
    assert explorer.panel is explorer.raster and explorer.raster.table_path == "/units"
    assert [explorer.panel_names[i] for i in explorer.choices] == [
        "UnitsRaster", "PSTHView", "ProbeView", "TableGrid"]
    explorer.show_panel("TableGrid")
    assert explorer.panel is explorer.grid and explorer.grid.table_path == "/units"
    assert explorer.lazyframe().collect().height == 50
    explorer.tree.selected_path = "/acquisition/running_speed"  # as the browser would
    assert explorer.panel is explorer.plot and explorer.plot.series_path == "/acquisition/running_speed"
    assert explorer.lazyframe().collect().columns == ["time", "value"]
    explorer.plot.x_range = [1.0, 2.0]  # a zoom is the Explorer's time axis
    assert explorer.time_range == [1.0, 2.0] and explorer.raster.x_range == [1.0, 2.0]
    explorer.plot.channels = [0]
    explorer.selected_path = "/acquisition/raw_data"  # another series: its own channels, the
    assert explorer.plot.channels == []  # one time axis kept
    assert explorer.plot.x_range == [1.0, 2.0] and explorer.time_range == [1.0, 2.0]
    explorer.selected_path = "/general/subject"
    assert explorer.panel is explorer.session and explorer.schema.selected_path == "/general/subject"
    explorer.selected_path = "/units/spike_times"  # a dataset: no panel, the tree's frame
    assert explorer.panel is None and not explorer.problem and explorer.choices == []
    assert explorer.lazyframe().collect().columns == ["spike_times"]
    assert [type(p).__name__ for p in explorer.panels] == list(PANELS)


def test_explorer_bad_path_keeps_the_tree(rich_hdf5) -> None:
    explorer = Explorer(rich_hdf5, selected_path="/no/such/table")
    assert explorer.panel is None and "/no/such/table is not in" in explorer.problem
    reply, _ = ask(explorer.tree, "children", path="/")  # the tree still answers
    assert "units" in [n["name"] for n in reply["nodes"]]
    explorer.selected_path = "/units"
    assert explorer.problem == "" and explorer.panel is explorer.raster


def test_tree_lazyframe_of_an_index_and_of_2d_series(rich_hdf5) -> None:
    tree = TreeBrowser(rich_hdf5, selected_path="/units/spike_times_index")
    with pytest.raises(SelectionError, match="index of the ragged column 'spike_times'"):
        tree.lazyframe()
    tree.selected_path = "/acquisition/raw_data"
    frame = tree.lazyframe().collect()
    raw = get_timeseries(rich_hdf5, "/acquisition/raw_data").data[:]
    assert frame.schema["data"] == pl.Array(pl.Int16, 16)
    np.testing.assert_array_equal(frame["data"].to_numpy(), raw)


def test_a_failing_file_is_reported_inside_the_views(served, rich_hdf5) -> None:
    broken = nf.write_text_file_with_nwb_suffix(served / "notes.nwb")
    explorer = Explorer([broken, rich_hdf5])
    reply, _ = explorer.tree.handle_message({"type": "children", "gen": 1, "path": "/"})
    assert reply["type"] == "error" and "notes.nwb" in reply["message"]
    explorer.selected_path = "/units"  # no exception: the views answer with errors
    reply, _ = explorer.schema.handle_message({"type": "schema", "gen": 2, "path": "/units"})
    assert reply["type"] == "error"
    grid = TableGrid([broken, rich_hdf5], "/units")
    info, _ = ask(grid, "info", 3)
    assert info["total"] == 50 and "notes.nwb" in info["file_errors"][0]
    plot = TimeSeriesPlot(rich_hdf5, "/units")
    reply, _ = plot.handle_message({"type": "open", "gen": 4, "width": 500})
    assert reply["type"] == "error" and reply["gen"] == 4


def test_public_names() -> None:
    assert lazynwb.Explorer is Explorer and lazynwb.TableGrid is TableGrid


def test_every_reply_names_the_view_that_asked(rich_hdf5) -> None:
    """A model shown twice has two front-end views; the kernel's replies reach both, so each
    reply (errors and malformed requests included) names the view that asked."""
    grid = TableGrid(rich_hdf5, "/units")
    for request in ({"type": "info"}, {"type": "page", "offset": 0, "limit": 5}, {"type": "nonsense"},
                    {"type": "cell", "offset": 10**9, "column": "spike_times"}):
        reply, _ = grid.handle_message({**request, "gen": 4, "view": "second"}, [])
        assert reply["view"] == "second" and reply["gen"] == 4, reply
