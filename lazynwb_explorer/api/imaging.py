"""Imaging conveniences for scripts: one frame of a movie, one image, ROI masks as a table.

These are ours (lazynwb 1.0 has no imaging functions) and follow its conventions: a path or
URL per call, `as_polars` for tables (pandas by default, as `get_df`), the internal columns
`_nwb_path`, `_table_path`, `_table_index` on every row.

    frame = lazynwb.get_frame(path, "/acquisition/TwoPhotonSeries", 100)   # (x, y) numpy
    mean = lazynwb.get_image(path, "/processing/ophys/SummaryImages/mean")
    masks = lazynwb.get_roi_masks(path, "/processing/ophys/ImageSegmentation/PlaneSegmentation")

Only what is asked for is read: a frame's chunks, an image, the masks of the rows given.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd
import polars as pl

from ..catalog import Catalog, normalize_path, open_scoped_catalog
from ..config import resolve_as_polars
from ..errors import InternalPathError
from ..multifile import Missing, is_skipped, map_sources, report_missing
from ..nwb.frames import describe_movie, is_movie, read_frames
from ..nwb.images import is_image, read_image
from ..nwb.kinds import series_reads_link, table_reads_link
from ..nwb.roi_masks import describe_segmentation, is_segmentation, read_masks
from ..nwb.table_query import NWB_PATH_COLUMN_NAME, TABLE_PATH_COLUMN_NAME
from ..sources import PathLike, Source, to_source, to_sources


def get_frame(nwb_path: PathLike, series_path: str, index: int, plane: int = 0) -> np.ndarray:
    """Frame `index` of a movie (an image series, or any 3-D / 4-D dataset whose first axis
    is time) as stored: (x, y), or (x, y, channels) for colour; `plane` picks the z plane
    of a volume. Reads only the chunks that hold the frame."""
    source = to_source(nwb_path)
    catalog = _movie_catalog(source, series_path)
    movie = describe_movie(catalog, series_path)
    if movie.data_path is None:
        raise InternalPathError("the frames are in external files, which are never read",
                                source=catalog.label, path=movie.path)
    n = movie.n_frames
    k = int(index) + n if int(index) < 0 else int(index)
    if not 0 <= k < n:
        raise IndexError(f"frame {index} of a movie of {n} frames")
    return np.asarray(read_frames(movie, k, k + 1, plane)[0])


def _movie_catalog(source: Source, series_path: str) -> Catalog:
    """Only the series (and, for its data dataset, the series around it) and their parents
    are walked, never the rest of the file; links the frames do not need (imaging_plane,
    device) stay unresolved. The full catalog when that is not enough (issue 16)."""
    named = normalize_path(series_path)
    paths = [named] + ([named.rsplit("/", 1)[0] or "/"] if named.endswith("/data") else [])
    return open_scoped_catalog(source, list(dict.fromkeys(paths)), lambda c: is_movie(c, named),
                               follows=series_reads_link)


def get_image(nwb_path: PathLike, image_path: str) -> np.ndarray:
    """An image (GrayscaleImage (x, y), RGBImage (x, y, 3), RGBAImage (x, y, 4)) as stored."""
    source = to_source(nwb_path)
    path = normalize_path(image_path)
    catalog = open_scoped_catalog(source, [path], lambda c: is_image(c, path))
    catalog.require(path)
    if not is_image(catalog, path):
        raise InternalPathError("not an image (GrayscaleImage, RGBImage, RGBAImage)",
                                source=catalog.label, path=path)
    return read_image(catalog, path)


def _masks_of(source: Source, table_path: str, rows: Sequence[int] | None, mask: str | None) -> pl.DataFrame:
    path = normalize_path(table_path)
    catalog = open_scoped_catalog(source, [path], lambda c: is_segmentation(c, path),
                                  follows=table_reads_link)
    catalog.require(path)
    if not is_segmentation(catalog, path):
        raise InternalPathError("not a PlaneSegmentation (no mask column)", source=catalog.label, path=path)
    frame = read_masks(describe_segmentation(catalog, path), rows, mask)
    return frame.with_columns(pl.lit(source.label).alias(NWB_PATH_COLUMN_NAME),
                              pl.lit(path).alias(TABLE_PATH_COLUMN_NAME))


def get_roi_masks(
    nwb_data_sources: PathLike | Iterable[PathLike],
    table_path: str,
    *,
    rows: Sequence[int] | None = None,
    mask: str | None = None,
    raise_on_missing: bool = False,
    ignore_errors: bool = False,
    disable_progress: bool = False,
    as_polars: bool | None = None,
) -> pd.DataFrame | pl.DataFrame:
    """The ROI masks of a PlaneSegmentation as one long table, a row per (ROI, pixel) of
    non-zero weight: `_table_index` (the ROI's row), `id`, `x`, `y` (`z` for volumes),
    `weight`, `_nwb_path`, `_table_path`. `rows` picks ROIs by row (all by default); `mask`
    picks the column when a table has several (image_mask, pixel_mask, voxel_mask; the
    first present by default). Several files: their rows one after another."""
    sources = to_sources(nwb_data_sources)
    if not sources:
        raise ValueError("At least one NWB source is required")
    frames, missing = [], []
    for _source, frame in map_sources(
        sources, lambda s: _masks_of(s, table_path, rows, mask), ignore_errors=ignore_errors,
        disable_progress=disable_progress, desc=f"Reading masks of {table_path}",
    ):
        if isinstance(frame, Missing):
            missing.append(frame.error)
        elif not is_skipped(frame):
            frames.append(frame)
    report_missing(missing, len(sources), raise_on_missing)
    out = pl.concat(frames, how="diagonal_relaxed") if frames else pl.DataFrame()
    return out if resolve_as_polars(as_polars) else out.to_pandas()
