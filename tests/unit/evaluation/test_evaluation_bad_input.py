"""Bad input fails early with InvalidArgument naming the parameter, the rule and the value."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest

from steward.core.errors import InvalidArgument
from steward.evaluation import (
    accuracy,
    evaluate_classifier,
    evaluate_regressor,
    find_worst_slices,
    log_loss,
    roc_auc,
    slice_metrics,
)

CASES: list[tuple[str, Callable[[], Any], str, str]] = [
    ("missing y_true", lambda: accuracy(None, [1, 0]), "y_true", "required"),  # type: ignore[arg-type]
    ("missing y_pred", lambda: evaluate_classifier([0, 1], None), "y_pred", "required"),  # type: ignore[arg-type]
    ("empty input", lambda: evaluate_classifier([], []), "y_true", "non-empty"),
    ("misaligned arrays", lambda: accuracy([0, 1, 1], [0, 1]), "y_true", "same number of rows"),
    ("misaligned probabilities", lambda: evaluate_classifier([0, 1, 1], [0.2, 0.8]), "y_true", "Got y_true=3"),
    ("2-D labels", lambda: accuracy([[0, 1], [1, 0]], [[0, 1], [1, 0]]), "y_true", "1-D"),
    ("NaN label", lambda: accuracy([0, np.nan, 1], [0, 1, 1]), "y_true", "missing labels"),
    ("NaN score", lambda: roc_auc([0, 1, 1], [0.1, np.nan, 0.3]), "y_score", "finite"),
    ("infinite regression target", lambda: evaluate_regressor([1.0, np.inf], [1.0, 2.0]), "y_true", "finite"),
    ("text regression target", lambda: evaluate_regressor(["a", "b"], [1.0, 2.0]), "y_true", "numeric"),
    ("probability above one", lambda: evaluate_classifier([0, 1], [0.2, 1.4]), "y_pred", "[0, 1]"),
    ("log loss of scores", lambda: log_loss([0, 1], [-0.2, 0.4]), "y_proba", "[0, 1]"),
    ("single class", lambda: evaluate_classifier([1, 1, 1], [1, 0, 1]), "y_true", "at least two classes"),
    ("single class auc", lambda: roc_auc([0, 0], [0.1, 0.9]), "y_true", "at least two classes"),
    ("numbers against strings", lambda: accuracy([0, 1], ["a", "b"]), "y_pred", "y_pred holds strings"),
    ("mixed label types", lambda: accuracy(np.array([0, "a"], dtype=object), [0, 1]), "y_true", "one comparable type"),
    ("unknown pos_label", lambda: roc_auc([0, 1], [0.1, 0.9], pos_label=2), "pos_label", "one of the classes"),
    ("1-D scores for 3 classes", lambda: roc_auc([0, 1, 2], [0.1, 0.5, 0.9]), "y_score", "one column per class"),
    ("wrong column count", lambda: evaluate_classifier([0, 1, 2], np.full((3, 4), 0.25)), "y_pred", "one column"),
    ("negative weight", lambda: accuracy([0, 1], [0, 1], sample_weight=[1, -1]), "sample_weight", "non-negative"),
    ("zero weights", lambda: accuracy([0, 1], [0, 1], sample_weight=[0, 0]), "sample_weight", "positive sum"),
    ("short weights", lambda: accuracy([0, 1], [0, 1], sample_weight=[1]), "sample_weight", "one weight per row"),
    ("bad threshold", lambda: evaluate_classifier([0, 1], [0.1, 0.9], threshold=1.5), "threshold", "1.5"),
    (
        "bad prediction kind",
        lambda: evaluate_classifier([0, 1], [0, 1], prediction_kind="x"),  # type: ignore[arg-type]
        "prediction_kind",
        "'x'",
    ),
    ("bad average", lambda: roc_auc([0, 1], [0.1, 0.9], average="micro"), "average", "'micro'"),  # type: ignore[arg-type]
    (
        "all-NaN slice column",
        lambda: slice_metrics([0, 1], [0, 1], columns={"c": [np.nan, np.nan]}),
        "columns",
        "only missing values",
    ),
    ("slice without frame", lambda: slice_metrics([0, 1], [0, 1], columns=["c"]), "columns", "no 'frame'"),
    ("search without frame", lambda: find_worst_slices([0, 1], [0, 1]), "frame", "Pass 'frame'"),
    (
        "bad slice metric",
        lambda: evaluate_classifier([0, 1, 0, 1], [0, 1, 1, 1], slice_columns={"g": [1, 1, 2, 2]}, slice_metric="mae"),
        "slice_metric",
        "'mae'",
    ),
    ("bad bootstrap count", lambda: evaluate_regressor([1.0, 2.0], [1.0, 2.0], n_bootstrap=-1), "n_bootstrap", "-1"),
    (
        "bad gate",
        lambda: evaluate_regressor([1.0, 2.0], [1.0, 2.0], gates=[{"metric": "r2"}], n_bootstrap=0),
        "gates[0].op",
        "Gate 0",
    ),
]


@pytest.mark.parametrize(("case", "call", "field", "text"), CASES, ids=[c[0] for c in CASES])
def test_bad_input_raises_invalid_argument(case: str, call: Callable[[], Any], field: str, text: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        call()
    assert info.value.field == field, case
    assert text in info.value.message, info.value.message
    assert isinstance(info.value, ValueError)  # callers may catch the builtin


def test_inputs_are_not_modified() -> None:
    y = pd.Series([0, 1, 1, 0, 1, 0])
    p = np.array([0.2, 0.9, 0.6, 0.4, 0.3, 0.1])
    frame = pd.DataFrame({"g": list("aabbcc")})
    before = (y.copy(), p.copy(), frame.copy())
    evaluate_classifier(y, p, frame=frame, n_bootstrap=5, random_state=0, min_support=1)
    pd.testing.assert_series_equal(y, before[0])
    np.testing.assert_array_equal(p, before[1])
    pd.testing.assert_frame_equal(frame, before[2])
