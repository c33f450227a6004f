"""A Zarr store's tree: every group and array with its attributes, found the cheapest way
the store allows.

1. Consolidated metadata (v3: inline in the root `zarr.json`; v2: `.zmetadata`): the whole
   tree from the root probe, no further request.
2. A store that lists (local directories, s3, gs, az): a walk by levels, each level two
   concurrent rounds (the listings of its groups, then the metadata of their children).
3. Plain HTTP cannot list: a walk by the NWB structure. Each group's children are the names
   NWB gives its type (an NWBFile's acquisition, general, units, ...; a TimeSeries' data,
   timestamps, ...; a table's columns from `colnames`, their `_index` datasets and `id`) and
   the links its attributes name; each level's candidates are probed in one round. Objects
   whose names nothing states (the members of /acquisition, /processing, ...) cannot be
   found this way: the walk logs that the tree may be incomplete.

Keys are checked before use (no '..', no absolute or empty parts); walks use explicit
queues bounded in depth (MAX_DEPTH) and size (MAX_NODES).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from ...errors import MalformedFileError, get_logger
from ...transport import UnsafeKeyError, check_key
from . import nwb_names
from .metadata import ArraySpec, MetadataError, parse_v2, parse_v3
from .store import ZarrStore, join, parse_json

log = get_logger(__name__)
MAX_DEPTH = 256
MAX_NODES = 500_000


@dataclasses.dataclass
class Entry:
    """One group or array of the store, as stored (attributes not yet decoded)."""

    key: str  # below the store's root; '' for the root
    attrs: dict[str, Any]
    array: ArraySpec | None = None
    children: list[str] = dataclasses.field(default_factory=list)
    doc: Any = None  # an array's metadata document, as stored

    @property
    def path(self) -> str:
        return "/" + self.key


class Tree:
    """Entries by key, with children kept in order and the bounds enforced."""

    def __init__(self, label: str):
        self.label = label
        self.entries: dict[str, Entry] = {}

    def add(self, key: str, doc_attrs: Any, array: ArraySpec | None = None, doc: Any = None) -> Entry:
        if len(self.entries) >= MAX_NODES:
            raise MalformedFileError(f"more than {MAX_NODES} groups and arrays", source=self.label)
        if key.count("/") >= MAX_DEPTH:
            raise MalformedFileError(f"groups nested more than {MAX_DEPTH} deep", source=self.label,
                                     path="/" + key)
        attrs = doc_attrs if isinstance(doc_attrs, dict) else {}
        entry = self.entries.get(key)
        if entry is None:
            entry = self.entries[key] = Entry(key, attrs, array, doc=doc)
        else:
            entry.attrs, entry.array, entry.doc = attrs or entry.attrs, array or entry.array, doc or entry.doc
        if key:
            parent_key, _, name = key.rpartition("/")
            parent = self.entries.get(parent_key) or self.add(parent_key, {})
            if parent.array is not None:
                raise MalformedFileError("an array holds another node", source=self.label,
                                         path="/" + key)
            if name not in parent.children:
                parent.children.append(name)
        return entry


def _checked_key(key: Any, label: str) -> str:
    try:
        return check_key(key)
    except UnsafeKeyError as exc:
        raise MalformedFileError(f"consolidated metadata: {exc}", source=label) from None


def _spec(doc: Any, zarr_format: int, label: str, key: str) -> ArraySpec:
    try:
        return parse_v3(doc) if zarr_format == 3 else parse_v2(doc)
    except MetadataError as exc:
        raise MalformedFileError(f"array metadata: {exc}", source=label, path="/" + key) from None


def from_v3_consolidated(root: dict[str, Any], label: str) -> Tree:
    """The tree from a root zarr.json with inline consolidated metadata."""
    tree = Tree(label)
    tree.add("", root.get("attributes"))
    members = root["consolidated_metadata"].get("metadata")
    if not isinstance(members, dict):
        raise MalformedFileError("consolidated metadata is not a mapping", source=label)
    for key in sorted(members, key=lambda k: (str(k).count("/"), str(k))):
        doc = members[key]
        key = _checked_key(key, label)
        if not isinstance(doc, dict) or doc.get("node_type") not in ("group", "array"):
            raise MalformedFileError("consolidated entry is not a group or an array", source=label,
                                     path="/" + key)
        array = _spec(doc, 3, label, key) if doc["node_type"] == "array" else None
        tree.add(key, doc.get("attributes"), array, doc if array else None)
    return tree


def from_v2_consolidated(zmetadata: Any, label: str) -> Tree:
    """The tree from a v2 `.zmetadata` document."""
    members = zmetadata.get("metadata") if isinstance(zmetadata, dict) else None
    if not isinstance(members, dict):
        raise MalformedFileError(".zmetadata holds no metadata mapping", source=label)
    tree = Tree(label)
    tree.add("", members.get(".zattrs"))
    for full in sorted(members, key=lambda k: (str(k).count("/"), str(k))):
        if not isinstance(full, str) or full in (".zattrs", ".zgroup"):
            continue
        key, _, leaf = full.rpartition("/")
        if leaf not in (".zarray", ".zgroup"):
            continue
        key = _checked_key(key, label) if key else ""
        attrs = members.get(join(key, ".zattrs"))
        array = _spec(members[full], 2, label, key) if leaf == ".zarray" else None
        tree.add(key, attrs, array, members[full] if array else None)
    return tree


def _node_docs(store: ZarrStore, keys: list[str], zarr_format: int) -> dict[str, tuple[Any, Any, bool]]:
    """{key: (array doc or None, attributes, is_group)} for the keys that are nodes."""
    if zarr_format == 3:
        docs = store.documents([join(k, "zarr.json") for k in keys])
        out = {}
        for key in keys:
            doc = docs.get(join(key, "zarr.json"))
            if isinstance(doc, dict) and doc.get("node_type") in ("group", "array"):
                is_group = doc["node_type"] == "group"
                out[key] = (None if is_group else doc, doc.get("attributes"), is_group)
        return out
    names = (".zarray", ".zgroup", ".zattrs")
    docs = store.documents([join(k, n) for k in keys for n in names])
    out = {}
    for key in keys:
        array, group = docs.get(join(key, ".zarray")), docs.get(join(key, ".zgroup"))
        if array is not None or group is not None:
            out[key] = (array, docs.get(join(key, ".zattrs")), array is None)
    return out


def walk_levels(store: ZarrStore, zarr_format: int, root_attrs: Any) -> Tree:
    """The tree of an unconsolidated store, level by level (listings where the store lists,
    the NWB structure where it cannot)."""
    tree = Tree(store.label)
    tree.add("", root_attrs)
    level = [""]
    listed = True
    while level:
        candidates: list[str] = []
        for key in level:
            names = _children(store, tree.entries[key]) if listed else None
            if names is None:
                listed = False
                names = nwb_names.candidates(tree.entries[key].attrs, key)
            candidates.extend(join(key, name) for name in names)
        docs = _node_docs(store, [_checked_key(k, store.label) for k in candidates], zarr_format)
        level = []
        for key in candidates:
            if key not in docs:
                continue
            array_doc, attrs, is_group = docs[key]
            spec = None if is_group else _spec(array_doc, zarr_format, store.label, key)
            tree.add(key, attrs, spec, array_doc)
            if is_group:
                level.append(key)
    if not listed:
        log.warning("%s: no consolidated metadata and no listing (plain HTTP): found %d objects "
                    "by the NWB structure; objects whose names no attribute states are missing",
                    store.label, len(tree.entries))
    return tree


def _children(store: ZarrStore, entry: Entry) -> list[str] | None:
    listing = store.list_dir(entry.key)
    if listing is None:
        return None
    return [name for name in listing[1] if name and not name.startswith(".")]


def parse_root(raw: bytes, key: str, label: str) -> Any:
    try:
        return parse_json(raw, key)
    except ValueError as exc:
        raise MalformedFileError(str(exc), source=label, path="/") from None
