"""What the shared JupyterLab of the browser tests serves (conftest's `jupyter_lab` fixture):
one server for every end-to-end module, so the suite starts JupyterLab once.

- the ephys sample (`sample.nwb`, demo_data's MEDIUM) with notebooks/explorer.ipynb (what
  `make demo` opens, the benchmarks package beside it), `ephys.ipynb`, `ephys_nb7.ipynb`
  (Notebook 7's), `bad.ipynb`, and `units.ipynb` / `pinned.ipynb` (the neuroscience views);
- the ophys sample (`ophys.nwb`, demo_ophys's LAB) with `ophys.ipynb` (the Explorer on the
  local file) and `ophys_http.ipynb` (the same file over the tests' HTTP server, whose
  request counts the tests read).
Files are opened by their name beside the notebook (the kernel's directory), so screenshots
show the same label on every run.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import nbformat
from jupyter_server import KERNEL, write_notebook

from lazynwb_explorer import demo_data, demo_ophys

REPO = Path(__file__).resolve().parents[1]
# 32 channels x 10 s at 30 kHz (19 MB): every sample fits the local budget, so the overview
# is the envelope of all of them
MEDIUM = demo_data.DemoSpec("medium", n_units=120, n_trials=120, session_seconds=600.0,
                            ephys_seconds=10.0, ephys_channels=32)
EPHYS = "/acquisition/ElectricalSeries"
# 128x128 frames (enough to look at), 300 of them in gzip chunks of 4, 24 ROIs
LAB = demo_ophys.OphysSpec("lab", frames=300, size=(128, 128), n_rois=24, chunk_frames=4,
                           volume_frames=40, volume_size=(48, 48), planes=3, small_frames=40,
                           small_size=(48, 64))
OPHYS = "/acquisition/TwoPhotonSeries"


def prepare(root: Path, served: Path, http_server: Any) -> dict[str, str]:
    """Write the lab's files into `root`; returns the kernels' environment."""
    sample = demo_data.write_session(root / "sample.nwb", MEDIUM)
    nb = nbformat.read(REPO / "notebooks" / "explorer.ipynb", as_version=4)
    nb.metadata["kernelspec"] = {"name": KERNEL, "display_name": KERNEL, "language": "python"}
    (root / "notebooks").mkdir()
    nbformat.write(nb, root / "notebooks" / "explorer.ipynb")
    shutil.copytree(REPO / "benchmarks", root / "benchmarks",
                    ignore=shutil.ignore_patterns("data", "__pycache__", "*.md"))
    setup = "from lazynwb_explorer import Explorer\npath = 'sample.nwb'"
    write_notebook(root / "ephys.ipynb", [setup, f"ex = Explorer(path, selected_path={EPHYS!r})\nex"])
    # Notebook 7 gets a notebook of its own, hence a kernel of its own
    write_notebook(root / "ephys_nb7.ipynb", [setup, f"ex = Explorer(path, selected_path={EPHYS!r})\nex"])
    write_notebook(root / "bad.ipynb", [setup, "Explorer(path, selected_path='/units/nowhere')"])
    write_notebook(root / "units.ipynb",
                   [setup, "ex = Explorer(path, selected_path='/units', height=660, schema_height=60)\nex"])
    # a plot with a raster pinned below it: room for both
    write_notebook(root / "pinned.ipynb",
                   [setup, "ex = Explorer(path, selected_path='/units', height=900, schema_height=60)\nex"])

    ophys = demo_ophys.write_session(root / "ophys.nwb", LAB)
    shutil.copyfile(ophys, served / "lab_ophys.nwb")
    url = http_server.url("lab_ophys.nwb")
    opening = "from lazynwb_explorer import Explorer\nex = Explorer({!r}, selected_path={!r})\nex"
    write_notebook(root / "ophys.ipynb", [opening.format("ophys.nwb", OPHYS)])
    write_notebook(root / "ophys_http.ipynb", [opening.format(url, OPHYS)])
    return {"LAZYNWB_DEMO_FILE": str(sample)}
