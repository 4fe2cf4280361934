"""``steward predict-batch`` as users run it: locally, killed mid-way and resumed on a Dask
LocalCluster, with the output checked against the model in process."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from tests.support.cli import cli_env, command, steward
from tests.support.serving import FEATURES, register_adult

from steward.core.config import Settings
from steward.runtime import Runtime

ROWS = 120_000


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Any, pd.DataFrame]:
    home = tmp_path_factory.mktemp("home")
    rt = Runtime.from_settings(Settings(home=home, sqlite_synchronous="NORMAL"))
    model, df = register_adult(rt)
    rt.close()
    big = pd.concat([df] * (ROWS // len(df)), ignore_index=True)
    src = home / "adult.parquet"
    pq.write_table(pa.Table.from_pandas(big[[*FEATURES, "label"]], preserve_index=False), src, row_group_size=30_000)
    return home, src, model, big


PREDICT = ("predict-batch", "--model", "adult@production")


def scores(folder: Path) -> pd.DataFrame:
    return pq.read_table(folder).to_pandas().sort_values("row_id").reset_index(drop=True)


def test_local_scoring_keeps_columns_and_matches_the_model(setup: Any) -> None:
    home, src, model, big = setup
    out = home / "scores.parquet"
    run = steward(home, *PREDICT, "--input", str(src), "--output", str(out), "--keep", "label", "--json")
    assert run.returncode == 0, run.stderr
    doc = json.loads(run.stdout)
    assert doc["rows"] == doc["scored_rows"] == ROWS and doc["backend"] == "local" and doc["model"]["version"] == "1"
    got = scores(out)
    assert got["row_id"].tolist() == list(range(ROWS)) and got["label"].tolist() == big["label"].tolist()
    head = big[FEATURES].head(5000)
    np.testing.assert_allclose(got["proba_1"].head(5000), model.predict_proba(head)[:, 1], rtol=1e-12)


def test_interrupted_job_resumes_on_dask_without_rescoring(setup: Any) -> None:
    from distributed import LocalCluster

    home, src, model, big = setup
    out = home / "resumed"
    args = ["--input", str(src), "--output", str(out), "--unit-rows", "5000", "--batch-rows", "2500"]
    proc = subprocess.Popen(command(*PREDICT, *args), env=cli_env(home), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while len(list(out.glob("part-*.parquet"))) < 3:
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    written = len(list(out.glob("part-*.parquet")))
    assert 3 <= written < 24 and not (out / "_SUCCESS").exists()
    with LocalCluster(
        n_workers=2,
        processes=False,
        threads_per_worker=1,
        protocol="tcp://",
        host="127.0.0.1",
        dashboard_address=None,
    ) as cluster:
        run = steward(home, *PREDICT, *args, "--dask", cluster.scheduler_address, "--json")
    assert run.returncode == 0, run.stderr
    doc = json.loads(run.stdout)
    assert doc["backend"] == "dask" and doc["units"] == 24
    assert doc["skipped_units"] >= written and doc["scored_rows"] == ROWS - 5_000 * doc["skipped_units"]
    assert "Resuming" in run.stderr
    got = scores(out)
    assert got["row_id"].tolist() == list(range(ROWS))
    expected = model.predict_proba(big[FEATURES].iloc[::997])[:, 1]
    np.testing.assert_allclose(got["proba_1"].iloc[::997], expected, rtol=1e-12)
