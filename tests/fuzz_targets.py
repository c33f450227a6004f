"""Fuzz targets: hostile or broken files must be refused with our own errors, promptly and
in bounded memory.

- `engine_target(data)`: an HDF5 image through our engine only (no h5py): superblock, the
  whole tree (reading a few rows of every dataset on the way as optional tasks, the way a
  narrow walk reads small datasets), then a few rows of every dataset (and a row in the
  middle through the partial chunk-index walk), all over the bytes in memory. Allowed:
  success, `FormatError`, `Unsupported`, `Refused` (values outside the file).
- `api_target(path)`: the public API (`get_internal_paths`) on a file, with the native
  engine, then a few rows of every dataset through the catalog's backend (h5py where the
  engine hands a file on). Allowed: success or a `LazyNWBError`; a read returning the bytes
  of the victim file beside the seeds (fuzz_inputs.VICTIM_MARK) is a Bug.
- `zarr_target(path)`: the public API on a Zarr store, then the first rows of every array.
  Allowed: success or a `LazyNWBError`.

At the API level every stray exception is wrapped by a catch-all (`multifile.name_errors`)
into a bare `LazyNWBError`; that hides a bug rather than handles it, so the targets count
a bare wrapper, and a `MemoryError` or `RecursionError` anywhere in an error's chain, as a
`Bug`. A `Hang` (the per-input alarm) is a BaseException so no `except Exception` in the
code under test can swallow it.
"""

from __future__ import annotations

import contextlib
import resource
import signal
from collections.abc import Iterator
from pathlib import Path

import lazynwb_explorer as lazynwb
from lazynwb_explorer.backends.hdf5 import btree1
from lazynwb_explorer.backends.hdf5.binary import FileContext
from lazynwb_explorer.backends.hdf5.io import (
    FormatError,
    Ranges,
    Refused,
    Unsupported,
    optional,
    over_bytes,
    run,
)
from lazynwb_explorer.backends.hdf5.objects import DatasetInfo
from lazynwb_explorer.backends.hdf5.plan import Box, chunk_index, read_boxes
from lazynwb_explorer.backends.hdf5.superblock import read_superblock
from lazynwb_explorer.backends.hdf5.walk import walk_tree
from lazynwb_explorer.catalog import open_catalog
from lazynwb_explorer.errors import LazyNWBError
from lazynwb_explorer.multifile import name_errors
from lazynwb_explorer.nwb.internal_paths import internal_paths
from lazynwb_explorer.sources import to_source

FIRST_BYTES = 1 << 16  # what the engine's backend hands read_superblock: the first block
MAX_ROUNDS = 10_000  # steps one input may take (a cycle the engine misses would loop)
ROWS = 3  # rows read from the start of every dataset
COLUMNS = 16  # elements read along every other axis


class Bug(AssertionError):
    """An outcome no input may have: a stray exception, a hang, an unbounded allocation."""


class Hang(BaseException):
    """An input ran past its time limit."""


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise Hang in the main thread once `seconds` have passed."""

    def on_alarm(signum, frame) -> None:  # noqa: ANN001 - signal handler signature
        raise Hang(f"input still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def limit_memory(headroom: int) -> int:
    """Cap this process' address space at what it maps now plus `headroom` bytes, so an
    allocation beyond the bound raises MemoryError instead of taking the machine. Returns
    the cap. (Call in a process of its own: the cap cannot be raised again.)"""
    size = 0
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmSize:"):
            size = int(line.split()[1]) * 1024
    cap = size + headroom
    resource.setrlimit(resource.RLIMIT_AS, (cap, resource.getrlimit(resource.RLIMIT_AS)[1]))
    return cap


def _bounded_reader(data: bytes):  # noqa: ANN202 - a read_round
    """`over_bytes`, with a step count: a parser that never ends is a hang."""
    read = over_bytes(data)
    steps = 0

    def read_round(ranges: Ranges) -> list[bytes]:
        nonlocal steps
        steps += 1
        if steps > MAX_ROUNDS:
            raise Hang(f"more than {MAX_ROUNDS} rounds of reads")
        return read(ranges)

    return read_round


def few_rows(info: DatasetInfo) -> list[Box]:
    """The first rows of a dataset, a bounded part of its other axes."""
    shape = info.shape or ()
    if not shape:
        return []
    rest = tuple((0, min(n, COLUMNS)) for n in shape[1:])
    return [((0, min(shape[0], ROWS)), *rest)]


def _read_dataset(ctx: FileContext, info: DatasetInfo, names: dict[int, str], read) -> None:  # noqa: ANN001
    boxes = few_rows(info)
    run(read_boxes(ctx, info, boxes, lambda: chunk_index(ctx, info), names.get), read)
    shape, layout = info.shape or (), info.layout
    if len(shape) >= 1 and shape[0] > 2 * ROWS and layout.kind == "chunked" and layout.index == "btree1":
        middle = shape[0] // 2
        box = ((middle, middle + 1), *boxes[0][1:])

        def some_chunks():  # noqa: ANN202 - the partial index walk of large tables
            return btree1.chunk_entries(ctx, layout.address, layout.chunk_shape, (middle, middle + 1))

        run(read_boxes(ctx, info, [box], some_chunks, names.get), read)


def _first_rows_on_the_way(ctx: FileContext):  # noqa: ANN202 - a walk_tree on_dataset hook
    """Optional few-rows reads started as each dataset is found (refusals give None), as
    the engine's narrow walks start their small reads."""

    def on_dataset(path: str, info: DatasetInfo):  # noqa: ANN202 - an io.Task
        def guarded():  # noqa: ANN202 - a parser
            try:
                return (yield from read_boxes(ctx, info, few_rows(info), lambda: chunk_index(ctx, info),
                                              lambda address: None))
            except (FormatError, Unsupported, Refused):
                return None

        return optional((guarded(), lambda value: None))

    return on_dataset


def engine_target(data: bytes, read=None, errors: list[str] | None = None) -> str:  # noqa: ANN001
    """Our engine over an HDF5 image: 'ok', 'rejected' (FormatError / Unsupported on the
    superblock or tree) or 'partial' (the tree, some datasets refused). `read`: another
    read_round over the same bytes; `errors` collects the refusals' messages."""
    read = read or _bounded_reader(data)
    errors = [] if errors is None else errors
    try:
        sb = run(read_superblock(len(data), data[:FIRST_BYTES]), read)
        tree = run(walk_tree(sb.ctx, sb.root_address, _first_rows_on_the_way(sb.ctx)), read)
    except (FormatError, Unsupported) as exc:
        errors.append(f"{type(exc).__name__}: {exc}")
        return "rejected"
    outcome = "ok"
    for obj in tree.objects.values():
        if obj.dataset is None:
            continue
        try:
            _read_dataset(sb.ctx, obj.dataset, tree.address_paths, read)
        except (FormatError, Unsupported, Refused) as exc:
            errors.append(f"{type(exc).__name__}: {exc}")
            outcome = "partial"
    return outcome


def check_api_error(exc: LazyNWBError) -> str:
    """The class name of an allowed API error; Bug for a hidden stray exception."""
    chain, seen = [], set()
    link: BaseException | None = exc
    while link is not None and id(link) not in seen:
        seen.add(id(link))
        chain.append(link)
        link = link.__cause__ or link.__context__
    for e in chain:
        if isinstance(e, MemoryError | RecursionError):
            raise Bug(f"{type(e).__name__} behind {type(exc).__name__}: {exc}") from exc
    if type(exc) is LazyNWBError and not isinstance(exc.__cause__, LazyNWBError | None):
        raise Bug(f"stray {type(exc.__cause__).__name__} caught by a catch-all: {exc}") from exc
    return type(exc).__name__


@contextlib.contextmanager
def configured(**values: object) -> Iterator[None]:
    """`lazynwb.config` with these values, restored after (targets also run inside pytest)."""
    previous = {name: getattr(lazynwb.config, name) for name in values}
    for name, value in values.items():
        setattr(lazynwb.config, name, value)
    try:
        yield
    finally:
        for name, value in previous.items():
            setattr(lazynwb.config, name, value)


def api_target(path: Path) -> str:
    """get_internal_paths with the native engine (caches off), then the first rows of every
    dataset: 'ok', the error's class, or 'partial:<class>' when only reads were refused."""
    with configured(hdf5_engine="native", disable_cache=True):
        try:
            source = to_source(str(path))
            catalog = name_errors(source, lambda: open_catalog(source))
            internal_paths(catalog)
        except LazyNWBError as exc:
            return check_api_error(exc)
        return _read_every_dataset(catalog)


def _read_every_dataset(catalog, arrays: set[str] | None = None) -> str:  # noqa: ANN001
    """The first rows of every dataset (of those in `arrays`); a read that returns the
    victim's bytes is a Bug."""
    from fuzz_inputs import VICTIM_MARK

    outcome = "ok"
    for node in list(catalog.nodes.values()):
        if node.dataset is None or node.is_link or (arrays is not None and node.path not in arrays):
            continue
        shape = node.dataset.shape
        try:
            if shape:
                box = (slice(0, min(shape[0], ROWS)), *(slice(0, min(n, COLUMNS)) for n in shape[1:]))
                values = catalog.backend.read_box(node.path, box)
            else:
                values = catalog.backend.read(node.path)
        except LazyNWBError as exc:
            outcome = f"partial:{check_api_error(exc)}"
            continue
        if getattr(values, "dtype", None) is not None and values.dtype.kind in "biufcSV" \
                and VICTIM_MARK[1:7] in values.tobytes():
            raise Bug(f"{node.path} returned the bytes of a file outside the source")
    catalog.close()
    return outcome


def zarr_target(path: Path, arrays: set[str] | None = None) -> str:
    """A Zarr store through the public API, then the first rows of every array (of those in
    `arrays`, when given): 'ok', or the error's class ('partial:<class>' when only a read
    was refused)."""
    try:  # get_internal_paths, keeping the catalog it opens (one walk, not two)
        source = to_source(str(path))
        with configured(disable_cache=True):
            catalog = name_errors(source, lambda: open_catalog(source))
        internal_paths(catalog)
    except LazyNWBError as exc:
        return check_api_error(exc)
    return _read_every_dataset(catalog, arrays)
