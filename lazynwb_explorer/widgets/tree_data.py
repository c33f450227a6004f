"""What the tree browser shows, from the catalog alone (no data is read).

Why a module of its own: the tree's answers (a node's children, a search, the ancestors of a
path, the access snippet) are plain functions of the file's catalog, easy to test without a
widget and reused by the schema viewer and the explorer.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..catalog import Catalog, normalize_path
from ..nwb.kinds import is_series, is_table
from ._base import human_bytes

MAX_SEARCH_RESULTS = 200
MAX_CHILDREN = 5000


def role(catalog: Catalog, path: str) -> str:
    """'table', 'series', 'dataset', 'group' or 'link': what a view can do with a path."""
    node = catalog.require(path)
    if node.is_link and node.dataset is None and not node.children:
        return "link"
    if is_table(catalog, node.path):
        return "table"
    if node.is_group and is_series(catalog, node.path):
        return "series"
    return "group" if node.is_group else "dataset"


def size_hint(catalog: Catalog, path: str) -> str | None:
    """A dataset's stored size ('12.0 MB', '40 items' for strings), a group's child count."""
    node = catalog.require(path)
    meta = node.dataset
    if meta is None:
        n = len(node.children)
        return f"{n} item{'s' if n != 1 else ''}" if n else None
    count = int(np.prod(meta.shape, dtype=np.int64)) if meta.shape else 1
    if meta.is_string or meta.is_reference or meta.dtype.kind == "O":
        return f"{count:,} item{'s' if count != 1 else ''}"
    return human_bytes(count * meta.dtype.itemsize)


def dtype_label(catalog: Catalog, path: str) -> str | None:
    meta = catalog.require(path).dataset
    if meta is None:
        return None
    if meta.is_string:
        return "str"
    if meta.is_reference:
        return "reference"
    if meta.dtype.names:
        return "compound(" + ", ".join(meta.dtype.names) + ")"
    return str(meta.dtype)


def describe_node(catalog: Catalog, path: str) -> dict[str, Any]:
    """One tree row: name, kind, neurodata_type, shape, dtype, size hint, expandable."""
    node = catalog.require(path)
    kind = role(catalog, node.path)
    return {
        "path": node.path,
        "name": node.path.rsplit("/", 1)[-1] or "/",
        "role": kind,
        "neurodata_type": node.neurodata_type,
        "shape": list(node.dataset.shape) if node.dataset else None,
        "dtype": dtype_label(catalog, node.path),
        "size": size_hint(catalog, node.path),
        "expandable": bool(node.is_group and node.children),
        "link": node.is_link,
    }


def children(catalog: Catalog, path: str) -> list[dict[str, Any]]:
    """The rows under a group, groups first then datasets, each alphabetically."""
    kids = catalog.children(normalize_path(path))[:MAX_CHILDREN]
    kids.sort(key=lambda n: (not n.is_group, n.path.rsplit("/", 1)[-1].lower()))
    return [describe_node(catalog, k.path) for k in kids]


def ancestors(path: str) -> list[str]:
    """'/a/b/c' -> ['/', '/a', '/a/b'] (the groups to open to show the path)."""
    parts = normalize_path(path).strip("/").split("/")
    return ["/"] + ["/" + "/".join(parts[:i]) for i in range(1, len(parts))] if parts != [""] else []


def reveal(catalog: Catalog, path: str) -> dict[str, list[dict[str, Any]]]:
    """The children of every ancestor of `path`: all the tree needs to show it, in one reply."""
    path = normalize_path(path)
    catalog.require(path)
    return {a: children(catalog, a) for a in ancestors(path) if catalog.get(a) is not None}


def search(catalog: Catalog, query: str) -> tuple[list[dict[str, Any]], bool]:
    """Paths (or neurodata types) containing `query`, case-insensitive, shallow first."""
    needle = query.strip().lower()
    if not needle:
        return [], False
    hits = [
        p for p, n in catalog.nodes.items()
        if p != "/" and (needle in p.lower() or needle in (n.neurodata_type or "").lower())
    ]
    hits.sort(key=lambda p: (p.count("/"), p.lower()))
    return [describe_node(catalog, p) for p in hits[:MAX_SEARCH_RESULTS]], len(hits) > MAX_SEARCH_RESULTS


def snippet(catalog: Catalog, source_label: str, path: str) -> str:
    """Python that reads the selected node with the lazynwb API (copied from the tree)."""
    path = normalize_path(path)
    src = repr(source_label)
    head = "import lazynwb_explorer as lazynwb\n\n"
    node = catalog.get(path)
    if node is None:
        return head + f"lazynwb.get_internal_paths({src})"
    kind = role(catalog, path)
    if kind == "table":
        return head + (
            f"df = lazynwb.get_df({src}, {path!r}, exact_path=True, as_polars=True)\n"
            f"# lazily, filters pushed down:\n"
            f"lf = lazynwb.scan_nwb({src}, {path!r})"
        )
    if kind == "series":
        return head + (
            f"ts = lazynwb.get_timeseries({src}, {path!r}, exact_path=True)\n"
            f"ts.data[:1000], ts.timestamps[:1000]  # reads only these samples"
        )
    parent = path.rsplit("/", 1)[0] or "/"
    name = path.rsplit("/", 1)[-1]
    if node.is_dataset and is_table(catalog, parent):
        return head + (
            f"df = lazynwb.get_df({src}, {parent!r}, exact_path=True, "
            f"include_column_names=[{name!r}], as_polars=True)"
        )
    if node.is_dataset and is_series(catalog, parent) and name in ("data", "timestamps"):
        return head + (
            f"ts = lazynwb.get_timeseries({src}, {parent!r}, exact_path=True)\n"
            f"ts.{name}[:1000]"
        )
    if path.startswith("/general") or path == "/":
        return head + f"lazynwb.get_metadata_df({src}, as_polars=True)"
    return head + f"lazynwb.get_internal_path_info({src}, include_child_datasets=True)[{path!r}]"
