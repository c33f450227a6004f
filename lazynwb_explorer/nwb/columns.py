"""The types of a table read from an NWB file: Column (where a column's values are and what
polars type they become) and Table (a table's columns and length), all from metadata.

Column kinds:
  scalar   one value per row (numbers, bools, strings, object references as paths)
  ndarray  a fixed-shape array per row (waveform_mean) -> polars Array
  ragged   VectorData + VectorIndex (spike_times) -> polars List; doubly ragged -> List(List)
  whole    a one-row table's field (the session's keywords): the dataset is the row's value
A DynamicTableRegion is a scalar or ragged column of row numbers into another table.
"""

from __future__ import annotations

import dataclasses
from typing import TypeAlias

import numpy as np
import polars as pl
from polars.datatypes import DataTypeClass

from ..backends.base import DatasetMeta

# A polars type as polars takes and gives one: a class (pl.String) or an instance
# (pl.List(pl.Int64)); a schema holds both, a nested type's .inner is either.
PolarsType: TypeAlias = pl.DataType | DataTypeClass  # a real value: get_type_hints resolves it


@dataclasses.dataclass(frozen=True)
class Column:
    name: str
    data_path: str
    meta: DatasetMeta
    index_paths: tuple[str, ...] = ()  # outermost first (X_index_index, X_index)
    description: str = ""
    neurodata_type: str | None = None
    rate: float | None = None  # timestamps computed as starting_time (data_path) + row / rate
    region: str | None = None  # a DynamicTableRegion: the table its row numbers point into
    # A one-row (metadata) table's field: the whole dataset is the one row's value, a
    # scalar as itself and an array as a list
    whole: bool = False
    scalar: bool = False

    @property
    def is_ragged(self) -> bool:
        return bool(self.index_paths)

    @property
    def is_ndarray(self) -> bool:
        return not self.index_paths and not self.whole and len(self.meta.shape) > 1

    @property
    def is_array(self) -> bool:
        """lazynwb's 'array column': ragged or multi-dimensional per row (a metadata list,
        such as the session's keywords, is not one: lazynwb returns it by default)."""
        return self.is_ragged or self.is_ndarray

    @property
    def dtype(self) -> PolarsType:
        inner = polars_dtype(self.meta)
        if self.whole:
            if self.scalar:
                return inner
            if len(self.meta.shape) > 1:
                inner = pl.Array(inner, self.meta.shape[1:])
            return pl.List(inner)
        if len(self.meta.shape) > 1:
            inner = pl.Array(inner, self.meta.shape[1:])
        for _ in self.index_paths:
            inner = pl.List(inner)
        return inner


@dataclasses.dataclass(frozen=True)
class Table:
    source_label: str
    path: str
    length: int
    columns: dict[str, Column]

    def schema(self, exclude_array_columns: bool = False) -> dict[str, PolarsType]:
        return {
            n: c.dtype for n, c in self.columns.items() if not (exclude_array_columns and c.is_array)
        }


def polars_dtype(meta: DatasetMeta) -> PolarsType:
    """The polars type of one element of a dataset (before ragged / n-D wrapping)."""
    if meta.is_string or meta.is_reference:
        return pl.String
    dtype = meta.dtype
    if dtype.names:
        return pl.Struct(
            {name: polars_dtype(DatasetMeta((), dtype[name])) for name in dtype.names}
        )
    if dtype.kind == "O":
        return pl.String
    if dtype.kind in "SU":
        return pl.String
    if dtype.kind == "V":  # opaque bytes
        return pl.Binary
    return pl.Series(np.empty(0, dtype=dtype)).dtype


def to_series(name: str, values: np.ndarray, dtype: PolarsType) -> pl.Series:
    if isinstance(dtype, pl.Struct):
        frame = pl.DataFrame({f: to_series(f, values[f], t) for f, t in dtype.to_schema().items()})
        return frame.to_struct(name)
    if values.dtype == object:
        return pl.Series(name, values.tolist(), dtype=dtype)
    if values.ndim > 1:
        return pl.Series(name, values, dtype=pl.Array(leaf_dtype(dtype), values.shape[1:]))
    return pl.Series(name, values, dtype=dtype)


def leaf_dtype(dtype: PolarsType) -> PolarsType:
    while isinstance(dtype, pl.Array | pl.List):
        dtype = dtype.inner
    return dtype
