"""The contract every registered drift detector keeps (scikit-learn's ``check_estimator`` for
drift): parameters round-trip, identical windows do not drift, a large shift does, the
verdict follows the threshold, and misuse is a clear error."""

from __future__ import annotations

import numpy as np

from steward.core.errors import InvalidArgument
from steward.monitoring.drift import DriftDetector


def _samples(kind: str, rng: np.random.Generator, shift: bool) -> object:
    if kind == "numerical":
        # 0/1 values: every numerical method applies to them, the binary-only ones included.
        return rng.binomial(1, 0.8 if shift else 0.2, 3000).astype(float)
    probs = [0.1, 0.1, 0.8] if shift else [0.6, 0.3, 0.1]
    return np.array(rng.choice(["a", "b", "c"], size=3000, p=probs), dtype=object)


def check_drift_detector(cls: type[DriftDetector]) -> None:
    """Raise AssertionError naming the broken rule for the detector class ``cls``."""
    name = cls.__name__
    params = cls().get_params()
    assert type(cls(**params)).__name__ == name and cls(**params).get_params() == params, (
        f"{name}(**get_params()) must rebuild an equal detector"
    )
    try:
        cls().score([1.0, 2.0])
    except InvalidArgument:
        pass
    else:
        raise AssertionError(f"{name}.score() before fit() must raise InvalidArgument")
    for kind in sorted(cls.kinds):
        rng = np.random.default_rng(7)
        reference = _samples(kind, rng, shift=False)
        same = cls().fit(reference).score(reference)
        assert not same.drifted, f"{name} must not flag a {kind} window compared with itself"
        current = _samples(kind, rng, shift=True)
        shifted = cls().fit(reference).score(current)
        assert shifted.drifted, f"{name} must flag a large shift in a {kind} column"
        assert shifted.method == cls.method and shifted.threshold == cls().threshold_, (
            f"{name}'s result must carry its method and the threshold in force"
        )
        assert np.isfinite(shifted.statistic), f"{name} must give a finite statistic for a {kind} shift"
        if cls.is_test:
            assert shifted.p_value is not None and 0.0 <= shifted.p_value <= 1.0, f"{name}: p-value in [0, 1]"
        if not cls.is_test:
            strict_enough = shifted.statistic * 1.01
            if strict_enough <= cls.threshold_high:
                lax = cls(threshold=strict_enough).fit(reference).score(current)
                assert not lax.drifted, f"{name}'s verdict must follow its threshold"
    try:
        cls(threshold=-1.0).fit(_samples(sorted(cls.kinds)[0], np.random.default_rng(0), shift=False))
    except InvalidArgument as exc:
        assert "threshold" in str(exc), f"{name}: the error for a bad threshold must name 'threshold'"
    else:
        raise AssertionError(f"{name} must refuse a negative threshold with InvalidArgument")
