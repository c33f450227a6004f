"""`tables`, `schema` and `preview`: the SQL-ready tables of the sources, one table's columns
and types, and its first rows.

Tables are what `get_sql_context(full_path=True, exclude_timeseries=False,
rename_general_metadata=True)` registers (lazynwb's CLI settings): every DynamicTable and
time series by internal path, `/general` as `session`, `/general/subject` by its path. The
session and subject tables are one row per file of typed fields, read through that SQL
context; other tables through `scan_nwb` (only the rows shown are read).
"""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Iterator, Sequence
from typing import Any, TextIO

import polars as pl

import lazynwb_explorer as lazynwb
from lazynwb_explorer.errors import InternalPathError, LazyNWBError

from .failures import CLIError, ErrorCode, describe
from .output import frame_rows, write_json, write_rows_table, write_table
from .source_commands import resolved_uris, sources_for

DEFAULT_PREVIEW_LIMIT = 5
MAX_PREVIEW_LIMIT = 50
# Tables of one row per file that the SQL context builds from metadata fields (not a
# DynamicTable on disk): internal path -> registered name.
METADATA_TABLES = {"general": "session", "general/subject": "general/subject"}


def sql_settings(infer_schema_length: int | None) -> dict[str, Any]:
    """The get_sql_context arguments the commands use (lazynwb's `sql` object)."""
    return {"disable_progress": True, "eager": False, "exclude_timeseries": False,
            "full_path": True, "infer_schema_length": infer_schema_length,
            "rename_general_metadata": True}


def sql_context(uris: Sequence[str], infer_schema_length: int | None, show_progress: bool,
                table_names: Sequence[str] | None = None) -> pl.SQLContext:
    return lazynwb.get_sql_context(
        list(uris), full_path=True, exclude_timeseries=False, rename_general_metadata=True,
        disable_progress=not show_progress, infer_schema_length=infer_schema_length,
        table_names=table_names, eager=False,
    )


def list_tables(uris: Sequence[str], infer_schema_length: int | None, show_progress: bool) -> list[str]:
    with reading():
        return sorted(str(t) for t in sql_context(uris, infer_schema_length, show_progress).tables())


@contextlib.contextmanager
def reading(not_found: CLIError | None = None) -> Iterator[None]:
    """Turn the reader's errors into the command's: a missing table into `not_found`, any
    other LazyNWBError (unreadable, not NWB, malformed) into source_unreadable."""
    try:
        yield
    except InternalPathError as exc:
        if not_found is None:
            raise _unreadable(exc) from exc
        not_found.reason = describe(exc)
        raise not_found from exc
    except LazyNWBError as exc:
        raise _unreadable(exc) from exc


def _unreadable(exc: LazyNWBError) -> CLIError:
    return CLIError(code=ErrorCode.SOURCE_UNREADABLE, message="An NWB source could not be read.",
                    details={"error_message": describe(exc), "error_type": type(exc).__name__},
                    reason=describe(exc))


def require_table(uris: Sequence[str], table_path: str) -> None:
    """The table exists at exactly this path (after lazynwb's shortcuts: units, trials, ...)
    in some source, as lazynwb's CLI requires: the reader's own lookup would also take a
    partial or close name, and a typo must not answer with another table. The files are
    asked in order until one has it (usually the first, whose catalog the read opens anyway)."""
    wanted = "/" + table_path.strip("/")
    for uri in uris:
        if wanted in lazynwb.get_internal_paths(uri, include_metadata=True):
            return
    raise InternalPathError(f"no table {wanted!r} in any of the {len(uris)} source(s)")


def _metadata_frame(uris: Sequence[str], table_path: str, infer_schema_length: int | None,
                    show_progress: bool) -> pl.LazyFrame:
    name = METADATA_TABLES[table_path]
    try:
        context = sql_context(uris, infer_schema_length, show_progress, table_names=[name])
    except ValueError as exc:  # no file has it
        raise InternalPathError(f"no {table_path!r} in any source ({describe(exc)})") from exc
    return context.execute(f'SELECT * FROM "{name}"', eager=False)


def handle_tables(args: argparse.Namespace, stdout: TextIO) -> int:
    _, source, paths = sources_for(args)
    settings = sql_settings(args.infer_schema_length)
    tables = list_tables(resolved_uris(paths), args.infer_schema_length, args.show_progress)
    if not tables:
        raise CLIError(code=ErrorCode.TABLES_NOT_FOUND,
                       details={"resolved_count": len(paths), "source": source.to_json(paths),
                                "sql": settings},
                       message="No SQL-ready NWB tables were found for the resolved sources.")
    if args.output_format == "table":
        write_table(stdout, ("name", "path"), [(t, t) for t in tables])
    else:
        write_json(stdout, {"command": "tables", "resolved_count": len(paths),
                            "source": source.to_json(paths), "sql": settings,
                            "table_count": len(tables),
                            "tables": [{"name": t, "path": t} for t in tables]})
    return 0


def handle_schema(args: argparse.Namespace, stdout: TextIO) -> int:
    _, source, paths = sources_for(args)
    uris = resolved_uris(paths)
    table_path = lazynwb.normalize_internal_file_path(args.table)
    not_found = CLIError(
        code=ErrorCode.SCHEMA_NOT_FOUND,
        details={"infer_schema_length": args.infer_schema_length, "requested_table": args.table,
                 "resolved_count": len(paths), "resolved_table_path": table_path,
                 "source": source.to_json(paths)},
        message="No NWB table schema was found for the resolved sources.")
    with reading(not_found):
        if table_path in METADATA_TABLES:
            schema = _metadata_frame(uris, table_path, args.infer_schema_length,
                                     args.show_progress).collect_schema()
        else:
            require_table(uris, table_path)
            schema = lazynwb.get_table_schema(
                list(uris), table_path, first_n_files_to_infer_schema=args.infer_schema_length,
                exclude_array_columns=False, exclude_internal_columns=False, raise_on_missing=False)
    columns: list[dict[str, Any]] = [{"dtype": str(dtype), "internal": name in lazynwb.INTERNAL_COLUMN_NAMES, "name": name}
               for name, dtype in schema.items()]
    if args.output_format == "table":
        write_table(stdout, ("name", "dtype", "internal"),
                    [(c["name"], c["dtype"], str(c["internal"]).lower()) for c in columns])
    else:
        write_json(stdout, {"column_count": len(columns), "columns": columns, "command": "schema",
                            "infer_schema_length": args.infer_schema_length,
                            "requested_table": args.table, "resolved_count": len(paths),
                            "resolved_table_path": table_path, "source": source.to_json(paths)})
    return 0


def preview_limit(requested: int | str | None) -> int:
    """--limit for preview: 5 by default, a positive integer up to 50."""
    try:
        limit = DEFAULT_PREVIEW_LIMIT if requested is None else int(requested)
        if limit <= 0:
            raise ValueError(limit)
    except ValueError as exc:
        raise CLIError(code=ErrorCode.PREVIEW_LIMIT_INVALID,
                       details={"default_limit": DEFAULT_PREVIEW_LIMIT,
                                "max_limit": MAX_PREVIEW_LIMIT, "requested_limit": requested},
                       message="Preview row limit must be a positive integer.") from exc
    if limit > MAX_PREVIEW_LIMIT:
        raise CLIError(code=ErrorCode.PREVIEW_LIMIT_EXCEEDED,
                       details={"max_limit": MAX_PREVIEW_LIMIT, "requested_limit": requested},
                       message="Preview row limit exceeds the supported maximum; "
                               f"use --limit <= {MAX_PREVIEW_LIMIT}.")
    return limit


def handle_preview(args: argparse.Namespace, stdout: TextIO) -> int:
    limit = preview_limit(args.limit)
    _, source, paths = sources_for(args)
    uris = resolved_uris(paths)
    table_path = lazynwb.normalize_internal_file_path(args.table)
    not_found = CLIError(
        code=ErrorCode.PREVIEW_NOT_FOUND,
        details={"limit": limit, "requested_table": args.table, "resolved_count": len(paths),
                 "resolved_table_path": table_path, "source": source.to_json(paths)},
        message="No NWB table was found for the resolved sources.")
    with reading(not_found):
        if table_path in METADATA_TABLES:
            frame = _metadata_frame(uris, table_path, None, args.show_progress)
        else:
            require_table(uris, table_path)
            frame = lazynwb.scan_nwb(list(uris), table_path, raise_on_missing=False,
                                     disable_progress=not args.show_progress)
        result = frame.head(limit).collect()
    rows = frame_rows(result)
    columns = [str(c) for c in result.columns]
    if args.output_format == "table":
        write_rows_table(stdout, columns, rows)
    else:
        write_json(stdout, {"columns": columns, "command": "preview", "limit": limit,
                            "max_limit": MAX_PREVIEW_LIMIT, "requested_table": args.table,
                            "resolved_count": len(paths), "resolved_table_path": table_path,
                            "row_count": len(rows), "rows": list(rows),
                            "source": source.to_json(paths)})
    return 0

