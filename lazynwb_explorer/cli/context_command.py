"""`context`: what an analysis (or a coding assistant) needs to start on these sources - the
files, the SQL tables, the next commands to run and Python that reproduces the reads - as
JSON or as text. The commands and snippets name this package (`lazynwb-explorer`,
`import lazynwb_explorer as lazynwb`); otherwise the content is lazynwb 1.0's.
"""

from __future__ import annotations

import argparse
import json
import shlex
from collections.abc import Sequence
from typing import Any, TextIO

from .output import write_json
from .source_commands import resolved_uris, sources_for
from .table_commands import list_tables, sql_settings

PROG = "lazynwb-explorer"
NOTES = (
    "JSON is written to stdout; debug logs, when enabled with --debug, are written to stderr.",
    "Use the listed SQL table names exactly as shown when running schema, preview, or query.",
    "This context is NWB-specific.",
)
NO_TABLES_NOTE = "No SQL tables were discovered; verify the resolved source list before querying."


def _python_snippets(uris: Sequence[str], table: str, infer: int | None) -> list[str]:
    sources = json.dumps(list(uris), indent=4)
    infer_line = [f"    infer_schema_length={infer},"] if infer is not None else []
    scan = ["import lazynwb_explorer as lazynwb", "", f"sources = {sources}", "",
            "lazyframe = lazynwb.scan_nwb(", "    sources,", f"    {json.dumps(table)},",
            "    disable_progress=True,", *infer_line, ")"]
    sql = ["import lazynwb_explorer as lazynwb", "", f"sources = {sources}", "",
           "sql_context = lazynwb.get_sql_context(", "    sources,", "    full_path=True,",
           "    exclude_timeseries=False,", "    rename_general_metadata=True,",
           "    disable_progress=True,", "    eager=False,", *infer_line, ")"]
    return ["\n".join(scan), "\n".join(sql)]


def _workflow(uris: Sequence[str], table: str, infer: int | None) -> list[str]:
    infer_args = ["--infer-schema-length", str(infer)] if infer is not None else []
    query = 'SELECT * FROM "{}" LIMIT 5'.format(table.replace('"', '""'))

    def command(*parts: str) -> str:
        return " ".join(shlex.quote(p) for p in (PROG, *parts))

    return [
        command("paths", *uris),
        command("tables", *infer_args, *uris),
        command("schema", *infer_args, table, *uris),
        command("preview", "--limit", "5", table, *uris),
        command("query", *infer_args, query, *uris),
    ]


def handle_context(args: argparse.Namespace, stdout: TextIO) -> int:
    config, source, paths = sources_for(args)
    uris = resolved_uris(paths)
    infer = args.infer_schema_length
    tables = list_tables(uris, infer, args.show_progress) if uris else []
    first = tables[0] if tables else "<table>"
    payload: dict[str, Any] = {
        "command": "context",
        "config": config.to_json(),
        "notes": [*NOTES, *([] if tables else [NO_TABLES_NOTE])],
        "python_snippets": _python_snippets(uris, first, infer),
        "recommended_workflow": _workflow(uris, first, infer),
        "resolved_count": len(paths),
        "source": source.to_json(paths),
        "sql": sql_settings(infer),
        "table_count": len(tables),
        "tables": [{"name": t, "path": t} for t in tables],
    }
    if args.output_format == "text":
        _write_text(stdout, payload)
    else:
        write_json(stdout, payload)
    return 0


def _write_text(stream: TextIO, context: dict[str, Any]) -> None:
    source, config = context["source"], context["config"]
    found = "found" if config["exists"] else "not found"
    lines = [f"{PROG} context", "", "Source", f"  kind: {source['kind']}",
             f"  precedence: {source['precedence']}", f"  resolved_count: {source['resolved_count']}",
             f"  config: {config['path']} ({found}, version {config['version']})"]
    for key in ("local", "dandi"):
        if source.get(key) is not None:
            lines.append(f"  {key}: {json.dumps(source[key], sort_keys=True)}")
    lines.append("  paths:")
    lines += [f"  - {p['resolved']}" for p in source["paths"]] or ["  - none"]
    lines += ["", "SQL tables", f"  table_count: {context['table_count']}"]
    lines += [f"  - {t['name']}" for t in context["tables"]]
    lines += ["", "SQL defaults"]
    lines += [f"  {k}: {json.dumps(v, sort_keys=True)}" for k, v in sorted(context["sql"].items())]
    lines += ["", "Next CLI commands"] + [f"  $ {c}" for c in context["recommended_workflow"]]
    lines += ["", "Python snippets"]
    for index, snippet in enumerate(context["python_snippets"], start=1):
        lines.append(f"  [{index}]")
        lines += [f"    {line}" for line in snippet.splitlines()]
    lines += ["", "Notes"] + [f"  - {note}" for note in context["notes"]]
    stream.write("\n".join(lines) + "\n")
