"""Many threads calling the API at once give the same results as one thread."""

from __future__ import annotations

import concurrent.futures

import polars as pl

import lazynwb_explorer as lazynwb


def test_threads_on_same_and_different_files(rich_hdf5, rich_zarr, locate) -> None:
    sources = [str(rich_hdf5), str(rich_zarr), locate(rich_hdf5, "http"), locate(rich_zarr, "http")]

    def work(source: str) -> pl.DataFrame:
        return (
            lazynwb.scan_nwb(source, "/units", disable_progress=True)
            .filter(pl.col("presence_ratio") >= 0.5)
            .select("unit_id", "spike_times", "waveform_mean", "location")
            .collect()
        )

    expected = {s: work(s) for s in sources}
    lazynwb.clear_cache()
    jobs = sources * 6
    with concurrent.futures.ThreadPoolExecutor(max_workers=12) as pool:
        results = list(pool.map(work, jobs))
    for source, result in zip(jobs, results):
        assert result.equals(expected[source]), source
