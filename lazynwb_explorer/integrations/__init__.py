"""Integrations with other tools, built on the public API only: dask (tables as Dask
DataFrames, per-session work on a cluster; importable as `lazynwb_explorer.dask`)."""
