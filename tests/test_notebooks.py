"""Execute every notebook in notebooks/ top to bottom, as a user would, and check it runs clean.

Why: notebooks are documentation that rots silently when the API moves. Each one runs in a
fresh kernel of this very interpreter (a kernel spec written to a temporary JUPYTER_PATH, so a
system-wide "python3" kernel can never be picked up instead), in the notebooks/ directory, with
``LAZYNWB_DEMO_FILE`` pointing at a small demo file in a temporary directory.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from lazynwb_explorer import demo_data

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOK_DIR = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
KERNEL_NAME = "lazynwb-explorer-tests"
# one notebook per family of neuroscience views (issue 15)
VIEW_FAMILIES = ("units.ipynb", "trials.ipynb", "behaviour.ipynb")


@pytest.fixture(scope="module")
def small_demo_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return demo_data.write_demo_file(tmp_path_factory.mktemp("demo") / "sample.nwb", small=True)


@pytest.fixture
def venv_kernel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A kernel spec that runs ipykernel with this interpreter; returns its name."""
    spec_dir = tmp_path / "jupyter" / "kernels" / KERNEL_NAME
    spec_dir.mkdir(parents=True)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "lazynwb_explorer tests",
        "language": "python",
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    return KERNEL_NAME


def _text(cell: dict) -> str:
    """Everything a code cell printed or displayed, as plain text."""
    parts = []
    for output in cell.get("outputs", []):
        if output["output_type"] == "stream":
            parts.append(output["text"])
        elif "data" in output:
            parts.append(output["data"].get("text/plain", ""))
    return "".join(parts)


def test_there_are_notebooks() -> None:
    assert NOTEBOOKS, f"no notebooks in {NOTEBOOK_DIR}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_stored_without_outputs(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None, cell.source[:80]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs_top_to_bottom(
    path: Path, small_demo_file: Path, venv_kernel: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LAZYNWB_DEMO_FILE", str(small_demo_file))
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        nb,
        kernel_name=venv_kernel,
        timeout=300,
        startup_timeout=120,
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute()  # raises CellExecutionError on the first failing cell

    code_cells = [c for c in nb.cells if c.cell_type == "code"]
    errors = [o for c in code_cells for o in c.outputs if o.output_type == "error"]
    assert not errors, errors
    assert all(c.execution_count is not None for c in code_cells)
    scan_cells = [c for c in code_cells if "scan" in c.metadata.get("tags", [])]
    for cell in scan_cells:
        assert "spike_times" in _text(cell), "the scan cell showed no result"
    if path.name == "explorer.ipynb":
        assert scan_cells, "explorer.ipynb lost the 'scan' tag on its scan_nwb cell"
        assert str(small_demo_file) in _text(code_cells[0]), "LAZYNWB_DEMO_FILE was not used"
        # the Explorer is named, and its lazyframe() (the session's metadata row) is shown
        assert code_cells[-2].source.splitlines()[0].startswith("ex = ")
        shown = _text(code_cells[-1])
        assert "ex.lazyframe()" in code_cells[-1].source and "shape: (1," in shown and "identifier" in shown
    if path.name in VIEW_FAMILIES:  # each view's frame is shown, and its snippet printed
        framed = [c for c in code_cells if "frame()" in c.source]
        assert framed and all("shape:" in _text(c) for c in framed), path.name
        assert any("lazynwb." in _text(c) for c in code_cells if "snippet" in c.source)
