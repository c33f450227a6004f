"""HDF5 through h5py: local files directly, remote files over our RangeFile.

libhdf5 follows whatever paths a file names: a dataset's values stored in other files
(external raw storage), mapped from them (virtual datasets), links into other files. So
every path is resolved here link by link, and every dataset checked before it is read: such
objects are refused (OutsideSourceError) unless the file is local and
config.follow_external_paths asks for them.

libhdf5 reads one piece at a time under a global lock. For remote data we do not let it
discover byte ranges one by one: before h5py reads a row selection we compute the byte
ranges it will touch (the contiguous span, or the chunks from the chunk index) and prefetch
them in one concurrent round; h5py's reads are then answered from memory.

Over ~400 lines because it is one class with one job, the Backend interface over h5py;
resolving paths link by link (h5py_paths.py) already lives apart, and what remains (walk,
checks, prefetch, reads, decoding) works on the same open h5py.File under one lock.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Sequence
from typing import Any

import h5py
import numpy as np

from ..config import config
from ..errors import MalformedFileError, NotNWBError, SourceError
from ..sources import Source
from ..transport import RangeFile
from .base import (
    MAX_DEPTH,
    UNBACKED_LIMIT,
    Backend,
    DatasetMeta,
    Node,
    Selection,
    as_str_array,
    check_read_size,
    decode_scalar,
    refuse_outside,
    selection_to_spans,
)
from .h5py_paths import OutsideReference, follow, lookup, outside_reason


def _reads_inside_chunks(ds: h5py.Dataset, itemsize: int) -> bool:
    """True when libhdf5 reads a selection straight from the file rather than whole chunks:
    the chunks are unfiltered and bigger than the dataset's chunk cache."""
    if ds.id.get_create_plist().get_nfilters() != 0:
        return False
    cache_bytes = ds.id.get_access_plist().get_chunk_cache()[1]
    return int(np.prod(ds.chunks, dtype=np.int64)) * itemsize > cache_bytes


def _compression(ds: h5py.Dataset) -> str | None:
    """h5py's name for the dataset's compression, the same in every h5py version: a
    plugin's filter (h5py names those by number) is 'unknown', as h5py >= 3.12 says."""
    plugin = any(str(name).isdigit() for name in (ds._filters or {}))  # '32001' or 32001
    return ds.compression or ("unknown" if plugin else None)


def _open_local(path: str) -> h5py.File:
    """Open read-only with HDF5's default locking (so pynwb can open the same file in this
    process); where the file system refuses locks, open without them."""
    try:
        return h5py.File(path, "r")
    except OSError as exc:
        if "lock" not in str(exc).lower():
            raise
        return h5py.File(path, "r", locking=False)


class HDF5Backend(Backend):
    kind = "h5py"

    def __init__(self, source: Source, outside: dict[str, Node] | None = None):
        """`outside`: objects our engine found reaching outside the file (never opened here)."""
        self.label = source.label
        self.source = source
        self.follows_outside = config.follow_external_paths and not source.is_remote
        self._outside = {} if self.follows_outside else dict(outside or {})
        self._rangefile: RangeFile | None = None
        self._lock = threading.RLock()
        self._chunk_maps: dict[str, dict[tuple[int, ...], tuple[int, int]]] = {}
        try:
            if source.is_remote:
                self._rangefile = RangeFile(source.reader())
                # No chunk cache: libhdf5 then reads just the selected rows out of
                # uncompressed chunks (the bytes come from our prefetch, already in memory).
                self.file = h5py.File(self._rangefile, "r", rdcc_nbytes=0)
            else:
                self.file = _open_local(source.uri)
        except SourceError:
            raise
        except OSError as exc:
            raise NotNWBError(
                f"cannot be opened as HDF5 (truncated or not HDF5?): {exc}", source=self.label
            ) from exc

    def close(self) -> None:
        with self._lock:
            try:
                self.file.close()
            except Exception:  # noqa: BLE001 - closing twice or after a failure is fine
                pass

    # -- metadata -----------------------------------------------------------------------

    def _ref_name(self, ref: Any) -> str | None:
        """The path an object reference points to (None for a null or dangling one)."""
        if not ref:
            return None
        try:
            name = h5py.h5r.get_name(ref, self.file.id)
        except Exception:  # noqa: BLE001 - a dangling reference is data, not a crash
            return None
        return name.decode("utf-8", errors="replace") if isinstance(name, bytes) else name

    def _attrs(self, obj: h5py.HLObject) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in obj.attrs:
            try:
                value = obj.attrs[name]
            except Exception as exc:  # noqa: BLE001 - an unreadable attribute is reported
                out[name] = f"<unreadable attribute: {exc}>"
                continue
            out[name] = self._decode_attr(value)
        return out

    def _decode_attr(self, value: Any) -> Any:
        if isinstance(value, h5py.Reference):
            return self._ref_name(value)
        if isinstance(value, np.ndarray) and value.dtype.kind == "O":
            return [self._decode_attr(v) for v in value.tolist()]
        if isinstance(value, np.void) and value.dtype.names:
            return {n: self._decode_attr(value[n]) for n in value.dtype.names}
        return decode_scalar(value)

    def _meta(self, ds: h5py.Dataset) -> DatasetMeta:
        dtype = ds.dtype
        is_string = h5py.check_string_dtype(dtype) is not None
        is_ref = h5py.check_ref_dtype(dtype) is not None
        storage = "vlen str" if (is_string and h5py.check_vlen_dtype(dtype)) else dtype.str
        filters = tuple(str(k) for k in (ds._filters or {}))
        return DatasetMeta(
            shape=tuple(ds.shape or ()),
            dtype=np.dtype(object) if (is_string or is_ref) else dtype,
            chunks=ds.chunks,
            compression=_compression(ds),
            filters=filters,
            is_string=is_string,
            is_reference=is_ref,
            storage_dtype=storage,
        )

    def walk(self) -> dict[str, Node]:
        """The tree, depth first in name order, with an explicit stack (no recursion)."""
        with self._lock:
            nodes: dict[str, Node] = {}
            seen: set = set()
            stack: list[tuple[h5py.Group, str, str]] = []  # (parent, parent's path, name)

            def enter(group: h5py.Group, path: str) -> None:
                if path.count("/") > MAX_DEPTH:
                    raise NotNWBError(f"groups nested deeper than {MAX_DEPTH} levels", source=self.label)
                names = list(group.keys())
                nodes[path] = Node(path, True, self._attrs(group), children=tuple(names))
                seen.add(group.id.__hash__())
                stack.extend((group, path, name) for name in reversed(names))

            enter(self.file, "/")
            while stack:
                group, path, name = stack.pop()
                child_path = f"{path.rstrip('/')}/{name}"
                child = self._walk_child(group, path, name, child_path, seen)
                if isinstance(child, Node):
                    nodes[child_path] = child
                elif child is not None:
                    enter(child, child_path)
            return nodes

    def _walk_child(self, group: h5py.Group, path: str, name: str, child_path: str, seen: set):  # noqa: ANN202
        """A child's Node, or the group to walk next (None: not part of the tree)."""
        if child_path in self._outside:
            return self._outside[child_path]
        try:
            obj, is_link = follow(self.file, group, path, name, self.follows_outside)
        except OutsideReference as exc:
            return Node(child_path, False, {}, is_link=True, outside=str(exc))
        except (KeyError, OSError, ValueError, TypeError):  # a dangling link
            return Node(child_path, False, {}, is_link=True)
        if isinstance(obj, h5py.Datatype):  # a named type: not part of an NWB tree
            return None
        if isinstance(obj, h5py.Group):
            if is_link or obj.id.__hash__() in seen:
                return Node(child_path, True, self._attrs(obj), children=tuple(obj.keys()), is_link=True)
            return obj
        outside = None if self.follows_outside else outside_reason(obj)
        return Node(child_path, False, self._attrs(obj), dataset=self._meta(obj), is_link=is_link,
                    outside=outside)

    # -- data ---------------------------------------------------------------------------

    def _dataset(self, path: str) -> h5py.Dataset:
        """The dataset at `path`, if reading it stays inside the file (or may leave it)."""
        path = "/" + path.strip("/")
        known = self._outside.get(path)
        if known is not None and known.outside:
            raise refuse_outside(self.label, path, known.outside, self.source.is_remote)
        try:
            obj = lookup(self.file, path, self.follows_outside)
        except OutsideReference as exc:
            raise refuse_outside(self.label, path, str(exc), self.source.is_remote) from None
        except (KeyError, ValueError) as exc:
            raise MalformedFileError("dataset not found", source=self.label, path=path) from exc
        if not isinstance(obj, h5py.Dataset):
            raise MalformedFileError("not a dataset", source=self.label, path=path)
        reason = None if self.follows_outside else outside_reason(obj)
        if reason:
            raise refuse_outside(self.label, path, reason, self.source.is_remote)
        declared = int(np.prod(obj.shape or (), dtype=object)) * obj.dtype.itemsize
        if declared > UNBACKED_LIMIT and self._storage_size(obj, path) == 0:
            raise MalformedFileError(f"declares shape {obj.shape} ({declared} bytes) but stores none "
                                     "of its data", source=self.label, path=path)
        return obj

    def _storage_size(self, ds: h5py.Dataset, path: str) -> int:
        try:
            return ds.id.get_storage_size()
        except (OSError, ValueError, RuntimeError) as exc:  # libhdf5 walks the chunk index
            raise MalformedFileError(f"cannot read: {exc}", source=self.label, path=path) from exc

    def read(self, path: str, rows: Selection = None) -> np.ndarray:
        with self._lock:
            ds = self._dataset(path)
            if ds.ndim == 0:
                try:
                    return self._decode(ds, np.asarray(ds[()]))
                except (OSError, ValueError, RuntimeError) as exc:
                    raise MalformedFileError(f"cannot read: {exc}", source=self.label, path=path) from exc
            return self.read_spans(path, selection_to_spans(rows, ds.shape[0]))

    def read_spans(self, path: str, spans: Sequence[tuple[int, int]]) -> np.ndarray:
        with self._lock:
            ds = self._dataset(path)
            spans = [(a, b) for a, b in spans if b > a]
            check_read_size(self.label, path, (sum(b - a for a, b in spans), *ds.shape[1:]), ds.dtype.itemsize)
            if not spans:
                return self._decode(ds, np.empty((0, *ds.shape[1:]), dtype=ds.dtype))
            try:
                if self._rangefile is not None:
                    with self._rangefile.prefetched(self._byte_ranges(path, ds, spans)):
                        parts = [ds[a:b] for a, b in spans]
                else:
                    parts = [ds[a:b] for a, b in spans]
            except SourceError:
                raise
            except (OSError, ValueError, RuntimeError) as exc:
                raise MalformedFileError(f"cannot read: {exc}", source=self.label, path=path) from exc
            data = parts[0] if len(parts) == 1 else np.concatenate(parts, axis=0)
            return self._decode(ds, data)

    def read_region_spans(self, path: str) -> np.ndarray:
        with self._lock:
            ds = self._dataset(path)
            if h5py.check_ref_dtype(ds.dtype) is not h5py.RegionReference or ds.ndim != 1:
                raise MalformedFileError("not a 1-D dataset of region references", source=self.label,
                                         path=path)
            refs = ds[()]
            out = np.zeros((len(refs), 2), dtype=np.int64)
            for i, ref in enumerate(refs):
                out[i] = self._region_span(ref, path)
            return out

    def _region_span(self, ref: Any, path: str) -> tuple[int, int]:
        """One region reference's selection as rows [start, stop): a single block along
        the first axis (what a VectorIndex means); anything else is malformed."""
        if not ref:
            return (0, 0)
        try:
            space = h5py.h5r.get_region(ref, self.file.id)
            kind = space.get_select_type()
            if kind == h5py.h5s.SEL_NONE:
                return (0, 0)
            if kind == h5py.h5s.SEL_ALL:
                return (0, int(space.shape[0]))
            if kind == h5py.h5s.SEL_HYPERSLABS and space.get_select_hyper_nblocks() == 1:
                lo, hi = space.get_select_bounds()
                return (int(lo[0]), int(hi[0]) + 1)
        except Exception as exc:  # noqa: BLE001 - a broken reference is reported below
            raise MalformedFileError(f"unreadable region reference: {exc}", source=self.label,
                                     path=path) from exc
        raise MalformedFileError("a region reference that is not one block of rows",
                                 source=self.label, path=path)

    @contextlib.contextmanager
    def prefetched(self, requests: Sequence[tuple[str, Sequence[tuple[int, int]]]]) -> Iterator[None]:
        if self._rangefile is None:
            yield
            return
        with self._lock:
            ranges = []
            for path, spans in requests:
                ds = self._dataset(path)
                spans = [(a, b) for a, b in spans if b > a]
                if spans and ds.ndim:
                    ranges.extend(self._byte_ranges(path, ds, spans))
        with self._rangefile.prefetched(ranges):
            yield

    def read_box(self, path: str, box: tuple[slice, ...]) -> np.ndarray:
        """Only the chunks the box touches on every axis (remote: one prefetch round)."""
        with self._lock:
            ds = self._dataset(path)
            shape = tuple(len(range(*s.indices(n))) for s, n in zip(box, ds.shape))
            check_read_size(self.label, path, shape, ds.dtype.itemsize)
            try:
                if self._rangefile is not None:
                    ranges = self._box_byte_ranges(path, ds, box)
                    with self._rangefile.prefetched(ranges):
                        data = ds[box]
                else:
                    data = ds[box]
            except SourceError:
                raise
            except (OSError, ValueError, RuntimeError) as exc:
                raise MalformedFileError(f"cannot read: {exc}", source=self.label, path=path) from exc
            return self._decode(ds, data)

    def _box_byte_ranges(
        self, path: str, ds: h5py.Dataset, box: tuple[slice, ...]
    ) -> list[tuple[int, int]]:
        whole_rows = all(s.start <= 0 and s.stop >= n for s, n in zip(box[1:], ds.shape[1:]))
        if whole_rows or ds.id.get_create_plist().get_layout() != h5py.h5d.CHUNKED:
            return self._byte_ranges(path, ds, [(box[0].start, box[0].stop)])
        chunks = ds.chunks
        return [
            (off, off + size)
            for coord, (off, size) in self._chunk_map(path, ds).items()
            if all(c < s.stop and c + k > s.start for c, k, s in zip(coord, chunks, box))
        ]

    def _decode(self, ds: h5py.Dataset, data: np.ndarray) -> np.ndarray:
        dtype = ds.dtype
        if h5py.check_string_dtype(dtype) is not None:
            return as_str_array(data)
        if h5py.check_ref_dtype(dtype) is not None:
            return self._refs_to_paths(data)
        if dtype.names:
            return self._decode_compound(data)
        return data

    def _refs_to_paths(self, data: np.ndarray) -> np.ndarray:
        out = np.empty(data.shape, dtype=object)
        flat = out.reshape(-1)
        for i, ref in enumerate(data.reshape(-1)):
            flat[i] = self._ref_name(ref)
        return out

    def _decode_compound(self, data: np.ndarray) -> np.ndarray:
        fields = []
        decoded = {}
        for name in data.dtype.names or ():
            column = data[name]
            sub = data.dtype[name]
            if h5py.check_ref_dtype(sub) is not None:
                column = self._refs_to_paths(column)
            elif h5py.check_string_dtype(sub) is not None:
                column = as_str_array(column)
            decoded[name] = column
            fields.append((name, column.dtype))
        out = np.empty(data.shape, dtype=fields)
        for name, column in decoded.items():
            out[name] = column
        return out

    # -- byte planning (remote) -----------------------------------------------------------

    def _byte_ranges(
        self, path: str, ds: h5py.Dataset, spans: Sequence[tuple[int, int]]
    ) -> list[tuple[int, int]]:
        """The file byte ranges h5py will read for these rows (empty if unknown)."""
        layout = ds.id.get_create_plist().get_layout()
        row_elems = int(np.prod(ds.shape[1:], dtype=np.int64)) if ds.ndim > 1 else 1
        itemsize = ds.id.get_type().get_size()
        if layout == h5py.h5d.CONTIGUOUS:
            offset = ds.id.get_offset()
            if offset is None:
                return []
            row_bytes = row_elems * itemsize
            return [(offset + a * row_bytes, offset + b * row_bytes) for a, b in spans]
        if layout != h5py.h5d.CHUNKED:
            return []
        rows_per_chunk = ds.chunks[0]
        wanted = sorted({
            c for a, b in spans for c in range(a // rows_per_chunk, (b - 1) // rows_per_chunk + 1)
        })
        whole_rows = tuple(ds.chunks[1:]) == tuple(ds.shape[1:])
        offsets = self._chunk_offsets(path, ds, wanted, whole_rows)
        if whole_rows and _reads_inside_chunks(ds, itemsize):
            # Uncompressed chunks larger than the chunk cache: libhdf5 reads just the selected
            # rows from the file, so fetch exactly those bytes, not whole chunks.
            row_bytes = row_elems * itemsize
            ranges = []
            for a, b in spans:
                for c in range(a // rows_per_chunk, (b - 1) // rows_per_chunk + 1):
                    key = (c,) + (0,) * (ds.ndim - 1)
                    if key not in offsets:
                        continue
                    base, _size = offsets[key]
                    lo, hi = max(a, c * rows_per_chunk), min(b, (c + 1) * rows_per_chunk)
                    ranges.append(
                        (base + (lo - c * rows_per_chunk) * row_bytes, base + (hi - c * rows_per_chunk) * row_bytes)
                    )
            return ranges
        wanted_set = set(wanted)
        return [(off, off + size) for coord, (off, size) in offsets.items() if coord[0] in wanted_set]

    def _chunk_offsets(
        self, path: str, ds: h5py.Dataset, wanted: list[int], whole_rows: bool
    ) -> dict[tuple[int, ...], tuple[int, int]]:
        """(chunk row index, *other chunk indices) -> (byte offset, stored size) for the chunks
        in `wanted` rows of chunks."""
        rows_per_chunk = ds.chunks[0]
        n_chunks_axis0 = -(-ds.shape[0] // rows_per_chunk)
        if path not in self._chunk_maps and len(wanted) * 4 < n_chunks_axis0 and whole_rows:
            # Few chunks: look each up (walks only their B-tree paths, not the whole index).
            found = {}
            for c in wanted:
                info = ds.id.get_chunk_info_by_coord((c * rows_per_chunk,) + (0,) * (ds.ndim - 1))
                if info.byte_offset is not None:
                    found[(c,) + (0,) * (ds.ndim - 1)] = (info.byte_offset, info.size)
            return found
        wanted_set = set(wanted)
        return {
            tuple(o // k for o, k in zip(coord, ds.chunks)): extent
            for coord, extent in self._chunk_map(path, ds).items()
            if coord[0] // rows_per_chunk in wanted_set
        }

    def _chunk_map(self, path: str, ds: h5py.Dataset) -> dict[tuple[int, ...], tuple[int, int]]:
        if path not in self._chunk_maps:
            chunk_map: dict[tuple[int, ...], tuple[int, int]] = {}

            def visit(info: Any) -> None:
                chunk_map[tuple(info.chunk_offset)] = (info.byte_offset, info.size)

            try:
                ds.id.chunk_iter(visit)
            except (AttributeError, RuntimeError):
                for i in range(ds.id.get_num_chunks()):
                    visit(ds.id.get_chunk_info(i))
            self._chunk_maps[path] = chunk_map
        return self._chunk_maps[path]
