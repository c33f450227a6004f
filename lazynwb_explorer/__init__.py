"""lazynwb_explorer: lazy, remote-first NWB reading and exploration.

A drop-in for lazynwb (`import lazynwb_explorer as lazynwb`): the same public names,
parameters and defaults, reading only the bytes a call needs.
"""

from .attrs import clear_attrs_cache, consolidate_attrs, get_attrs, get_sub_attrs
from .catalog import clear_cache
from .catalog_sharing import build_catalogs, export_catalogs, import_catalogs
from .config import Config, config
from .convert import convert_nwb_tables
from .dandi import DANDI_API_BASE, from_dandi_asset, get_dandi_sources
from .errors import (
    ColumnError,
    InternalPathError,
    LazyNWBError,
    MalformedFileError,
    NotNWBError,
    SchemaMismatchError,
    SourceError,
    TransportError,
)
from .frames import get_df, get_table_schema, merge_array_column
from .getter import get
from .internal_path import normalize_internal_file_path
from .lazy_nwb import LazyNWB, Subject
from .metadata import get_metadata_df
from .observed import (
    INTERVALS_TABLE_INDEX_COLUMN_NAME,
    UNITS_TABLE_INDEX_COLUMN_NAME,
    insert_is_observed,
)
from .paths import get_internal_path_info, get_internal_paths
from .scan import read_nwb, scan_nwb
from .spikes import get_spike_times_in_intervals
from .sql import get_sql_context
from .table_metadata import (
    RawTableColumnMetadata,
    get_table_column_metadata,
    get_table_length_from_metadata,
    get_table_schema_from_metadata,
)
from .table_reads import (
    INTERNAL_COLUMN_NAMES,
    NWB_PATH_COLUMN_NAME,
    TABLE_INDEX_COLUMN_NAME,
    TABLE_PATH_COLUMN_NAME,
)
from .tables import TABLE_SHORTCUTS
from .timeseries import SeriesFieldError, TimeSeries, get_timeseries

__version__ = "0.1.0"

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
    "NotNWBError",
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
    "get_spike_times_in_intervals",
    "get_sub_attrs",
    "get_table_column_metadata",
    "get_table_length_from_metadata",
    "get_table_schema_from_metadata",
    "insert_is_observed",
    "normalize_internal_file_path",
]

# Notebook widgets (the `widgets` extra: anywidget, ipywidgets, tsdownsample), imported on
# first use: `import lazynwb_explorer` neither needs them nor pays for importing them.
_WIDGET_NAMES = ("Explorer", "SchemaViewer", "TableGrid", "TimeSeriesPlot", "TreeBrowser")


def __getattr__(name: str) -> object:  # PEP 562: the widgets on first use
    if name in _WIDGET_NAMES:
        try:
            from . import widgets
        except ImportError as exc:  # an AttributeError keeps hasattr() working
            raise AttributeError(
                f"{name} needs the widgets extra: pip install 'lazynwb_explorer[widgets]' ({exc})"
            ) from exc
        return getattr(widgets, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
