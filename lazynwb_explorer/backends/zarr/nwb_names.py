"""The names a group's children may have in an NWB file, for stores that cannot be listed.

A Zarr group does not name its children; an NWB group often does, through its type (the
NWB schema fixes the members of an NWBFile, of /general, of a TimeSeries) and its attributes
(a table's `colnames`, the links of `_LINKS` / `zarr_link`, `.specloc`). Candidates that do
not exist cost one probe each and are dropped.
"""

from __future__ import annotations

from typing import Any

_BY_PATH = {
    "": ("acquisition", "analysis", "general", "intervals", "processing", "stimulus", "units",
         "events", "scratch", "specifications", "file_create_date", "identifier",
         "session_description", "session_start_time", "timestamps_reference_time"),
    "stimulus": ("presentation", "templates"),
    "intervals": ("trials", "epochs", "invalid_times"),
    "general": ("subject", "devices", "extracellular_ephys", "intracellular_ephys",
                "optogenetics", "optophysiology", "data_collection", "experiment_description",
                "experimenter", "institution", "keywords", "lab", "notes", "pharmacology",
                "protocol", "related_publications", "session_id", "slices", "source_script",
                "stimulus", "surgery", "virus", "was_generated_by"),
    "general/extracellular_ephys": ("electrodes",),
    "general/intracellular_ephys": ("intracellular_recordings", "simultaneous_recordings",
                                    "sequential_recordings", "repetitions",
                                    "experimental_conditions", "sweep_table", "filtering"),
}
_SUBJECT = ("age", "date_of_birth", "description", "genotype", "sex", "species", "strain",
            "subject_id", "weight")
_TIMESERIES = ("data", "timestamps", "starting_time", "control", "control_description", "sync",
               "electrodes", "channel_conversion", "external_file", "field_of_view",
               "dimension", "format", "bits_per_pixel", "starting_frame", "device")
_MAX_COLUMNS = 10_000


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []


def _links(attrs: dict[str, Any]) -> list[str]:
    out = []
    for name in ("_LINKS", "zarr_link"):
        for link in attrs.get(name) or []:
            if isinstance(link, dict) and isinstance(link.get("name"), str):
                out.append(link["name"])
    return out


def candidates(attrs: dict[str, Any], key: str) -> list[str]:
    """Names that children of the group at `key` (with these attributes) may have."""
    names = list(_BY_PATH.get(key, ()))
    if key == "general/subject" or attrs.get("neurodata_type") == "Subject":
        names.extend(_SUBJECT)
    if "colnames" in attrs:
        names.append("id")
        for column in _strings(attrs.get("colnames"))[:_MAX_COLUMNS]:
            names.extend((column, f"{column}_index", f"{column}_index_index"))
    if attrs.get("neurodata_type") and "colnames" not in attrs:  # a TimeSeries, or like one
        names.extend(_TIMESERIES)
    specloc = attrs.get(".specloc")
    if key == "" and isinstance(specloc, str):
        names.append(specloc.strip("/"))
    names.extend(_links(attrs))
    return [n for n in dict.fromkeys(names) if n and "/" not in n and n not in (".", "..")]
