"""What the ROI view sends: a segmentation's masks per plane (paged, as typed arrays), the
image under them, one ROI's columns as text, and the code that reads the same.

Masks are read once per view (nwb/roi_masks.read_masks: image masks in bounded batches) and
kept as one long table; each `masks` reply carries up to PAGE_PIXELS pixels of one plane as
four little-endian buffers - row (uint32), x (uint16), y (uint16), weight (float32) - never
JSON. The background is the plane's mean image when the file has one (nwb/images.
plane_background), else the first frame of a movie of the same imaging plane, else none.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from ..catalog import Catalog
from ..nwb.frames import describe_movie, read_frames
from ..nwb.images import plane_background, read_image
from ..nwb.roi_masks import Segmentation, describe_segmentation, extent, read_masks
from ..nwb.rois import plane_movie
from ..nwb.table_query import TABLE_INDEX_COLUMN_NAME
from ..nwb.tables import read_rows
from . import frame_codec
from .grid_read import fmt

PAGE_PIXELS = 400_000  # pixels per masks reply: 4.4 MB of buffers at most
ROW_COLUMNS = 24  # columns of a ROI shown on hover


class PlaneMasks:
    """One segmentation's masks, read once, served plane by plane and page by page."""

    def __init__(self, catalog: Catalog, table_path: str):
        self.catalog = catalog
        self.segmentation: Segmentation = describe_segmentation(catalog, table_path)
        self.long: pl.DataFrame = read_masks(self.segmentation)
        self.movie_path = plane_movie(catalog, table_path)
        movie = describe_movie(catalog, self.movie_path) if self.movie_path else None
        known = self.segmentation.shape or (movie.frame_shape if movie is not None else None)
        self.shape = extent(self.long, known)
        planes = self.segmentation.planes
        if "z" in self.long.columns and self.long.height:
            planes = max(planes, int(self.long["z"].cast(pl.Int64).max() or 0) + 1)
        if movie is not None and movie.planes > 1:
            planes = max(planes, movie.planes)
        self.planes = max(planes, 1)
        self.ids = self._ids()

    def _ids(self) -> list[Any]:
        seg = self.segmentation
        if "id" not in seg.table.columns:
            return list(range(seg.n_rois))
        return read_rows(self.catalog, seg.table, ["id"], None)["id"].to_list()

    def page(self, plane: int, start: int) -> tuple[dict[str, Any], list[bytes]]:
        """Pixels [start, start + PAGE_PIXELS) of `plane`: meta and the four buffers."""
        frame = self.long
        if "z" in frame.columns:
            frame = frame.filter(pl.col("z") == plane)
        total = frame.height
        part = frame.slice(start, PAGE_PIXELS)
        stop = start + part.height
        buffers = [
            np.ascontiguousarray(part[TABLE_INDEX_COLUMN_NAME].to_numpy(), "<u4").tobytes(),
            np.ascontiguousarray(part["x"].to_numpy(), "<u2").tobytes(),
            np.ascontiguousarray(part["y"].to_numpy(), "<u2").tobytes(),
            np.ascontiguousarray(part["weight"].to_numpy(), "<f4").tobytes(),
        ]
        return {"plane": plane, "start": start, "count": part.height, "total": total,
                "next": stop if stop < total else None}, buffers

    def background(self, plane: int) -> tuple[dict[str, Any], list[bytes]]:
        """The image under the masks of `plane`: {path, how, encoding} and its codes."""
        path = plane_background(self.catalog, self.segmentation.path, self.shape) if self.planes == 1 else None
        if path is not None:
            values, how = read_image(self.catalog, path), "image"
        elif self.movie_path is not None:
            movie = describe_movie(self.catalog, self.movie_path)
            if movie.frame_shape != self.shape or movie.channels:
                return {"path": None, "how": "none"}, []
            values = read_frames(movie, 0, 1, min(plane, movie.planes - 1))[0]
            path, how = self.movie_path, "first frame"
        else:
            return {"path": None, "how": "none"}, []
        encoding, data = frame_codec.encode(values, 0)
        return {"path": path, "how": how, "encoding": encoding}, [data]


def row_text(catalog: Catalog, segmentation: Segmentation, row: int) -> list[list[str]]:
    """[[column, value as text]] of one ROI: its scalar columns (masks and other arrays left
    out), at most ROW_COLUMNS of them."""
    table = segmentation.table
    names = [n for n, c in table.columns.items() if not c.is_array and n not in ("image_mask",)][:ROW_COLUMNS]
    if not names:
        return []
    frame = read_rows(catalog, table, names, np.asarray([row], dtype=np.int64))
    return [[n, fmt(frame[n][0])] for n in names]


def snippet(source: str, table_path: str, series_path: str, rows: list[int] | None,
            n_rois: int, columns: list[int]) -> str:
    """Python that reads the masks (a long table) and traces the view shows."""
    src = repr(source)
    lines = ["import lazynwb_explorer as lazynwb", ""]
    subset = rows is not None and len(rows) < n_rois
    if subset and len(rows) <= 200:  # type: ignore[arg-type]
        lines.append(f"rows = {rows!r}  # the ROIs the table's filter keeps")
    elif subset:
        lines.append(f"rows = None  # the view keeps {len(rows)} of {n_rois} ROIs (the table's filter)")  # type: ignore[arg-type]
    arg = ", rows=rows" if subset else ""
    lines.append(f"masks = lazynwb.get_roi_masks({src}, {table_path!r}{arg}, as_polars=True)  # a row per pixel")
    if series_path:
        lines += [f"ts = lazynwb.get_timeseries({src}, {series_path!r}, exact_path=True)",
                  "roi_rows = ts.rois[:]  # the table row of each data column",
                  f"traces = ts.data[:, {columns!r}]  # (time, ROI) of the traces shown; ts.timestamps[:]"]
    return "\n".join(lines)
