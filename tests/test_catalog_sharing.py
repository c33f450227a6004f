"""A dandiset's index built once, shared as one file, used by another machine (here: another
cache directory in a fresh process) with one small request per file: the check of its
identity against the server before first use (an import is not trusted unchecked)."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import lazynwb_explorer as lazynwb
from lazynwb_explorer.catalog import store as catalog_store

_USE = """
import json, sys
import lazynwb_explorer as lazynwb
from lazynwb_explorer.transport import counting
urls = sys.argv[2:]
print(lazynwb.import_catalogs(sys.argv[1]))
with counting() as c:
    schema = lazynwb.get_table_schema(urls, "/units")
    paths = [lazynwb.get_internal_paths(u) for u in urls]
print(json.dumps([c.requests, c.bytes, list(schema), [list(p) for p in paths]]))
"""


def test_build_export_import(sessions, http_server, tmp_path: Path) -> None:
    urls = [http_server.url(f"sessions/{p.name}") for p in sessions]
    assert lazynwb.build_catalogs(urls, disable_progress=True) == urls
    assert all(catalog_store.load(u) is not None for u in urls)
    shared = tmp_path / "index.jsonl.gz"
    assert lazynwb.export_catalogs(urls, shared) == len(urls)
    expected_schema = list(lazynwb.get_table_schema(urls, "/units"))
    elsewhere = tmp_path / "other_machine_cache"
    out = subprocess.run(
        [sys.executable, "-c", _USE, str(shared), *urls],
        env={**os.environ, "LAZYNWB_CACHE_DIR": str(elsewhere)},
        capture_output=True, text=True, timeout=120,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    imported, result = out.stdout.strip().splitlines()[-2:]
    requests, nbytes, schema, paths = json.loads(result)
    assert int(imported) == len(urls)
    assert requests == len(urls) and nbytes == len(urls)  # one conditional byte per file
    assert schema == expected_schema
    assert paths == [list(lazynwb.get_internal_paths(u)) for u in urls]


def test_import_refuses_other_files(tmp_path: Path) -> None:
    bogus = tmp_path / "not_an_index.gz"
    with gzip.open(bogus, "wt") as f:
        f.write('{"format": "something else"}\n')
    with pytest.raises(lazynwb.LazyNWBError, match="not an exported catalog"):
        lazynwb.import_catalogs(bogus)
