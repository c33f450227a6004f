"""Catalogs for many files at once: build them in one pass, share them as one file.

A lab indexes a whole dandiset once (`build_catalogs`), writes the index to a single file
(`export_catalogs`) and colleagues load it (`import_catalogs`): their first
`get_internal_paths`, `get_table_schema` or `scan_nwb` over those files then costs one small
request per file instead of a walk.

An exported file is trusted no further than it can be checked. It holds no secret (sources
without query strings or user:password@). Importing keeps the structure (tree, layouts,
chunk indexes) and drops every value (small arrays, inline data: those are read from the
source); each catalog is checked against its source's identity (ETag, or size,
Last-Modified and fingerprint) by one request before its first use, DANDI blobs included,
and is trusted for ever afterwards only when its URL is a DANDI blob's.
"""

from __future__ import annotations

import gzip
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..catalog import open_catalog, store_catalogs
from ..catalog import store as catalog_store
from ..config import config
from ..errors import LazyNWBError
from ..multifile import is_skipped, map_sources
from ..sources import PathLike, public_uri, to_sources

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


def export_catalogs(nwb_paths: PathLike | Iterable[PathLike], path: str | os.PathLike[str]) -> int:
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
                payload = {k: v for k, v in payload.items() if k != "entry"}
                payload["source"] = public_uri(uri)
                f.write(json.dumps(payload, separators=(",", ":")) + "\n")
                written += 1
    return written


def import_catalogs(path: str | os.PathLike[str]) -> int:
    """Store the catalogs of an exported file in this machine's cache directory, to be
    checked against their sources before first use (see the module's docstring). Returns
    the number imported."""
    count = 0
    with gzip.open(Path(path), "rt", encoding="utf-8") as f:
        header = json.loads(f.readline() or "{}")
        if header.get("format") != _FORMAT:
            raise LazyNWBError(f"not an exported catalog file: {os.fspath(path)!r}")
        for line in f:
            payload = json.loads(line)
            checked = _importable(payload) if isinstance(payload, dict) else None
            if checked is not None:
                catalog_store.save(checked[0], checked[1])
                count += 1
    return count


def _importable(payload: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """(source, what to store of it): the structure only, marked as not yet checked."""
    source = payload.get("source")
    identity = payload.get("identity")
    if not isinstance(source, str) or public_uri(source) != source or "://" not in source:
        return None  # local paths name another machine's files; secrets are not imported
    if not isinstance(identity, dict) or not isinstance(payload.get("nodes"), list):
        return None
    state = payload.get("state")
    if isinstance(state, dict):
        state = {**state, "inline": {}}
    return source, {
        "identity": identity, "kind": payload.get("kind"), "nodes": payload["nodes"],
        "state": state, "arrays": {}, "validated_at": 0.0, "imported": True,
    }
