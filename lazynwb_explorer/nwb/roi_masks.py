"""ROI masks of a PlaneSegmentation, read as one long table: a row per (ROI, pixel).

A PlaneSegmentation (a DynamicTable, one row per ROI) keeps its masks in one of three
columns:
  image_mask  (rois, x, y) or (rois, x, y, z): a weight per pixel, 0 outside the ROI
  pixel_mask  ragged (x, y, weight) per ROI
  voxel_mask  ragged (x, y, z, weight) per ROI
`read_masks` turns any of them into the same long format - `_table_index` (the ROI's row),
`id`, `x`, `y` (and `z` for volumes), `weight` - keeping only pixels of non-zero weight.
Coordinates are whole pixels (Int64: a writer that stored them as floats is truncated, as
pynwb's pixel_to_image does). Image masks are read in batches of ROIs of at most
`BATCH_BYTES`, so a thousand 512x512 masks never sit in memory at once; ragged masks read
only the selected rows' spans (one round once the index is known).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np
import polars as pl

from ..catalog import Catalog, normalize_path
from ..errors import InternalPathError
from .columns import Table
from .table_query import TABLE_INDEX_COLUMN_NAME
from .tables import describe_table, read_rows

MASK_COLUMNS = ("image_mask", "pixel_mask", "voxel_mask")
BATCH_BYTES = 64 * 1024 * 1024


@dataclasses.dataclass(frozen=True)
class Segmentation:
    """A PlaneSegmentation's masks, from metadata."""

    catalog: Catalog
    path: str
    table: Table
    mask: str  # the mask column read: image_mask, pixel_mask or voxel_mask
    shape: tuple[int, int] | None  # (x, y) when the metadata says (image masks)
    planes: int  # z planes of an image_mask volume (1 for 2-D); voxel masks: found on read

    @property
    def n_rois(self) -> int:
        return self.table.length

    @property
    def masks(self) -> tuple[str, ...]:
        """Every mask column the table has (a writer may store more than one)."""
        return tuple(c for c in MASK_COLUMNS if c in self.table.columns)


def is_segmentation(catalog: Catalog, path: str) -> bool:
    """A PlaneSegmentation, or any table with a mask column."""
    node = catalog.get(path) if path else None
    if node is None or not node.is_group or "colnames" not in node.attrs:
        return False
    if node.neurodata_type == "PlaneSegmentation":
        return True
    return any(catalog.get(f"{node.path.rstrip('/')}/{c}") is not None for c in MASK_COLUMNS)


def describe_segmentation(catalog: Catalog, path: str) -> Segmentation:
    path = normalize_path(path)
    table = describe_table(catalog, path)
    present = [c for c in MASK_COLUMNS if c in table.columns]
    if not present:
        raise InternalPathError("no image_mask, pixel_mask or voxel_mask column", source=catalog.label,
                                path=path)
    mask = present[0]
    shape, planes = None, 1
    if mask == "image_mask":
        dims = table.columns[mask].meta.shape
        shape = (int(dims[1]), int(dims[2])) if len(dims) >= 3 else None
        planes = int(dims[3]) if len(dims) == 4 else 1
    return Segmentation(catalog, path, table, mask, shape, planes)


def read_masks(seg: Segmentation, rows: Sequence[int] | np.ndarray | None = None,
               mask: str | None = None) -> pl.DataFrame:
    """The masks of the given rows (None = every ROI) in long format (module docstring),
    ordered by row then pixel (x, then y, then z)."""
    mask = mask or seg.mask
    if mask not in seg.table.columns:
        raise InternalPathError(f"no {mask} column", source=seg.catalog.label, path=seg.path)
    picked = np.arange(seg.n_rois) if rows is None else np.unique(np.asarray(rows, dtype=np.int64))
    if picked.size and (picked[0] < 0 or picked[-1] >= seg.n_rois):
        raise IndexError(f"ROI rows must be in [0, {seg.n_rois})")
    ids = read_rows(seg.catalog, seg.table, ["id"], picked)["id"] if "id" in seg.table.columns \
        else pl.Series("id", picked)
    id_of = dict(zip(picked.tolist(), ids.to_list()))
    long = _image_masks(seg, picked) if mask == "image_mask" else _ragged_masks(seg, mask, picked)
    ids_long = pl.Series("id", [id_of[r] for r in long[TABLE_INDEX_COLUMN_NAME].to_list()],
                         dtype=ids.dtype if len(ids) else pl.Int64)
    return long.insert_column(1, ids_long)


def _image_masks(seg: Segmentation, rows: np.ndarray) -> pl.DataFrame:
    column = seg.table.columns["image_mask"]
    dims = column.meta.shape
    per_row = int(np.prod(dims[1:], dtype=np.int64)) * max(column.meta.dtype.itemsize, 1)
    batch = max(1, BATCH_BYTES // max(per_row, 1))
    volume = len(dims) == 4
    parts: dict[str, list[np.ndarray]] = {k: [] for k in ("row", "x", "y", "z", "weight")}
    backend = seg.catalog.backend
    for start in range(0, len(rows), batch):
        chunk = rows[start : start + batch]
        values = np.asarray(backend.read(column.data_path, chunk))
        found = np.nonzero(values)
        parts["row"].append(chunk[found[0]])
        parts["x"].append(found[1])
        parts["y"].append(found[2])
        if volume:
            parts["z"].append(found[3])
        parts["weight"].append(values[found].astype(np.float64))
    joined = {k: np.concatenate(v) if v else np.zeros(0) for k, v in parts.items()}
    columns = {TABLE_INDEX_COLUMN_NAME: pl.Series(joined["row"], dtype=pl.Int64),
               "x": pl.Series(joined["x"], dtype=pl.Int64), "y": pl.Series(joined["y"], dtype=pl.Int64)}
    if volume:
        columns["z"] = pl.Series(joined["z"], dtype=pl.Int64)
    columns["weight"] = pl.Series(joined["weight"], dtype=pl.Float64)
    return pl.DataFrame(columns)


def _ragged_masks(seg: Segmentation, mask: str, rows: np.ndarray) -> pl.DataFrame:
    frame = read_rows(seg.catalog, seg.table, [mask], rows)
    axes = ["x", "y", "z"] if mask == "voxel_mask" else ["x", "y"]
    long = (frame.with_columns(pl.Series(TABLE_INDEX_COLUMN_NAME, rows, dtype=pl.Int64))
            .explode(mask).drop_nulls(mask).unnest(mask))
    fields = [c for c in long.columns if c != TABLE_INDEX_COLUMN_NAME]
    names = dict(zip(fields, [*axes, "weight"]))  # by position: writers spell them differently
    long = long.rename(names)
    out = long.select(
        pl.col(TABLE_INDEX_COLUMN_NAME),
        *[pl.col(a).cast(pl.Float64).floor().cast(pl.Int64) for a in axes],
        pl.col("weight").cast(pl.Float64),
    )
    return out.filter(pl.col("weight") != 0)


def extent(masks: pl.DataFrame, known: tuple[int, int] | None) -> tuple[int, int]:
    """The (x, y) size a plane needs to hold these masks (at least `known`)."""
    x = _largest(masks["x"]) + 1 if masks.height else 0
    y = _largest(masks["y"]) + 1 if masks.height else 0
    if known is not None:
        x, y = max(x, known[0]), max(y, known[1])
    return x, y


def _largest(column: pl.Series) -> int:
    """The largest value of an integer column (-1 when it has none)."""
    top = column.max()
    return int(top) if isinstance(top, (int, np.integer)) else -1
