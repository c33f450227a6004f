"""One-row tables: groups read as a single row of fields, as lazynwb reads them.

'/general' (and the 'session' shortcut) is the session: /general's datasets, the root's
session datasets and /general/metadata's. Any group holding only datasets, none
multi-dimensional and at least one scalar (e.g. /general/subject) is read the same way.
A scalar is itself; an array (keywords, experimenter) is one list in the row. hdmf-zarr
stores a scalar as shape (1,) marked zarr_dtype='scalar': a scalar too.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from ..backends.base import Node
from ..catalog import Catalog, normalize_path
from .columns import Column, Table, polars_dtype, to_series

# The root's datasets that belong to the session's one-row table ('/general', as lazynwb)
SESSION_ROOT_DATASETS = (
    "session_start_time", "session_description", "identifier", "timestamps_reference_time",
    "file_create_date",
)


def is_scalar_dataset(node: Node) -> bool:
    """One value: HDF5's scalar dataspace, or hdmf-zarr's scalar (shape (1,), marked)."""
    meta = node.dataset
    if meta is None:
        return False
    return meta.shape == () or (meta.shape == (1,) and node.attrs.get("zarr_dtype") == "scalar")


def one_row_fields(catalog: Catalog, table_path: str) -> dict[str, Node] | None:
    """The fields of a group read as ONE row (name -> dataset node), or None when the group
    is not such a group. As lazynwb: '/general' (its datasets, the root's session datasets
    and /general/metadata's), and a group holding only datasets, none multi-dimensional and
    at least one scalar (e.g. /general/subject)."""
    path = normalize_path(table_path)
    node = catalog.get(path)
    if node is None or not node.is_group or "colnames" in node.attrs:
        return None
    children = {child.path.rsplit("/", 1)[1]: child for child in catalog.children(path)}
    if path == "/general":
        for name in SESSION_ROOT_DATASETS:
            root_child = catalog.get(f"/{name}")
            if root_child is not None:
                children.setdefault(name, root_child)
        extra = catalog.get("/general/metadata")
        for child in catalog.children(extra.path) if extra is not None and extra.is_group else ():
            children.setdefault(child.path.rsplit("/", 1)[1], child)
        return {n: c for n, c in children.items() if c.dataset is not None}
    if not children or any(c.dataset is None for c in children.values()):
        return None
    if any(len(c.dataset.shape) > 1 for c in children.values()):  # type: ignore[union-attr]
        return None
    if not any(is_scalar_dataset(c) for c in children.values()):
        return None
    if "data" in children and ("timestamps" in children or "starting_time" in children):
        return None  # a time series: one row per sample
    return children


def one_row_table(catalog: Catalog, table_path: str, fields: dict[str, Node]) -> Table:
    columns = {
        name: Column(
            name=name, data_path=node.path, meta=node.dataset,  # type: ignore[arg-type]
            description=str(node.attr("description", "")), neurodata_type=node.neurodata_type,
            whole=True, scalar=is_scalar_dataset(node),
        )
        for name, node in fields.items()
    }
    return Table(catalog.label, table_path, 1, dict(sorted(columns.items())))


def read_whole(catalog: Catalog, column: Column, rows: np.ndarray | None) -> pl.Series:
    """A one-row table's field: the dataset's value (a scalar) or all of it (a list)."""
    n = 1 if rows is None else len(rows)
    if n == 0:
        return pl.Series(column.name, [], dtype=column.dtype)
    values = np.asarray(catalog.backend.read(column.data_path))
    if column.scalar:
        value = values.reshape(-1)[0] if values.size else None
        item = value.item() if isinstance(value, np.generic) else value
        return pl.Series(column.name, [item] * n, dtype=column.dtype)
    cell = to_series(column.name, values, polars_dtype(column.meta) if values.ndim <= 1
                      else column.dtype.inner)  # type: ignore[union-attr]  # an n-D column: pl.Array
    return pl.Series(column.name, [cell] * n, dtype=column.dtype)
