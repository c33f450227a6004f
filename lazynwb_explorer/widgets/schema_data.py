"""What the schema viewer shows for a path, from metadata only (no data read).

For a table: one row per column (name, polars dtype, NWB description, ragged depth, per-row
shape, chunks, compression). For a time series: shape, dtype, unit, rate or timestamps,
conversion, offset, layout and attributes. For any other dataset or group: its layout and
attributes. Everything is plain JSON; the browser renders it as text.
"""

from __future__ import annotations

from typing import Any

from ..backends.base import DatasetMeta
from ..catalog import Catalog, normalize_path
from ..nwb.tables import describe_table
from ..nwb.timeseries import TimeSeries
from . import tree_data
from ._base import clean_json


def layout(meta: DatasetMeta | None) -> dict[str, Any]:
    """Shape, chunks, compression and filters of a dataset (None entries when absent)."""
    if meta is None:
        return {}
    return {
        "shape": list(meta.shape),
        "chunks": list(meta.chunks) if meta.chunks else None,
        "compression": meta.compression,
        "filters": list(meta.filters),
        "storage": meta.storage_dtype or str(meta.dtype),
    }


def table_schema(catalog: Catalog, path: str) -> dict[str, Any]:
    table = describe_table(catalog, path)
    columns = []
    for column in table.columns.values():
        columns.append({
            "name": column.name,
            "dtype": str(column.dtype),
            "description": column.description,
            "ragged_depth": len(column.index_paths),
            "cell_shape": list(column.meta.shape[1:]) if column.is_ndarray else None,
            "neurodata_type": column.neurodata_type,
            **layout(column.meta),
        })
    node = catalog.require(path)
    return {"entity": "table", "rows": table.length, "columns": columns,
            "attrs": clean_json(node.attrs)}


def series_schema(catalog: Catalog, path: str) -> dict[str, Any]:
    ts = TimeSeries(catalog.label, path, catalog)
    data_node = catalog.get(f"{path}/data")
    stored = catalog.get(f"{path}/timestamps")
    fields: dict[str, Any] = {
        "unit": ts.unit,
        "conversion": ts.conversion,
        "offset": ts.offset,
        "resolution": ts.resolution,
        "rate": ts.rate,
        "samples": ts.num_samples if (data_node or stored) else None,
        "timestamps": "stored" if stored is not None else (
            "starting_time + rate" if ts.rate is not None else None),
        "description": ts.description,
    }
    if stored is None and ts.rate is not None:
        fields["starting_time"] = ts.starting_time
    data = {**layout(data_node.dataset if data_node else None),
            "dtype": tree_data.dtype_label(catalog, f"{path}/data") if data_node else None}
    times = {**layout(stored.dataset), "dtype": tree_data.dtype_label(catalog, stored.path)} \
        if stored is not None else None
    children = [tree_data.describe_node(catalog, n.path) for n in catalog.children(path)]
    return {"entity": "series", "fields": clean_json(fields), "data": data,
            "timestamps_layout": times, "children": children,
            "attrs": clean_json(catalog.require(path).attrs)}


def describe_path(catalog: Catalog, path: str) -> dict[str, Any]:
    """The schema reply for any path."""
    path = normalize_path(path)
    node = catalog.require(path)
    kind = tree_data.role(catalog, path)
    base = {"path": path, "neurodata_type": node.neurodata_type, "role": kind}
    if kind == "table":
        return {**base, **table_schema(catalog, path)}
    if kind == "series":
        return {**base, **series_schema(catalog, path)}
    if node.dataset is not None:
        return {**base, "entity": "dataset", "dtype": tree_data.dtype_label(catalog, path),
                "size": tree_data.size_hint(catalog, path), **layout(node.dataset),
                "attrs": clean_json(node.attrs)}
    return {**base, "entity": "group", "children": len(node.children),
            "attrs": clean_json(node.attrs)}
