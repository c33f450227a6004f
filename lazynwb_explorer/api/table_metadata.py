"""Raw metadata of a table's columns: RawTableColumnMetadata, get_table_column_metadata,
get_table_length_from_metadata (lazynwb.table_metadata) and get_table_schema_from_metadata
(lazynwb.tables).

Everything comes from the file's catalog, so describing a table reads nothing once the
catalog is known. The catalog does not keep a dataset's maxshape, compression options or
fill value: those fields are None. lazynwb's `accessor` (an open h5py / zarr object) has
no counterpart: data is read through the catalog's backend.

The flags follow lazynwb's DynamicTable rules, which go by names: X is 'nominally
indexed' when X_index is also a column, a group is a metadata table when it holds a
scalar dataset and no multi-dimensional one, a time series has data and timestamps or
starting_time.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any

import numpy as np
import polars as pl

from ..backends.base import DatasetMeta, Node
from ..catalog import Catalog, open_catalog_for
from ..errors import InternalPathError
from ..multifile import name_errors
from ..nwb.columns import PolarsType, polars_dtype
from ..nwb.internal_paths import absolute_path, normalize_internal_file_path
from ..nwb.one_row import SESSION_ROOT_DATASETS
from ..sources import PathLike, to_source

_ROOT_METADATA = SESSION_ROOT_DATASETS
_REFERENCE_COLUMNS = {"timeseries": "TimeSeriesReferenceVectorData"}
_NAMED_FILTERS = ("shuffle", "fletcher32", "scaleoffset")


@dataclasses.dataclass(frozen=True, slots=True)
class RawTableColumnMetadata:
    """What the file says about one column (dataset or group) of a table, without data."""

    name: str
    table_path: str
    source_path: str
    backend: str
    dtype: Any | None
    shape: tuple[int, ...] | None
    ndim: int | None
    attrs: dict[str, Any]
    maxshape: tuple[int | None, ...] | None
    chunks: tuple[int, ...] | None
    storage_layout: str | None
    compression: str | None
    compression_opts: object | None
    filters: tuple[object, ...]
    fill_value: object | None
    read_capabilities: tuple[str, ...]
    is_group: bool
    is_dataset: bool
    is_metadata_table: bool
    is_timeseries: bool
    is_timeseries_with_rate: bool
    is_timeseries_length_aligned: bool
    is_nominally_indexed: bool
    is_index_column: bool
    is_multidimensional: bool
    index_column_name: str | None
    data_column_name: str | None
    row_element_shape: tuple[int, ...] | None


# -- lazynwb's name rules -------------------------------------------------------------------


def _is_nominally_indexed(name: str, names: frozenset[str]) -> bool:
    if name not in names:
        return False
    if name.endswith("_index"):
        return name.split("_index")[0] in names
    return f"{name}_index" in names


def _index_column_name(name: str, names: frozenset[str]) -> str | None:
    if name.endswith("_index"):
        return name if _is_nominally_indexed(name, names) else None
    return f"{name}_index" if f"{name}_index" in names else None


def _data_column_name(name: str, names: frozenset[str]) -> str | None:
    if not name.endswith("_index"):
        return name
    data = name.split("_index")[0]
    return data if data in names else None


# -- the columns of a table -------------------------------------------------------------------


def _table_nodes(catalog: Catalog, table_path: str, skip_references: bool) -> dict[str, Node]:
    """Name -> node of each column: the group's children (plus, for 'general', the root's
    session datasets and /general/metadata's datasets, groups left out)."""
    path = absolute_path(table_path)
    group = catalog.get(path)
    if group is None:
        raise InternalPathError("table not found", source=catalog.label, path=path)
    if not group.is_group:
        raise InternalPathError("not a group/table (a dataset)", source=catalog.label, path=path)
    nodes = {child.path.rsplit("/", 1)[1]: child for child in catalog.children(path)}
    if path == "/general":
        for name in _ROOT_METADATA:
            node = catalog.get(f"/{name}")
            if node is not None:
                nodes.setdefault(name, node)
        extra = catalog.get("/general/metadata")
        for child in catalog.children(extra.path) if extra is not None and extra.is_group else ():
            nodes.setdefault(child.path.rsplit("/", 1)[1], child)
        nodes = {name: node for name, node in nodes.items() if not node.is_group}
    if not skip_references:
        raise NotImplementedError(
            "Keeping references is not implemented yet: see https://pynwb.readthedocs.io/en/"
            "stable/pynwb.base.html#pynwb.base.TimeSeriesReferenceVectorData"
        )
    for name, neurodata_type in _REFERENCE_COLUMNS.items():
        node = nodes.get(name)
        if node is not None and node.neurodata_type == neurodata_type:
            nodes.pop(name)
            nodes.pop(f"{name}_index", None)
    return nodes


def _filters(meta: DatasetMeta, is_zarr: bool) -> tuple[object, ...]:
    out: list[object] = []
    if meta.compression is not None:
        out.append({"id": "compression", "name": meta.compression, "options": None})
    if is_zarr:
        out += [{"id": f} for f in meta.filters]
    else:
        out += [{"id": f, "value": True} for f in meta.filters if f in _NAMED_FILTERS]
    return tuple(out)


def _capabilities(node: Node) -> tuple[str, ...]:
    meta = node.dataset
    out = ["metadata"]
    if meta is not None:
        out += ["shape", "dtype", "slice"]
        if meta.shape == ():
            out.append("scalar")
        if meta.chunks is not None:
            out.append("chunked")
        if meta.compression is not None or meta.filters:
            out.append("filtered")
    if node.is_group:
        out.append("children")
    return tuple(out)


def _layout(node: Node, is_zarr: bool) -> str | None:
    if node.is_group:
        return "group"
    if node.dataset is None:
        return None
    if is_zarr:
        return "chunked"
    return "chunked" if node.dataset.chunks is not None else "contiguous"


def get_table_column_metadata(
    file_path: PathLike,
    table_path: str,
    use_thread_pool: bool = False,
    skip_references: bool = True,
) -> tuple[RawTableColumnMetadata, ...]:
    """The raw metadata of every column (index columns included) of one table.

    table_path: e.g. '/units', 'trials', 'general' (the session's metadata as one row).
    skip_references: leave out TimeSeriesReferenceVectorData columns (False is not
    supported, as in lazynwb). use_thread_pool is accepted for compatibility: the
    catalog answers without per-column requests. A missing table raises InternalPathError
    naming the file and the path.
    """
    source = to_source(file_path)
    catalog = name_errors(source, lambda: open_catalog_for(source, table_path))
    nodes = _table_nodes(catalog, table_path, skip_references)
    names = frozenset(nodes)
    shapes = {n: (node.dataset.shape if node.dataset else None) for n, node in nodes.items()}
    ndims = {n: (len(s) if s is not None else None) for n, s in shapes.items()}
    normalized = normalize_internal_file_path(table_path)
    is_timeseries = "data" in names and ("timestamps" in names or "starting_time" in names)
    with_rate = "data" in names and "starting_time" in names and "timestamps" not in names
    is_metadata = normalized == "general" or (
        all(d is None or d <= 1 for d in ndims.values())
        and any(d == 0 for d in ndims.values())
        and not with_rate
    )
    data_shape = shapes.get("data") if is_timeseries else None
    series_len = data_shape[0] if data_shape else None
    is_zarr = catalog.kind == "zarr"
    columns = []
    for name, node in nodes.items():
        shape, ndim, meta = shapes[name], ndims[name], node.dataset
        indexed = _is_nominally_indexed(name, names)
        is_index = indexed and name.endswith("_index")
        columns.append(RawTableColumnMetadata(
            name=name,
            table_path=normalized,
            source_path=source.label,
            backend="zarr" if is_zarr else "hdf5",
            dtype=meta.dtype if meta else None,
            shape=shape,
            ndim=ndim,
            attrs=dict(node.attrs),
            maxshape=None,
            chunks=meta.chunks if meta else None,
            storage_layout=_layout(node, is_zarr),
            compression=meta.compression if meta else None,
            compression_opts=None,
            filters=_filters(meta, is_zarr) if meta else (),
            fill_value=None,
            read_capabilities=_capabilities(node),
            is_group=node.is_group,
            is_dataset=meta is not None,
            is_metadata_table=is_metadata,
            is_timeseries=is_timeseries,
            is_timeseries_with_rate=with_rate,
            is_timeseries_length_aligned=(
                not is_timeseries or series_len is None or not shape or shape[0] == series_len
            ),
            is_nominally_indexed=indexed,
            is_index_column=is_index,
            is_multidimensional=ndim is not None and ndim > 1,
            index_column_name=_index_column_name(name, names),
            data_column_name=_data_column_name(name, names),
            row_element_shape=(
                None if shape is None or ndim is None or is_index
                else () if ndim <= 1 else shape[1:]
            ),
        ))
    return tuple(columns)


def get_table_length_from_metadata(columns: Iterable[RawTableColumnMetadata]) -> int:
    """The table's row count from its columns' metadata (no data read), by lazynwb's
    rules: 1 for a metadata table; else the first indexed column's index length or the
    first 1-D column's length (a scalar: 1); else the first column with a shape."""
    columns = tuple(columns)
    by_name = {c.name: c for c in columns}
    if columns and all(c.is_metadata_table for c in columns):
        return 1
    for column in columns:
        if column.is_nominally_indexed:
            index = by_name.get(column.index_column_name or column.name)
            if index is not None and index.shape is not None:
                return index.shape[0]
        if column.ndim == 1 and column.shape is not None:
            return column.shape[0]
        if column.ndim == 0:
            return 1
    for column in columns:
        if column.shape:
            return column.shape[0]
    where = columns[0] if columns else None
    raise InternalPathError(
        "Could not determine table length",
        source=where.source_path if where else None,
        path=where.table_path if where else None,
    )


def get_table_schema_from_metadata(columns: Iterable[RawTableColumnMetadata]) -> pl.Schema:
    """The polars schema of one file's table from its columns' metadata: index columns and
    groups left out, ragged columns as (nested) lists, multi-dimensional ones as arrays, a
    rate-based series' starting_time as a Float64 'timestamps' column, and columns of a
    time series that do not match its data's length skipped."""
    columns = tuple(columns)
    names = frozenset(c.name for c in columns)
    schema = pl.Schema()
    for column in columns:
        if column.is_index_column or column.is_group:
            continue
        if column.name == "starting_time" and column.is_timeseries_with_rate:
            schema["timestamps"] = pl.Float64
            continue
        if column.is_timeseries and not column.is_timeseries_length_aligned:
            continue
        schema[column.name] = _column_dtype(column, names)
    return schema


def _column_dtype(column: RawTableColumnMetadata, names: frozenset[str]) -> PolarsType:
    dtype = column.dtype if column.dtype is not None else np.dtype(object)
    inner = polars_dtype(DatasetMeta((), np.dtype(dtype)))
    if column.is_metadata_table and column.shape:
        return pl.List(inner)  # an array among single values: one list in the one row
    if column.ndim is not None and column.ndim > 1 and column.shape is not None:
        inner = pl.Array(inner, column.shape[1:])
    index = f"{column.name}_index"
    while column.is_nominally_indexed and index in names:
        inner = pl.List(inner)
        index += "_index"
    return inner
