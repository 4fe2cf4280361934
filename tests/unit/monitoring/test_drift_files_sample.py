"""The row sample ``steward drift --multivariate`` keeps while streaming a file, and the
multivariate section's edge cases."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from steward.monitoring.files import RowSample
from steward.monitoring.multivariate import multivariate_drift


def test_the_row_sample_is_uniform_over_the_whole_stream_and_bounded() -> None:
    sample = RowSample(500, random_state=0)
    for lo in range(0, 10_000, 1_000):  # ten batches
        sample.add(pd.DataFrame({"i": np.arange(lo, lo + 1_000)}))
    rows = sample.rows()["i"].to_numpy()
    assert len(rows) == 500 and len(set(rows)) == 500 and np.all(np.diff(rows) > 0)  # distinct, in stream order
    per_batch = np.bincount(rows // 1_000, minlength=10)
    assert stats.chisquare(per_batch).pvalue > 0.01  # no batch favoured (early or late)


def test_a_short_stream_is_kept_whole() -> None:
    sample = RowSample(500, random_state=0)
    sample.add(pd.DataFrame({"i": np.arange(30)}))
    sample.add(pd.DataFrame({"i": np.arange(30, 40)}))
    assert sample.rows()["i"].tolist() == list(range(40))
    assert RowSample(5, random_state=0).rows().empty


def test_too_few_rows_leave_the_section_empty_with_a_note() -> None:
    frame = pd.DataFrame({"a": np.arange(20.0), "b": np.arange(20.0) % 3})
    doc = multivariate_drift(frame, frame).to_dict()
    assert doc["drift_detected"] is False and doc["domain_classifier"] is None and doc["reconstruction_error"] is None
    assert doc["notes"] == ["multivariate drift needs 50 rows on each side and a shared column"]


def test_pca_keeping_every_component_is_skipped_not_a_false_alarm() -> None:
    """Two uncorrelated columns need both components for 65% of the variance: every row is
    rebuilt exactly, and a band of rounding noise would flag any window."""
    rng = np.random.default_rng(0)
    ref = pd.DataFrame({"a": rng.normal(size=300), "b": rng.normal(size=300)})
    cur = pd.DataFrame({"a": rng.normal(size=300), "b": rng.normal(size=300)})
    report = multivariate_drift(ref, cur)
    assert report.reconstruction is None and report.domain_classifier is not None
    assert not report.drifted and "keeps all 2 principal components" in report.notes[0]
