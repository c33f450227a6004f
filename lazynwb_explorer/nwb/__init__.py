"""The nwb layer: what NWB means, one rule per idea, over a file's catalog.

- kinds.py: is_table, is_series, the table shortcuts.
- tables.py: DynamicTable columns (scalar, ragged, n-D, regions) described from metadata and
  read row-selectively into polars.
- table_query.py: one table of one file queried: predicate columns first, then the projected
  columns of the surviving rows, plus the internal columns (_nwb_path, ...).
- timeseries.py, lazy_array.py: TimeSeries with lazy data and timestamps, time windows.
- session.py: session and subject metadata fields, typed.
- frames.py: movies (image series, 3-D / 4-D datasets) read a frame at a time; external files
  listed, never opened.
- images.py: GrayscaleImage / RGBImage / RGBAImage, Images containers, a plane's background.
- roi_masks.py: a PlaneSegmentation's image / pixel / voxel masks as one long table.
- rois.py: RoiResponseSeries' `rois` resolved to segmentation rows; the segmentation a
  selection is about; the movie of its imaging plane.
- electrodes.py: DynamicTableRegion targets; channel names of a series from its electrodes.
- internal_paths.py: lazynwb's spelling of internal paths and its listing rules.
- events.py: events (table columns, event series) and intervals (bands) of a session.
- known_times.py: what is known of a sorted run of times, and where a time falls in it.
- spike_trains.py: a units table's spike trains read by time window.
- aligned_series.py: windows of a series around many events, in one round.

May import: config, errors, transport (counters only), sources, backends (their data types),
catalog. Never a concrete backend: data is read through `Catalog.backend`.
"""
