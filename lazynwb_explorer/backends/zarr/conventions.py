"""What NWB writers put in Zarr beyond Zarr itself: links, references, type markers.

hdmf-zarr before 0.14 (Zarr v2): links in a group's `zarr_link` list; references in
attributes as `{"zarr_dtype": "object", "value": {"source", "path", ...}}`; reference
datasets as pickled (or JSON) `{"source", "path"}` objects marked `zarr_dtype: "object"`.

hdmf-zarr 0.14 and LINDI (Zarr v3; LINDI also on v2): links in the parent group's `_LINKS`
list; references in attributes as `{"_REFERENCE": {"source", "path", ...}}`; reference
datasets as plain path strings marked `_DTYPE: "object_reference"`; compound datasets as
structured arrays whose `_REFERENCE_FIELDS` hold path strings; `_SCALAR: true` on a
one-element array that stands for a scalar (kept as stored, shape (1,), as zarr-python and
lazynwb show it and as hdmf-zarr's v2 scalars, `zarr_dtype: "scalar"`, always were: the NWB
layer reads a one-element dataset where it expects a scalar); LINDI's `_SOFT_LINK: {"path"}` on a group that
is a link. zarr-python 3 writes NaN / Infinity attribute values as the strings "NaN",
"Infinity", "-Infinity" (JSON has no such numbers); in v3 stores they are read as floats.

Everything here turns those into plain data: references become absolute paths (str).
"""

from __future__ import annotations

import math
from typing import Any

from ..base import decode_scalar

LINK_ATTRS = ("_LINKS", "zarr_link")
_SPECIAL_FLOATS = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}
MAX_ATTR_DEPTH = 32


def ref_path(value: Any) -> str | None:
    """The absolute path a reference names ({"path": ...}, possibly wrapped), else None."""
    if isinstance(value, dict) and isinstance(value.get("_REFERENCE"), dict):
        value = value["_REFERENCE"]
    if isinstance(value, dict) and value.get("zarr_dtype") in ("object", "region"):
        value = value.get("value")
    if isinstance(value, str):
        return "/" + value.lstrip("/")
    path = value.get("path") if isinstance(value, dict) else None
    return "/" + path.lstrip("/") if isinstance(path, str) else None


def _is_reference(value: Any) -> bool:
    if not isinstance(value, dict):
        return False
    if "_REFERENCE" in value or value.get("zarr_dtype") in ("object", "region"):
        return True
    return "path" in value and ("source" in value or "object_id" in value)


def decode_attr(value: Any, zarr_format: int, depth: int = 0) -> Any:
    """An attribute value as plain data (references as paths)."""
    if _is_reference(value):
        return ref_path(value)
    if isinstance(value, list) and depth < MAX_ATTR_DEPTH:
        return [decode_attr(v, zarr_format, depth + 1) for v in value]
    if zarr_format == 3 and isinstance(value, str) and value in _SPECIAL_FLOATS:
        return _SPECIAL_FLOATS[value]
    return decode_scalar(value)


def links(attrs: dict[str, Any]) -> dict[str, str]:
    """{child name: target path} of the links a group's attributes list."""
    out: dict[str, str] = {}
    for name in LINK_ATTRS:
        for link in attrs.get(name) or []:
            if isinstance(link, dict) and isinstance(link.get("name"), str):
                target = ref_path(link)
                if target is not None:
                    out[link["name"]] = target
    return out


def soft_link(attrs: dict[str, Any]) -> str | None:
    """LINDI: the target of a group that is itself a soft link."""
    value = attrs.get("_SOFT_LINK")
    return ref_path(value) if isinstance(value, dict) else None


def group_attrs(raw: dict[str, Any], zarr_format: int) -> dict[str, Any]:
    """A group's attributes without the link lists (they become children)."""
    return {k: decode_attr(v, zarr_format) for k, v in raw.items() if k not in LINK_ATTRS}


def is_reference_dataset(attrs: dict[str, Any]) -> bool:
    return attrs.get("_DTYPE") == "object_reference" or attrs.get("zarr_dtype") in ("object", "region")


def reference_fields(attrs: dict[str, Any]) -> tuple[str, ...]:
    fields = attrs.get("_REFERENCE_FIELDS")
    return tuple(f for f in fields if isinstance(f, str)) if isinstance(fields, list) else ()


def decode_object(value: Any, depth: int = 0) -> Any:
    """One element of an object dataset: str, a reference's path, or a tuple of them."""
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, dict):
        return ref_path(value)
    if isinstance(value, list | tuple) and depth < MAX_ATTR_DEPTH:
        return tuple(decode_object(v, depth + 1) for v in value)
    return value
