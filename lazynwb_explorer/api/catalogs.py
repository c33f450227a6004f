"""Catalogs for many files at once: build them in one pass, share them as one file.

A lab indexes a whole dandiset once (`build_catalogs`), writes the index to a single file
(`export_catalogs`) and colleagues load it (`import_catalogs`): their first
`get_internal_paths`, `get_table_schema` or `scan_nwb` over those files then costs no
metadata request at all. DANDI blob URLs never change, so such an index never goes stale;
catalogs of other remote files are re-validated as usual (config.catalog_max_age).
"""

from __future__ import annotations

import gzip
import json
import os
from collections.abc import Iterable
from pathlib import Path

from ..catalog import open_catalog, store_catalogs
from ..catalog import store as catalog_store
from ..config import config
from ..errors import LazyNWBError
from ..multifile import is_skipped, map_sources
from ..sources import PathLike, to_sources

_FORMAT = "lazynwb_explorer catalogs 1"


def build_catalogs(
    nwb_paths: PathLike | Iterable[PathLike],
    ignore_errors: bool = False,
    disable_progress: bool = False,
) -> list[str]:
    """Open every file (all in flight together), store its catalog; the sources indexed."""
    if config.disable_cache:
        raise LazyNWBError("catalogs cannot be stored while config.disable_cache is set")
    if isinstance(nwb_paths, str | os.PathLike):
        nwb_paths = [nwb_paths]
    sources = to_sources(nwb_paths)
    done = [
        source.uri
        for source, result in map_sources(
            sources, open_catalog, ignore_errors=ignore_errors,
            disable_progress=disable_progress, desc="Building catalogs",
        )
        if not is_skipped(result)
    ]
    store_catalogs()
    return done


def export_catalogs(nwb_paths: PathLike | Iterable[PathLike], path: PathLike) -> int:
    """Write the stored catalogs of these files to one gzip'd JSON-lines file (catalogs not
    stored yet are built first). Returns the number written."""
    if isinstance(nwb_paths, str | os.PathLike):
        nwb_paths = [nwb_paths]
    uris = [s.uri for s in to_sources(nwb_paths)]
    missing = [u for u in uris if catalog_store.load(u) is None]
    if missing:
        build_catalogs(missing, disable_progress=True)
    written = 0
    with gzip.open(Path(path), "wt", encoding="utf-8") as f:
        f.write(json.dumps({"format": _FORMAT}) + "\n")
        for uri in uris:
            payload = catalog_store.load(uri)
            if payload is not None:
                f.write(json.dumps(payload, separators=(",", ":")) + "\n")
                written += 1
    return written


def import_catalogs(path: PathLike) -> int:
    """Store every catalog of an exported file in this machine's cache directory. Returns
    the number imported."""
    count = 0
    with gzip.open(Path(path), "rt", encoding="utf-8") as f:
        header = json.loads(f.readline() or "{}")
        if header.get("format") != _FORMAT:
            raise LazyNWBError(f"not an exported catalog file: {os.fspath(path)!r}")
        for line in f:
            payload = json.loads(line)
            uri = payload.get("uri")
            if isinstance(uri, str) and "nodes" in payload and "identity" in payload:
                catalog_store.save(uri, payload)
                count += 1
    return count
