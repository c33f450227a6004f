"""The Zarr v3 fixture writer's venv (.venv-zarr3, made by `make zarr3-venv`): hdmf-zarr 0.14
on Python >= 3.12, which cannot live in the test venv. `write(out_dir, names)` runs
tests/zarr3_writer.py there and returns the stores it wrote; `run(code)` runs Python there.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def python() -> Path:
    """The venv's interpreter ($LAZYNWB_ZARR3_PYTHON, or .venv-zarr3 of this checkout)."""
    path = Path(os.environ.get("LAZYNWB_ZARR3_PYTHON", ROOT / ".venv-zarr3" / "bin" / "python"))
    if not path.exists():
        pytest.fail(f"the Zarr v3 fixture writer's venv is missing ({path}): run `make zarr3-venv` "
                    "(it needs a Python >= 3.12), or `make test`, which makes it", pytrace=False)
    return path


def run(args: list[str], timeout: float = 600) -> str:
    done = subprocess.run([str(python()), *args], capture_output=True, text=True, timeout=timeout,
                          cwd=ROOT, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed in the zarr3 venv:\n{done.stderr[-6000:]}")
    return done.stdout


def write(out_dir: Path, names: list[str]) -> dict[str, Path]:
    """{name: store} of the v3 fixtures written by hdmf-zarr 0.14 (see zarr3_writer.py)."""
    run([str(ROOT / "tests" / "zarr3_writer.py"), str(out_dir), *names])
    return {name: out_dir / f"{name}.nwb.zarr" for name in names}


if __name__ == "__main__":  # pragma: no cover - a manual check
    print(python(), sys.version)
