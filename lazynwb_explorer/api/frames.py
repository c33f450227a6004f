"""lazynwb's eager table API: get_df, get_table_schema, merge_array_column.

Names, parameters and defaults follow lazynwb 1.0, so `import lazynwb_explorer as lazynwb`
runs existing code unchanged.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import polars as pl

from ..config import resolve_as_polars
from ..errors import ColumnError, InternalPathError, SchemaMismatchError, redact
from ..multifile import Missing, is_skipped, map_sources, report_missing
from ..nwb.columns import PolarsType
from ..nwb.table_query import (
    INTERNAL_SCHEMA,
    NWB_PATH_COLUMN_NAME,
    TABLE_INDEX_COLUMN_NAME,
    TABLE_PATH_COLUMN_NAME,
    TableRequest,
    choose_columns,
    open_table,
    read_table_rows,
)
from ..sources import PathLike, Source, to_source, to_sources


def _names(value: str | Iterable[str] | None) -> list[str] | None:
    if value is None:
        return None
    return [value] if isinstance(value, str) else list(value)


def unify_dtypes(a: PolarsType, b: PolarsType) -> PolarsType | None:
    """The common type of a column seen as `a` in one file and `b` in another, or None
    (string vs number, ...: the caller raises SchemaMismatchError).

    Numbers widen by numpy's promotion rules (Int32 + Int64 -> Int64, UInt8 + Int8 -> Int16,
    Float32 + Int64 -> Float64, Int64 + UInt64 -> Float64, Boolean + Int8 -> Int8): one
    rule whatever the polars version, and a type pandas and Arrow both hold (polars 2's own
    supertype of Int64 and UInt64 is Int128). Lists and arrays unify by their items; arrays
    of different shapes become lists."""
    if a == b:
        return a
    if a == pl.Null:
        return b
    if b == pl.Null:
        return a
    if _is_number(a) and _is_number(b):
        return _numeric_supertype(a, b)
    if isinstance(a, pl.List) and isinstance(b, pl.List):
        inner = unify_dtypes(a.inner, b.inner)
        return pl.List(inner) if inner is not None else None
    if isinstance(a, pl.Array) and isinstance(b, pl.Array) and a.shape == b.shape:
        inner = unify_dtypes(a.inner, b.inner)
        return pl.Array(inner, a.shape) if inner is not None else None
    if isinstance(a, pl.Array | pl.List) and isinstance(b, pl.Array | pl.List):
        inner = unify_dtypes(a.inner, b.inner)  # differing shapes: fall back to lists
        return pl.List(inner) if inner is not None else None
    return None


def _is_number(dtype: PolarsType) -> bool:
    return dtype.is_numeric() or dtype == pl.Boolean


def _numeric_supertype(a: PolarsType, b: PolarsType) -> PolarsType | None:
    try:
        common = np.result_type(_numpy_dtype(a), _numpy_dtype(b))
        return pl.Series(np.empty(0, dtype=common)).dtype
    except (TypeError, ValueError, pl.exceptions.PolarsError):
        pass
    try:  # a type numpy does not have (Decimal, Int128): polars' own supertype
        empty = [pl.DataFrame(schema={"x": t}) for t in (a, b)]
        return pl.concat(empty, how="vertical_relaxed").schema["x"]
    except pl.exceptions.PolarsError:
        return None


def _numpy_dtype(dtype: PolarsType) -> np.dtype:
    numpy_dtype: np.dtype = pl.Series([], dtype=dtype).to_numpy().dtype
    return numpy_dtype


def unified_schema(
    sources: Sequence[Source],
    table_path: str,
    *,
    exact_path: bool = False,
    exclude_array_columns: bool = False,
    raise_on_missing: bool = False,
    ignore_errors: bool = False,
    disable_progress: bool = True,
) -> tuple[dict[str, PolarsType], list[Source]]:
    """The union of the files' columns with unified types, and the sources that have the table.

    A column whose type differs between files is widened to the common type (see
    unify_dtypes) with a warning naming the column, both types and both files, as lazynwb
    warns; types that have none (text in one file, numbers in another) raise
    SchemaMismatchError naming the same."""
    schema: dict[str, PolarsType] = {}
    seen_in: dict[str, str] = {}
    warned: set[str] = set()
    present: list[Source] = []
    missing: list[InternalPathError] = []
    results = map_sources(
        sources,
        lambda s: open_table(s, table_path, exact_path),
        ignore_errors=ignore_errors,
        disable_progress=disable_progress,
        desc=f"Reading {table_path} schema",
    )
    for source, table in results:
        if isinstance(table, Missing):
            missing.append(table.error)
            continue
        if is_skipped(table):
            continue
        present.append(source)
        for name, dtype in table.schema(exclude_array_columns).items():
            if name not in schema:
                schema[name], seen_in[name] = dtype, source.label
                continue
            common = unify_dtypes(schema[name], dtype)
            if common is None:
                raise SchemaMismatchError(
                    f"column {name!r} of {table.path} is {schema[name]} in {seen_in[name]!r} "
                    f"but {dtype} in {source.label!r}",
                    source=source.label,
                    path=table.path,
                )
            if common != schema[name] or common != dtype:
                if name not in warned:
                    warned.add(name)
                    warnings.warn(
                        f"column {name!r} of {table.path} is {schema[name]} in "
                        f"{redact(seen_in[name])!r} but {dtype} in {redact(source.label)!r}: "
                        f"read as {common} in every file",
                        stacklevel=3,
                    )
            schema[name] = common
    report_missing(missing, len(sources), raise_on_missing)
    return dict(sorted(schema.items())), present


def get_table_schema(
    file_paths: PathLike | Iterable[PathLike],
    table_path: str,
    first_n_files_to_infer_schema: int | None = None,
    exclude_array_columns: bool = False,
    exclude_internal_columns: bool = False,
    raise_on_missing: bool = False,
) -> pl.Schema:
    """The table's polars Schema, unified across files (from metadata; no column data read)."""
    sources = to_sources(file_paths)
    if first_n_files_to_infer_schema is not None:
        sources = sources[: max(1, first_n_files_to_infer_schema)]
    schema, _ = unified_schema(  # a path or shortcut, never a guess (as lazynwb)
        sources, table_path, exact_path=True, exclude_array_columns=exclude_array_columns,
        raise_on_missing=raise_on_missing,
    )
    if not exclude_internal_columns:
        schema.update(INTERNAL_SCHEMA)
    return pl.Schema(schema)


def get_df(
    nwb_data_sources: PathLike | Iterable[PathLike],
    search_term: str,
    exact_path: bool = False,
    include_column_names: str | Iterable[str] | None = None,
    exclude_column_names: str | Iterable[str] | None = None,
    nwb_path_to_row_indices: Mapping[str, Sequence[int]] | None = None,
    exclude_array_columns: bool = True,
    parallel: bool = True,
    use_process_pool: bool = False,
    disable_progress: bool = False,
    raise_on_missing: bool = False,
    ignore_errors: bool = False,
    low_memory: bool = False,
    as_polars: bool | None = None,
) -> pd.DataFrame | pl.DataFrame:
    """A table from one or many NWB files as one DataFrame, rows in source order.

    Only the chosen columns are read; with `nwb_path_to_row_indices` only those rows, in
    the order given (a repeated index gives a repeated row).
    `use_process_pool` is accepted for compatibility (threads are used: reads release the GIL).
    """
    sources = to_sources(nwb_data_sources)
    include = _names(include_column_names)
    exclude = _names(exclude_column_names)
    schema, present = unified_schema(  # array columns stay when named, as lazynwb
        sources, search_term, exact_path=exact_path, raise_on_missing=raise_on_missing,
        ignore_errors=ignore_errors, exclude_array_columns=exclude_array_columns and include is None,
    )
    if include is not None:
        unknown = [c for c in include if c not in schema and c not in INTERNAL_SCHEMA]
        if unknown:
            raise ColumnError(
                f"no column(s) {unknown} in table {search_term!r}; columns: {list(schema)}",
                source=sources[0].label if len(sources) == 1 else None,
            )
    row_map = {to_source(k).uri: v for k, v in (nwb_path_to_row_indices or {}).items()}
    if row_map:
        present = [s for s in present if s.uri in row_map]

    def work(source: Source) -> pl.DataFrame:
        table = open_table(source, search_term, exact_path)
        columns = choose_columns(table, include, exclude, exclude_array_columns)
        request = TableRequest(search_term, exact_path, columns=columns)
        rows = row_map.get(source.uri)
        return read_table_rows(source, request, None if rows is None else np.asarray(rows), table)

    frames = [
        frame
        for _, frame in map_sources(
            present, work, parallel=parallel and not low_memory, ignore_errors=ignore_errors,
            disable_progress=disable_progress, desc=f"Getting {search_term} table",
        )
        if isinstance(frame, pl.DataFrame)
    ]
    out_schema = {
        name: dtype
        for name, dtype in schema.items()
        if (include is None or name in include) and name not in set(exclude or ())
    }
    out_schema.update(INTERNAL_SCHEMA)
    frames = [f.select([_col(f, n, t) for n, t in out_schema.items()]) for f in frames]
    df = pl.concat(frames, how="vertical") if frames else pl.DataFrame(schema=out_schema)
    return df if resolve_as_polars(as_polars) else df.to_pandas()


def _col(frame: pl.DataFrame, name: str, dtype: PolarsType) -> pl.Expr:
    if name in frame.columns:
        return pl.col(name).cast(dtype) if frame.schema[name] != dtype else pl.col(name)
    return pl.lit(None, dtype).alias(name)


def merge_array_column(df: Any, column_name: str, missing_ok: bool = True) -> Any:
    """Add a ragged or n-D column later, for the rows `df` already holds.

    `df` must have the _nwb_path, _table_path and _table_index columns (as get_df gives);
    only those rows' values are read. Works on polars and pandas frames."""
    is_pandas = isinstance(df, pd.DataFrame)
    frame = pl.from_pandas(df) if is_pandas else df
    if isinstance(frame, pl.LazyFrame):
        frame = frame.collect()
    needed = {NWB_PATH_COLUMN_NAME, TABLE_PATH_COLUMN_NAME, TABLE_INDEX_COLUMN_NAME}
    if not needed <= set(frame.columns):
        raise ColumnError(f"merge_array_column needs the columns {sorted(needed)}")
    parts = []
    keys = frame.select(NWB_PATH_COLUMN_NAME, TABLE_PATH_COLUMN_NAME).unique(maintain_order=True)
    for nwb_path, table_path in keys.iter_rows():
        rows = np.unique(frame.filter(  # each row's value once: the join repeats it
            (pl.col(NWB_PATH_COLUMN_NAME) == nwb_path) & (pl.col(TABLE_PATH_COLUMN_NAME) == table_path)
        )[TABLE_INDEX_COLUMN_NAME].to_numpy())
        source = to_source(nwb_path)
        table = open_table(source, "/" + table_path, exact_path=True)
        if column_name not in table.columns:
            if missing_ok:
                continue
            raise ColumnError(f"no column {column_name!r}", source=source.label, path=table.path)
        request = TableRequest("/" + table_path, True, columns=[column_name])
        parts.append(read_table_rows(source, request, rows, table))
    if not parts:
        if missing_ok:
            return df
        raise ColumnError(f"no column {column_name!r} in any file of the frame")
    values = pl.concat(parts, how="vertical_relaxed").select(
        column_name, NWB_PATH_COLUMN_NAME, TABLE_PATH_COLUMN_NAME, TABLE_INDEX_COLUMN_NAME
    )
    merged = frame.drop(column_name, strict=False).join(
        values, on=[NWB_PATH_COLUMN_NAME, TABLE_PATH_COLUMN_NAME, TABLE_INDEX_COLUMN_NAME],
        how="left", maintain_order="left",
    )
    return merged.to_pandas() if is_pandas else merged
