"""Names of the channels of an extracellular series, from the electrodes table it points to.

An ElectricalSeries (or any series with an `electrodes` DynamicTableRegion) says which rows of
the electrodes table its columns are: `electrodes[k]` is the row of channel k. A channel is
best named by what the table says of that row: its `label` / `channel_name` when the writer
stored one, else its id, with its `location` (brain area) when known. Reads the region and the
few label columns of the referenced rows only.
"""

from __future__ import annotations

import numpy as np

from ..catalog import Catalog, normalize_path
from .kinds import is_table
from .tables import describe_table, read_rows

_NAME_COLUMNS = ("label", "channel_name", "name")


def region_target(catalog: Catalog, path: str) -> str | None:
    """The table a DynamicTableRegion dataset points into (None when it is not one)."""
    node = catalog.get(normalize_path(path))
    if node is None or node.dataset is None:
        return None
    target = node.attrs.get("table")
    if node.neurodata_type != "DynamicTableRegion" or not isinstance(target, str):
        return None
    target = normalize_path(target)
    return target if is_table(catalog, target) else None


def channel_labels(catalog: Catalog, series_path: str) -> list[str] | None:
    """One label per channel (data column) of the series, or None when it has no readable
    electrodes region."""
    series_path = normalize_path(series_path)
    region = f"{series_path}/electrodes"
    table_path = region_target(catalog, region)
    if table_path is None:
        return None
    rows = np.asarray(catalog.backend.read(region), dtype=np.int64).reshape(-1)
    table = describe_table(catalog, table_path)
    if len(rows) == 0 or rows.min() < 0 or rows.max() >= table.length:
        return None
    names = [c for c in (*_NAME_COLUMNS, "location") if c in table.columns
             and not table.columns[c].is_array]
    wanted = ["id", *names] if "id" in table.columns else names
    unique = np.unique(rows)
    frame = read_rows(catalog, table, wanted, unique)
    position = {int(r): i for i, r in enumerate(unique)}
    labels = []
    for row in rows.tolist():
        i = position[row]
        name = next((str(frame[c][i]) for c in _NAME_COLUMNS if c in frame.columns
                     and frame[c][i] not in (None, "")), None)
        ident = str(frame["id"][i]) if "id" in frame.columns else str(row)
        label = name or f"e{ident}"
        location = frame["location"][i] if "location" in frame.columns else None
        labels.append(f"{label} {location}" if location not in (None, "") else label)
    return labels
