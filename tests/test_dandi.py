"""get_dandi_sources against a fake DANDI REST API (127.0.0.1) and moto S3 holding the
blobs: one paginated listing, URLs built from blob / zarr ids (no per-asset request, no
download redirect), versions pinned, then scan_nwb over the sources end to end."""

from __future__ import annotations

import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest

import lazynwb_explorer as lazynwb
from lazynwb_explorer.dandi import get_dandi_sources
from lazynwb_explorer.transport import clear_stores

try:
    from tests.dandi_server import FakeAsset, FakeDandiAPI
except ImportError:  # pragma: no cover - tests/ on sys.path
    from dandi_server import FakeAsset, FakeDandiAPI

DANDI_BUCKET = "dandi-fake"


@pytest.fixture(scope="module")
def dandi(s3_server, sessions, served: Path, tmp_path_factory) -> Iterator[dict]:
    """Three HDF5 sessions and one Zarr session as blobs / zarrs in moto, plus a non-NWB
    asset, listed by a fake API whose pages hold 2 assets (so listing takes 3 pages)."""
    import nwb_factory as nf

    s3_server.create_bucket(DANDI_BUCKET)
    assets, local = [], {}
    for i, path in enumerate(sessions):
        blob = str(uuid.UUID(int=1000 + i))
        s3_server.upload_file(path, DANDI_BUCKET, f"blobs/{blob[:3]}/{blob[3:6]}/{blob}")
        asset = FakeAsset(path=f"sub-{i}/sub-{i}_ses-{i}.nwb", blob=blob, size=path.stat().st_size)
        assets.append(asset)
        local[asset.asset_id] = path
    zarr_path = nf.write_many_sessions(tmp_path_factory.mktemp("dz"), n=1, seed=7, fmt="zarr")[0]
    zarr_id = str(uuid.UUID(int=2000))
    s3_server.upload_dir(zarr_path, DANDI_BUCKET, f"zarr/{zarr_id}")
    zasset = FakeAsset(path="sub-9/sub-9_ses-9.nwb.zarr", zarr=zarr_id)
    assets.append(zasset)
    local[zasset.asset_id] = zarr_path
    assets.append(FakeAsset(path="dataset_description.json", blob=str(uuid.UUID(int=3000))))
    with FakeDandiAPI(page_size_cap=2) as api:
        api.add_dandiset("000123", assets, published=["0.240101.0000", "0.240202.0000"])
        api.add_dandiset("000456", assets[:2])  # draft only
        old = (lazynwb.config.dandi_api_url, lazynwb.config.dandi_bucket_url)
        lazynwb.config.dandi_api_url = api.api_url
        lazynwb.config.dandi_bucket_url = f"s3://{DANDI_BUCKET}"
        clear_stores()
        try:
            yield {"api": api, "assets": assets, "local": local}
        finally:
            lazynwb.config.dandi_api_url, lazynwb.config.dandi_bucket_url = old
            clear_stores()


def _blob_url(asset: FakeAsset) -> str:
    if asset.zarr:
        return f"s3://{DANDI_BUCKET}/zarr/{asset.zarr}/"
    b = asset.blob
    return f"s3://{DANDI_BUCKET}/blobs/{b[:3]}/{b[3:6]}/{b}"


def test_one_listing_no_per_asset_requests(dandi):
    api, assets = dandi["api"], dandi["assets"]
    api.requests.clear()
    sources = get_dandi_sources("000123")
    nwb_assets = sorted((a for a in assets if ".nwb" in a.path), key=lambda a: a.path)
    assert sources == [_blob_url(a) for a in nwb_assets]
    # 1 dandiset lookup + ceil(5 assets / 2 per page) = 3 pages; nothing per asset
    assert len(api.requests) == 1 + 3, api.requests
    assert not any("/download" in r or r.rstrip("/").endswith(tuple(a.asset_id for a in assets))
                   for r in api.requests)
    # the most recent published version is pinned
    assert all("/versions/0.240202.0000/assets/" in r for r in api.requests[1:])


def test_explicit_version_skips_dandiset_lookup(dandi):
    api = dandi["api"]
    api.requests.clear()
    get_dandi_sources("000123", version="0.240101.0000")
    assert all("/versions/0.240101.0000/assets/" in r for r in api.requests)


def test_draft_only_dandiset_warns(dandi):
    with pytest.warns(UserWarning, match="no published version"):
        sources = get_dandi_sources("000456")
    assert len(sources) == 2
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert get_dandi_sources("000456", version="draft") == sources


def test_order_ids_filter_and_max(dandi):
    assets = dandi["assets"]
    by_path = sorted((a for a in assets if ".nwb" in a.path), key=lambda a: a.path)
    assert get_dandi_sources("000123", order="-path") == [_blob_url(a) for a in reversed(by_path)]
    ids = [by_path[2].asset_id, by_path[0].asset_id]
    assert get_dandi_sources("000123", asset_ids=ids) == [_blob_url(by_path[2]), _blob_url(by_path[0])]
    picked = get_dandi_sources("000123", asset_filter=lambda a: a["zarr"] is not None)
    assert picked == [_blob_url(a) for a in by_path if a.zarr]
    assert len(get_dandi_sources("000123", max_assets=2)) == 2
    with pytest.raises(ValueError, match="not in dandiset"):
        get_dandi_sources("000123", asset_ids=["no-such-id"])
    with pytest.raises(ValueError, match="No NWB assets selected"):
        get_dandi_sources("000123", asset_filter=lambda a: False)
    with pytest.raises(ValueError):
        get_dandi_sources("000123", asset_ids="a-string")


def test_unknown_dandiset_names_the_url(dandi):
    with pytest.raises(lazynwb.SourceError, match="404"):
        get_dandi_sources("999999")


def test_scan_units_end_to_end(dandi):
    """scan_nwb over DANDI sources (blobs and a zarr in moto) equals the local files."""
    assets = {(_blob_url(a)): a for a in dandi["assets"]}
    sources = get_dandi_sources("000123")
    remote = lazynwb.scan_nwb(sources, "/units", disable_progress=True).collect()
    local_paths = [str(dandi["local"][assets[s].asset_id]) for s in sources]
    expected = lazynwb.scan_nwb(local_paths, "/units", disable_progress=True).collect()
    assert remote.height == expected.height > 0
    mapping = dict(zip(local_paths, sources))
    expected = expected.with_columns(pl.col("_nwb_path").replace(mapping))
    columns = [c for c in expected.columns if c in remote.columns]
    assert remote.select(columns).equals(expected.select(columns))
    assert remote["_nwb_path"].unique(maintain_order=True).to_list() == sources
