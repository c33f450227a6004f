"""Pushdown equals the same query run in memory: a differential property test.

Hypothesis writes queries - predicates of every kind (comparisons, windows on one column,
is_between, is_in, is_null / is_nan, ~, &, |, starts_with / contains, arithmetic on columns,
one column against another, list lengths, the internal columns) and projections (scalar,
ragged, n-D and internal columns, in any order), sometimes with head(n) - over tables in
HDF5 (read by h5py and by our own engine), Zarr and several files at once (one pair
with column types that differ between the files).
`scan_nwb(...).filter(p).select(s)` must equal the query run by polars on the table pynwb
reads (its to_dataframe, per file, concatenated in source order, with the internal
columns added).

`make test` runs EXAMPLES queries with a fixed seed; `make fuzz` runs FUZZ_SCALE times as
many, on other inputs when FUZZ_SEED is set. Failures are collected, not shrunk, so a run
reports how many queries of how many differ and shows the first few.
"""

from __future__ import annotations

import os
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hypothesis.strategies as st
import polars as pl
import pytest
from hypothesis import HealthCheck, given, seed, settings
from polars.testing import assert_frame_equal

import lazynwb_explorer as lazynwb
from lazynwb_explorer.catalog import open_catalog
from lazynwb_explorer.nwb.tables import describe_table
from lazynwb_explorer.sources import to_source

import nwb_factory as nf
from pynwb_reference import reference_columns

EXAMPLES = int(1000 * float(os.environ.get("FUZZ_SCALE", "1")))
FUZZ_SEED = os.environ.get("FUZZ_SEED")
TABLES = ("/units", "/intervals/trials", "/general/extracellular_ephys/electrodes")
INTERNAL = ("_nwb_path", "_table_path", "_table_index")


@dataclass
class Case:
    """One table over some files, and the oracle: that table as pynwb reads it."""

    name: str
    files: list[str]
    table: str
    oracle: pl.DataFrame
    engine: str = "auto"  # "native": local HDF5 read by our engine instead of h5py
    kinds: dict[str, str] = field(default_factory=dict)  # column -> kind
    values: dict[str, list[Any]] = field(default_factory=dict)  # column -> distinct values


def _kind(dtype: pl.DataType) -> str:
    if isinstance(dtype, pl.List):
        return "ragged"
    if isinstance(dtype, pl.Array):
        return "ndarray"
    if dtype == pl.Boolean:
        return "bool"
    if dtype == pl.String:
        return "string"
    if dtype.is_float():
        return "float"
    if dtype.is_integer():
        return "int"
    return "other"


def _oracle(path: Path, table: str) -> pl.DataFrame:
    """pynwb's table with our column types (the values are what is compared) and the
    internal columns; references and compound columns (pynwb hands out containers) and
    columns pynwb does not give are left out of both sides."""
    catalog = open_catalog(to_source(path))
    described = describe_table(catalog, table)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = reference_columns(path, table)
    columns = {}
    for name, column in described.columns.items():
        if name not in reference or column.meta.is_reference or column.meta.dtype.names:
            continue
        columns[name] = pl.Series(name, reference[name], dtype=column.dtype)
    n = len(reference["id"])
    columns["_nwb_path"] = pl.Series("_nwb_path", [str(path)] * n, dtype=pl.String)
    columns["_table_path"] = pl.Series("_table_path", [table.lstrip("/")] * n, dtype=pl.String)
    columns["_table_index"] = pl.Series("_table_index", range(n), dtype=pl.Int64)
    return pl.DataFrame(columns)


def _case(name: str, files: list[Path], table: str, engine: str = "auto") -> Case:
    frames = [_oracle(f, table) for f in files]
    shared = [c for c in frames[0].columns if all(c in f.columns for f in frames)]
    with warnings.catch_warnings():  # types that differ between files: widened (the README's
        warnings.simplefilter("ignore")  # rule, tested in test_mixed_types)
        schema = lazynwb.get_table_schema(files, table)
    oracle = pl.concat([f.select(pl.col(c).cast(schema[c]) for c in shared) for f in frames])
    case = Case(name, [str(f) for f in files], table, oracle, engine)
    for column, dtype in oracle.schema.items():
        case.kinds[column] = _kind(dtype)
        if case.kinds[column] in ("int", "float", "string", "bool"):
            case.values[column] = oracle[column].drop_nulls().unique(maintain_order=True).to_list()
    return case


@pytest.fixture(scope="module")
def cases(rich_hdf5, rich_zarr, sessions, tmp_path_factory) -> list[Case]:
    out = []
    for table in TABLES:
        out += [
            _case("hdf5", [rich_hdf5], table),
            _case("hdf5-engine", [rich_hdf5], table, engine="native"),
            _case("zarr", [rich_zarr], table),
            _case("3 files", list(sessions), table),
            _case("hdf5+zarr", [rich_hdf5, rich_zarr], table),
        ]
    widening = nf.write_widening_types_pair(tmp_path_factory.mktemp("widening"))
    return [*out, _case("types differ", widening, "/intervals/trials")]


# -- queries ---------------------------------------------------------------------------------

@dataclass
class Query:
    case: Case
    predicate: pl.Expr
    columns: list[str]
    head: int | None

    def __str__(self) -> str:
        head = f".head({self.head})" if self.head is not None else ""
        return (f"[{self.case.name} {self.case.table}] filter({self.predicate})"
                f".select({self.columns}){head}")


def _of(case: Case, *kinds: str) -> list[str]:
    return [c for c, k in case.kinds.items() if k in kinds and (k == "ragged" or case.values.get(c))]


def _value(draw: Callable, case: Case, column: str) -> Any:
    values = case.values[column]
    if case.kinds[column] == "float" and draw(st.booleans()):
        finite = [v for v in values if v == v] or [0.0]
        return draw(st.floats(min(finite) - 1, max(finite) + 1, allow_nan=False))
    return draw(st.sampled_from(values))


def _atom(draw: Callable, case: Case) -> pl.Expr:
    numeric = _of(case, "int", "float")
    strings = _of(case, "string")
    kinds = ["compare", "window", "between", "is_in", "null", "internal"]
    kinds += ["nan"] * bool(_of(case, "float")) + ["text"] * bool(strings)
    kinds += ["arithmetic", "two_columns"] * (len(numeric) > 1) + ["bool"] * bool(_of(case, "bool"))
    kinds += ["list_len"] * bool(_of(case, "ragged"))
    kind = draw(st.sampled_from(kinds))
    scalars = numeric + strings
    if kind == "compare":
        name = draw(st.sampled_from(scalars))
        ops = ["==", "!="] + (["<", "<=", ">", ">="] if name in numeric else [])
        return _compare(pl.col(name), draw(st.sampled_from(ops)), _value(draw, case, name))
    if kind == "window":  # one column named twice, as every time window does
        name = draw(st.sampled_from(numeric))
        a, b = sorted([_value(draw, case, name), _value(draw, case, name)])
        lower, upper = draw(st.sampled_from([(">", "<"), (">=", "<="), (">", "<=")]))
        return _compare(pl.col(name), lower, a) & _compare(pl.col(name), upper, b)
    if kind == "between":
        name = draw(st.sampled_from(numeric))
        a, b = sorted([_value(draw, case, name), _value(draw, case, name)])
        closed = draw(st.sampled_from(["both", "left", "right", "none"]))
        return pl.col(name).is_between(a, b, closed=closed)
    if kind == "is_in":
        name = draw(st.sampled_from(scalars))
        picked = draw(st.lists(st.sampled_from(case.values[name]), min_size=1, max_size=4))
        return pl.col(name).is_in(picked)
    if kind == "null":
        name = draw(st.sampled_from(list(case.kinds)))
        return pl.col(name).is_null() if draw(st.booleans()) else pl.col(name).is_not_null()
    if kind == "nan":
        name = draw(st.sampled_from(_of(case, "float")))
        return pl.col(name).is_nan() if draw(st.booleans()) else pl.col(name).is_not_nan()
    if kind == "text":
        name = draw(st.sampled_from(strings))
        text = str(draw(st.sampled_from(case.values[name])))
        a = draw(st.integers(0, len(text)))
        b = draw(st.integers(a, len(text)))
        if draw(st.booleans()):
            return pl.col(name).str.starts_with(text[:b])
        return pl.col(name).str.contains(text[a:b], literal=True)
    if kind == "arithmetic":
        x, y = draw(st.lists(st.sampled_from(numeric), min_size=2, max_size=2))
        k = draw(st.sampled_from([-2, 0.5, 1, 3]))
        op = draw(st.sampled_from(["<", ">", "<=", ">="]))
        return _compare(pl.col(x) * k + pl.col(y), op, _value(draw, case, x) * k + _value(draw, case, y))
    if kind == "two_columns":
        x, y = draw(st.lists(st.sampled_from(numeric), min_size=2, max_size=2, unique=True))
        return _compare(pl.col(x), draw(st.sampled_from(["<", "<=", "==", "!=", ">"])), pl.col(y))
    if kind == "bool":
        name = draw(st.sampled_from(_of(case, "bool")))
        return pl.col(name) if draw(st.booleans()) else pl.col(name) == draw(st.booleans())
    if kind == "list_len":
        name = draw(st.sampled_from(_of(case, "ragged")))
        return _compare(pl.col(name).list.len(), draw(st.sampled_from([">", "<=", "=="])),
                        draw(st.integers(0, 30)))
    which = draw(st.sampled_from(INTERNAL))  # internal columns: whole files pruned, rows too
    if which == "_table_index":
        return _compare(pl.col(which), draw(st.sampled_from(["<", ">=", "=="])),
                        draw(st.integers(0, 60)))
    if which == "_nwb_path":
        picked = draw(st.lists(st.sampled_from(case.files), min_size=1, max_size=2))
        return pl.col(which).is_in(picked) if len(picked) > 1 else pl.col(which) == picked[0]
    return pl.col(which) == draw(st.sampled_from([case.table.lstrip("/"), "intervals/epochs"]))


def _compare(left: pl.Expr, op: str, right: Any) -> pl.Expr:
    return {"==": left.__eq__, "!=": left.__ne__, "<": left.__lt__, "<=": left.__le__,
            ">": left.__gt__, ">=": left.__ge__}[op](right)


def _predicate(draw: Callable, case: Case, depth: int = 0) -> pl.Expr:
    shape = draw(st.sampled_from(["atom"] * 3 + (["not", "and", "or"] if depth < 3 else [])))
    if shape == "atom":
        return _atom(draw, case)
    if shape == "not":
        return ~_predicate(draw, case, depth + 1)
    left, right = _predicate(draw, case, depth + 1), _predicate(draw, case, depth + 1)
    return left & right if shape == "and" else left | right


@st.composite
def queries(draw: Callable, cases: list[Case]) -> Query:
    case = draw(st.sampled_from(cases))
    predicate = _predicate(draw, case)
    columns = draw(st.lists(st.sampled_from(list(case.kinds)), min_size=1, max_size=6,
                            unique=True))
    head = draw(st.one_of(st.none(), st.integers(0, 25)))
    return Query(case, predicate, columns, head)


def _run_ours(query: Query) -> pl.DataFrame:
    frame = lazynwb.scan_nwb(query.case.files, query.case.table, disable_progress=True)
    frame = frame.filter(query.predicate).select(query.columns)
    return (frame.head(query.head) if query.head is not None else frame).collect()


def _run_oracle(query: Query) -> pl.DataFrame:
    frame = query.case.oracle.lazy().filter(query.predicate).select(query.columns)
    return (frame.head(query.head) if query.head is not None else frame).collect()


def check(query: Query) -> str | None:
    """None when scan_nwb agrees with the in-memory query, else what differs."""
    expected = _run_oracle(query)
    saved = lazynwb.config.hdf5_engine
    lazynwb.config.hdf5_engine = query.case.engine
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ours = _run_ours(query)
        assert_frame_equal(ours, expected)
    except Exception as exc:  # noqa: BLE001 - every difference is collected and reported
        return f"{query}\n    -> {type(exc).__name__}: {str(exc)[:300]}"
    finally:
        lazynwb.config.hdf5_engine = saved
    return None


def test_pushdown_equals_the_query_in_memory(cases) -> None:
    for case in cases:  # the oracle is whole: every table has rows, values to draw from
        assert case.oracle.height > 0 and _of(case, "int", "float"), case.name
    failures: list[str] = []
    ran: list[str] = []

    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=FUZZ_SEED is None,
              suppress_health_check=list(HealthCheck))
    @given(st.data())
    def run(data: st.DataObject) -> None:
        query = data.draw(queries(cases))
        ran.append(str(query))
        problem = check(query)
        if problem:
            failures.append(problem)

    if FUZZ_SEED is not None:
        run = seed(int(FUZZ_SEED))(run)
    started = time.monotonic()
    run()
    print(f"{len(ran)} queries in {time.monotonic() - started:.1f} s, {len(failures)} differ")
    assert len(ran) >= EXAMPLES
    kinds = {name.split("]")[0] for name in ran}
    assert len(kinds) == len(cases), "every table and file set was queried"
    assert not failures, f"{len(failures)} of {len(ran)} queries differ:\n" + "\n".join(failures[:8])
