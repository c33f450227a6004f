"""Inputs for the fuzzer: seed files and the mutations that make them hostile.

Seeds are real files (../shared/data), small files written by pynwb / hdmf-zarr
(nwb_factory) and h5py files with libver='latest' (dense groups and attributes, v2 object
headers, the new chunk indexes) plus odd corners (compact layout, committed types, vlen
strings, references, multi-level chunk B-trees).

HDF5 mutations know where the structures are: a clean run of the engine over a seed records
every byte range it reads (structure starts, metadata regions) and, inside metadata, which
8-byte fields hold the address of another structure (pointers) and which hold small
numbers (lengths, dimension sizes, counts). Mutations then truncate at structure
boundaries, flip bits, write huge values into lengths and dimensions (10**15 elements),
point a pointer at another structure or back at its own (cycles), splice and zero bytes.
Zarr mutations edit the JSON metadata (shapes, chunks, dtypes, compressors, fill values,
deleted keys) and chunk bytes (truncated, flipped, compression bombs).

A mutation draws its choices from a `Chooser`: hypothesis' `draw` in the property-based
runs, `random.Random(i)` for resumable runs in a subprocess (the API-level target).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import random
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import numpy as np

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
SMALL_NWB = dict(  # make_rich_nwbfile options for seeds that parse in a few milliseconds
    n_units=3, n_trials=3, n_electrodes=2, n_running_samples=20, n_lick_samples=20,
    n_raw_samples=20, n_pupil_samples=20, max_spikes_per_unit=5, session_duration=5.0,
)
HUGE_8 = (10**15, 2**63 - 1, 2**64 - 1, 2**64 - 2, 2**32, 2**32 - 1, 2**31, 0, 1)
ODD_4 = (0, 1, 3, 7, 2**31, 2**32 - 1, 10**9, 65_536)
SET_BYTES = (0x00, 0xFF, 0x80, 0x7F, 0x01, 0x02, 0x03, 0x10)
SITE_CAP = 4096  # small-number sites kept per seed (evenly spaced)


class Chooser(Protocol):
    def below(self, n: int) -> int:
        """An integer in [0, n) (0 when n <= 1)."""


class RandomChooser:
    def __init__(self, seed: int):
        self.rng = random.Random(seed)

    def below(self, n: int) -> int:
        return self.rng.randrange(n) if n > 1 else 0


class DrawChooser:
    """Choices drawn from hypothesis, so failing inputs shrink toward the first seed, the
    first mutation kind and small offsets."""

    def __init__(self, draw: Callable[[Any], Any]):
        from hypothesis import strategies as st

        self.draw, self.st = draw, st

    def below(self, n: int) -> int:
        return self.draw(self.st.integers(0, n - 1)) if n > 1 else 0


# -- HDF5 seeds ---------------------------------------------------------------------------


@dataclasses.dataclass
class H5Seed:
    name: str
    data: bytes
    starts: list[int]  # where the engine's reads of the clean file begin: structure starts
    meta: list[tuple[int, int]]  # metadata / index ranges read (start, end)
    pointers: list[int]  # positions of 8-byte fields holding a structure's address
    small8: list[int]  # positions of 8-byte fields holding 1 .. 2**20
    small4: list[int]  # positions of 4-byte fields holding 1 .. 2**16
    meta_total: int = 0


def _positions(data: bytes, mask: np.ndarray, width: int, keep: Callable[[np.ndarray], np.ndarray]) -> list[int]:
    """Positions p (where mask[p]) whose `width`-byte little-endian value passes `keep`."""
    dtype = {8: "<u8", 4: "<u4"}[width]
    found = []
    for shift in range(width):
        n = (len(data) - shift) // width
        values = np.frombuffer(data, dtype=dtype, count=n, offset=shift)
        pos = np.nonzero(keep(values))[0] * width + shift
        found.append(pos[mask[pos]])
    return sorted(np.concatenate(found).tolist())


def _thin(positions: list[int]) -> list[int]:
    if len(positions) <= SITE_CAP:
        return positions
    step = len(positions) / SITE_CAP
    return [positions[int(i * step)] for i in range(SITE_CAP)]


def analyse(name: str, data: bytes, ranges: list[tuple]) -> H5Seed:
    """Where a seed's structures are, from the ranges a clean engine run read."""
    meta = sorted({(r[0], min(r[0] + r[1], len(data))) for r in ranges
                   if r[0] >= 0 and (len(r) == 2 or r[2] != "data") and r[0] < len(data)})
    starts = sorted({r[0] for r in ranges if 0 <= r[0] < len(data)})
    mask = np.zeros(len(data) + 8, dtype=bool)
    for s, e in meta:
        mask[s:e] = True
    targets = np.array(sorted(set(starts) - {0}), dtype=np.uint64)
    pointers = _positions(data, mask, 8, lambda v: np.isin(v, targets))
    small8 = _positions(data, mask, 8, lambda v: (v >= 1) & (v <= 1 << 20))
    taken = set(pointers)
    small8 = _thin([p for p in small8 if p not in taken])
    small4 = _thin(_positions(data, mask, 4, lambda v: (v >= 1) & (v <= 1 << 16)))
    total = sum(e - s for s, e in _merged(meta))
    return H5Seed(name, data, starts, _merged(meta), pointers, small8, small4, total)


def _merged(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[list[int]] = []
    for s, e in sorted(spans):
        if out and s <= out[-1][1]:
            out[-1][1] = max(out[-1][1], e)
        else:
            out.append([s, e])
    return [(s, e) for s, e in out]


# -- HDF5 mutations -----------------------------------------------------------------------

Mutation = Callable[[bytearray, H5Seed, Chooser], bytearray]


def _meta_position(seed: H5Seed, c: Chooser) -> int:
    """A byte inside the metadata, half the time within 64 bytes of a structure's start
    (where the headers' fields are)."""
    if c.below(2) and seed.starts:
        return min(seed.starts[c.below(len(seed.starts))] + c.below(64), len(seed.data) - 1)
    k = c.below(max(seed.meta_total, 1))
    for s, e in seed.meta:
        if k < e - s:
            return s + k
        k -= e - s
    return c.below(len(seed.data))


def _put(data: bytearray, pos: int, value: int, width: int) -> None:
    if 0 <= pos <= len(data) - width:
        data[pos : pos + width] = (value % (1 << (8 * width))).to_bytes(width, "little")


def truncate_at_boundary(data: bytearray, seed: H5Seed, c: Chooser) -> bytearray:
    cut = seed.starts[c.below(len(seed.starts))] + (-1, 0, 1, 4, 8, 16, 40)[c.below(7)]
    return data[: max(cut, 0)]


def truncate_anywhere(data: bytearray, seed: H5Seed, c: Chooser) -> bytearray:
    return data[: c.below(len(data))]


def flip_bit(data: bytearray, seed: H5Seed, c: Chooser) -> bytearray:
    pos = _meta_position(seed, c)
    if pos < len(data):
        data[pos] ^= 1 << c.below(8)
    return data


def set_byte(data: bytearray, seed: H5Seed, c: Chooser) -> bytearray:
    pos = _meta_position(seed, c)
    if pos < len(data):
        data[pos] = SET_BYTES[c.below(len(SET_BYTES))]
    return data


def huge_field(data: bytearray, seed: H5Seed, c: Chooser) -> bytearray:
    """An address, length or dimension size becomes huge (10**15, 2**64-1 ...) or zero."""
    sites = seed.pointers + seed.small8
    if sites:
        _put(data, sites[c.below(len(sites))], HUGE_8[c.below(len(HUGE_8))], 8)
    return data


def huge_dimension(data: bytearray, seed: H5Seed, c: Chooser) -> bytearray:
    """A small 8-byte number (a dimension, a count) times a large factor: 10**15 elements."""
    if seed.small8:
        pos = seed.small8[c.below(len(seed.small8))]
        value = int.from_bytes(data[pos : pos + 8], "little")
        _put(data, pos, max(value, 1) * (10**15, 10**6, 2**32, 3)[c.below(4)], 8)
    return data


def odd_word(data: bytearray, seed: H5Seed, c: Chooser) -> bytearray:
    """A 4-byte size (datatype size, chunk dimension, entry count) off by one, doubled,
    zero or huge."""
    if seed.small4:
        pos = seed.small4[c.below(len(seed.small4))]
        value = int.from_bytes(data[pos : pos + 4], "little")
        choices = (*ODD_4, value + 1, value - 1, value * 2, value // 2)
        _put(data, pos, choices[c.below(len(choices))], 4)
    return data


def retarget(data: bytearray, seed: H5Seed, c: Chooser) -> bytearray:
    """A pointer now points at another structure: its own (a cycle), the root's, or any."""
    if not seed.pointers:
        return data
    pos = seed.pointers[c.below(len(seed.pointers))]
    own = max((s for s in seed.starts if s <= pos), default=0)
    choices = (own, seed.starts[1] if len(seed.starts) > 1 else own, seed.starts[c.below(len(seed.starts))],
               own + 1, len(data) - 1)
    _put(data, pos, choices[c.below(len(choices))], 8)
    return data


def splice(data: bytearray, seed: H5Seed, c: Chooser) -> bytearray:
    n = (1, 2, 4, 8, 16, 64)[c.below(6)]
    src, dst = _meta_position(seed, c), _meta_position(seed, c)
    piece = data[src : src + n]
    data[dst : dst + len(piece)] = piece
    return data


def zero_run(data: bytearray, seed: H5Seed, c: Chooser) -> bytearray:
    n = (2, 8, 32, 256)[c.below(4)]
    pos = _meta_position(seed, c)
    data[pos : pos + n] = bytes(len(data[pos : pos + n]))
    return data


H5_MUTATIONS: tuple[Mutation, ...] = (
    flip_bit, set_byte, huge_field, huge_dimension, odd_word, retarget, splice, zero_run,
    truncate_at_boundary, truncate_anywhere,
)


def mutate_hdf5(seeds: list[H5Seed], c: Chooser) -> tuple[str, bytes]:
    """One hostile HDF5 image: a seed with one to three mutations."""
    seed = seeds[c.below(len(seeds))]
    data = bytearray(seed.data)
    steps = []
    for _ in range(1 + c.below(3)):
        mutation = H5_MUTATIONS[c.below(len(H5_MUTATIONS))]
        steps.append(mutation.__name__)
        data = mutation(data, seed, c)
    return f"{seed.name}: {' + '.join(steps)}", bytes(data)


# -- HDF5 seed files ----------------------------------------------------------------------


def write_h5py_corners(path: Path, libver: str) -> Path:
    """A small file with the corners an NWB reader meets, written with `libver`."""
    import h5py

    with h5py.File(path, "w", libver=(libver, "latest")) as f:
        f.attrs["nwb_version"] = "2.8.0"
        f.attrs["flags"] = np.array([True, False])
        f.attrs["pair"] = np.array((1, 2.5), dtype=[("a", "<i4"), ("b", "<f8")])
        f.attrs["names"] = np.array(["x", "yz"], dtype=h5py.string_dtype())
        dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
        dcpl.set_layout(h5py.h5d.COMPACT)
        h5py.h5d.create(f.id, b"compact", h5py.h5t.STD_I32LE, h5py.h5s.create_simple((4,)),
                        dcpl=dcpl).write(h5py.h5s.ALL, h5py.h5s.ALL, np.arange(4, dtype="<i4"))
        f["big_endian"] = np.arange(10, dtype=">f8")
        f["fixed_str"] = np.array([b"a", b"bcd", b""], dtype="S3")
        f["vlen_str"] = np.array(["x", "yz" * 20, ""], dtype=h5py.string_dtype())
        f.create_dataset("filled", shape=(20,), chunks=(5,), fillvalue=-7, dtype="<i4")[0:5] = 1
        f.create_dataset("gz2d", data=np.arange(120.0).reshape(12, 10), chunks=(5, 4),
                         compression="gzip", shuffle=True, fletcher32=True)
        f.create_dataset("many_chunks", data=np.arange(200, dtype="<i2"), chunks=(1,))  # B-tree depth 2
        # chunk indexes with libver='latest': extensible array, v2 B-tree, single chunk
        f.create_dataset("growable", data=np.arange(400, dtype="<u2"), chunks=(4,), maxshape=(None,))
        f.create_dataset("two_unlimited", data=np.arange(24).reshape(4, 6), chunks=(2, 3), maxshape=(None, None))
        f.create_dataset("one_chunk", data=np.arange(50.0), chunks=(50,), compression="gzip")
        f["types/committed"] = np.dtype("<f4")
        f.create_dataset("uses_committed", data=np.ones(3, dtype="<f4"), dtype=f["types/committed"])
        g = f.create_group("g")
        g["ds"] = np.arange(3)
        g["soft"] = h5py.SoftLink("/g/ds")
        g["external"] = h5py.ExternalLink("other.h5", "/x")
        g["again"] = g["ds"]
        f["ref"] = np.array([g.ref, g["ds"].ref], dtype=h5py.ref_dtype)
        g.attrs["points_to"] = f["compact"].ref
        dense = f.create_group("dense")  # more links / attributes than compact storage holds
        for i in range(12):
            dense.create_group(f"child_{i:02d}")
            dense.attrs[f"attr_{i:02d}"] = i
    return path


def zlib_bomb(total: int) -> bytes:
    """A zlib stream of `total` zero bytes (a multiple of 1 MiB), about total / 1000 bytes
    long: one compressed MiB, repeated (a full flush makes every repeat identical)."""
    block = bytes(1 << 20)
    z = zlib.compressobj(9, zlib.DEFLATED, -15)
    piece = z.compress(block) + z.flush(zlib.Z_FULL_FLUSH)
    end = zlib.compressobj(9, zlib.DEFLATED, -15).flush()  # the final, empty block
    adler = (total % 65521) << 16 | 1  # adler32 of zeros: a = 1, b = total
    return b"\x78\xda" + piece * (total >> 20) + end + adler.to_bytes(4, "big")


def write_deflate_bombs(path: Path, total: int = 1 << 26) -> Path:
    """Two gzip datasets whose one chunk is a zlib stream of `total` zero bytes: one declares
    1 KiB chunks (the stream inflates past its chunk), one 2 GiB chunks (more than the engine
    decodes in memory)."""
    import h5py

    bomb = zlib_bomb(total)
    with h5py.File(path, "w") as f:
        f.attrs["nwb_version"] = "2.8.0"
        for name, rows, dtype in (("declared_1k", 1024, "u1"), ("declared_2g", 1 << 28, "<f8")):
            dataset = f.create_dataset(name, shape=(rows,), chunks=(rows,), dtype=dtype, compression="gzip")
            dataset.id.write_direct_chunk((0,), bomb)
    return path


VICTIM_MARK = b"\xeeVICTIM\xee"  # what a victim file outside the seed holds, over and over


def victim_file(directory: Path) -> tuple[Path, Path]:
    """(a raw file, an HDF5 file) beside the seeds whose bytes no read of a seed may return."""
    raw, h5 = directory / "victim.bin", directory / "victim_h5.bin"
    raw.write_bytes(VICTIM_MARK * 4096)
    if not h5.exists():
        import h5py

        with h5py.File(h5, "w") as f:
            f["secret"] = np.frombuffer(VICTIM_MARK * 512, dtype="<u8")
    return raw, h5


def write_outside_and_huge(path: Path, libver: str) -> Path:
    """A file whose objects reach outside it or declare what they do not hold: external raw
    storage at an absolute path, a virtual dataset and external links into another file,
    datasets declaring 3x10^8 rows with no data (contiguous, chunked, one chunk of many
    written), and groups nested 200 deep."""
    import h5py

    raw, victim = victim_file(path.parent)
    n = len(VICTIM_MARK * 4096) // 8
    with h5py.File(path, "w", libver=(libver, "latest")) as f:
        f.attrs["nwb_version"] = "2.8.0"
        f.create_dataset("external", shape=(n,), dtype="<u8", external=[(str(raw), 0, n * 8)])
        layout = h5py.VirtualLayout(shape=(512,), dtype="<u8")
        layout[:] = h5py.VirtualSource(str(victim), "secret", shape=(512,))
        f.create_virtual_dataset("virtual", layout)
        f["links/to_dataset"] = h5py.ExternalLink(str(victim), "/secret")
        f["links/to_root"] = h5py.ExternalLink(str(victim), "/")
        f["links/soft_through"] = h5py.SoftLink("/links/to_root/secret")
        f.create_dataset("huge/contiguous", shape=(3 * 10**8,), dtype="<f8")
        f.create_dataset("huge/chunked", shape=(3 * 10**8,), dtype="<f8", chunks=(1 << 12,), maxshape=(None,))
        f.create_dataset("huge/one_chunk", shape=(3 * 10**8,), dtype="<f8", chunks=(1 << 12,))[:10] = 1.0
        group = f.create_group("deep")
        for _ in range(200):
            group = group.create_group("g")
        group["leaf"] = np.arange(3)
    return path


def write_hdf5_seeds(directory: Path) -> list[Path]:
    """Small seed files written in this session (about a second in all)."""
    import nwb_factory as nf

    directory.mkdir(parents=True, exist_ok=True)
    return [
        nf.write_hdf5(directory / "small.nwb", **SMALL_NWB),  # contiguous: the shared files
        nf.write_hdf5(directory / "small_latest.nwb", libver="latest", **SMALL_NWB),
        write_h5py_corners(directory / "corners_earliest.h5", "earliest"),
        write_h5py_corners(directory / "corners_latest.h5", "latest"),
        write_deflate_bombs(directory / "deflate_bombs.h5"),
        write_outside_and_huge(directory / "outside_earliest.h5", "earliest"),
        write_outside_and_huge(directory / "outside_latest.h5", "latest"),
    ]


def hdf5_seed_files(directory: Path) -> list[Path]:
    """Every seed file: the shared real files and the ones written here (written once)."""
    written = sorted(directory.glob("*.nwb")) + sorted(directory.glob("*.h5"))
    if len(written) < 7:
        written = write_hdf5_seeds(directory)
    return sorted(SHARED_DATA.rglob("*.nwb")) + written


# -- Zarr ---------------------------------------------------------------------------------

Store = dict[str, bytes]  # key -> bytes: a whole Zarr store in memory

WEIRD_SHAPES: tuple[Any, ...] = ([10**15], [10**15, 10**15], [-1], [], [0], [2**63], ["3"], 7, None)
WEIRD_CHUNKS: tuple[Any, ...] = ([0], [-1], [10**15], [1, 1, 1, 1], [], ["a"], None, [2**40])
WEIRD_DTYPES: tuple[Any, ...] = ("<x7", "|O", "<f16", "S-1", 123, [["a", "<i4"]], ">M8[D]", "|V0",
                                 "<U0", "", [["a", "<i4", [10**9]]])
WEIRD_COMPRESSORS: tuple[Any, ...] = ({"id": "nope"}, {"id": "blosc", "cname": "bogus"},
                                      {"id": "zlib", "level": 99}, "gzip", {"level": 1}, {"id": "pickle"},
                                      {"id": "zstd", "level": 10**9})
WEIRD_FILLS: tuple[Any, ...] = ("abc", 1e308, [1, 2], {"a": 1}, "NaN", None, 10**30, "AAAA", -1)
WEIRD_FILTERS: tuple[Any, ...] = ([{"id": "unknown"}], "x", [{"id": "pickle"}], [None], [{}],
                                  [{"id": "vlen-utf8"}], [{"id": "delta", "dtype": "<x9"}])
WEIRD_ATTRS: tuple[Any, ...] = (5, "x", None, [1, [2, [3]]], {"path": 5}, {"zarr_dtype": "object"},
                                 [{"name": 3}], "\udcff", 1e308)
ZARRAY_FIELDS: dict[str, tuple[Any, ...]] = {
    "shape": WEIRD_SHAPES, "chunks": WEIRD_CHUNKS, "dtype": WEIRD_DTYPES,
    "compressor": WEIRD_COMPRESSORS, "fill_value": WEIRD_FILLS, "filters": WEIRD_FILTERS,
    "order": ("X", None, 1), "zarr_format": (3, "2", None),
    "dimension_separator": ("|", "", 5, "/../../../outside/", "/../", "\\", ".."),
}


def _dumps(value: Any) -> bytes:
    return json.dumps(value, indent=2, allow_nan=True, ensure_ascii=False).encode("utf-8", "surrogatepass")


def _mutate_fields(meta: dict[str, Any], c: Chooser, attrs: bool) -> str:
    if not isinstance(meta, dict):
        return "not a dict"
    if attrs or not meta:
        if meta and c.below(3) == 0:
            key = sorted(meta)[c.below(len(meta))]
            del meta[key]
            return f"del {key}"
        key = (sorted(meta) + ["colnames", "neurodata_type", "zarr_link", "nwb_version"])[
            c.below(len(meta) + 4)]
        meta[key] = WEIRD_ATTRS[c.below(len(WEIRD_ATTRS))]
        return f"{key}={meta[key]!r}"
    field = sorted(ZARRAY_FIELDS)[c.below(len(ZARRAY_FIELDS))]
    if c.below(6) == 0:
        meta.pop(field, None)
        return f"del {field}"
    values = ZARRAY_FIELDS[field]
    meta[field] = values[c.below(len(values))]
    return f"{field}={meta[field]!r}"


def mutate_zarr(stores: list[Store], c: Chooser) -> tuple[str, tuple[int, Store]]:
    """One hostile store: a seed (its index) with one or two edits of metadata or chunks."""
    index = c.below(len(stores))
    out = dict(stores[index])
    steps = []
    for _ in range(1 + c.below(2)):
        steps.append(_ZARR_MUTATIONS[c.below(len(_ZARR_MUTATIONS))](out, c))
    return f"store {index}: {' + '.join(steps)}", (index, out)


def _consolidated_entry(store: Store, c: Chooser) -> str:
    if ".zmetadata" not in store:
        return "no .zmetadata"
    try:
        top = json.loads(store[".zmetadata"])
    except ValueError:
        return "unparsable .zmetadata"
    entries = top.get("metadata", {}) if isinstance(top, dict) else {}
    if not isinstance(entries, dict) or not entries:
        return "no entries"
    arrays = sorted(k for k in entries if k.endswith(".zarray"))
    others = sorted(k for k in entries if not k.endswith(".zarray"))
    key = arrays[c.below(len(arrays))] if arrays and c.below(3) else (others or arrays)[c.below(len(others or arrays))]
    what = _mutate_fields(entries[key], c, attrs=not key.endswith(".zarray"))
    store[".zmetadata"] = _dumps(top)
    return f".zmetadata[{key}] {what}"


def _plain_key(store: Store, c: Chooser) -> str:
    """A .zarray / .zattrs / .zgroup file edited, with .zmetadata gone so it is read."""
    keys = sorted(k for k in store if k.rsplit("/", 1)[-1] in (".zarray", ".zattrs", ".zgroup"))
    if not keys:
        return "no metadata keys"
    store.pop(".zmetadata", None)
    key = keys[c.below(len(keys))]
    try:
        meta = json.loads(store[key])
    except ValueError:
        return f"{key} unparsable"
    what = _mutate_fields(meta, c, attrs=not key.endswith(".zarray"))
    store[key] = _dumps(meta)
    return f"{key} {what}"


def _broken_json(store: Store, c: Chooser) -> str:
    keys = sorted(k for k in store if k.rsplit("/", 1)[-1].startswith(".z"))
    if not keys:
        return "no metadata keys"
    key = keys[c.below(len(keys))]
    raw = store[key]
    choice = c.below(4)
    store[key] = (raw[: c.below(len(raw))], b"[]", b"null", b'{"metadata": 5}')[choice]
    return f"{key} broken ({choice})"


def _chunk(store: Store, c: Chooser) -> str:
    keys = sorted(k for k in store if not k.rsplit("/", 1)[-1].startswith(".z"))
    if not keys:
        return "no chunks"
    key = keys[c.below(len(keys))]
    raw = bytearray(store[key])
    choice = c.below(5)
    if choice == 0:
        raw = raw[: c.below(len(raw))]
    elif choice == 1 and raw:
        raw[c.below(len(raw))] ^= 1 << c.below(8)
    elif choice == 2 and len(raw) > 16:  # blosc / lz4 / zstd headers declare sizes here
        _put(raw, c.below(16), (2**31 - 1, 2**32 - 1, 10**9)[c.below(3)], 4)
    elif choice == 3:
        raw = bytearray()
    else:
        raw = bytearray(b"\x28\xb5\x2f\xfd\xe0" + (2**40).to_bytes(8, "little"))  # zstd: 1 TB frame
    store[key] = bytes(raw)
    return f"chunk {key} ({choice})"


def _edit_json(store: Store, key: str, edit: Callable[[Any], None]) -> None:
    """Apply `edit` to the JSON at `key`, unless an earlier mutation broke or removed it."""
    try:
        value = json.loads(store[key])
        edit(value)
    except (KeyError, TypeError, ValueError, AttributeError):
        return
    store[key] = _dumps(value)


def _bomb_chunk(store: Store, c: Chooser) -> str:
    """A chunk that inflates to a gigabyte, its array's compressor switched to zlib."""
    arrays = sorted(k[: -len("/.zarray")] for k in store if k.endswith("/.zarray"))
    chunked = [a for a in arrays if any(k.startswith(a + "/") and "/.z" not in k[len(a):] for k in store)]
    if not chunked:
        return "no chunks"
    array = chunked[c.below(len(chunked))]
    key = next(k for k in sorted(store) if k.startswith(array + "/") and "/.z" not in k[len(array):])
    zlib_codec = {"id": "zlib", "level": 1}
    _edit_json(store, array + "/.zarray", lambda meta: meta.__setitem__("compressor", zlib_codec))
    _edit_json(store, ".zmetadata",
               lambda top: top["metadata"][array + "/.zarray"].__setitem__("compressor", zlib_codec))
    store[key] = zarr_bomb()
    return f"bomb in {key}"


def _delete(store: Store, c: Chooser) -> str:
    keys = sorted(store)
    if not keys:
        return "empty store"
    key = keys[c.below(len(keys))]
    del store[key]
    return f"del {key}"


@functools.cache
def zarr_bomb() -> bytes:
    """1 GiB of zeros in about 1 MB of zlib."""
    return zlib_bomb(1 << 30)


def hostile_pickle(c: Chooser) -> tuple[str, bytes]:
    """A pickle whose objects, expanded as a tree, are a "billion laughs" of shared
    references, nested thousands deep, or contain themselves (built opcode by opcode: the
    standard pickler would recurse)."""
    choice = c.below(4)
    if choice == 0:  # EMPTY_LIST MEMOIZE, then width x BINGET of the last level + APPENDS
        depth, width = (16, 20, 24, 30)[c.below(4)], (2, 3, 8)[c.below(3)]
        ops = bytearray(b"\x80\x04\x8c\x03lol\x94")
        for level in range(depth):
            ops += b"](" + bytes([0x68, level]) * width + b"e\x94"
        return f"laughs {width}^{depth}", bytes(ops + b".")
    if choice == 1:  # lists nested `depth` deep
        depth = (100, 10_000, 200_000)[c.below(3)]
        return f"nested {depth}", b"\x80\x04" + b"]" * depth + b"a" * (depth - 1) + b"."
    if choice == 2:  # a list that holds itself, in an object array's place
        return "self-holding list", b"\x80\x04]\x94h\x00a."
    depth = (40, 1000)[c.below(2)]  # dicts nested deep
    return f"dicts {depth}", b"\x80\x04" + b"}\x8c\x01k" * depth + b"N" + b"s" * depth + b"."


def _pickle_chunk(store: Store, c: Chooser) -> str:
    """An object column stored with the Pickle codec gets a hostile pickle as its chunk."""
    arrays = []
    for key in sorted(k for k in store if k.endswith("/.zarray")):
        try:
            meta = json.loads(store[key])
        except ValueError:
            continue
        if isinstance(meta, dict) and any(isinstance(f, dict) and f.get("id") == "pickle"
                                          for f in meta.get("filters") or []):
            arrays.append((key[: -len("/.zarray")], meta))
    if not arrays:
        return "no pickled column"
    array, meta = arrays[c.below(len(arrays))]
    label, payload = hostile_pickle(c)
    try:
        import numcodecs

        compressor = numcodecs.get_codec(meta["compressor"]) if meta.get("compressor") else None
    except (KeyError, TypeError, ValueError):
        compressor = None
    store[f"{array}/0"] = compressor.encode(payload) if compressor is not None else payload
    return f"{label} in {array}/0"


def _declared_rows(store: Store, c: Chooser) -> str:
    """An array declares 10^9 rows (or 10^6 chunks of 1) and keeps no chunk."""
    arrays = sorted(k[: -len("/.zarray")] for k in store if k.endswith("/.zarray"))
    if not arrays:
        return "no arrays"
    array = arrays[c.below(len(arrays))]
    shape, chunks = ([10**9], [10**6]) if c.below(2) else ([10**6], [1])

    def edit(meta: dict) -> None:
        if isinstance(meta, dict) and isinstance(meta.get("shape"), list) and meta["shape"]:
            meta["shape"] = shape + meta["shape"][1:]
            meta["chunks"] = chunks + list(meta.get("chunks") or [])[1:]

    _edit_json(store, f"{array}/.zarray", edit)
    _edit_json(store, ".zmetadata", lambda top: edit(top["metadata"][f"{array}/.zarray"]))
    for key in [k for k in store if k.startswith(array + "/") and "/.z" not in k[len(array):]]:
        del store[key]
    return f"{array} declares {shape[0]} rows"


def _rooted_keys(store: Store, c: Chooser) -> str:
    """Consolidated metadata keys that climb or start at '/' ('/units/.zattrs', 'a/../.zgroup')."""
    form = ("/{}", "{}/..", "./{}", "../{}", "{}//x")[c.below(5)]
    changed = []

    def edit(top: dict) -> None:
        entries = top["metadata"]
        for key in sorted(entries)[: 1 + c.below(3)]:
            entries[form.format(key)] = entries.pop(key)
            changed.append(key)

    _edit_json(store, ".zmetadata", edit)
    return f"keys {form} for {changed}"


def _deep_groups(store: Store, c: Chooser) -> str:
    """Groups nested 300 (or 100) deep in the consolidated metadata."""
    depth = (300, 100)[c.below(2)]

    def edit(top: dict) -> None:
        path = "deep"
        for _ in range(depth):
            top["metadata"][f"{path}/.zgroup"] = {"zarr_format": 2}
            path += "/g"

    _edit_json(store, ".zmetadata", edit)
    return f"groups {depth} deep"


_ZARR_MUTATIONS = (_consolidated_entry, _consolidated_entry, _consolidated_entry, _plain_key,
                   _broken_json, _chunk, _chunk, _bomb_chunk, _delete, _pickle_chunk, _pickle_chunk,
                   _declared_rows, _rooted_keys, _deep_groups)


def read_store(path: Path) -> Store:
    return {p.relative_to(path).as_posix(): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


def tiny_zarr_store() -> Store:
    """A Zarr NWB store of a few keys, one array per codec (zlib, blosc + vlen-utf8, zstd,
    lz4), consolidated: fast to fuzz, and small enough to keep as a regression input."""
    import numcodecs
    import zarr

    store: dict[str, Any] = {}
    root = zarr.group(store=store)
    root.attrs.update(nwb_version="2.8.0", neurodata_type="NWBFile", namespace="core")
    units = root.create_group("units")
    units.attrs.update(colnames=["quality", "spike_times"], neurodata_type="Units", namespace="core")
    units.create_dataset("id", data=np.arange(4), chunks=(2,), compressor=numcodecs.Zlib())
    units.create_dataset("quality", data=np.array(["good", "mua", "good", "noise"], dtype=object),
                         object_codec=numcodecs.VLenUTF8(), compressor=numcodecs.Blosc())
    units.create_dataset("spike_times", data=np.linspace(0, 1, 12), compressor=numcodecs.Zstd())
    units.create_dataset("spike_times_index", data=np.array([3, 6, 9, 12]), compressor=numcodecs.LZ4())
    refs = np.empty(4, dtype=object)  # object references, pickled as hdmf-zarr writes them
    for i in range(4):
        refs[i] = {"source": ".", "path": "/units", "object_id": f"id-{i}"}
    units.create_dataset("electrodes_ref", data=refs, object_codec=numcodecs.Pickle(), compressor=numcodecs.Zlib())
    zarr.consolidate_metadata(store)
    return {k: bytes(v) for k, v in sorted(store.items())}


def zarr_seeds(directory: Path) -> list[Store]:
    """The Zarr seed stores: a small NWB file by hdmf-zarr (written once) and a tiny one."""
    import nwb_factory as nf

    path = directory / "small.nwb.zarr"
    if not (path / ".zmetadata").exists():
        nf.write_zarr(path, **SMALL_NWB)
    return [read_store(path), tiny_zarr_store()]
