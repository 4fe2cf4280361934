"""CBPE: label-free estimates that track realised performance on ACS employment 2016-2018."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, roc_auc_score

from steward.core.errors import InvalidArgument
from steward.monitoring.performance_estimation import CBPE, expected_roc_auc

from ._acs import analysis, reference


def test_estimated_accuracy_tracks_realised_accuracy_on_acs() -> None:
    ref, ana = reference(), analysis()
    cbpe = CBPE().fit(ref["employed"], ref["predicted_probability"])
    ana = ana.sort_values("id").reset_index(drop=True)  # time-ordered: 2016, 2017, 2018
    bounds = np.linspace(0, len(ana), 11).astype(int)
    chunks = [ana.iloc[a:b] for a, b in itertools.pairwise(bounds)]
    acc_err, auc_err = [], []
    for chunk in chunks:
        est = cbpe.estimate(chunk["predicted_probability"], chunk["prediction"])
        acc_err.append(abs(est.accuracy - accuracy_score(chunk["employed"], chunk["prediction"])))
        auc_err.append(abs(est.roc_auc - roc_auc_score(chunk["employed"], chunk["predicted_probability"])))
    assert np.mean(acc_err) < 0.02 and max(acc_err) < 0.03
    assert np.mean(auc_err) < 0.02


def test_perfectly_calibrated_scores_give_the_expected_confusion_matrix() -> None:
    rng = np.random.default_rng(0)
    score = rng.random(20_000)
    y = (rng.random(20_000) < score).astype(int)
    cbpe = CBPE(calibration="never").fit(y, score)
    est = cbpe.estimate(score)
    pred = score >= 0.5
    assert est.true_positives == pytest.approx(score[pred].sum())
    assert est.accuracy == pytest.approx(np.mean(np.where(pred, score, 1 - score)))
    assert est.accuracy == pytest.approx(accuracy_score(y, pred), abs=0.01)
    assert est.roc_auc == pytest.approx(roc_auc_score(y, score), abs=0.01)


def test_expected_roc_auc_of_certain_labels_is_the_real_auc() -> None:
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 500).astype(float)
    score = np.round(y * 0.3 + rng.random(500), 2)  # ties on purpose
    assert expected_roc_auc(y, score) == pytest.approx(roc_auc_score(y, score), abs=1e-12)


def test_calibration_is_fitted_only_when_it_helps() -> None:
    rng = np.random.default_rng(2)
    score = rng.random(5_000)
    y = (rng.random(5_000) < score).astype(int)
    assert not CBPE(calibration="never").fit(y, score).calibrated_
    squashed = score**3
    cbpe = CBPE().fit(y, squashed)
    assert cbpe.calibrated_
    assert cbpe.estimate(squashed, squashed >= 0.5).accuracy == pytest.approx(
        accuracy_score(y, squashed >= 0.5), abs=0.02
    )


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda: CBPE(calibration="platt").fit([0, 1], [0.1, 0.9]), "calibration"),
        (lambda: CBPE().fit([1, 1], [0.1, 0.9]), "y_true"),
        (lambda: CBPE().fit([0, 1], [0.1, np.nan]), "y_score"),
        (lambda: CBPE().estimate([0.5]), "reference"),
        (lambda: CBPE(calibration="never").fit([0, 1], [0.2, 0.8]).estimate([0.5], [1, 0]), "y_pred"),
    ],
)
def test_bad_input_names_the_field(call: object, field: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        call()  # type: ignore[operator]
    assert info.value.field == field
