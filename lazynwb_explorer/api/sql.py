"""get_sql_context: every table the files share, registered for SQL as a lazy scan.

Tables are `scan_nwb` LazyFrames (projection and predicate pushdown, nothing read until a
query runs); time series are lazy frames of data + timestamps; /general and
/general/subject are the typed session / subject fields, one row per file (read when the
context is built: a few small reads per file). Names are the last path component
('trials', 'units'; /general is 'session' with rename_general_metadata); names that would
collide use the full path with '_' for '/', with a warning.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable
from typing import Any

import polars as pl

from ..sources import PathLike, to_sources
from .discovery import common_tables, metadata_frame
from .scan import scan_nwb
from .series_frames import scan_series


def sql_table_name(table_path: str, *, full_path: bool, rename_general_metadata: bool) -> str:
    """lazynwb's names: last component (or the whole path), /general -> 'session'."""
    path = table_path.strip("/")
    if rename_general_metadata and path == "general":
        return "session"
    return path if full_path else path.split("/")[-1]


def get_sql_context(
    nwb_sources: PathLike | Iterable[PathLike],
    *,
    full_path: bool = False,
    min_file_count: int = 1,
    exclude_array_columns: bool = False,
    exclude_timeseries: bool = False,
    ignore_errors: bool = True,
    disable_progress: bool = False,
    infer_schema_length: int | None = None,
    table_names: Iterable[str] | None = None,
    rename_general_metadata: bool = True,
    **sqlcontext_kwargs: Any,
) -> pl.SQLContext[Any]:  # of DataFrames or LazyFrames: sqlcontext_kwargs' eager
    """A polars SQLContext with one lazy frame per table found in >= min_file_count files.

    infer_schema_length: discover tables (and infer schemas) from the first n files only.
    table_names: register only these names (ValueError naming the available ones if any is
    unknown). exclude_timeseries: leave time series out. sqlcontext_kwargs go to
    pl.SQLContext.

    >>> ctx = get_sql_context(files)                                     # doctest: +SKIP
    >>> ctx.execute("SELECT location, COUNT(*) FROM units GROUP BY 1").collect()  # doctest: +SKIP
    """
    if isinstance(nwb_sources, str | os.PathLike):
        nwb_sources = [nwb_sources]
    sources = to_sources(nwb_sources)
    discover_from = sources[:infer_schema_length] if infer_schema_length else sources
    tables = common_tables(discover_from, min_file_count, include_series=not exclude_timeseries,
                           disable_progress=disable_progress)
    names: dict[str, str] = {}
    by_name: dict[str, list[str]] = {}
    for path in tables:
        name = sql_table_name(path, full_path=full_path,
                              rename_general_metadata=rename_general_metadata)
        names[path] = name
        by_name.setdefault(name, []).append(path)
    for name, paths in by_name.items():
        if len(paths) > 1:
            warnings.warn(f"{paths} would all be named {name!r}: registered by full path "
                          "('/' -> '_') instead", stacklevel=2)
            for path in paths:
                names[path] = path.strip("/").replace("/", "_")
    if table_names is not None:
        requested = set(table_names)
        unknown = requested - set(names.values())
        if unknown:
            raise ValueError(f"table_names {sorted(unknown)} not found; tables: "
                             f"{sorted(names.values())} ({full_path=} changes the names)")
        names = {p: n for p, n in names.items() if n in requested}
    context = pl.SQLContext(**sqlcontext_kwargs)
    for path, name in names.items():
        kind = tables[path]
        if kind == "metadata":
            frame = metadata_frame(sources, path, ignore_errors=ignore_errors).lazy()
        elif kind == "series":
            frame = scan_series(sources, path, exclude_array_columns=exclude_array_columns,
                                ignore_errors=ignore_errors, disable_progress=disable_progress)
        else:
            frame = scan_nwb(sources, path, exclude_array_columns=exclude_array_columns,
                             ignore_errors=ignore_errors, disable_progress=disable_progress,
                             infer_schema_length=infer_schema_length)
        context.register(name, frame)
    return context
