"""The project's own error types: every failure names the file (and the internal path).

They subclass the builtin a caller would have caught from lazynwb (KeyError for a missing
table or column, OSError for an unreadable source), so code written against lazynwb keeps
working, while the message always says which file and which path.
"""

from __future__ import annotations

import re

_URL_SECRET = re.compile(
    r"(?i)((?:x-amz-(?:security-token|signature|credential)|signature|sig|token|access_token|"
    r"api_key|apikey|key|password|secret)=)[^&\s#]+"
)
_USERINFO = re.compile(r"(?i)(\b[a-z][a-z0-9+.-]*://)[^/@\s]+@")


def redact(text: str) -> str:
    """Remove credentials from URLs (query tokens, user:password@) before they reach a message."""
    text = _URL_SECRET.sub(r"\1***", str(text))
    return _USERINFO.sub(r"\1***@", text)


class LazyNWBError(Exception):
    """Base of every error this package raises on purpose."""

    def __init__(self, message: str, *, source: str | None = None, path: str | None = None):
        self.source = redact(source) if source is not None else None
        self.path = path
        where = []
        if self.source is not None:
            where.append(f"file {self.source!r}")
        if path is not None:
            where.append(f"path {path!r}")
        full = redact(message) + (f" ({', '.join(where)})" if where else "")
        super().__init__(full)
        self.message = full

    def __str__(self) -> str:  # KeyError would otherwise repr() the message
        return self.message


class SourceError(LazyNWBError, OSError):
    """The source cannot be opened or read: missing, unreachable, not NWB, truncated."""


class NotNWBError(SourceError):
    """The source is readable but is neither an HDF5 nor a Zarr NWB file."""


class TransportError(SourceError):
    """A remote read failed after retries (or with an error that is not worth retrying)."""


class InternalPathError(LazyNWBError, KeyError):
    """No such table / series / group inside the file."""


class ColumnError(LazyNWBError, KeyError):
    """A requested column does not exist in the table."""


class SchemaMismatchError(LazyNWBError, TypeError):
    """A column's type differs between files and cannot be unified."""


class MalformedFileError(LazyNWBError, ValueError):
    """The file's structure is inconsistent (bad shapes, indexes out of range, ...)."""
