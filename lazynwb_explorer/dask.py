"""`lazynwb_explorer.dask`, the public name of the Dask integration (integrations/dask.py).

Kept as a name users import; the code lives with the other integrations."""

from .integrations.dask import map_sessions, read_table

__all__ = ["map_sessions", "read_table"]
