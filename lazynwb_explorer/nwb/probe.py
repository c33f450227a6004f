"""Where electrodes sit on their probes, and which electrode each unit was recorded best on.

Positions: an electrodes table may say where a site is on its shank (`rel_x`, `rel_y`; the
Allen Institute's `probe_horizontal_position`, `probe_vertical_position`) or in the brain
(`x`, `y`, `z`). A probe's layout is drawn from the first pair present; from x, y, z the two
axes that vary most are used. Sites are grouped by `group_name` (a shank), else `group`.

Peak channels: a unit's `electrodes` region (its first row is the peak channel, as pynwb and
SpikeInterface write it), else a `peak_channel_id` / `peak_channel` / `max_channel` column
matched to the electrodes' `id` (or, when no id matches, taken as a row).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import polars as pl

from ..catalog import Catalog
from ..sources import Source
from .kinds import is_table
from .table_query import TABLE_INDEX_COLUMN_NAME, TableRequest, read_table_rows
from .tables import describe_table

ELECTRODES = "/general/extracellular_ephys/electrodes"
PAIRS = (("rel_x", "rel_y"), ("probe_horizontal_position", "probe_vertical_position"))
AXES = ("x", "y", "z")
PEAK_COLUMNS = ("peak_channel_id", "peak_channel", "max_channel", "peak_electrode")
GROUP_COLUMNS = ("group_name", "group")


def electrode_table(catalog: Catalog) -> str | None:
    """The file's electrodes table, when it has one."""
    return ELECTRODES if is_table(catalog, ELECTRODES) else None


def position_columns(catalog: Catalog, path: str) -> list[str]:
    """The columns a layout could be drawn from (a pair, or the x, y, z present)."""
    if not is_table(catalog, path):
        return []
    columns = describe_table(catalog, path).columns
    for pair in PAIRS:
        if all(c in columns and not columns[c].is_array for c in pair):
            return list(pair)
    return [c for c in AXES if c in columns and not columns[c].is_array]


@dataclasses.dataclass
class Layout:
    """Every site: its row, id, place (x, y), group (shank) and location."""

    frame: pl.DataFrame  # _table_index, id, x, y, group, location
    x_name: str
    y_name: str


def read_layout(source: Source, catalog: Catalog, path: str) -> Layout:
    """The sites of an electrodes table and where they are (see the module docstring)."""
    positions = position_columns(catalog, path)
    if len(positions) < 2:
        raise ValueError(f"{path} has no positions to draw (rel_x/rel_y or x/y/z)")
    columns = describe_table(catalog, path).columns
    group = next((c for c in GROUP_COLUMNS if c in columns), None)
    wanted = [*positions, *[c for c in ("id", "location") if c in columns]]
    wanted += [group] if group else []
    frame = read_table_rows(source, TableRequest(path, exact_path=True, columns=wanted))
    if len(positions) > 2:  # x, y, z: the two that vary most
        spread = {c: float(np.nanmax(v) - np.nanmin(v)) if len(v) else 0.0
                  for c in positions for v in [frame[c].cast(pl.Float64).to_numpy()]}
        positions = sorted(positions, key=lambda c: -spread[c])[:2]
        positions = [c for c in AXES if c in positions]
    x_name, y_name = positions
    out = pl.DataFrame({
        TABLE_INDEX_COLUMN_NAME: frame[TABLE_INDEX_COLUMN_NAME],
        "id": frame["id"] if "id" in frame.columns else frame[TABLE_INDEX_COLUMN_NAME],
        "x": frame[x_name].cast(pl.Float64), "y": frame[y_name].cast(pl.Float64),
        "group": frame[group].cast(pl.String) if group else pl.Series([""] * frame.height),
        "location": (frame["location"].cast(pl.String) if "location" in frame.columns
                     else pl.Series([None] * frame.height, dtype=pl.String)),
    })
    return Layout(out, x_name, y_name)


def peak_rows(source: Source, catalog: Catalog, units_path: str, layout: Layout) -> np.ndarray:
    """Each unit's peak electrode as a row of the electrodes table (-1 when unknown)."""
    if not is_table(catalog, units_path):
        return np.zeros(0, dtype=np.int64)
    table = describe_table(catalog, units_path)
    n = table.length
    region = table.columns.get("electrodes")
    if region is not None and region.is_ragged and region.region:
        frame = read_table_rows(source, TableRequest(units_path, exact_path=True,
                                                     columns=["electrodes"]))
        firsts = frame["electrodes"].list.first().fill_null(-1)
        return firsts.cast(pl.Int64).to_numpy()
    column = next((c for c in PEAK_COLUMNS if c in table.columns
                   and not table.columns[c].is_array), None)
    if column is None:
        return np.full(n, -1, dtype=np.int64)
    frame = read_table_rows(source, TableRequest(units_path, exact_path=True, columns=[column]))
    values = frame[column].cast(pl.Int64, strict=False).fill_null(-1).to_numpy()
    ids = layout.frame["id"].cast(pl.Int64, strict=False).to_numpy()
    rows = layout.frame[TABLE_INDEX_COLUMN_NAME].to_numpy()
    by_id = dict(zip(ids.tolist(), rows.tolist()))
    if any(v in by_id for v in values.tolist() if v >= 0):
        return np.array([by_id.get(v, -1) for v in values.tolist()], dtype=np.int64)
    return np.where((values >= 0) & (values < len(rows)), values, -1).astype(np.int64)
