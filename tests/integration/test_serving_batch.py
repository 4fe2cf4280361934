"""Batch scoring of Parquet data: chunked, resumable, locally and on a Dask LocalCluster."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from tests.support.serving import FEATURES, numeric_model, train_adult

from steward.core.errors import Conflict, InvalidArgument
from steward.serving import batch
from steward.serving.loader import LoadedModel


@pytest.fixture(scope="module")
def adult() -> tuple[LoadedModel, pd.DataFrame]:
    model, sig, df = train_adult()
    return LoadedModel(model, sig), df


def write_input(df: pd.DataFrame, path: Path, row_group_size: int) -> Path:
    table = pa.Table.from_pandas(df[[*FEATURES, "label"]], preserve_index=False)
    pq.write_table(table, path, row_group_size=row_group_size)
    return path


def read_output(folder: str) -> pd.DataFrame:
    return pq.read_table(folder).to_pandas().sort_values("row_id").reset_index(drop=True)


def test_local_scoring_matches_the_model_and_is_chunked(adult: Any, tmp_path: Path) -> None:
    loaded, df = adult
    src = write_input(df, tmp_path / "in.parquet", row_group_size=1000)
    job = batch.BatchJob(str(src), str(tmp_path / "out"), "adult", "1", batch_rows=256, unit_rows=512, keep=("label",))
    units, todo = batch.prepare(job, loaded)
    assert len(units) == 6 and todo == units  # 3 row groups of 1000 rows, 512-row units
    seen: list[int] = []
    batch.run_local(job, loaded, todo, seen.append)
    assert max(seen) == 256 and sum(seen) == 3000
    result = batch.finish(job, units, todo, 1.0)
    assert result.rows == result.scored_rows == 3000 and result.skipped_units == 0
    out = read_output(result.output)
    assert out["row_id"].tolist() == list(range(3000))
    assert out["label"].tolist() == df["label"].tolist()
    expected = loaded.estimator.predict_proba(df[FEATURES])
    np.testing.assert_allclose(out["proba_1"], expected[:, 1], rtol=1e-12)
    assert out["prediction"].tolist() == loaded.estimator.predict(df[FEATURES]).tolist()
    assert (Path(result.output) / batch.SUCCESS).exists()


def test_rerun_skips_written_parts_and_rescores_only_the_rest(adult: Any, tmp_path: Path) -> None:
    loaded, df = adult
    src = write_input(df, tmp_path / "in.parquet", row_group_size=1500)
    job = batch.BatchJob(str(src), str(tmp_path / "out"), "adult", "1", batch_rows=500, unit_rows=500)
    units, todo = batch.prepare(job, loaded)
    batch.run_local(job, loaded, todo[:2])  # "interrupted" after two parts
    (tmp_path / "out" / ".part-00002.parquet.tmp").write_bytes(b"half a file")
    units, todo = batch.prepare(job, loaded)
    assert [u.index for u in todo] == [2, 3, 4, 5]
    assert not list((tmp_path / "out").glob(".*.tmp"))
    batch.run_local(job, loaded, todo)
    result = batch.finish(job, units, todo, 1.0)
    assert result.skipped_units == 2 and result.scored_rows == 2000
    out = read_output(result.output)
    np.testing.assert_allclose(out["proba_1"], loaded.estimator.predict_proba(df[FEATURES])[:, 1], rtol=1e-12)


def test_changed_input_refuses_to_mix_results(adult: Any, tmp_path: Path) -> None:
    loaded, df = adult
    src = write_input(df, tmp_path / "in.parquet", row_group_size=1500)
    job = batch.BatchJob(str(src), str(tmp_path / "out"), "adult", "1", batch_rows=500, unit_rows=500)
    batch.prepare(job, loaded)
    write_input(df.head(100), src, row_group_size=50)
    with pytest.raises(Conflict, match="another input"):
        batch.prepare(job, loaded)
    units, todo = batch.prepare(job, loaded, overwrite=True)
    assert len(units) == len(todo) == 2


def test_input_not_matching_the_signature_names_the_column(adult: Any, tmp_path: Path) -> None:
    loaded, df = adult
    src = tmp_path / "in.parquet"
    pq.write_table(pa.Table.from_pandas(df[FEATURES].drop(columns=["age"]), preserve_index=False), src)
    with pytest.raises(InvalidArgument, match="age") as info:
        batch.prepare(batch.BatchJob(str(src), str(tmp_path / "o"), "adult", "1"), loaded)
    assert info.value.field == "age"
    bad = df[FEATURES].assign(sex=1)
    pq.write_table(pa.Table.from_pandas(bad, preserve_index=False), src)
    with pytest.raises(InvalidArgument, match="Column 'sex'"):
        batch.prepare(batch.BatchJob(str(src), str(tmp_path / "o2"), "adult", "1"), loaded)


def test_dask_local_cluster_scores_the_same(tmp_path: Path) -> None:
    from distributed import Client, LocalCluster

    model, sig, x = numeric_model(n_features=20, n_estimators=20)
    loaded = LoadedModel(model, sig)
    src = tmp_path / "in.parquet"
    pq.write_table(pa.table({f"f{i}": x[:, i] for i in range(20)}), src, row_group_size=700)
    job = batch.BatchJob(str(src), str(tmp_path / "out"), "gbc", "1", batch_rows=100, unit_rows=300)
    units, todo = batch.prepare(job, loaded)
    with (
        LocalCluster(n_workers=2, processes=False, threads_per_worker=1, dashboard_address=":0") as cluster,
        Client(cluster) as client,
    ):
        seen: list[int] = []
        batch.run_dask(job, loaded, todo, client, seen.append)
    assert sum(seen) == 2000
    result = batch.finish(job, units, todo, 1.0)
    out = read_output(result.output)
    np.testing.assert_allclose(out["proba_1"], model.predict_proba(x)[:, 1], rtol=1e-12)
