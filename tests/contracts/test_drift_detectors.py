"""Every registered drift detector keeps the detector contract."""

from __future__ import annotations

import pytest

from steward.monitoring.drift import DRIFT_METHODS, DriftDetector, JensenShannonDrift
from steward.testing import check_drift_detector


@pytest.mark.parametrize("method", sorted(DRIFT_METHODS))
def test_registered_detector_keeps_the_contract(method: str) -> None:
    check_drift_detector(DRIFT_METHODS[method])


def test_the_check_catches_a_detector_that_never_drifts() -> None:
    class Blind(JensenShannonDrift):
        def decide(self, statistic: float, p_value: float | None, threshold: float) -> bool:
            return False

    with pytest.raises(AssertionError, match="must flag a large shift"):
        check_drift_detector(Blind)


def test_the_registry_holds_the_evidently_methods() -> None:
    assert {"ks", "chisquare", "z", "wasserstein", "psi", "jensenshannon"} <= set(DRIFT_METHODS)
    assert all(issubclass(c, DriftDetector) for c in DRIFT_METHODS.values())
