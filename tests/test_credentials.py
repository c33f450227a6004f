"""Credentials never leave the process in text: not in errors (message, repr, args, chained
causes and contexts, the formatted traceback), logs, warnings, reprs, widget state and
replies, nor a notebook saved with its outputs and widget state.

Credentials tried: a presigned-style http URL (`?X-Amz-Signature=...&X-Amz-Credential=...
&token=...`), `http://user:password@host/...`, and key / secret / token values in
`config.fsspec_storage_options` and `config.storage_options` (also against S3).
Failures tried: 404, 500 until the retries give up, 403 (signature refused), a file that is not
NWB, a bad storage option; and successful reads whose views are then inspected.
"""

from __future__ import annotations

import io
import json
import logging
import sys
import traceback
import urllib.parse
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from conftest import BUCKET

import lazynwb_explorer as lazynwb
from lazynwb_explorer.errors import LazyNWBError, SourceError
from lazynwb_explorer.transport import clear_stores, forget_reader

import nwb_factory as nf
from servers import RangeHTTPServer

SIGNATURE = "SiGnAtUrE0xA1B2C3"
TOKEN = "SeSsIoNtOkEn0xD4E5"
PASSWORD = "PaSsWoRd0xF6A7"
ACCESS_KEY = "AKIAEXAMPLE0xB8C9"
SECRET_KEY = "SeCrEtAcCeSsKeY0xD0E1"
OPTION_TOKEN = "OpTiOnToKeN0xF2A3"
SECRETS = (SIGNATURE, TOKEN, PASSWORD, ACCESS_KEY, SECRET_KEY, OPTION_TOKEN)
QUERY = f"X-Amz-Signature={SIGNATURE}&X-Amz-Credential={ACCESS_KEY}%2F20240101&token={TOKEN}"


def leaks(*texts: Any) -> list[str]:
    blob = "\n".join(str(t) for t in texts)
    return [s for s in SECRETS if s in blob]


def error_texts(exc: BaseException) -> list[str]:
    """Every text an exception can show: its own and its whole chain's, and the traceback."""
    texts, seen, link = [], set(), exc
    while link is not None and id(link) not in seen:
        seen.add(id(link))
        texts += [str(link), repr(link), repr(link.args), repr(getattr(link, "source", ""))]
        chained = [c for c in (link.__cause__, link.__context__) if c is not None]
        texts += [repr(c) for c in chained]
        link = link.__cause__ or link.__context__
    texts.append("".join(traceback.format_exception(exc)))
    return texts


@pytest.fixture(scope="module")
def cred_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("credentials")
    nf.write_many_sessions(root, n=2)
    nf.write_text_file_with_nwb_suffix(root / "text.nwb")
    return root


@pytest.fixture
def server(cred_root) -> Iterator[RangeHTTPServer]:
    with RangeHTTPServer(cred_root, nodelay=True) as srv:
        yield srv


@pytest.fixture
def quick(monkeypatch) -> None:
    monkeypatch.setattr(lazynwb.config, "max_retries", 2)
    monkeypatch.setattr(lazynwb.config, "retry_deadline", 2.0)
    monkeypatch.setattr(lazynwb.config, "request_timeout", 2.0)


@pytest.fixture
def debug_logs(caplog) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)
    return caplog


def presigned(server: RangeHTTPServer, name: str) -> str:
    return f"{server.url(name)}?{QUERY}"


def with_password(server: RangeHTTPServer, name: str) -> str:
    return server.url(name).replace("http://", f"http://reader:{PASSWORD}@", 1)


def _fail(call, url: str) -> list[str]:
    forget_reader(url)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(LazyNWBError) as info:
            call()
    exc = info.value
    assert isinstance(exc, SourceError), exc
    name = urllib.parse.urlsplit(url).path  # the file is named (credentials masked)
    assert f"127.0.0.1:{urllib.parse.urlsplit(url).port}{name}" in str(exc), str(exc)
    return [*error_texts(exc), *(str(w.message) for w in caught)]


SCENARIOS = {
    "404 presigned": lambda s: presigned(s, "missing.nwb"),
    "not-NWB presigned": lambda s: presigned(s, "text.nwb"),
    "500 presigned": lambda s: presigned(s, "session_0.nwb"),
    "403 presigned": lambda s: presigned(s, "session_0.nwb"),
    "404 user:password": lambda s: with_password(s, "missing.nwb"),
    "not-NWB user:password": lambda s: with_password(s, "text.nwb"),
    "500 user:password": lambda s: with_password(s, "session_0.nwb"),
}


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_http_errors_hold_no_credentials(scenario, server, quick, debug_logs) -> None:
    url = SCENARIOS[scenario](server)
    if scenario.startswith("500"):
        server.inject("500", count=1000)
    if scenario.startswith("403"):
        server.required_query = "X-Amz-Signature=the-right-one"
    texts = []
    texts += _fail(lambda: lazynwb.get_df(url, "/units", disable_progress=True), url)
    texts += _fail(lambda: lazynwb.get_internal_paths(url), url)
    texts += _fail(lambda: lazynwb.scan_nwb([url, url], "/units").collect(), url)
    with warnings.catch_warnings(record=True) as caught:  # the file skipped with a warning
        warnings.simplefilter("always")
        good = server.url("session_1.nwb")
        lazynwb.get_df([good, url], "/units", ignore_errors=True, disable_progress=True)
    texts += [str(w.message) for w in caught]
    assert caught, "the broken file was not reported"
    assert not leaks(*texts, debug_logs.text), leaks(*texts, debug_logs.text)


def test_presigned_url_is_read_with_its_query(server, quick) -> None:
    """The query is sent (the server refuses requests without the signature), yet shown
    nowhere: the result's _nwb_path is what the user passed, as in lazynwb."""
    server.required_query = f"X-Amz-Signature={SIGNATURE}"
    url = presigned(server, "session_0.nwb")
    df = lazynwb.get_df(url, "/units", as_polars=True, disable_progress=True)
    assert df.height == 12 and df["_nwb_path"].unique().to_list() == [url]
    refused = presigned(server, "session_1.nwb").replace(SIGNATURE, "forged")
    texts = _fail(lambda: lazynwb.get_df(refused, "/units", disable_progress=True), refused)
    assert any("access denied" in t or "403" in t for t in texts)
    assert not leaks(*texts)


@pytest.fixture
def secret_options(monkeypatch, s3_server) -> Iterator[Any]:
    """S3 with key / secret / token in fsspec spelling (moto accepts any credentials)."""
    monkeypatch.setattr(lazynwb.config, "fsspec_storage_options", {
        "endpoint_url": s3_server.endpoint_url, "key": ACCESS_KEY, "secret": SECRET_KEY,
        "token": TOKEN,
    })
    clear_stores()
    yield s3_server
    clear_stores()


@pytest.mark.parametrize("what", ["missing", "not-NWB", "bad storage option"])
def test_s3_errors_hold_no_configured_credentials(what, secret_options, cred_root, quick,
                                                  debug_logs, monkeypatch) -> None:
    secret_options.upload_file(cred_root / "text.nwb", BUCKET, "credentials/text.nwb")
    url = f"s3://{BUCKET}/credentials/" + ("text.nwb" if what == "not-NWB" else "missing.nwb")
    if what == "bad storage option":
        monkeypatch.setattr(lazynwb.config, "storage_options", {"bogus_token": OPTION_TOKEN})
        clear_stores()
    forget_reader(url)
    with pytest.raises(LazyNWBError) as info:
        lazynwb.get_df(url, "/units", disable_progress=True)
    assert "credentials/" in str(info.value)
    texts = error_texts(info.value)
    assert not leaks(*texts, debug_logs.text, repr(lazynwb.config), str(lazynwb.config))


def test_config_repr_masks_every_credential(monkeypatch) -> None:
    monkeypatch.setattr(lazynwb.config, "fsspec_storage_options", {
        "key": ACCESS_KEY, "secret": SECRET_KEY, "token": TOKEN, "endpoint_url": "http://x"})
    monkeypatch.setattr(lazynwb.config, "storage_options", {"bearer_token": OPTION_TOKEN,
                                                            "password": PASSWORD})
    shown = [repr(lazynwb.config), str(lazynwb.config), f"{lazynwb.config}"]
    assert not leaks(*shown), shown
    assert "http://x" in shown[0]  # what is not a credential is still shown


def test_config_repr_masks_nested_credentials(monkeypatch) -> None:
    monkeypatch.setattr(lazynwb.config, "fsspec_storage_options", {
        "client_kwargs": {"aws_session_token": OPTION_TOKEN, "region_name": "eu-west-1"}})
    assert not leaks(repr(lazynwb.config))


def test_redact_masks_configured_values_wherever_they_appear(monkeypatch) -> None:
    from lazynwb_explorer.errors import redact, safe_cause

    monkeypatch.setattr(lazynwb.config, "fsspec_storage_options", {"secret": SECRET_KEY})
    body = (f"<Error><Code>SignatureDoesNotMatch</Code><AWSAccessKeyId>{ACCESS_KEY}"
            f"</AWSAccessKeyId><SignatureProvided>{SIGNATURE}</SignatureProvided>"
            f"<StringToSign>AWS4 {TOKEN}</StringToSign></Error> and {SECRET_KEY} in prose")
    assert not leaks(redact(body)) and "SignatureDoesNotMatch" in redact(body)
    cause = safe_cause(RuntimeError(body))
    assert type(cause).__name__ == "RedactedError" and not leaks(*error_texts(cause))
    plain = ValueError("nothing secret here")
    assert safe_cause(plain) is plain


# -- widgets ------------------------------------------------------------------------------


def _views(url: str, other: str) -> list[Any]:
    from lazynwb_explorer.widgets import (
        Explorer,
        SchemaViewer,
        TableGrid,
        TimeSeriesPlot,
        TreeBrowser,
    )

    explorer = Explorer(url, selected_path="/units")
    series = "/acquisition/running_speed"
    return [
        TreeBrowser(url, selected_path="/units"),
        SchemaViewer(url, "/units"),
        TableGrid(url, "/units"),
        TableGrid([url, other], "/units"),  # two files: _nwb_path shown, one fails
        TimeSeriesPlot(url, series),
        explorer.tree, explorer.schema, explorer.grid, explorer,
    ]


def _requests(view: Any) -> list[dict[str, Any]]:
    kind = type(view).__name__
    return {
        "TreeBrowser": [{"type": "children", "path": "/"}, {"type": "search", "query": "units"},
                        {"type": "reveal", "path": "/units"}],
        "SchemaViewer": [{"type": "schema", "path": "/units"}],
        "TableGrid": [{"type": "info"}, {"type": "page", "offset": 0, "limit": 20}],
        "TimeSeriesPlot": [{"type": "open", "width": 300}],
    }.get(kind, [])


def test_widget_state_and_replies_hold_no_credentials(server, quick, debug_logs) -> None:
    pytest.importorskip("anywidget")
    server.required_query = f"X-Amz-Signature={SIGNATURE}"
    url = presigned(server, "session_0.nwb")
    broken = with_password(server, "missing.nwb")
    url_shown = url.split("?")[0] + "?X-Amz-Signature=***&X-Amz-Credential=***&token=***"
    texts: list[str] = []
    replies: dict[int, list[dict[str, Any]]] = {}
    for k, view in enumerate(_views(url, broken)):
        for gen, request in enumerate(_requests(view), 1):
            reply, buffers = view.handle_message({**request, "gen": gen}, [])
            assert reply["type"] == request["type"], reply  # answered, not an error
            replies.setdefault(k, []).append(reply)
            texts.append(json.dumps(reply, default=str))
            for buffer in buffers:
                if request["type"] == "page":  # Arrow IPC: the rows, _nwb_path included
                    texts.append(pl.read_ipc(io.BytesIO(buffer)).write_csv())
        texts += [json.dumps(view.get_state(), default=str), repr(view)]
        if type(view).__name__ != "Explorer" and getattr(view, "sources", [url]) == [url_shown]:
            assert view.lazyframe().head(2).collect().height > 0  # reads with the credentials
    grid_info = replies[3][0]  # the two-file grid's info
    assert grid_info["file_errors"], "the failing file of the two-file grid was not reported"
    assert "http://***@127.0.0.1" in json.dumps(grid_info)
    assert not leaks(*texts, debug_logs.text), leaks(*texts, debug_logs.text)


def test_widget_error_replies_and_logs_hold_no_credentials(server, quick, debug_logs) -> None:
    pytest.importorskip("anywidget")
    from lazynwb_explorer.widgets import SchemaViewer, TableGrid, TreeBrowser

    texts = []
    for url in (presigned(server, "missing.nwb"), with_password(server, "text.nwb")):
        for view, request in ((TreeBrowser(url), {"type": "children", "path": "/"}),
                              (SchemaViewer(url, "/units"), {"type": "schema", "path": "/units"}),
                              (TableGrid(url, "/units"), {"type": "info"})):
            reply, _ = view.handle_message({**request, "gen": 7}, [])
            assert reply["type"] == "error" and reply["gen"] == 7, reply
            assert "127.0.0.1" in reply["message"]
            texts += [json.dumps(reply), json.dumps(view.get_state(), default=str)]
    assert not leaks(*texts, debug_logs.text), leaks(*texts, debug_logs.text)


# -- a saved notebook ---------------------------------------------------------------------

NOTEBOOK_CELLS = [
    "import json, logging, os, warnings\nlogging.basicConfig(level=logging.DEBUG)\n"
    "import lazynwb_explorer as lazynwb\nfrom lazynwb_explorer import Explorer, TreeBrowser, TableGrid",
    "lazynwb.config.fsspec_storage_options = json.loads(os.environ['LNX_OPTIONS'])\n"
    "lazynwb.config.max_retries = 1\nlazynwb.config",
    "url = os.environ['LNX_URL']\nbroken = os.environ['LNX_BROKEN']\nprint(url == url)\n"
    "TreeBrowser(url, selected_path='/units')",
    "grid = TableGrid([url, broken], '/units')\ngrid",
    "Explorer(url, selected_path='/units')",
    "lazynwb.get_df([url, broken], '/units', ignore_errors=True, as_polars=True)",
    "lazynwb.get_df(broken, '/units')",  # raises: the traceback is saved as the output
]


@pytest.fixture
def venv_kernel(tmp_path: Path, monkeypatch) -> str:
    name = "lazynwb-explorer-credentials"
    spec_dir = tmp_path / "jupyter" / "kernels" / name
    spec_dir.mkdir(parents=True)
    (spec_dir / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": name, "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    return name


@pytest.mark.timeout(300)
def test_saved_notebook_holds_no_credentials(server, venv_kernel, tmp_path, monkeypatch) -> None:
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    server.required_query = f"X-Amz-Signature={SIGNATURE}"
    monkeypatch.setenv("LNX_URL", presigned(server, "session_0.nwb"))
    monkeypatch.setenv("LNX_BROKEN", with_password(server, "text.nwb"))
    monkeypatch.setenv("LNX_OPTIONS", json.dumps({"key": ACCESS_KEY, "secret": SECRET_KEY,
                                                  "token": TOKEN}))
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in NOTEBOOK_CELLS])
    client = nbclient.NotebookClient(nb, kernel_name=venv_kernel, timeout=120,
                                     startup_timeout=120, allow_errors=True,
                                     store_widget_state=True,
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    saved = tmp_path / "saved.ipynb"
    nbformat.write(nb, saved)
    text = saved.read_text()
    outputs = [o for c in nb.cells for o in c.get("outputs", [])]
    assert [o for o in outputs if o["output_type"] == "error"], "the failing cell did not fail"
    assert "application/vnd.jupyter.widget-state+json" in nb.metadata.get("widgets", {}), (
        "no widget state was saved")
    assert "text.nwb" in text and "/units" in text  # the outputs are there ...
    assert not leaks(text), leaks(text)  # ... without a credential


# -- reprs and messages built outside the transport ----------------------------------------


def _series_repr(url: str) -> str:
    return repr(lazynwb.get_timeseries(url, "running_speed"))


def _dataset_repr(url: str) -> str:
    return repr(lazynwb.get_timeseries(url, "running_speed").data)


def _lazy_nwb_repr(url: str) -> str:
    nwb = lazynwb.LazyNWB(url)
    return repr(nwb) + repr(nwb.subject)


def _partial_name_log(url: str) -> str:
    lazynwb.get_df(url, "rials", disable_progress=True)  # found as /intervals/trials
    return "trials"


@pytest.mark.parametrize("show", [
    pytest.param(_series_repr, id="TimeSeries repr"),
    pytest.param(_dataset_repr, id="LazyDataset repr"),
    pytest.param(_lazy_nwb_repr, id="LazyNWB and Subject repr"),
    pytest.param(_partial_name_log, id="partial table name INFO log"),
])
def test_reprs_and_messages_hold_no_credentials(show, server, debug_logs) -> None:
    server.required_query = f"X-Amz-Signature={SIGNATURE}"
    url = presigned(server, "session_0.nwb")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        shown = show(url)
    assert shown  # it answered
    assert not leaks(shown, debug_logs.text, *(str(w.message) for w in caught))


def test_redact_stops_at_the_quote_that_closes_a_url() -> None:
    """A masked token ends where the URL does: the quote and bracket around it in a message stay."""
    from lazynwb_explorer.errors import redact

    shown = redact(f"cannot open ('https://h/f.nwb?X-Amz-Signature={SIGNATURE}'), nor \"s3://b/k?token={TOKEN}\"")
    assert not leaks(shown)
    assert shown == "cannot open ('https://h/f.nwb?X-Amz-Signature=***'), nor \"s3://b/k?token=***\""
