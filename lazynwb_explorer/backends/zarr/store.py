"""A read-only zarr v2 store over a Reader (a local directory or an object-store prefix).

Metadata keys are read once and kept; chunks fetched ahead (ZarrBackend.prefetched) are
served from memory. hdmf-zarr's Pickle codec id is rewritten in the metadata to our
restricted unpickler's (codecs.SafePickle). Every key goes through the Reader, which refuses
a key that would leave the store.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from typing import Any

from zarr.storage import BaseStore

from ...errors import SourceError
from ...transport import LocalReader, Reader
from .codecs import SAFE_PICKLE_ID

METADATA_KEYS = (".zarray", ".zgroup", ".zattrs", ".zmetadata")


def _make_pickle_safe(raw: bytes) -> bytes:
    if b'"pickle"' not in raw:
        return raw
    return raw.replace(b'"id": "pickle"', f'"id": "{SAFE_PICKLE_ID}"'.encode()).replace(
        b'"id":"pickle"', f'"id":"{SAFE_PICKLE_ID}"'.encode()
    )


class ReaderStore(BaseStore):
    """A read-only zarr v2 store over a Reader (local directory or object-store prefix)."""

    _writeable = False
    _erasable = False

    def __init__(self, reader: Reader):
        self.reader = reader
        self._metadata: dict[str, bytes | None] = {}  # metadata keys are read once
        self.prefetched: dict[str, bytes] = {}  # chunks fetched ahead by ZarrBackend.prefetched

    def _fix(self, key: str, value: bytes) -> bytes:
        return _make_pickle_safe(value) if key.rsplit("/", 1)[-1] in METADATA_KEYS else value

    def __getitem__(self, key: str) -> bytes:
        if key in self.prefetched:
            return self.prefetched[key]
        is_metadata = key.rsplit("/", 1)[-1] in METADATA_KEYS
        if is_metadata and key in self._metadata:
            value = self._metadata[key]
        else:
            value = self.reader.get(key)
            if is_metadata:
                self._metadata[key] = value
        if value is None:
            raise KeyError(key)
        return self._fix(key, value)

    def getitems(self, keys: Sequence[str], *, contexts: Any = None) -> dict[str, bytes]:
        out = {k: self.prefetched[k] for k in keys if k in self.prefetched}
        found = self.reader.get_many([k for k in keys if k not in out])
        out.update({k: self._fix(k, v) for k, v in found.items() if v is not None})
        return out

    def __contains__(self, key: object) -> bool:
        try:
            self[key]  # type: ignore[index]
        except (KeyError, TypeError):
            return False
        return True

    def listdir(self, path: str = "") -> list[str]:
        if isinstance(self.reader, LocalReader):
            try:
                return sorted(os.listdir(self.reader.path / path))
            except OSError:
                return []
        raise SourceError(
            "remote Zarr store without consolidated metadata (.zmetadata) cannot be listed",
            source=self.reader.uri,
        )

    def __iter__(self) -> Iterator[str]:
        if not isinstance(self.reader, LocalReader):
            return iter(())
        root = self.reader.path
        return (
            os.path.relpath(os.path.join(d, f), root).replace(os.sep, "/")
            for d, _, files in os.walk(root)
            for f in files
        )

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __setitem__(self, key: str, value: Any) -> None:
        raise PermissionError("read-only store: lazynwb_explorer never writes to a source")

    def __delitem__(self, key: str) -> None:
        raise PermissionError("read-only store: lazynwb_explorer never writes to a source")
