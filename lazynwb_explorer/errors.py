"""The project's own error types: every failure names the file (and the internal path).

They subclass the builtin a caller would have caught from lazynwb (KeyError for a missing
table or column, OSError for an unreadable source), so code written against lazynwb keeps
working, while the message always says which file and which path.
"""

from __future__ import annotations

import logging
import os
import re
from typing import Any

_URL_SECRET = re.compile(
    r"(?i)((?:x-amz-(?:security-token|signature|credential)|signature|sig|token|access_token|"
    r"api_key|apikey|key|password|secret)=)[^&\s#'\"()<>\[\]{}]+"
)
_USERINFO = re.compile(r"(?i)(\b[a-z][a-z0-9+.-]*://)[^/@\s]+@")
# What object stores echo back in error bodies (S3's XML names the key id and the signature).
_XML_SECRET = re.compile(
    r"(?i)(<(AWSAccessKeyId|SignatureProvided|StringToSign(?:Bytes)?|CanonicalRequest(?:Bytes)?|"
    r"X-Amz-Security-Token|Token)>)[^<]*(</\2>)"
)
_SECRET_ENV = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
               "GOOGLE_SERVICE_ACCOUNT_KEY", "AZURE_STORAGE_ACCOUNT_KEY", "AZURE_STORAGE_SAS_KEY",
               "AZURE_STORAGE_TOKEN")
_SECRET_WORDS = ("secret", "token", "password", "key", "session", "credential", "sas", "signature")
_MIN_SECRET = 4  # shorter values would mask ordinary words
_remembered: set[str] = set()  # secrets of options given with a source (a UPath's)


def _secrets_in(options: Any) -> list[str]:
    """The values of secret-named entries of `options`, at any depth."""
    if not isinstance(options, dict):
        return []
    values: list[str] = []
    for name, value in options.items():
        if isinstance(value, dict):
            values += _secrets_in(value)
        elif isinstance(value, str) and any(w in str(name).lower() for w in _SECRET_WORDS):
            values.append(value)
    return values


def remember_secrets(options: Any) -> None:
    """Mask the secrets of `options` from now on: storage options that came with a source
    (a UPath's own), which config does not hold."""
    _remembered.update(v for v in _secrets_in(options) if len(v) >= _MIN_SECRET)


def _known_secrets() -> list[str]:
    """Credential values the user configured (storage options, the environment): wherever
    they show up - a library's error text, a URL - they are masked by value."""
    from .config import config  # config imports nothing from here; late to keep it so

    values = _secrets_in(config.fsspec_storage_options) + _secrets_in(config.storage_options)
    values += [os.environ.get(name, "") for name in _SECRET_ENV]
    values += _remembered
    return sorted({v for v in values if len(v) >= _MIN_SECRET}, key=len, reverse=True)


def redact(text: str) -> str:
    """Remove credentials before text reaches a message, a log or a view: URL query tokens,
    user:password@, secrets echoed in object-store error bodies, and any configured
    credential value."""
    text = _URL_SECRET.sub(r"\1***", str(text))
    text = _USERINFO.sub(r"\1***@", text)
    text = _XML_SECRET.sub(r"\1***\3", text)
    for secret in _known_secrets():
        text = text.replace(secret, "***")
    return text


class _RedactingFilter(logging.Filter):
    """Masks credentials in a record's final text, whatever a log call put in it."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = redact(record.getMessage()), ()
        return True


_REDACTING_FILTER = _RedactingFilter()


def get_logger(name: str) -> logging.Logger:
    """The module's logger, with every record's text redacted before any handler sees it
    (a filter on a logger covers only that logger's own records, so each module takes its
    logger from here)."""
    logger = logging.getLogger(name)
    if _REDACTING_FILTER not in logger.filters:
        logger.addFilter(_REDACTING_FILTER)
    return logger


class RedactedError(Exception):
    """Stands in, as the cause of one of our errors, for a library exception whose message
    held a credential (the original is dropped so no traceback can print it)."""


def safe_cause(exc: BaseException) -> BaseException:
    """`exc` itself when no text in its chain holds a credential, else a RedactedError with
    its text redacted (same traceback, so where it happened is still shown)."""
    if _chain_is_clean(exc):
        return exc
    return RedactedError(f"{type(exc).__name__}: {redact(str(exc))}").with_traceback(
        exc.__traceback__
    )


def _chain_is_clean(exc: BaseException) -> bool:
    seen: set[int] = set()
    link: BaseException | None = exc
    while link is not None and id(link) not in seen:
        seen.add(id(link))
        if redact(str(link)) != str(link):
            return False
        link = link.__cause__ or link.__context__
    return True


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
        self.detail = redact(message)  # the message without the file and path
        full = self.detail + (f" ({', '.join(where)})" if where else "")
        super().__init__(full)
        self.message = full

    def __str__(self) -> str:  # KeyError would otherwise repr() the message
        return self.message


class SourceError(LazyNWBError, OSError):
    """The source cannot be opened or read: missing, unreachable, not NWB, truncated."""


class NotFoundError(SourceError):
    """The server has no object at that URL (404), or refuses to say (401, 403)."""


class SourceChangedError(SourceError):
    """The remote object is not the one first read (or the one a catalog describes)."""


class NotNWBError(SourceError):
    """The source is readable but is neither an HDF5 nor a Zarr NWB file."""


class UnsupportedFileError(NotNWBError):
    """An NWB file of a kind this reader does not read (NWB 1.x)."""


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


class OutsideSourceError(LazyNWBError, PermissionError):
    """Reading this object would read outside the file: its values are stored in another
    file (HDF5 external raw storage), mapped from other files (a virtual dataset), or it is
    a link into another file. Refused for every remote file; for local files unless
    `config.follow_external_paths` is set."""


class ReadTooLargeError(LazyNWBError, MemoryError):
    """One read would hold more than `config.max_read_bytes` in memory (a hostile shape, or
    a read better done in parts)."""
def with_path(exc: LazyNWBError, path: str) -> LazyNWBError:
    """The same error naming the internal path the caller asked for (when it names none)."""
    if exc.path is not None:
        return exc
    return type(exc)(exc.detail, source=exc.source, path=path)
