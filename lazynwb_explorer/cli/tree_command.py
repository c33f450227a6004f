"""`tree`: what is in an NWB file, in the terminal - every group and dataset with its
neurodata type, dtype, shape and size - from `get_internal_path_info` (the catalog: no data
is read, and a second call, in any process, answers from the stored catalog).

Sizes are in-memory sizes (shape x item size, before any compression); a group shows the sum
over the datasets under it. Text by default; --format json gives one object per file with a
flat list of entries for scripts.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Iterable
from typing import Any, TextIO

import numpy as np
import tqdm.auto as tqdm

import lazynwb_explorer as lazynwb
from lazynwb_explorer.errors import redact

from .output import write_json
from .sources import expand_specs
from .table_commands import reading


def _nbytes(dtype: str | None, shape: Iterable[int] | None) -> int | None:
    if dtype is None or shape is None:
        return None
    try:
        parsed = np.dtype(dtype)
    except TypeError:  # 'reference', compound types: no fixed size
        return None
    if parsed.kind == "O" or parsed.itemsize == 0:  # 'str' (variable length)
        return None
    return parsed.itemsize * math.prod(shape)


def entries(source: str) -> list[dict[str, Any]]:
    """Every internal path of the file, sorted, with what `tree` shows of it."""
    info = lazynwb.get_internal_path_info(source, include_child_datasets=True,
                                          include_table_columns=True, include_metadata=True,
                                          parents=True)
    listed = []
    for path in sorted(info):
        item = info[path]
        shape = list(item["shape"]) if item["shape"] is not None else None
        listed.append({
            "path": path,
            "kind": "group" if item["is_group"] else "dataset",
            "neurodata_type": item["neurodata_type"],
            "dtype": item["dtype"],
            "shape": shape,
            "nbytes": _nbytes(item["dtype"], shape) if item["is_dataset"] else None,
            "chunks": list(item["chunks"]) if item.get("chunks") else None,
            "compression": item.get("compression"),
            "is_table": bool(item.get("is_table")),
            "is_timeseries": bool(item.get("is_timeseries")),
        })
    return listed


def human_size(nbytes: int) -> str:
    size = float(nbytes)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{nbytes} B"  # unreachable


def _group_sizes(listed: list[dict[str, Any]]) -> dict[str, int]:
    totals: dict[str, int] = {}
    for entry in listed:
        if entry["nbytes"] is None:
            continue
        parts = entry["path"].strip("/").split("/")
        for depth in range(len(parts)):
            key = "/" + "/".join(parts[:depth])
            totals[key] = totals.get(key, 0) + entry["nbytes"]
    return totals


def _describe(entry: dict[str, Any], group_size: int | None) -> str:
    words = [entry["neurodata_type"]] if entry["neurodata_type"] else []
    if entry["kind"] == "dataset":
        dtype = entry["dtype"] or "?"
        words.append("compound" if dtype.startswith("[") else dtype)
        shape = entry["shape"]
        words.append("scalar" if shape == [] else " x ".join(str(n) for n in shape or []))
        if entry["nbytes"] is not None:
            words.append(human_size(entry["nbytes"]))
        if entry["compression"]:
            words.append(str(entry["compression"]))
    elif group_size:
        words.append(human_size(group_size))
    return "  ".join(w for w in words if w)


def write_text_tree(stream: TextIO, source: str, listed: list[dict[str, Any]]) -> None:
    """Box-drawn tree, details aligned in one column."""
    by_path = {e["path"]: e for e in listed}
    children: dict[str, list[str]] = {}
    for path in by_path:
        parts = path.strip("/").split("/")
        for depth in range(1, len(parts) + 1):  # parents not listed are drawn as plain groups
            child = "/" + "/".join(parts[:depth])
            parent = "/" + "/".join(parts[: depth - 1])
            siblings = children.setdefault(parent, [])
            if child not in siblings:
                siblings.append(child)
    sizes = _group_sizes(listed)
    lines: list[tuple[str, str]] = []

    def walk(parent: str, prefix: str) -> None:
        kids = sorted(children.get(parent, []))
        for index, child in enumerate(kids):
            last = index == len(kids) - 1
            entry = by_path.get(child, {"kind": "group", "neurodata_type": None})
            name = child.rsplit("/", 1)[-1] + ("/" if entry["kind"] == "group" else "")
            lines.append((prefix + ("└── " if last else "├── ") + name,
                          _describe(entry, sizes.get(child))))
            walk(child, prefix + ("    " if last else "│   "))

    walk("/", "")
    width = max((len(label) for label, _ in lines), default=0)
    total = sizes.get("/")
    stream.write(redact(source) + (f"  ({human_size(total)} in datasets)" if total else "") + "\n")
    for label, details in lines:
        stream.write((f"{label:<{width}}  {details}" if details else label).rstrip() + "\n")


def handle_tree(args: argparse.Namespace, stdout: TextIO) -> int:
    sources = expand_specs(args.sources)
    files = []
    bar = tqdm.tqdm(sources, desc="Reading catalogs", unit="file",
                    disable=not args.show_progress or len(sources) < 2)
    with reading():
        for source in bar:
            files.append({"source": source, "entries": entries(source)})
    if args.output_format == "json":
        write_json(stdout, {"command": "tree", "file_count": len(files), "files": files})
        return 0
    for index, item in enumerate(files):
        if index:
            stdout.write("\n")
        write_text_tree(stdout, item["source"], item["entries"])
    return 0
