"""Writes the Zarr v3 test fixtures with hdmf-zarr 0.14 itself, and what pynwb's NWBZarrIO
reads back from each (the tests' reference, pickled beside the store).

Runs in the zarr3 venv (Python >= 3.12, hdmf-zarr 0.14, zarr >= 3.4; see zarr3_env.py), not
in the test venv: `python tests/zarr3_writer.py OUT_DIR NAME...`. Each NAME is one fixture:

* rich_v3: `make_rich_nwbfile()` (the same session as rich.nwb), consolidated metadata.
* rich_v3_unconsolidated: the same, written with `consolidate_metadata=False`.
* rich_v3_sharded: the same, table columns and series in shards of several inner chunks
  (`ZarrDataIO(chunks=..., shards=...)`, 1-D and 2-D).
* pushdown_v3_sharded: a 600-unit table (`make_units_pushdown_nwbfile`), every column
  sharded, waveform_mean one inner chunk per unit, 50 units per shard.
"""

from __future__ import annotations

import shutil
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from hdmf.container import Container
from hdmf_zarr import ZarrDataIO
from hdmf_zarr.nwb import NWBZarrIO

sys.path.insert(0, str(Path(__file__).resolve().parent))

import nwb_factory as nf  # noqa: E402
import pynwb_reference  # noqa: E402

PUSHDOWN_UNITS = 600
PUSHDOWN_WAVEFORM = (82, 96)
PUSHDOWN_UNITS_PER_SHARD = 50


def _shard_rich(nwbfile: Any) -> None:
    """Shards of 16 rows in inner chunks of 4 for the rich session's table columns (but
    references), and 1-D / 2-D shards for two series."""
    for table in (nwbfile.units, nwbfile.trials, nwbfile.electrodes):
        for column in table.columns:
            if len(column.data) and isinstance(column.data[0], Container):
                continue  # object references are stored as path strings, unsharded
            rest = np.shape(column.data)[1:]
            column.set_data_io(ZarrDataIO, {"chunks": (4, *rest), "shards": (16, *rest)})
    raw = nwbfile.acquisition["raw_data"]
    raw.set_data_io("data", ZarrDataIO, {"chunks": (256, 8), "shards": (1024, 16)})
    running = nwbfile.acquisition["running_speed"]
    running.set_data_io("data", ZarrDataIO, {"chunks": (500,), "shards": (2000,)})
    running.set_data_io("timestamps", ZarrDataIO, {"chunks": (500,), "shards": (2000,)})


def _pushdown_io(name: str, data: Any) -> Any:
    if name == "waveform_mean":
        waveforms = np.stack([nf.pushdown_waveform(r, PUSHDOWN_WAVEFORM) for r in range(PUSHDOWN_UNITS)])
        return ZarrDataIO(data=waveforms, chunks=(1, *PUSHDOWN_WAVEFORM),
                          shards=(PUSHDOWN_UNITS_PER_SHARD, *PUSHDOWN_WAVEFORM))
    if name == "spike_times":
        return ZarrDataIO(data=np.asarray(data), chunks=(2000,), shards=(20000,))
    if name == "location":
        return data  # strings: one chunk
    return ZarrDataIO(data=np.asarray(data), chunks=(100,), shards=(300,))


def write(out: Path, name: str) -> Path:
    path = out / f"{name}.nwb.zarr"
    shutil.rmtree(path, ignore_errors=True)
    consolidate = True
    if name == "pushdown_v3_sharded":
        nwbfile = nf.make_units_pushdown_nwbfile(PUSHDOWN_UNITS, PUSHDOWN_WAVEFORM, column_io=_pushdown_io)
    else:
        nwbfile = nf.make_rich_nwbfile()
        if name == "rich_v3_sharded":
            _shard_rich(nwbfile)
        elif name == "rich_v3_unconsolidated":
            consolidate = False
        elif name != "rich_v3":
            raise SystemExit(f"unknown fixture {name!r}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zarr: "consolidated metadata is not in the v3 spec"
        with NWBZarrIO(str(path), mode="w") as io:
            io.write(nwbfile, consolidate_metadata=consolidate)
    tables = ["/units"] if name.startswith("pushdown") else pynwb_reference.TABLES
    pynwb_reference.write_oracle(path, tables)
    dump_arrays(path)
    return path


def dump_arrays(path: Path, max_elements: int = 2_000_000) -> Path:
    """`<store>.arrays.npz`: every plain array of the store (numbers, and 1-D strings as
    unicode) as zarr-python 3 reads it, keyed by internal path with '/' as '|' (the backend
    contract's oracle; references and scalars are left out)."""
    import zarr

    found = {}
    for name, array in zarr.open_group(str(path), mode="r").members(max_depth=None):
        if not isinstance(array, zarr.Array) or array.ndim == 0 or array.size > max_elements:
            continue
        if array.attrs.get("_DTYPE") == "object_reference" or array.dtype.names:
            continue
        if array.dtype.kind in "iufb":
            found["/" + name] = array[...]
        elif array.dtype.kind in "TOU" and array.ndim == 1:
            found["/" + name] = np.array([str(v) for v in np.asarray(array[...]).tolist()], dtype=str)
    target = path.with_name(path.name + ".arrays.npz")
    np.savez(target, **{k.replace("/", "|"): v for k, v in found.items()})
    return target


def main(argv: list[str]) -> None:
    out = Path(argv[0])
    out.mkdir(parents=True, exist_ok=True)
    for name in argv[1:]:
        print(write(out, name))


if __name__ == "__main__":
    main(sys.argv[1:])
