"""Bad input gets a clear error naming the file and the internal path, never a bare KeyError
from deep inside h5py."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

import lazynwb_explorer as lazynwb
from lazynwb_explorer.errors import (
    InternalPathError,
    LazyNWBError,
    NotNWBError,
    SchemaMismatchError,
    SourceError,
)

import nwb_factory as nf


def test_missing_table_names_file_and_path(rich_hdf5) -> None:
    with pytest.raises(InternalPathError) as info:
        lazynwb.get_df(rich_hdf5, "/processing/nonexistent_table", exact_path=True)
    message = str(info.value)
    assert str(rich_hdf5) in message and "/processing/nonexistent_table" in message
    assert isinstance(info.value, KeyError)  # code written for lazynwb still catches it
    with pytest.raises(InternalPathError, match="no_such_thing"):
        lazynwb.scan_nwb(rich_hdf5, "no_such_thing")


def test_missing_in_some_files_is_skipped_or_raised(rich_hdf5, served) -> None:
    lone = nf.write_conflicting_types_pair(served / "lone")[0]  # has units/trials, no epochs
    with pytest.warns(UserWarning, match=str(lone)):
        df = lazynwb.get_df([rich_hdf5, lone], "/intervals/epochs", exact_path=True, as_polars=True)
    assert df["_nwb_path"].unique().to_list() == [str(rich_hdf5)]
    with pytest.raises(InternalPathError, match=str(lone)):
        lazynwb.get_df([rich_hdf5, lone], "/intervals/epochs", exact_path=True, raise_on_missing=True)


@pytest.mark.parametrize(
    "make",
    [nf.write_non_nwb_hdf5, nf.write_text_file_with_nwb_suffix, nf.write_truncated_copy],
    ids=["non-nwb-hdf5", "text-file", "truncated-hdf5"],
)
@pytest.mark.parametrize("where", ["local", "http"])
def test_unreadable_files_name_the_file(served, locate, make, where) -> None:
    path = make(served / f"bad_{make.__name__}.nwb")
    source = locate(path, where)
    with pytest.raises(SourceError) as info:
        lazynwb.get_df(source, "/units")
    assert source in str(info.value)
    assert isinstance(info.value, NotNWBError)


def test_404_url_names_the_url(http_server) -> None:
    url = http_server.url("does/not/exist.nwb")
    with pytest.raises(SourceError, match="not found") as info:
        lazynwb.get_internal_paths(url)
    assert url in str(info.value)


def test_conflicting_column_types_name_column_and_both_files(served) -> None:
    a, b = nf.write_conflicting_types_pair(served / "conflict")
    for call in (
        lambda: lazynwb.get_df([a, b], "/units"),
        lambda: lazynwb.get_table_schema([a, b], "/units"),
        lambda: lazynwb.scan_nwb([a, b], "/units").collect(),
    ):
        with pytest.raises(SchemaMismatchError) as info:
            call()
        message = str(info.value)
        assert "'quality'" in message and str(a) in message and str(b) in message
        assert "/units" in message


def test_ignore_errors_skips_a_broken_file_with_a_warning(rich_hdf5, served) -> None:
    bad = nf.write_truncated_copy(served / "broken.nwb", source=rich_hdf5)
    with pytest.warns(UserWarning, match="broken.nwb"):
        df = lazynwb.get_df([rich_hdf5, bad], "/units", ignore_errors=True, as_polars=True)
    assert df["_nwb_path"].unique().to_list() == [str(rich_hdf5)]
    with pytest.raises(LazyNWBError, match="broken.nwb"):
        lazynwb.get_df([rich_hdf5, bad], "/units")


def test_unknown_column_is_named(rich_hdf5) -> None:
    with pytest.raises(KeyError, match="no_such_column"):
        lazynwb.get_df(rich_hdf5, "/units", include_column_names=["no_such_column"])


def test_misaligned_column_is_skipped_with_a_warning(tmp_path, rich_hdf5) -> None:
    import shutil

    import h5py

    copy = tmp_path / "misaligned.nwb"
    shutil.copyfile(rich_hdf5, copy)
    with h5py.File(copy, "a") as f:  # a copy: we never write to a source file
        del f["/intervals/trials/contrast"]
        f["/intervals/trials"].create_dataset("contrast", data=[0.1, 0.2])
    with pytest.warns(UserWarning, match="contrast"):
        df = lazynwb.get_df(copy, "/intervals/trials", as_polars=True)
    assert "contrast" not in df.columns and df.height == 40
    assert lazynwb.scan_nwb(copy, "/intervals/trials").select(pl.len()).collect().item() == 40


def test_malformed_remote_file_is_refused_not_handed_to_libhdf5(served, http_server) -> None:
    """Our engine finds this file's local heap outside the file. libhdf5, given the same
    bytes, spins forever in C (tests/fuzz_corpus), where no alarm reaches it: the call runs
    in a child process, which must answer promptly with the refusal, by name."""
    corpus = Path(__file__).parent / "fuzz_corpus" / "libhdf5-hangs-after-engine-refusal.h5"
    target = served / "hostile" / "spins-libhdf5.nwb"
    target.parent.mkdir(exist_ok=True)
    shutil.copyfile(corpus, target)
    url = http_server.url("hostile/spins-libhdf5.nwb")
    code = (
        "import sys, lazynwb_explorer as lazynwb\n"
        "try:\n"
        "    lazynwb.get_internal_paths(sys.argv[1])\n"
        "except lazynwb.LazyNWBError as exc:\n"
        "    print(type(exc).__name__, exc)\n"
    )
    done = subprocess.run([sys.executable, "-c", code, url], capture_output=True, text=True,
                          timeout=60, env={**os.environ, "LAZYNWB_DISABLE_CACHE": "1"})
    assert done.stdout.startswith("NotNWBError"), (done.stdout, done.stderr[-2000:])
    assert "outside the file" in done.stdout and url in done.stdout
