"""get_attrs, get_sub_attrs, consolidate_attrs, clear_attrs_cache: every attribute as h5py /
zarr hold it (references as paths), from HDF5 and Zarr files, locally and over HTTP;
lazynwb's filtering and key spelling (checked against lazynwb 1.0 where it is installed);
consolidation across sessions; the cache really forgotten."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pynwb
import pytest
import zarr

import lazynwb_explorer as lazynwb
from lazynwb_explorer.catalog import open_catalog
from lazynwb_explorer.sources import to_source

import nwb_factory as nf

PATHS = ["/", "/units", "/units/spike_times", "/units/electrodes", "/general/subject",
         "/acquisition/lick_sensor/starting_time", "/intervals/trials"]
PRIVATE = {"id", "object_id", "namespace", "target"}


def _h5_value(file: h5py.File, value: Any) -> Any:
    if isinstance(value, h5py.Reference):
        return file[value].name
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, np.ndarray):
        return [_h5_value(file, v) for v in value.tolist()] if value.dtype == object else value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


def _zarr_value(value: Any) -> Any:
    if isinstance(value, dict) and value.get("zarr_dtype") == "object":
        return value["value"]["path"]
    return value


def _raw_attrs(path: Path, internal: str) -> dict[str, Any]:
    """The object's attributes read with h5py / zarr directly (references as paths)."""
    if path.is_dir():
        group = zarr.open_group(str(path), mode="r")
        obj = group if internal == "/" else group[internal.lstrip("/")]
        return {k: _zarr_value(v) for k, v in obj.attrs.asdict().items()
                if k not in ("zarr_dtype", "_ARRAY_DIMENSIONS", "zarr_link")}
    with h5py.File(path, "r") as file:
        return {k: _h5_value(file, v) for k, v in file[internal].attrs.items()}


@pytest.mark.parametrize("where", ["local", "http"])
@pytest.mark.parametrize("kind", ["rich_hdf5", "rich_zarr"])
def test_get_attrs_are_the_files_attributes(request, locate, kind: str, where: str) -> None:
    path = request.getfixturevalue(kind)
    source = locate(path, where)
    for internal in PATHS:
        raw = _raw_attrs(path, internal)
        assert lazynwb.get_attrs(source, internal, exclude_private=False) == raw, internal
        public = {k: v for k, v in raw.items() if not k.startswith(("_", ".")) and k not in PRIVATE}
        assert lazynwb.get_attrs(source, internal) == public, internal
    assert lazynwb.get_attrs(source, "units/electrodes")["table"] == (
        "/general/extracellular_ephys/electrodes"
    )
    assert lazynwb.get_attrs(source, "trials") == lazynwb.get_attrs(source, "/intervals/trials")


def test_missing_path_names_file_and_path(rich_hdf5) -> None:
    with pytest.raises(KeyError) as info:
        lazynwb.get_attrs(rich_hdf5, "/units/no_such_column")
    assert isinstance(info.value, lazynwb.InternalPathError)
    assert str(rich_hdf5) in str(info.value) and "/units/no_such_column" in str(info.value)
    assert lazynwb.get_sub_attrs(rich_hdf5, "/no/such/group") == {}


@pytest.fixture(scope="module")
def defaults_file(tmp_path_factory) -> Path:
    """A file with pynwb's placeholder values ('no description') and an empty list."""
    nwbfile = pynwb.NWBFile("placeholders", "defaults-0001", nf.SESSION_START_TIME, keywords=[])
    nwbfile.add_acquisition(pynwb.TimeSeries(name="speed", data=np.arange(10.0), unit="m/s", rate=10.0))
    return nf.write_hdf5(tmp_path_factory.mktemp("attrs") / "defaults.nwb", nwbfile)


def test_exclude_empty_fields(defaults_file) -> None:
    full = lazynwb.get_attrs(defaults_file, "/acquisition/speed")
    assert full["description"] == "no description"
    trimmed = lazynwb.get_attrs(defaults_file, "/acquisition/speed", exclude_empty_fields=True)
    assert "description" not in trimmed and trimmed["comments"] == "no comments"


@pytest.mark.parametrize("kind", ["rich_hdf5", "rich_zarr"])
def test_sub_attrs_keys_and_filters(request, kind: str) -> None:
    source = request.getfixturevalue(kind)
    units = lazynwb.get_sub_attrs(source, "/units")
    assert units["units"]["neurodata_type"] == "Units"  # spelled as lazynwb spells '/units'
    assert units["units/spike_times"] == {
        "description": "the spike times for each unit in seconds",
        "resolution": lazynwb.get_attrs(source, "/units/spike_times")["resolution"],
    }  # a column's neurodata_type is dropped
    assert "units/spike_times_index" not in units  # beside its column
    assert "units/id" not in units  # nothing left once filtered
    everything = lazynwb.get_sub_attrs(source, "/units", exclude_private=False, exclude_empty=False)
    assert everything["units/id"]["neurodata_type"] == "ElementIdentifiers"
    assert "object_id" in everything["units/spike_times"]
    assert "units/spike_times_index" not in everything
    root = lazynwb.get_sub_attrs(source)
    assert "/" in root and "/units/spike_times" in root and "/acquisition/running_speed" in root
    assert not [k for k in root if k.startswith("/specifications")]
    assert set(lazynwb.get_sub_attrs(source, "trials")) == {
        k.lstrip("/") for k in root if k.startswith("/intervals/trials")
    }


@pytest.mark.parametrize("kind", ["rich_hdf5", "rich_zarr"])
def test_links_are_followed(request, kind: str) -> None:
    source = request.getfixturevalue(kind)
    device = lazynwb.get_attrs(source, "/general/devices/probeA")
    assert device["neurodata_type"] == "Device"
    assert lazynwb.get_attrs(source, "/general/extracellular_ephys/probeA_shank0/device") == device
    sub = lazynwb.get_sub_attrs(source, "/general/extracellular_ephys")
    assert sub["general/extracellular_ephys/probeA_shank0/device"] == device


def _is_zarr_link(source: str, key: str) -> bool:
    """Whether `key` is a soft link that hdmf-zarr recorded in its parent's zarr_link list."""
    if not source.endswith(".zarr"):
        return False
    parent, _, name = key.rpartition("/")
    links = zarr.open_group(source, mode="r")[parent or "/"].attrs.get("zarr_link", [])
    return any(link.get("name") == name for link in links)


@pytest.mark.parametrize("kind", ["rich_hdf5", "rich_zarr"])
@pytest.mark.parametrize("parent", ["/", "/units", "general", "/acquisition"])
def test_sub_attrs_equal_lazynwb(request, kind: str, parent: str) -> None:
    """Same keys and values as lazynwb 1.0, but for references (ours are paths; lazynwb
    writes '<HDF5 object reference>' or hdmf-zarr's raw dict) and Zarr's zarr_link list."""
    reference = pytest.importorskip("lazynwb", exc_type=ImportError)
    source = str(request.getfixturevalue(kind))
    for options in ({}, {"exclude_private": False, "exclude_empty": False}):
        theirs = reference.get_sub_attrs(source, parent, **options)
        ours = lazynwb.get_sub_attrs(source, parent, **options)
        # lazynwb reads Zarr with plain zarr-python, which does not know hdmf-zarr's links
        assert {k for k in set(ours) - set(theirs) if not _is_zarr_link(source, k)} == set()
        assert set(theirs) <= set(ours)
        ours = {k: v for k, v in ours.items() if k in theirs}
        for key, attrs in theirs.items():
            plain = {k: v for k, v in attrs.items() if k != "zarr_link"
                     and not (isinstance(v, str) and "object reference" in v)
                     and not (isinstance(v, dict) and v.get("zarr_dtype") == "object")}
            assert {k: ours[key][k] for k in plain} == plain, key
            assert set(ours[key]) == set(attrs) - {"zarr_link"}, key


def test_consolidate_attrs(sessions, tmp_path) -> None:
    twin = tmp_path / "twin.nwb"
    shutil.copyfile(sessions[0], twin)
    files = [sessions[0], twin, sessions[1]]
    result = lazynwb.consolidate_attrs(files, "/", exclude_private=False)
    assert list(result) == ["/"]
    root = result["/"]
    assert list(root) == sorted(root)
    ids = {str(p): lazynwb.get_attrs(p, "/", exclude_private=False)["object_id"] for p in files}
    assert root["object_id"] == {"common": ids[str(sessions[0])], str(sessions[1]): ids[str(sessions[1])]}
    assert root["nwb_version"] == {"common": lazynwb.get_attrs(sessions[0], "/")["nwb_version"]}
    assert "object_id" not in lazynwb.consolidate_attrs(files, "/")["/"]
    single = lazynwb.consolidate_attrs(str(sessions[2]), "/units/spike_times")
    assert single == {"units/spike_times": {
        k: {"common": v} for k, v in lazynwb.get_attrs(sessions[2], "/units/spike_times").items()
    }}


def test_consolidate_attrs_over_http_and_errors(sessions, locate, defaults_file) -> None:
    urls = [locate(p, "http") for p in sessions]
    result = lazynwb.consolidate_attrs(urls, "units", exclude_private=False)
    object_ids = result["units"]["object_id"]
    assert set(object_ids) == {"common", *urls[1:]}  # the first file's value wins a tie
    with pytest.raises(lazynwb.InternalPathError, match="defaults.nwb"):
        lazynwb.consolidate_attrs([sessions[0], defaults_file], "/units")
    with pytest.raises(ValueError, match="At least one"):
        lazynwb.consolidate_attrs([], "/units")


def test_clear_attrs_cache(sessions, locate, http_server) -> None:
    url, other = locate(sessions[0], "http"), str(sessions[1])
    lazynwb.get_attrs(url, "/units")
    kept = open_catalog(to_source(other))
    http_server.reset_stats()
    lazynwb.get_attrs(url, "/units")
    assert http_server.stats.requests == 0  # known: nothing read
    lazynwb.clear_attrs_cache(url)
    assert lazynwb.get_attrs(url, "/units")["neurodata_type"] == "Units"
    assert http_server.stats.requests > 0  # forgotten: read again
    assert open_catalog(to_source(other)) is kept  # other files untouched
    lazynwb.clear_attrs_cache()
    assert open_catalog(to_source(other)) is not kept


def test_normalize_internal_file_path() -> None:
    normalize = lazynwb.normalize_internal_file_path
    assert normalize("/units") == "units" == normalize("units")
    assert normalize("trials") == "intervals/trials" == normalize("/trials")
    assert normalize("session") == "general"
    assert normalize("/") == "/" == normalize("")
    assert normalize("/processing/behavior") == "processing/behavior"
