"""convert_nwb_tables: export the tables files share, one output file per table.

Formats: parquet, feather / arrow (IPC) and delta keep every column type (fixed-shape
arrays become lists in delta). Formats that cannot hold some types get a fixed treatment,
never a crash:
  csv, excel   list / array / struct columns are written as JSON text ("[1.0, 2.5]"),
               binary as hex text; excel gets times in UTC without a zone (Excel has none),
               and text longer than Excel's cell limit (32,767 characters) is cut, with a
               warning naming the table and column.
  json         fixed-shape arrays become lists (JSON has no fixed-size arrays).
  avro         arrays become lists; 8/16-bit and unsigned integers are widened to the
               smallest signed Avro int that holds them (uint64 beyond int64 becomes text);
               times are written in UTC without a zone.
/general and /general/subject are exported as one row per file of typed session / subject
fields (see nwb/session.py). The files written name each source in `_nwb_path` without its
secrets: no query string (a presigned URL's signature), no user:password@.
"""

from __future__ import annotations

import json
import os
import pathlib
import re
import warnings
from collections.abc import Iterable
from typing import Any, Literal

import polars as pl

from ..errors import redact
from ..nwb.columns import PolarsType
from ..nwb.session import read_field
from ..nwb.table_query import NWB_PATH_COLUMN_NAME
from ..sources import PathLike, Source, public_uri, to_sources
from .discovery import common_tables, metadata_frame
from .frames import get_table_schema
from .scan import scan_nwb

OutputFormat = Literal["parquet", "csv", "json", "excel", "feather", "arrow", "avro", "delta"]
OUTPUT_FORMATS: dict[str, tuple[str, str]] = {
    "parquet": ("write_parquet", ".parquet"),
    "csv": ("write_csv", ".csv"),
    "json": ("write_json", ".json"),
    "excel": ("write_excel", ".xlsx"),
    "feather": ("write_ipc", ".feather"),
    "arrow": ("write_ipc", ".arrow"),
    "avro": ("write_avro", ".avro"),
    "delta": ("write_delta", ""),  # a directory
}
EXCEL_CELL_LIMIT = 32_767


# -- making a frame fit a format ------------------------------------------------------------


def _lists_not_arrays(dtype: PolarsType) -> PolarsType:
    if isinstance(dtype, pl.Array | pl.List):
        return pl.List(_lists_not_arrays(dtype.inner))
    if isinstance(dtype, pl.Struct):
        return pl.Struct({f.name: _lists_not_arrays(f.dtype) for f in dtype.fields})
    return dtype


def _avro_dtype(dtype: PolarsType) -> PolarsType:
    if isinstance(dtype, pl.Array | pl.List):
        return pl.List(_avro_dtype(dtype.inner))
    if isinstance(dtype, pl.Struct):
        return pl.Struct({f.name: _avro_dtype(f.dtype) for f in dtype.fields})
    if dtype in (pl.Int8, pl.Int16, pl.UInt8, pl.UInt16):
        return pl.Int32
    if dtype in (pl.UInt32, pl.UInt64):
        return pl.Int64
    return dtype


def _is_nested(dtype: PolarsType) -> bool:
    return isinstance(dtype, pl.List | pl.Array | pl.Struct)


def _json_text(series: pl.Series) -> pl.Series:
    return pl.Series(series.name, [None if v is None else json.dumps(v, default=str)
                                   for v in series.to_list()], dtype=pl.String)


def _naive_utc(series: pl.Series) -> pl.Series:
    return series.dt.convert_time_zone("UTC").dt.replace_time_zone(None)


def fit_format(df: pl.DataFrame, output_format: str, table_path: str = "") -> pl.DataFrame:
    """The frame with the documented per-format treatment applied (module docstring)."""
    columns = []
    for series in df.get_columns():
        dtype = series.dtype
        if output_format in ("csv", "excel"):
            if _is_nested(dtype):
                series = _json_text(series)
            elif dtype == pl.Binary:
                series = series.bin.encode("hex")
            elif output_format == "excel" and isinstance(dtype, pl.Datetime) and dtype.time_zone:
                series = _naive_utc(series)
            if output_format == "excel" and series.dtype == pl.String:
                series = _excel_cells(series, table_path)
        elif output_format in ("json", "delta"):
            series = series.cast(_lists_not_arrays(dtype))
        elif output_format == "avro":
            if isinstance(dtype, pl.Datetime) and dtype.time_zone:
                series = _naive_utc(series)
            target = _avro_dtype(series.dtype)
            if series.dtype == pl.UInt64 and (series > 2**63 - 1).any():
                target = pl.String
            series = series.cast(target)
        columns.append(series)
    return pl.DataFrame(columns).rechunk()  # avro needs one chunk


def _excel_cells(series: pl.Series, table_path: str) -> pl.Series:
    too_long = series.str.len_chars() > EXCEL_CELL_LIMIT
    if not too_long.any():
        return series
    warnings.warn(
        f"{int(too_long.sum())} cell(s) of column {series.name!r} of {table_path} exceed "
        f"Excel's {EXCEL_CELL_LIMIT}-character limit and were cut (use parquet to keep them)",
        stacklevel=4,
    )
    return series.str.slice(0, EXCEL_CELL_LIMIT)


# -- names ----------------------------------------------------------------------------------


def output_name(table_path: str, full_path: bool) -> str:
    """'/intervals/trials' -> 'trials' (or 'intervals_trials' with full_path)."""
    path = table_path if full_path else table_path.rstrip("/").split("/")[-1]
    return path.lstrip("/").replace("/", "_").replace(" ", "_").strip()


def unique_names(paths: Iterable[str], full_path: bool) -> dict[str, str]:
    """A name per path; paths whose short names collide get full-path names (warned)."""
    paths = list(paths)
    short = {p: output_name(p, full_path) for p in paths}
    seen: dict[str, list[str]] = {}
    for p, n in short.items():
        seen.setdefault(n, []).append(p)
    for name, group in seen.items():
        if len(group) > 1:
            warnings.warn(f"tables {group} would all be named {name!r}: using full-path names",
                          stacklevel=3)
            for p in group:
                short[p] = output_name(p, True)
    return short


def session_name(source: Source) -> str:
    """A directory name for a file: session_id, else identifier, else the file's stem."""
    from ..catalog import open_catalog

    catalog = open_catalog(source)
    for path in ("/general/session_id", "/identifier"):
        value = read_field(catalog, path, None, "text")
        if isinstance(value, str) and value.strip():
            return re.sub(r'[\\/:*?"<>|\x00-\x1f]', "_", value).strip().strip(".") or "_"
    return pathlib.Path(source.label.rstrip("/")).name.split(".")[0]


# -- converting -----------------------------------------------------------------------------


def _read(
    sources: list[Source], path: str, kind: str, *, exclude_array_columns: bool,
    ignore_errors: bool, disable_progress: bool, schema: dict[str, PolarsType] | None = None,
) -> pl.DataFrame:
    if kind == "metadata":
        return metadata_frame(sources, path, ignore_errors=ignore_errors)
    return scan_nwb(
        sources, path, exclude_array_columns=exclude_array_columns,
        ignore_errors=ignore_errors, disable_progress=disable_progress, schema=schema,
    ).collect()


def _write(df: pl.DataFrame, output_format: str, output_path: pathlib.Path, table_path: str,
           write_kwargs: dict[str, Any]) -> None:
    """Write the frame; its _nwb_path holds each source without its secrets (public_uri: no
    query string, no user:password@), as a file written to disk may travel."""
    method, _ = OUTPUT_FORMATS[output_format]
    if NWB_PATH_COLUMN_NAME in df.columns:
        labels = df[NWB_PATH_COLUMN_NAME].unique().to_list()
        df = df.with_columns(pl.col(NWB_PATH_COLUMN_NAME).replace({v: public_uri(v) for v in labels if v}))
    getattr(fit_format(df, output_format, table_path), method)(output_path, **write_kwargs)


def convert_nwb_tables(
    nwb_sources: PathLike | Iterable[PathLike],
    output_dir: pathlib.Path | str,
    *,
    output_format: OutputFormat = "parquet",
    full_path: bool = False,
    min_file_count: int = 1,
    exclude_array_columns: bool = False,
    ignore_errors: bool = True,
    disable_progress: bool = False,
    session_subdirs: bool = False,
    **write_kwargs: Any,
) -> dict[str, pathlib.Path]:
    """Write each table found in at least `min_file_count` files to `output_dir`, rows of
    all files together; returns {table path: output path}.

    full_path: name outputs after the whole path ('intervals_trials.parquet') instead of
    the last component ('trials.parquet'). session_subdirs: one directory per file (named
    by session_id, else identifier), one schema per table across all files; keys become
    '{session}{table path}'. Empty tables are skipped. write_kwargs go to the polars writer.
    See the module docstring for what csv / excel / json / avro do with types they lack.
    """
    output_format = str(output_format).lower().strip(".")  # type: ignore[assignment]
    if output_format not in OUTPUT_FORMATS:
        raise ValueError(f"Unsupported output format {output_format!r}. "
                         f"Supported formats: {list(OUTPUT_FORMATS)}")
    if isinstance(nwb_sources, str | os.PathLike):
        nwb_sources = [nwb_sources]
    sources = to_sources(nwb_sources)
    out_dir = pathlib.Path(output_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    tables = common_tables(sources, min_file_count, disable_progress=disable_progress)
    names = unique_names(tables, full_path)
    extension = OUTPUT_FORMATS[output_format][1]
    written: dict[str, pathlib.Path] = {}
    kwargs: dict[str, Any] = dict(exclude_array_columns=exclude_array_columns, ignore_errors=ignore_errors,
                  disable_progress=disable_progress)
    if not session_subdirs:
        for path, kind in tables.items():
            target = out_dir / f"{names[path]}{extension}"
            try:
                df = _read(sources, path, kind, **kwargs)
                if df.is_empty():
                    continue
                _write(df, output_format, target, path, write_kwargs)
            except Exception as exc:  # noqa: BLE001 - one table's failure is reported, others go on
                if not ignore_errors:
                    raise
                warnings.warn(f"could not convert {path}: {exc}", stacklevel=2)
                continue
            written[path] = target
        return written
    schemas: dict[str, dict[str, PolarsType] | None] = {}
    for path, kind in tables.items():
        try:
            schemas[path] = None if kind == "metadata" else dict(get_table_schema(
                sources, path, exclude_array_columns=exclude_array_columns))
        except Exception as exc:  # noqa: BLE001
            if not ignore_errors:
                raise
            warnings.warn(f"could not find the schema of {path}: {exc}", stacklevel=2)
    for source in sources:
        session = session_name(source)
        for path, schema in schemas.items():
            target = out_dir / session / f"{names[path]}{extension}"
            try:
                df = _read([source], path, tables[path], schema=schema, **kwargs)
                if df.is_empty():
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                _write(df, output_format, target, path, write_kwargs)
            except Exception as exc:  # noqa: BLE001
                if not ignore_errors:
                    raise
                warnings.warn(f"could not convert {path} of {redact(source.label)}: {exc}", stacklevel=2)
                continue
            written[f"{session}{path}"] = target
    return written
