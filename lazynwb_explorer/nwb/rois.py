"""ROI responses and the segmentation they belong to.

A RoiResponseSeries (inside Fluorescence or DfOverF) holds one column of data per ROI and a
`rois` DynamicTableRegion: `rois[k]` is the PlaneSegmentation row of column k (not always
k: a series may hold some ROIs, in any order). These functions resolve that link both ways,
and find the segmentation a selection is about: a PlaneSegmentation itself, the first
segmentation of an ImageSegmentation, the target of a RoiResponseSeries' `rois`, or of the
first series in a Fluorescence / DfOverF container.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ..catalog import Catalog, normalize_path
from .electrodes import region_target
from .frames import describe_movie, is_movie
from .kinds import is_series
from .roi_masks import is_segmentation

CONTAINER_TYPES = frozenset({"Fluorescence", "DfOverF", "ImageSegmentation"})


@dataclasses.dataclass(frozen=True)
class RoiColumns:
    """Which PlaneSegmentation row each data column of a response series is."""

    series_path: str
    table_path: str
    rows: np.ndarray  # rows[k]: the table row of data column k

    def columns_of(self, rows: np.ndarray | list[int]) -> list[int]:
        """The data columns of the given table rows, in the series' column order."""
        wanted = set(int(r) for r in rows)
        return [k for k, r in enumerate(self.rows.tolist()) if r in wanted]


def roi_columns(catalog: Catalog, series_path: str) -> RoiColumns | None:
    """The `rois` region of a response series, read (None when it has no readable one)."""
    series_path = normalize_path(series_path)
    node = catalog.resolved(f"{series_path}/rois")
    if node is None or node.dataset is None:
        return None
    table = region_target(catalog, node.path)
    if table is None:
        return None
    rows = np.asarray(catalog.backend.read(node.path), dtype=np.int64).reshape(-1)
    return RoiColumns(series_path, table, rows)


def is_response_series(catalog: Catalog, path: str) -> bool:
    """A series with a `rois` region into a segmentation (RoiResponseSeries and kin)."""
    if not is_series(catalog, path):
        return False
    node = catalog.resolved(f"{normalize_path(path)}/rois")
    if node is None or node.dataset is None:
        return False
    table = region_target(catalog, node.path)
    return table is not None and is_segmentation(catalog, table)


def responses_of(catalog: Catalog, table_path: str) -> list[str]:
    """Every response series whose `rois` point into this segmentation, by path."""
    table_path = normalize_path(table_path)
    out = []
    for path, node in catalog.nodes.items():
        if not node.is_group or node.is_link or path.startswith("/specifications"):
            continue
        rois = catalog.resolved(f"{path.rstrip('/')}/rois")
        if rois is None or rois.dataset is None or not is_series(catalog, path):
            continue
        if region_target(catalog, rois.path) == table_path:
            out.append(path)
    return sorted(out, key=lambda p: (p.count("/"), p))


def segmentation_of(catalog: Catalog, path: str) -> tuple[str, str] | None:
    """(segmentation path, response series path or '') a selection shows, or None."""
    if not path:
        return None
    path = normalize_path(path)
    node = catalog.get(path)
    if node is None or node.is_dataset:
        return None
    if is_segmentation(catalog, path):
        return path, ""
    if is_response_series(catalog, path):
        columns = roi_columns(catalog, path)
        return (columns.table_path, path) if columns else None
    if node.neurodata_type in CONTAINER_TYPES:
        base = node.path.rstrip("/")
        preferred = ("PlaneSegmentation", "RoiResponseSeries")  # pynwb's default names first
        for name in sorted(node.children, key=lambda n: (n not in preferred, n)):
            found = segmentation_of(catalog, f"{base}/{name}")
            if found is not None:
                return found
    return None


def plane_movie(catalog: Catalog, table_path: str) -> str | None:
    """A movie of the segmentation's imaging plane (its frames are the masks' plane): one of
    its `reference_images` first, else any series linked to the same ImagingPlane."""
    table_path = normalize_path(table_path)
    base = table_path.rstrip("/")
    plane = catalog.get(f"{base}/imaging_plane")
    plane_id = plane.attrs.get("object_id") if plane is not None else None
    candidates = []
    refs = catalog.get(f"{base}/reference_images")
    for name in sorted(refs.children) if refs is not None and refs.is_group else []:
        candidates.append(_canonical(catalog, f"{base}/reference_images/{name}"))
    if plane_id is not None:
        for path, node in sorted(catalog.nodes.items()):
            link = catalog.get(f"{path.rstrip('/')}/imaging_plane") if node.is_group and not node.is_link else None
            if link is not None and link.attrs.get("object_id") == plane_id and path != table_path:
                candidates.append(path)
    return next((p for p in candidates if p and is_movie(catalog, p)
                 and describe_movie(catalog, p).data_path), None)


def _canonical(catalog: Catalog, path: str) -> str | None:
    """Where a linked group really is (HDF5 soft links are walked as copies: found by the
    object_id they share)."""
    node = catalog.get(path)
    if node is None or not node.is_link:
        return path if node is not None else None
    target = node.attrs.get("target")
    if isinstance(target, str):
        return normalize_path(target)
    object_id = node.attrs.get("object_id")
    return next((p for p, n in catalog.nodes.items()
                 if not n.is_link and n.is_group and n.attrs.get("object_id") == object_id), None)


def roi_labels(catalog: Catalog, series_path: str) -> list[str] | None:
    """One label per data column of a response series: 'roi <id>' of its table row."""
    columns = roi_columns(catalog, series_path)
    if columns is None:
        return None
    ids_node = catalog.get(f"{columns.table_path}/id")
    if ids_node is None or ids_node.dataset is None:
        return [f"roi row {r}" for r in columns.rows.tolist()]
    ids = np.asarray(catalog.backend.read(ids_node.path)).reshape(-1)
    if len(columns.rows) and (columns.rows.min() < 0 or columns.rows.max() >= len(ids)):
        return None
    return [f"roi {ids[r]}" for r in columns.rows.tolist()]
