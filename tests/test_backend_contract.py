"""The backend contract (tests/backend_contract.py) run against every storage backend."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from backend_contract import BackendContract, h5py_oracle, zarr3_oracle, zarr_oracle


class TestEngineBackend(BackendContract):
    kind = "engine"
    file_fixture = "rich_hdf5"

    def oracle(self, file: Path) -> dict[str, np.ndarray]:
        return h5py_oracle(file)


class TestEngineBackendContiguous(TestEngineBackend):
    file_fixture = "rich_hdf5_contiguous"


class TestH5pyBackend(BackendContract):
    kind = "h5py"
    file_fixture = "rich_hdf5"

    def oracle(self, file: Path) -> dict[str, np.ndarray]:
        return h5py_oracle(file)


class TestZarrBackend(BackendContract):
    kind = "zarr"
    file_fixture = "rich_zarr"

    def oracle(self, file: Path) -> dict[str, np.ndarray]:
        return zarr_oracle(file)


class TestZarrV3Backend(BackendContract):
    kind = "zarr"
    file_fixture = "rich_zarr_v3"

    def oracle(self, file: Path) -> dict[str, np.ndarray]:
        return zarr3_oracle(file)


class TestZarrV3ShardedBackend(TestZarrV3Backend):
    file_fixture = "rich_zarr_v3_sharded"
