"""Hostile files, each an attack run in a child process under an address-space cap and a
timeout (tests/hostile.py): reading outside the source (external raw storage, virtual
datasets, external links, a Zarr key climbing out of its store), a file that hangs libhdf5,
a pickled "billion laughs", columns declaring 3x10^8 rows backed by no data, groups nested
1,500 deep. Each must end promptly, in bounded memory, with a clear error naming the file
and the dataset (or, for local files with `config.follow_external_paths`, read as asked).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

import hostile_files as hf
from hostile import run_victim
from servers import RangeHTTPServer

CORPUS = Path(__file__).resolve().parent / "fuzz_corpus"

# One child reads every case; a case's outcome is its values or its error's text.
READ_COLUMN = """
import warnings
out = {}
for name, path in CASES.items():
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            frame = lazynwb.get_df(path, "/intervals/trials", as_polars=True, disable_progress=True)
        out[name] = (frame["start_time"].to_list() if "start_time" in frame.columns
                     else "; ".join(str(w.message) for w in caught) or frame.columns)
    except lazynwb.LazyNWBError as exc:
        out[name] = f"{type(exc).__name__}: {exc}"
return out
"""


@pytest.fixture(scope="module")
def attack_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("attacks")
    base = hf.small_hdf5(root / "clean.nwb")
    raw, victim_h5 = hf.write_victims(root / "victims")
    served = root / "served"
    served.mkdir()
    hf.with_both(base, served / "both.nwb", raw, victim_h5)
    hf.with_external_storage(base, served / "external_storage.nwb", raw)
    hf.with_virtual_dataset(base, served / "virtual.nwb", victim_h5)
    hf.with_external_link(base, served / "external_link.nwb", victim_h5)
    return root


@pytest.fixture(scope="module")
def attack_server(attack_dir: Path) -> Iterator[RangeHTTPServer]:
    with RangeHTTPServer(attack_dir / "served", nodelay=True) as server:
        yield server


KINDS = ("both", "external_storage", "virtual", "external_link")


def _refusals(outcome: dict, needle: str = "outside the file") -> None:
    for name, value in outcome.items():
        assert isinstance(value, str), f"{name}: read {value} (the victim's values are {hf.SECRET})"
        assert needle in value and "/intervals/trials/start_time" in value, f"{name}: {value}"


def test_remote_file_never_reads_local_files(attack_server: RangeHTTPServer) -> None:
    """Item 1: over HTTP, with either engine and even with the local opt-in set, a column
    stored in a local file is refused by name; so are virtual datasets and external links."""
    cases = {f"{kind} ({engine})": attack_server.url(f"{kind}.nwb")
             for kind in KINDS for engine in ("auto",)}
    for engine in ("auto", "h5py"):
        victim = run_victim(READ_COLUMN, CASES=cases, timeout=120,
                            settings={"hdf5_engine": engine, "follow_external_paths": True})
        _refusals(victim.value)


def test_local_file_refuses_paths_outside_it_by_default(attack_dir: Path) -> None:
    """Item 1, local files: refused by default with either engine; read only when the user
    opts in (config.follow_external_paths: "follows paths written in the file")."""
    served = attack_dir / "served"
    cases = {kind: str(served / f"{kind}.nwb") for kind in KINDS}
    for engine in ("auto", "native", "h5py"):
        victim = run_victim(READ_COLUMN, CASES=cases, timeout=120, settings={"hdf5_engine": engine})
        _refusals(victim.value)
    opted_in = run_victim(READ_COLUMN, CASES=cases, timeout=120,
                          settings={"follow_external_paths": True})
    for kind in KINDS:
        assert opted_in.value[kind] == [hf.SECRET] * hf.N_TRIALS, (kind, opted_in.value[kind])


def test_native_engine_refuses_external_storage_instead_of_zeros(attack_dir: Path) -> None:
    """Item 14: the engine saw a contiguous dataset with no address and returned zeros."""
    cases = {"external_storage": str(attack_dir / "served" / "external_storage.nwb")}
    victim = run_victim(READ_COLUMN, CASES=cases, settings={"hdf5_engine": "native"})
    _refusals(victim.value, needle="external raw storage")


def test_local_file_that_hangs_libhdf5_is_refused_promptly(tmp_path: Path) -> None:
    """Item 3: the fuzz input on which libhdf5 spins holding the GIL, renamed .nwb and opened
    from disk with the default settings."""
    path = tmp_path / "hangs.nwb"
    shutil.copyfile(CORPUS / "libhdf5-hangs-after-engine-refusal.h5", path)
    victim = run_victim("return lazynwb.get_internal_paths(PATH)", PATH=str(path), timeout=120)
    victim.refused("NotNWBError", str(path), "outside the file", within=5)


def test_pickled_billion_laughs_is_refused(tmp_path: Path) -> None:
    """Item 4: a ~300-byte pickle of shared references (2^22 leaves as a tree) in an object
    column of a Zarr store."""
    base = hf.small_zarr(tmp_path / "clean.nwb.zarr")
    store, size = hf.with_pickle_laughs(base, tmp_path / "laughs.nwb.zarr", depth=22)
    assert size < 400
    victim = run_victim(
        'return lazynwb.get_df(PATH, "electrodes", as_polars=True).shape',
        PATH=str(store), timeout=180, headroom_mb=2048,
    )
    victim.refused("MalformedFileError", "/general/extracellular_ephys/electrodes/group",
                   "pickle", within=10)


SCAN_HEAD = """
from lazynwb_explorer.sources import to_source
from lazynwb_explorer.widgets.grid_engine import GridEngine
out = {}
for name, call in (
    ("scan head", lambda: lazynwb.scan_nwb(PATH, "/intervals/trials").head(3).collect().shape),
    ("scan filter", lambda: lazynwb.scan_nwb(PATH, "/intervals/trials").filter(pl.col("start_time") > 1).collect().shape),
    ("get_df", lambda: lazynwb.get_df(PATH, "/intervals/trials", as_polars=True).shape),
    ("grid page", lambda: GridEngine([to_source(PATH)], "/intervals/trials").page(0, 50, [], []).shape),
):
    try:
        out[name] = call()
    except lazynwb.LazyNWBError as exc:
        out[name] = f"{type(exc).__name__}: {exc}"
return out
"""


@pytest.mark.parametrize("engine", ["auto", "h5py"])
@pytest.mark.parametrize("chunked", [False, True], ids=["contiguous", "chunked"])
def test_columns_declaring_300_million_rows_backed_by_nothing(tmp_path: Path, chunked: bool, engine: str) -> None:
    """Item 5: a small file whose trials columns declare 3x10^8 rows and hold no data."""
    base = hf.small_hdf5(tmp_path / "clean.nwb", contiguous=True)
    path = hf.huge_declared(base, tmp_path / "huge.nwb", chunked=chunked)
    assert path.stat().st_size < 1 << 20
    victim = run_victim(SCAN_HEAD, PATH=str(path), timeout=120, headroom_mb=2048,
                        settings={"hdf5_engine": engine})
    for name, value in victim.value.items():
        assert isinstance(value, str) and "MalformedFileError" in value, (name, value)
        assert "300000000" in value and "/intervals/trials/" in value, (name, value)


def test_zarr_columns_declaring_a_billion_rows(tmp_path: Path) -> None:
    """Item 5, Zarr: shapes of 10^9 whose chunks do not exist. In Zarr a chunk never written
    is the fill value (zarr does not write empty chunks), so a few rows read as fill; a read
    of the column is refused, naming it, instead of allocating 8 GB of fill."""
    base = hf.small_zarr(tmp_path / "clean.nwb.zarr")
    path = hf.with_declared_rows(base, tmp_path / "huge.nwb.zarr")
    victim = run_victim(SCAN_HEAD, PATH=str(path), timeout=120, headroom_mb=2048)
    for name, value in victim.value.items():
        if name in ("scan head", "grid page") and not isinstance(value, str):
            assert value[0] <= 50, (name, value)  # the rows asked for, no more
            continue
        assert isinstance(value, str) and "MalformedFileError" in value, (name, value)
        assert "1000000000" in value and "/intervals/trials/" in value, (name, value)


def test_zarr_key_never_leaves_the_store(tmp_path: Path) -> None:
    """Item 9: a dimension_separator of "/../../../../victim/outside_arr/"."""
    base = hf.small_zarr(tmp_path / "clean.nwb.zarr")
    store, _ = hf.with_climbing_separator(base, tmp_path / "climb.nwb.zarr")
    victim = run_victim(
        'return lazynwb.get_df(PATH, "/units", as_polars=True, exclude_array_columns=False)["obs_intervals"].to_list()',
        PATH=str(store),
    )
    victim.refused("MalformedFileError", "/units/obs_intervals", "dimension_separator")


def test_groups_nested_1500_deep(tmp_path: Path) -> None:
    """Item 12: a raw RecursionError, locally and over HTTP."""
    path = hf.nested_groups(tmp_path / "nested.nwb")
    with RangeHTTPServer(tmp_path, nodelay=True) as server:
        for where in (str(path), server.url("nested.nwb")):
            victim = run_victim("return len(lazynwb.get_internal_paths(PATH))", PATH=where, timeout=180)
            victim.refused("NotNWBError", "nested deeper than", within=20)


def test_zarr_metadata_keys_starting_with_a_slash(tmp_path: Path) -> None:
    """Item 12: "maximum recursion depth exceeded" from a .zmetadata key like '/units/.zattrs'."""
    base = hf.small_zarr(tmp_path / "clean.nwb.zarr")
    path = hf.with_rooted_metadata_keys(base, tmp_path / "rooted.nwb.zarr")
    victim = run_victim("return len(lazynwb.get_internal_paths(PATH))", PATH=str(path))
    victim.refused("MalformedFileError", "'/units", "not below the store's root")
