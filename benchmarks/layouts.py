"""The same session in the layouts files come in, and real files we did not write.

Why: a reader tuned on one writer's layout can lose on another's (issue 16: our cold reads
were no faster than lazynwb 0.2 on a pynwb session with ~4 MB gzip chunks). Each layout
is the benchmark session (``lazynwb_explorer.demo_data``) written another way:

* ``pynwb_gzip``: pynwb's default chunking (hdmf sizes chunks to ~4 MB) with gzip on every
  table column and series, as ``H5DataIO(compression="gzip")`` users write;
* ``contiguous``: the legacy layout (table columns and series contiguous:
  ``expandable=()``; only the arrays streamed while writing stay chunked), as older hdmf
  wrote and most DANDI files still are;
* ``real``: the real files in ../shared/data (other writers, other pynwb versions), copied
  next to the others so the latency server can serve them.

Files are written once into benchmarks/data/ (rewritten when ``VERSION`` changes).
"""

from __future__ import annotations

import os
import shutil
import warnings
from pathlib import Path

from lazynwb_explorer.demo_data import DemoSpec, build_nwbfile

VERSION = "layouts-1"
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
# Real files with the tables the real-file rows read (/units; /intervals/trials where named)
REAL_FILES = {
    "real/sub_anm00239123_ses_20170627T093549_ecephys_and_ogen.nwb": ("/units", "/intervals/trials"),
    "other_writers/dandicli__sub-anm369963_ses-20170228.nwb": ("/units", "/intervals/trials"),
    "real/A8604-211122_phy.nwb": ("/units",),
}
LAYOUTS = ("pynwb_gzip", "contiguous")


def _gzip_everything(nwbfile: object) -> None:
    """Every table column and series array gzip-compressed, chunked by hdmf's defaults."""
    from hdmf.backends.hdf5.h5_utils import H5DataIO
    from hdmf.data_utils import AbstractDataChunkIterator

    def plain(data: object) -> bool:
        return data is not None and not isinstance(data, (H5DataIO, AbstractDataChunkIterator))

    for table in (nwbfile.units, nwbfile.trials):  # type: ignore[attr-defined]
        for column in (*table.columns, table.id):
            if plain(column.data):
                column.set_data_io(H5DataIO, {"compression": "gzip"})
    series = nwbfile.processing["behavior"]["running_speed"]  # type: ignore[attr-defined]
    for name in ("data", "timestamps"):
        if plain(getattr(series, name)):
            series.fields[name] = H5DataIO(getattr(series, name), compression="gzip")


def write_layout(path: Path, spec: DemoSpec, layout: str, seed: int = 0) -> Path:
    """The session of ``spec`` written in ``layout`` (atomically)."""
    from pynwb import NWBHDF5IO

    nwbfile = build_nwbfile(spec, seed)
    if layout == "pynwb_gzip":
        _gzip_everything(nwbfile)
    partial = path.with_name(f".{path.name}.partial")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with NWBHDF5IO(str(partial), "w") as io:
                if layout == "contiguous":
                    io.write(nwbfile, expandable=())
                else:
                    io.write(nwbfile)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return path


def ensure_layouts(folder: Path, spec: DemoSpec) -> dict[str, Path]:
    """layout -> file (written if missing or of another VERSION), real files included."""
    folder.mkdir(parents=True, exist_ok=True)
    stamp = folder / ".version"
    if not stamp.is_file() or stamp.read_text() != f"{VERSION} {spec.name}":
        for old in folder.glob("*.nwb"):
            old.unlink()
        stamp.write_text(f"{VERSION} {spec.name}")
    out: dict[str, Path] = {}
    for layout in LAYOUTS:
        path = folder / f"{spec.name}-{layout}.nwb"
        if not path.is_file():
            print(f"writing {path.name} ...", flush=True)
            write_layout(path, spec, layout)
        out[layout] = path
    for i, relative in enumerate(REAL_FILES):
        target = folder / f"real{i}-{Path(relative).name}"
        if not target.is_file() and (SHARED / relative).is_file():
            shutil.copyfile(SHARED / relative, target)
        if target.is_file():
            out[f"real{i}"] = target
    return out
