"""What an object in an NWB file is: one rule per idea, used everywhere.

- `is_table`: a DynamicTable (a group whose `colnames` attribute lists its columns).
- `is_series`: a group holding a time series, by lazynwb's rules: timestamps (events-like
  series such as NWB 2.8's Events have nothing else), data with starting_time, a
  starting_time with a rate (a series whose data is missing), or data in a group whose
  neurodata_type names a series. Zarr links (a series' electrodes, data) are followed.
  DynamicTables are tables, not series; /specifications holds no series.
- `series_data`: the description of a series' data dataset (what views check before they
  offer to show it).
- `TABLE_SHORTCUTS`: lazynwb's short names for the common tables.
- `series_reads_link` / `table_reads_link`: which links a read of a series' samples or a
  table's rows follows (a scoped open, catalog/cache.py, need not resolve the others).
"""

from __future__ import annotations

from ..backends.base import DatasetMeta
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
    """A group holding a time series (see the module docstring), by lazynwb's rules."""
    node = catalog.get(path)
    if node is None or not node.is_group or "colnames" in node.attrs:
        return False
    if node.path.startswith("/specifications"):
        return False
    base = node.path.rstrip("/")
    datasets = {
        name: child for name in node.children
        if (child := catalog.resolved(f"{base}/{name}")) is not None and child.dataset is not None
    }
    if "timestamps" in datasets:
        return True
    start = datasets.get("starting_time")
    if start is not None and ("data" in datasets or "rate" in start.attrs):
        return True
    kind = (node.neurodata_type or "").lower()
    series_type = "timeseries" in kind or kind.endswith("series") or kind == "events"
    return series_type and "data" in datasets


def series_data(catalog: Catalog, path: str) -> DatasetMeta | None:
    """The shape and dtype of the `data` of the time series at `path` (a Zarr link followed);
    None when `path` is empty, not a series, or a series without data."""
    node = catalog.get(path) if path else None
    if node is None or not node.is_group or not is_series(catalog, path):
        return None
    data = catalog.resolved(f"{path.rstrip('/')}/data")
    return data.dataset if data is not None else None


# a series' children that a read of its samples or frames uses
SERIES_LINKS_READ = frozenset({"data", "timestamps", "starting_time", "external_file"})


def series_reads_link(catalog: Catalog, path: str) -> bool:
    """Whether a read of a series' samples follows the link at `path`: its data, its
    timestamps (often a link to another series') or external files; not its device,
    imaging_plane or other links that only describe it."""
    return path.rsplit("/", 1)[-1] in SERIES_LINKS_READ


def table_reads_link(catalog: Catalog, path: str) -> bool:
    """Whether a read of a table's rows follows the link at `path`: a link in one of its
    columns, their index or its ids; not one in a PlaneSegmentation's imaging_plane or
    reference_images. A link outside any table is followed."""
    parts = path.split("/")
    for depth in range(len(parts) - 1, 0, -1):
        table = "/".join(parts[:depth]) or "/"
        if is_table(catalog, table):
            name = parts[depth]
            names = catalog.require(table).attrs.get("colnames")
            columns = [names] if isinstance(names, str) else [str(n) for n in (() if names is None else names)]
            return name == "id" or name.endswith("_index") or name in columns
    return True
