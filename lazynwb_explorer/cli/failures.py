"""What can go wrong on the command line, as lazynwb 1.0's CLI reports it.

Every failure is one JSON object on stdout (`{"error": {"code", "message", "details"}}`, the
codes and exit statuses of lazynwb's CLI, so scripts that parse its errors keep working) and
one line on stderr for the person at the terminal: the message and, when a library said more
(which file, which table, which column), what it said.
"""

from __future__ import annotations

import enum
from typing import Any

from lazynwb_explorer.errors import redact


class ExitCode(enum.IntEnum):
    """lazynwb's exit statuses."""

    OK = 0
    INTERNAL_ERROR = 1
    USAGE_ERROR = 2
    VALIDATION_ERROR = 3


class ErrorCode(str, enum.Enum):
    """lazynwb's error codes, plus SOURCE_UNREADABLE and SOURCE_DANDI_UNAVAILABLE (ours: a
    source that exists but cannot be read, and a DANDI API that cannot be asked, which
    lazynwb reports as internal errors)."""

    CONFIG_ALREADY_EXISTS = "config_already_exists"
    CONFIG_INVALID = "config_invalid"
    CONFIG_NOT_FOUND = "config_not_found"
    CONFIG_PARSE_ERROR = "config_parse_error"
    INTERNAL_ERROR = "internal_error"
    PREVIEW_LIMIT_EXCEEDED = "preview_limit_exceeded"
    PREVIEW_LIMIT_INVALID = "preview_limit_invalid"
    PREVIEW_NOT_FOUND = "preview_not_found"
    QUERY_FAILED = "query_failed"
    QUERY_LIMIT_EXCEEDED = "query_limit_exceeded"
    QUERY_LIMIT_INVALID = "query_limit_invalid"
    QUERY_ROW_CAP_EXCEEDED = "query_row_cap_exceeded"
    SOURCE_CONFIG_CONFLICT = "source_config_conflict"
    SOURCE_CONFIG_INCOMPLETE = "source_config_incomplete"
    SOURCE_DANDI_NO_ASSETS = "source_dandi_no_assets"
    SOURCE_DANDI_UNAVAILABLE = "source_dandi_unavailable"
    SOURCE_DANDI_URL_UNAVAILABLE = "source_dandi_url_unavailable"
    SOURCE_NOT_CONFIGURED = "source_not_configured"
    SOURCE_PATHS_UNAVAILABLE = "source_paths_unavailable"
    SOURCE_PATH_NOT_FOUND = "source_path_not_found"
    SOURCE_ROOT_NOT_FOUND = "source_root_not_found"
    SOURCE_UNREADABLE = "source_unreadable"
    SCHEMA_NOT_FOUND = "schema_not_found"
    TABLES_NOT_FOUND = "tables_not_found"
    USAGE_ERROR = "usage_error"


class CLIError(Exception):
    """A failure the command reports and exits on (never a traceback, unless --debug).

    `reason` is what the underlying library said (redacted); it goes to the stderr line, the
    JSON keeps lazynwb's `details`.
    """

    def __init__(
        self,
        *,
        code: ErrorCode,
        message: str,
        exit_code: ExitCode = ExitCode.VALIDATION_ERROR,
        details: dict[str, Any] | None = None,
        reason: str | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.exit_code = exit_code
        self.details = details or {}
        self.reason = redact(reason) if reason else None

    def to_json(self) -> dict[str, Any]:
        """lazynwb's error object (with any credential in it masked: an error may be logged
        or pasted where the URL's token must not go)."""
        return {"error": {"code": self.code.value, "details": _redacted(self.details),
                          "message": self.message}}

    def one_line(self) -> str:
        """The message and the reason on one line (newlines inside folded)."""
        text = self.message if not self.reason else f"{self.message.rstrip('.')}: {self.reason}"
        return " ".join(text.split())


def _redacted(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: _redacted(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_redacted(v) for v in value]
    return value


def describe(exc: BaseException) -> str:
    """What an exception says, redacted, on one line: its first paragraph (polars appends
    the query plan after a blank line), KeyError's argument without repr quotes."""
    text = str(exc.args[0]) if type(exc) is KeyError and len(exc.args) == 1 else str(exc)
    first = text.strip().split("\n\n")[0]
    return " ".join(redact(first).split()) or type(exc).__name__
