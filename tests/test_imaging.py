"""Imaging readers and their public conveniences against pynwb (the oracle): frames of every
movie kind, images and Images containers, ROI masks of every kind as a long table, the
`rois` region of response series - on the seeded ophys sample (lazynwb_explorer.demo_ophys,
written by pynwb) and on the real ophys files in ../shared/data. Remote frames cost the
chunks that hold them, in one round; external frame files are never opened.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import h5py
import numpy as np
import polars as pl
import pytest
from conftest import SHARED_DATA
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import lazynwb_explorer as lazynwb
from lazynwb_explorer.catalog import open_catalog
from lazynwb_explorer.catalog import store as catalog_store
from lazynwb_explorer.demo_ophys import EXTERNAL_FILES, SMALL, OphysSpec, write_session
from lazynwb_explorer.errors import InternalPathError
from lazynwb_explorer.nwb import frames, images, roi_masks, rois
from lazynwb_explorer.sources import to_source
from lazynwb_explorer.transport import counting
from lazynwb_explorer.transport.readers import forget_reader

NEUROCONV = SHARED_DATA / "other_writers" / "neuroconv__ophys_nwb_test.nwb"
METACELL = SHARED_DATA / "other_writers" / "metacell__test_PlaneSegmentation.nwb"
BACK_COMPAT = SHARED_DATA / "pynwb_back_compat"
SEG = "/processing/ophys/ImageSegmentation"
MOVIES = ["/acquisition/TwoPhotonSeries", "/acquisition/TwoPhotonSeriesVolume",
          "/acquisition/OnePhotonSeries", "/acquisition/BehaviorCamera"]


@pytest.fixture(scope="module")
def oracle(ophys_hdf5: Path) -> Iterator[object]:
    """The ophys sample as pynwb reads it."""
    from pynwb import NWBHDF5IO

    with NWBHDF5IO(str(ophys_hdf5), "r") as io:
        yield io.read()


def _pynwb_object(nwbfile: object, path: str) -> object:
    """The pynwb object at an internal path (acquisition / processing only)."""
    parts = path.strip("/").split("/")
    if parts[0] == "acquisition":
        return nwbfile.acquisition[parts[1]]  # type: ignore[attr-defined]
    obj = nwbfile.processing[parts[1]]  # type: ignore[attr-defined]
    for name in parts[2:]:
        obj = obj[name]
    return obj


# -- frames -------------------------------------------------------------------------------


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(movie=st.sampled_from(MOVIES), index=st.integers(-200, 200), plane=st.integers(0, 2))
def test_frames_equal_pynwb(ophys_hdf5, oracle, movie: str, index: int, plane: int) -> None:
    data = _pynwb_object(oracle, movie).data
    n = data.shape[0]
    if not -n <= index < n:
        with pytest.raises(IndexError):
            lazynwb.get_frame(str(ophys_hdf5), movie, index)
        return
    got = lazynwb.get_frame(str(ophys_hdf5), movie, index, plane=plane if "Volume" in movie else 0)
    expected = data[index][..., plane] if "Volume" in movie else data[index]
    assert got.dtype == expected.dtype and got.shape == expected.shape
    np.testing.assert_array_equal(got, expected)


def test_movie_kinds_axes_and_times(ophys_hdf5, oracle) -> None:
    catalog = open_catalog(to_source(ophys_hdf5))
    described = {p: frames.describe_movie(catalog, p) for p in MOVIES}
    assert described[MOVIES[0]].frame_shape == SMALL.size and described[MOVIES[0]].planes == 1
    assert described[MOVIES[1]].planes == SMALL.planes and described[MOVIES[1]].channels == 0
    assert described[MOVIES[3]].channels == 3  # a uint8 (frames, x, y, 3) ImageSeries: colour
    for path, movie in described.items():
        series = _pynwb_object(oracle, path)
        times = series.timestamps[:] if series.timestamps is not None else \
            series.starting_time + np.arange(series.data.shape[0]) / series.rate
        np.testing.assert_allclose(movie.times(0, movie.n_frames), times)
        k = movie.n_frames // 2
        assert movie.frame_at(float(times[k])) == k
        assert movie.frame_at(float(times[k]) + 1e-9) == k  # within the frame
    # a 3-D dataset that is the series' data is the movie too; a mask column and an image are not
    assert frames.is_movie(catalog, "/acquisition/TwoPhotonSeries/data")
    assert not frames.is_movie(catalog, f"{SEG}/PlaneSegmentation/image_mask")
    assert not frames.is_movie(catalog, "/processing/ophys/ColorImages/field_of_view")


def test_external_frames_are_listed_and_never_opened(ophys_hdf5, oracle, http_server, locate, served) -> None:
    # files of those names beside the NWB file, on the same server: reading them would show
    for name in EXTERNAL_FILES:
        (served / name).write_bytes(b"not a video" * 100)
    url = locate(ophys_hdf5, "http")
    catalog = open_catalog(to_source(url))
    http_server.reset_stats()
    movie = frames.describe_movie(catalog, "/acquisition/ExternalVideo")
    series = oracle.acquisition["ExternalVideo"]
    assert movie.data_path is None and list(movie.external.names) == list(series.external_file[:])
    assert list(movie.external.starting_frames) == list(series.starting_frame)
    assert movie.n_frames == series.num_samples
    info = frames.frame_info(movie, 160)
    assert (info["file"], info["file_frame"]) == (EXTERNAL_FILES[1], 160 - series.starting_frame[1])
    assert info["time"] == pytest.approx(160 / series.rate)
    with pytest.raises(InternalPathError, match="external files"):
        lazynwb.get_frame(url, "/acquisition/ExternalVideo", 0)
    requested = {entry.path for entry in http_server.stats.log}
    assert not any(name in path for name in EXTERNAL_FILES for path in requested), requested


def _chunk_bytes(path: Path, dataset: str, frame: int) -> tuple[int, int]:
    """(stored bytes of the chunks holding a frame, the frame's own bytes), from h5py."""
    with h5py.File(path, "r") as f:
        ds = f[dataset]
        chunk = ds.chunks[0]
        stored = sum(ds.id.get_chunk_info_by_coord((frame // chunk * chunk, x, y)).size
                     for x in range(0, ds.shape[1], ds.chunks[1]) for y in range(0, ds.shape[2], ds.chunks[2]))
        return stored, int(np.prod(ds.shape[1:])) * ds.dtype.itemsize


@pytest.fixture(scope="module")
def movie_file(served: Path) -> Path:
    """A 256x256 uint16 movie in gzip chunks of 4 frames (256 KB each, raw): big enough that
    a frame's chunk lies outside the metadata blocks the open reads."""
    spec = OphysSpec("remote-movie", frames=48, size=(256, 256), chunk_frames=4, n_rois=6,
                     volume_frames=2, small_frames=2, volume_size=(8, 8), small_size=(8, 8))
    return write_session(served / "movie.nwb", spec)


def test_a_remote_frame_costs_its_chunks_in_one_round(movie_file, http_server, locate) -> None:
    url = locate(movie_file, "http")
    path = "/acquisition/TwoPhotonSeries"
    lazynwb.get_frame(url, path, 0)  # opens the file, learns the chunk index
    for k in (9, 22, 47):
        http_server.reset_stats()
        with counting() as c:
            got = lazynwb.get_frame(url, path, k)
        stored, own = _chunk_bytes(movie_file, "/acquisition/TwoPhotonSeries/data", k)
        assert (c.requests, c.rounds) == (1, 1), c
        assert http_server.stats.bytes_sent == c.bytes == stored < 4 * own  # the chunk, compressed
        np.testing.assert_array_equal(got, lazynwb.get_frame(str(movie_file), path, k))


# -- images -------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/processing/ophys/SummaryImages/mean",
                                  "/processing/ophys/SummaryImages/max_projection",
                                  "/processing/ophys/ColorImages/field_of_view",
                                  "/processing/ophys/ColorImages/overlay"])
def test_images_equal_pynwb(ophys_hdf5, oracle, path: str) -> None:
    container, name = path.rsplit("/", 1)
    expected = _pynwb_object(oracle, container)[name].data[:]
    got = lazynwb.get_image(str(ophys_hdf5), path)
    assert got.dtype == expected.dtype
    np.testing.assert_array_equal(got, expected)


def test_images_container_order_and_background(ophys_hdf5, oracle) -> None:
    catalog = open_catalog(to_source(ophys_hdf5))
    ordered = [img.name for img in oracle.processing["ophys"]["SummaryImages"].order_of_images.data]
    listed = images.images_in(catalog, "/processing/ophys/SummaryImages")
    assert [p.rsplit("/", 1)[-1] for p in listed] == ordered != sorted(ordered)
    assert images.plane_background(catalog, f"{SEG}/PlaneSegmentation", SMALL.size) == \
        "/processing/ophys/SummaryImages/mean"
    with pytest.raises(InternalPathError, match="not an image"):
        lazynwb.get_image(str(ophys_hdf5), "/acquisition/TwoPhotonSeries/data")


# -- ROI masks ----------------------------------------------------------------------------


def _pynwb_masks(table: object, column: str) -> set[tuple]:
    """{(row, x, y[, z], weight)} of a PlaneSegmentation's masks as pynwb reads them."""
    out = set()
    values = table[column].data
    if column == "image_mask":
        for row in range(len(table)):
            mask = np.asarray(values[row])
            for coords in zip(*np.nonzero(mask)):
                out.add((row, *map(int, coords), float(mask[coords])))
        return out
    for row in range(len(table)):
        for item in table[column][row]:
            *coords, weight = tuple(item)
            out.add((row, *(int(np.floor(c)) for c in coords), float(weight)))
    return out


def _ours(frame: pl.DataFrame) -> set[tuple]:
    axes = [c for c in ("x", "y", "z") if c in frame.columns]
    return {(r[0], *r[1:-1], float(r[-1])) for r in frame.select("_table_index", *axes, "weight").iter_rows()}


def _compare_masks(nwb_path: Path, table_path: str, table: object) -> pl.DataFrame:
    long = lazynwb.get_roi_masks(str(nwb_path), table_path, as_polars=True)
    seg = roi_masks.describe_segmentation(open_catalog(to_source(nwb_path)), table_path)
    for mask in seg.masks:
        picked = lazynwb.get_roi_masks(str(nwb_path), table_path, mask=mask, as_polars=True)
        expected = _pynwb_masks(table, mask)
        got = _ours(picked)
        assert len(got) == picked.height, mask
        assert _close_sets(got, expected), (mask, len(got), len(expected))
    assert long["_nwb_path"].unique().to_list() == [str(nwb_path)]
    ids = dict(enumerate(np.asarray(table.id[:]).tolist()))
    assert long["id"].to_list() == [ids[r] for r in long["_table_index"].to_list()]
    return long


def _close_sets(got: set[tuple], expected: set[tuple]) -> bool:
    """Equal sets of (row, coords..., weight) with weights compared as float32."""
    def key(t: tuple) -> tuple:
        return (*t[:-1], np.float32(t[-1]))
    return {key(t) for t in got} == {key(t) for t in expected}


@pytest.mark.parametrize("name", ["PlaneSegmentation", "PixelMaskSegmentation", "VoxelMaskSegmentation"])
def test_masks_of_every_kind_equal_pynwb(ophys_hdf5, oracle, name: str) -> None:
    table = oracle.processing["ophys"]["ImageSegmentation"][name]
    long = _compare_masks(ophys_hdf5, f"{SEG}/{name}", table)
    assert ("z" in long.columns) == (name == "VoxelMaskSegmentation")


def test_masks_of_chosen_rows_and_many_files(ophys_hdf5, served) -> None:
    path = f"{SEG}/PixelMaskSegmentation"
    every = lazynwb.get_roi_masks(str(ophys_hdf5), path, as_polars=True)
    some = lazynwb.get_roi_masks(str(ophys_hdf5), path, rows=[3, 1], as_polars=True)
    assert some.equals(every.filter(pl.col("_table_index").is_in([1, 3])))
    with pytest.warns(UserWarning, match="skipped 1 of 2 files without the path"):  # as get_df
        both = lazynwb.get_roi_masks([str(ophys_hdf5), str(METACELL)], path, as_polars=False,
                                     disable_progress=True)
    assert len(both) == every.height and list(both["_table_path"].unique()) == [path]
    with pytest.raises(InternalPathError, match="not a PlaneSegmentation"):
        lazynwb.get_roi_masks(str(ophys_hdf5), "/processing/ophys/SummaryImages", raise_on_missing=True)


def test_image_masks_are_read_in_bounded_batches(ophys_hdf5, monkeypatch) -> None:
    path = f"{SEG}/PlaneSegmentation"
    whole = lazynwb.get_roi_masks(str(ophys_hdf5), path, as_polars=True)
    row_bytes = SMALL.size[0] * SMALL.size[1] * 4
    monkeypatch.setattr(roi_masks, "BATCH_BYTES", 3 * row_bytes)  # three ROIs at a time
    catalog = open_catalog(to_source(ophys_hdf5))
    reads = []
    backend = catalog.backend
    original = backend.read
    monkeypatch.setattr(backend, "read", lambda p, rows=None: reads.append((p, rows)) or original(p, rows))
    batched = roi_masks.read_masks(roi_masks.describe_segmentation(catalog, path))
    assert batched.equals(whole.drop("_nwb_path", "_table_path"))
    mask_reads = [rows for p, rows in reads if p.endswith("/image_mask")]
    assert [len(r) for r in mask_reads] == [3, 3, 3, 3]


# -- response series ----------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/processing/ophys/Fluorescence/RoiResponseSeries",
                                  "/processing/ophys/DfOverF/RoiResponseSeries",
                                  "/processing/ophys/Fluorescence/PixelMaskResponses"])
def test_rois_region_resolves_to_table_rows(ophys_hdf5, oracle, path: str) -> None:
    series = _pynwb_object(oracle, path)
    catalog = open_catalog(to_source(ophys_hdf5))
    columns = rois.roi_columns(catalog, path)
    assert columns.rows.tolist() == list(series.rois.data[:])
    assert columns.table_path.rsplit("/", 1)[-1] == series.rois.table.name
    ids = np.asarray(series.rois.table.id[:])
    assert rois.roi_labels(catalog, path) == [f"roi {ids[r]}" for r in series.rois.data[:]]
    assert rois.segmentation_of(catalog, path) == (columns.table_path, path)
    assert path in rois.responses_of(catalog, columns.table_path)


def test_what_a_selection_is_about(ophys_hdf5) -> None:
    catalog = open_catalog(to_source(ophys_hdf5))
    assert rois.segmentation_of(catalog, "/processing/ophys/Fluorescence") == (
        f"{SEG}/PlaneSegmentation", "/processing/ophys/Fluorescence/RoiResponseSeries")
    assert rois.segmentation_of(catalog, SEG) == (f"{SEG}/PlaneSegmentation", "")
    assert rois.segmentation_of(catalog, "/acquisition/TwoPhotonSeries") is None
    assert rois.plane_movie(catalog, f"{SEG}/VoxelMaskSegmentation") == "/acquisition/TwoPhotonSeriesVolume"
    assert rois.plane_movie(catalog, f"{SEG}/PlaneSegmentation") == "/acquisition/TwoPhotonSeries"


# -- real files ---------------------------------------------------------------------------


def test_neuroconv_ophys_file() -> None:
    from pynwb import NWBHDF5IO

    with NWBHDF5IO(str(NEUROCONV), "r") as io:
        nwbfile = io.read()
        ophys = nwbfile.processing["ophys"]
        _compare_masks(NEUROCONV, "/processing/ophys/ImageSegmentation/PlaneSegmentation",
                       ophys["ImageSegmentation"]["PlaneSegmentation"])
        for name, image in ophys["SegmentationImages"].images.items():
            np.testing.assert_array_equal(
                lazynwb.get_image(str(NEUROCONV), f"/processing/ophys/SegmentationImages/{name}"), image.data[:])
        catalog = open_catalog(to_source(NEUROCONV))
        for name, series in ophys["Fluorescence"].roi_response_series.items():  # two rois are soft links
            columns = rois.roi_columns(catalog, f"/processing/ophys/Fluorescence/{name}")
            assert columns.rows.tolist() == list(series.rois.data[:])
        assert images.plane_background(catalog, "/processing/ophys/ImageSegmentation/PlaneSegmentation",
                                       (128, 128)) == "/processing/ophys/SegmentationImages/mean"


@pytest.mark.filterwarnings("ignore:ImageSeries 'test_iS'")  # pynwb on the file's odd external series
def test_metacell_plane_segmentation_with_two_mask_kinds() -> None:
    from pynwb import NWBHDF5IO

    path = "/processing/plane_seg_test_module/ImageSegmentation/test_plane_seg_name"
    with NWBHDF5IO(str(METACELL), "r") as io:
        table = io.read().processing["plane_seg_test_module"]["ImageSegmentation"]["test_plane_seg_name"]
        _compare_masks(METACELL, path, table)
    catalog = open_catalog(to_source(METACELL))
    seg = roi_masks.describe_segmentation(catalog, path)
    assert seg.masks == ("image_mask", "pixel_mask") and seg.shape == (5, 5)
    pixels = roi_masks.read_masks(seg, mask="pixel_mask")
    assert roi_masks.extent(pixels, seg.shape) == (10, 11)  # its pixel masks reach past 5x5
    reference = f"{path}/reference_images/test_iS"  # frames in an external tiff: no movie to draw
    assert frames.describe_movie(catalog, reference).data_path is None
    assert rois.plane_movie(catalog, path) is None


@pytest.mark.parametrize("name", ["1.5.1_imageseries_no_data.nwb", "1.5.1_imageseries_no_unit.nwb",
                                  "2.1.0_imageseries_no_data.nwb", "2.1.0_imageseries_non_external_format.nwb",
                                  "2.1.0_imageseries_nonmatch_starting_frame.nwb"])
@pytest.mark.filterwarnings("ignore:ImageSeries 'test_imageseries'")  # pynwb on files made odd on purpose
def test_back_compat_image_series(name: str) -> None:
    from pynwb import NWBHDF5IO

    path = BACK_COMPAT / name
    catalog = open_catalog(to_source(path))
    movie = frames.describe_movie(catalog, "/acquisition/test_imageseries")
    with NWBHDF5IO(str(path), "r") as io:
        series = io.read().acquisition["test_imageseries"]
        np.testing.assert_array_equal(movie.times(0, movie.n_frames), series.timestamps[:])
        if movie.data_path is not None:
            for k in range(movie.n_frames):
                np.testing.assert_array_equal(lazynwb.get_frame(str(path), movie.path, k), series.data[k])
        else:
            assert list(movie.external.names) == list(series.external_file[:])
            assert list(movie.external.starting_frames) == list(series.starting_frame)
            assert movie.n_frames == len(series.timestamps)


def test_a_cold_frame_walks_only_its_series(movie_file, http_server, locate) -> None:
    """A cold get_frame walks the root, /acquisition and the series, not the file: its
    imaging_plane link (out of that part) is left unresolved. The whole-tree walk first
    cost 4 rounds on this file; the frame equals h5py's."""
    url = locate(movie_file, "http")
    _forget(url)
    with counting() as cold:
        got = lazynwb.get_frame(url, "/acquisition/TwoPhotonSeries", 9)
    with h5py.File(movie_file, "r") as f:
        np.testing.assert_array_equal(got, f["/acquisition/TwoPhotonSeries/data"][9])
    print(f"\ncold frame: {cold.requests} requests, {cold.rounds} rounds, {cold.bytes} bytes")
    assert not catalog_store.exists(url)  # no whole-tree walk (it would be stored)
    assert catalog_store.exists(url, catalog_store.PATHS)
    assert cold.rounds <= 3


def _forget(url: str) -> None:
    """Nothing known of `url`: no catalog in memory or stored, a reader not used before."""
    lazynwb.clear_cache()
    catalog_store.clear()
    forget_reader(url)


@pytest.fixture(scope="module")
def linked_movies(served: Path) -> Path:
    """Three TwoPhotonSeries written by pynwb: `own` with its frames, `borrowed` whose data
    is a link to own's, `retimed` whose timestamps are a link to a series elsewhere."""
    from datetime import datetime, timezone

    from pynwb import NWBHDF5IO, NWBFile, TimeSeries
    from pynwb.ophys import OpticalChannel, TwoPhotonSeries

    nwb = NWBFile("linked movies", "linked", datetime(2024, 1, 1, tzinfo=timezone.utc))
    device = nwb.create_device("scope")
    plane = nwb.create_imaging_plane(
        name="plane", optical_channel=OpticalChannel("green", "green", 510.0),
        description="a plane", device=device, excitation_lambda=920.0, imaging_rate=30.0,
        indicator="GCaMP", location="V1")
    frames = np.arange(12 * 6 * 5, dtype=np.uint16).reshape(12, 6, 5)
    own = TwoPhotonSeries(name="own", data=frames, imaging_plane=plane, rate=30.0, unit="n")
    clock = TimeSeries(name="clock", data=np.zeros(12), unit="s", timestamps=np.arange(12) / 7.0)
    nwb.add_acquisition(own)
    nwb.add_acquisition(TwoPhotonSeries(name="borrowed", data=own, imaging_plane=plane,
                                        rate=30.0, unit="n"))
    nwb.add_stimulus(clock)
    nwb.add_acquisition(TwoPhotonSeries(name="retimed", data=frames[::-1].copy(),
                                        imaging_plane=plane, timestamps=clock, unit="n"))
    path = served / "linked_movies.nwb"
    with NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)
    return path


@pytest.mark.parametrize("series", ["own", "borrowed", "retimed"])
def test_cold_frames_through_links_equal_h5py(linked_movies, http_server, locate, series) -> None:
    """A link the frames need (data, timestamps) out of the walked part makes the scoped
    open fall back to the whole file; the ones they do not (imaging_plane) do not."""
    url = locate(linked_movies, "http")
    _forget(url)
    path = f"/acquisition/{series}"
    with h5py.File(linked_movies, "r") as f:
        for k in (0, 5, 11):
            np.testing.assert_array_equal(lazynwb.get_frame(url, path, k), f[f"{path}/data"][k])
        # a data or timestamps link out of the series' part needs the whole file
        assert catalog_store.exists(url) == (series != "own")
        if series == "retimed":
            times = lazynwb.get_timeseries(url, path, exact_path=True).timestamps[:]
            np.testing.assert_array_equal(times, f[f"{path}/timestamps"][:])
