"""`lazynwb-explorer`: lazynwb 1.0's command line (paths, tables, context, schema, preview,
query, config init|show: the same options, defaults, limits, exit codes and JSON), plus
`tree` and `open`.

stdout carries only what a script parses (JSON, JSON lines, tables, the tree, a URL);
everything for the person at the terminal goes to stderr: progress bars (on when stderr is a
terminal; --progress / --no-progress), warnings and, on failure, one line saying what was
wrong (the JSON error object still goes to stdout, as lazynwb writes it). Exit codes: 0 ok,
1 unexpected, 2 usage, 3 validation (a missing file, an unknown table, a failed query, ...).
--debug adds debug logs and the traceback of a failure on stderr.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import sys
import traceback
import warnings
from collections.abc import Callable, Sequence
from typing import Any, NoReturn, TextIO

from lazynwb_explorer.errors import redact

from .failures import CLIError, ErrorCode, ExitCode, describe
from .output import write_json

PROG = "lazynwb-explorer"
LAZYNWB_COMMANDS = ("paths", "tables", "context", "schema", "preview", "query", "config")
COMMANDS = (*LAZYNWB_COMMANDS, "tree", "open")
_CHOICES = re.compile(r"(\(choose from )(.+)(\))$")


class _Parser(argparse.ArgumentParser):
    """Usage errors as lazynwb reports them: a JSON error with the usage and a hint."""

    valid_commands: Sequence[str] = ()

    def error(self, message: str) -> NoReturn:
        help_command = f"{self.prog} --help"
        details: dict[str, Any] = {
            "help_command": help_command,
            "recovery_hint": (f"Run {help_command} to choose a command." if self.valid_commands
                              else f"Run {help_command} to inspect valid options."),
            "usage": self.format_usage().strip(),
        }
        if self.valid_commands:
            details["valid_commands"] = list(self.valid_commands)
        raise CLIError(code=ErrorCode.USAGE_ERROR, exit_code=ExitCode.USAGE_ERROR,
                       details=details, message=_quote_choices(message))


def _quote_choices(message: str) -> str:
    """`(choose from 'a', 'b')` whichever way this Python's argparse quotes them."""
    match = _CHOICES.search(message)
    if match is None:
        return message
    choices = [c.strip() for c in match.group(2).split(",")]
    quoted = ", ".join(c if len(c) >= 2 and c[0] == c[-1] and c[0] in "'\"" else repr(c)
                       for c in choices)
    return message[: match.start(2)] + quoted + message[match.end(2):]


def _positive_int(value: str) -> int:
    try:
        parsed = int(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError("must be a positive integer") from exc
    if parsed <= 0:
        raise argparse.ArgumentTypeError("must be a positive integer")
    return parsed


def _int_or_text(value: str) -> int | str:
    """--limit: kept as given when not an integer, so the command reports it (lazynwb does)."""
    try:
        return int(value)
    except ValueError:
        return value


def _add_config(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", default=None,
                        help="a lazynwb TOML config; default: lazynwb.toml here or in a parent")


def _add_sources(parser: argparse.ArgumentParser, *, paths_option: bool = False,
                 paths_positional: bool = True) -> None:
    if paths_option:
        parser.add_argument("--path", action="append", default=None, dest="source_paths",
                            help="an NWB file, store or URL; repeatable")
    parser.add_argument("--root", default=None, dest="local_root", help="local directory to search")
    parser.add_argument("--glob", default=None, dest="local_glob",
                        help="glob under --root (default **/*.nwb)")
    parser.add_argument("--dandiset-id", default=None, dest="dandi_dandiset_id",
                        help="DANDI dandiset, e.g. 000363")
    parser.add_argument("--dandi-version", default=None, dest="dandi_version",
                        help="dandiset version (default: the most recent published)")
    parser.add_argument("--dandi-path-pattern", default=None, dest="dandi_path_pattern",
                        help="fnmatch pattern on the asset paths, e.g. 'sub-*/*.nwb'")
    parser.add_argument("--anonymous-s3", action=argparse.BooleanOptionalAction, default=None,
                        dest="dandi_anonymous_s3", help="unsigned S3 requests for DANDI assets")


def _add_format(parser: argparse.ArgumentParser, choices: tuple[str, ...], default: str | None) -> None:
    parser.add_argument("--format", choices=choices, default=default, dest="output_format",
                        help=f"output format (default: {default or 'the config, else json'})")


def _add_infer(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--infer-schema-length", default=None, type=_positive_int,
                        help="discover tables and infer types from the first N sources only")


def _command(subparsers: Any, name: str, handler: str, help_text: str) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(name, help=help_text, description=help_text)
    parser.set_defaults(handler=handler)
    # also after the command; SUPPRESS keeps a value given before it
    parser.add_argument("--progress", action=argparse.BooleanOptionalAction, default=argparse.SUPPRESS,
                        help="progress bars on stderr (default: when stderr is a terminal)")
    return parser


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description="Inspect NWB sources from the shell: lazynwb 1.0's "
                     "commands (machine-readable output on stdout), a file's tree, the Explorer.")
    parser.valid_commands = COMMANDS
    parser.add_argument("--debug", action="store_true", help="debug logs and tracebacks on stderr")
    parser.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                        help="progress bars on stderr (default: when stderr is a terminal)")
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", required=True)

    paths = _command(sub, "paths", "source_commands:handle_paths", "list the active NWB sources")
    _add_config(paths)
    _add_format(paths, ("json", "table"), None)
    _add_sources(paths)
    paths.add_argument("paths", metavar="PATH", nargs="*", help="an NWB file, store or URL")

    tables = _command(sub, "tables", "table_commands:handle_tables", "list the SQL-ready tables")
    context = _command(sub, "context", "context_command:handle_context",
                       "sources, tables, next commands and Python for an analysis handoff")
    for each, formats in ((tables, ("json", "table")), (context, ("json", "text"))):
        _add_config(each)
        _add_format(each, formats, "json")
        _add_infer(each)
        _add_sources(each)
        each.add_argument("paths", metavar="PATH", nargs="*", help="an NWB file, store or URL")

    schema = _command(sub, "schema", "table_commands:handle_schema", "one table's columns and types")
    _add_config(schema)
    _add_format(schema, ("json", "table"), "json")
    _add_infer(schema)
    _add_sources(schema)
    preview = _command(sub, "preview", "table_commands:handle_preview", "a table's first rows")
    _add_config(preview)
    _add_format(preview, ("json", "table"), "json")
    preview.add_argument("--limit", default=None, type=_int_or_text, help="rows (default 5, at most 50)")
    _add_sources(preview)
    for each in (schema, preview):
        each.add_argument("table", metavar="TABLE", help="internal path or SQL name, e.g. units")
        each.add_argument("paths", metavar="PATH", nargs="*", help="an NWB file, store or URL")

    query = _command(sub, "query", "query_command:handle_query", "one SQL query, row-capped")
    _add_config(query)
    _add_format(query, ("json", "jsonl", "table"), "json")
    query.add_argument("--limit", default=None, type=_int_or_text,
                       help="rows (default 100; more needs --allow-large)")
    query.add_argument("--allow-large", "--no-row-cap", action="store_true", dest="allow_large",
                       help="allow --limit above 100 and cut (not refuse) larger answers")
    _add_infer(query)
    _add_sources(query)
    query.add_argument("query", metavar="SQL", help='e.g. \'SELECT * FROM "units" LIMIT 5\'')
    query.add_argument("paths", metavar="PATH", nargs="*", help="an NWB file, store or URL")

    config = sub.add_parser("config", help="write or show the project's lazynwb.toml")
    config_sub = config.add_subparsers(dest="config_command", required=True)
    init = _command(config_sub, "init", "source_commands:handle_config_init",
                    "write a commented lazynwb.toml")
    _add_config(init)
    init.add_argument("--force", action="store_true", help="overwrite an existing file")
    show = _command(config_sub, "show", "source_commands:handle_config_show",
                    "the config and the source it selects, as JSON")
    _add_config(show)
    _add_sources(show, paths_option=True)

    tree = _command(sub, "tree", "tree_command:handle_tree",
                    "the internal-path tree: types, shapes and sizes")
    tree.add_argument("--format", choices=("text", "json"), default="text", dest="output_format",
                      help="output format (default: text)")
    tree.add_argument("sources", metavar="SOURCE", nargs="+",
                      help="a path, URL, glob or dandi:ID[@VERSION][/PATTERN]")

    explorer = _command(sub, "open", "open_command:handle_open",
                        "write a notebook with the Explorer and open it in JupyterLab")
    explorer.add_argument("sources", metavar="SOURCE", nargs="+",
                          help="a path, URL, glob or dandi:ID[@VERSION][/PATTERN]")
    explorer.add_argument("--dir", default=".", help="where the notebook goes (default: here)")
    explorer.add_argument("--notebook", default=None, help="its file name (default: explore_<name>.ipynb)")
    explorer.add_argument("--select", default=None, help="internal path selected at start, e.g. /units")
    explorer.add_argument("--port", default=None, type=_positive_int,
                          help="port of a JupyterLab started here (default: a free one)")
    explorer.add_argument("--no-browser", action="store_true", help="print the URL, open no browser")
    return parser


def _version() -> str:
    import importlib.metadata

    try:
        return importlib.metadata.version("lazynwb_explorer")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - not installed
        return "unknown"


def _handler(spec: str) -> Callable[[argparse.Namespace, TextIO], int]:
    """`module:function` in this package, imported when the command runs (startup stays fast)."""
    import importlib

    module, function = spec.split(":")
    return getattr(importlib.import_module(f"{__package__}.{module}"), function)


def _configure_logging(debug: bool, stderr: TextIO) -> None:
    logger = logging.getLogger("lazynwb_explorer")
    handler = logging.StreamHandler(stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s:%(name)s:%(message)s"))
    logger.handlers[:] = [handler]
    logger.setLevel(logging.DEBUG if debug else logging.WARNING)
    logger.propagate = False


def _warnings_to(stderr: TextIO) -> None:
    """Each warning as one redacted line (not Python's two-line file:line form)."""

    def show(message: Warning | str, category: type[Warning], *_: Any, **__: Any) -> None:
        stderr.write(f"{PROG}: warning: {' '.join(redact(str(message)).split())}\n")

    warnings.showwarning = show


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    stdout, stderr = sys.stdout, sys.stderr
    debug = "--debug" in arguments
    _configure_logging(debug, stderr)
    _warnings_to(stderr)
    try:
        args = build_parser().parse_args(arguments)
        args.show_progress = stderr.isatty() if args.progress is None else args.progress
        return int(_handler(args.handler)(args, stdout))
    except CLIError as exc:
        if debug:
            traceback.print_exception(exc, file=stderr)
        write_json(stdout, exc.to_json())
        stderr.write(f"{PROG}: error: {exc.one_line()}\n")
        return int(exc.exit_code)
    except KeyboardInterrupt:
        stderr.write(f"{PROG}: interrupted\n")
        return 130
    except BrokenPipeError:  # `... | head`: the reader left; say nothing more
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:
        if debug:
            traceback.print_exception(exc, file=stderr)
        error = CLIError(code=ErrorCode.INTERNAL_ERROR, exit_code=ExitCode.INTERNAL_ERROR,
                         message="An unexpected lazynwb CLI error occurred.",
                         reason=f"{type(exc).__name__}: {describe(exc)}")
        write_json(stdout, error.to_json())
        hint = "" if debug else " (--debug shows the traceback)"
        stderr.write(f"{PROG}: error: {error.one_line()}{hint}\n")
        return int(ExitCode.INTERNAL_ERROR)
