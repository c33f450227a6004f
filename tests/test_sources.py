"""Sources: HDF5 vs Zarr by content, not suffix; paths, file:// and URLs alike; config."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import lazynwb_explorer as lazynwb
from lazynwb_explorer.backends.open import detect_format
from lazynwb_explorer.config import Config
from lazynwb_explorer.errors import SourceError, redact
from lazynwb_explorer.sources import to_source, to_sources


@pytest.mark.parametrize("where", ["local", "http", "s3"])
def test_format_is_told_by_content_not_suffix(served, locate, rich_hdf5, rich_zarr, where) -> None:
    disguised_hdf5 = served / "looks_like.zarr"
    disguised_zarr = served / "looks_like_hdf5.nwb"
    if not disguised_hdf5.exists():
        shutil.copyfile(rich_hdf5, disguised_hdf5)
        shutil.copytree(rich_zarr, disguised_zarr)
    assert detect_format(to_source(locate(disguised_hdf5, where))) == "hdf5"
    assert detect_format(to_source(locate(disguised_zarr, where))) == "zarr"
    units = lazynwb.get_df(locate(disguised_zarr, where), "units", as_polars=True)
    assert units.height == 50


def test_paths_pathlike_and_file_urls_are_one_source(rich_hdf5: Path) -> None:
    as_str = lazynwb.get_df(str(rich_hdf5), "trials", as_polars=True)
    as_path = lazynwb.get_df(rich_hdf5, "trials", as_polars=True)
    as_url = lazynwb.get_df(f"file://{rich_hdf5}", "trials", as_polars=True)
    assert as_str.drop("_nwb_path").equals(as_path.drop("_nwb_path"))
    assert as_str.drop("_nwb_path").equals(as_url.drop("_nwb_path"))
    assert as_path["_nwb_path"][0] == rich_hdf5.as_posix()
    assert len(to_sources(rich_hdf5)) == 1 and len(to_sources([rich_hdf5, str(rich_hdf5)])) == 2


def test_missing_local_file_is_named(tmp_path) -> None:
    missing = tmp_path / "nope.nwb"
    with pytest.raises(SourceError, match="nope.nwb"):
        lazynwb.get_internal_paths(missing)


def test_config_reads_lazynwb_environment_names(monkeypatch) -> None:
    monkeypatch.setenv("LAZYNWB_USE_POLARS", "1")
    monkeypatch.setenv("LAZYNWB_ANON", "true")
    monkeypatch.setenv("LAZYNWB_FSSPEC_STORAGE_OPTIONS", '{"endpoint_url": "http://127.0.0.1:1"}')
    cfg = Config()
    assert cfg.use_polars is True and cfg.anon is True
    assert cfg.fsspec_storage_options == {"endpoint_url": "http://127.0.0.1:1"}
    assert {"use_polars", "use_remfile", "use_obstore", "anon", "fsspec_storage_options", "disable_cache"} <= set(
        vars(cfg)
    )


def test_use_polars_default_is_honoured(rich_hdf5, monkeypatch) -> None:
    monkeypatch.setattr(lazynwb.config, "use_polars", True)
    assert type(lazynwb.get_df(rich_hdf5, "trials")).__module__.startswith("polars")


def test_secrets_never_reach_messages_or_reprs(monkeypatch) -> None:
    url = "https://host/f.nwb?X-Amz-Signature=abc123&X-Amz-Credential=AKIA999&keep=1"
    assert "abc123" not in redact(url) and "AKIA999" not in redact(url) and "keep=1" in redact(url)
    assert "hunter2" not in redact("s3://user:hunter2@bucket/key")
    monkeypatch.setattr(lazynwb.config, "fsspec_storage_options", {"key": "AKIA", "secret": "s3cr3t"})
    assert "s3cr3t" not in repr(lazynwb.config)
