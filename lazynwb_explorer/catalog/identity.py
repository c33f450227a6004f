"""What a local source is, cheaply, so a catalog is never used for a file that changed.

Size and mtime alone miss a file replaced by one of the same size with its mtime kept
(`cp -p`, `rsync -t`), and a Zarr store rewritten in place keeps its directory's size and
mtime. So:
- an HDF5 file: size, mtime, ctime (which no copy can set) and a fingerprint of its first
  and last bytes (the superblock and root group's metadata, and what was written last);
- a Zarr store: the size, mtime and ctime of its metadata files themselves (.zmetadata at
  the root, or every .zarray / .zgroup / .zattrs when it has none).
The setting config.follow_external_paths is part of it too: a catalog walked with one value
does not answer for the other.
"""

from __future__ import annotations

import hashlib
import os

from ..config import config

FINGERPRINT_BYTES = 4096  # from the start (superblock, root group) and the end of an HDF5 file
_ZARR_METADATA = (".zmetadata", ".zgroup", ".zattrs", ".zarray")


def _stat(path: str) -> list[int]:
    st = os.stat(path)
    return [st.st_size, st.st_mtime_ns, st.st_ctime_ns]


def _fingerprint(path: str, size: int) -> str:
    digest = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as f:
        digest.update(os.pread(f.fileno(), FINGERPRINT_BYTES, 0))
        if size > FINGERPRINT_BYTES:
            tail = max(FINGERPRINT_BYTES, size - FINGERPRINT_BYTES)
            digest.update(os.pread(f.fileno(), FINGERPRINT_BYTES, tail))
    return digest.hexdigest()


def _zarr_metadata_files(root: str) -> list[str]:
    """The store's metadata files: the consolidated ones at its root when it has them."""
    if os.path.exists(os.path.join(root, ".zmetadata")):
        return [os.path.join(root, n) for n in _ZARR_METADATA[:3] if os.path.exists(os.path.join(root, n))]
    found = []
    for directory, dirs, files in os.walk(root):
        dirs.sort()
        found += [os.path.join(directory, n) for n in sorted(files) if n in _ZARR_METADATA]
    return found


def local_identity(path: str) -> tuple:
    """The identity of a local file or Zarr directory (empty when it cannot be read)."""
    try:
        if os.path.isdir(path):
            parts: list = [[os.path.relpath(p, path), *_stat(p)] for p in _zarr_metadata_files(path)]
        else:
            stat = _stat(path)
            parts = [*stat, _fingerprint(path, stat[0])]
    except OSError:
        return ()
    return (*_flatten(parts), bool(config.follow_external_paths))


def _flatten(parts: list) -> list:
    out: list = []
    for part in parts:
        out.extend(part if isinstance(part, list) else [part])
    return out
