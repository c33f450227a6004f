"""The imaging views' kernel side: FrameViewer and RoiViewer answer the browser's requests with
what pynwb reads (frames as codes in binary buffers, decoded back to the stored values), the
ROI selection follows the table's filter, a picked mask and a clicked trace point at each
other, the Explorer picks these panels from the tree and shares their time, and every view's
snippet runs and reads what the view shows.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from test_widgets_kernel import ask

from lazynwb_explorer import Explorer, FrameViewer, RoiViewer
from lazynwb_explorer.demo_ophys import SMALL, roi_centres
from lazynwb_explorer.widgets import frame_codec

SEG = "/processing/ophys/ImageSegmentation"
PLANE = f"{SEG}/PlaneSegmentation"


@pytest.fixture(scope="module")
def oracle(ophys_hdf5):
    from pynwb import NWBHDF5IO

    with NWBHDF5IO(str(ophys_hdf5), "r") as io:
        yield io.read()


def _decoded(reply, buffers, k=0):
    return frame_codec.decode(reply["encodings"][k], buffers[k])


# -- the codec ----------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["uint8", "uint16", "int8", "int16", "bool", "int32", "uint64", "float32", "float64"])
def test_codes_give_the_stored_values_back(dtype: str) -> None:
    rng = np.random.default_rng(7)
    values = (rng.normal(0, 1000, (13, 17)) if dtype.startswith("float") else
              rng.integers(0, 2, (13, 17)) if dtype == "bool" else
              rng.integers(np.iinfo(dtype).min, np.iinfo(dtype).max, (13, 17), endpoint=True, dtype=dtype))
    values = values.astype(dtype)
    encoding, data = frame_codec.encode(values)
    assert encoding["dtype"] in ("uint8", "uint16") and len(data) == values.size * (2 if encoding["dtype"] == "uint16" else 1)
    back = frame_codec.decode(encoding, data)
    exact = dtype in ("uint8", "uint16", "int8", "int16", "bool")
    if exact:
        np.testing.assert_array_equal(back, values.astype(np.float64))
    else:  # scaled onto 65,536 levels between the frame's extremes
        np.testing.assert_allclose(back, values.astype(np.float64), atol=encoding["scale"] / 2 + 1e-9 * np.abs(values).max())
    nan = np.array([[np.nan, 1.0], [np.inf, 3.0]])
    encoding, data = frame_codec.encode(nan)
    assert encoding["nonfinite"] == 2 and frame_codec.decode(encoding, data)[1, 1] == 3.0


# -- FrameViewer --------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/acquisition/TwoPhotonSeries", "/acquisition/TwoPhotonSeriesVolume",
                                  "/acquisition/OnePhotonSeries", "/acquisition/BehaviorCamera"])
def test_frame_replies_are_the_frames_pynwb_reads(ophys_hdf5, oracle, path: str) -> None:
    series = oracle.acquisition[path.rsplit("/", 1)[-1]]
    viewer = FrameViewer(str(ophys_hdf5), path)
    opened, _ = ask(viewer, "open")
    assert opened["kind"] == "movie" and opened["n_frames"] == series.data.shape[0]
    plane = opened["planes"] - 1
    reply, buffers = ask(viewer, "frame", index=7, plane=plane)
    expected = series.data[7][..., plane] if opened["planes"] > 1 else series.data[7]
    np.testing.assert_allclose(_decoded(reply, buffers), expected, atol=reply["encodings"][0]["scale"] / 2)
    times = series.timestamps[:] if series.timestamps is not None else \
        series.starting_time + np.arange(series.data.shape[0]) / series.rate
    assert reply["frames"][0]["time"] == pytest.approx(times[7])
    batch, buffers = ask(viewer, "frames", gen=2, start=3, count=5, plane=plane)
    assert batch["count"] == len(buffers) == 5
    for k in range(5):
        want = series.data[3 + k][..., plane] if opened["planes"] > 1 else series.data[3 + k]
        np.testing.assert_allclose(_decoded(batch, buffers, k), want, atol=batch["encodings"][k]["scale"] / 2)
    seek, _ = ask(viewer, "seek", gen=3, time=float(times[11]) + 1e-6)
    assert seek["index"] == 11
    viewer.index, viewer.plane = 4, plane
    np.testing.assert_array_equal(viewer.frame(), series.data[4][..., plane] if opened["planes"] > 1
                                  else series.data[4])
    scope: dict = {}
    exec(viewer.snippet, scope)  # noqa: S102 - our own generated code
    np.testing.assert_array_equal(scope["frame"], viewer.frame())


def test_batches_stay_under_the_reply_budget(ophys_hdf5, monkeypatch) -> None:
    from lazynwb_explorer.widgets import frames as frames_view

    monkeypatch.setattr(frames_view, "REPLY_BYTES", 3 * SMALL.size[0] * SMALL.size[1] * 2)
    viewer = FrameViewer(str(ophys_hdf5), "/acquisition/TwoPhotonSeries")
    opened, _ = ask(viewer, "open")
    reply, buffers = ask(viewer, "frames", start=0, count=50)
    assert opened["batch"] == reply["count"] == len(buffers) == 3


def test_images_external_frames_and_lazyframes(ophys_hdf5, oracle) -> None:
    viewer = FrameViewer(str(ophys_hdf5), "/processing/ophys/SummaryImages")
    opened, _ = ask(viewer, "open")
    assert viewer.kind == "images" and [i["name"] for i in opened["images"]] == ["mean", "max_projection", "correlation"]
    assert viewer.image.endswith("/mean")  # the mean image first
    reply, buffers = ask(viewer, "image", gen=2, image="/processing/ophys/SummaryImages/max_projection")
    peak = oracle.processing["ophys"]["SummaryImages"]["max_projection"].data[:]
    np.testing.assert_array_equal(frame_codec.decode(reply["encoding"], buffers[0]), peak)
    bad = viewer.handle_message({"type": "image", "gen": 3, "image": "/acquisition/TwoPhotonSeries/data"})[0]
    assert bad["type"] == "error" and "not an image of the selection" in bad["message"]
    viewer.show("/processing/ophys/ColorImages/overlay")
    reply, buffers = ask(viewer, "image", gen=4)
    rgba = oracle.processing["ophys"]["ColorImages"]["overlay"].data[:]
    assert reply["encoding"]["channels"] == 4
    np.testing.assert_array_equal(frame_codec.decode(reply["encoding"], buffers[0]), rgba)
    table = viewer.lazyframe().collect()
    assert table.height == rgba.size and table.filter((pl.col("x") == 3) & (pl.col("y") == 5))["value"].to_list() == list(rgba[3, 5])
    viewer.show("/acquisition/ExternalVideo")
    opened, _ = ask(viewer, "open", gen=5)
    assert viewer.kind == "external" and opened["external"]["files"] == list(oracle.acquisition["ExternalVideo"].external_file[:])
    reply, buffers = ask(viewer, "frame", gen=6, index=200)
    assert buffers == [] and reply["frames"][0]["file_frame"] == 50
    assert viewer.lazyframe().collect()["starting_frame"].to_list() == [0, 150]
    scope: dict = {}
    exec(viewer.snippet, scope)  # noqa: S102
    assert list(scope["ts"].external_file[:]) == opened["external"]["files"]


# -- RoiViewer ----------------------------------------------------------------------------


def test_roi_view_masks_pages_and_background(ophys_hdf5, monkeypatch) -> None:
    from lazynwb_explorer.widgets import roi_data

    monkeypatch.setattr(roi_data, "PAGE_PIXELS", 300)
    viewer = RoiViewer(str(ophys_hdf5), PLANE)
    opened, buffers = ask(viewer, "open")
    assert opened["mask"] == "image_mask" and opened["n_rois"] == SMALL.n_rois and opened["shape"] == list(SMALL.size)
    assert opened["background"]["path"].endswith("/SummaryImages/mean") and len(buffers) == 1
    rows, start = [], 0
    while start is not None:
        page, buffers = ask(viewer, "masks", start=start, plane=0)
        rows.append(np.frombuffer(buffers[0], "<u4"))
        assert len(rows[-1]) <= 300
        start = page["next"]
    masks = viewer.lazyframe().collect()
    assert np.concatenate(rows).tolist() == masks["_table_index"].to_list()
    # every ROI's mask covers its centre: what the browser test samples
    centres = roi_centres(SMALL)
    for row in range(SMALL.n_rois):
        x, y = np.rint(centres[row]).astype(int)
        assert masks.filter((pl.col("_table_index") == row) & (pl.col("x") == x) & (pl.col("y") == y)).height == 1
    roi, _ = ask(viewer, "roi", gen=9, row=2)
    assert dict(roi["columns"])["id"] == "102" and "image_mask" not in dict(roi["columns"])


def test_roi_selection_follows_the_filter_and_picks_link_masks_and_traces(ophys_hdf5, oracle) -> None:
    viewer = RoiViewer(str(ophys_hdf5), "/processing/ophys/DfOverF")
    assert (viewer.table_path, viewer.series_path) == (PLANE, "/processing/ophys/DfOverF/RoiResponseSeries")
    assert viewer.plot.series_path == viewer.series_path and viewer.grid.table_path == PLANE
    assert viewer.selected == list(range(SMALL.n_rois)) and viewer.plot.channels == list(range(SMALL.n_rois))
    viewer.grid.filters = [{"column": "quality", "op": ">=", "value": "0.5"}]
    table = oracle.processing["ophys"]["ImageSegmentation"]["PlaneSegmentation"].to_dataframe()
    kept = [i for i, q in enumerate(table["quality"]) if q >= 0.5]
    assert viewer.selected == kept and viewer.plot.channels == kept
    masks = viewer.lazyframe().collect()
    assert sorted(masks["_table_index"].unique().to_list()) == kept
    dropped = next(r for r in range(SMALL.n_rois) if r not in kept)
    viewer.picked = dropped  # a mask clicked (the browser sets `picked`): its trace first, thick
    assert viewer.plot.channels[0] == dropped and viewer.plot.picked == dropped
    viewer.plot.picked = kept[1]  # a trace clicked: its mask is picked
    assert viewer.picked == kept[1]
    traces = viewer.traces().collect()
    data = oracle.processing["ophys"]["DfOverF"]["RoiResponseSeries"].data[:]
    np.testing.assert_allclose(traces[f"ch{kept[1]}"].to_numpy(), data[:, kept[1]])
    scope: dict = {}
    exec(viewer.snippet, scope)  # noqa: S102
    assert scope["masks"].select(masks.columns).equals(masks)
    np.testing.assert_array_equal(scope["traces"], data[:, viewer.plot.channels])


def test_roi_view_of_a_subset_series_and_of_voxels(ophys_hdf5, oracle) -> None:
    viewer = RoiViewer(str(ophys_hdf5), "/processing/ophys/Fluorescence/PixelMaskResponses")
    rois = list(oracle.processing["ophys"]["Fluorescence"]["PixelMaskResponses"].rois.data[:])
    assert viewer.table_path == f"{SEG}/PixelMaskSegmentation" and viewer.plot.channels == list(range(len(rois)))
    viewer.picked = rois[2]  # the table row of data column 2
    assert viewer.plot.picked == 2
    viewer.plot.picked = 0
    assert viewer.picked == rois[0]
    reply, _ = ask(viewer.plot, "open", width=400)
    assert reply["labels"] == [f"roi {r}" for r in rois]  # the rows' ids (ids are 0..n-1 here)
    volume = RoiViewer(str(ophys_hdf5), f"{SEG}/VoxelMaskSegmentation")
    opened, buffers = ask(volume, "open")
    assert opened["planes"] == SMALL.planes and opened["shape"] == list(SMALL.volume_size)
    assert opened["background"]["how"] == "first frame" and volume.series_path == ""
    long = volume.lazyframe().collect()
    for z in range(SMALL.planes):
        page, buffers = ask(volume, "masks", gen=2 + z, plane=z)
        assert page["total"] == long.filter(pl.col("z") == z).height


# -- the Explorer -------------------------------------------------------------------------


def test_explorer_picks_the_imaging_panels_and_shares_time(ophys_hdf5, oracle) -> None:
    explorer = Explorer(str(ophys_hdf5), selected_path="/acquisition/TwoPhotonSeries")
    expected = {
        "/acquisition/TwoPhotonSeries": "FrameViewer", "/acquisition/TwoPhotonSeries/data": "FrameViewer",
        "/acquisition/ExternalVideo": "FrameViewer", "/processing/ophys/SummaryImages": "FrameViewer",
        "/processing/ophys/ColorImages/field_of_view": "FrameViewer", PLANE: "RoiViewer",
        SEG: "RoiViewer", "/processing/ophys/Fluorescence": "RoiViewer",
        "/processing/ophys/DfOverF/RoiResponseSeries": "RoiViewer",
        f"{PLANE}/image_mask": None, "/processing/ophys/ImageSegmentation/PlaneSegmentation/id": None,
    }
    # the ROI view's own table and plot are made with the first segmentation shown (a page
    # loads a copy of each widget's front end; anywidget gives a model 2 s to initialize)
    assert explorer.panel_of("RoiViewer").grid is None and explorer.panel_of("RoiViewer").plot is None
    for path, name in expected.items():
        explorer.selected_path = path
        assert (type(explorer.panel).__name__ if explorer.panel else None) == name, path
        assert not explorer.problem
    frames = explorer.panel_of("FrameViewer")
    rois = explorer.panel_of("RoiViewer")
    frames.time = 1.5  # the frame shown: the shared cursor, drawn on the traces' plot
    assert explorer.time == rois.time == rois.plot.time == explorer.plot.time == 1.5
    rois.plot.x_range = [1.0, 2.0]
    assert explorer.time_range == frames.x_range == [1.0, 2.0]
    explorer.selected_path = "/acquisition/TwoPhotonSeries"
    frames.index = 3
    shown = explorer.lazyframe().collect().sort("x", "y")  # the frame on screen, a pixel per row
    frame = oracle.acquisition["TwoPhotonSeries"].data[3]
    assert shown.height == frame.size
    np.testing.assert_array_equal(shown["value"].to_numpy().reshape(frame.shape), frame)
    explorer.selected_path = PLANE
    assert explorer.lazyframe().collect().columns == ["_table_index", "id", "x", "y", "weight"]
