"""The catalog layer: a file's tree as plain data, kept open per source and stored on disk.

- catalog.py: the Catalog type (nodes by path, the backend that reads data).
- cache.py: open_catalog / open_metadata_catalog / open_scoped_catalog (one table's part
  of a file) and the bounded in-memory cache.
- persist.py: a Catalog to and from its stored form (identity, trust, revalidation).
- store.py: the stored files under config.cache_dir (atomic, checksummed, background writer).

May import: config, errors, transport, sources, backends. Knows nothing of NWB's meaning
beyond the root's nwb_version check (NWB 1.x is refused by name; nwb/ says what a table
or a series is).
"""

from .cache import (
    clear_cache,
    forget,
    open_catalog,
    open_catalog_for,
    open_metadata_catalog,
    open_scoped_catalog,
    store_catalogs,
    widen_catalog,
)
from .catalog import Catalog, normalize_path

__all__ = [
    "Catalog",
    "clear_cache",
    "forget",
    "normalize_path",
    "open_catalog",
    "open_catalog_for",
    "open_metadata_catalog",
    "open_scoped_catalog",
    "store_catalogs",
    "widen_catalog",
]
