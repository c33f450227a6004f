"""`query`: one SQL statement over every table of the sources, with a row cap.

At most --limit rows (100 by default) are returned. One row more is collected to tell
whether the answer was larger: without --allow-large that is an error (the caller asked for
a bounded answer and would silently get a cut one), with it the answer is cut and says so
(`truncated`). A --limit above 100 needs --allow-large. Polars plans the statement over
lazy scans, so only the columns and rows it needs are read.
"""

from __future__ import annotations

import argparse
from typing import TextIO

from lazynwb_explorer.errors import redact

from .failures import CLIError, ErrorCode, describe
from .output import frame_rows, write_json, write_jsonl, write_rows_table
from .source_commands import resolved_uris, sources_for
from .table_commands import sql_context, sql_settings

DEFAULT_QUERY_LIMIT = 100


def query_limit(requested: int | str | None, allow_large: bool) -> int:
    details = {"allow_large": allow_large, "default_limit": DEFAULT_QUERY_LIMIT,
               "requested_limit": requested}
    try:
        limit = DEFAULT_QUERY_LIMIT if requested is None else int(requested)
        if limit <= 0:
            raise ValueError(limit)
    except ValueError as exc:
        raise CLIError(code=ErrorCode.QUERY_LIMIT_INVALID, details=details,
                       message="Query row limit must be a positive integer.") from exc
    if limit > DEFAULT_QUERY_LIMIT and not allow_large:
        raise CLIError(code=ErrorCode.QUERY_LIMIT_EXCEEDED, details=details,
                       message="Query row limit exceeds the default cap; use --allow-large "
                               "to request more rows.")
    return limit


def handle_query(args: argparse.Namespace, stdout: TextIO) -> int:
    limit = query_limit(args.limit, args.allow_large)
    _, source, paths = sources_for(args)
    settings = sql_settings(args.infer_schema_length)
    common = {"query": args.query, "resolved_count": len(paths), "source": source.to_json(paths),
              "sql": settings}
    try:
        context = sql_context(resolved_uris(paths), args.infer_schema_length, args.show_progress)
        frame = context.execute(args.query, eager=False).head(limit + 1).collect()
    except Exception as exc:  # bad SQL, unknown table or column, unreadable file: all the query's
        raise CLIError(code=ErrorCode.QUERY_FAILED, message="SQL query failed.",
                       details={**common, "error_message": redact(str(exc)), "error_type": type(exc).__name__},
                       reason=describe(exc)) from exc
    observed = frame.height
    if observed > limit and not args.allow_large:
        raise CLIError(code=ErrorCode.QUERY_ROW_CAP_EXCEEDED,
                       details={**common, "allow_large": args.allow_large, "cap": limit,
                                "limit": limit, "observed_count": observed},
                       message="SQL query returned more rows than the configured row cap; use "
                               "--allow-large with an explicit --limit to return more rows.")
    truncated = observed > limit
    rows = frame_rows(frame.head(limit))
    columns = [str(c) for c in frame.columns]
    if args.output_format == "table":
        write_rows_table(stdout, columns, rows)
    elif args.output_format == "jsonl":
        write_jsonl(stdout, rows)
    else:
        write_json(stdout, {**common, "allow_large": args.allow_large, "columns": columns,
                            "command": "query", "limit": limit, "observed_count": observed,
                            "row_count": len(rows), "rows": list(rows), "truncated": truncated})
    return 0
