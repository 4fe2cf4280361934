"""Drift over partitioned Parquet on a Dask LocalCluster agrees with the in-process answer."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from steward.monitoring.dataset_drift import DatasetDrift
from steward.monitoring.distributed import drift_on_dask

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::ResourceWarning")


def _frame(n: int, seed: int, shift: bool) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "age": rng.normal(40 + (6 if shift else 0), 12, n),
            "income": rng.lognormal(10, 0.5 * (1.4 if shift else 1.0), n),
            "hours": rng.normal(40, 8, n),
            "region": rng.choice(["n", "s", "e", "w"], n, p=[0.1, 0.2, 0.3, 0.4] if shift else [0.4, 0.3, 0.2, 0.1]),
            "plan": rng.choice(["basic", "pro"], n),
        }
    )


def _write_parts(frame: pd.DataFrame, folder: Path, parts: int) -> str:
    folder.mkdir()
    for i, chunk in enumerate(np.array_split(np.arange(len(frame)), parts)):
        frame.iloc[chunk].to_parquet(folder / f"part-{i}.parquet", index=False)
    return str(folder)


@pytest.fixture(scope="module")
def client() -> Iterator[object]:
    from distributed import Client, LocalCluster

    with (
        LocalCluster(n_workers=2, processes=False, threads_per_worker=1, dashboard_address=":0") as cluster,
        Client(cluster) as c,
    ):
        yield c


def test_dask_drift_finds_the_shifted_columns_and_agrees_with_in_process(tmp_path: Path, client: object) -> None:
    ref, cur = _frame(40_000, 1, False), _frame(40_000, 2, True)
    report = drift_on_dask(_write_parts(ref, tmp_path / "ref", 7), _write_parts(cur, tmp_path / "cur", 5), client)
    local = DatasetDrift(random_state=0).fit(ref).score(cur)
    verdicts = {c.column: c.drifted for c in report.columns}
    assert verdicts == {"age": True, "income": True, "hours": False, "region": True, "plan": False}
    assert verdicts == {c.column: c.drifted for c in local.columns}
    for ours, exact in zip(report.columns, local.columns, strict=True):
        assert ours.statistic == pytest.approx(exact.statistic, abs=0.02)


def test_undrifted_partitions_raise_no_alarm(tmp_path: Path, client: object) -> None:
    ref, cur = _frame(30_000, 3, False), _frame(30_000, 4, False)
    report = drift_on_dask(_write_parts(ref, tmp_path / "ref", 4), _write_parts(cur, tmp_path / "cur", 6), client)
    assert not report.drifted and report.n_drifted == 0


def test_the_cli_runs_drift_on_a_dask_scheduler(tmp_path: Path) -> None:
    """``steward drift --dask ADDRESS`` against a real scheduler over TCP on loopback."""
    import json
    import os
    import subprocess
    import sys

    from distributed import LocalCluster

    ref = _write_parts(_frame(20_000, 5, False), tmp_path / "ref", 3)
    cur = _write_parts(_frame(20_000, 6, True), tmp_path / "cur", 3)
    with LocalCluster(
        n_workers=1, processes=False, protocol="tcp", host="127.0.0.1", dashboard_address=":0"
    ) as cluster:
        out = subprocess.run(
            [sys.executable, "-m", "steward.cli", "drift", "-r", ref, "-c", cur, "--dask", cluster.scheduler_address],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            env={**os.environ, "STEWARD_HOME": str(tmp_path / "home")},
        )
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["drift_detected"] and {c["column"] for c in doc["columns"] if c["drifted"]} == {
        "age",
        "income",
        "region",
    }
