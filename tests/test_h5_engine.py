"""Our HDF5 engine against libhdf5 (h5py): the same tree, attributes, metadata and values on
every file we have, and far fewer rounds over the network.

Conformance runs every reader on every file: the shared real files, the pynwb-written test
corpus (chunked and contiguous), files written with libver='latest' (v2 object headers,
link messages, new chunk indexes) and odd h5py corners (compact layout, committed types,
fill values, enums, compounds, soft links).
"""

from __future__ import annotations

import logging
from pathlib import Path

import h5py
import numpy as np
import pytest
from conftest import SHARED_FILES

import lazynwb_explorer as lazynwb
from lazynwb_explorer.backends.h5py_backend import HDF5Backend
from lazynwb_explorer.backends.hdf5.engine import EngineHDF5Backend
from lazynwb_explorer.sources import to_source
from lazynwb_explorer.transport import counting

import nwb_factory as nf


def same(a, b) -> bool:  # noqa: ANN001 - any decoded value
    """Equal values, with NaN == NaN and h5py's Empty == our None."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        a, b = np.asarray(a), np.asarray(b)
        if a.shape != b.shape:
            return False
        if a.dtype.names or b.dtype.names:
            return a.dtype.names == b.dtype.names and all(same(a[n], b[n]) for n in a.dtype.names)
        if a.dtype.kind == "O" or b.dtype.kind == "O":
            return all(same(x, y) for x, y in zip(a.reshape(-1).tolist(), b.reshape(-1).tolist()))
        return a.dtype == b.dtype and np.array_equal(a, b, equal_nan=a.dtype.kind == "f")
    if isinstance(a, float) and isinstance(b, float) and np.isnan(a) and np.isnan(b):
        return True
    if type(b).__name__ == "Empty":
        return a is None
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


def assert_conformant(path: Path) -> None:
    source = to_source(str(path))
    engine, h5 = EngineHDF5Backend(source), HDF5Backend(source)
    try:
        ours, theirs = engine.walk(), h5.walk()
        assert list(ours) == list(theirs)
        for p, node in theirs.items():
            mine = ours[p]
            assert (mine.is_group, mine.children, mine.is_link) == (node.is_group, node.children, node.is_link), p
            assert same(mine.attrs, node.attrs), (p, mine.attrs, node.attrs)
            assert mine.dataset == node.dataset, p
            if node.dataset is None or node.is_link:
                continue
            assert same(engine.read(p), h5.read(p)), p
            n = node.dataset.shape[0] if node.dataset.shape else 0
            if n > 3:
                spans = [(1, 2), (n // 2, n - 1)]
                assert same(engine.read_spans(p, spans), h5.read_spans(p, spans)), p
            if len(node.dataset.shape) == 2 and n > 2 and node.dataset.shape[1] > 2:
                box = (slice(1, n - 1), slice(1, node.dataset.shape[1] - 1))
                assert same(engine.read_box(p, box), h5.read_box(p, box)), p
    finally:
        engine.close()
        h5.close()


@pytest.mark.parametrize("path", SHARED_FILES, ids=[f.name for f in SHARED_FILES])
def test_shared_files_read_alike(path: Path) -> None:
    assert_conformant(path)


@pytest.mark.parametrize("fixture", ["rich_hdf5", "rich_hdf5_contiguous", "pushdown_file"])
def test_corpus_files_read_alike(request, fixture: str) -> None:
    assert_conformant(request.getfixturevalue(fixture))


def test_sessions_read_alike(sessions) -> None:
    for path in sessions:
        assert_conformant(path)


def test_libver_latest_nwb_reads_alike(tmp_path: Path) -> None:
    """pynwb writing through an h5py file opened with libver='latest': superblock v3, v2
    object headers, link messages, fixed / extensible array chunk indexes."""
    path = nf.write_hdf5(tmp_path / "latest.nwb", libver="latest")
    with h5py.File(path) as f:
        assert f.id.get_create_plist().get_version()[0] >= 2  # superblock v2+
    assert_conformant(path)


def test_h5py_corners_read_alike(tmp_path: Path) -> None:
    path = tmp_path / "corners.h5"
    with h5py.File(path, "w", libver=("earliest", "latest")) as f:
        f.attrs["nwb_version"] = "2.8.0"
        f.attrs["empty"] = h5py.Empty("f8")
        f.attrs["flags"] = np.array([True, False])
        f.attrs["pair"] = np.array((1, 2.5), dtype=[("a", "<i4"), ("b", "<f8")])
        f["compact"] = np.arange(5, dtype="<i2")  # small: h5py may store it compact
        dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
        dcpl.set_layout(h5py.h5d.COMPACT)
        space = h5py.h5s.create_simple((4,))
        h5py.h5d.create(f.id, b"really_compact", h5py.h5t.STD_I32LE, space, dcpl=dcpl).write(
            h5py.h5s.ALL, h5py.h5s.ALL, np.arange(4, dtype="<i4"))
        f["big_endian"] = np.arange(10, dtype=">f8")
        f["fixed_str"] = np.array([b"a", b"bcd", b""], dtype="S3")
        f["vlen_str"] = np.array(["x", "yz" * 50, ""], dtype=h5py.string_dtype())
        f["bools"] = np.array([True, False, True])
        f.create_dataset("filled", shape=(20,), chunks=(5,), fillvalue=-7, dtype="<i4")[0:5] = 1
        f.create_dataset("gz2d", data=np.arange(600.0).reshape(30, 20), chunks=(7, 6),
                         compression="gzip", shuffle=True, fletcher32=True)
        # chunks wider than the rows (a grown shape): a row inside a chunk is chunk-wide
        f.create_dataset("wide_chunks", data=np.arange(300).reshape(100, 3), chunks=(10, 4),
                         maxshape=(None, None))
        f.create_dataset("wide_chunks_3d", data=np.arange(240.0).reshape(20, 3, 4), chunks=(8, 5, 4),
                         maxshape=(None, None, 4))
        f["types/committed"] = np.dtype("<f4")
        f.create_dataset("uses_committed", data=np.ones(3, dtype="<f4"), dtype=f["types/committed"])
        g = f.create_group("g")
        g["ds"] = np.arange(3)
        g["soft"] = h5py.SoftLink("/g/ds")
        g["dangling"] = h5py.SoftLink("/nowhere")
        g["again"] = g["ds"]  # a second hard link to one dataset
        f["ref"] = np.array([g.ref, g["ds"].ref], dtype=h5py.ref_dtype)
        f["g"].attrs["points_to"] = f["compact"].ref
    assert_conformant(path)


def test_plugin_filters_read_alike(tmp_path: Path, http_server, caplog) -> None:
    """blosc, zstd and lz4 chunks (as hdf5plugin writes them, lz4 in blocks of 1 KiB, one of
    noise that is stored as is) are undone by the engine itself, equal to libhdf5's reading,
    locally and over HTTP with no h5py fallback."""
    import hdf5plugin  # a test extra; importing it registers the filters with libhdf5

    rng = np.random.default_rng(5)
    smooth = np.repeat(np.arange(500, dtype="<f8"), 8)  # compressible
    noise = rng.random(4000)  # not: lz4 stores such blocks as they are
    path = tmp_path / "plugins.h5"
    with h5py.File(path, "w") as f:
        f.attrs["nwb_version"] = "2.8.0"
        f.create_dataset("blosc", data=smooth, chunks=(700,), **hdf5plugin.Blosc(cname="lz4"))
        f.create_dataset("zstd", data=smooth, chunks=(700,), **hdf5plugin.Zstd())
        f.create_dataset("lz4", data=np.concatenate([smooth, noise]), chunks=(1500,),
                         **hdf5plugin.LZ4(nbytes=1024))
        f.create_dataset("lz4_2d", data=smooth.reshape(400, 10), chunks=(64, 5),
                         **hdf5plugin.LZ4())
    assert_conformant(path)
    (Path(http_server.root) / "plugins.h5").write_bytes(path.read_bytes())
    caplog.set_level(logging.INFO, logger="lazynwb_explorer")
    catalog = lazynwb.catalog.open_catalog(to_source(http_server.url("plugins.h5")))
    assert catalog.kind == "engine"
    with h5py.File(path) as f:
        for name in ("blosc", "zstd", "lz4", "lz4_2d"):
            assert np.array_equal(catalog.backend.read(f"/{name}"), f[name][()]), name
    assert not any("read by h5py" in r.getMessage() for r in caplog.records)


def test_unsupported_filter_falls_back_to_h5py(tmp_path: Path, http_server, caplog) -> None:
    """lzf is not ours to decode: the read goes to h5py, logged, never an error."""
    path = nf.write_hdf5(tmp_path / "base.nwb")
    with h5py.File(path, "a") as f:
        f.create_dataset("/acquisition/lzf_data", data=np.arange(1000, dtype="<i8"), chunks=(100,),
                         compression="lzf")
    served = Path(http_server.root) / "with_lzf.nwb"
    served.write_bytes(path.read_bytes())
    url = http_server.url("with_lzf.nwb")
    caplog.set_level(logging.INFO, logger="lazynwb_explorer")
    catalog = lazynwb.catalog.open_catalog(to_source(url))
    assert catalog.kind == "engine"
    assert np.array_equal(catalog.backend.read("/acquisition/lzf_data"), np.arange(1000))
    assert any("read by h5py" in r.getMessage() and "lzf" in r.getMessage() for r in caplog.records)


def _scattered_file(path: Path, n: int = 40) -> Path:
    """An NWB-like file whose object headers sit between megabytes of data, as in files
    written incrementally (acquisition appended series by series)."""
    with h5py.File(path, "w") as f:
        f.attrs["nwb_version"] = "2.8.0"
        group = f.create_group("acquisition")
        for i in range(n):
            series = group.create_group(f"series_{i:02d}")
            series.attrs["neurodata_type"] = "TimeSeries"
            series["data"] = np.full(150_000, i, dtype="<f8")  # 1.2 MB between headers
            series["timestamps"] = np.arange(10, dtype="<f8")
    return path


def test_remote_walk_costs_rounds_per_level_not_per_object(http_server) -> None:
    """Opening a file whose metadata sits between its data, over HTTP: the engine's walk
    needs a few rounds per tree level; libhdf5 over the same transport asks one block at a
    time, object after object."""
    path = _scattered_file(Path(http_server.root) / "scattered.nwb")
    url = http_server.url(path.name)
    with counting() as ours:
        engine = EngineHDF5Backend(to_source(url))
        nodes = engine.walk()
    lazynwb.clear_cache()
    from lazynwb_explorer.transport.readers import forget_reader

    forget_reader(url)
    with counting() as theirs:
        HDF5Backend(to_source(url)).walk()
    depth = max(p.count("/") for p in nodes)
    print(f"\nwalk of {len(nodes)} objects, depth {depth}: engine {ours.rounds} rounds / "
          f"{ours.requests} requests; h5py {theirs.rounds} rounds / {theirs.requests} requests")
    assert ours.rounds <= 4 * depth + 2
    assert ours.rounds < theirs.rounds


def test_table_read_is_one_round_once_open(pushdown_file: Path, http_server) -> None:
    """Every column of a 20-row page (scalars, strings, ragged, 2-D) in one round once the
    file is open (two when an index must be read first)."""
    url = http_server.url(pushdown_file.name)
    lazynwb.get_internal_paths(url)
    lazynwb.get_df(url, "/units", nwb_path_to_row_indices={url: [0]}, as_polars=True)  # indexes known
    with counting() as c:
        df = lazynwb.get_df(url, "/units", nwb_path_to_row_indices={url: list(range(100, 120))},
                            as_polars=True)
    local = lazynwb.get_df(pushdown_file, "/units", as_polars=True)[100:120]
    assert df.drop(lazynwb.NWB_PATH_COLUMN_NAME).equals(local.drop(lazynwb.NWB_PATH_COLUMN_NAME))
    assert c.rounds <= 2, c
