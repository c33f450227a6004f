"""Attributes of objects in NWB files: get_attrs, get_sub_attrs, consolidate_attrs,
clear_attrs_cache (lazynwb.attrs, name for name and parameter for parameter).

Attributes come from the file's catalog, which holds every object's attributes already
decoded (numbers, str, lists; object references as the referenced object's path). So
these calls read nothing once a file's catalog is known, and they have no cache of their
own: `clear_attrs_cache` forgets the catalogs, which is what lazynwb's cache clearing
achieves (the next call reads the file again).

Filtering follows lazynwb: `exclude_private` drops names starting with '_' or '.' and
id / object_id / namespace / target; `exclude_empty(_fields)` drops None, {}, [], '' and
'no description' values. In a Zarr file the storage-only attributes (_ARRAY_DIMENSIONS,
zarr_dtype) are always dropped. Soft links are followed, as h5py follows them.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

from ..backends.base import Node
from ..catalog import Catalog, clear_cache, forget, open_catalog_for
from ..errors import InternalPathError
from ..multifile import Missing, is_skipped, map_sources, name_errors
from ..nwb.internal_paths import absolute_path, normalize_internal_file_path
from ..sources import PathLike, Source, to_source

_PRIVATE_NAMES = frozenset({"id", "object_id", "namespace", "target"})
_EMPTY_VALUES: tuple[Any, ...] = (None, {}, [], "", "no description")
_ZARR_ONLY_NAMES = frozenset({"_ARRAY_DIMENSIONS", "zarr_dtype"})
_COLUMN_TYPES = frozenset({"VectorData", "VectorIndex", "ElementIdentifiers"})


def _filter_attrs(
    attrs: dict[str, Any], exclude_private: bool, exclude_empty: bool, is_zarr: bool
) -> dict[str, Any]:
    out = {k: v for k, v in attrs.items() if not (is_zarr and k in _ZARR_ONLY_NAMES)}
    if exclude_private:
        out = {
            k: v for k, v in out.items()
            if not k.startswith(("_", ".")) and k not in _PRIVATE_NAMES
        }
    if exclude_empty:
        out = {k: v for k, v in out.items() if not any(_same(v, e) for e in _EMPTY_VALUES)}
    return copy.deepcopy(out)  # the catalog's values stay the catalog's


def _same(value: Any, empty: Any) -> bool:
    """`value == empty` without numpy-style elementwise answers or cross-type surprises."""
    return type(value) is type(empty) and value == empty


def _open(source: Source, path: str) -> Catalog:
    return name_errors(source, lambda: open_catalog_for(source, path))


class _Links:
    """Follows soft links the way h5py does: a Zarr link names its target; an HDF5 link
    to a group carries the target's attributes (its object_id finds the target, whose
    children the catalog holds)."""

    def __init__(self, catalog: Catalog):
        self.catalog = catalog
        self._by_object_id: dict[str, str] | None = None

    def resolve(self, node: Node) -> Node:
        seen = {node.path}
        while node.is_link:
            target = self._target(node)
            if target is None or target.path in seen:
                return node
            seen.add(target.path)
            node = target
        return node

    def _target(self, node: Node) -> Node | None:
        target = node.attrs.get("target")
        if isinstance(target, str) and not node.children and node.dataset is None:
            return self.catalog.get(target)  # a Zarr link
        object_id = node.attrs.get("object_id")
        if node.is_group and isinstance(object_id, str):
            if self._by_object_id is None:
                self._by_object_id = {
                    n.attrs["object_id"]: p for p, n in self.catalog.nodes.items()
                    if not n.is_link and isinstance(n.attrs.get("object_id"), str)
                }
            path = self._by_object_id.get(object_id)
            return self.catalog.nodes[path] if path is not None else None
        return None


def get_attrs(
    nwb_path: PathLike,
    internal_path: str,
    exclude_private: bool = True,
    exclude_empty_fields: bool = False,
) -> dict[str, Any]:
    """The attributes of one object (group or dataset) in an NWB file.

    internal_path: e.g. '/units', '/units/spike_times', '/general/subject' (shortcuts such
    as 'trials' work). A path not in the file raises InternalPathError (a KeyError) naming
    the file and the path. Nothing is read once the file's catalog is known.
    """
    source = to_source(nwb_path)
    catalog = _open(source, internal_path)
    node = catalog.get(absolute_path(internal_path))
    if node is None:
        raise InternalPathError(
            "no such path in the file", source=source.label, path=absolute_path(internal_path)
        )
    node = _Links(catalog).resolve(node)
    return _filter_attrs(node.attrs, exclude_private, exclude_empty_fields, catalog.kind == "zarr")


def _walk(catalog: Catalog, start: Node) -> dict[str, dict[str, Any]]:
    """Every object at and below `start` (links followed, each at its own path): its raw
    attributes, depth first."""
    links = _Links(catalog)
    out: dict[str, dict[str, Any]] = {}

    def visit(path: str, node: Node, ancestors: frozenset[str]) -> None:
        real = links.resolve(node)
        out[path] = real.attrs
        if not real.is_group or real.path in ancestors:  # a link back up would never end
            return
        inside = ancestors | {real.path}
        for name in real.children:
            child = catalog.get(f"{real.path.rstrip('/')}/{name}")
            if child is not None:
                visit(f"{path.rstrip('/')}/{name}", child, inside)

    visit(start.path, start, frozenset())
    return out


def get_sub_attrs(
    nwb_path: PathLike,
    parent_path: str = "/",
    exclude_private: bool = True,
    exclude_empty: bool = True,
) -> dict[str, dict[str, Any]]:
    """The attributes of every object at and below `parent_path`, keyed by path.

    As lazynwb: keys are spelled as normalize_internal_file_path spells the parent ('/units'
    -> 'units', 'units/spike_times'; below '/' they keep their leading slash); /specifications
    and an X_index beside its X are left out; with exclude_private the neurodata_type of
    table columns (VectorData, VectorIndex, ElementIdentifiers) is dropped; with
    exclude_empty, empty values and then objects left with no attributes are dropped.
    """
    source = to_source(nwb_path)
    catalog = _open(source, parent_path)
    start = catalog.get(absolute_path(parent_path))
    if start is None:
        return {}  # lazynwb: a parent that is not in the file has nothing below it
    raw = _walk(catalog, start)
    is_zarr = catalog.kind == "zarr"
    relative = normalize_internal_file_path(parent_path) != "/"
    out: dict[str, dict[str, Any]] = {}
    for path, attrs in raw.items():
        if path.startswith("/specifications"):
            continue
        if path.endswith("_index") and path.removesuffix("_index") in raw:
            continue
        kept = _filter_attrs(attrs, exclude_private, exclude_empty, is_zarr)
        if exclude_private and kept.get("neurodata_type") in _COLUMN_TYPES:
            del kept["neurodata_type"]
        if exclude_empty and not kept:
            continue
        out[path[1:] if relative else path] = kept
    return out


def _value_key(value: Any) -> str:
    """Values compare by their repr: lists and dicts count, 1 and '1' stay different."""
    return repr(value)


def _consolidate(values_by_file: dict[str, Any]) -> dict[str, Any]:
    """{'common': the most frequent value (the first file's on a tie), path: value for
    every file whose value differs}."""
    counts: dict[str, list[Any]] = {}
    for value in values_by_file.values():
        counts.setdefault(_value_key(value), [0, value])[0] += 1
    common_key = max(counts, key=lambda k: counts[k][0])
    entry: dict[str, Any] = {"common": counts[common_key][1]}
    entry.update(
        (path, value) for path, value in values_by_file.items() if _value_key(value) != common_key
    )
    return entry


def consolidate_attrs(
    nwb_paths: PathLike | Iterable[PathLike],
    internal_path: str,
    exclude_private: bool = True,
) -> dict[str, dict[str, dict[str, Any]]]:
    """One object's attributes across files: what they share and where they differ.

    Returns {internal_path: {attr_name: {'common': value, <file>: value, ...}}}, with
    internal_path spelled as normalize_internal_file_path spells it and attribute names
    sorted. 'common' is the most frequent value among the files that have the attribute;
    a file (keyed by str() of what was passed) appears only where its value differs.
    Files are read concurrently; a file without the path raises InternalPathError naming it.
    """
    if isinstance(nwb_paths, str | bytes) or not isinstance(nwb_paths, Iterable):
        items: list[Any] = [nwb_paths]
    else:
        items = list(nwb_paths)
    if not items:
        raise ValueError("At least one NWB path must be provided")
    key = normalize_internal_file_path(internal_path)
    sources = [to_source(item) for item in items]
    per_file: dict[str, dict[str, Any]] = {}
    results = map_sources(
        sources, lambda s: get_attrs(s, key, exclude_private=exclude_private),
        disable_progress=True, desc="Reading attributes",
    )
    for item, (_, attrs) in zip(items, results):
        if isinstance(attrs, Missing):
            raise attrs.error
        if not is_skipped(attrs):
            per_file[str(item)] = attrs
    names = sorted({name for attrs in per_file.values() for name in attrs})
    return {
        key: {
            name: _consolidate({p: a[name] for p, a in per_file.items() if name in a})
            for name in names
        }
    }


def clear_attrs_cache(nwb_path: PathLike | None = None) -> None:
    """Make the next attribute call read the file(s) again.

    Attributes live in the file catalogs (there is no separate attributes cache). With
    `nwb_path`, that file's catalog is forgotten in memory and on disk, so the next call
    walks the file again. Without it, every catalog held in memory is dropped and every
    open file closed (as `clear_cache()`); stored catalogs stay, and are used again only
    while the file is unchanged (size and mtime, or the remote ETag).
    """
    if nwb_path is None:
        clear_cache()
    else:
        forget(to_source(nwb_path).uri)
