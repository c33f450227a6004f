"""What goes to stdout: JSON (indented, keys sorted), JSON lines, and plain-text tables, laid
out as lazynwb 1.0's CLI lays them out so scripts parsing either keep working.

Rows become JSON values here: numpy scalars and arrays become numbers and lists, non-finite
floats null, dates and times ISO 8601 text, bytes UTF-8 text (hex when not UTF-8), structs
objects with sorted keys.
"""

from __future__ import annotations

import collections.abc
import datetime
import json
import math
from collections.abc import Mapping, Sequence
from typing import Any, TextIO

import numpy as np
import polars as pl

JSONValue = Any


def write_json(stream: TextIO, payload: Mapping[str, Any]) -> None:
    stream.write(json.dumps(payload, indent=2, sort_keys=True))
    stream.write("\n")


def write_jsonl(stream: TextIO, rows: Sequence[Mapping[str, Any]]) -> None:
    for row in rows:
        stream.write(json.dumps(row, sort_keys=True))
        stream.write("\n")


def cell_text(value: object, max_width: int = 80) -> str:
    """One table cell: lists and objects as compact JSON, None as null, long text cut."""
    if isinstance(value, (dict, list)):
        text = json.dumps(value, sort_keys=True, separators=(",", ":"))
    elif value is None:
        text = "null"
    else:
        text = str(value)
    return text if len(text) <= max_width else text[: max_width - 3] + "..."


def write_table(stream: TextIO, headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """`a | b` columns padded to their widest cell, a `-+-` rule under the header."""
    if not headers:
        stream.write("(no columns)\n")
        return
    widths = [max([len(h)] + [len(row[i]) for row in rows]) for i, h in enumerate(headers)]
    stream.write(" | ".join(f"{h:<{w}}" for h, w in zip(headers, widths)) + "\n")
    stream.write("-+-".join("-" * w for w in widths) + "\n")
    for row in rows:
        stream.write(" | ".join(f"{c:<{w}}" for c, w in zip(row, widths)) + "\n")


def write_rows_table(stream: TextIO, columns: Sequence[str], rows: Sequence[Mapping[str, Any]]) -> None:
    write_table(stream, columns, [[cell_text(row.get(c)) for c in columns] for row in rows])


def frame_rows(frame: pl.DataFrame) -> tuple[dict[str, JSONValue], ...]:
    """A collected frame's rows as JSON objects (column order kept by `frame.columns`)."""
    columns = [str(c) for c in frame.columns]
    return tuple({c: to_json_value(v) for c, v in zip(columns, row)} for row in frame.iter_rows())


def to_json_value(value: object) -> JSONValue:
    """A Python / numpy / polars cell value as plain JSON data."""
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, np.ndarray):
        return to_json_value(value.tolist())
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return value.hex()
    if isinstance(value, collections.abc.Mapping):
        return {str(k): to_json_value(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, (list, tuple)):
        return [to_json_value(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return [to_json_value(v) for v in sorted(value, key=str)]
    return str(value)
