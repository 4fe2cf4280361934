from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from steward.core.errors import InvalidArgument
from steward.pipelines.leakage import check_leakage, feature_score
from steward.pipelines.spec import LeakageSpec, SplitSpec
from steward.pipelines.splits import Fold, make_folds


def frame(n: int = 400, seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "x": rng.normal(size=n),
            "c": rng.choice(np.array(["a", "b", "c"], dtype=object), n),
            "group": rng.integers(0, 40, n),
            "day": rng.integers(0, 100, n),
        }
    )
    y = pd.Series(np.where(df["x"] + rng.normal(scale=1.0, size=n) > 0, "yes", "no"))
    return df, y


def test_every_strategy_covers_rows_without_overlap() -> None:
    df, y = frame()
    for spec in [
        SplitSpec(strategy="random"),
        SplitSpec(strategy="stratified"),
        SplitSpec(strategy="group", group_column="group"),
        SplitSpec(strategy="temporal", time_column="day"),
    ]:
        (fold,) = make_folds(df, y, spec, task="classification", seed=1)
        assert not set(fold.train) & set(fold.test)
        assert len(fold.train) + len(fold.test) == len(df)


def test_kfold_tests_every_row_once() -> None:
    df, y = frame()
    folds = make_folds(df, y, SplitSpec(strategy="kfold", folds=4), task="classification", seed=1)
    tested = np.concatenate([f.test for f in folds])
    assert len(folds) == 4 and sorted(tested.tolist()) == list(range(len(df)))


def test_splits_are_seeded() -> None:
    df, y = frame()
    a = make_folds(df, y, SplitSpec(strategy="random"), task="classification", seed=5)[0]
    b = make_folds(df, y, SplitSpec(strategy="random"), task="classification", seed=5)[0]
    c = make_folds(df, y, SplitSpec(strategy="random"), task="classification", seed=6)[0]
    assert np.array_equal(a.test, b.test) and not np.array_equal(a.test, c.test)


def test_stratified_keeps_class_shares() -> None:
    df, y = frame()
    (fold,) = make_folds(df, y, SplitSpec(strategy="stratified", test_size=0.25), task="classification", seed=0)
    assert abs((y.iloc[fold.test] == "yes").mean() - (y == "yes").mean()) < 0.01


def test_group_and_temporal_splits_pass_their_guards() -> None:
    df, y = frame()
    for spec in [SplitSpec(strategy="group", group_column="group"), SplitSpec(strategy="temporal", time_column="day")]:
        folds = make_folds(df, y, spec, task="classification", seed=0)
        report = check_leakage(df, y, folds, features=["x", "c"], task="classification", split=spec, spec=LeakageSpec())
        failed = {c["check"] for c in report.checks if not c["passed"]}
        assert failed <= {"identical_rows"}


def test_group_overlap_and_temporal_order_are_found_in_a_random_split() -> None:
    df, y = frame()
    spec = SplitSpec(strategy="random", group_column="group", time_column="day")
    folds = make_folds(df, y, spec, task="classification", seed=0)
    report = check_leakage(df, y, folds, features=["x", "c"], task="classification", split=spec, spec=LeakageSpec())
    found = {f.check: f for f in report.findings}
    assert found["group_overlap"].blocking
    assert found["temporal_order"].details["count"] > 0


def test_identical_rows_across_train_and_test_are_counted() -> None:
    df = pd.DataFrame({"x": [1.0, 2.0, 3.0, 1.0], "c": ["a", "b", "c", "a"]})
    y = pd.Series(["y", "n", "y", "y"])
    fold = Fold("holdout", np.array([0, 1, 2]), np.array([3]))
    report = check_leakage(
        df,
        y,
        [fold],
        features=["x", "c"],
        task="classification",
        split=SplitSpec(strategy="random"),
        spec=LeakageSpec(),
    )
    (finding,) = [f for f in report.findings if f.check == "identical_rows"]
    assert finding.details["count"] == 1 and not finding.blocking


def test_single_feature_target_leakage_is_found_and_blocks() -> None:
    df, y = frame()
    df["leak"] = np.where(y == "yes", "Y", "N")
    df["leak_num"] = (y == "yes").astype(float) * 10 + np.random.default_rng(1).normal(scale=0.1, size=len(y))
    spec = SplitSpec(strategy="stratified")
    folds = make_folds(df, y, spec, task="classification", seed=0)
    report = check_leakage(
        df, y, folds, features=["x", "c", "leak", "leak_num"], task="classification", split=spec, spec=LeakageSpec()
    )
    (finding,) = [f for f in report.findings if f.check == "target_leakage"]
    assert sorted(finding.details["leaky"]) == ["leak", "leak_num"]
    assert finding.blocking
    assert finding.details["scores"]["x"] < 0.99


def test_feature_score_regression_r2_and_multiclass_auc() -> None:
    rng = np.random.default_rng(0)
    x = pd.Series(rng.normal(size=600))
    y = x * 3.0
    assert feature_score(x[:400], y[:400], x[400:], y[400:], task="regression") > 0.99
    labels = pd.Series(np.select([x < -0.5, x < 0.5], ["lo", "mid"], "hi"))
    assert feature_score(x[:400], labels[:400], x[400:], labels[400:], task="classification") > 0.99


def test_bad_split_columns_are_clear_errors() -> None:
    df, y = frame()
    with pytest.raises(InvalidArgument, match="split column 'nope'"):
        make_folds(df, y, SplitSpec(strategy="group", group_column="nope"), task="classification", seed=0)
    df.loc[0, "day"] = np.nan
    with pytest.raises(InvalidArgument, match="missing value"):
        make_folds(df, y, SplitSpec(strategy="temporal", time_column="day"), task="classification", seed=0)
    with pytest.raises(InvalidArgument, match="at least 2 rows per class"):
        make_folds(df, y.where(y.index > 0, "rare"), SplitSpec(), task="classification", seed=0)
