"""lazynwb_explorer: lazy, remote-first NWB reading and exploration.

A drop-in for lazynwb (`import lazynwb_explorer as lazynwb`): the same public names,
parameters and defaults, reading only the bytes a call needs.
"""

from .api.aligned_series import get_aligned_timeseries
from .api.attrs import clear_attrs_cache, consolidate_attrs, get_attrs, get_sub_attrs
from .api.catalogs import build_catalogs, export_catalogs, import_catalogs
from .api.convert import convert_nwb_tables
from .api.frames import get_df, get_table_schema, merge_array_column
from .api.get import get
from .api.imaging import get_frame, get_image, get_roi_masks
from .api.lazy_nwb import LazyNWB, Subject
from .api.metadata import get_metadata_df
from .api.observed import (
    INTERVALS_TABLE_INDEX_COLUMN_NAME,
    UNITS_TABLE_INDEX_COLUMN_NAME,
    insert_is_observed,
)
from .api.paths import get_internal_path_info, get_internal_paths
from .api.psth import get_aligned_spike_times, get_psth, get_spike_times_in_window
from .api.scan import read_nwb, scan_nwb
from .api.spikes import get_spike_times_in_intervals
from .api.sql import get_sql_context
from .api.table_metadata import (
    RawTableColumnMetadata,
    get_table_column_metadata,
    get_table_length_from_metadata,
    get_table_schema_from_metadata,
)
from .api.timeseries import get_timeseries
from .catalog import clear_cache
from .config import Config, config
from .dandi import DANDI_API_BASE, from_dandi_asset, get_dandi_sources
from .errors import (
    ColumnError,
    InternalPathError,
    LazyNWBError,
    MalformedFileError,
    NotFoundError,
    NotNWBError,
    OutsideSourceError,
    ReadTooLargeError,
    SchemaMismatchError,
    SourceError,
    TransportError,
)
from .nwb.internal_paths import normalize_internal_file_path
from .nwb.kinds import TABLE_SHORTCUTS
from .nwb.table_query import (
    INTERNAL_COLUMN_NAMES,
    NWB_PATH_COLUMN_NAME,
    TABLE_INDEX_COLUMN_NAME,
    TABLE_PATH_COLUMN_NAME,
)
from .nwb.timeseries import SeriesFieldError, TimeSeries

__version__ = "0.1.0"

# Notebook widgets (the `widgets` extra: anywidget, ipywidgets) are public names
# too, imported on first use: `import lazynwb_explorer` neither needs nor pays for them.
from .widgets.registry import VIEWS as _VIEWS  # noqa: E402 - after the reader's names

__all__ = [
    "INTERNAL_COLUMN_NAMES",
    "NWB_PATH_COLUMN_NAME",
    "TABLE_INDEX_COLUMN_NAME",
    "TABLE_PATH_COLUMN_NAME",
    "TABLE_SHORTCUTS",
    "ColumnError",
    "Config",
    "InternalPathError",
    "LazyNWBError",
    "MalformedFileError",
    "NotFoundError",
    "NotNWBError",
    "OutsideSourceError",
    "ReadTooLargeError",
    "SchemaMismatchError",
    "SourceError",
    "TransportError",
    "build_catalogs",
    "clear_cache",
    "config",
    "export_catalogs",
    "get_df",
    "get_internal_path_info",
    "get_internal_paths",
    "get_table_schema",
    "merge_array_column",
    "read_nwb",
    "scan_nwb",
    "LazyNWB",
    "SeriesFieldError",
    "Subject",
    "TimeSeries",
    "convert_nwb_tables",
    "get",
    "get_dandi_sources",
    "get_frame",
    "get_image",
    "get_roi_masks",
    "get_metadata_df",
    "get_sql_context",
    "get_timeseries",
    "import_catalogs",
    "DANDI_API_BASE",
    "INTERVALS_TABLE_INDEX_COLUMN_NAME",
    "UNITS_TABLE_INDEX_COLUMN_NAME",
    "RawTableColumnMetadata",
    "clear_attrs_cache",
    "consolidate_attrs",
    "from_dandi_asset",
    "get_attrs",
    "get_aligned_spike_times",
    "get_aligned_timeseries",
    "get_psth",
    "get_spike_times_in_intervals",
    "get_spike_times_in_window",
    "get_sub_attrs",
    "get_table_column_metadata",
    "get_table_length_from_metadata",
    "get_table_schema_from_metadata",
    "insert_is_observed",
    "normalize_internal_file_path",
    *sorted(_VIEWS),
]


def __getattr__(name: str) -> object:  # PEP 562: the widgets on first use
    if name in _VIEWS:
        from . import widgets

        try:
            return getattr(widgets, name)
        except ImportError as exc:  # an AttributeError keeps hasattr() working
            raise AttributeError(
                f"{name} needs the widgets extra: pip install 'lazynwb_explorer[widgets]' ({exc})"
            ) from exc
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
