"""scan_nwb: a table across files as a polars LazyFrame (an IO source with pushdown).

Polars hands the source the projected columns, the predicate, n_rows and a batch size. Per
file we read the predicate's columns first, keep the surviving rows, then read the other
projected columns for those rows only. Predicates on `_nwb_path` / `_table_path` prune whole
files before anything is read from them. `head(n)` stops reading once n rows are out.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Iterable, Iterator
from typing import Any

import polars as pl
from polars.io.plugins import register_io_source

from ..multifile import is_skipped, map_sources
from ..nwb.columns import PolarsType
from ..nwb.table_query import (
    INTERNAL_SCHEMA,
    NWB_PATH_COLUMN_NAME,
    TABLE_PATH_COLUMN_NAME,
    TableRequest,
    align,
    read_table_rows,
    table_path_label,
)
from ..sources import PathLike, Source, to_sources
from .frames import unified_schema

_FILE_COLUMNS = {NWB_PATH_COLUMN_NAME, TABLE_PATH_COLUMN_NAME}
# What .explain() calls the source; polars before 1.33 has no such arguments
_EXPLAINS = "explain_name" in inspect.signature(register_io_source).parameters
_LOW_MEMORY_BATCH = 10_000


def conjuncts(predicate: pl.Expr) -> list[pl.Expr]:
    """`a & b & c` -> [a, b, c] (anything else -> [predicate])."""
    try:
        tree = json.loads(predicate.meta.serialize(format="json"))
    except Exception:  # noqa: BLE001 - unknown serialization: do not split
        return [predicate]
    node = tree.get("BinaryExpr") if isinstance(tree, dict) else None
    if not node or node.get("op") not in ("And", "LogicalAnd"):
        return [predicate]
    left, right = predicate.meta.pop()
    return conjuncts(left) + conjuncts(right)


def prune_sources(sources: list[Source], table_path: str, predicate: pl.Expr | None) -> list[Source]:
    """Drop files that a predicate on _nwb_path / _table_path rules out, before any read."""
    if predicate is None:
        return sources
    file_level = [c for c in conjuncts(predicate) if set(c.meta.root_names()) <= _FILE_COLUMNS]
    if not file_level:
        return sources
    frame = pl.DataFrame(
        {
            NWB_PATH_COLUMN_NAME: [s.label for s in sources],
            TABLE_PATH_COLUMN_NAME: [table_path_label(table_path)] * len(sources),
        }
    ).with_row_index("__i")
    try:
        keep = frame.filter(*file_level)["__i"].to_list()
    except pl.exceptions.PolarsError:
        return sources
    return [sources[i] for i in keep]


def scan_nwb(
    source: PathLike | Iterable[PathLike],
    table_path: str,
    raise_on_missing: bool = False,
    ignore_errors: bool = False,
    infer_schema_length: int | None = None,
    exclude_array_columns: bool = False,
    low_memory: bool = False,
    single_file_batches: bool = False,
    schema: dict[str, PolarsType] | None = None,
    schema_overrides: dict[str, PolarsType] | None = None,
    disable_progress: bool = False,
) -> pl.LazyFrame:
    """A lazy table over one or many NWB files, with projection and predicate pushdown.

    `table_path` is the table's path (or a shortcut: units, trials, ...), never a guess: as
    in lazynwb, a path no file has raises InternalPathError naming it (get_df alone also
    accepts part of a path)."""
    sources = to_sources(source)
    if schema is None:
        infer_from = sources if infer_schema_length is None else sources[: max(1, infer_schema_length)]
        inferred, _ = unified_schema(
            infer_from, table_path, exact_path=True, exclude_array_columns=exclude_array_columns,
            raise_on_missing=raise_on_missing, ignore_errors=ignore_errors,
        )
        full_schema = {**inferred, **INTERNAL_SCHEMA}
    else:
        full_schema = dict(schema)
        for name, dtype in INTERNAL_SCHEMA.items():
            full_schema.setdefault(name, dtype)
    full_schema.update(schema_overrides or {})
    data_columns = [c for c in full_schema if c not in INTERNAL_SCHEMA]

    def generate(
        with_columns: list[str] | None,
        predicate: pl.Expr | None,
        n_rows: int | None,
        batch_size: int | None,
    ) -> Iterator[pl.DataFrame]:
        out_columns = with_columns or list(full_schema)
        wanted = [c for c in out_columns if c in data_columns]
        files = prune_sources(sources, table_path, predicate)
        remaining = n_rows
        request = TableRequest(
            table_path, exact_path=True, columns=wanted, predicate=predicate, schema=full_schema,
            n_rows=n_rows,
        )
        missing = []

        def work(s: Source) -> pl.DataFrame:
            return read_table_rows(s, request)

        results = map_sources(  # head(n): file by file, stopping once n rows are out
            files, work, parallel=not (low_memory or single_file_batches or n_rows is not None),
            ignore_errors=ignore_errors, disable_progress=disable_progress,
            desc=f"Scanning {table_path}",
        )
        for src, frame in results:
            if not isinstance(frame, pl.DataFrame):
                if not is_skipped(frame):
                    missing.append(frame.error)
                    if raise_on_missing or len(missing) == len(files):
                        raise missing[0]  # in no file at all: a typo, not "no rows"
                continue
            frame = align(frame, full_schema, src.label, table_path).select(out_columns)
            if remaining is not None:
                frame = frame.head(remaining)
                remaining -= frame.height
            step = min(batch_size or _LOW_MEMORY_BATCH, _LOW_MEMORY_BATCH) if low_memory else None
            if step:
                for offset in range(0, frame.height, step):
                    yield frame.slice(offset, step)
            else:
                yield frame
            if remaining is not None and remaining <= 0:
                return

    explain: dict[str, Any] = {"explain_name": "NWB", "explain_detail": f"{table_path} in {len(sources)} file(s)"}
    return register_io_source(
        generate, schema=pl.Schema(full_schema), **(explain if _EXPLAINS else {})
    )


def read_nwb(
    source: PathLike | Iterable[PathLike],
    table_path: str,
    raise_on_missing: bool = False,
    ignore_errors: bool = False,
    infer_schema_length: int | None = None,
    exclude_array_columns: bool = False,
    low_memory: bool = False,
    single_file_batches: bool = False,
    schema: dict[str, PolarsType] | None = None,
    schema_overrides: dict[str, PolarsType] | None = None,
    disable_progress: bool = False,
) -> pl.DataFrame:
    """scan_nwb(...).collect()."""
    return scan_nwb(
        source, table_path, raise_on_missing=raise_on_missing, ignore_errors=ignore_errors,
        infer_schema_length=infer_schema_length, exclude_array_columns=exclude_array_columns,
        low_memory=low_memory, single_file_batches=single_file_batches, schema=schema,
        schema_overrides=schema_overrides, disable_progress=disable_progress,
    ).collect()
