"""The public API is lazynwb 1.0's: every shared name exists, is exported, and takes the same
public parameters (name, kind, default) in the same order; the constants have the same
values. The reference table below is written from lazynwb 1.0.0's source, so the check runs
without lazynwb; where lazynwb is installed the table itself is checked against it, and so
is the list of names we leave out on purpose."""

from __future__ import annotations

import inspect
import types
import typing
from typing import Any

import pytest

import lazynwb_explorer as lazynwb

REQUIRED = inspect.Parameter.empty
P, K, VK = "POSITIONAL_OR_KEYWORD", "KEYWORD_ONLY", "VAR_KEYWORD"

# lazynwb 1.0.0: public parameters of each shared callable (private '_x' ones left out)
REFERENCE_SIGNATURES: dict[str, list[tuple[str, str, Any]]] = {
    "LazyNWB": [("path", P, REQUIRED)],
    "Subject": [("path", P, REQUIRED)],
    "TimeSeries": [],
    "RawTableColumnMetadata": [
        (name, P, REQUIRED) for name in (
            "name", "table_path", "source_path", "backend", "dtype", "shape", "ndim", "attrs",
            "maxshape", "chunks", "storage_layout", "compression", "compression_opts",
            "filters", "fill_value", "read_capabilities", "is_group", "is_dataset",
            "is_metadata_table", "is_timeseries", "is_timeseries_with_rate",
            "is_timeseries_length_aligned", "is_nominally_indexed", "is_index_column",
            "is_multidimensional", "index_column_name", "data_column_name",
            "row_element_shape",
        )
    ],
    "clear_attrs_cache": [("nwb_path", P, None)],
    "clear_cache": [],
    "consolidate_attrs": [
        ("nwb_paths", P, REQUIRED), ("internal_path", P, REQUIRED), ("exclude_private", P, True),
    ],
    "convert_nwb_tables": [
        ("nwb_sources", P, REQUIRED), ("output_dir", P, REQUIRED),
        ("output_format", K, "parquet"), ("full_path", K, False), ("min_file_count", K, 1),
        ("exclude_array_columns", K, False), ("ignore_errors", K, True),
        ("disable_progress", K, False), ("session_subdirs", K, False),
        ("write_kwargs", VK, REQUIRED),
    ],
    "from_dandi_asset": [
        ("dandiset_id", P, REQUIRED), ("asset_id", P, REQUIRED), ("version", P, None),
    ],
    "get": [
        ("nwb_data_sources", P, REQUIRED), ("search_term", P, REQUIRED), ("as_df", K, False),
        ("exact_path", K, False), ("include_column_names", K, None),
        ("exclude_column_names", K, None), ("exclude_array_columns", K, True),
        ("use_process_pool", K, False), ("disable_progress", K, False),
        ("raise_on_missing", K, False), ("ignore_errors", K, False), ("as_polars", K, None),
    ],
    "get_attrs": [
        ("nwb_path", P, REQUIRED), ("internal_path", P, REQUIRED), ("exclude_private", P, True),
        ("exclude_empty_fields", P, False),
    ],
    "get_dandi_sources": [
        ("dandiset_id", P, REQUIRED), ("version", P, None), ("order", P, "path"),
        ("asset_ids", K, None), ("asset_filter", K, None), ("max_assets", K, None),
    ],
    "get_df": [
        ("nwb_data_sources", P, REQUIRED), ("search_term", P, REQUIRED), ("exact_path", P, False),
        ("include_column_names", P, None), ("exclude_column_names", P, None),
        ("nwb_path_to_row_indices", P, None), ("exclude_array_columns", P, True),
        ("parallel", P, True), ("use_process_pool", P, False), ("disable_progress", P, False),
        ("raise_on_missing", P, False), ("ignore_errors", P, False), ("low_memory", P, False),
        ("as_polars", P, None),
    ],
    "get_internal_path_info": [
        ("nwb_path", P, REQUIRED), ("include_child_datasets", P, False),
        ("include_table_columns", P, False), ("include_metadata", P, False),
        ("include_specifications", P, False), ("parents", P, False),
    ],
    "get_internal_paths": [
        ("nwb_path", P, REQUIRED), ("include_child_datasets", P, False),
        ("include_table_columns", P, False), ("include_metadata", P, False),
        ("include_specifications", P, False), ("parents", P, False),
    ],
    "get_metadata_df": [
        ("nwb_path_or_paths", P, REQUIRED), ("disable_progress", P, False), ("as_polars", P, None),
    ],
    "get_spike_times_in_intervals": [
        ("filtered_units_df", P, REQUIRED), ("intervals", P, REQUIRED),
        ("intervals_df", P, "/intervals/trials"), ("intervals_df_filter", P, None),
        ("apply_obs_intervals", P, True), ("as_counts", P, False),
        ("keep_only_necessary_cols", P, False), ("use_process_pool", P, True),
        ("disable_progress", P, False), ("as_polars", P, None), ("align_times", P, False),
    ],
    "get_sql_context": [
        ("nwb_sources", P, REQUIRED), ("full_path", K, False), ("min_file_count", K, 1),
        ("exclude_array_columns", K, False), ("exclude_timeseries", K, False),
        ("ignore_errors", K, True), ("disable_progress", K, False),
        ("infer_schema_length", K, None), ("table_names", K, None),
        ("rename_general_metadata", K, True), ("sqlcontext_kwargs", VK, REQUIRED),
    ],
    "get_sub_attrs": [
        ("nwb_path", P, REQUIRED), ("parent_path", P, "/"), ("exclude_private", P, True),
        ("exclude_empty", P, True),
    ],
    "get_table_column_metadata": [
        ("file_path", P, REQUIRED), ("table_path", P, REQUIRED), ("use_thread_pool", P, False),
        ("skip_references", P, True),
    ],
    "get_table_length_from_metadata": [("columns", P, REQUIRED)],
    "get_table_schema": [
        ("file_paths", P, REQUIRED), ("table_path", P, REQUIRED),
        ("first_n_files_to_infer_schema", P, None), ("exclude_array_columns", P, False),
        ("exclude_internal_columns", P, False), ("raise_on_missing", P, False),
    ],
    "get_table_schema_from_metadata": [("columns", P, REQUIRED)],
    "get_timeseries": [
        ("nwb_path", P, REQUIRED), ("search_term", P, None), ("exact_path", P, False),
        ("match_all", P, False),
    ],
    "insert_is_observed": [
        ("intervals_frame", P, REQUIRED), ("units_frame", P, None), ("col_name", P, "is_observed"),
    ],
    "merge_array_column": [
        ("df", P, REQUIRED), ("column_name", P, REQUIRED), ("missing_ok", P, True),
    ],
    "normalize_internal_file_path": [("path", P, REQUIRED)],
    "read_nwb": [
        ("source", P, REQUIRED), ("table_path", P, REQUIRED), ("raise_on_missing", P, False),
        ("ignore_errors", P, False), ("infer_schema_length", P, None),
        ("exclude_array_columns", P, False), ("low_memory", P, False),
        ("single_file_batches", P, False), ("schema", P, None), ("schema_overrides", P, None),
        ("disable_progress", P, False),
    ],
    "scan_nwb": [
        ("source", P, REQUIRED), ("table_path", P, REQUIRED), ("raise_on_missing", P, False),
        ("ignore_errors", P, False), ("infer_schema_length", P, None),
        ("exclude_array_columns", P, False), ("low_memory", P, False),
        ("single_file_batches", P, False), ("schema", P, None), ("schema_overrides", P, None),
        ("disable_progress", P, False),
    ],
}

REFERENCE_CONSTANTS: dict[str, Any] = {
    "NWB_PATH_COLUMN_NAME": "_nwb_path",
    "TABLE_PATH_COLUMN_NAME": "_table_path",
    "TABLE_INDEX_COLUMN_NAME": "_table_index",
    "INTERNAL_COLUMN_NAMES": {"_nwb_path", "_table_path", "_table_index"},
    "INTERVALS_TABLE_INDEX_COLUMN_NAME": "_intervals_table_index",
    "UNITS_TABLE_INDEX_COLUMN_NAME": "_units_table_index",
    "DANDI_API_BASE": "https://api.dandiarchive.org/api",
}

# lazynwb's settings and their defaults (a pydantic model there, a dataclass here)
REFERENCE_CONFIG_FIELDS = {
    "use_polars": False, "use_remfile": True, "use_obstore": False, "anon": None,
    "fsspec_storage_options": {"anon": False}, "disable_cache": False,
}
# fsspec_storage_options: ours is {}: whether to sign requests is `anon`'s job (None:
# credentials if any). use_remfile / use_obstore: ours are None (our own transport); lazynwb's
# True / False name its transports, which here are honoured only when set (slower than ours)
CONFIG_DEFAULTS_DIFFER = {"fsspec_storage_options", "use_remfile", "use_obstore"}

# lazynwb's public names we leave out, and why
LEFT_OUT = {
    "FileAccessor": "an open h5py / zarr file; sources here are paths and URLs, read via catalogs",
    "from_pathlike": "returns a UPath for FileAccessor; to_source plays that part",
    "is_group": "a test on h5py / zarr objects, which are never handed out",
    "NWBComponent": "a Protocol over FileAccessor-holding classes",
    "to_dict": "reads LazyNWB / Subject properties by annotation; LazyNWB.describe() gives them",
    "get_threadpool_executor": "work runs on the package's own bounded pools",
    "get_processpool_executor": "reads release the GIL: no process pool",
    "thread_pool_executor": "the pool get_threadpool_executor creates",
    "process_pool_executor": "the pool get_processpool_executor creates",
    "load_dotenv": "lazynwb loads a .env file on import; settings come from LAZYNWB_* variables",
    "TABLE_SHORTCUTS": "ours names the same tables with a leading '/' and adds 'units'",
    "logger": "a module logger",
}


def _public_parameters(obj: Any) -> list[tuple[str, str, Any]]:
    return [
        (p.name, p.kind.name, p.default)
        for p in inspect.signature(obj).parameters.values()
        if not p.name.startswith("_")
    ]


@pytest.mark.parametrize("name", sorted(REFERENCE_SIGNATURES))
def test_same_parameters(name: str) -> None:
    assert name in lazynwb.__all__
    assert _public_parameters(getattr(lazynwb, name)) == REFERENCE_SIGNATURES[name]


def test_same_constants() -> None:
    for name, value in REFERENCE_CONSTANTS.items():
        assert name in lazynwb.__all__
        assert getattr(lazynwb, name) == value, name


def test_same_config_fields(monkeypatch) -> None:
    for name in REFERENCE_CONFIG_FIELDS:
        monkeypatch.delenv(f"LAZYNWB_{name.upper()}", raising=False)
    defaults = lazynwb.Config()
    for name, value in REFERENCE_CONFIG_FIELDS.items():
        assert hasattr(lazynwb.config, name), name
        if name not in CONFIG_DEFAULTS_DIFFER:
            assert getattr(defaults, name) == value, name


def _reference_names(module: types.ModuleType) -> set[str]:
    """lazynwb's public names, without modules and the typing helpers its star imports
    carry along (Any, Iterable, TypeVars, ...)."""
    names = set()
    for name in dir(module):
        value = getattr(module, name)
        if name.startswith("_") or isinstance(value, types.ModuleType | typing.TypeVar):
            continue
        if getattr(value, "__module__", "") in ("typing", "collections.abc", "collections",
                                                "__future__") or name == "annotations":
            continue
        if name == "OutputFormat":  # a typing.Literal alias
            continue
        names.add(name)
    return names


def test_reference_table_is_lazynwb() -> None:
    reference = pytest.importorskip("lazynwb", exc_type=ImportError)
    for name, expected in REFERENCE_SIGNATURES.items():
        assert _public_parameters(getattr(reference, name)) == expected, name
    for name, value in REFERENCE_CONSTANTS.items():
        assert getattr(reference, name) == value, name
    settings = reference.Config.model_fields
    assert {n: settings[n].get_default(call_default_factory=True) for n in REFERENCE_CONFIG_FIELDS} == (
        REFERENCE_CONFIG_FIELDS)


def test_every_lazynwb_name_is_here_or_left_out_on_purpose() -> None:
    reference = pytest.importorskip("lazynwb", exc_type=ImportError)
    names = _reference_names(reference)
    assert set(LEFT_OUT) <= names
    shared = names - set(LEFT_OUT)
    assert shared == set(REFERENCE_SIGNATURES) | set(REFERENCE_CONSTANTS) | {"Config", "config"}
    assert [n for n in shared if not hasattr(lazynwb, n)] == []
