"""Hostile Zarr stores are refused with an error naming the file, in bounded time and memory:
keys that would leave the store, pickles that expand without bound, shapes declared over no
data. Each store is a copy of a store hdmf-zarr wrote, with one thing changed."""

from __future__ import annotations

import json
import pickle
import shutil
import time
import tracemalloc
from pathlib import Path
from typing import Any

import numcodecs
import numpy as np
import pytest

import lazynwb_explorer as lazynwb
from lazynwb_explorer.backends.zarr.codecs import PickleTooLargeError, safe_loads
from lazynwb_explorer.errors import LazyNWBError


def _edit(store: Path, array: str, change: Any) -> None:
    """Apply `change(meta)` to an array's .zarray, in the file and in .zmetadata."""
    path = store / array / ".zarray"
    meta = json.loads(path.read_text())
    change(meta)
    path.write_text(json.dumps(meta))
    top = json.loads((store / ".zmetadata").read_text())
    change(top["metadata"][f"{array}/.zarray"])
    (store / ".zmetadata").write_text(json.dumps(top))


@pytest.fixture
def v2_copy(rich_zarr: Path, tmp_path: Path) -> Path:
    store = tmp_path / "inner" / "deeper" / "copy.nwb.zarr"
    shutil.copytree(rich_zarr, store)
    return store


def test_a_separator_that_climbs_out_of_the_store_reads_nothing_outside(v2_copy: Path, tmp_path: Path) -> None:
    """dimension_separator '/../../../victim/' would make chunk 0's key point at
    tmp_path/victim/0: that file's bytes must never come back as the column's values."""
    victim = tmp_path / "victim"
    victim.mkdir()
    secret = np.arange(40, dtype="<f8") + 1000
    (victim / "0").write_bytes(numcodecs.Zstd().encode(secret.tobytes()))
    _edit(v2_copy, "units/presence_ratio", lambda m: m.update(dimension_separator="/../../../victim/",
                                                              compressor={"id": "zstd", "level": 1}))
    with pytest.raises(LazyNWBError) as info:
        values = lazynwb.get_df(v2_copy, "/units", include_column_names=["presence_ratio"],
                                as_polars=True)["presence_ratio"].to_list()
        assert not set(values) & set(secret.tolist()), "read a file outside the store"
    assert str(v2_copy) in str(info.value)


@pytest.mark.parametrize("key", ["/units/id/.zarray", "../units/id/.zarray", "units/../../x/.zarray",
                                 "units//id/.zarray"])
def test_consolidated_keys_outside_the_store_are_refused(v2_copy: Path, key: str) -> None:
    top = json.loads((v2_copy / ".zmetadata").read_text())
    top["metadata"][key] = top["metadata"]["units/id/.zarray"]
    (v2_copy / ".zmetadata").write_text(json.dumps(top))
    with pytest.raises(LazyNWBError) as info:
        lazynwb.get_internal_paths(v2_copy)
    assert str(v2_copy) in str(info.value) and "not below the store" in str(info.value)
    assert not isinstance(info.value.__cause__, RecursionError)


def test_deeply_nested_consolidated_metadata_is_an_error_not_a_recursion(v2_copy: Path) -> None:
    top = json.loads((v2_copy / ".zmetadata").read_text())
    text = json.dumps(top).replace('"zarr_consolidated_format": 1', '"deep": ' + "[" * 100_000 + "]" * 100_000
                                   + ', "zarr_consolidated_format": 1')
    (v2_copy / ".zmetadata").write_text(text)
    with pytest.raises(LazyNWBError) as info:
        lazynwb.get_internal_paths(v2_copy)
    assert "nests too deeply" in str(info.value)
    assert info.value.__cause__ is None or not isinstance(info.value.__cause__, RecursionError)


def _laughs(depth: int) -> bytes:
    """A list of two references to a list of two references to ... : `depth` levels, 2^depth
    leaves as a tree, a few hundred bytes as a pickle (shared references are memoized)."""
    value: Any = ["lol"]
    for _ in range(depth):
        value = [value, value]
    return pickle.dumps([value] * 16, protocol=5)  # never np.array(...): it expands the tree


def test_a_billion_laughs_pickle_fails_fast() -> None:
    payload = _laughs(30)
    assert len(payload) < 1000
    start = time.perf_counter()
    with pytest.raises(PickleTooLargeError):
        safe_loads(payload, max_items=10_000)
    assert time.perf_counter() - start < 1.0
    levels = 10_000  # lists in lists, written by hand: pickle.dumps would recurse
    nested = b"\x80\x02" + b"]" * levels + b"a" * (levels - 1) + b"."
    with pytest.raises(PickleTooLargeError):  # refused, no RecursionError
        safe_loads(nested)


def test_a_billion_laughs_column_is_refused_in_bounded_time_and_memory(v2_copy: Path) -> None:
    """The electrodes `group` column (pickled references) replaced by shared references."""
    column = v2_copy / "general" / "extracellular_ephys" / "electrodes" / "group"
    meta = json.loads((column / ".zarray").read_text())
    compressor = numcodecs.get_codec(meta["compressor"]) if meta["compressor"] else None
    body = _laughs(28)
    for chunk in column.iterdir():
        if not chunk.name.startswith("."):
            chunk.write_bytes(compressor.encode(body) if compressor else body)
    tracemalloc.start()
    start = time.perf_counter()
    try:
        with pytest.raises(LazyNWBError) as info:
            lazynwb.get_df(v2_copy, "electrodes", as_polars=True)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert time.perf_counter() - start < 10 and peak < 200 << 20
    assert "group" in str(info.value) and "expands to more than" in str(info.value)


def test_a_shape_declared_over_no_data_is_refused_before_allocating(v2_copy: Path, rich_zarr: Path) -> None:
    """running_speed's data declares 3 * 10^8 samples; its chunks hold 10,000."""
    _edit(v2_copy, "acquisition/running_speed/data", lambda m: m.update(shape=[300_000_000]))
    ts = lazynwb.get_timeseries(v2_copy, "running_speed")
    assert ts.data.shape == (300_000_000,)
    tracemalloc.start()
    start = time.perf_counter()
    try:
        with pytest.raises(LazyNWBError) as info:
            ts.data[:]  # noqa: B018
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert "running_speed/data" in str(info.value) and "do not exist" in str(info.value)
    assert peak < 200 << 20 and time.perf_counter() - start < 20, f"{peak >> 20} MB"
    original = lazynwb.get_timeseries(rich_zarr, "running_speed").data[:5]
    np.testing.assert_array_equal(ts.data[:5], original)  # the rows that exist still read
