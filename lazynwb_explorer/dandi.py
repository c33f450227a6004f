"""DANDI Archive -> object-store sources, from one paginated asset listing.

lazynwb asks the API once per asset for its S3 URL; the listing
(`/dandisets/{id}/versions/{v}/assets/`) already carries each asset's `blob` (or `zarr`)
id, and DANDI stores blobs under `blobs/<id[:3]>/<id[3:6]>/<id>` and Zarrs under
`zarr/<id>/` of its bucket, so URLs are built with no request per asset and without the
download redirect. Blob keys are content addressed, so the URLs of a published version
never change: without `version`, the most recent published version is used; a dandiset
with none falls back to its draft with a warning (pass version="draft" to choose it).

The API base and the bucket come from `config.dandi_api_url` / `config.dandi_bucket_url`.
A token in DANDI_API_KEY (or DANDI_API_TOKEN) is sent to the API host only.
"""

from __future__ import annotations

import http.client as http_client
import json
import os
import re
import time
import urllib.parse
import warnings
from collections.abc import Callable, Sequence
from typing import Any, Literal

from .config import config
from .errors import SourceError
from .transport import http

DANDI_API_BASE = "https://api.dandiarchive.org/api"
"""The public DANDI Archive's API (lazynwb's constant): the default of
`config.dandi_api_url`, which is where requests go."""

Order = Literal["path", "created", "modified", "-path", "-created", "-modified"]
_ORDERS = ("path", "created", "modified", "-path", "-created", "-modified")
_PAGE_SIZE = 1000  # the API's maximum; fewer round trips for big dandisets
_MAX_API_ANSWER = 256 << 20  # one page of 1,000 assets is a few MB
_NWB_SUFFIXES = (".nwb", ".nwb.zarr")
# Where a content URL names an asset's blob or Zarr (any host: S3, its https form, a mirror)
_BLOB_KEY = re.compile(r"/blobs/[0-9a-f]{3}/[0-9a-f]{3}/([0-9a-f-]{36})(?:/|$)")
_ZARR_KEY = re.compile(r"/zarr/([0-9a-f-]{36})(?:/|$)")


def _api() -> str:
    return config.dandi_api_url.rstrip("/")


def _same_host(url: str, base: str) -> bool:
    a, b = urllib.parse.urlsplit(url), urllib.parse.urlsplit(base)
    return (a.scheme, a.netloc) == (b.scheme, b.netloc)


def _get_json(url: str) -> Any:
    """GET a JSON document from the DANDI API, retrying 429 / 5xx / connection errors."""
    if not _same_host(url, _api()):
        raise SourceError(f"refusing to follow a DANDI API link to another host: {url}")
    headers = {"Accept": "application/json", "User-Agent": "lazynwb_explorer"}
    token = os.environ.get("DANDI_API_KEY") or os.environ.get("DANDI_API_TOKEN")
    if token:
        headers["Authorization"] = f"token {token}"
    deadline = time.monotonic() + config.retry_deadline
    attempt = 0
    while True:
        attempt += 1
        try:  # our checked requests: redirects stay on the API's host, the answer is capped
            answer = http.get_object(url, _MAX_API_ANSWER, headers)
            if answer is None:
                raise http.StatusError(404, "Not Found", "")
            return json.loads(answer.body.decode("utf-8"))
        except http.StatusError as exc:
            retry = exc.status == 429 or exc.status >= 500
            error: Exception = SourceError(f"DANDI API answered {exc}", source=url)
        except http.HTTPFailure as exc:
            retry = exc.retryable
            error = SourceError(f"DANDI API answered badly: {exc}", source=url)
        except (OSError, TimeoutError, ConnectionError, http_client.HTTPException) as exc:
            retry = True
            error = SourceError(f"DANDI API unreachable: {exc}", source=url)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise SourceError(f"DANDI API did not answer JSON: {exc}", source=url) from exc
        delay = min(8.0, 0.2 * 2**attempt)
        if not retry or attempt > config.max_retries or time.monotonic() + delay > deadline:
            raise error
        time.sleep(delay)


def resolve_version(dandiset_id: str, version: str | None = None) -> str:
    """The version to read: as given, else the most recent published, else (warning) draft."""
    if version is not None:
        return version
    info = _get_json(f"{_api()}/dandisets/{urllib.parse.quote(dandiset_id)}/")
    if not isinstance(info, dict):
        raise SourceError(f"unexpected DANDI answer for dandiset {dandiset_id}")
    for key in ("most_recent_published_version", "draft_version"):
        value = info.get(key)
        if isinstance(value, dict) and isinstance(value.get("version"), str) and value["version"]:
            if key == "draft_version":
                warnings.warn(
                    f"dandiset {dandiset_id} has no published version; using its draft, whose "
                    "assets can change (pass version='draft' to choose it explicitly)",
                    stacklevel=3,
                )
            return value["version"]
    raise ValueError(f"No published or draft DANDI version found for dandiset {dandiset_id}")


def list_assets(dandiset_id: str, version: str, order: Order = "path") -> list[dict[str, Any]]:
    """Every asset of a dandiset version (asset_id, blob, zarr, path, size, created,
    modified), following the listing's pages."""
    query = urllib.parse.urlencode({"order": order, "page_size": _PAGE_SIZE})
    url: str | None = (
        f"{_api()}/dandisets/{urllib.parse.quote(dandiset_id)}/versions/"
        f"{urllib.parse.quote(version)}/assets/?{query}"
    )
    assets: list[dict[str, Any]] = []
    while url:
        page = _get_json(url)
        results = page.get("results") if isinstance(page, dict) else None
        if not isinstance(results, list):
            raise SourceError(f"DANDI asset page without results for {dandiset_id}/{version}",
                              source=url)
        assets.extend(a for a in results if isinstance(a, dict))
        url = page.get("next") or None
    return assets


def asset_url(asset: dict[str, Any]) -> str:
    """The object-store URL of an asset, from its blob or zarr id (no request)."""
    bucket = config.dandi_bucket_url.rstrip("/")
    blob, zarr = asset.get("blob"), asset.get("zarr")
    if isinstance(blob, str) and blob:
        return f"{bucket}/blobs/{blob[:3]}/{blob[3:6]}/{blob}"
    if isinstance(zarr, str) and zarr:
        return f"{bucket}/zarr/{zarr}/"
    raise SourceError(
        f"DANDI asset {asset.get('asset_id')!r} ({asset.get('path')!r}) has neither a blob "
        "nor a zarr id (embargoed, or not uploaded yet?)"
    )


def _is_nwb(asset: dict[str, Any]) -> bool:
    path = asset.get("path")
    return isinstance(path, str) and path.lower().rstrip("/").endswith(_NWB_SUFFIXES)


def get_dandi_sources(
    dandiset_id: str,
    version: str | None = None,
    order: Order = "path",
    *,
    asset_ids: Sequence[str] | None = None,
    asset_filter: Callable[[dict[str, Any]], bool] | None = None,
    max_assets: int | None = None,
) -> list[str]:
    """Object-store URLs of a dandiset's NWB assets, for get_df / scan_nwb / get_timeseries.

    dandiset_id: e.g. '000363'. version: a published version, 'draft', or None (most recent
    published; the draft, with a warning, if none is published). order: listing order
    ('path', 'created', 'modified', '-' prefix for descending). asset_ids: only these assets,
    in this order (an id not in the version is an error). asset_filter: called with each NWB
    asset's listing entry (asset_id, blob, zarr, path, size, created, modified); True keeps
    it. max_assets: at most this many.
    """
    if order not in _ORDERS:
        raise ValueError(f"order must be one of {_ORDERS}, got {order!r}")
    if isinstance(asset_ids, str):
        raise ValueError("asset_ids must be a sequence of DANDI asset ID strings")
    wanted = None if asset_ids is None else [a for a in asset_ids if a]
    if asset_ids is not None and not wanted:
        raise ValueError(f"No DANDI asset IDs provided for dandiset {dandiset_id}")
    resolved = resolve_version(dandiset_id, version)
    assets = list_assets(dandiset_id, resolved, order)
    selected = [a for a in assets if _is_nwb(a)]
    if order in ("path", "-path"):
        selected.sort(key=lambda a: (str(a.get("path")), str(a.get("asset_id"))),
                      reverse=order == "-path")
    if wanted is not None:
        by_id = {a.get("asset_id"): a for a in assets}
        unknown = [a for a in wanted if a not in by_id]
        if unknown:
            raise ValueError(
                f"asset id(s) {unknown} not in dandiset {dandiset_id} version {resolved}"
            )
        selected = [by_id[a] for a in dict.fromkeys(wanted)]
    if asset_filter is not None:
        selected = [a for a in selected if asset_filter(a)]
    if max_assets is not None:
        selected = selected[: max(0, int(max_assets))]
    if not selected:
        raise ValueError(
            f"No NWB assets selected for dandiset {dandiset_id} version {resolved}: found "
            f"{len(assets)} assets, {sum(map(_is_nwb, assets))} NWB"
            + (" before asset_ids / asset_filter / max_assets" if (
                wanted or asset_filter or max_assets is not None) else "")
        )
    return [asset_url(a) for a in selected]


def _asset_from_content_urls(metadata: dict[str, Any]) -> dict[str, Any] | None:
    """{'blob': id} or {'zarr': id} from an asset's contentUrl list, or None."""
    content = metadata.get("contentUrl")
    urls = [content] if isinstance(content, str) else content if isinstance(content, list) else []
    for url in urls:
        path = urllib.parse.urlsplit(url).path if isinstance(url, str) else ""
        for kind, pattern in (("blob", _BLOB_KEY), ("zarr", _ZARR_KEY)):
            match = pattern.search(path)
            if match:
                return {kind: match.group(1)}
    return None


def from_dandi_asset(dandiset_id: str, asset_id: str, version: str | None = None) -> str:
    """The object-store URL of one DANDI asset: a source for get_df, scan_nwb, LazyNWB...

    lazynwb returns a FileAccessor (an open h5py / zarr object); here any function takes
    the URL, and the file is opened (its catalog built or loaded) on first use. The URL is
    the one get_dandi_sources gives for the asset (built from its blob or Zarr id on
    `config.dandi_bucket_url`). Costs one request for the asset's metadata, plus one for
    the dandiset when `version` is None (the most recent published version; the draft,
    with a warning, if none is published).
    """
    resolved = resolve_version(dandiset_id, version)
    quote = urllib.parse.quote
    metadata = _get_json(
        f"{_api()}/dandisets/{quote(dandiset_id)}/versions/{quote(resolved)}/assets/"
        f"{quote(asset_id)}/"
    )
    if not isinstance(metadata, dict):
        raise ValueError(
            f"DANDI asset metadata response was not an object for dandiset {dandiset_id} "
            f"asset {asset_id}"
        )
    location = _asset_from_content_urls(metadata)
    if location is None:
        raise ValueError(f"No S3 content URL found for DANDI asset {asset_id}")
    return asset_url(location)
