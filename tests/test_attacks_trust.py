"""Attacks on what is kept and trusted between calls, each run in child processes
(tests/hostile.py) that share a cache directory: an edited export imported, a stored catalog
edited in cache_dir, sources replaced behind their catalogs (a Zarr store rewritten in
place, a file replaced on a server that sends no ETag, `cp -p`), credentials written to
disk, and one catalog key taken for another.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
import zlib
from collections.abc import Iterator
from pathlib import Path

import h5py
import numpy as np
import pytest

import hostile_files as hf
from hostile import run_victim
from servers import RangeHTTPServer

START = f"{hf.TRIALS}/start_time"
FAKE = [666.0, 667.0, 668.0]
READ = 'return lazynwb.get_df(URL, "/intervals/trials", as_polars=True)["start_time"].to_list()'


def _same_size_variant(a: Path, b: Path, values: list[float], keep_mtime: bool) -> Path:
    """A copy of `a` whose trials start times are `values` (written in place: same size)."""
    shutil.copyfile(a, b)
    with h5py.File(b, "r+") as f:
        f[START][:] = values
    if keep_mtime:
        st = a.stat()
        os.utime(b, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert a.stat().st_size == b.stat().st_size
    return b


@pytest.fixture
def cache(tmp_path: Path) -> dict[str, str]:
    """An environment with a cache directory of its own (children share it)."""
    return {"LAZYNWB_CACHE_DIR": str(tmp_path / "cache")}


@pytest.fixture
def served(tmp_path: Path) -> Path:
    root = tmp_path / "served"
    root.mkdir()
    hf.small_hdf5(root / "file.nwb")
    return root


@pytest.fixture
def server(served: Path) -> Iterator[RangeHTTPServer]:
    with RangeHTTPServer(served, nodelay=True) as srv:
        yield srv


def _truth(path: Path) -> list[float]:
    with h5py.File(path, "r") as f:
        return f[START][:].tolist()


def test_imported_catalog_is_verified_before_use(server: RangeHTTPServer, served: Path,
                                                 cache: dict, tmp_path: Path) -> None:
    """Item 6: an export edited to hold fake values, `validated_at` in 2100 and
    `immutable: true` made every later read return the fake values."""
    url, export = server.url("file.nwb"), tmp_path / "shared.jsonl.gz"
    built = run_victim("return lazynwb.export_catalogs([URL], OUT)", URL=url, OUT=str(export),
                       env={"LAZYNWB_CACHE_DIR": str(tmp_path / "colleague")})
    assert built.value == 1, built.describe()
    lines = gzip.decompress(export.read_bytes()).decode().splitlines()
    payload = json.loads(lines[1])
    assert START in payload["state"]["inline"], "the attack edits the values stored inline"
    payload["state"]["inline"][START]["values"] = FAKE
    payload.update(validated_at=4102444800.0, immutable=True)
    export.write_bytes(gzip.compress("\n".join([lines[0], json.dumps(payload)]).encode()))
    victim = run_victim(f"lazynwb.import_catalogs(OUT)\n{READ}", URL=url, OUT=str(export), env=cache)
    assert victim.value == _truth(served / "file.nwb"), victim.describe()


def _edit_stored_catalogs(directory: Path, edit) -> int:  # noqa: ANN001
    """Rewrite every stored catalog with `edit(payload)`, its (unkeyed) checksum redone."""
    count = 0
    for path in directory.rglob("*.json.z"):
        raw = path.read_bytes()
        magic, rest = raw.split(b"\n", 1)
        _digest, body = rest.split(b"\n", 1)
        payload = json.loads(zlib.decompress(body))
        edit(payload)
        body = zlib.compress(json.dumps(payload).encode())
        path.write_bytes(magic + b"\n" + hashlib.sha256(body).hexdigest().encode() + b"\n" + body)
        count += 1
    return count


def test_catalog_edited_in_cache_dir_is_not_trusted(served: Path, cache: dict) -> None:
    """Item 6: the stored catalog's checksum had no key: whoever can write cache_dir could
    make every later read return what they like."""
    path = served / "file.nwb"
    assert run_victim(READ, URL=str(path), env=cache, settings={"hdf5_engine": "native"}).value == _truth(path)

    def poison(payload: dict) -> None:
        payload["state"]["inline"][START]["values"] = FAKE

    assert _edit_stored_catalogs(Path(cache["LAZYNWB_CACHE_DIR"]), poison)
    victim = run_victim(READ, URL=str(path), env=cache, settings={"hdf5_engine": "native"})
    assert victim.value == _truth(path), victim.describe()


REPLACED = """
before = lazynwb.get_df(URL, "/intervals/trials", as_polars=True)["start_time"].to_list()
replace()
return before, lazynwb.get_df(URL, "/intervals/trials", as_polars=True)["start_time"].to_list()
"""


@pytest.mark.parametrize("engine", ["auto", "native"])
def test_local_hdf5_replaced_with_cp_p(served: Path, cache: dict, tmp_path: Path, engine: str) -> None:
    """Item 7: a file replaced by one of the same size and mtime (`cp -p`) kept its old values,
    in the same process and in the next one (stored catalog)."""
    path = served / "file.nwb"
    other = _same_size_variant(path, tmp_path / "other.nwb", FAKE, keep_mtime=True)
    body = f"def replace():\n    import shutil; shutil.copy2(OTHER, URL)\n{REPLACED}"
    victim = run_victim(body, URL=str(path), OTHER=str(other), env=cache, settings={"hdf5_engine": engine})
    assert victim.value[1] == FAKE and victim.value[0] != FAKE, victim.describe()
    shutil.copy2(tmp_path / "other.nwb", tmp_path / "third.nwb")
    _same_size_variant(path, tmp_path / "third.nwb", [1.0, 2.0, 3.0], keep_mtime=True)
    shutil.copy2(tmp_path / "third.nwb", path)
    again = run_victim(READ, URL=str(path), env=cache, settings={"hdf5_engine": engine})
    assert again.value == [1.0, 2.0, 3.0], again.describe()


CHANGED = """
before = lazynwb.get_df(URL, "/intervals/trials", as_polars=True)["start_time"].to_list()
replace()
try:
    during = lazynwb.get_df(URL, "/intervals/trials", as_polars=True)["start_time"].to_list()
except lazynwb.SourceError as exc:
    during = str(exc)
return before, during, lazynwb.get_df(URL, "/intervals/trials", as_polars=True)["start_time"].to_list()
"""


def test_http_file_replaced_on_a_server_without_etag(server: RangeHTTPServer, served: Path,
                                                      cache: dict, tmp_path: Path) -> None:
    """Item 7: with no ETag, a file replaced by one of the same size was read with the old
    catalog (values kept in memory, and the stored catalog), Last-Modified changing or not.
    Now the call that meets the change says so (as with an ETag), the next reads the new file."""
    server.etag = False
    path = served / "file.nwb"
    other = _same_size_variant(path, tmp_path / "other.nwb", FAKE, keep_mtime=False)
    body = f"def replace():\n    import shutil, time; time.sleep(1.1); shutil.copyfile(OTHER, PATH)\n{CHANGED}"
    settings = {"revalidate_after": 0.0, "catalog_max_age": 0.0}
    victim = run_victim(body, URL=server.url("file.nwb"), OTHER=str(other), PATH=str(path),
                        env=cache, settings=settings)
    before, during, after = victim.value
    assert during != before and (during == FAKE or "changed" in during), victim.describe()
    assert after == FAKE, victim.describe()
    server.last_modified = False  # and a server that sends neither
    _same_size_variant(path, tmp_path / "third.nwb", [1.0, 2.0, 3.0], keep_mtime=False)
    shutil.copyfile(tmp_path / "third.nwb", path)
    assert run_victim(READ, URL=server.url("file.nwb"), env=cache, settings=settings).value == [1.0, 2.0, 3.0]


def test_local_zarr_rewritten_in_place(tmp_path: Path, cache: dict) -> None:
    """Item 7: a Zarr store rewritten in place keeps its directory's size and mtime; its
    catalog (3 trials) answered for the new store (5 trials)."""
    store = hf.small_zarr(tmp_path / "store.nwb.zarr")
    other = nf_zarr(tmp_path / "other.nwb.zarr", n_trials=5)
    st = store.stat()
    body = ("def replace():\n    import shutil, os\n"
            "    shutil.copytree(OTHER, URL, dirs_exist_ok=True)\n"
            f"    os.utime(URL, ns=({st.st_atime_ns}, {st.st_mtime_ns}))\n{REPLACED}")
    victim = run_victim(body, URL=str(store), OTHER=str(other), env=cache)
    fresh = run_victim(READ, URL=str(other), env={"LAZYNWB_DISABLE_CACHE": "1"}).value
    assert len(victim.value[0]) == 3 and victim.value[1] == fresh, victim.describe()
    assert run_victim(READ, URL=str(store), env=cache).value == fresh


def nf_zarr(path: Path, **options) -> Path:  # noqa: ANN003
    import fuzz_inputs as fi
    import nwb_factory as nf

    return nf.write_zarr(path, **{**fi.SMALL_NWB, **options})


SECRET_QUERY = "X-Amz-Signature=SiGnAtUrE0xA1B2&token=ToKeN0xC3D4"
SECRETS = ("SiGnAtUrE0xA1B2", "ToKeN0xC3D4", "PaSsWoRd0xE5F6")


def test_no_credentials_at_rest(server: RangeHTTPServer, cache: dict, tmp_path: Path) -> None:
    """Item 8: catalogs stored full presigned and user:password@ URLs; the export for
    colleagues held them, as did LazyNWB's HTML repr (saved in notebooks) and the _nwb_path
    of written parquet files."""
    server.required_query = "X-Amz-Signature=SiGnAtUrE0xA1B2"
    presigned = f"{server.url('file.nwb')}?{SECRET_QUERY}"
    out = tmp_path / "out"
    body = """
    lazynwb.get_df(URL, "/intervals/trials")
    html = lazynwb.LazyNWB(URL)._repr_html_()
    lazynwb.convert_nwb_tables([URL], OUT, output_format="parquet", disable_progress=True)
    lazynwb.export_catalogs([URL], EXPORT)
    lazynwb_explorer_catalog_store = __import__("lazynwb_explorer.catalog.store", fromlist=["x"])
    lazynwb_explorer_catalog_store.flush()
    return html
    """
    htmls = [run_victim(body, URL=presigned, OUT=str(out / "presigned"), EXPORT=str(tmp_path / "a.jsonl.gz"), env=cache)]
    server.required_query = None
    server.required_auth = "reader:PaSsWoRd0xE5F6"
    with_password = server.url("file.nwb").replace("http://", "http://reader:PaSsWoRd0xE5F6@")
    htmls.append(run_victim(body, URL=with_password, OUT=str(out / "password"), EXPORT=str(tmp_path / "b.jsonl.gz"), env=cache))
    found = []
    for victim in htmls:
        found += [s for s in SECRETS if s in str(victim.value)]
    for path in [*Path(cache["LAZYNWB_CACHE_DIR"]).rglob("*"), *out.rglob("*"), *tmp_path.glob("*.jsonl.gz")]:
        if path.is_file():
            data = path.read_bytes()
            for decode in (lambda d: d, zlib.decompress, gzip.decompress, _catalog_body):
                try:
                    text = decode(data)
                except Exception:  # noqa: BLE001 - not in that encoding
                    continue
                found += [f"{path.name}: {s}" for s in SECRETS if s.encode() in text]
    assert not found, found
    assert any(p.suffix == ".parquet" for p in out.rglob("*")), list(out.rglob("*"))


def _catalog_body(data: bytes) -> bytes:
    return zlib.decompress(data.split(b"\n", 2)[2])


def test_metadata_catalog_key_cannot_collide(server: RangeHTTPServer, tmp_path: Path, cache: dict) -> None:
    """Item 13: `url + "#metadata"` was served the metadata-only catalog of `url`."""
    url = server.url("file.nwb")
    body = """
    lazynwb.get_metadata_df(URL)
    return lazynwb.get_internal_paths(URL + "#metadata")
    """
    victim = run_victim(body, URL=url, env=cache)
    fresh = run_victim("return lazynwb.get_internal_paths(URL)", URL=url, env={"LAZYNWB_DISABLE_CACHE": "1"})
    assert victim.value == fresh.value, victim.describe()
    again = run_victim('return lazynwb.get_internal_paths(URL + "#metadata")', URL=url, env=cache)
    assert again.value == fresh.value, again.describe()
    assert np.all(np.asarray(fresh.value, dtype=object) != None)  # noqa: E711
