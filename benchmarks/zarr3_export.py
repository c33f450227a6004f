"""Export an NWB HDF5 file to Zarr v3 with hdmf-zarr 0.14 (`NWBZarrIO.export`), as users of
hdmf-zarr convert their files: `python -m benchmarks.zarr3_export SRC.nwb DST.nwb.zarr`.

Runs in the zarr3 venv (Python >= 3.12, hdmf-zarr 0.14); datasets.py calls it for the Zarr v3
rows. The export keeps the HDF5 file's chunking, re-encodes gzip data with zlib and the rest
with zstd, and writes consolidated metadata inline in the root zarr.json.
"""

from __future__ import annotations

import shutil
import sys
import warnings


def main(src: str, dst: str) -> None:
    from hdmf_zarr.nwb import NWBZarrIO
    from pynwb import NWBHDF5IO

    shutil.rmtree(dst, ignore_errors=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with NWBHDF5IO(src, "r") as read_io, NWBZarrIO(dst, mode="w") as export_io:
            export_io.export(src_io=read_io, write_args={"link_data": False})


if __name__ == "__main__":
    main(*sys.argv[1:3])
