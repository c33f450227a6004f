"""Pickled object columns in Zarr stores are decoded without running code."""

from __future__ import annotations

import json
import os
import pickle
import shutil

import numcodecs
import numpy as np
import polars as pl
import pytest

import lazynwb_explorer as lazynwb
from lazynwb_explorer.backends.zarr.codecs import UnsafePickleError, safe_loads
from lazynwb_explorer.errors import MalformedFileError


class _RunsCode:
    """Unpickling this calls os.system: the classic pickle exploit."""

    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_plain_data_round_trips() -> None:
    value = [{"source": ".", "path": "/units"}, ("a", 1, 2.5, None, b"x")]
    assert safe_loads(pickle.dumps(value)) == value


def test_code_running_payload_is_refused(tmp_path) -> None:
    marker = tmp_path / "ran"
    with pytest.raises(UnsafePickleError, match="system"):
        safe_loads(pickle.dumps(_RunsCode(str(marker))))
    assert not marker.exists()


def test_hostile_zarr_column_is_an_error_and_nothing_runs(rich_zarr, tmp_path) -> None:
    """Replace the electrodes `group` column's chunk with a pickle that would run a command."""
    store = tmp_path / "hostile.nwb.zarr"
    shutil.copytree(rich_zarr, store)
    marker = tmp_path / "pwned"
    column = store / "general" / "extracellular_ephys" / "electrodes" / "group"
    meta = json.loads((column / ".zarray").read_text())
    n = meta["shape"][0]
    payload = np.empty(n, dtype=object)
    payload[:] = [_RunsCode(str(marker))] * n
    codec = numcodecs.Pickle()
    encoded = codec.encode(payload)
    compressor = numcodecs.get_codec(meta["compressor"]) if meta["compressor"] else None
    for chunk in column.iterdir():
        if not chunk.name.startswith("."):
            chunk.write_bytes(compressor.encode(encoded) if compressor else encoded)
    with pytest.raises(MalformedFileError) as info:
        lazynwb.get_df(store, "electrodes", as_polars=True)
    assert str(store) in str(info.value) and "group" in str(info.value)
    assert "refusing to load" in str(info.value)
    assert not marker.exists()
    other = lazynwb.get_df(store, "electrodes", include_column_names=["location"], as_polars=True)
    assert other.height == n and other.schema["location"] == pl.String
