"""Contract checks for Steward's pluggable parts, in the spirit of scikit-learn's
``check_estimator``: run them over every implementation; a failure says what to change."""

from steward.testing.artifacts import check_artifact_store
from steward.testing.drift import check_drift_detector
from steward.testing.notify import check_notification_channel

__all__ = ["check_artifact_store", "check_drift_detector", "check_notification_channel"]
