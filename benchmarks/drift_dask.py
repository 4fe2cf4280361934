"""Dataset drift on Parquet data larger than the Dask cluster's memory.

The peer workload's data (``../shared/peerbench/datagen.py``: 20 numeric + 5 categorical
columns, drift in 10) generated in 250,000-row chunks straight to Parquet files, ROWS per side;
a LocalCluster of 2 worker processes with a memory limit each well below one side's size in
memory; ``steward.monitoring.distributed.drift_on_dask`` sketches every partition on the
workers and merges the sketches. Prints the data's size in memory against the cluster's limit,
the time, and the verdicts.

    python benchmarks/drift_dask.py [--rows 5000000] [--worker-memory 1.5GB]
"""

from __future__ import annotations

import argparse
import importlib.util
import tempfile
import time
from pathlib import Path

import pandas as pd

DATAGEN = Path(__file__).resolve().parents[2] / "shared" / "peerbench" / "datagen.py"
CHUNK = 250_000


def _datagen():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("datagen", DATAGEN)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_side(folder: Path, rows: int, drift: bool, seed: int) -> int:
    """Write ``rows`` rows in chunks; return their size in memory as pandas holds them."""
    gen = _datagen()
    folder.mkdir(parents=True)
    in_memory = 0
    for i, start in enumerate(range(0, rows, CHUNK)):
        frame: pd.DataFrame = gen.make(min(CHUNK, rows - start), seed=seed * 1000 + i, drift=drift)
        in_memory += int(frame.memory_usage(deep=True).sum())
        frame.to_parquet(folder / f"part-{i:04d}.parquet", index=False)
    return in_memory


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rows", type=int, default=5_000_000)
    ap.add_argument("--worker-memory", default="1.5GB")
    args = ap.parse_args()
    from dask.utils import parse_bytes
    from distributed import Client, LocalCluster

    from steward.monitoring.distributed import drift_on_dask

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        ref_bytes = write_side(Path(tmp) / "ref", args.rows, drift=False, seed=1)
        cur_bytes = write_side(Path(tmp) / "cur", args.rows, drift=True, seed=2)
        print(f"generated 2 x {args.rows:,} rows in {time.perf_counter() - t0:.1f} s")
        with (
            LocalCluster(
                n_workers=2, threads_per_worker=1, memory_limit=args.worker_memory, dashboard_address=":0"
            ) as cluster,
            Client(cluster) as client,
        ):
            t0 = time.perf_counter()
            report = drift_on_dask(str(Path(tmp) / "ref"), str(Path(tmp) / "cur"), client)
            elapsed = time.perf_counter() - t0
    limit = 2 * parse_bytes(args.worker_memory)
    print(
        f"data in memory: reference {ref_bytes / 2**30:.2f} GiB + current {cur_bytes / 2**30:.2f} GiB; "
        f"cluster memory limit {limit / 2**30:.2f} GiB (2 workers x {args.worker_memory})"
    )
    print(
        f"drift on Dask: {elapsed:.1f} s, {2 * args.rows / elapsed:,.0f} rows/s; "
        f"dataset drift {report.drifted}, {report.n_drifted} of {len(report.columns)} columns drifted: "
        f"{sorted(c.column for c in report.columns if c.drifted)}"
    )


if __name__ == "__main__":
    main()
