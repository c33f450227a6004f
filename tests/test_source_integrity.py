"""No read changes a source: the shared files keep their bytes, size, mtime and mode.

The session-wide guard lives in conftest (`_shared_data_untouched`: every file of
../shared/data is snapshotted when the session starts and compared when it ends). Here:
the guard's comparison catches each kind of change, and reading every shared file through
every public entry point (both HDF5 engines, caches on, widgets' requests) leaves the
originals exactly as they were, with no file added next to them.
"""

from __future__ import annotations

import os
import shutil
import warnings
from pathlib import Path

import pytest
from conftest import SHARED_DATA, SHARED_FILES, SHARED_NWB2_FILES, describe_changes, snapshot_files

import lazynwb_explorer as lazynwb
from lazynwb_explorer.errors import LazyNWBError

assert SHARED_FILES, f"no shared data files found under {SHARED_DATA}"


def test_the_guard_sees_every_kind_of_change(tmp_path) -> None:
    root = tmp_path / "copy"
    shutil.copytree(SHARED_DATA, root)
    before = snapshot_files(root)
    assert describe_changes(before, snapshot_files(root)) == []
    first, second, third, fourth = (root / n for n in list(before)[:4])
    st = first.stat()
    os.utime(first, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000))  # mtime only
    data = bytearray(second.read_bytes())  # same size, one byte flipped, mtime restored
    data[-1] ^= 0xFF
    st2 = second.stat()
    second.write_bytes(bytes(data))
    os.utime(second, ns=(st2.st_atime_ns, st2.st_mtime_ns))
    third.chmod(0o600)
    fourth.unlink()
    (root / "new.nwb").write_bytes(b"")
    changes = describe_changes(before, snapshot_files(root))
    assert len(changes) == 5, changes
    assert f"changed (mtime_ns): {first.relative_to(root).as_posix()}" in changes
    assert f"changed (sha256): {second.relative_to(root).as_posix()}" in changes
    assert f"changed (mode): {third.relative_to(root).as_posix()}" in changes
    assert f"removed: {fourth.relative_to(root).as_posix()}" in changes
    assert "added: new.nwb" in changes


def _read_everything(source: str) -> int:
    """Every public way to look into a file; returns how many calls answered."""
    answered = 0
    calls = [
        lambda: lazynwb.get_internal_paths(source),
        lambda: lazynwb.get_internal_path_info(source, include_metadata=True),
        lambda: lazynwb.get_metadata_df(source, as_polars=True, disable_progress=True),
        lambda: lazynwb.LazyNWB(source).subject,
    ]
    for call in calls:
        try:
            call()
            answered += 1
        except LazyNWBError:
            pass
    try:
        info = lazynwb.get_internal_path_info(source)
    except LazyNWBError:  # refused (NWB 1.x): nothing more to read
        return answered
    for path, entry in info.items():
        try:
            if entry.get("is_table"):
                lazynwb.get_df(source, path, exact_path=True, exclude_array_columns=False,
                               as_polars=True, disable_progress=True)
                lazynwb.scan_nwb(source, path, disable_progress=True).head(3).collect()
            elif entry.get("is_timeseries"):
                series = lazynwb.get_timeseries(source, path, exact_path=True)
                series.data[:5]
                series.timestamps[:5]
            else:
                continue
            answered += 1
        except (LazyNWBError, KeyError, ValueError, TypeError, AttributeError):
            pass  # odd corners of old files: reading them is another test's business
    return answered


@pytest.mark.parametrize("engine", ["h5py", "native"])
def test_reading_every_shared_file_changes_nothing(engine, monkeypatch) -> None:
    monkeypatch.setattr(lazynwb.config, "hdf5_engine", engine)
    before = snapshot_files(SHARED_DATA)
    answered = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for path in SHARED_FILES:
            answered += _read_everything(str(path))
            lazynwb.clear_cache()  # stores what the catalogs learned (to the cache dir)
            answered += _read_everything(str(path))  # again, from the stored catalog
    assert answered > 3 * len(SHARED_FILES)
    assert describe_changes(before, snapshot_files(SHARED_DATA)) == []


def test_widgets_on_shared_files_change_nothing() -> None:
    pytest.importorskip("anywidget")
    from lazynwb_explorer.widgets import SchemaViewer, TableGrid, TreeBrowser

    before = snapshot_files(SHARED_DATA)
    for path in SHARED_NWB2_FILES:
        tree = TreeBrowser(path)
        reply, _ = tree.handle_message({"type": "search", "gen": 1, "query": ""})
        tables = [p for p, e in lazynwb.get_internal_path_info(path).items() if e.get("is_table")]
        for table in tables[:2]:
            tree.selected_path = table
            SchemaViewer(path, table).handle_message({"type": "schema", "gen": 1, "path": table})
            grid = TableGrid(path, table)
            grid.handle_message({"type": "info", "gen": 1})
            grid.handle_message({"type": "page", "gen": 2, "offset": 0, "limit": 50})
    assert describe_changes(before, snapshot_files(SHARED_DATA)) == []


def test_served_copies_are_read_not_written(served, locate, http_server) -> None:
    """Over http the server only reads; the copies it serves stay as they were."""
    copies = served / "shared"
    before = snapshot_files(copies)
    for path in SHARED_NWB2_FILES[:6]:
        url = locate(copies / path.relative_to(SHARED_DATA), "http")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _read_everything(url)
    assert describe_changes(before, snapshot_files(copies)) == []
    assert not [p for p in Path(copies).rglob("*") if p.name.endswith((".lock", ".tmp"))]
