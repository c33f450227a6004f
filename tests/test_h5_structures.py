"""The engine's v2 structures against files libhdf5 wrote: chunk indexes (single, implicit,
fixed array, extensible array, v2 B-tree), v2 B-trees and fractal heaps (dense links and
attributes), compared with what h5py reports; the rounds each read costs; and robustness:
truncated or bit-flipped structures raise FormatError / Unsupported, nothing else.

Files are written with libver='latest' (layout message v5 under HDF5 2.0) and
('v110', 'latest') (layout v4), whose only difference is the width of filtered chunk sizes.
"""

from __future__ import annotations

import ctypes
import glob
import os
import random
from collections.abc import Callable
from pathlib import Path

import h5py
import numpy as np
import pytest

from lazynwb_explorer.backends.hdf5 import btree2, chunk_index, filters, fractal_heap
from lazynwb_explorer.backends.hdf5.binary import FileContext
from lazynwb_explorer.backends.hdf5.btree2 import records
from lazynwb_explorer.backends.hdf5.checksum import lookup3
from lazynwb_explorer.backends.hdf5.chunk_index import chunk_entries
from lazynwb_explorer.backends.hdf5.fractal_heap import read_objects
from lazynwb_explorer.backends.hdf5.io import (
    FormatError,
    Parser,
    Unsupported,
    gather,
    over_bytes,
    run,
)
from lazynwb_explorer.backends.hdf5.layout import Layout, parse_layout
from lazynwb_explorer.backends.hdf5.messages import Filter
from lazynwb_explorer.backends.hdf5.objheader import read_object_header

LIBVERS = {"latest": "latest", "v110": ("v110", "latest")}
LAYOUT, LINK_INFO, ATTRIBUTE_INFO = 0x08, 0x02, 0x15


class Reader:
    """A read_round over bytes that counts rounds and remembers every range asked for."""

    def __init__(self, data: bytes, max_rounds: int = 64):
        self.data = data
        self.rounds = 0
        self.ranges: list[tuple[int, int]] = []
        self.max_rounds = max_rounds

    def __call__(self, ranges: list[tuple]) -> list[bytes]:
        self.rounds += 1
        assert self.rounds <= self.max_rounds, "a parser kept asking for more rounds"
        self.ranges.extend((r[0], r[1]) for r in ranges)
        return over_bytes(self.data)(ranges)


def _context(data: bytes) -> FileContext:
    return FileContext(8, 8, 0, len(data))  # h5py writes 8-byte addresses and lengths


def _messages(data: bytes, address: int) -> list:
    return run(read_object_header(_context(data), address), over_bytes(data))


def _address(obj: h5py.HLObject) -> int:
    return h5py.h5o.get_info(obj.id).addr


# --- chunk indexes -------------------------------------------------------------------

# name: (create_dataset keywords, region written (None: nothing), expected rounds)
DATASETS: dict[str, tuple[dict, object, int]] = {
    "fa_1d": (dict(shape=(1000,), chunks=(10,), maxshape=(1000,), dtype="i4"), np.s_[:], 2),
    # 3000 chunks: three pages of 1024; the middle one is never written.
    "fa_paged_3d": (dict(shape=(40, 30, 20), chunks=(2, 2, 2), maxshape=(40, 30, 20), dtype="i2"),
                    [np.s_[0:4], np.s_[36:40]], 2),
    "fa_filters_3d": (dict(shape=(20, 30, 40), chunks=(5, 7, 9), maxshape=(20, 30, 40), dtype="f8",
                           compression="gzip", shuffle=True, fletcher32=True), np.s_[:, :20], 2),
    "fa_big_chunks_gzip": (dict(shape=(400, 400), chunks=(200, 200), maxshape=(400, 400), dtype="i8",
                                compression="gzip"), np.s_[:], 2),
    "fa_growable": (dict(shape=(30,), chunks=(10,), maxshape=(100,), dtype="i4"), np.s_[:], 2),
    "fa_unwritten": (dict(shape=(30,), chunks=(10,), maxshape=(30,), dtype="i4"), None, 0),
    # 10000 chunks: index block, its data blocks, super blocks and their data blocks.
    "ea_1d": (dict(shape=(20000,), chunks=(2,), maxshape=(None,), dtype="i4"), np.s_[:], 4),
    # Elements past 131060 sit in paged data blocks (2 pages of 1024): some pages and some
    # data blocks are never written.
    "ea_paged": (dict(shape=(145000,), chunks=(1,), maxshape=(None,), dtype="i1"),
                 [np.s_[0:500], np.s_[131000:132500], np.s_[134500:135000], np.s_[144000:144010]], 4),
    "ea_gzip_2d": (dict(shape=(3000, 6), chunks=(2, 3), maxshape=(None, 6), dtype="i4",
                        compression="gzip"), np.s_[:2500], 4),
    "ea_small_3d": (dict(shape=(9, 4, 5), chunks=(2, 2, 5), maxshape=(None, 4, 5), dtype="u1"), np.s_[:], 3),
    "ea_unwritten": (dict(shape=(30,), chunks=(10,), maxshape=(None,), dtype="i4"), None, 0),
    # 10000 chunks in a B-tree of depth 2: header, then a round per level.
    "bt2_2d": (dict(shape=(200, 200), chunks=(2, 2), maxshape=(None, None), dtype="i2"), np.s_[:], 4),
    "bt2_gzip_3d": (dict(shape=(20, 20, 20), chunks=(2, 2, 5), maxshape=(None, None, 20), dtype="i4",
                         compression="gzip", shuffle=True), [np.s_[0:10], np.s_[16:18, 4:]], 3),
    "single": (dict(shape=(10, 10), chunks=(10, 10), maxshape=(10, 10), dtype="i4"), np.s_[:], 0),
    "single_gzip": (dict(shape=(10, 10), chunks=(10, 10), maxshape=(10, 10), dtype="i4",
                         compression="gzip"), np.s_[:], 0),
}
# The unlimited axis is not the first: libhdf5's chunk_iter reports wrong offsets for these
# (it walks the extensible array without undoing the swizzle), so they are checked against
# the chunk bytes in the file instead.
SWIZZLED: dict[str, tuple[dict, object, int]] = {
    "ea_unlimited_last_2d": (dict(shape=(10, 40), chunks=(5, 10), maxshape=(10, None), dtype="i4"), np.s_[:], 3),
    "ea_unlimited_middle_3d": (dict(shape=(4, 600, 6), chunks=(2, 5, 3), maxshape=(4, None, 6), dtype="i4"),
                               np.s_[:, :560], 4),
}
IMPLICIT = {"implicit": ((95, 20), (95, 20), (10, 3)), "implicit_growable": ((40, 20), (95, 20), (10, 3))}
# Chunks written raw with a filter mask (some filters skipped): offset, mask.
DIRECT = {"fa_filters_3d": ((15, 28, 36), 0b101), "ea_gzip_2d": ((2998, 3), 1),
          "bt2_gzip_3d": ((18, 18, 15), 2), "single_gzip": ((0, 0), 1)}


def _write(f: h5py.File, name: str, spec: dict, region: object) -> None:
    ds = f.create_dataset(name, **spec)
    for r in region if isinstance(region, list) else ([] if region is None else [region]):
        ds[r] = np.arange(ds[r].size).reshape(ds[r].shape) % 100
    if name in DIRECT:
        offset, mask = DIRECT[name]
        ds.id.write_direct_chunk(offset, b"raw chunk bytes, filters skipped", filter_mask=mask)


def _implicit(f: h5py.File, name: str, shape: tuple, maxshape: tuple, chunks: tuple) -> None:
    dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
    dcpl.set_chunk(chunks)
    dcpl.set_alloc_time(h5py.h5d.ALLOC_TIME_EARLY)
    space = h5py.h5s.create_simple(shape, maxshape)
    h5py.h5d.create(f.id, name.encode(), h5py.h5t.NATIVE_INT32, space, dcpl=dcpl)


@pytest.fixture(scope="module", params=sorted(LIBVERS))
def chunked(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, bytes, dict]:
    """(libver, file bytes, name -> (header address, shape, maxshape, filtered, chunk_iter))."""
    path = tmp_path_factory.mktemp("chunks") / f"chunks_{request.param}.h5"
    with h5py.File(path, "w", libver=LIBVERS[request.param]) as f:
        for name, (spec, region, _) in {**DATASETS, **SWIZZLED}.items():
            _write(f, name, spec, region)
        for name, (shape, maxshape, chunks) in IMPLICIT.items():
            _implicit(f, name, shape, maxshape, chunks)
    info = {}
    with h5py.File(path, "r") as f:
        for name, ds in f.items():
            found: list = []
            ds.id.chunk_iter(lambda s, found=found: found.append(
                (tuple(s.chunk_offset), s.byte_offset, s.size, s.filter_mask)))
            filtered = ds.id.get_create_plist().get_nfilters() > 0
            info[name] = (_address(ds), ds.shape, ds.maxshape, filtered, found)
    return request.param, path.read_bytes(), info


def _layout(data: bytes, address: int, rank: int) -> Layout:
    (message,) = [m for m in _messages(data, address) if m.type == LAYOUT]
    return parse_layout(message.data, _context(data), rank)


def _entries(data: bytes, info: tuple, reader: Reader | None = None) -> tuple[Layout, list]:
    address, shape, maxshape, filtered, _ = info
    layout = _layout(data, address, len(shape))
    parser = chunk_entries(_context(data), layout, shape, maxshape, filtered)
    return layout, run(parser, reader or over_bytes(data))


EXPECTED_INDEX = {"fa": "fixed_array", "ea": "extensible_array", "bt2": "btree2", "single": "single",
                  "implicit": "implicit"}


@pytest.mark.parametrize("name", [*DATASETS, *IMPLICIT])
def test_chunk_entries_equal_h5py(chunked: tuple, name: str) -> None:
    libver, data, info = chunked
    reader = Reader(data)
    layout, entries = _entries(data, info[name], reader)
    assert layout.index == EXPECTED_INDEX[name.split("_")[0]]
    # HDF5 2.0 writes layout v5 (wider filtered chunk sizes) only where chunks are filtered.
    assert layout.params["layout_version"] == (5 if libver == "latest" and info[name][3] else 4)
    got = [(e.offset, e.address, e.size, e.filter_mask) for e in entries]
    expected = info[name][4]
    assert sorted(got) == sorted(expected)
    assert [e.offset for e in entries] == sorted(e.offset for e in entries)  # row-major order
    if name in DIRECT:
        assert (DIRECT[name][0], DIRECT[name][1]) in [(o, m) for o, _, _, m in got]
    if name in DATASETS:
        assert reader.rounds == DATASETS[name][2]
    if layout.index == "btree2":  # rounds: the header, then one per level
        depth = int.from_bytes(data[layout.address + 12 : layout.address + 14], "little")
        assert reader.rounds == depth + 2 and (name != "bt2_2d" or depth == 2)


@pytest.mark.parametrize("name", SWIZZLED)
def test_chunk_entries_swizzled_unlimited_axis(chunked: tuple, name: str) -> None:
    _, data, info = chunked
    reader = Reader(data)
    layout, entries = _entries(data, info[name], reader)
    spec, region, rounds = SWIZZLED[name]
    assert layout.index == "extensible_array" and reader.rounds == rounds
    expected = np.zeros(spec["shape"], spec["dtype"])
    expected[region] = np.arange(expected[region].size).reshape(expected[region].shape) % 100
    chunk = np.array(layout.chunk_shape)
    written = {tuple(int(x) for x in o * chunk) for o in np.ndindex(*(-(-np.array(expected[region].shape) // chunk)))}
    assert {e.offset for e in entries} == written
    # libhdf5 lists the same extents, under other coordinates.
    assert sorted(e.address for e in entries) == sorted(a for _, a, _, _ in info[name][4])
    for e in entries:
        stored = np.frombuffer(data[e.address : e.address + e.size], spec["dtype"]).reshape(layout.chunk_shape)
        box = expected[tuple(slice(o, o + c) for o, c in zip(e.offset, layout.chunk_shape))]
        assert np.array_equal(stored[tuple(slice(0, n) for n in box.shape)], box)


def test_rounds_do_not_grow_with_the_number_of_chunks(chunked: tuple) -> None:
    _, data, info = chunked
    for small, large in [("fa_growable", "fa_paged_3d"), ("ea_gzip_2d", "ea_paged")]:
        rounds = []
        for name in (small, large):
            reader = Reader(data)
            _entries(data, info[name], reader)
            rounds.append(reader.rounds)
        assert rounds[0] == rounds[1]


def test_chunk_index_arguments(chunked: tuple) -> None:
    _, data, info = chunked
    address, shape, maxshape, _, _ = info["fa_1d"]
    layout = _layout(data, address, 1)
    ctx = _context(data)
    with pytest.raises(Unsupported):
        run(chunk_entries(ctx, Layout("chunked", address=0, chunk_shape=(10,)), shape, maxshape, False),
            over_bytes(data))
    with pytest.raises(FormatError):  # the index says raw chunks
        run(chunk_entries(ctx, layout, shape, maxshape, True), over_bytes(data))
    with pytest.raises(FormatError):  # a rank the layout does not have
        run(chunk_entries(ctx, layout, (10, 100), (10, 100), False), over_bytes(data))
    with pytest.raises(FormatError):  # more chunks than the array has elements for
        run(chunk_entries(ctx, layout, (2000,), (2000,), False), over_bytes(data))


# --- dense links and attributes: v2 B-trees and fractal heaps ---------------------------

def _set_deflate(plist: h5py.h5p.PropID) -> bool:
    """H5Pset_deflate on a group creation list (h5py has no binding): filters its link heap."""
    libs = glob.glob(os.path.join(os.path.dirname(h5py.__file__), os.pardir, "h5py.libs", "libhdf5-*.so*"))
    if not libs:
        return False
    lib = ctypes.CDLL(libs[0])
    lib.H5Pset_deflate.argtypes = [ctypes.c_int64, ctypes.c_uint]
    return lib.H5Pset_deflate(plist.id, 6) >= 0


LONG_NAME = "L" * 9000  # a link message larger than the heap's managed objects: a huge object


@pytest.fixture(scope="module")
def dense(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, dict]:
    """(file bytes, group name -> (header address, link names, attribute values))."""
    path = tmp_path_factory.mktemp("dense") / "dense.h5"
    rng = np.random.default_rng(1)
    objects = {}
    with h5py.File(path, "w", libver="latest") as f:
        for name, n_links, n_attrs in [("dozen", 12, 12), ("few", 50, 30), ("many", 5000, 2000)]:
            g = f.create_group(name)
            for i in range(n_links):
                g.create_group(f"child_{i:05d}")
            values = {}
            for i in range(n_attrs):
                # Mostly small values, several above the 4 KiB managed-object limit (huge).
                size = 20_000 if i % 97 == 13 else int(rng.integers(1, 60 if n_attrs > 12 else 3))
                values[f"attribute_{i}"] = rng.integers(0, 1 << 40, size)
            if n_attrs > 12:
                values["very_big"] = np.arange(100_000)
            for key, value in values.items():
                g.attrs[key] = value
            objects[name] = (_address(g), sorted(g), values)
        gcpl = h5py.h5p.create(h5py.h5p.GROUP_CREATE)
        if _set_deflate(gcpl):
            h5py.h5g.create(f.id, b"deflated", gcpl=gcpl)
            g = f["deflated"]
            for i in range(300):
                g.create_group(f"child_{i:05d}_" + "x" * 100)
            g.create_group(LONG_NAME)
            objects["deflated"] = (_address(g), sorted(g), {})
    return path.read_bytes(), objects


def _dense_index(data: bytes, address: int, message_type: int) -> tuple[int, int]:
    """(fractal heap, name B-tree) of a link info or attribute info message."""
    (message,) = [m for m in _messages(data, address) if m.type == message_type]
    body = message.data
    pos = 2 + (8 if message_type == LINK_INFO and body[1] & 1 else 0)
    pos += 2 if message_type == ATTRIBUTE_INFO and body[1] & 1 else 0
    return int.from_bytes(body[pos : pos + 8], "little"), int.from_bytes(body[pos + 8 : pos + 16], "little")


def _link_name(message: bytes) -> str:
    flags = message[1]
    pos = 2 + (1 if flags & 0x08 else 0) + (8 if flags & 0x04 else 0) + (1 if flags & 0x10 else 0)
    width = 1 << (flags & 3)
    length = int.from_bytes(message[pos : pos + width], "little")
    return message[pos + width : pos + width + length].decode()


def _attribute(message: bytes) -> tuple[str, bytes]:
    """(name, data) of an attribute message (version 3, as libver='latest' writes)."""
    assert message[0] == 3
    name_size, type_size, space_size = (int.from_bytes(message[i : i + 2], "little") for i in (2, 4, 6))
    name = message[9 : 9 + name_size].rstrip(b"\0").decode()
    return name, message[9 + name_size + type_size + space_size :]


def _tree_rounds(data: bytes, tree: int, reader: Reader) -> None:
    """A v2 B-tree read costs its header, then one round per level."""
    depth = int.from_bytes(data[tree + 12 : tree + 14], "little")
    assert reader.rounds == depth + 2


# Rounds of the heap reads: header, root indirect block, direct blocks (a small heap's
# root is its only direct block); the "many" attributes' heap also has nested indirect
# blocks (header, root, nested, direct = 4), and huge objects cost the huge-object
# B-tree's header, its levels, the objects.
@pytest.mark.parametrize("group, heap_rounds", [("dozen", 2), ("few", 3), ("many", 3), ("deflated", 4)])
def test_dense_links(dense: tuple, group: str, heap_rounds: int) -> None:
    data, objects = dense
    if group not in objects:
        pytest.skip("no libhdf5 to set a group's filters with")
    address, names, _ = objects[group]
    heap, tree = _dense_index(data, address, LINK_INFO)
    reader = Reader(data)
    record_type, recs = run(records(_context(data), tree), reader)
    assert record_type == 5 and len(recs) == len(names)  # name hash, heap ID
    _tree_rounds(data, tree, reader)
    reader = Reader(data)
    messages = run(read_objects(_context(data), heap, [r[4:] for r in recs]), reader)
    assert reader.rounds == heap_rounds
    assert sorted(_link_name(m) for m in messages) == names


@pytest.mark.parametrize("group, heap_rounds", [("dozen", 2), ("few", 4), ("many", 5)])
def test_dense_attributes(dense: tuple, group: str, heap_rounds: int) -> None:
    data, objects = dense
    address, _, values = objects[group]
    heap, tree = _dense_index(data, address, ATTRIBUTE_INFO)
    reader = Reader(data)
    record_type, recs = run(records(_context(data), tree), reader)
    assert record_type == 8 and len(recs) == len(values)  # heap ID, flags, order, hash
    _tree_rounds(data, tree, reader)
    reader = Reader(data)
    found = dict(_attribute(m) for m in run(read_objects(_context(data), heap, [r[:8] for r in recs]), reader))
    assert reader.rounds == heap_rounds
    assert sorted(found) == sorted(values)
    for name, value in values.items():
        assert found[name] == value.astype("<i8").tobytes()


def test_heap_header_shares_the_b_trees_first_round(dense: tuple) -> None:
    data, objects = dense
    address, names, _ = objects["many"]
    heap_address, tree = _dense_index(data, address, LINK_INFO)
    ctx = _context(data)
    reader = Reader(data)

    def both() -> Parser[list[bytes]]:
        (_, recs), heap = yield from gather([records(ctx, tree), fractal_heap.read_header(ctx, heap_address)])
        return (yield from fractal_heap.resolve(ctx, heap, [r[4:] for r in recs]))

    assert sorted(_link_name(m) for m in run(both(), reader)) == names
    assert reader.rounds == 4 + 3 - 1  # B-tree of depth 2, heap with a root indirect block


def test_tiny_and_empty_heap_reads(dense: tuple) -> None:
    data, objects = dense
    heap, tree = _dense_index(data, objects["few"][0], LINK_INFO)
    _, recs = run(records(_context(data), tree), over_bytes(data))
    tiny = bytes([0x20 | 4]) + b"tiny!" + b"\0"  # type 2, length 5, padded to the ID length
    got = run(read_objects(_context(data), heap, [tiny, recs[0][4:]]), over_bytes(data))
    assert got[0] == b"tiny!" and _link_name(got[1])
    reader = Reader(data)
    assert run(read_objects(_context(data), heap, []), reader) == [] and reader.rounds == 0
    with pytest.raises(FormatError):  # type 3 does not exist
        run(read_objects(_context(data), heap, [bytes([0x30]) + bytes(6)]), over_bytes(data))
    with pytest.raises(FormatError):  # an offset beyond the heap's managed space
        run(read_objects(_context(data), heap, [b"\0" + b"\xff" * 4 + b"\x10\0"]), over_bytes(data))


def test_addresses_relative_to_a_user_block(tmp_path: Path) -> None:
    """After a user block, file addresses count from the superblock (the base address)."""
    path = tmp_path / "user_block.h5"
    with h5py.File(path, "w", libver="latest", userblock_size=512) as f:
        ds = f.create_dataset("x", shape=(300, 40), chunks=(2, 2), maxshape=(None, 40), dtype="i8",
                              compression="gzip")
        ds[:250] = 1
        g = f.create_group("g")
        for i in range(100):
            g.create_group(f"child_{i}")
        found: list = []
        ds.id.chunk_iter(lambda s: found.append((tuple(s.chunk_offset), s.byte_offset, s.size, s.filter_mask)))
        ds_address, group_address, names = _address(ds) + 512, _address(g) + 512, sorted(g)
    data = path.read_bytes()
    ctx = FileContext(8, 8, 512, len(data))
    (message,) = [m for m in run(read_object_header(ctx, ds_address), over_bytes(data)) if m.type == LAYOUT]
    layout = parse_layout(message.data, ctx, 2)
    entries = run(chunk_entries(ctx, layout, (300, 40), (None, 40), True), over_bytes(data))
    assert sorted((e.offset, e.address, e.size, e.filter_mask) for e in entries) == sorted(found)
    (message,) = [m for m in run(read_object_header(ctx, group_address), over_bytes(data)) if m.type == LINK_INFO]
    heap, tree = (int.from_bytes(message.data[i : i + 8], "little") + 512 for i in (2, 10))
    _, recs = run(records(ctx, tree), over_bytes(data))
    assert sorted(_link_name(m) for m in run(read_objects(ctx, heap, [r[4:] for r in recs]), over_bytes(data))) == names


def test_lookup3() -> None:
    assert lookup3(b"") == 0xDEADBEEF
    assert lookup3(b"Four score and seven years ago") == 0x17770551
    assert lookup3(b"Four score and seven years ago", 1) == 0xCD628161


# --- robustness -----------------------------------------------------------------------

def _cases(chunked: tuple, dense: tuple) -> list:
    """(file bytes, parser factory) for a structure of each kind, small enough to read
    hundreds of times."""
    _, cdata, info = chunked
    ddata, objects = dense
    cctx, dctx = _context(cdata), _context(ddata)
    out = []
    for name in ("fa_paged_3d", "fa_filters_3d", "ea_gzip_2d", "bt2_gzip_3d", "ea_unlimited_last_2d"):
        address, shape, maxshape, filtered, _ = info[name]
        layout = _layout(cdata, address, len(shape))
        out.append((cdata, lambda layout=layout, s=shape, m=maxshape, f=filtered:
                    chunk_entries(cctx, layout, s, m, f)))
    heap_ids = {LINK_INFO: lambda r: r[4:], ATTRIBUTE_INFO: lambda r: r[:8]}  # from records
    for group, kind in [("few", LINK_INFO), ("few", ATTRIBUTE_INFO), ("deflated", LINK_INFO)]:
        if group in objects:
            heap, tree = _dense_index(ddata, objects[group][0], kind)
            _, recs = run(records(dctx, tree), over_bytes(ddata))
            ids = [heap_ids[kind](r) for r in recs]
            out.append((ddata, lambda tree=tree: records(dctx, tree)))
            out.append((ddata, lambda heap=heap, ids=ids: read_objects(dctx, heap, ids)))
    return out


def _survives(data: bytes, make: Callable[[], Parser]) -> None:
    try:
        run(make(), Reader(data))
    except (FormatError, Unsupported):
        pass


def test_truncated_structures_raise_format_errors(chunked: tuple, dense: tuple) -> None:
    """A file cut inside a structure raises, unless the cut only removed bytes fetched
    beyond the structure's end (headers are fetched with room to spare)."""
    rnd = random.Random(7)
    for data, make in _cases(chunked, dense):
        reader = Reader(data)
        whole = run(make(), reader)
        cuts = [o + i for o, n in reader.ranges for i in (0, 1, n // 2, n - 1) if 0 <= i < n]
        for cut in rnd.sample(cuts, min(20, len(cuts))):
            try:
                assert run(make(), Reader(data[:cut])) == whole
            except (FormatError, Unsupported):
                pass
        for start in sorted({o for o, _ in reader.ranges})[:20]:  # a structure wholly missing
            with pytest.raises((FormatError, Unsupported)):
                run(make(), Reader(data[:start]))


@pytest.mark.parametrize("checksums", [True, False])
def test_bit_flips_raise_format_errors_or_read(chunked: tuple, dense: tuple, checksums: bool,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """Flipped bits in the structures' bytes: an answer, FormatError or Unsupported, never
    another exception nor a hang; without checksums the flips reach the parsers' logic."""
    if not checksums:
        for module in (btree2, chunk_index, fractal_heap):
            monkeypatch.setattr(module, "verify", lambda *args, **kwargs: None)
        monkeypatch.setattr(fractal_heap, "verify_inside", lambda *args, **kwargs: None)
    rnd = random.Random(11)
    for data, make in _cases(chunked, dense):
        reader = Reader(data)
        run(make(), reader)
        spans = [(o, min(n, len(data) - o)) for o, n in reader.ranges if o < len(data)]
        for _ in range(40):
            mutated = bytearray(data)
            for _ in range(rnd.choice((1, 1, 2, 8))):
                offset, size = rnd.choice(spans)
                mutated[offset + rnd.randrange(size)] ^= 1 << rnd.randrange(8)
            _survives(bytes(mutated), make)


@pytest.mark.parametrize("damage, message", [
    ("declares_1tb", "declares 1099511627776 bytes"),
    ("cut_short", "cut short"),
    ("garbage_block", "lz4:"),
])
def test_hostile_lz4_chunks_raise_format_errors(damage: str, message: str) -> None:
    """An lz4 chunk (HDF5 filter 32004) declaring a terabyte is refused before anything is
    allocated; a block cut short or of garbage is a FormatError, not a codec crash."""
    chunk_bytes = 4096
    lz4 = [Filter(filters.LZ4, "lz4", 0, ())]
    total, block = chunk_bytes, 1024
    body = (100).to_bytes(4, "big") + b"\xff" * 100  # one 'compressed' block of garbage
    if damage == "declares_1tb":
        total = 1 << 40
    elif damage == "cut_short":
        body = body[:50]
    data = total.to_bytes(8, "big") + block.to_bytes(4, "big") + body
    with pytest.raises(FormatError, match=message):
        filters.undo(data, lz4, 0, chunk_bytes)
