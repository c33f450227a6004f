"""Print pip pins for the lowest versions pyproject.toml allows of the libraries whose
range `make test` checks at both ends (the `>=` floor of each, any patch release)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

CHECKED = ("polars", "numpy", "pandas", "pyarrow", "h5py")

project = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())
floors = {}
for requirement in project["project"]["dependencies"]:
    match = re.fullmatch(r"([A-Za-z0-9_.-]+)\s*>=\s*([0-9.]+)(,.*)?", requirement.strip())
    if match and match.group(1).lower() in CHECKED:
        floors[match.group(1).lower()] = match.group(2)
missing = [name for name in CHECKED if name not in floors]
if missing:
    raise SystemExit(f"no '>=' floor in pyproject.toml for {missing}")
print(" ".join(f"'{name}=={version}.*'" for name, version in floors.items()))
