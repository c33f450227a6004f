"""The Dask path on a real cluster of worker processes: same rows as scan_nwb, and a failed
partition is re-run by Dask until the result is complete."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import polars as pl
import pytest
from distributed import Client, LocalCluster

import lazynwb_explorer as lazynwb
from lazynwb_explorer.dask import map_sessions, read_table
from lazynwb_explorer.errors import LazyNWBError

GOOD = pl.col("presence_ratio") >= 0.5
COLUMNS = ["unit_id", "location", "spike_times", "waveform_mean", "_nwb_path", "_table_index"]


@pytest.fixture(scope="module")
def client() -> Iterator[Client]:
    """Two single-threaded worker processes on 127.0.0.1, the default scheduler meanwhile."""
    with LocalCluster(
        processes=True, n_workers=2, threads_per_worker=1, host="127.0.0.1",
        dashboard_address=None,
    ) as cluster, Client(cluster) as client:
        yield client


def _expected(sources: list[str], table_path: str, predicate: pl.Expr, columns: list[str]) -> pd.DataFrame:
    frame = lazynwb.scan_nwb(sources, table_path, disable_progress=True)
    return frame.filter(predicate).select(columns).collect().to_pandas()


def _sources(sessions, locate, where: str) -> list[str]:
    if where == "mixed":
        return [locate(p, w) for p, w in zip(sessions, ["local", "http", "http"])]
    return [locate(p, where) for p in sessions]


@pytest.mark.parametrize(
    ("where", "files_per_partition"), [("local", 1), ("http", 1), ("mixed", 2)]
)
def test_read_table_equals_scan_nwb(client, sessions, locate, where, files_per_partition) -> None:
    sources = _sources(sessions, locate, where)
    ddf = read_table(
        sources, "/units", columns=COLUMNS, filters=GOOD, files_per_partition=files_per_partition
    )
    assert ddf.npartitions == -(-len(sources) // files_per_partition)
    assert list(ddf.columns) == COLUMNS
    result = ddf.compute()
    expected = _expected(sources, "/units", GOOD, COLUMNS)
    assert len(expected) > 0 and expected["_nwb_path"].nunique() == len(sources)
    assert len(expected) < sum(len(lazynwb.LazyNWB(s).units) for s in sources)  # filtered
    pd.testing.assert_frame_equal(result.reset_index(drop=True), expected)


def test_meta_and_all_columns_match_scan_nwb(client, sessions, locate) -> None:
    sources = _sources(sessions, locate, "http")
    ddf = read_table(sources, "/intervals/trials")
    schema = lazynwb.scan_nwb(sources, "/intervals/trials").collect_schema()
    assert list(ddf.columns) == list(schema)
    assert dict(ddf.dtypes) == dict(pl.DataFrame(schema=schema).to_pandas().dtypes)
    expected = _expected(sources, "/intervals/trials", pl.lit(True), list(schema))
    pd.testing.assert_frame_equal(ddf.compute().reset_index(drop=True), expected)


def test_column_selection_reaches_the_read(client, sessions, locate) -> None:
    """A selection made on the Dask DataFrame is handed to each partition's read."""
    sources = _sources(sessions, locate, "http")
    ddf = read_table(sources, "/units", filters=GOOD)
    selected = ddf[["unit_id", "_nwb_path"]]
    reads = [e for e in selected.optimize().expr.walk() if e._name.startswith("read-nwb-table")]
    assert len(reads) == 1 and set(reads[0].kwargs["columns"]) == {"unit_id", "_nwb_path"}
    expected = _expected(sources, "/units", GOOD, ["unit_id", "_nwb_path"])
    pd.testing.assert_frame_equal(selected.compute().reset_index(drop=True), expected)


def test_unknown_column_fails_before_any_task(sessions) -> None:
    with pytest.raises(lazynwb.ColumnError, match="no_such_column"):
        read_table(sessions, "/units", filters=pl.col("no_such_column") > 0)


def test_map_sessions_gives_each_call_a_session(client, sessions, locate) -> None:
    def summary(nwb: lazynwb.LazyNWB) -> tuple[str, int]:  # travels to the workers by value
        return nwb.session_id, int((nwb.units["presence_ratio"] >= 0.5).sum())

    sources = _sources(sessions, locate, "mixed")
    bag = map_sessions(summary, sources)
    assert bag.npartitions == len(sources)
    expected = [summary(lazynwb.LazyNWB(s)) for s in sources]
    assert len({session for session, _ in expected}) == len(sources)
    assert bag.compute() == expected


@pytest.fixture
def unread_sessions(sessions, served) -> list[Path]:
    """Copies of the sessions under new names: no worker holds anything of them yet, so the
    tasks of the test are sure to send requests for them."""
    copies = served / "dask_retry"
    copies.mkdir(exist_ok=True)
    return [Path(shutil.copyfile(p, copies / p.name)) for p in sessions]


def test_failed_partition_is_retried_and_result_complete(
    client, unread_sessions, locate, http_server, monkeypatch
) -> None:
    """With our transport's retries off (a setting made here, which the tasks carry to the
    workers), one 503 fails the task reading that file: without Dask's retries the compute
    fails; with them the partition is read again and every row is there."""
    monkeypatch.setattr(lazynwb.config, "max_retries", 0)
    sources = _sources(unread_sessions, locate, "http")
    expected = _expected(sources, "/units", GOOD, COLUMNS)
    target = "dask_retry/" + unread_sessions[1].name
    faults = http_server.stats.faults

    # the control: one partition of all files (other task keys than below, which Dask
    # would otherwise answer from this failed run)
    whole = read_table(sources, "/units", columns=COLUMNS, filters=GOOD, files_per_partition=3)
    http_server.inject("503", count=1, path_contains=target)
    with pytest.raises(LazyNWBError, match=target):
        whole.compute(retries=0)
    assert http_server.pending_faults == 0 and http_server.stats.faults == faults + 1

    ddf = read_table(sources, "/units", columns=COLUMNS, filters=GOOD)
    http_server.inject("503", count=1, path_contains=target)
    result = ddf.compute(retries=1)
    assert http_server.pending_faults == 0 and http_server.stats.faults == faults + 2
    pd.testing.assert_frame_equal(result.reset_index(drop=True), expected)
