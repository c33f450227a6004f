"""convert_nwb_tables round trips in every format (written, read back, compared with what
scan_nwb / the metadata readers give), and get_sql_context queries equal polars."""

from __future__ import annotations

import datetime
import json
import math
import warnings
from pathlib import Path
from typing import Any

import polars as pl
import pytest

import lazynwb_explorer as lazynwb
from lazynwb_explorer.api.convert import EXCEL_CELL_LIMIT, convert_nwb_tables, fit_format
from lazynwb_explorer.api.discovery import metadata_frame
from lazynwb_explorer.api.get import get
from lazynwb_explorer.api.sql import get_sql_context
from lazynwb_explorer.sources import to_sources

try:
    from tests.conftest import SHARED_FILES
except ImportError:  # pragma: no cover - tests/ on sys.path
    from conftest import SHARED_FILES

FORMATS = ["parquet", "csv", "json", "excel", "feather", "arrow", "avro", "delta"]


@pytest.fixture(scope="module")
def files(sessions, rich_zarr) -> list[Path]:
    return [*sessions, Path(rich_zarr)]


def _expected(files: list[Path], table_path: str) -> pl.DataFrame:
    if table_path in ("/general", "/general/subject"):
        return metadata_frame(to_sources([str(f) for f in files]), table_path)
    return lazynwb.scan_nwb([str(f) for f in files], table_path, disable_progress=True).collect()


def _read_back(path: Path, fmt: str, expected: pl.DataFrame) -> pl.DataFrame:
    if fmt == "parquet":
        return pl.read_parquet(path)
    if fmt in ("feather", "arrow"):
        return pl.read_ipc(path)
    if fmt == "delta":
        return pl.read_delta(str(path))
    if fmt == "avro":
        return pl.read_avro(path)
    if fmt == "json":
        schema = {c: _no_arrays(t) for c, t in expected.schema.items()}
        return pl.read_json(path, schema=schema)
    if fmt == "csv":
        return pl.read_csv(path, infer_schema=False)
    return pl.read_excel(path)


def _no_arrays(dtype: pl.DataType) -> pl.DataType:
    if isinstance(dtype, pl.Array | pl.List):
        return pl.List(_no_arrays(dtype.inner))
    if isinstance(dtype, pl.Struct):
        return pl.Struct({f.name: _no_arrays(f.dtype) for f in dtype.fields})
    return dtype


def _same(ours: Any, expected: Any) -> bool:
    """Equal up to the documented treatment: JSON text for nested values, text for numbers
    and bools (csv), naive UTC or ISO text for times, float32 widened."""
    if expected is None or expected == "":
        return ours is None or ours == ""
    if isinstance(expected, list | dict) and isinstance(ours, str):
        ours = json.loads(ours)
    if isinstance(expected, dict):
        return isinstance(ours, dict) and all(_same(ours.get(k), v) for k, v in expected.items())
    if isinstance(expected, list):
        return isinstance(ours, list) and len(ours) == len(expected) and all(
            _same(a, b) for a, b in zip(ours, expected))
    if isinstance(expected, datetime.datetime):
        if isinstance(ours, str):
            ours = datetime.datetime.fromisoformat(ours)
        if isinstance(ours, datetime.datetime) and ours.tzinfo is None:
            ours = ours.replace(tzinfo=datetime.timezone.utc)
        return ours == expected
    if isinstance(expected, bool):
        return ours == expected or str(ours).lower() == str(expected).lower()
    if isinstance(expected, int | float):
        try:
            return math.isclose(float(ours), float(expected), rel_tol=1e-6, abs_tol=1e-12)
        except (TypeError, ValueError):
            return False
    return ours == expected


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_round_trips(files: list[Path], tmp_path: Path, fmt: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no table silently skipped with a warning
        written = convert_nwb_tables(files, tmp_path, output_format=fmt, disable_progress=True)
    assert set(written) >= {"/units", "/intervals/trials", "/intervals/epochs", "/general",
                            "/general/subject", "/general/extracellular_ephys/electrodes"}
    for table_path, out in written.items():
        assert out.exists() and out.parent == tmp_path
        assert out.name.split(".")[0] == table_path.rsplit("/", 1)[-1]
        expected = _expected(files, table_path)
        back = _read_back(out, fmt, expected)
        assert back.height == expected.height and back.columns == expected.columns, table_path
        if fmt in ("parquet", "feather", "arrow"):
            assert back.equals(expected), table_path  # lossless
            continue
        for column in expected.columns:
            for i, (a, b) in enumerate(zip(back[column].to_list(), expected[column].to_list())):
                assert _same(a, b), (fmt, table_path, column, i, a, b)


def test_format_treatments(tmp_path: Path) -> None:
    tz = datetime.timezone.utc
    df = pl.DataFrame({
        "u8": pl.Series([1, 255], dtype=pl.UInt8), "u64": pl.Series([1, 2], dtype=pl.UInt64),
        "i8": pl.Series([-1, 5], dtype=pl.Int8),
        "arr": pl.Series([[1.0, 2.0], [3.0, 4.0]], dtype=pl.Array(pl.Float32, 2)),
        "t": pl.Series([datetime.datetime(2020, 1, 1, 12, tzinfo=tz), None],
                       dtype=pl.Datetime("us", "UTC")),
    })
    avro = tmp_path / "x.avro"
    fit_format(df, "avro").write_avro(avro)
    back = pl.read_avro(avro)
    assert back["u8"].to_list() == [1, 255] and back["i8"].to_list() == [-1, 5]
    assert back["arr"].to_list() == [[1.0, 2.0], [3.0, 4.0]]
    assert back["t"].to_list() == [datetime.datetime(2020, 1, 1, 12), None]  # UTC, no zone
    huge = pl.DataFrame({"s": ["x" * (EXCEL_CELL_LIMIT + 10), "ok"]})
    with pytest.warns(UserWarning, match="Excel"):
        cut = fit_format(huge, "excel", "/t")
    assert cut["s"].str.len_chars().to_list() == [EXCEL_CELL_LIMIT, 2]


def test_options(files: list[Path], tmp_path: Path) -> None:
    no_tables = next(p for p in SHARED_FILES if p.name == "2.2.0_subject_no_age__reference.nwb")
    mixed = [*files, no_tables]
    common = convert_nwb_tables(mixed, tmp_path / "a", min_file_count=len(mixed),
                                disable_progress=True)
    assert set(common) == {"/general", "/general/subject"}
    full = convert_nwb_tables(files[:2], tmp_path / "b", full_path=True, disable_progress=True,
                              exclude_array_columns=True)
    assert full["/intervals/trials"].name == "intervals_trials.parquet"
    units = pl.read_parquet(full["/units"])
    assert "spike_times" not in units.columns and "unit_id" in units.columns
    per_session = convert_nwb_tables(files[:2], tmp_path / "c", session_subdirs=True,
                                     disable_progress=True)
    assert "session_0000/units" in per_session and "session_0001/intervals/trials" in per_session
    one = pl.read_parquet(per_session["session_0001/units"])
    assert one["_nwb_path"].unique().to_list() == [str(files[1])]
    with pytest.raises(ValueError, match="Unsupported output format"):
        convert_nwb_tables(files, tmp_path / "d", output_format="xml")


def test_sql_context_queries_equal_polars(files: list[Path]) -> None:
    ctx = get_sql_context(files, disable_progress=True)
    names = set(ctx.tables())
    assert {"units", "trials", "epochs", "electrodes", "session", "subject", "lick_sensor",
            "running_speed"} <= names
    sources = [str(f) for f in files]
    units = lazynwb.scan_nwb(sources, "/units", disable_progress=True)
    got = ctx.execute("SELECT location, COUNT(*) AS n, AVG(presence_ratio) AS p FROM units "
                      "WHERE is_good GROUP BY location ORDER BY location").collect()
    want = (units.filter(pl.col("is_good")).group_by("location")
            .agg(pl.len().alias("n").cast(got.schema["n"]), pl.col("presence_ratio").mean().alias("p"))
            .sort("location").collect())
    assert got.equals(want)
    sess = ctx.execute("SELECT session_id, _nwb_path FROM session").collect()
    assert sorted(sess["_nwb_path"].to_list()) == sorted(sources)
    assert sess["session_id"].to_list() == lazynwb.get_metadata_df(
        files, disable_progress=True, as_polars=True)["session_id"].to_list()
    lick = ctx.execute("SELECT * FROM lick_sensor WHERE timestamps < 1.0").collect()
    frame = get(files, "lick_sensor", as_df=True, as_polars=True, disable_progress=True)
    assert lick.equals(frame.filter(pl.col("timestamps") < 1.0).select(lick.columns))
    only = get_sql_context(files, table_names=["units", "session"], disable_progress=True)
    assert set(only.tables()) == {"units", "session"}
    assert "lick_sensor" not in get_sql_context(files, exclude_timeseries=True,
                                                disable_progress=True).tables()
    with pytest.raises(ValueError, match="not found"):
        get_sql_context(files, table_names=["nope"], disable_progress=True)
