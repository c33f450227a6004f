"""A Zarr store's keys over our transport: read-only, every key checked to stay below the
store's root, metadata documents parsed as bounded JSON.

`probe` is the first look at a store: its root keys (zarr.json, .zmetadata, .zgroup,
.zattrs) in one concurrent round. A v3 store with consolidated metadata, or a v2 store
with .zmetadata, needs nothing more to know its whole tree.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from ...errors import MalformedFileError
from ...transport import KeyRange, LocalReader, Reader, UnsafeKeyError, check_key

ROOT_KEYS = ("zarr.json", ".zmetadata", ".zgroup", ".zattrs")


def join(prefix: str, name: str) -> str:
    """`prefix/name` (or `name` at the root)."""
    return f"{prefix}/{name}" if prefix else name


def parse_json(raw: bytes, what: str) -> Any:
    """A metadata document; NaN / Infinity literals (as Python writes them) are accepted.
    Nesting too deep for the parser is an error of the file, never a RecursionError."""
    try:
        return json.loads(raw)
    except RecursionError:
        raise ValueError(f"{what} nests too deeply") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"{what} is not JSON: {exc}") from None


class ZarrStore:
    """The keys of one Zarr store (a local directory or an object-store prefix)."""

    def __init__(self, reader: Reader, label: str):
        self.reader = reader
        self.label = label

    @property
    def is_local(self) -> bool:
        return isinstance(self.reader, LocalReader)

    def _checked(self, key: str) -> str:
        try:
            return check_key(key)
        except UnsafeKeyError as exc:
            raise MalformedFileError(str(exc), source=self.label) from None

    def documents(self, keys: Sequence[str]) -> dict[str, Any]:
        """The JSON documents at `keys`, in one round: absent keys are left out."""
        found = self.reader.get_many([self._checked(k) for k in keys])
        out = {}
        for key, raw in found.items():
            if raw is None:
                continue
            try:
                out[key] = parse_json(raw, key)
            except ValueError as exc:
                raise MalformedFileError(str(exc), source=self.label, path="/" + key) from None
        return out

    def fetch(self, requests: Sequence[KeyRange]) -> list[bytes | None]:
        """Whole objects (end None from 0) or parts of them, in one concurrent round."""
        return self.reader.get_ranges([(self._checked(k), a, b) for k, a, b in requests])

    def list_dir(self, prefix: str) -> tuple[list[str], list[str]] | None:
        """(objects, sub-prefixes) below `prefix`; None where the store cannot list."""
        return self.reader.list_dir(self._checked(prefix) if prefix else "")


def probe(reader: Reader) -> dict[str, bytes]:
    """The store's root keys that exist (one concurrent round)."""
    found = reader.get_many(list(ROOT_KEYS))
    return {k: v for k, v in found.items() if v is not None}
