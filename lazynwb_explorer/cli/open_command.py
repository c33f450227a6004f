"""`open SOURCE...`: the Explorer on any NWB source, from the shell.

Writes a small notebook (the Explorer on the sources, then `ex.lazyframe()`), indexes the
sources first (`build_catalogs`: the kernel then opens them from the stored catalogs, and a
second `open` of the same sources sends no request), and opens it in JupyterLab: in a running
server whose root holds the notebook, else in one started here on 127.0.0.1 (kept in the
foreground until Ctrl-C). With --no-browser the URL is printed instead of opened.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import re
import sys
import webbrowser
from typing import TextIO

import lazynwb_explorer as lazynwb

from . import lab
from .sources import expand_specs, parse_dandi_spec
from .table_commands import reading


def _source_code(specs: list[str]) -> tuple[str, list[str]]:
    """The notebook's `sources = ...` (DANDI sources as the call that lists them, so the
    notebook stays short and re-runnable) and every source it names, resolved."""
    literal: list[str] = []
    calls: list[str] = []
    resolved: list[str] = []
    for spec in specs:
        expanded = expand_specs([spec])
        resolved += expanded
        if spec.startswith("dandi:"):
            dandiset_id, version, pattern = parse_dandi_spec(spec)
            keep = ("" if pattern is None else
                    f", asset_filter=lambda a: fnmatch.fnmatchcase(a['path'], {pattern!r})")
            calls.append(f"lazynwb.get_dandi_sources({dandiset_id!r}, {version!r}{keep})")
        else:
            literal += expanded
    parts = [json.dumps(literal, indent=4)] if literal or not calls else []
    parts += calls
    return "sources = " + "\n    + ".join(parts), resolved


def notebook_text(specs: list[str], selected_path: str) -> tuple[str, list[str]]:
    """The notebook (nbformat 4 JSON) and the resolved sources."""
    import nbformat
    import nbformat.v4 as nbf

    sources_code, resolved = _source_code(specs)
    imports = ["from lazynwb_explorer import Explorer"]
    if "lazynwb.get_dandi_sources" in sources_code:
        imports.insert(0, "import lazynwb_explorer as lazynwb")
    if "fnmatch" in sources_code:
        imports.insert(0, "import fnmatch")
    select = f", selected_path={selected_path!r}" if selected_path else ""
    shown = "\n".join(f"- `{s}`" for s in specs)
    nb = nbf.new_notebook(cells=[
        nbf.new_markdown_cell(f"# NWB Explorer\n\nWritten by `lazynwb-explorer open` for:\n\n{shown}\n\n"
                              "Pick a table or a time series in the tree; the grid filters and sorts "
                              "in the kernel, the plot reads only the window on screen."),
        nbf.new_code_cell("\n".join(imports) + "\n\n" + sources_code + f"\nex = Explorer(sources{select})\nex"),
        nbf.new_markdown_cell("What the Explorer shows, as a polars LazyFrame (run after selecting "
                              "a table or series):"),
        nbf.new_code_cell("ex.lazyframe()"),
    ])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)",
                                 "language": "python"}
    return nbformat.writes(nb), resolved


def notebook_name(specs: list[str]) -> str:
    first = specs[0]
    if first.startswith("dandi:"):
        stem = "dandi_" + parse_dandi_spec(first)[0]
    else:
        stem = re.split(r"[?#]", first.rstrip("/"))[0].rsplit("/", 1)[-1]
        stem = stem.split(".")[0] or "nwb"
    return "explore_" + re.sub(r"[^A-Za-z0-9_-]+", "_", stem) + ".ipynb"


def handle_open(args: argparse.Namespace, stdout: TextIO) -> int:
    try:
        import nbformat  # noqa: F401
    except ImportError as exc:
        raise lab._needs("widgets,demo", exc) from exc
    text, resolved = notebook_text(list(args.sources), args.select or "")
    with reading():  # index once here; the kernel then answers from the stored catalogs
        lazynwb.build_catalogs(resolved, disable_progress=not args.show_progress)
    directory = pathlib.Path(args.dir).expanduser().resolve()
    directory.mkdir(parents=True, exist_ok=True)
    notebook = directory / (args.notebook or notebook_name(list(args.sources)))
    notebook.write_text(text, encoding="utf-8")
    print(f"wrote {notebook}", file=sys.stderr)

    running = lab.running_server_for(notebook)
    if running is not None:
        root = pathlib.Path(running.get("root_dir") or running.get("notebook_dir") or "")  # as lab.running_server_for
        url = lab.notebook_url(running["url"], root, notebook, running.get("token", ""))
        _show(url, stdout, args.no_browser)
        return 0
    server = lab.LabServer(directory, port=args.port)
    server.wait_until_ready()
    _show(lab.notebook_url(server.base_url, directory, notebook, server.token), stdout, args.no_browser)
    print("JupyterLab is running; Ctrl-C stops it.", file=sys.stderr)
    return server.serve_forever()


def _show(url: str, stdout: TextIO, no_browser: bool) -> None:
    stdout.write(url + "\n")
    stdout.flush()
    if not no_browser:
        webbrowser.open(url)
