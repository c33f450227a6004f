"""Time series as tables: one row per sample (data, timestamps, and the internal columns).

`series_frame` is what `get(..., as_df=True)` returns for a series and `scan_series` the
lazy version that `get_sql_context` registers. Timestamps of a series stored as
starting_time + rate are computed. Multi-dimensional data becomes a polars Array column,
or is left out with exclude_array_columns (lazynwb's get_df does the same).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Sequence

import numpy as np
import polars as pl
from polars.io.plugins import register_io_source

from ..catalog import open_catalog_for
from ..errors import redact
from ..multifile import Missing, is_skipped, map_sources
from ..nwb.columns import PolarsType, polars_dtype
from ..nwb.table_query import (
    INTERNAL_SCHEMA,
    NWB_PATH_COLUMN_NAME,
    TABLE_INDEX_COLUMN_NAME,
    TABLE_PATH_COLUMN_NAME,
    table_path_label,
)
from ..nwb.timeseries import SeriesFieldError, TimeSeries
from ..sources import Source
from .timeseries import find_series


def _series(source: Source, path: str, exact_path: bool = True) -> TimeSeries:
    catalog = open_catalog_for(source, path)
    found = find_series(catalog, path, exact_path=exact_path)
    if not found:
        from ..errors import InternalPathError

        raise InternalPathError("no such time series", source=source.label, path=path)
    return TimeSeries(source.label, found[0], catalog)


def series_schema(source: Source, path: str, exclude_array_columns: bool = True) -> dict[str, PolarsType]:
    """Column types of a series' frame, from metadata only."""
    ts = _series(source, path)
    schema: dict[str, PolarsType] = {}
    try:
        data = ts.data
    except SeriesFieldError:
        data = None
    if data is not None and data.ndim >= 1:
        dtype = polars_dtype(data._meta)
        if data.ndim == 1:
            schema["data"] = dtype
        elif not exclude_array_columns:
            schema["data"] = pl.Array(dtype, data.shape[1:])
    schema["timestamps"] = pl.Float64
    return schema


def series_frame(
    source: Source,
    path: str,
    *,
    columns: Sequence[str] | None = None,
    exclude_array_columns: bool = True,
    exact_path: bool = True,
) -> pl.DataFrame:
    """One file's series as a frame (only the requested columns are read)."""
    ts = _series(source, path, exact_path)
    schema = series_schema(source, ts._table_path, exclude_array_columns)
    wanted = [c for c in (columns if columns is not None else schema) if c in schema]
    try:
        timestamps = ts.timestamps
    except SeriesFieldError:
        timestamps = None
    n = len(timestamps) if timestamps is not None else ts.num_samples
    out: dict[str, pl.Series] = {}
    if "data" in wanted:
        data = ts.data
        if data.shape[0] != n:
            warnings.warn(
                f"{ts._table_path} in {redact(source.label)}: data has {data.shape[0]} samples, "
                f"timestamps {n}; data left out",
                stacklevel=3,
            )
        else:
            values = np.asarray(data[:])
            dtype = schema["data"]
            out["data"] = (pl.Series("data", values.tolist(), dtype=dtype)
                           if values.dtype == object else pl.Series("data", values, dtype=dtype))
    if "timestamps" in wanted:
        values = (np.asarray(timestamps[:], dtype=np.float64) if timestamps is not None
                  else np.full(n, np.nan))
        out["timestamps"] = pl.Series("timestamps", values)
    out[NWB_PATH_COLUMN_NAME] = pl.Series(NWB_PATH_COLUMN_NAME, [source.label] * n, dtype=pl.String)
    out[TABLE_PATH_COLUMN_NAME] = pl.Series(
        TABLE_PATH_COLUMN_NAME, [table_path_label(ts._table_path)] * n, dtype=pl.String
    )
    out[TABLE_INDEX_COLUMN_NAME] = pl.Series(TABLE_INDEX_COLUMN_NAME, np.arange(n, dtype=np.int64))
    return pl.DataFrame(out)  # the internal columns give the height (polars 1.x: no height=)


def _first_schema(sources: Sequence[Source], path: str, exclude_array_columns: bool) -> dict[str, PolarsType]:
    """The series' schema from the first file that has it."""
    errors = []
    for source in sources:
        try:
            return series_schema(source, path, exclude_array_columns)
        except LookupError as exc:  # InternalPathError: not in this file
            errors.append(exc)
    raise errors[0] if errors else ValueError("no sources")


def scan_series(
    sources: Sequence[Source],
    path: str,
    *,
    exclude_array_columns: bool = True,
    ignore_errors: bool = True,
    disable_progress: bool = True,
) -> pl.LazyFrame:
    """A lazy frame of one series path across files (projection and n_rows pushed down)."""
    schema = {**_first_schema(sources, path, exclude_array_columns), **INTERNAL_SCHEMA}

    def generate(
        with_columns: list[str] | None,
        predicate: pl.Expr | None,
        n_rows: int | None,
        batch_size: int | None,
    ) -> Iterator[pl.DataFrame]:
        names = with_columns or list(schema)
        need = list(dict.fromkeys([*names, *(predicate.meta.root_names() if predicate is not None else [])]))
        remaining = n_rows
        results = map_sources(
            list(sources),
            lambda s: series_frame(s, path, columns=need,
                                   exclude_array_columns=exclude_array_columns),
            ignore_errors=ignore_errors, disable_progress=disable_progress,
            desc=f"Scanning {path}",
        )
        for _source, frame in results:
            if isinstance(frame, Missing) or is_skipped(frame):
                continue
            frame = frame.with_columns(
                [pl.lit(None, dtype=t).alias(c) for c, t in schema.items() if c in need and c not in frame.columns]
            ).cast({c: t for c, t in schema.items() if c in need}, strict=False)
            if predicate is not None:
                frame = frame.filter(predicate)
            frame = frame.select(names)
            if remaining is not None:
                frame = frame.head(remaining)
                remaining -= frame.height
            yield frame
            if remaining is not None and remaining <= 0:
                return

    return register_io_source(generate, schema=pl.Schema(schema))
