"""from_dandi_asset against the fake DANDI API (127.0.0.1) and moto S3 holding the blobs: one
request for the asset (plus one for the version when not given), the same URL
get_dandi_sources gives, readable end to end; Zarr assets; errors."""

from __future__ import annotations

import uuid
import warnings
from collections.abc import Iterator

import pytest

import lazynwb_explorer as lazynwb
from lazynwb_explorer.transport import clear_stores

import nwb_factory as nf
from dandi_server import FakeAsset, FakeDandiAPI

BUCKET = "dandi-assets"


@pytest.fixture(scope="module")
def archive(s3_server, sessions, tmp_path_factory) -> Iterator[dict]:
    """One HDF5 session as a blob and one Zarr session, in a published dandiset and in a
    draft-only one."""
    s3_server.create_bucket(BUCKET)
    blob = str(uuid.UUID(int=7001))
    s3_server.upload_file(sessions[0], BUCKET, f"blobs/{blob[:3]}/{blob[3:6]}/{blob}")
    hdf5 = FakeAsset(path="sub-0/sub-0_ses-0.nwb", blob=blob)
    zarr_path = nf.write_many_sessions(tmp_path_factory.mktemp("dz"), n=1, seed=3, fmt="zarr")[0]
    zarr_id = str(uuid.UUID(int=7002))
    s3_server.upload_dir(zarr_path, BUCKET, f"zarr/{zarr_id}")
    zarr = FakeAsset(path="sub-1/sub-1_ses-1.nwb.zarr", zarr=zarr_id)
    with FakeDandiAPI() as api:
        api.add_dandiset("000777", [hdf5, zarr], published=["0.250101.0000"])
        api.add_dandiset("000778", [hdf5])
        old = (lazynwb.config.dandi_api_url, lazynwb.config.dandi_bucket_url)
        lazynwb.config.dandi_api_url = api.api_url
        lazynwb.config.dandi_bucket_url = f"s3://{BUCKET}"
        clear_stores()
        try:
            yield {"api": api, "hdf5": hdf5, "zarr": zarr, "local": {hdf5.asset_id: sessions[0],
                                                                     zarr.asset_id: zarr_path}}
        finally:
            lazynwb.config.dandi_api_url, lazynwb.config.dandi_bucket_url = old
            clear_stores()


def test_one_request_and_the_listing_url(archive) -> None:
    api, asset = archive["api"], archive["hdf5"]
    api.requests.clear()
    url = lazynwb.from_dandi_asset("000777", asset.asset_id, version="0.250101.0000")
    assert api.requests == [f"/api/dandisets/000777/versions/0.250101.0000/assets/{asset.asset_id}/"]
    blob = asset.blob
    assert url == f"s3://{BUCKET}/blobs/{blob[:3]}/{blob[3:6]}/{blob}"
    assert url == lazynwb.get_dandi_sources("000777", asset_ids=[asset.asset_id])[0]


@pytest.mark.parametrize("kind", ["hdf5", "zarr"])
def test_asset_reads_like_the_local_file(archive, kind: str) -> None:
    asset = archive[kind]
    url = lazynwb.from_dandi_asset("000777", asset.asset_id)  # most recent published version
    assert archive["api"].requests[-2] == "/api/dandisets/000777/"
    remote = lazynwb.get_df(url, "units", as_polars=True, disable_progress=True)
    local = lazynwb.get_df(str(archive["local"][asset.asset_id]), "units", as_polars=True,
                           disable_progress=True)
    assert remote.drop("_nwb_path").equals(local.drop("_nwb_path"))
    assert remote["_nwb_path"].unique().to_list() == [url]
    assert lazynwb.LazyNWB(url).session_id == lazynwb.LazyNWB(str(archive["local"][asset.asset_id])).session_id


def test_draft_only_warns_and_unknown_asset_fails(archive) -> None:
    asset = archive["hdf5"]
    with pytest.warns(UserWarning, match="no published version"):
        url = lazynwb.from_dandi_asset("000778", asset.asset_id)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert lazynwb.from_dandi_asset("000778", asset.asset_id, version="draft") == url
    with pytest.raises(lazynwb.SourceError, match="404"):
        lazynwb.from_dandi_asset("000777", str(uuid.UUID(int=1)), version="0.250101.0000")


def test_api_base_is_the_public_archive(monkeypatch) -> None:
    monkeypatch.delenv("LAZYNWB_DANDI_API_URL", raising=False)
    assert lazynwb.DANDI_API_BASE == "https://api.dandiarchive.org/api"
    assert lazynwb.Config().dandi_api_url == lazynwb.DANDI_API_BASE  # where requests go
