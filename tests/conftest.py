"""Shared fixtures: NWB files written by pynwb / hdmf-zarr in this session, the real files in
../shared/data, and real servers on 127.0.0.1 (HTTP with Range, moto's S3) serving them.

`locate(path, where)` turns a local fixture file into the URL the reader should open, so one
test body runs against local, http:// and s3:// sources alike.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

# Never let an AWS client look for instance credentials (a private-range address) in tests.
os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
# Stored catalogs go to a directory of this test session (also for subprocesses: notebooks,
# JupyterLab, Dask workers), never to the user's ~/.cache.
_CATALOGS = tempfile.mkdtemp(prefix="lazynwb-test-catalogs-")
os.environ["LAZYNWB_CACHE_DIR"] = _CATALOGS
# ... and the key that authenticates them (catalog/key.py) to one of its own, not ~/.config
os.environ["XDG_CONFIG_HOME"] = tempfile.mkdtemp(prefix="lazynwb-test-config-")
for _var in ("AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
    os.environ.pop(_var, None)

import lazynwb_explorer as lazynwb  # noqa: E402
from lazynwb_explorer import demo_data  # noqa: E402
from lazynwb_explorer.catalog import store as catalog_store  # noqa: E402
from lazynwb_explorer.transport import clear_stores  # noqa: E402

import nwb_factory as nf  # noqa: E402
import zarr3_env  # noqa: E402
from servers import MotoS3Server, RangeHTTPServer  # noqa: E402

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
SHARED_FILES = sorted(SHARED_DATA.rglob("*.nwb"))  # HDF5
SHARED_ZARR = sorted(SHARED_DATA.rglob("*.nwb.zarr"))  # Zarr stores (directories)
SHARED_SOURCES = SHARED_FILES + SHARED_ZARR


def is_nwb1(path: Path) -> bool:
    """NWB 1.x keeps its version in a /nwb_version dataset (2.x: a root attribute); we refuse
    those files by name (tests check the refusal, and leave them out elsewhere)."""
    import h5py

    if path.is_dir():
        return False
    with h5py.File(path, "r") as f:
        return isinstance(f.get("nwb_version"), h5py.Dataset) and "nwb_version" not in f.attrs


SHARED_NWB2_FILES = [p for p in SHARED_FILES if not is_nwb1(p)]  # HDF5 files we read
BUCKET = "nwb-test"


@pytest.fixture(scope="session")
def served(tmp_path_factory) -> Path:
    """The directory every server serves; fixture files are written into it."""
    root = tmp_path_factory.mktemp("served")
    shared = root / "shared"
    for f in SHARED_SOURCES:
        target = shared / f.relative_to(SHARED_DATA)
        target.parent.mkdir(parents=True, exist_ok=True)
        if f.is_dir():
            shutil.copytree(f, target)
        else:
            shutil.copyfile(f, target)
    return root


@pytest.fixture(scope="session")
def rich_hdf5(served: Path) -> Path:
    return nf.write_hdf5(served / "rich.nwb")


@pytest.fixture(scope="session")
def demo_small(served: Path) -> Path:
    """The small demo file (make demo's sample, small), where the test servers serve it."""
    path = served / "demo_small.nwb"
    return path if demo_data.is_current(path, demo_data.SMALL) else demo_data.write_demo_file(
        path, small=True)


@pytest.fixture(scope="session")
def rich_hdf5_contiguous(served: Path) -> Path:
    return nf.write_hdf5(served / "rich_contiguous.nwb", contiguous=True)


@pytest.fixture(scope="session")
def rich_zarr(served: Path) -> Path:
    """Zarr v2, written by hdmf-zarr 0.13 (pickled references, zarr_link, .zmetadata)."""
    return nf.write_zarr(served / "rich.nwb.zarr")


@pytest.fixture(scope="session")
def ophys_hdf5(served: Path) -> Path:
    """The seeded ophys sample (every imaging type and mask kind), small, written by pynwb."""
    from lazynwb_explorer import demo_ophys

    return demo_ophys.write_session(served / "ophys.nwb", demo_ophys.SMALL)


@pytest.fixture(scope="session")
def zarr_v3_stores(served: Path) -> dict[str, Path]:
    """The rich session as Zarr v3, written by hdmf-zarr 0.14 in its own venv: consolidated,
    unconsolidated, and sharded (see zarr3_writer.py)."""
    return zarr3_env.write(served / "v3", ["rich_v3", "rich_v3_unconsolidated", "rich_v3_sharded"])


@pytest.fixture(scope="session")
def rich_zarr_v3(zarr_v3_stores: dict[str, Path]) -> Path:
    return zarr_v3_stores["rich_v3"]


@pytest.fixture(scope="session")
def rich_zarr_v3_sharded(zarr_v3_stores: dict[str, Path]) -> Path:
    return zarr_v3_stores["rich_v3_sharded"]


@pytest.fixture(scope="session")
def rich_zarr_v3_unconsolidated(zarr_v3_stores: dict[str, Path]) -> Path:
    return zarr_v3_stores["rich_v3_unconsolidated"]


@pytest.fixture(scope="session")
def pushdown_zarr_v3(served: Path) -> Path:
    """600 units, every column sharded, one waveform per inner chunk (hdmf-zarr 0.14)."""
    return zarr3_env.write(served / "v3", ["pushdown_v3_sharded"])["pushdown_v3_sharded"]


@pytest.fixture(scope="session")
def pushdown_file(served: Path) -> Path:
    return nf.write_units_pushdown_file(served / "pushdown.nwb")


@pytest.fixture(scope="session")
def sessions(served: Path) -> list[Path]:
    return nf.write_many_sessions(served / "sessions", n=3)


@pytest.fixture(scope="session")
def http_server(served: Path) -> Iterator[RangeHTTPServer]:
    with RangeHTTPServer(served) as server:
        yield server


@pytest.fixture(scope="session")
def http_index_server(served: Path) -> Iterator[RangeHTTPServer]:
    """The same files from a server that answers a directory with an HTML index."""
    with RangeHTTPServer(served) as server:
        server.directory_index = True
        yield server


@pytest.fixture(scope="session")
def s3_server() -> Iterator[MotoS3Server]:
    with MotoS3Server() as server:
        server.create_bucket(BUCKET)
        previous = dict(lazynwb.config.fsspec_storage_options)
        lazynwb.config.fsspec_storage_options = {
            "endpoint_url": server.endpoint_url,
            "key": MotoS3Server.ACCESS_KEY,
            "secret": MotoS3Server.SECRET_KEY,
        }
        clear_stores()
        yield server
        lazynwb.config.fsspec_storage_options = previous
        clear_stores()


def put_in_memory(path: Path, relative: str) -> str:
    """A copy of a file (or a store's directory) in fsspec's memory filesystem; its URL."""
    import fsspec

    memory = fsspec.filesystem("memory")
    files = [path] if path.is_file() else [f for f in sorted(path.rglob("*")) if f.is_file()]
    for f in files:
        inside = relative if f == path else f"{relative}/{f.relative_to(path).as_posix()}"
        memory.pipe_file(f"/served/{inside}", f.read_bytes())
    return f"memory://served/{relative}"


@pytest.fixture(scope="session")
def jupyter_lab(tmp_path_factory, served: Path, http_server: RangeHTTPServer) -> Iterator[tuple[str, str]]:
    """One real JupyterLab (and Notebook 7) for every end-to-end module: (base url, token).
    What it serves is in lab_root.py."""
    from jupyter_server import jupyter_server
    from lab_root import prepare

    root = tmp_path_factory.mktemp("lab")
    with jupyter_server(root, prepare(root, served, http_server)) as server:
        yield server


@pytest.fixture(scope="session")
def locate(request, served: Path) -> Callable[[Path, str], str]:
    """locate(local_path, where) -> what to pass to the reader for 'local', 'http', 'http-index'
    (a server that lists directories), 's3', 'memory' (fsspec's memory filesystem) or
    'simplecache-http' (fsspec's whole-file cache in front of the HTTP server)."""
    uploaded: set[Path] = set()

    def _locate(path: Path, where: str) -> str:
        path = Path(path)
        relative = path.relative_to(served).as_posix()
        if where == "local":
            return str(path)
        if where == "http":
            return request.getfixturevalue("http_server").url(relative)
        if where == "http-index":
            return request.getfixturevalue("http_index_server").url(relative)
        if where == "s3":
            s3 = request.getfixturevalue("s3_server")
            if path not in uploaded:
                if path.is_dir():
                    s3.upload_dir(path, BUCKET, relative)
                else:
                    s3.upload_file(path, BUCKET, relative)
                uploaded.add(path)
            return f"s3://{BUCKET}/{relative}"
        if where == "memory":
            return put_in_memory(path, relative)
        if where == "simplecache-http":
            return "simplecache::" + request.getfixturevalue("http_server").url(relative)
        raise ValueError(where)

    return _locate


@pytest.fixture(autouse=True)
def _fresh_catalogs() -> Iterator[None]:
    """Each test opens files afresh (no catalog in memory or on disk), so counted requests
    include what a new call costs."""
    lazynwb.clear_cache()
    catalog_store.clear()
    yield
    lazynwb.clear_cache()
    catalog_store.clear()


@pytest.fixture
def pickle_decode_allowed() -> Callable:
    return nf.pickle_decode_allowed


# -- source integrity: no test may change a source file ------------------------------------


def snapshot_files(root: Path) -> dict[str, tuple[int, int, int, str]]:
    """{relative path: (size, st_mtime_ns, st_mode, sha256)} of every file below `root`."""
    import hashlib

    out = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        st = path.stat()
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        out[path.relative_to(root).as_posix()] = (st.st_size, st.st_mtime_ns, st.st_mode, digest)
    return out


def describe_changes(before: dict, after: dict) -> list[str]:
    changes = [f"removed: {name}" for name in sorted(set(before) - set(after))]
    changes += [f"added: {name}" for name in sorted(set(after) - set(before))]
    fields = ("size", "mtime_ns", "mode", "sha256")
    for name in sorted(set(before) & set(after)):
        diff = [f for f, a, b in zip(fields, before[name], after[name]) if a != b]
        if diff:
            changes.append(f"changed ({', '.join(diff)}): {name}")
    return changes


@pytest.fixture(scope="session", autouse=True)
def _shared_data_untouched() -> Iterator[None]:
    """Every file in ../shared/data has the same bytes, size, mtime and mode (and no file was
    added or removed) at the end of the session as at its start."""
    before = snapshot_files(SHARED_DATA) if SHARED_DATA.is_dir() else {}
    yield
    after = snapshot_files(SHARED_DATA) if SHARED_DATA.is_dir() else {}
    changes = describe_changes(before, after)
    if changes:
        pytest.fail(f"a test changed the shared source files in {SHARED_DATA}:\n  "
                    + "\n  ".join(changes), pytrace=False)


# -- the browser test modules: Chromium, the stub page, a real JupyterLab ---------------------


@pytest.fixture(scope="session")
def lab(jupyter_lab: tuple[str, str]) -> tuple[str, str]:
    """The shared JupyterLab (jupyter_lab; what it serves is in lab_root.py)."""
    return jupyter_lab


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Chromium for one test module (browser_helpers.launch)."""
    from browser_helpers import launch

    with launch() as b:
        yield b


@pytest.fixture
def bridge() -> Iterator[Any]:
    """The stub page's server, bridging the built front ends to the Python views."""
    from browser_helpers import Bridge

    b = Bridge().start()
    yield b
    b.stop()


@pytest.fixture
def page(browser, bridge) -> Iterator[Any]:
    """A stub page (browser_helpers.harness_page) that fails the test on an uncaught page
    error. The JupyterLab modules override it with a page of the real server (lab_page)."""
    from browser_helpers import harness_page

    with harness_page(browser, bridge) as p:
        yield p
        assert not p.js_errors, p.js_errors


def run_in_fresh_process(code: str, args: list[str], cache_dir: Path) -> Any:
    """`code` run in a new Python process (a later session) sharing `cache_dir` as its
    catalog store; its last line of output, decoded as JSON."""
    result = subprocess.run(
        [sys.executable, "-c", code, *args],
        env={**os.environ, "LAZYNWB_CACHE_DIR": str(cache_dir)},
        capture_output=True, text=True, timeout=180,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])
