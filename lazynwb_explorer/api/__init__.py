"""The api layer: lazynwb 1.0's public functions, one module per family, name for name and
parameter for parameter (the package root re-exports them).

frames (get_df, get_table_schema, merge_array_column), scan (scan_nwb, read_nwb), get,
timeseries (get_timeseries), paths (get_internal_paths, get_internal_path_info), attrs,
metadata (get_metadata_df), table_metadata, spikes, observed, convert, sql, lazy_nwb
(LazyNWB, Subject), catalogs (build/export/import stored catalogs); discovery and
series_frames are what convert, sql and get share. Beyond lazynwb: psth (get_psth,
get_aligned_spike_times, get_spike_times_in_window) and aligned_series
(get_aligned_timeseries): what the Explorer's neuroscience views compute, for scripts;
imaging (get_frame, get_image, get_roi_masks).

May import every layer below it (nwb, catalog, backends' data types, sources, multifile,
transport, errors, config); nothing above (widgets, integrations, cli).
"""
