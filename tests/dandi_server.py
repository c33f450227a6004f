"""A fake DANDI REST API on 127.0.0.1, answering the shapes get_dandi_sources reads.

Why: the DANDI path must run end to end in the default suite without the internet. The
server holds dandisets in memory and answers, like api.dandiarchive.org/api:

  GET /api/dandisets/{id}/                                  dandiset (published + draft)
  GET /api/dandisets/{id}/versions/{v}/assets/?order=&page=&page_size=
                                                            paginated listing: count, next,
                                                            previous, results (asset_id,
                                                            blob, zarr, path, size, created,
                                                            modified)
  GET /api/dandisets/{id}/versions/{v}/assets/{asset_id}/   asset metadata (contentUrl)
  GET /api/assets/{asset_id}/                               asset metadata
  GET /api/assets/{asset_id}/download/                      302 to the blob's URL

Every request is logged (`requests`: list of paths with query) so tests can assert how
many calls a resolution cost and that no per-asset or download call was made.
"""

from __future__ import annotations

import json
import threading
import urllib.parse
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

HOST = "127.0.0.1"


@dataclass
class FakeAsset:
    path: str
    blob: str | None = None
    zarr: str | None = None
    size: int = 0
    asset_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    created: str = "2024-01-01T00:00:00.000000Z"
    modified: str = "2024-01-01T00:00:00.000000Z"

    def listing(self) -> dict[str, Any]:
        return {"asset_id": self.asset_id, "blob": self.blob, "zarr": self.zarr,
                "path": self.path, "size": self.size, "created": self.created,
                "modified": self.modified}


@dataclass
class FakeDandiset:
    identifier: str
    versions: dict[str, list[FakeAsset]]  # 'draft' and published versions
    published: list[str] = field(default_factory=list)  # oldest first


class FakeDandiAPI:
    """Threaded HTTP server answering DANDI's REST shapes; `page_size_cap` bounds pages
    (DANDI's default page is 100 and its maximum 1000) so pagination is exercised."""

    def __init__(self, bucket_http_url: str = "http://example.invalid/bucket", page_size_cap: int = 2):
        self.dandisets: dict[str, FakeDandiset] = {}
        self.bucket_http_url = bucket_http_url.rstrip("/")
        self.page_size_cap = page_size_cap
        self.requests: list[str] = []
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -----------------------------------------------------------------------------
    def start(self) -> FakeDandiAPI:
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def do_GET(self) -> None:  # noqa: N802
                with api._lock:
                    api.requests.append(self.path)
                status, body, headers = api._route(self.path)
                data = json.dumps(body).encode() if body is not None else b""
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

        self._httpd = ThreadingHTTPServer((HOST, 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            if self._thread is not None:
                self._thread.join(2)
            self._httpd = self._thread = None

    def __enter__(self) -> FakeDandiAPI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def api_url(self) -> str:
        assert self._httpd is not None
        return f"http://{HOST}:{self._httpd.server_address[1]}/api"

    # -- content -------------------------------------------------------------------------------
    def add_dandiset(self, identifier: str, assets: list[FakeAsset], *,
                     published: list[str] | None = None) -> FakeDandiset:
        """`published` versions all list the same assets as the draft (enough for tests)."""
        versions = {"draft": list(assets)}
        for v in published or []:
            versions[v] = list(assets)
        ds = FakeDandiset(identifier, versions, list(published or []))
        self.dandisets[identifier] = ds
        return ds

    # -- routing -------------------------------------------------------------------------------
    def _version_info(self, ds: FakeDandiset, version: str) -> dict[str, Any]:
        return {"version": version, "name": f"dandiset {ds.identifier}",
                "asset_count": len(ds.versions[version]), "size": 0,
                "status": "Valid" if version == "draft" else "Published",
                "created": "2024-01-01T00:00:00Z", "modified": "2024-01-01T00:00:00Z"}

    def _metadata(self, asset: FakeAsset) -> dict[str, Any]:
        urls = [f"{self.api_url}/assets/{asset.asset_id}/download/"]
        if asset.blob:
            b = asset.blob
            urls.append(f"{self.bucket_http_url}/blobs/{b[:3]}/{b[3:6]}/{b}")
        if asset.zarr:
            urls.append(f"{self.bucket_http_url}/zarr/{asset.zarr}/")
        return {"identifier": asset.asset_id, "path": asset.path, "contentUrl": urls,
                "contentSize": asset.size, "schemaKey": "Asset"}

    def _find_asset(self, asset_id: str) -> FakeAsset | None:
        for ds in self.dandisets.values():
            for assets in ds.versions.values():
                for a in assets:
                    if a.asset_id == asset_id:
                        return a
        return None

    def _route(self, raw_path: str) -> tuple[int, Any, dict[str, str]]:
        parsed = urllib.parse.urlsplit(raw_path)
        query = dict(urllib.parse.parse_qsl(parsed.query))
        parts = [p for p in parsed.path.split("/") if p]
        if not parts or parts[0] != "api":
            return 404, {"detail": "Not found."}, {}
        parts = parts[1:]
        if len(parts) >= 2 and parts[0] == "assets":
            asset = self._find_asset(parts[1])
            if asset is None:
                return 404, {"detail": "Not found."}, {}
            if len(parts) == 3 and parts[2] == "download":
                return 302, None, {"Location": self._metadata(asset)["contentUrl"][-1]}
            return 200, self._metadata(asset), {}
        if len(parts) < 2 or parts[0] != "dandisets" or parts[1] not in self.dandisets:
            return 404, {"detail": "Not found."}, {}
        ds = self.dandisets[parts[1]]
        if len(parts) == 2:
            latest = ds.published[-1] if ds.published else None
            return 200, {
                "identifier": ds.identifier, "created": "2024-01-01T00:00:00Z",
                "modified": "2024-01-01T00:00:00Z", "contact_person": "",
                "embargo_status": "OPEN",
                "most_recent_published_version": self._version_info(ds, latest) if latest else None,
                "draft_version": self._version_info(ds, "draft"),
            }, {}
        if len(parts) >= 5 and parts[2] == "versions" and parts[4] == "assets":
            version = parts[3]
            if version not in ds.versions:
                return 404, {"detail": "Not found."}, {}
            assets = ds.versions[version]
            if len(parts) == 6:
                match = [a for a in assets if a.asset_id == parts[5]]
                return (200, self._metadata(match[0]), {}) if match else (404, {"detail": "Not found."}, {})
            return 200, self._page(raw_path, assets, query), {}
        return 404, {"detail": "Not found."}, {}

    def _page(self, raw_path: str, assets: list[FakeAsset], query: dict[str, str]) -> dict[str, Any]:
        order = query.get("order", "path")
        key = order.lstrip("-")
        ordered = sorted(assets, key=lambda a: getattr(a, key if key != "path" else "path"),
                         reverse=order.startswith("-"))
        size = min(int(query.get("page_size", 100)), self.page_size_cap)
        page = int(query.get("page", 1))
        results = ordered[(page - 1) * size : page * size]
        base = f"{self.api_url.rsplit('/api', 1)[0]}{urllib.parse.urlsplit(raw_path).path}"

        def link(p: int) -> str:
            return f"{base}?{urllib.parse.urlencode({**query, 'page': p})}"

        return {
            "count": len(ordered),
            "next": link(page + 1) if page * size < len(ordered) else None,
            "previous": link(page - 1) if page > 1 else None,
            "results": [a.listing() for a in results],
        }
