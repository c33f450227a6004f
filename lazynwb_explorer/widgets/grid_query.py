"""The grid's filters and sort, from the JSON the browser keeps in traitlets to polars.

A filter is {"column": name, "op": one of OPS, "value": text or number}; the value is parsed
by the column's type (numbers, booleans, strings), so '0.95' compares as a float. A sort is
{"column": name, "descending": bool}. Only scalar columns can be filtered or sorted (array
cells have no order); `_nwb_path` can be filtered, which prunes whole files.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

import polars as pl

from ..nwb.columns import PolarsType

OPS = ("==", "!=", "<", "<=", ">", ">=", "contains", "starts_with", "in", "is_null", "not_null")


class QueryError(ValueError):
    """A filter or sort the grid cannot apply (shown in the grid as text)."""


def _is_scalar(dtype: PolarsType) -> bool:
    return not isinstance(dtype, pl.List | pl.Array | pl.Struct)


def _parse(value: Any, dtype: PolarsType, column: str) -> Any:
    if value is None:
        return None
    text = str(value).strip()
    try:
        if dtype == pl.Boolean:
            if text.lower() in ("true", "1", "yes"):
                return True
            if text.lower() in ("false", "0", "no"):
                return False
            raise ValueError(text)
        if dtype.is_integer():
            number = float(text)
            return int(number) if number.is_integer() else number
        if dtype.is_float():
            return float(text)
    except ValueError as exc:
        raise QueryError(f"{value!r} is not a valid {dtype} value for column {column!r}") from exc
    return text


def _values(value: Any) -> list[Any]:
    if isinstance(value, list):
        return value
    text = str(value or "").strip()
    if text.startswith("["):
        try:
            parsed = json.loads(text)
            if isinstance(parsed, list):
                return parsed
        except json.JSONDecodeError:
            pass
    return [v.strip() for v in text.split(",") if v.strip()]


def filter_expr(item: dict[str, Any], schema: Mapping[str, PolarsType]) -> pl.Expr:
    """One filter condition as a polars expression (QueryError when it cannot apply)."""
    column = str(item.get("column", ""))
    op = str(item.get("op", "=="))
    if column not in schema:
        raise QueryError(f"no column {column!r} to filter on")
    dtype = schema[column]
    if not _is_scalar(dtype):
        raise QueryError(f"column {column!r} holds arrays ({dtype}); filter a scalar column")
    if op not in OPS:
        raise QueryError(f"unknown filter operation {op!r}; one of {', '.join(OPS)}")
    col = pl.col(column)
    if op == "is_null":
        return col.is_null()
    if op == "not_null":
        return col.is_not_null()
    if op in ("contains", "starts_with"):
        text = str(item.get("value", ""))
        as_text = col.cast(pl.String)
        return as_text.str.contains(text, literal=True) if op == "contains" \
            else as_text.str.starts_with(text)
    if op == "in":
        values = [_parse(v, dtype, column) for v in _values(item.get("value"))]
        return col.is_in(pl.Series(values, dtype=dtype, strict=False))
    value = _parse(item.get("value"), dtype, column)
    return {
        "==": col == value, "!=": col != value, "<": col < value,
        "<=": col <= value, ">": col > value, ">=": col >= value,
    }[op]


def checked(filters: Sequence[dict[str, Any]], schema: Mapping[str, PolarsType]
            ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(the filters that apply, [{index, message}] for each one that does not). A bad filter
    is left out and reported once, never applied half-way or allowed to fail the others."""
    good, errors = [], []
    for i, item in enumerate(filters):
        try:
            filter_expr(item, schema)
        except QueryError as exc:
            errors.append({"index": i, "message": str(exc)})
        else:
            good.append(item)
    return good, errors


def predicate(filters: Sequence[dict[str, Any]], schema: Mapping[str, PolarsType]) -> pl.Expr | None:
    """All filters AND-ed (None without filters); QueryError for one that cannot apply."""
    exprs = [filter_expr(f, schema) for f in filters]
    if not exprs:
        return None
    out = exprs[0]
    for e in exprs[1:]:
        out = out & e
    return out


def sort_keys(sort: Sequence[dict[str, Any]], schema: Mapping[str, PolarsType]) -> list[tuple[str, bool]]:
    """[(column, descending)], checked against the schema."""
    keys = []
    for item in sort:
        column = str(item.get("column", ""))
        if column not in schema:
            raise QueryError(f"no column {column!r} to sort by")
        if not _is_scalar(schema[column]):
            raise QueryError(f"column {column!r} holds arrays; sort by a scalar column")
        keys.append((column, bool(item.get("descending", False))))
    return keys


Frame = TypeVar("Frame", pl.DataFrame, pl.LazyFrame)


def sorted_frame(frame: Frame, keys: Sequence[tuple[str, bool]],
                 schema: Mapping[str, PolarsType]) -> Frame:
    """`frame` sorted by the keys, stable, with nulls and NaN last in either direction (NaN
    is a float larger than any number to polars, so it would come first when descending)."""
    if not keys:
        return frame
    exprs = [pl.col(c).fill_nan(None) if schema[c].is_float() else pl.col(c) for c, _ in keys]
    return frame.sort(exprs, descending=[d for _, d in keys], nulls_last=True, maintain_order=True)


def query_key(filters: Sequence[dict[str, Any]], sort: Sequence[dict[str, Any]]) -> str:
    """A stable cache key for a (filters, sort) pair."""
    return json.dumps([list(filters), list(sort)], sort_keys=True, default=str)


def query_code(filters: Sequence[dict[str, Any]], sort: Sequence[dict[str, Any]],
               schema: Mapping[str, PolarsType]) -> str:
    """The filters and sort as polars code (`.filter(...).sort(...)`) that a snippet can
    append to a scan: the same rows in the same order as the grid (bad filters left out)."""
    good, _errors = checked(filters, schema)
    parts = []
    for item in good:
        column = str(item.get("column"))
        op = str(item.get("op", "=="))
        col = f"pl.col({column!r})"
        if op in ("is_null", "not_null"):
            parts.append(f"{col}.{'is_null' if op == 'is_null' else 'is_not_null'}()")
        elif op in ("contains", "starts_with"):
            text = str(item.get("value", ""))
            call = f"contains({text!r}, literal=True)" if op == "contains" else f"starts_with({text!r})"
            parts.append(f"{col}.cast(pl.String).str.{call}")
        elif op == "in":
            values = [_parse(v, schema[column], column) for v in _values(item.get("value"))]
            parts.append(f"{col}.is_in({values!r})")
        else:
            parts.append(f"({col} {op} {_parse(item.get('value'), schema[column], column)!r})")
    code = f".filter({', '.join(parts)})" if parts else ""
    keys = sort_keys(sort, schema) if sort else []
    if keys:
        exprs = [f"pl.col({c!r}).fill_nan(None)" if schema[c].is_float() else f"pl.col({c!r})"
                 for c, _ in keys]
        code += (f".sort([{', '.join(exprs)}], descending={[d for _, d in keys]!r}, "
                 "nulls_last=True, maintain_order=True)")
    return code
