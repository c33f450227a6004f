"""lazynwb's path discovery API: get_internal_paths and get_internal_path_info."""

from __future__ import annotations

from typing import Any

from ..catalog import Catalog, open_catalog
from ..multifile import name_errors
from ..nwb.internal_paths import internal_paths, path_info
from ..sources import PathLike, to_source


def _discover(nwb_path: PathLike, *options: bool) -> tuple[Catalog, list[str]]:
    source = to_source(nwb_path)
    catalog = name_errors(source, lambda: open_catalog(source))
    return catalog, internal_paths(catalog, *options)


def get_internal_paths(
    nwb_path: PathLike,
    include_child_datasets: bool = False,
    include_table_columns: bool = False,
    include_metadata: bool = False,
    include_specifications: bool = False,
    parents: bool = False,
) -> list[str]:
    """Internal paths of tables, time series and other NWB objects in the file."""
    return _discover(
        nwb_path, include_child_datasets, include_table_columns, include_metadata,
        include_specifications, parents,
    )[1]


def get_internal_path_info(
    nwb_path: PathLike,
    include_child_datasets: bool = False,
    include_table_columns: bool = False,
    include_metadata: bool = False,
    include_specifications: bool = False,
    parents: bool = False,
) -> dict[str, dict[str, Any]]:
    """The same paths, each with is_group, is_dataset, shape, dtype, neurodata_type,
    is_timeseries and its decoded attributes."""
    catalog, paths = _discover(
        nwb_path, include_child_datasets, include_table_columns, include_metadata,
        include_specifications, parents,
    )
    return {path: path_info(catalog, path) for path in paths}
