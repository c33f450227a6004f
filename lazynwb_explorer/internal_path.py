"""lazynwb's spelling of an internal path: `normalize_internal_file_path`.

lazynwb keys several results by this form (get_sub_attrs, consolidate_attrs, the
`table_path` of RawTableColumnMetadata), so code that looks results up by key needs the
same spelling: no leading slash, the table shortcuts expanded, the root as '/'.
"""

from __future__ import annotations

from .tables import TABLE_SHORTCUTS


def normalize_internal_file_path(path: str) -> str:
    """'/units' -> 'units', 'trials' -> 'intervals/trials', '/' or '' -> '/'.

    The leading '/' is removed and a shortcut (trials, epochs, electrodes, optophysiology,
    session) becomes its table's path, as lazynwb.utils.normalize_internal_file_path does.
    """
    path = path.removeprefix("/") or "/"
    shortcut = TABLE_SHORTCUTS.get(path)
    return shortcut.lstrip("/") if shortcut else path


def absolute_path(path: str) -> str:
    """The catalog's spelling of an internal path: '/' plus the normalized form."""
    normalized = normalize_internal_file_path(path)
    return normalized if normalized == "/" else "/" + normalized
