"""Zarr data types and fill values, v2 and v3, as numpy dtypes.

v2 names a numpy type string ('<f8', '|O', '<U12') or a list of [name, type(, shape)]
fields. v3 names a data type ('float64', 'string', 'fixed_length_utf32', 'struct' /
'structured' with fields, ...); byte order comes from the `bytes` codec. Variable-length
strings and bytes are object arrays. Anything else is a `ValueError` the caller names.
"""

from __future__ import annotations

import base64
import math
import struct
from typing import Any

import numpy as np

_V3_NUMERIC = {
    "bool": "?", "int8": "i1", "int16": "i2", "int32": "i4", "int64": "i8",
    "uint8": "u1", "uint16": "u2", "uint32": "u4", "uint64": "u8",
    "float16": "f2", "float32": "f4", "float64": "f8", "complex64": "c8", "complex128": "c16",
}
_V3_VARIABLE = {"string": "vlen-utf8", "bytes": "vlen-bytes", "variable_length_bytes": "vlen-bytes"}
MAX_FIELDS = 1024  # a struct of more fields is hostile, not data
MAX_ITEMSIZE = 1 << 24  # 16 MiB for one element


def _checked(dtype: np.dtype) -> np.dtype:
    if dtype.itemsize > MAX_ITEMSIZE or (dtype.names and len(dtype.names) > MAX_FIELDS):
        raise ValueError(f"data type {dtype} is too large for one element")
    return dtype


def v2_dtype(value: Any) -> np.dtype:
    """A v2 `dtype` field as numpy (structured lists included)."""
    if isinstance(value, str):
        return _checked(np.dtype(value))
    if isinstance(value, list) and 0 < len(value) <= MAX_FIELDS:
        fields = []
        for field in value:
            if not (isinstance(field, list) and len(field) in (2, 3) and isinstance(field[0], str)):
                raise ValueError(f"structured dtype field {field!r}")
            sub = v2_dtype(field[1])
            fields.append((field[0], sub, tuple(field[2])) if len(field) == 3 else (field[0], sub))
        return _checked(np.dtype(fields))
    raise ValueError(f"dtype {value!r}")


def v3_dtype(value: Any, endian: str = "<") -> tuple[np.dtype, str | None]:
    """(numpy dtype, 'vlen-utf8' / 'vlen-bytes' or None) of a v3 `data_type`, with the byte
    order of the array's `bytes` codec."""
    if isinstance(value, str):
        if value in _V3_NUMERIC:
            return _checked(np.dtype(endian + _V3_NUMERIC[value])), None
        if value in _V3_VARIABLE:
            return np.dtype(object), _V3_VARIABLE[value]
        if value.startswith("r") and value[1:].isdigit() and int(value[1:]) % 8 == 0:
            return _checked(np.dtype(f"V{int(value[1:]) // 8}")), None
        raise ValueError(f"data type {value!r}")
    if not isinstance(value, dict) or not isinstance(value.get("name"), str):
        raise ValueError(f"data type {value!r}")
    name, config = value["name"], value.get("configuration") or {}
    if not isinstance(config, dict):
        raise ValueError(f"data type {value!r}")
    length = config.get("length_bytes")
    if name == "fixed_length_utf32" and isinstance(length, int) and length >= 0 and length % 4 == 0:
        return _checked(np.dtype(f"{endian}U{length // 4}")), None
    if name in ("null_terminated_bytes", "fixed_length_bytes") and isinstance(length, int) and length >= 0:
        return _checked(np.dtype(f"S{length}")), None
    if name in ("raw_bytes", "fixed_length_raw_bytes") and isinstance(length, int) and length >= 0:
        return _checked(np.dtype(f"V{length}")), None
    if name in ("numpy.datetime64", "numpy.timedelta64") and isinstance(config.get("unit"), str):
        kind = "M8" if name == "numpy.datetime64" else "m8"
        scale = config.get("scale_factor", 1)
        return _checked(np.dtype(f"{endian}{kind}[{scale}{config['unit']}]")), None
    if name in ("struct", "structured"):
        return _struct(config.get("fields"), endian), None
    raise ValueError(f"data type {value!r}")


def _struct(fields: Any, endian: str) -> np.dtype:
    """zarr 3.1 writes fields as [[name, type], ...], later versions as [{name, data_type}]."""
    if not isinstance(fields, list) or not 0 < len(fields) <= MAX_FIELDS:
        raise ValueError(f"struct fields {fields!r}")
    out = []
    for field in fields:
        if isinstance(field, dict):
            name, sub = field.get("name"), field.get("data_type")
        elif isinstance(field, list) and len(field) == 2:
            name, sub = field
        else:
            raise ValueError(f"struct field {field!r}")
        dtype, variable = v3_dtype(sub, endian)
        if not isinstance(name, str) or variable is not None:
            raise ValueError(f"struct field {field!r}")
        out.append((name, dtype))
    return _checked(np.dtype(out))


_SPECIAL_FLOATS = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def fill_value(dtype: np.dtype, value: Any) -> Any:
    """A v2 / v3 `fill_value` as a value numpy can assign to an element of `dtype`; a value
    that does not parse is the type's zero (it only fills chunks that were never written)."""
    try:
        return _fill(dtype, value)
    except (ValueError, TypeError, OverflowError, struct.error, KeyError):
        return _zero(dtype)


def _zero(dtype: np.dtype) -> Any:
    return "" if dtype.kind == "O" else np.zeros((), dtype=dtype)[()]


def _fill(dtype: np.dtype, value: Any) -> Any:
    if value is None:
        return None if dtype.kind == "O" else _zero(dtype)
    if dtype.kind == "O":
        return value if isinstance(value, str | int | float | bool) else ""
    if dtype.names:
        if isinstance(value, dict):
            return tuple(_fill(dtype[n], value.get(n)) for n in dtype.names)
        if isinstance(value, str):
            return np.frombuffer(base64.b64decode(value), dtype=dtype, count=1)[0]
        return _zero(dtype)
    if dtype.kind == "f" or dtype.kind == "c":
        if isinstance(value, str) and value in _SPECIAL_FLOATS:
            return _SPECIAL_FLOATS[value]
        if isinstance(value, str) and value.startswith("0x"):  # the float's raw bits
            raw = int(value, 16).to_bytes(dtype.itemsize, "big")
            return np.frombuffer(raw, dtype=dtype.newbyteorder(">"), count=1)[0]
        if isinstance(value, list) and len(value) == 2:
            part = np.dtype(f"{dtype.byteorder}f{dtype.itemsize // 2}")  # each part a float fill
            return complex(*(_fill(part, v) for v in value))
        return float(value)
    if dtype.kind in "SV":
        return base64.b64decode(value) if isinstance(value, str) else _zero(dtype)
    if dtype.kind == "U":
        return str(value)
    if dtype.kind == "b":
        return bool(value)
    if dtype.kind in "iu":
        return int(value)
    if dtype.kind in "mM":
        return np.array(value, dtype="i8").view(dtype)[()] if isinstance(value, int) else _zero(dtype)
    return _zero(dtype)
