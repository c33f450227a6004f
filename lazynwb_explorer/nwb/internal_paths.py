"""Internal paths as lazynwb sees them: their spelling, and which of them it lists.

- `normalize_internal_file_path`: lazynwb keys several results by this form (get_sub_attrs,
  consolidate_attrs, the `table_path` of RawTableColumnMetadata): no leading slash, the
  table shortcuts expanded, the root as '/'.
- `internal_paths`: lazynwb's get_internal_paths filtering rules over a catalog.
- `path_info`: what lazynwb's get_internal_path_info reports for one path.
"""

from __future__ import annotations

from typing import Any

from ..catalog import Catalog
from .kinds import TABLE_SHORTCUTS, is_series, is_table


def normalize_internal_file_path(path: str) -> str:
    """'/units' -> 'units', 'trials' -> 'intervals/trials', '/' or '' -> '/'.

    The leading '/' is removed and a shortcut (trials, epochs, electrodes, optophysiology,
    session) becomes its table's path, as lazynwb.utils.normalize_internal_file_path does.
    """
    path = path.removeprefix("/") or "/"
    shortcut = TABLE_SHORTCUTS.get(path)
    return shortcut.lstrip("/") if shortcut else path


def absolute_path(path: str) -> str:
    """The catalog's spelling of an internal path: '/' plus the normalized form."""
    normalized = normalize_internal_file_path(path)
    return normalized if normalized == "/" else "/" + normalized


# -- lazynwb's get_internal_paths rules -------------------------------------------------

_CONTAINER_TYPES = {"NWBFile", "ProcessingModule"}


def internal_paths(
    catalog: Catalog,
    include_child_datasets: bool = False,
    include_table_columns: bool = False,
    include_metadata: bool = False,
    include_specifications: bool = False,
    parents: bool = False,
) -> list[str]:
    """User-level paths: tables, time series and other typed objects, filtered as lazynwb."""
    out: list[str] = []

    def visit(path: str) -> list[str]:
        """Takes the path's place in `out`; returns its children to visit."""
        node = catalog.nodes.get(path)
        if node is None:
            return []
        if path.startswith("/specifications"):
            if not include_specifications:
                return []
            out.append(path)
        shape = node.dataset.shape if node.dataset else None
        is_scalar = shape is not None and (shape == () or shape == (1,))
        is_rate_start = path.endswith("/starting_time") and "rate" in node.attrs
        if is_scalar and not (include_child_datasets and is_rate_start):
            return []
        if not path.startswith("/specifications"):
            is_metadata = is_scalar or path.startswith("/general")
            if is_rate_start and include_child_datasets:
                out.append(path)
            elif is_metadata:
                if not include_metadata:
                    return []
                out.append(path)
            elif is_series(catalog, path):
                out.append(path)
            elif node.neurodata_type and node.neurodata_type not in _CONTAINER_TYPES:
                out.append(path)
            elif node.is_dataset and shape and include_child_datasets:
                out.append(path)
        if node.is_link or node.is_dataset:
            return []
        if is_table(catalog, path) and not include_table_columns:
            return []
        return [f"{path.rstrip('/')}/{name}" for name in node.children]

    stack = ["/"]  # an explicit stack: a tree of any depth, no recursion
    while stack:
        stack.extend(visit(stack.pop()))
    out = [p for p in dict.fromkeys(out) if p != "/"]
    if parents:  # typed ancestors too (processing modules, interfaces), as lazynwb lists them
        for path in list(out):
            parts = path.strip("/").split("/")
            for depth in range(1, len(parts)):
                ancestor = "/" + "/".join(parts[:depth])
                node = catalog.nodes.get(ancestor)
                if node is not None and node.neurodata_type and node.neurodata_type != "NWBFile":
                    out.append(ancestor)
        return sorted(set(out))
    prefixes = {p.rsplit("/", 1)[0] for p in out}
    return sorted(
        p for p in out
        if p not in prefixes or is_table(catalog, p) or is_series(catalog, p)
    )


def path_info(catalog: Catalog, path: str) -> dict[str, Any]:
    """What lazynwb's get_internal_path_info reports for a path, with real attribute values."""
    node = catalog.require(path)
    meta = node.dataset
    return {
        "is_group": node.is_group,
        "is_dataset": node.is_dataset,
        "shape": meta.shape if meta else None,
        "dtype": str(meta.dtype) if meta and not (meta.is_string or meta.is_reference) else (
            ("str" if meta.is_string else "reference") if meta else None
        ),
        "neurodata_type": node.neurodata_type,
        "is_timeseries": is_series(catalog, node.path),
        "is_table": is_table(catalog, node.path),
        "chunks": meta.chunks if meta else None,
        "compression": meta.compression if meta else None,
        "attrs": dict(node.attrs),
    }
