"""Which tables several files share, and the metadata 'tables' (/general, /general/subject).

Used by convert_nwb_tables and get_sql_context. A path counts in a file when it is a
DynamicTable (has colnames), a time series (when asked for), or one of the metadata groups.
Metadata frames are built from the typed fields of `nwb/session.py` (one row per file), not
from the raw datasets, so they have the same columns and types in every file.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any, Literal

import polars as pl

from ..catalog import open_catalog
from ..multifile import Missing, is_skipped, map_sources
from ..nwb.kinds import is_series, is_table
from ..nwb.session import SESSION_FIELDS, SUBJECT_FIELDS, read_fields
from ..nwb.table_query import NWB_PATH_COLUMN_NAME, TABLE_INDEX_COLUMN_NAME, TABLE_PATH_COLUMN_NAME
from ..sources import Source
from .metadata import FIELD_KINDS, records_to_polars

Kind = Literal["table", "series", "metadata"]
METADATA_PATHS = {"/general": SESSION_FIELDS, "/general/subject": SUBJECT_FIELDS}


def file_tables(source: Source, include_series: bool = False) -> dict[str, Kind]:
    """The table-like paths of one file."""
    catalog = open_catalog(source)
    out: dict[str, Kind] = {}
    for path, node in catalog.nodes.items():
        if not node.is_group or path.startswith("/specifications"):
            continue
        if is_table(catalog, path):
            out[path] = "table"
        elif include_series and is_series(catalog, path):
            out[path] = "series"
    for path in METADATA_PATHS:
        if catalog.get(path) is not None:
            out[path] = "metadata"
    return out


def common_tables(
    sources: Sequence[Source],
    min_file_count: int = 1,
    *,
    include_series: bool = False,
    disable_progress: bool = False,
) -> dict[str, Kind]:
    """Paths found in at least `min_file_count` files (unreadable files warn and are
    skipped), sorted by path."""
    counts: Counter[str] = Counter()
    kinds: dict[str, Kind] = {}
    for _source, found in map_sources(
        list(sources), lambda s: file_tables(s, include_series), ignore_errors=True,
        disable_progress=disable_progress, desc="Scanning NWB files",
    ):
        if isinstance(found, Missing) or is_skipped(found):
            continue
        counts.update(list(found))
        for path, kind in found.items():
            kinds.setdefault(path, kind)
    return {p: kinds[p] for p in sorted(counts) if counts[p] >= max(1, min_file_count)}


def metadata_frame(
    sources: Sequence[Source], path: str, *, ignore_errors: bool = True,
    disable_progress: bool = True,
) -> pl.DataFrame:
    """/general (session fields) or /general/subject (subject fields) as one row per file,
    with the internal columns (_table_index is 0: one 'row' per file)."""
    fields = METADATA_PATHS[path]

    def read(source: Source) -> dict[str, Any]:
        return {**read_fields(open_catalog(source), fields), NWB_PATH_COLUMN_NAME: source.label}

    records = [
        r for _s, r in map_sources(list(sources), read, ignore_errors=ignore_errors,
                                   disable_progress=disable_progress, desc=f"Reading {path}")
        if isinstance(r, dict)
    ]
    frame = records_to_polars(records, FIELD_KINDS) if records else pl.DataFrame(
        {name: pl.Series(name, [], dtype=pl.String) for name in [*fields, NWB_PATH_COLUMN_NAME]}
    )
    return frame.with_columns(
        pl.lit(path.lstrip("/"), dtype=pl.String).alias(TABLE_PATH_COLUMN_NAME),
        pl.lit(0, dtype=pl.Int64).alias(TABLE_INDEX_COLUMN_NAME),
    )
