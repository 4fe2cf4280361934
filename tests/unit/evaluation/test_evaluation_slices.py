"""Slice metrics equal scikit-learn on each slice's rows; the worst-slice search ranks by gap."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm

from steward.core.errors import InvalidArgument
from steward.evaluation import find_worst_slices, slice_metrics

from ._datasets import acs_sample, adult_scored, diamonds_sample

TOL = 1e-9


def test_categorical_slices_equal_sklearn_on_each_slice() -> None:
    frame = adult_scored()
    y, proba = frame["label"].to_numpy(), frame["proba"].to_numpy()
    rows = slice_metrics(
        y,
        proba,
        frame=frame,
        columns=["sex", "race"],
        metrics=["accuracy", "f1", "roc_auc", "log_loss", "brier", "balanced_accuracy", "selection_rate"],
    )
    assert {r.columns[0] for r in rows} == {"sex", "race"}
    pred = (proba >= 0.5).astype(int)
    for r in rows:
        mask = (frame[r.columns[0]] == r.values[0]).to_numpy()
        assert r.support == mask.sum()
        yb, pb, qb = y[mask], proba[mask], pred[mask]
        assert r.metrics["accuracy"] == pytest.approx(skm.accuracy_score(yb, qb), abs=TOL)
        assert r.metrics["f1"] == pytest.approx(skm.f1_score(yb, qb, zero_division=0), abs=TOL)
        assert r.metrics["selection_rate"] == pytest.approx(qb.mean(), abs=TOL)
        assert r.metrics["brier"] == pytest.approx(skm.brier_score_loss(yb, pb, pos_label=1), abs=TOL)
        if len(np.unique(yb)) == 2:
            assert r.metrics["roc_auc"] == pytest.approx(skm.roc_auc_score(yb, pb), abs=TOL)
            assert r.metrics["log_loss"] == pytest.approx(skm.log_loss(yb, y_proba=pb), abs=TOL)
            assert r.metrics["balanced_accuracy"] == pytest.approx(skm.balanced_accuracy_score(yb, qb), abs=TOL)
        else:
            assert np.isnan(r.metrics["roc_auc"])


def test_numeric_columns_are_cut_at_quantiles_and_missing_values_get_a_slice() -> None:
    frame = acs_sample().copy()
    frame.loc[::50, "AGEP"] = np.nan
    y, pred = frame["employed"].to_numpy(), frame["prediction"].to_numpy()
    rows = slice_metrics(y, pred, frame=frame, columns="AGEP", n_bins=4, metrics=["accuracy"])
    labels = [r.values[0] for r in rows]
    assert labels[-1] == "<missing>" and len(labels) == 5
    assert labels[0].startswith("[") and labels[-2].endswith("]")
    assert sum(r.support for r in rows) == len(frame)
    missing = rows[-1]
    mask = frame["AGEP"].isna().to_numpy()
    assert missing.metrics["accuracy"] == pytest.approx(skm.accuracy_score(y[mask], pred[mask]), abs=TOL)


def test_regression_and_multiclass_slices_equal_sklearn() -> None:
    frame = diamonds_sample()
    y, pred = frame["price"].to_numpy(float), frame["price_pred"].to_numpy()
    rows = slice_metrics(y, pred, frame=frame, columns=["color"], task="regression", metrics=["mae", "rmse", "r2"])
    for r in rows:
        mask = (frame["color"] == r.values[0]).to_numpy()
        assert r.metrics["mae"] == pytest.approx(skm.mean_absolute_error(y[mask], pred[mask]), rel=1e-12)
        assert r.metrics["rmse"] == pytest.approx(skm.root_mean_squared_error(y[mask], pred[mask]), rel=1e-12)
        assert r.metrics["r2"] == pytest.approx(skm.r2_score(y[mask], pred[mask]), abs=TOL)
    cut = frame["cut"].to_numpy()
    guess = np.where(frame["carat"] > 1, "Premium", "Ideal")
    for r in slice_metrics(cut, guess, frame=frame, columns=["color"], metrics=["macro_f1", "balanced_accuracy"]):
        mask = (frame["color"] == r.values[0]).to_numpy()
        assert r.metrics["macro_f1"] == pytest.approx(
            skm.f1_score(cut[mask], guess[mask], average="macro", zero_division=0), abs=TOL
        )


def test_worst_slices_rank_by_gap_respect_min_support_and_include_pairs() -> None:
    frame = adult_scored()
    y, pred = frame["label"].to_numpy(), frame["predicted"].to_numpy()
    overall = skm.accuracy_score(y, pred)
    columns = ["sex", "race", "relationship"]
    worst = find_worst_slices(y, pred, frame=frame[columns], min_support=40, top_k=50)
    gaps = [w.gap for w in worst]
    assert gaps == sorted(gaps, reverse=True)
    assert all(w.support >= 40 for w in worst)
    assert any(len(w.columns) == 2 for w in worst)
    for w in worst:
        mask = np.logical_and.reduce([(frame[c] == v).to_numpy() for c, v in zip(w.columns, w.values, strict=True)])
        assert w.support == mask.sum()
        assert w.value == pytest.approx(skm.accuracy_score(y[mask], pred[mask]), abs=TOL)
        assert w.overall == pytest.approx(overall, abs=TOL)
        assert w.gap == pytest.approx(overall - w.value, abs=TOL)
    # No eligible slice is worse than the last one reported and left out of the list.
    everything = find_worst_slices(y, pred, frame=frame[columns], min_support=40, top_k=10_000)
    assert everything[: len(worst)] == worst


def test_lower_is_better_metrics_rank_the_highest_loss_first() -> None:
    frame = diamonds_sample()
    y, pred = frame["price"].to_numpy(float), frame["price_pred"].to_numpy()
    worst = find_worst_slices(y, pred, frame=frame[["cut", "color"]], task="regression", metric="mae", pairs=False)
    assert worst[0].value > worst[0].overall
    assert worst[0].gap == pytest.approx(worst[0].value - worst[0].overall)


def test_slices_accept_a_mapping_of_aligned_arrays() -> None:
    rows = slice_metrics([0, 1, 1, 0], [0, 1, 0, 0], columns={"group": ["a", "a", "b", "b"]}, metrics=["accuracy"])
    assert [(r.name, r.metrics["accuracy"]) for r in rows] == [("group=a", 1.0), ("group=b", 0.5)]


def test_all_missing_column_raises() -> None:
    frame = pd.DataFrame({"empty": [np.nan] * 4})
    with pytest.raises(InvalidArgument, match="only missing values") as info:
        slice_metrics([0, 1, 1, 0], [0, 1, 0, 0], frame=frame, columns=["empty"])
    assert info.value.field == "columns"


def test_unknown_column_metric_and_misaligned_frame_raise() -> None:
    frame = pd.DataFrame({"g": ["a", "b", "a", "b"]})
    with pytest.raises(InvalidArgument, match="missing from 'frame'"):
        slice_metrics([0, 1, 1, 0], [0, 1, 0, 0], frame=frame, columns=["nope"])
    with pytest.raises(InvalidArgument, match="metrics available"):
        slice_metrics([0, 1, 1, 0], [0, 1, 0, 0], frame=frame, columns=["g"], metrics=["roc_auc"])
    with pytest.raises(InvalidArgument, match="has 4 rows but the predictions have 3"):
        slice_metrics([0, 1, 1], [0, 1, 0], frame=frame, columns=["g"])
    with pytest.raises(InvalidArgument, match="min_support"):
        find_worst_slices([0, 1, 1, 0], [0, 1, 0, 0], frame=frame, min_support=0)
