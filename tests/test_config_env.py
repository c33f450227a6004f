"""Settings from the environment, as lazynwb 1.0 reads them (issue 11, item 11): each of its
fields from LAZYNWB_<FIELD> or LAZYNWB_FILE_IO_<FIELD> (the first wins), parsed alike. The
oracle is lazynwb's own config, read in the same fresh process."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

FIELDS = ("use_polars", "use_remfile", "use_obstore", "anon", "fsspec_storage_options",
          "disable_cache")
SCRIPT = f"""
import json, lazynwb, lazynwb_explorer
fields = {FIELDS!r}
print(json.dumps({{
    "ours": {{f: getattr(lazynwb_explorer.config, f) for f in fields}},
    "theirs": {{f: getattr(lazynwb.config, f) for f in fields}},
}}))
"""

CASES = [
    {"LAZYNWB_FILE_IO_USE_POLARS": "true"},
    {"LAZYNWB_FILE_IO_USE_POLARS": "1", "LAZYNWB_FILE_IO_DISABLE_CACHE": "yes"},
    {"LAZYNWB_FILE_IO_ANON": "false", "LAZYNWB_FILE_IO_USE_REMFILE": "off"},
    {"LAZYNWB_FILE_IO_ANON": "on", "LAZYNWB_FILE_IO_USE_OBSTORE": "t"},
    {"LAZYNWB_FILE_IO_FSSPEC_STORAGE_OPTIONS": '{"endpoint_url": "http://127.0.0.1:9", "anon": true}'},
    {"LAZYNWB_USE_POLARS": "false", "LAZYNWB_FILE_IO_USE_POLARS": "true"},  # the first wins
    {"lazynwb_file_io_use_polars": "True"},  # names in any case, as pydantic-settings reads them
]


def _run(env: dict[str, str]) -> dict:
    clean = {k: v for k, v in os.environ.items() if not k.upper().startswith("LAZYNWB_")}
    clean["LAZYNWB_CACHE_DIR"] = os.environ["LAZYNWB_CACHE_DIR"]
    out = subprocess.run([sys.executable, "-c", SCRIPT], env={**clean, **env}, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("env", CASES, ids=lambda e: ",".join(e))
def test_settings_from_the_environment_match_lazynwb(env: dict[str, str]) -> None:
    got = _run(env)
    named = {name for variable in env for name in FIELDS if variable.upper().endswith(name.upper())}
    for name in named:
        assert got["ours"][name] == got["theirs"][name], (name, got)


def test_a_value_that_does_not_parse_names_the_variable() -> None:
    clean = {k: v for k, v in os.environ.items() if not k.upper().startswith("LAZYNWB_")}
    out = subprocess.run(
        [sys.executable, "-c", "import lazynwb_explorer"],
        env={**clean, "LAZYNWB_FILE_IO_USE_POLARS": "perhaps"}, capture_output=True, text=True,
        timeout=120,
    )
    assert out.returncode != 0 and "LAZYNWB_FILE_IO_USE_POLARS='perhaps'" in out.stderr
