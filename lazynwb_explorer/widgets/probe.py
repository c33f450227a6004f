"""ProbeView: the electrodes where they sit on their probes, coloured by area or by what the
units recorded there are like; clicking a site selects its units.

Why: "where on the probe are the good units, and which areas fire most" is read off a
layout, not a table. Sites are drawn at rel_x / rel_y (or the two axes of x, y, z that vary
most: nwb/probe.py), one shank beside the next; each unit sits on its peak channel (its
`electrodes` region's first row, or a peak_channel_id column). Colour by an electrodes column
(location by default) or by a units column aggregated per site (the mean, the largest value,
or simply how many units). A click selects the site's units (`selected_units`, table rows);
in the Explorer that becomes the units' filter, so the grid, raster and PSTH follow.

Requests:
    layout {}  -> {table_path, units_path, x_name, y_name, sites: n, groups, locations,
                   electrode_columns, unit_columns} + float64 x, float64 y, int32 group,
                   int32 location (index in locations), int32 units per site,
                   int32 peak site of each unit (-1 unknown)
    colors {color_by, aggregate}  -> {kind: category | range | none, names, min, max} +
                   float64 value per site (category index, or the value; NaN = none)
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl
import traitlets

from ..catalog import Catalog, normalize_path, open_catalog
from ..errors import redact
from ..nwb.probe import Layout, electrode_table, peak_rows, position_columns, read_layout
from ..nwb.table_query import TableRequest, read_table_rows
from ..nwb.tables import describe_table
from ._base import STATIC, FileView, Reply
from .raster import has_spike_times
from .raster_data import CATEGORY_MAX, text

AGGREGATES = ("mean", "max", "min", "count")


class ProbeView(FileView):
    """The probe layout of one file (the first source when given several).

    Traitlets: `table_path` (the electrodes table), `units_path`, `color_by` (an electrodes
    column, or 'units.<column>'), `aggregate` (mean | max | min | count, for units columns),
    `selected_units` (units table rows, set by a click), `source`, `height`.
    """

    _esm = STATIC / "probe.js"
    table_path = traitlets.Unicode("", help="the electrodes table").tag(sync=True)
    units_path = traitlets.Unicode("", help="the units table").tag(sync=True)
    color_by = traitlets.Unicode("location", help="electrodes column, or units.<column>").tag(sync=True)
    aggregate = traitlets.Unicode("mean", help="per site: mean | max | min | count").tag(sync=True)
    selected_units = traitlets.List(traitlets.Int(), help="units table rows selected").tag(sync=True)

    def __init__(self, source: Any, path: str = "", **kwargs: Any) -> None:
        self._sites: tuple[str, Layout, np.ndarray] | None = None
        super().__init__(source, **kwargs)
        if path:
            self.show(path)

    @property
    def catalog(self) -> Catalog:
        return open_catalog(self._sources[0])

    @staticmethod
    def shows(catalog: Catalog, path: str) -> bool:
        """An electrodes table with positions, or a units table in a file with one."""
        if not path:
            return False
        if has_spike_times(catalog, path):
            table = electrode_table(catalog)
            return table is not None and len(position_columns(catalog, table)) >= 2
        return len(position_columns(catalog, path)) >= 2 and path.rstrip("/").endswith("electrodes")

    def show(self, path: str) -> None:
        catalog = self.catalog
        path = normalize_path(path)
        if has_spike_times(catalog, path):
            self.units_path, self.table_path = path, electrode_table(catalog) or ""
        else:
            self.table_path = path
            if not self.units_path and has_spike_times(catalog, "/units"):
                self.units_path = "/units"

    def sites(self) -> tuple[Layout, np.ndarray]:
        """The sites and each unit's peak site (read once per table)."""
        if not self.table_path:
            raise ValueError("no electrodes table selected")
        key = f"{self.table_path}|{self.units_path}"
        if self._sites is None or self._sites[0] != key:
            catalog = self.catalog
            layout = read_layout(self._sources[0], catalog, normalize_path(self.table_path))
            peaks = (peak_rows(self._sources[0], catalog, normalize_path(self.units_path), layout)
                     if self.units_path else np.zeros(0, dtype=np.int64))
            self._sites = (key, layout, peaks)
        return self._sites[1], self._sites[2]

    def _columns(self, path: str) -> list[str]:
        if not path:
            return []
        table = describe_table(self.catalog, normalize_path(path))
        return [n for n, c in table.columns.items() if not c.is_array]

    def _req_layout(self, _content: dict[str, Any], _buffers: list[bytes]) -> Reply:
        layout, peaks = self.sites()
        frame = layout.frame
        groups = frame["group"].unique(maintain_order=True).to_list()
        locations = sorted({text(v) for v in frame["location"].to_list()})
        group_index = frame["group"].replace_strict(groups, list(range(len(groups))),
                                                    return_dtype=pl.Int32).to_numpy()
        location_index = np.array([locations.index(text(v)) for v in frame["location"].to_list()],
                                  dtype=np.int32)
        per_site = np.bincount(peaks[peaks >= 0], minlength=frame.height).astype(np.int32)
        reply = {"table_path": self.table_path, "units_path": self.units_path,
                 "x_name": layout.x_name, "y_name": layout.y_name, "sites": frame.height,
                 "groups": [text(g) for g in groups], "locations": locations,
                 "electrode_columns": self._columns(self.table_path),
                 "unit_columns": self._columns(self.units_path), "units": int(len(peaks)),
                 "placed": int((peaks >= 0).sum())}
        f64 = lambda a: np.ascontiguousarray(a, "<f8").tobytes()  # noqa: E731
        i32 = lambda a: np.ascontiguousarray(a, "<i4").tobytes()  # noqa: E731
        return reply, [f64(frame["x"].to_numpy()), f64(frame["y"].to_numpy()), i32(group_index),
                       i32(location_index), i32(per_site), i32(peaks)]

    def site_values(self, color_by: str, aggregate: str) -> tuple[dict[str, Any], np.ndarray]:
        """The colour of each site: ({kind, names | min, max}, value per site)."""
        layout, peaks = self.sites()
        n = layout.frame.height
        if color_by.startswith("units."):
            column = color_by.removeprefix("units.")
            if aggregate not in AGGREGATES:
                raise ValueError(f"aggregate must be one of {AGGREGATES}, not {aggregate!r}")
            if aggregate == "count":
                values = np.bincount(peaks[peaks >= 0], minlength=n).astype(np.float64)
                values[values == 0] = np.nan
                return _range(values), values
            request = TableRequest(normalize_path(self.units_path), exact_path=True,
                                   columns=[column])
            units = read_table_rows(self._sources[0], request)
            numbers = units[column].cast(pl.Float64, strict=False).to_numpy()
            frame = pl.DataFrame({"site": peaks, "v": numbers}).filter(
                (pl.col("site") >= 0) & pl.col("v").is_not_nan() & pl.col("v").is_not_null())
            agg = {"mean": pl.col("v").mean(), "max": pl.col("v").max(),
                   "min": pl.col("v").min()}[aggregate]
            per_site = frame.group_by("site").agg(agg.alias("v"))
            values = np.full(n, np.nan)
            values[per_site["site"].to_numpy()] = per_site["v"].to_numpy()
            return _range(values), values
        if color_by in ("", "location"):
            series = layout.frame["location"]
        else:
            request = TableRequest(normalize_path(self.table_path), exact_path=True,
                                   columns=[color_by])
            series = read_table_rows(self._sources[0], request)[color_by]
        if series.dtype.is_numeric() and series.n_unique() > CATEGORY_MAX:
            values = series.cast(pl.Float64).to_numpy()
            return _range(values), values
        names = sorted({text(v) for v in series.to_list()})[:CATEGORY_MAX]
        values = np.array([names.index(text(v)) if text(v) in names else np.nan
                           for v in series.to_list()], dtype=np.float64)
        return {"kind": "category", "names": names}, values

    def _req_colors(self, content: dict[str, Any], _buffers: list[bytes]) -> Reply:
        color_by = str(content.get("color_by", self.color_by))
        aggregate = str(content.get("aggregate", self.aggregate))
        scale, values = self.site_values(color_by, aggregate)
        return {**scale, "color_by": color_by, "aggregate": aggregate}, [
            np.ascontiguousarray(values, "<f8").tobytes()]

    def units_at(self, sites: list[int]) -> list[int]:
        """The units (table rows) whose peak channel is one of `sites`."""
        _layout, peaks = self.sites()
        return np.flatnonzero(np.isin(peaks, sites)).tolist()

    # -- Python side ----------------------------------------------------------------------

    def frame(self) -> pl.DataFrame:
        """The sites as drawn: _table_index, id, x, y, group, location, n_units, and the
        colour value (`color`)."""
        layout, peaks = self.sites()
        _scale, values = self.site_values(self.color_by, self.aggregate)
        n_units = np.bincount(peaks[peaks >= 0], minlength=layout.frame.height)
        return layout.frame.with_columns(pl.Series("n_units", n_units.astype(np.int64)),
                                         pl.Series("color", values))

    @property
    def snippet(self) -> str:
        layout, _peaks = self.sites()
        return ("import lazynwb_explorer as lazynwb\n\n"
                f"sites = lazynwb.get_df({redact(self._sources[0].label)!r}, "
                f"{normalize_path(self.table_path)!r}, as_polars=True)\n"
                f"# the layout: sites[{layout.x_name!r}], sites[{layout.y_name!r}]\n"
                + (f"units = lazynwb.get_df({redact(self._sources[0].label)!r}, "
                   f"{normalize_path(self.units_path)!r}, exclude_array_columns=False, "
                   "as_polars=True)\n"
                   "# each unit's peak site: units['electrodes'].list.first() (or "
                   "peak_channel_id)\n" if self.units_path else ""))


def _range(values: np.ndarray) -> dict[str, Any]:
    finite = values[np.isfinite(values)]
    return {"kind": "range", "min": float(finite.min()) if len(finite) else 0.0,
            "max": float(finite.max()) if len(finite) else 1.0}

