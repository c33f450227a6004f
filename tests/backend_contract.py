"""What every storage backend answers the same way: a contract suite.

Each backend (our HDF5 engine, h5py, Zarr) runs these tests by subclassing
`BackendContract` with its `kind` and the NWB file it reads (pynwb / hdmf-zarr wrote them in
the test session). The oracle is the format's own library reading the same file directly
(h5py for HDF5, zarr-python for Zarr): shapes, dtypes and values of every plain dataset
(numbers and strings), whole, by rows, by spans and by boxes, inside and outside a prefetch.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from lazynwb_explorer.backends.base import Backend
from lazynwb_explorer.backends.open import reopen
from lazynwb_explorer.errors import LazyNWBError
from lazynwb_explorer.sources import to_source

MAX_ELEMENTS = 2_000_000  # datasets compared whole (the corpus's are far smaller)


class BackendContract:
    """Subclasses set `kind` and `file_fixture`, and implement `oracle(path)`."""

    kind: str
    file_fixture: str

    def oracle(self, file: Path) -> dict[str, np.ndarray]:
        """{internal path: values} of the file's plain numeric and string datasets, read by
        the format's own library (strings as str)."""
        raise NotImplementedError

    @pytest.fixture
    def file(self, request: pytest.FixtureRequest) -> Path:
        return request.getfixturevalue(self.file_fixture)

    @pytest.fixture
    def backend(self, file: Path) -> Any:
        backend = reopen(to_source(str(file)), self.kind)
        backend.nodes = backend.walk()
        yield backend
        backend.close()

    @pytest.fixture
    def truth(self, file: Path) -> dict[str, np.ndarray]:
        found = self.oracle(file)
        assert len(found) >= 10, "the corpus file should hold many plain datasets"
        return found

    def test_kind_is_declared(self, backend: Backend) -> None:
        assert backend.kind == self.kind

    def test_walk_is_a_tree_of_every_object(self, backend: Backend, truth: dict) -> None:
        nodes = backend.nodes  # type: ignore[attr-defined]
        assert nodes["/"].is_group
        for path, node in nodes.items():
            if node.is_group:
                for name in node.children:
                    child = f"{path.rstrip('/')}/{name}"
                    assert child in nodes, child
            else:
                assert node.dataset is not None, path
        for path, values in truth.items():
            meta = nodes[path].dataset
            assert meta.shape == values.shape, path
            if values.dtype.kind != "O":
                assert meta.dtype == values.dtype, path

    def test_whole_reads_equal_the_oracle(self, backend: Backend, truth: dict) -> None:
        for path, values in truth.items():
            assert _same(backend.read(path), values), path

    def test_row_selections_equal_the_oracle(self, backend: Backend, truth: dict) -> None:
        for path, values in truth.items():
            n = len(values) if values.ndim else 0
            if n < 3:
                continue
            assert _same(backend.read(path, slice(1, n - 1)), values[1 : n - 1]), path
            rows = np.array(sorted({0, n // 2, n - 1}), dtype=np.int64)
            assert _same(backend.read(path, rows), values[rows]), path
            spans = [(0, 1), (n // 2, n - 1)]
            expected = np.concatenate([values[a:b] for a, b in spans])
            assert _same(backend.read_spans(path, spans), expected), path

    def test_boxes_equal_the_oracle(self, backend: Backend, truth: dict) -> None:
        boxes = 0
        for path, values in truth.items():
            if values.ndim == 2 and min(values.shape) > 2:
                box = (slice(1, values.shape[0] - 1), slice(1, values.shape[1] - 1))
                assert _same(backend.read_box(path, box), values[box]), path
                boxes += 1
        assert boxes, "the corpus file should hold 2-D datasets"

    def test_prefetched_reads_equal_plain_reads(self, backend: Backend, truth: dict) -> None:
        requests = [(p, [(0, len(v))]) for p, v in truth.items() if v.ndim and len(v)]
        with backend.prefetched(requests):
            for path, values in truth.items():
                if values.ndim and len(values):
                    assert _same(backend.read_spans(path, [(0, len(values))]), values), path

    def test_a_missing_path_is_named(self, backend: Backend, file: Path) -> None:
        with pytest.raises(LazyNWBError) as info:
            backend.read("/no/such/dataset")
        assert "/no/such/dataset" in str(info.value) and file.name in str(info.value)


def _same(ours: Any, theirs: np.ndarray) -> bool:
    ours = np.asarray(ours)
    if ours.shape != theirs.shape:
        return False
    if theirs.dtype.kind == "O" or ours.dtype.kind == "O":
        return ours.reshape(-1).tolist() == theirs.reshape(-1).tolist()
    return ours.dtype == theirs.dtype and np.array_equal(ours, theirs, equal_nan=ours.dtype.kind == "f")


def h5py_oracle(file: Path) -> dict[str, np.ndarray]:
    import h5py

    found: dict[str, np.ndarray] = {}

    def visit(name: str, obj: Any) -> None:
        if not isinstance(obj, h5py.Dataset) or obj.size > MAX_ELEMENTS or obj.shape == ():
            return
        if obj.dtype.kind in "iufb" and not obj.dtype.names:
            found["/" + name] = obj[()]
        elif h5py.check_string_dtype(obj.dtype) is not None and obj.ndim == 1:
            found["/" + name] = np.array(obj.asstr()[()], dtype=object)

    with h5py.File(file, "r") as f:
        f.visititems(visit)  # hard links only: soft links are walked by their targets
    return found


def zarr_oracle(file: Path) -> dict[str, np.ndarray]:
    """Plain arrays of a Zarr store by zarr-python; object arrays (strings, references,
    pickled values: zarr-python needs hdmf-zarr's codecs for them) are left to the backend's
    own tests, so they are recognised from .zarray and not opened here."""
    import json

    import zarr

    from nwb_factory import pickle_decode_allowed

    found: dict[str, np.ndarray] = {}
    for meta in sorted(file.rglob(".zarray")):
        declared = json.loads(meta.read_text())
        if declared["dtype"] == "|O" or not declared["shape"]:
            continue
        rel = meta.parent.relative_to(file).as_posix()
        with pickle_decode_allowed():  # the oracle reads our own test file: a trusted source
            array = zarr.open_array(str(meta.parent), mode="r")
            if array.size <= MAX_ELEMENTS and array.dtype.kind in "iufb" and not array.dtype.names:
                found["/" + rel] = array[...]
    return found


def zarr3_oracle(file: Path) -> dict[str, np.ndarray]:
    """Plain arrays of a Zarr v3 store as zarr-python 3 read them in the zarr3 venv when the
    store was written (zarr3_writer.dump_arrays); strings as str."""
    with np.load(file.with_name(file.name + ".arrays.npz")) as saved:
        return {k.replace("|", "/"): (saved[k].astype(object) if saved[k].dtype.kind == "U" else saved[k])
                for k in saved.files}
