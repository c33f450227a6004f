"""Shared plumbing of the notebook views: the request/reply contract, errors, assets.

Why one contract: the browser starts every exchange (a message the kernel sent before the
view existed would be lost), so every view answers requests and never pushes data on its own.

    request  {"type": <kind>, "gen": <int>, ...parameters}          (+ optional buffers)
    reply    {"type": <kind>, "gen": <same int>, ...results}        (+ binary buffers)
    error    {"type": "error", "gen": <int>, "request": <kind>, "message": <text>,
              "error": <exception class name>}

`gen` is the browser's generation number: a reply whose `gen` is older than the latest request
of that kind is stale and dropped by the front end. Errors are replies too, so a failing file
shows a message inside the view instead of breaking it.

`View.handle_message(content, buffers)` is what the comm handler calls; tests and the browser
bridge call it directly with the JSON the front end sends.
"""

from __future__ import annotations

import math
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import anywidget
import polars as pl
import traitlets

from ..errors import LazyNWBError, get_logger, redact
from ..sources import Source, to_sources

logger = get_logger(__name__)

STATIC = Path(__file__).resolve().parent.parent / "static"
Reply = tuple[dict[str, Any], list[bytes]]
Handler = Callable[[dict[str, Any], list[bytes]], Reply]


class View(anywidget.AnyWidget):
    """Base of every view: dispatches the browser's requests to `_req_<kind>` methods."""

    _css = STATIC / "widgets.css"
    height = traitlets.Int(420, help="height of the view in pixels (explicit, so it never "
                           "collapses inside a VBox/HBox)").tag(sync=True)
    # a time view whose x_range is the Explorer's shared time axis keeps it when it shows
    # something else (on its own, a new series or table starts at its whole extent)
    shared_time = False

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.layout.height = f"{self.height}px"
        self.on_msg(self._on_custom_msg)

    @traitlets.observe("height")
    def _height_changed(self, change: dict[str, Any]) -> None:
        # ipywidgets' layout owns the element's inline style (it clears what it does not
        # know), so the height goes through it as well as through the front end
        self.layout.height = f"{change['new']}px"

    def lazyframe(self) -> pl.LazyFrame:
        """What the view shows, as a polars LazyFrame: views that compute what they show (a
        raster's window, a PSTH, a probe's sites) hand back their `frame()`; views of a table
        or a series override this with a lazy query of the file."""
        frame = getattr(self, "frame", None)
        if frame is None:
            raise NotImplementedError(f"{type(self).__name__} shows no frame")
        lazy: pl.LazyFrame = frame().lazy()
        return lazy

    # -- dispatch -----------------------------------------------------------------------

    def _handlers(self) -> dict[str, Handler]:
        """{kind: handler} for this view, from its `_req_<kind>` methods."""
        return {
            name.removeprefix("_req_"): getattr(self, name)
            for name in dir(type(self))
            if name.startswith("_req_")
        }

    def handle_message(self, content: Any, buffers: Sequence[bytes] | None = None) -> Reply:
        """Answer one request (what the comm handler calls): a reply and its buffers. The
        reply names the front-end view that asked (`view`): every view of this model gets it."""
        if not isinstance(content, dict):
            return error_reply(None, "request", "a request must be a JSON object"), []
        reply, out = self._answer(content, buffers)
        return {**reply, "view": content.get("view")}, out

    def _answer(self, content: dict[str, Any], buffers: Sequence[bytes] | None) -> Reply:
        kind = str(content.get("type", ""))
        gen = content.get("gen")
        handler = self._handlers().get(kind)
        if handler is None:
            return error_reply(gen, kind, f"unknown request type {kind!r}"), []
        try:
            reply, out = handler(content, [bytes(b) for b in buffers or []])
        except LazyNWBError as exc:
            return error_reply(gen, kind, str(exc), type(exc).__name__), []
        except Exception as exc:  # noqa: BLE001 - any failure becomes a message in the view
            trace = "".join(traceback.format_exception(exc))
            logger.error("%s request failed: %s", kind, redact(trace))  # URLs may hold tokens
            return error_reply(gen, kind, str(exc) or type(exc).__name__, type(exc).__name__), []
        reply = {"type": kind, **reply, "gen": gen}
        return reply, out

    def _req_snippet(self, _content: dict[str, Any], _buffers: list[bytes]) -> Reply:
        """The Python that computes what the view shows (views with a `snippet`)."""
        text = getattr(self, "snippet", None)
        if text is None:
            raise ValueError(f"{type(self).__name__} has no code to show")
        return {"text": str(text)}, []

    def _on_custom_msg(self, _widget: Any, content: Any, buffers: Sequence[Any]) -> None:
        reply, out = self.handle_message(content, buffers)
        self.send(reply, out)


class FileView(View):
    """A view of one file: the first source when given several (a DANDI source is a list of
    URLs). `source` is the file's label as the front end shows it (credentials redacted);
    `_sources` is what the view reads."""

    source = traitlets.Unicode("", help="label of the file").tag(sync=True)

    def __init__(self, source: Any, **kwargs: Any) -> None:
        self._sources: list[Source] = as_sources(source)
        super().__init__(source=redact(self._sources[0].label), **kwargs)


def error_reply(gen: Any, request: str, message: str, error: str = "Error") -> dict[str, Any]:
    """The error reply the front end renders as text."""
    return {"type": "error", "gen": gen, "request": request, "message": redact(message),
            "error": error}


def as_sources(source: Any) -> list[Source]:
    """What a view accepts -> sources: a path, a URL, a Source, or a list of them (DANDI
    sources are lists of URLs)."""
    sources = to_sources(source)
    if not sources:
        raise ValueError("no source given")
    return sources


def clean_json(value: Any) -> Any:
    """Attribute values as JSON: numpy scalars and arrays to lists, NaN/inf to text, long
    lists cut (they are shown, not computed with)."""
    if isinstance(value, dict):
        return {str(k): clean_json(v) for k, v in list(value.items())[:200]}
    if isinstance(value, list | tuple):
        return [clean_json(v) for v in value[:50]] + (["…"] if len(value) > 50 else [])
    if hasattr(value, "tolist"):
        return clean_json(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def human_bytes(n: float) -> str:
    """1536 -> '1.5 kB' (a size hint, not an exact count)."""
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} PB"
