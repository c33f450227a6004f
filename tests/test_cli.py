"""`lazynwb-explorer` against lazynwb 1.0's own `lazynwb`, both run as console scripts on the
same files: local paths, URLs on the Range HTTP server, and DANDI assets (fake DANDI API +
moto S3). Every subcommand and output format; the parsed outputs (row values, schema entries,
keys, error objects, exit codes) must be equal, except for the differences the README lists,
which are asserted here as such.

All pairs run at once (a thread pool of subprocesses) in one module fixture; each test then
compares one pair.
"""

from __future__ import annotations

import json
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cli_runner import OURS, THEIRS, Result, parse_table, run_many

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

DANDI_BUCKET = "dandi-cli-fake"
TRIALS = "intervals/trials"
ELECTRODES = "general/extracellular_ephys/electrodes"
SPEED = "acquisition/running_speed"
LICKS = "events/lick_events"
TRIALS_SQL = ('SELECT id, start_time, stop_time, response, lick_times, tags, _nwb_path, _table_index '
              'FROM "intervals/trials" WHERE correct ORDER BY _nwb_path, id LIMIT 12')
# order-independent aggregates only: a float SUM over files depends on the order batches arrive
GROUP_SQL = 'SELECT response, COUNT(*) AS n, MIN(start_time) AS first, MAX(stop_time) AS last FROM "intervals/trials" GROUP BY response ORDER BY response'


# -- the places the same sessions live --------------------------------------------------------
@pytest.fixture(scope="module")
def dandi(s3_server, sessions) -> Iterator[dict[str, Any]]:
    """The three sessions as DANDI blobs, plus a Zarr session's and a non-NWB asset's
    listings (only listed, never read); the fake API's contentUrl names the s3:// blob, which
    is what both tools resolve."""
    from dandi_server import FakeAsset, FakeDandiAPI

    s3_server.create_bucket(DANDI_BUCKET)
    assets = []
    for i, path in enumerate(sessions):
        blob = str(uuid.UUID(int=5000 + i))
        s3_server.upload_file(path, DANDI_BUCKET, f"blobs/{blob[:3]}/{blob[3:6]}/{blob}")
        assets.append(FakeAsset(path=f"sub-{i}/sub-{i}_ses-{i}.nwb", blob=blob, size=path.stat().st_size))
    assets.append(FakeAsset(path="sub-9/sub-9_ses-9.nwb.zarr", zarr=str(uuid.UUID(int=6000))))
    assets.append(FakeAsset(path="dataset_description.json", blob=str(uuid.UUID(int=7000))))
    with FakeDandiAPI(bucket_http_url=f"s3://{DANDI_BUCKET}", page_size_cap=2) as api:
        api.add_dandiset("000123", assets, published=["0.240101.0000"])
        env = {
            **s3_server.env_vars(),
            "LAZYNWB_FSSPEC_STORAGE_OPTIONS": json.dumps({"endpoint_url": s3_server.endpoint_url}),
            "LAZYNWB_USE_REMFILE": "false",  # lazynwb: no detour to the real amazonaws host
            "LAZYNWB_ORACLE_DANDI_API": api.api_url,  # lazynwb (tests/cli_oracle)
            "LAZYNWB_DANDI_API_URL": api.api_url,  # ours
            "LAZYNWB_DANDI_BUCKET_URL": f"s3://{DANDI_BUCKET}",
        }
        yield {"env": env, "assets": assets}


@pytest.fixture(scope="module")
def project(tmp_path_factory, sessions) -> dict[str, Path]:
    """Directories with lazynwb.toml files (each tool gets its own copy where it writes)."""
    root = tmp_path_factory.mktemp("cli-project")
    dirs = {}
    for name, text in {
        "config_paths": f'version = 1\n[source]\npaths = ["../data/{sessions[1].name}", "../data/{sessions[0].name}"]\n',
        "config_local": 'version = 1\n[source.local]\nroot = "../data"\nglob = "session_[12].nwb"\n[commands.paths]\nformat = "table"\n',
        "config_dandi": 'version = 1\n[source.dandi]\ndandiset_id = "000123"\nversion = "0.240101.0000"\npath_pattern = "sub-[01]/*.nwb"\nanonymous_s3 = false\n',
        "bad_toml": "version = 1\n[source\n",
        "unknown_key": 'version = 1\n[source.local]\nroot = "x"\ncolour = "blue"\n',
        "empty": None,
    }.items():
        directory = root / name / "project"
        directory.mkdir(parents=True)
        if text is not None:
            (directory / "lazynwb.toml").write_text(text)
        data = root / name / "data"
        data.mkdir()
        for s in sessions:
            (data / s.name).symlink_to(s)
        dirs[name] = directory
    for tool in ("ours", "theirs"):
        (root / f"init_{tool}").mkdir()
        dirs[f"init_{tool}"] = root / f"init_{tool}"
    return dirs


def _cases(sessions: list[Path], urls: list[str], project: dict[str, Path]) -> dict[str, dict]:
    """id -> {args, cwd?, env?, format}: what both tools are asked."""
    local = [str(p) for p in sessions]
    root = str(sessions[0].parent)
    dandi = ["--dandiset-id", "000123", "--dandi-path-pattern", "sub-*/*.nwb", "--no-anonymous-s3"]
    cases: dict[str, dict] = {}

    def add(name: str, args: list[str], fmt: str = "json", **kw: Any) -> None:
        cases[name] = {"args": args, "format": fmt, **kw}

    add("local-tables-table", ["tables", "--format", "table", "--root", root], "table")
    add("local-context-json", ["context", "--infer-schema-length", "2", *local])
    add("local-schema-trials-json", ["schema", TRIALS, *local])
    add("local-schema-electrodes-table", ["schema", "--format", "table", "--infer-schema-length", "1", ELECTRODES, *local], "table")
    add("local-preview-trials-json", ["preview", "--limit", "7", TRIALS, *local])
    add("local-preview-speed-table", ["preview", "--format", "table", "/acquisition/running_speed", local[0]], "table")
    add("local-preview-electrodes", ["preview", "--limit", "50", ELECTRODES, local[1]])
    add("local-query-json", ["query", TRIALS_SQL, *local])
    add("local-query-jsonl", ["query", "--format", "jsonl", GROUP_SQL, "--root", root, "--glob", "session_[02].nwb"], "jsonl")
    add("local-query-table", ["query", "--format", "table", TRIALS_SQL, *local], "table")
    add("local-query-truncated", ["query", "--allow-large", "--limit", "120", 'SELECT timestamps, data FROM "acquisition/running_speed" ORDER BY timestamps', local[0]])
    add("http-paths-json", ["paths", *urls])
    add("http-tables-json", ["tables", *urls])
    add("http-context-json", ["context", *urls])
    add("http-schema-trials-json", ["schema", TRIALS, *urls])
    add("http-preview-licks-json", ["preview", LICKS, *urls])
    add("http-query-jsonl", ["query", "--format", "jsonl", GROUP_SQL, *urls], "jsonl")
    add("dandi-paths-table", ["paths", "--format", "table", *dandi], "table")
    add("dandi-tables-json", ["tables", *dandi])
    add("dandi-context-text", ["context", "--format", "text", *dandi], "text")
    add("dandi-schema-trials-json", ["schema", TRIALS, *dandi])
    add("dandi-preview-trials-json", ["preview", "--limit", "7", TRIALS, *dandi])
    add("dandi-query-json", ["query", TRIALS_SQL, *dandi])
    add("config-paths-query", ["query", GROUP_SQL], cwd=project["config_paths"])
    add("local-config-paths", ["paths"], "table", cwd=project["config_local"])
    add("config-show-flags", ["config", "show", "--dandiset-id", "000999", "--no-anonymous-s3", "--path", local[0]], cwd=project["empty"])
    add("config-dandi-paths", ["paths"], cwd=project["config_dandi"])
    # failures: same error object and exit code
    add("err-missing-file", ["tables", local[0], str(Path(root) / "no_such.nwb")])
    add("err-schema-table", ["schema", "intervals/nope", *local])
    add("err-preview-table", ["preview", "nope", local[0]])
    add("err-sql-syntax", ["query", "SELEC id FROM units", local[0]])
    add("err-sql-column", ["query", 'SELECT nope FROM "intervals/trials"', local[0]])
    add("err-row-cap", ["query", "--limit", "5", 'SELECT id FROM "intervals/trials"', local[0]])
    add("err-query-limit", ["query", "--limit", "500", "SELECT 1", local[0]])
    add("err-preview-limit", ["preview", "--limit", "51", TRIALS, local[0]])
    add("err-conflict", ["paths", "--root", root, local[0]])
    add("err-bad-toml", ["paths"], cwd=project["bad_toml"])
    add("err-unknown-key", ["paths"], cwd=project["unknown_key"])
    add("err-dandi-no-match", ["paths", "--dandiset-id", "000123", "--dandi-path-pattern", "nomatch/*"])
    add("err-usage-subcommand", ["preview"])
    # where the two differ on purpose (tests below)
    add("usage-root", [])
    add("dandi-paths-all", ["paths", "--dandiset-id", "000123"])
    add("local-preview-units", ["preview", "--limit", "3", "units", local[0]])
    add("local-preview-epochs", ["preview", "epochs", local[0]])
    add("local-preview-session", ["preview", "session", *local])
    add("local-preview-subject", ["preview", "general/subject", *local])
    return cases


@pytest.fixture(scope="module")
def outputs(sessions, http_server, dandi, project) -> dict[str, tuple[Result, Result]]:
    urls = [http_server.url(f"sessions/{p.name}") for p in sessions]
    cases = _cases(sessions, urls, project)
    jobs = {}
    for name, case in cases.items():
        env = dandi["env"] if "dandi" in name else {}
        kw = {"cwd": case.get("cwd"), "env": env}
        jobs[(name, "ours")] = (OURS, case["args"], kw)
        jobs[(name, "theirs")] = (THEIRS, case["args"], kw)
    for tool, command in (("ours", OURS), ("theirs", THEIRS)):  # writes: one directory each
        directory = project[f"init_{tool}"]
        jobs[("config-init", tool)] = (command, ["config", "init"], {"cwd": directory})
    results = run_many(jobs)
    pairs = {name: (results[(name, "ours")], results[(name, "theirs")]) for name in cases}
    # `init` twice: the second refuses to overwrite; --force does overwrite
    again = run_many({(tool, flag): (command, ["config", "init", *([flag] if flag else [])],
                                     {"cwd": project[f"init_{tool}"]})
                      for tool, command in (("ours", OURS), ("theirs", THEIRS)) for flag in ("", "--force")})
    pairs["config-init"] = (results[("config-init", "ours")], results[("config-init", "theirs")])
    pairs["err-config-init-exists"] = (again[("ours", "")], again[("theirs", "")])
    pairs["config-init-force"] = (again[("ours", "--force")], again[("theirs", "--force")])
    pairs["_cases"] = cases  # type: ignore[assignment]
    return pairs


# -- comparing -----------------------------------------------------------------------------------
def parsed(result: Result, fmt: str) -> Any:
    if fmt == "json":
        return result.json()
    if fmt == "jsonl":
        return result.jsonl()
    if fmt == "table":
        return parse_table(result.stdout)
    return result.stdout.splitlines()


def _ours_as_lazynwb(value: Any) -> Any:
    """Deliberate difference: context names this package's command and module. Undone here
    (and only here) so the rest can be compared."""
    if isinstance(value, dict):
        return {k: _ours_as_lazynwb(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_ours_as_lazynwb(v) for v in value]
    if isinstance(value, str):
        return (value.replace("lazynwb-explorer", "lazynwb")
                .replace("import lazynwb_explorer as lazynwb", "import lazynwb"))
    return value


def _table_index_as_lazynwb(payload: Any) -> Any:
    """Deliberate difference (the reader's): `_table_index` is Int64 (lazynwb: UInt32)."""
    if isinstance(payload, dict) and "columns" in payload:
        for column in payload["columns"]:
            if column["name"] == "_table_index":
                assert column["dtype"] == "Int64"
                column["dtype"] = "UInt32"
    if isinstance(payload, list):  # table format: rows of cells
        for row in payload:
            if row[0] == "_table_index":
                assert row[1] == "Int64"
                row[1] = "UInt32"
    return payload


def _assert_stderr(ours: Result, theirs: Result) -> None:
    """Deliberate difference: a failure also says, on one stderr line, what was wrong (lazynwb
    writes only the JSON); a success writes nothing on stderr (no progress bar: not a tty)."""
    assert theirs.stderr == "", theirs.stderr
    if ours.code == 0:
        assert ours.stderr == "", ours.stderr
    else:
        lines = ours.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("lazynwb-explorer: error: "), ours.stderr
        assert "Traceback" not in ours.stderr


SAME = ["local-tables-table",
        "local-preview-trials-json", "local-preview-speed-table", "local-query-json",
        "local-query-jsonl", "local-query-table", "local-query-truncated", "http-paths-json",
        "http-tables-json", "http-preview-licks-json", "http-query-jsonl", "dandi-paths-table",
        "dandi-tables-json", "dandi-preview-trials-json", "dandi-query-json",
        "config-paths-query", "local-config-paths", "config-show-flags",
        "config-dandi-paths", "err-missing-file", "err-schema-table", "err-preview-table",
        "err-sql-syntax", "err-row-cap", "err-query-limit", "err-preview-limit",
        "err-conflict", "err-bad-toml", "err-unknown-key"]
SCHEMAS = ["local-schema-trials-json", "local-schema-electrodes-table", "http-schema-trials-json",
           "dandi-schema-trials-json"]
CONTEXTS = ["local-context-json", "http-context-json", "dandi-context-text"]


@pytest.mark.parametrize("name", SAME)
def test_same_output(outputs, name: str) -> None:
    ours, theirs = outputs[name]
    fmt = outputs["_cases"][name]["format"]
    assert ours.code == theirs.code, (ours, theirs)
    assert parsed(ours, fmt) == parsed(theirs, fmt)
    _assert_stderr(ours, theirs)


@pytest.mark.parametrize("name", SCHEMAS)
def test_same_schema_but_table_index_type(outputs, name: str) -> None:
    ours, theirs = outputs[name]
    fmt = outputs["_cases"][name]["format"]
    assert ours.code == theirs.code == 0, (ours, theirs)
    assert _table_index_as_lazynwb(parsed(ours, fmt)) == parsed(theirs, fmt)
    _assert_stderr(ours, theirs)


@pytest.mark.parametrize("name", CONTEXTS)
def test_same_context_with_our_names(outputs, name: str) -> None:
    ours, theirs = outputs[name]
    fmt = outputs["_cases"][name]["format"]
    assert ours.code == theirs.code == 0, (ours, theirs)
    mine = parsed(ours, fmt)
    assert "lazynwb-explorer" in json.dumps(mine) and "import lazynwb_explorer as lazynwb" in json.dumps(mine)
    assert _ours_as_lazynwb(mine) == parsed(theirs, fmt)


def test_every_subcommand_and_format_is_compared(outputs) -> None:
    """The cases above cover each subcommand x format and each place the files live."""
    cases = outputs["_cases"]
    compared = set(SAME) | set(SCHEMAS) | set(CONTEXTS)
    seen = {(c["args"][0], c["format"]) for n, c in cases.items() if n in compared}
    seen |= {("config init", "json"), ("config", "json")}
    expected = {("paths", "json"), ("paths", "table"), ("tables", "json"), ("tables", "table"),
                ("context", "json"), ("context", "text"), ("schema", "json"), ("schema", "table"),
                ("preview", "json"), ("preview", "table"), ("query", "json"), ("query", "jsonl"),
                ("query", "table"), ("config", "json"), ("config init", "json")}
    assert expected <= seen
    for where in ("local", "http", "dandi"):
        assert {c["args"][0] for n, c in cases.items() if n.startswith(where)} >= {
            "paths", "tables", "schema", "preview", "query", "context"}


def test_rows_are_real_data(outputs, sessions) -> None:
    """The compared rows are not empty agreement: they hold the files' values (pynwb)."""
    from pynwb import NWBHDF5IO

    payload = outputs["local-query-json"][0].json()
    expected = []
    for path in sessions:
        with NWBHDF5IO(str(path), "r") as io:
            trials = io.read().trials.to_dataframe()
        for index, (i, row) in enumerate(trials.iterrows()):
            if row["correct"]:
                expected.append({"id": int(i), "start_time": float(row["start_time"]),
                                 "stop_time": float(row["stop_time"]), "response": row["response"],
                                 "lick_times": [float(t) for t in row["lick_times"]],
                                 "tags": list(row["tags"]), "_nwb_path": path.as_posix(),
                                 "_table_index": index})
    assert len(expected) >= 12 and payload["rows"] == expected[:12]
    assert payload["row_count"] == payload["observed_count"] == 12 and payload["truncated"] is False
    cut = outputs["local-query-truncated"][0].json()
    assert cut["row_count"] == 120 and cut["observed_count"] == 121 and cut["truncated"] is True


def test_config_init_writes_the_same_settings(outputs, project) -> None:
    ours, theirs = outputs["config-init"]
    assert ours.code == theirs.code == 0
    mine, reference = ours.json(), theirs.json()
    assert mine["config"]["path"] == (project["init_ours"] / "lazynwb.toml").as_posix()
    mine["config"]["path"] = reference["config"]["path"]
    assert mine == reference
    ours_file = tomllib.loads((project["init_ours"] / "lazynwb.toml").read_text())
    theirs_file = tomllib.loads((project["init_theirs"] / "lazynwb.toml").read_text())
    assert ours_file == theirs_file
    for name in ("err-config-init-exists", "config-init-force"):
        ours, theirs = outputs[name]
        assert ours.code == theirs.code
        a, b = ours.json(), theirs.json()
        key = "error" if "error" in b else "config"
        nested = a[key].get("details", a[key])
        nested["path"] = (b[key].get("details", b[key]))["path"]
        assert a == b
        _assert_stderr(ours, theirs)


def test_sql_error_same_but_the_plan_text(outputs) -> None:
    """polars appends the plan to a query's error message; the plan names our scan (with the
    files it covers) where lazynwb's names its own, so only the message before it is compared."""
    ours, theirs = outputs["err-sql-column"]
    assert ours.code == theirs.code == 3
    mine, reference = ours.json(), theirs.json()
    for payload in (mine, reference):
        details = payload["error"]["details"]
        assert "Resolved plan until failure" in details["error_message"]
        details["error_message"] = details["error_message"].split("\n\n")[0]
    assert mine == reference
    _assert_stderr(ours, theirs)


def test_dandi_zarr_assets_are_listed_too(outputs) -> None:
    """Deliberate difference: NWB Zarr assets (*.nwb.zarr) are sources here; lazynwb's CLI
    lists only *.nwb. Without a path pattern ours lists the Zarr session as well."""
    ours, theirs = (r.json() for r in outputs["dandi-paths-all"])
    zarr = [p for p in ours["paths"] if p["input"].endswith(".nwb.zarr")]
    assert len(zarr) == 1 and zarr[0]["resolved"].startswith(f"s3://{DANDI_BUCKET}/zarr/")
    assert [p for p in ours["paths"] if p not in zarr] == theirs["paths"]
    assert ours["source"]["resolved_count"] == theirs["source"]["resolved_count"] + 1


def test_dandi_no_match_error(outputs) -> None:
    """Same error, except `asset_count` (every asset, NWB or not), which our one-listing
    source API does not report: null here."""
    ours, theirs = outputs["err-dandi-no-match"]
    assert ours.code == theirs.code == 3
    mine, reference = ours.json(), theirs.json()
    assert reference["error"]["details"]["asset_count"] == 5 and mine["error"]["details"]["asset_count"] is None
    mine["error"]["details"]["asset_count"] = 5
    # lazynwb counts *.nwb assets; ours also the Zarr one
    assert mine["error"]["details"]["nwb_asset_count"] == reference["error"]["details"]["nwb_asset_count"] + 1
    mine["error"]["details"]["nwb_asset_count"] -= 1
    assert mine == reference
    _assert_stderr(ours, theirs)


@pytest.mark.parametrize("name", ["err-usage-subcommand"])
def test_usage_errors(outputs, name: str) -> None:
    """Same error object; the usage text is our command's (its name, and tree / open)."""
    ours, theirs = outputs[name]
    assert ours.code == theirs.code == 2
    mine, reference = ours.json()["error"], theirs.json()["error"]
    assert mine["code"] == reference["code"] == "usage_error"
    assert mine["message"] == reference["message"]
    assert mine["details"].keys() == reference["details"].keys()
    assert mine["details"]["usage"].startswith("usage: lazynwb-explorer ")
    assert mine["details"]["help_command"] == reference["details"]["help_command"].replace("lazynwb", "lazynwb-explorer")
    _assert_stderr(ours, theirs)


def test_root_usage_error_lists_our_commands(outputs) -> None:
    ours, theirs = outputs["usage-root"]
    assert ours.code == theirs.code == 2
    mine, reference = ours.json()["error"], theirs.json()["error"]
    assert mine["message"] == reference["message"]
    assert mine["details"]["valid_commands"] == [*reference["details"]["valid_commands"], "tree", "open"]


def test_object_references_are_paths(outputs, sessions) -> None:
    """Deliberate difference (the reader's): an object-reference column holds the path it
    points to (lazynwb: the text '<HDF5 object reference>')."""
    import h5py

    ours, theirs = (r.json() for r in outputs["local-preview-electrodes"])
    with h5py.File(sessions[1], "r") as f:
        column = f["general/extracellular_ephys/electrodes/group"]
        expected = [f[ref].name for ref in column[:]]
    assert [row["group"] for row in ours["rows"]] == expected
    assert {row["group"] for row in theirs["rows"]} == {"<HDF5 object reference>"}
    for row in ours["rows"]:
        row["group"] = "<HDF5 object reference>"
    assert ours == theirs


# -- where ours answers and lazynwb 1.0 does not (README: differences) --------------------------
def test_time_series_references_are_a_column(outputs, sessions) -> None:
    """Deliberate difference (the reader's): a TimeSeriesReferenceVectorData column (epochs'
    `timeseries`) is read, as a list of {idx_start, count, timeseries: path} (lazynwb 1.0
    leaves it out); every other column is lazynwb's."""
    from pynwb import NWBHDF5IO

    ours, theirs = (r.json() for r in outputs["local-preview-epochs"])
    assert [c for c in ours["columns"] if c not in theirs["columns"]] == ["timeseries"]
    with NWBHDF5IO(str(sessions[0]), "r") as io:
        epochs = io.read().epochs
        expected = [[{"count": int(r.count), "idx_start": int(r.idx_start), "timeseries": r.timeseries.name}
                     for r in epochs["timeseries"][i]] for i in range(len(epochs))]
    got = [[{**ref, "timeseries": ref["timeseries"].rsplit("/", 1)[-1]} for ref in row.pop("timeseries")]
           for row in ours["rows"]]
    assert got == expected[: len(got)]
    ours["columns"].remove("timeseries")
    assert ours == theirs


def test_tables_lazynwb_cannot_read(outputs, sessions) -> None:
    """Doubly ragged columns (units.spike_amplitudes_by_epoch): lazynwb 1.0 fails with an
    internal error; ours answers, with the values pynwb reads."""
    from pynwb import NWBHDF5IO

    ours, theirs = outputs["local-preview-units"]
    assert theirs.code == 1 and theirs.json()["error"]["code"] == "internal_error"
    assert ours.code == 0, ours.stderr
    rows = ours.json()["rows"]
    with NWBHDF5IO(str(sessions[0]), "r") as io:
        units = io.read().units
        expected = [[list(map(float, epoch)) for epoch in units["spike_amplitudes_by_epoch"][i]] for i in range(3)]
    assert [row["spike_amplitudes_by_epoch"] for row in rows] == expected


def test_session_and_subject_tables_are_typed(outputs, sessions) -> None:
    """`session` and `general/subject`: one row per file in both. Ours has NWB's other
    optional fields too, but not the file-level timestamps_reference_time and
    file_create_date; datetimes are typed (ISO text in UTC where lazynwb passes the stored
    text: the same instants); list fields hold every item (lazynwb 1.0 keeps only the first:
    checked against pynwb). Every other value is lazynwb's."""
    import datetime

    from pynwb import NWBHDF5IO

    def instant(value: Any) -> Any:
        try:
            return datetime.datetime.fromisoformat(value).timestamp()
        except (TypeError, ValueError):
            return value

    lists = {"experimenter", "keywords", "related_publications"}
    for name in ("local-preview-session", "local-preview-subject"):
        ours, theirs = (r.json() for r in outputs[name])
        assert ours["row_count"] == theirs["row_count"] == len(sessions)
        assert set(theirs["columns"]) - set(ours["columns"]) <= {"timestamps_reference_time", "file_create_date"}
        assert len(set(theirs["columns"]) & set(ours["columns"])) >= 8
        for path, mine, reference in zip(sessions, ours["rows"], theirs["rows"]):
            with NWBHDF5IO(str(path), "r") as io:
                nwbfile = io.read()
                for column in lists & set(mine):
                    assert mine[column] == list(getattr(nwbfile, column)), column
            for column, value in reference.items():
                if column in lists or column == "_table_path" or column not in mine:
                    continue
                assert instant(mine[column]) == instant(value), column


# -- ours only: stdout stays machine-readable ----------------------------------------------------
def _ours(*args: str, **kw: Any) -> Result:
    return run_many({"x": (OURS, list(args), kw)})["x"]


def test_progress_goes_to_stderr(sessions) -> None:
    result = _ours("--progress", "query", GROUP_SQL, *map(str, sessions))
    assert result.code == 0
    assert result.json()["row_count"] > 0  # stdout is only the JSON
    assert "%|" in result.stderr or "it/s" in result.stderr or "files" in result.stderr, result.stderr


def test_debug_shows_the_traceback(sessions) -> None:
    plain = _ours("preview", "nope", str(sessions[0]))
    debug = _ours("--debug", "preview", "nope", str(sessions[0]))
    assert plain.code == debug.code == 3
    assert plain.json() == debug.json()
    assert "Traceback" not in plain.stderr and "Traceback" in debug.stderr
    assert "InternalPathError" in debug.stderr


def test_error_lines_name_what_was_wrong(sessions, tmp_path) -> None:
    missing = tmp_path / "gone.nwb"
    cases = {
        "file": (["tables", str(missing)], "gone.nwb"),
        "table": (["preview", "intervals/nope", str(sessions[0])], "nope"),
        "sql": (["query", "SELECT FROM WHERE", str(sessions[0])], "SQL query failed"),
        "column": (["query", 'SELECT wrong_column FROM "intervals/trials"', str(sessions[0])], "wrong_column"),
        "not nwb": (["preview", "units", str(Path(__file__))], "test_cli.py"),
    }
    results = run_many({k: (OURS, args, {}) for k, (args, _) in cases.items()})
    for key, (_, needle) in cases.items():
        result = results[key]
        assert result.code == 3, (key, result)
        assert "error" in result.json()
        line, = result.stderr.splitlines()
        assert line.startswith("lazynwb-explorer: error: ") and needle in line, (key, line)


def test_tree_matches_the_catalog_and_h5py(rich_hdf5) -> None:
    import h5py

    text = _ours("tree", str(rich_hdf5))
    payload = _ours("tree", "--format", "json", str(rich_hdf5))
    assert text.code == payload.code == 0 and text.stderr == ""
    entries = {e["path"]: e for e in payload.json()["files"][0]["entries"]}
    with h5py.File(rich_hdf5, "r") as f:
        data = f["acquisition/raw_data/data"]
        entry = entries["/acquisition/raw_data/data"]
        assert entry["shape"] == list(data.shape) and entry["dtype"] == str(data.dtype)
        assert entry["nbytes"] == data.nbytes
        assert entries["/units"]["neurodata_type"] == f["units"].attrs["neurodata_type"]
    assert "├── acquisition/" in text.stdout
    assert "data" in text.stdout and "3000 x 16" in text.stdout


def test_tree_remote_answers_from_the_stored_catalog(http_server, rich_hdf5, served) -> None:
    """A second `tree` of a URL, in a new process, asks the server nothing."""
    url = http_server.url(rich_hdf5.relative_to(served).as_posix())
    http_server.reset_stats()
    first = _ours("tree", "--format", "json", url)
    cold = http_server.stats.requests
    http_server.reset_stats()
    second = _ours("tree", "--format", "json", url)
    assert first.code == second.code == 0
    assert first.json() == second.json()
    assert cold > 0 and http_server.stats.requests == 0, (cold, http_server.stats.requests)


def test_tree_of_a_missing_source_is_one_line(tmp_path) -> None:
    result = _ours("tree", str(tmp_path / "nope.nwb"))
    assert result.code == 3 and result.json()["error"]["code"] == "source_path_not_found"
    assert len(result.stderr.splitlines()) == 1



def test_tree_and_open_take_dandi_sources(dandi, monkeypatch) -> None:
    """`dandi:ID[@VERSION][/PATTERN]`: tree reads the matching assets; the notebook `open`
    writes lists them with get_dandi_sources, and its code gives the same sources."""
    import lazynwb_explorer as lazynwb
    from lazynwb_explorer.cli.open_command import notebook_text

    spec = "dandi:000123@0.240101.0000/sub-[01]/*.nwb"
    result = _ours("tree", "--format", "json", spec, env=dandi["env"])
    assert result.code == 0, result.stderr
    files = result.json()["files"]
    blobs = [a for a in dandi["assets"] if a.path.startswith(("sub-0/", "sub-1/"))]
    assert [f["source"] for f in files] == [
        f"s3://{DANDI_BUCKET}/blobs/{a.blob[:3]}/{a.blob[3:6]}/{a.blob}" for a in blobs]
    assert all("/intervals/trials" in {e["path"] for e in f["entries"]} for f in files)

    monkeypatch.setattr(lazynwb.config, "dandi_api_url", dandi["env"]["LAZYNWB_DANDI_API_URL"])
    monkeypatch.setattr(lazynwb.config, "dandi_bucket_url", f"s3://{DANDI_BUCKET}")
    text, resolved = notebook_text([spec], "/units")
    code = "".join(json.loads(text)["cells"][1]["source"])
    assert "get_dandi_sources('000123', '0.240101.0000'" in code and "selected_path='/units'" in code
    namespace: dict[str, Any] = {}
    exec(code.split("\nex = ")[0], namespace)  # the imports and `sources = ...`, not the widget
    assert namespace["sources"] == resolved == [f["source"] for f in files]


def test_credentials_stay_out_of_errors(http_server, sessions, served) -> None:
    """A URL's token reaches neither the JSON error (which names the sources) nor the
    stderr line."""
    secret = "?X-Amz-Signature=SECRET0123456789&token=SECRET9876"
    present = http_server.url(sessions[0].relative_to(served).as_posix()) + secret
    results = run_many({
        "unreadable": (OURS, ["preview", "units", http_server.url("missing.nwb") + secret], {}),
        "no table": (OURS, ["preview", "intervals/nope", present], {}),
    })
    assert results["unreadable"].json()["error"]["code"] == "source_unreadable"
    assert results["no table"].json()["error"]["code"] == "preview_not_found"
    for result in results.values():
        assert result.code == 3
        assert "SECRET" not in result.stdout and "SECRET" not in result.stderr
    assert "missing.nwb" in results["unreadable"].stderr
