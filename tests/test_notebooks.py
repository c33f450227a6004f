"""Execute every notebook in notebooks/ top to bottom, as a user would, and check it runs clean.

Why: notebooks are documentation that rots silently when the API moves. Each one runs in a
fresh kernel of this very interpreter (a kernel spec written to a temporary JUPYTER_PATH, so a
system-wide "python3" kernel can never be picked up instead), in the notebooks/ directory, with
``LAZYNWB_DEMO_FILE`` pointing at a small demo file in a temporary directory (and
``LAZYNWB_OPHYS_FILE`` at a small imaging sample, for ophys.ipynb).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

from lazynwb_explorer import demo_data, demo_ophys

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


@pytest.fixture(scope="module")
def small_ophys_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return demo_ophys.write_ophys_file(tmp_path_factory.mktemp("ophys") / "ophys.nwb", small=True)


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
    path: Path, small_demo_file: Path, small_ophys_file: Path, venv_kernel: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LAZYNWB_DEMO_FILE", str(small_demo_file))
    monkeypatch.setenv("LAZYNWB_OPHYS_FILE", str(small_ophys_file))
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
    if path.name == "ophys.ipynb":
        _check_ophys(code_cells, small_ophys_file)


def _check_ophys(code_cells: list, sample: Path) -> None:
    """ophys.ipynb used the sample it was given, a remote frame cost one request and one
    round, and the Explorer's lazyframe() gave the frame shown (a pixel per row) and then the
    segmentation's masks."""
    from pynwb import NWBHDF5IO

    assert str(sample) in _text(code_cells[0]), "LAZYNWB_OPHYS_FILE was not used"
    costs = [line for line in _text(code_cells[3]).splitlines() if line.startswith("frame ")]
    assert len(costs) == 2 and all(" 1 requests, 1 round," in line for line in costs), costs
    with h5py.File(sample, "r") as f:  # each frame cost the bytes of the chunk that holds it
        data = f["acquisition/TwoPhotonSeries/data"]
        for line in costs:
            k = int(line.split()[1].rstrip(":"))
            chunk = data.id.get_chunk_info_by_coord((k // data.chunks[0] * data.chunks[0], 0, 0)).size
            assert f" {chunk / 1e3:6.1f} kB for" in line, (line, chunk)
    with NWBHDF5IO(str(sample), "r") as io:
        nwb = io.read()
        frame = nwb.acquisition["TwoPhotonSeries"].data[0]
        n_rois = len(nwb.processing["ophys"]["ImageSegmentation"]["PlaneSegmentation"])
    described = _describe_rows(_text(code_cells[-2]))  # columns x, y, value
    assert described["count"][2] == frame.size
    assert described["min"][2] == frame.min() and described["max"][2] == frame.max()
    assert abs(described["mean"][2] - float(np.mean(frame, dtype=np.float64))) < 1e-3
    masks = _text(code_cells[-1])
    assert "shape: (5, 2)" in masks and "len" in masks and n_rois >= 5, masks


def _describe_rows(text: str) -> dict[str, list[float]]:
    """The rows of a polars describe() as printed: statistic -> its numbers."""
    rows = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip("│ ").split("┆")]
        if len(cells) > 1:
            try:
                rows[cells[0]] = [float(c) for c in cells[1:]]
            except ValueError:
                continue
    return rows
