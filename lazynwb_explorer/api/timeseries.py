"""get_timeseries (lazynwb's name and parameters): find a series in a file by path or search.

How a search term resolves: an exact path (a trailing /data, /timestamps or /starting_time
dropped) names the series; otherwise every series whose path contains the term, best first
(the last path component equals the term, then ends with it, then the rest).
"""

from __future__ import annotations

import warnings
from typing import Literal, overload

from ..catalog import Catalog, normalize_path, open_catalog_for, open_scoped_catalog, widen_catalog
from ..errors import InternalPathError, redact
from ..nwb.kinds import is_series, series_reads_link
from ..nwb.timeseries import TimeSeries
from ..sources import PathLike, Source, is_one_source, to_source


def series_paths(catalog: Catalog) -> list[str]:
    """Every time series in the file, in the file's order."""
    return [p for p, n in catalog.nodes.items() if n.is_group and is_series(catalog, p)]


# what an exact-path get_timeseries walks of the series at once (its other children, the
# stored timestamps among them, when first used)
_READ_FIRST = ("data", "starting_time")


def _strip_child(path: str) -> str:
    for child in ("/data", "/timestamps", "/starting_time"):
        if path.endswith(child):
            return path[: -len(child)] or "/"
    return path


def _series_catalog(source: Source, search_term: str | None, exact_path: bool) -> Catalog:
    """The catalog get_timeseries needs: for an exact path, only the root, the path's groups,
    the series and its data and starting_time are walked (issue 16); its other children
    (stored timestamps: pynwb writes their header past the data, a round trip away) when
    first used. A search walks the whole file."""
    if not exact_path or not isinstance(search_term, str) or not search_term.strip():
        return open_catalog_for(source, search_term or "/")
    named = normalize_path(search_term)
    candidates = list(dict.fromkeys([named, _strip_child(named)]))
    catalog = open_scoped_catalog(
        source, [f"{c.rstrip('/')}/{child}" for c in candidates for child in _READ_FIRST],
        lambda catalog: any(_series_or_named(catalog, c) for c in candidates),
        follows=series_reads_link,
    )
    if any(is_series(catalog, c) for c in candidates):
        return catalog
    # a series known only by its stored timestamps (lazynwb's rule): walk them too
    return widen_catalog(catalog, [f"{c.rstrip('/')}/timestamps" for c in candidates], series_reads_link)


def _series_or_named(catalog: Catalog, path: str) -> bool:
    """A series, or a group whose links name stored timestamps (is_series decides once
    they are walked)."""
    node = catalog.get(path)
    return is_series(catalog, path) or (node is not None and node.is_group and "timestamps" in node.children)


def find_series(
    catalog: Catalog, search_term: str | None, exact_path: bool = False, match_all: bool = False
) -> list[str]:
    """Series paths matching the search, best first (see get_timeseries)."""
    if search_term is not None and not isinstance(search_term, str):
        raise TypeError(f"search_term must be a str, not {type(search_term).__name__}")
    term = (search_term or "").strip()
    if term:
        named = normalize_path(term)
        if not match_all and is_series(catalog, named):
            return [named]  # a series may itself be named 'timestamps' (AllenSDK) or 'data'
        exact = _strip_child(named)
        if catalog.get(exact) is not None and not match_all:
            if is_series(catalog, exact):
                return [exact]
            if exact_path:
                raise InternalPathError(
                    "not a time series (no data with timestamps or starting_time)",
                    source=catalog.label, path=exact,
                )
        elif exact_path:
            raise InternalPathError("exact path not found", source=catalog.label, path=exact)
    candidates = series_paths(catalog)
    if not term:
        return candidates
    matches = [p for p in candidates if term in p] or [
        p for p in candidates if term.lower() in p.lower()
    ]
    if match_all:
        return matches
    name = term.strip("/").lower()
    # best first: the last path component equals the term, then ends with it, then the rest
    return sorted(matches, key=lambda p: (p.rsplit("/", 1)[-1].lower() != name,
                                          not p.lower().endswith(name)))


@overload
def get_timeseries(
    nwb_path: PathLike, search_term: str | None = None, exact_path: bool = False,
    match_all: Literal[False] = False,
) -> TimeSeries: ...


@overload
def get_timeseries(
    nwb_path: PathLike, search_term: str | None = None, exact_path: bool = False,
    match_all: Literal[True] = True,
) -> dict[str, TimeSeries]: ...


def get_timeseries(
    nwb_path: PathLike,
    search_term: str | None = None,
    exact_path: bool = False,
    match_all: bool = False,
) -> TimeSeries | dict[str, TimeSeries]:
    """A TimeSeries from one NWB file (or, with match_all, a dict path -> TimeSeries).

    search_term: an exact path (a trailing /data or /timestamps is dropped) or part of one;
    several partial matches warn, naming them, and the best is returned (the one whose last
    path component equals the term, else the first). Searches acquisition, processing,
    stimulus, and any other group holding a series (events-like series with timestamps only
    included). exact_path: the term must be the series' path. match_all: every series whose
    path contains the term (all series without a term).
    """
    if not (search_term or match_all):
        raise ValueError("Either `search_term` must be specified or `match_all` must be set to True")
    if not is_one_source(nwb_path):
        raise TypeError("get_timeseries reads one file: pass a single path or URL")
    catalog = _series_catalog(to_source(nwb_path), search_term, exact_path and not match_all)
    paths = find_series(catalog, search_term, exact_path=exact_path, match_all=match_all)
    if match_all:
        return {p: TimeSeries(nwb_path, p, catalog) for p in paths}
    if not paths:
        available = series_paths(catalog)
        raise InternalPathError(
            f"no time series matching {search_term!r}; series in this file: "
            f"{available[:20]}{' ...' if len(available) > 20 else ''}",
            source=catalog.label,
        )
    if len(paths) > 1:
        warnings.warn(
            f"{search_term!r} matches {len(paths)} time series in {redact(catalog.label)}: {paths}; "
            f"using {paths[0]!r} (pass an exact path to choose)",
            stacklevel=2,
        )
    return TimeSeries(nwb_path, paths[0], catalog)
