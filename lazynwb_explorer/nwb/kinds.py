"""What an object in an NWB file is: one rule per idea, used everywhere.

- `is_table`: a DynamicTable (a group whose `colnames` attribute lists its columns).
- `is_series`: a group holding a time series: data with timestamps or starting_time, or
  (events-like series, series whose data is missing) timestamps / starting_time + rate
  alone. DynamicTables are tables, not series; /specifications holds no series.
- `TABLE_SHORTCUTS`: lazynwb's short names for the common tables.
"""

from __future__ import annotations

from ..catalog import Catalog

TABLE_SHORTCUTS = {
    "trials": "/intervals/trials",
    "epochs": "/intervals/epochs",
    "electrodes": "/general/extracellular_ephys/electrodes",
    "units": "/units",
    "optophysiology": "/general/optophysiology",
    "session": "/general",
}


def is_table(catalog: Catalog, path: str) -> bool:
    """A DynamicTable: a group with a `colnames` attribute."""
    node = catalog.get(path)
    return bool(node and node.is_group and "colnames" in node.attrs)


def is_series(catalog: Catalog, path: str) -> bool:
    """A group holding a time series (see the module docstring)."""
    node = catalog.get(path)
    if node is None or not node.is_group or "colnames" in node.attrs:
        return False
    if node.path.startswith("/specifications"):
        return False
    base = node.path.rstrip("/")
    datasets = {
        name for name in node.children
        if (child := catalog.get(f"{base}/{name}")) is not None and child.dataset
    }
    if "timestamps" in datasets:
        return True
    if "starting_time" in datasets:
        start = catalog.get(f"{base}/starting_time")
        return "data" in datasets or bool(start and "rate" in start.attrs)
    return False
