"""Images: GrayscaleImage, RGBImage, RGBAImage (and plain Image) datasets, the `Images`
container that holds them (mean image, max projection, reference images), and which image
to draw under a plane's ROI masks.

Axes as NWB names them: (x, y) grey, (x, y, 3) RGB, (x, y, 4) RGBA - the same (x, y) as a
frame of an image series and as the masks of a PlaneSegmentation, so one drawing rule (x
down, y across, as `plt.imshow(image)` shows an array) lines them up.
"""

from __future__ import annotations

import re

import numpy as np

from ..catalog import Catalog, normalize_path

IMAGE_TYPES = frozenset({"GrayscaleImage", "RGBImage", "RGBAImage", "Image"})
IMAGES_TYPE = "Images"
_RANKS = ((re.compile(r"mean|average|avg", re.I), 0), (re.compile(r"max|projection", re.I), 1),
          (re.compile(r"ref|background|summary", re.I), 2))


def is_image(catalog: Catalog, path: str) -> bool:
    """A dataset typed as an image, 2-D, or 3-D with 3 or 4 colour channels."""
    node = catalog.get(path) if path else None
    if node is None or node.dataset is None or node.neurodata_type not in IMAGE_TYPES:
        return False
    shape = node.dataset.shape
    return node.dataset.dtype.kind in "biuf" and (
        len(shape) == 2 or (len(shape) == 3 and shape[2] in (3, 4))
    )


def is_image_set(catalog: Catalog, path: str) -> bool:
    """An `Images` container (a group of images)."""
    node = catalog.get(path) if path else None
    return node is not None and node.is_group and node.neurodata_type == IMAGES_TYPE


def images_in(catalog: Catalog, path: str) -> list[str]:
    """The image datasets of an Images container, in its `order_of_images` when it has one,
    else by name."""
    node = catalog.require(path)
    base = node.path.rstrip("/")
    found = [f"{base}/{name}" for name in sorted(node.children) if is_image(catalog, f"{base}/{name}")]
    order = catalog.get(f"{base}/order_of_images")
    if order is not None and order.dataset is not None and order.dataset.is_reference:
        listed = [normalize_path(str(p)) for p in np.asarray(catalog.backend.read(order.path)).reshape(-1)]
        by_name = {p.rsplit("/", 1)[-1]: p for p in found}
        ordered = [by_name[p.rsplit("/", 1)[-1]] for p in listed if p.rsplit("/", 1)[-1] in by_name]
        found = ordered + [p for p in found if p not in ordered]
    return found


def read_image(catalog: Catalog, path: str) -> np.ndarray:
    """An image's values as stored (one read)."""
    return np.asarray(catalog.backend.read(normalize_path(path)))


def image_channels(shape: tuple[int, ...]) -> int:
    """0 for a grey image (x, y), else its colour channels (3 or 4)."""
    return int(shape[2]) if len(shape) == 3 else 0


def _rank(path: str) -> int:
    name = path.rsplit("/", 1)[-1]
    return next((r for pattern, r in _RANKS if pattern.search(name)), 3)


def preferred_image(paths: list[str]) -> str | None:
    """The image to show first: a mean image, else a max projection, else the first."""
    return min(paths, key=lambda p: (_rank(p), paths.index(p))) if paths else None


def plane_background(catalog: Catalog, table_path: str, shape: tuple[int, int]) -> str | None:
    """The grey image to draw a plane's masks over: an image (x, y) of the plane's shape, the
    mean image first (then a max projection, then other reference images), preferring the
    segmentation's own processing module; None when the file has none. (A reference movie is
    the view's second choice: frames.py reads its first frame.)"""
    module = normalize_path(table_path).split("/")[:3]
    candidates = []
    for path, node in catalog.nodes.items():
        if node.is_link or path.startswith("/specifications") or not is_image(catalog, path):
            continue
        if tuple(node.dataset.shape) != tuple(shape):  # type: ignore[union-attr]
            continue
        candidates.append((_rank(path), path.split("/")[:3] != module, path))
    return min(candidates)[2] if candidates else None
