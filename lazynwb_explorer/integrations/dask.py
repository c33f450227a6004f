"""The Dask path: a table across many sessions as a Dask DataFrame, and per-session work.

`read_table` builds one partition per file (or per group of files). The schema, hence Dask's
`meta`, comes from the files' catalogs in the client; no data is read until compute. Each
partition is `scan_nwb` on its own files, so the reading rules are scan_nwb's: the filter's
columns first, then the projected columns for the surviving rows only. A column selection
made later on the Dask DataFrame (`ddf[["a", "b"]]`) reaches the read too: Dask's optimizer
hands it to the partition function's `columns=` argument.

`map_sessions` runs a function of one session (a `LazyNWB`) per file, as a Dask Bag.

Worker processes do not see settings changed in this process (`lazynwb_explorer.config.x =
...`, e.g. S3 credentials set in a notebook): every task carries those changes and applies
them when it runs in another process.

Needs the `dask` extra: pip install 'lazynwb_explorer[dask]'.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import pandas as pd
import polars as pl

try:
    import dask
    import dask.bag as db
    import dask.dataframe as dd
except ImportError as exc:
    raise ImportError(
        f"lazynwb_explorer.dask needs the dask extra: pip install 'lazynwb_explorer[dask]' ({exc})"
    ) from exc

from ..api.lazy_nwb import LazyNWB
from ..api.scan import scan_nwb
from ..config import Config, config
from ..errors import ColumnError
from ..nwb.columns import PolarsType
from ..sources import PathLike, Source, to_sources

_PROCESS = uuid.uuid4().hex  # tells the process that built a graph from the ones running it


@dataclasses.dataclass(frozen=True)
class _Settings:
    """The config fields changed in-process since start-up, and where that happened."""

    changes: dict[str, Any] = dataclasses.field(repr=False)  # may hold credentials
    process: str

    @classmethod
    def capture(cls) -> _Settings:
        fresh = Config()  # this process's environment, without in-process changes
        changes = {
            f.name: getattr(config, f.name)
            for f in dataclasses.fields(Config)
            if getattr(config, f.name) != getattr(fresh, f.name)
        }
        return cls(changes, _PROCESS)

    def apply(self) -> None:
        """In another process: its environment's settings plus the captured changes. In the
        process that built the graph: nothing (its live config already holds them)."""
        if self.process == _PROCESS:
            return
        fresh = Config()
        for f in dataclasses.fields(Config):
            value = self.changes.get(f.name, getattr(fresh, f.name))
            if getattr(config, f.name) != value:
                setattr(config, f.name, value)


@dataclasses.dataclass(frozen=True)
class _ReadPartition:
    """One partition: the table's rows in a group of files, as pandas (scan_nwb underneath).

    The `columns` parameter is what lets Dask push a column selection into the read."""

    table_path: str
    schema: dict[str, PolarsType]
    filters: pl.Expr | None
    raise_on_missing: bool
    ignore_errors: bool
    settings: _Settings

    def __call__(self, sources: list[Source], columns: list[str] | None = None) -> pd.DataFrame:
        self.settings.apply()
        frame = scan_nwb(
            sources, self.table_path, raise_on_missing=self.raise_on_missing,
            ignore_errors=self.ignore_errors, schema=self.schema, disable_progress=True,
        )
        if self.filters is not None:
            frame = frame.filter(self.filters)
        return frame.select(list(self.schema) if columns is None else columns).collect().to_pandas()


def read_table(
    source: PathLike | Iterable[PathLike],
    table_path: str,
    *,
    columns: Sequence[str] | None = None,
    filters: pl.Expr | None = None,
    files_per_partition: int = 1,
    raise_on_missing: bool = False,
    ignore_errors: bool = False,
    infer_schema_length: int | None = None,
    exclude_array_columns: bool = False,
    schema: dict[str, PolarsType] | None = None,
    schema_overrides: dict[str, PolarsType] | None = None,
) -> dd.DataFrame:
    """A table across files as a Dask DataFrame: the rows of
    `scan_nwb(source, table_path, ...).filter(filters).select(columns)`, file by file in
    source order, with `_nwb_path`, `_table_path` and `_table_index`.

    `filters` is a polars expression evaluated inside each partition's read (pushdown);
    `columns` (or a later column selection on the result) limits what is read. The other
    parameters mean what they mean for scan_nwb. Each partition holds `files_per_partition`
    files and has its own 0-based index; a file without the table contributes no rows.
    """
    if files_per_partition < 1:
        raise ValueError("files_per_partition must be at least 1")
    sources = to_sources(source)
    full_schema: dict[str, PolarsType] = dict(
        scan_nwb(  # the catalogs' schema, unified as scan_nwb does; no column data read
            sources, table_path, raise_on_missing=raise_on_missing, ignore_errors=ignore_errors,
            infer_schema_length=infer_schema_length, exclude_array_columns=exclude_array_columns,
            schema=schema, schema_overrides=schema_overrides,
        ).collect_schema()
    )
    named = set(columns or ()) | set(filters.meta.root_names() if filters is not None else ())
    unknown = sorted(named - set(full_schema))
    if unknown:
        raise ColumnError(f"no column(s) {unknown} in table {table_path!r}; columns: {list(full_schema)}")
    groups = [
        sources[i : i + files_per_partition] for i in range(0, len(sources), files_per_partition)
    ]
    read = _ReadPartition(
        table_path, full_schema, filters, raise_on_missing, ignore_errors, _Settings.capture()
    )
    # Dask would turn every object column into strings, ragged and n-D columns too (their
    # rows are numpy arrays): partitions stay exactly what scan_nwb(...).to_pandas() gives.
    with dask.config.set({"dataframe.convert-string": False}):
        return dd.from_map(
            read, groups, columns=None if columns is None else list(columns),
            meta=pl.DataFrame(schema=full_schema).to_pandas(), label="read-nwb-table",
        )


@dataclasses.dataclass(frozen=True)
class _CallWithSession:
    func: Callable[[LazyNWB], Any]
    settings: _Settings

    def __call__(self, path: str) -> Any:
        self.settings.apply()
        return self.func(LazyNWB(path))


def map_sessions(func: Callable[[LazyNWB], Any], source: PathLike | Iterable[PathLike]) -> db.Bag:
    """`func(LazyNWB(path))` for every session, one task each, as a Dask Bag (paths as given:
    a relative one is resolved where the task runs).

    A LazyNWB is the session as an object (`nwb.units`, `nwb.trials`, `nwb.subject.age`,
    `nwb.get_df(...)`, `nwb.get_timeseries(...)`), opened where the task runs and read on
    demand, so only what `func` touches is read. `.compute()` returns the results in source
    order; a failing session can be re-run on its own (e.g. `compute(retries=2)` on a
    distributed client). `func` travels to the workers, so it must be picklable (cloudpickle:
    lambdas and notebook functions are fine). Without a distributed Client a Bag computes in
    a local process pool (Dask's default for bags); `compute(scheduler="threads")` skips
    starting processes when `func` mostly waits on reads.
    """
    paths = [s.label for s in to_sources(source)]
    call = _CallWithSession(func, _Settings.capture())
    return db.from_sequence(paths, partition_size=1).map(call)
