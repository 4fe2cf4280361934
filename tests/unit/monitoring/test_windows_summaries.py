"""Window summaries: what a segment's summary keeps, that summaries merge into the summary of
the whole window, and that they survive being stored."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from scipy import stats

from steward.monitoring.drift import KSDrift, WassersteinDrift
from steward.monitoring.sketches import CategoricalSketch, NumericSketch
from steward.monitoring.summaries import LATENCY_EDGES_MS, SegmentSummary, summarise


def _log(n: int, seed: int, start_ms: int = 1_000) -> pa.Table:
    """Rows in the prediction log's schema: 4 rows per request, a mirror copy of every 5th row."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    p = rng.random(n)
    role = np.where(np.arange(n) % 5 == 4, "mirror", "primary")
    return pa.table(
        {
            "request_id": [f"r{seed}-{i // 4}" for i in range(n)],
            "row": pa.array(np.arange(n) % 4, pa.int32()),
            "model_version": np.where(np.arange(n) % 2 == 0, "1", "2").tolist(),
            "role": role.tolist(),
            "timestamp": pa.array(start_ms + np.arange(n) * 10, pa.timestamp("ms", tz="UTC")),
            "latency_ms": np.repeat(rng.gamma(2.0, 3.0, n // 4 + 1), 4)[:n],
            "features": pa.StructArray.from_arrays(
                [pa.array(x), pa.array(rng.choice(["a", "b", "c"], n)), pa.array(rng.random(n) < 0.3)],
                names=["x", "c", "flag"],
            ),
            "prediction": (p >= 0.5).astype(int).astype(str).tolist(),
            "prediction_value": (p >= 0.5).astype(float),
            "probabilities": pa.FixedSizeListArray.from_arrays(pa.array(np.column_stack([1 - p, p]).ravel()), 2).cast(
                pa.list_(pa.float64())
            ),
        }
    )


def test_a_summary_keeps_primary_rows_by_kind() -> None:
    t = _log(2000, seed=1)
    s = summarise(t)
    primary = np.asarray(t["role"].to_pylist()) == "primary"
    assert s.rows == 2000 and s.primary_rows == int(primary.sum())
    assert isinstance(s.features["x"], NumericSketch) and isinstance(s.features["c"], CategoricalSketch)
    assert isinstance(s.features["flag"], CategoricalSketch) and set(s.features["flag"].counts_) == {True, False}
    x = np.asarray(t["features"].combine_chunks().field("x"))[primary]
    assert s.features["x"].mean_ == pytest.approx(x.mean(), rel=1e-12)
    assert isinstance(s.prediction, CategoricalSketch) and set(s.prediction.counts_) == {"0", "1"}
    assert s.score is not None and s.score.count_ == s.primary_rows
    assert s.versions == {
        "1": int((primary & (np.arange(2000) % 2 == 0)).sum()),
        "2": int((primary & (np.arange(2000) % 2 == 1)).sum()),
    }
    assert s.ts_min_ms == 1_000 and s.ts_max_ms == 1_000 + 1998 * 10  # row 1999 is a mirror copy


def test_latency_counts_one_value_per_request_on_the_server_buckets() -> None:
    t = _log(400, seed=2)
    s = summarise(t)
    rows = t.to_pandas()
    first = rows[(rows["row"] == 0) & (rows["role"] == "primary")]
    assert s.requests == len(first) and s.latency is not None
    assert s.latency.edges == LATENCY_EDGES_MS and s.latency.bin_counts_ is not None
    assert int(s.latency.bin_counts_.sum()) == len(first)
    assert s.latency.quantile(0.95)[0] == pytest.approx(np.quantile(first["latency_ms"], 0.95))


def test_merged_segment_summaries_equal_the_summary_of_the_whole() -> None:
    whole = _log(3000, seed=3)
    parts = [summarise(whole.slice(i, 500), seed=i) for i in range(0, 3000, 500)]
    merged = parts[0]
    for p in parts[1:]:
        merged = merged.merge(p)
    direct = summarise(whole)
    assert merged.primary_rows == direct.primary_rows and merged.requests == direct.requests
    assert merged.versions == direct.versions and (merged.ts_min_ms, merged.ts_max_ms) == (
        direct.ts_min_ms,
        direct.ts_max_ms,
    )
    mx, dx = merged.features["x"], direct.features["x"]
    assert isinstance(mx, NumericSketch) and isinstance(dx, NumericSketch)
    assert np.array_equal(mx.sorted_sample(), dx.sorted_sample())  # exact below the sample cap
    assert mx.mean_ == pytest.approx(dx.mean_, rel=1e-12) and mx.variance_ == pytest.approx(dx.variance_, rel=1e-10)
    assert merged.features["c"].counts_ == direct.features["c"].counts_  # type: ignore[union-attr]
    assert merged.latency is not None and direct.latency is not None
    assert np.array_equal(merged.latency.bin_counts_, direct.latency.bin_counts_)  # type: ignore[arg-type]


def test_drift_on_merged_summaries_equals_scipy_on_the_rows() -> None:
    ref, cur = _log(1500, seed=4), _log(1500, seed=5)
    halves = summarise(cur.slice(0, 700)).merge(summarise(cur.slice(700)))
    r = KSDrift().fit(summarise(ref).features["x"]).score(halves.features["x"])
    xs = [
        np.asarray(t["features"].combine_chunks().field("x"))[np.asarray(t["role"].to_pylist()) == "primary"]
        for t in (ref, cur)
    ]
    expected = stats.ks_2samp(*xs)
    assert r.statistic == pytest.approx(expected.statistic, abs=1e-12)
    assert r.p_value == pytest.approx(expected.pvalue, rel=1e-9)
    w = WassersteinDrift().fit(summarise(ref).features["x"]).score(halves.features["x"])
    assert w.statistic == pytest.approx(stats.wasserstein_distance(*xs) / np.std(xs[0]), rel=1e-9)


def test_a_summary_survives_storage_and_still_merges() -> None:
    s = summarise(_log(1200, seed=6))
    back = SegmentSummary.from_bytes(s.to_bytes())
    assert back.primary_rows == s.primary_rows and back.versions == s.versions and back.requests == s.requests
    bx, sx = back.features["x"], s.features["x"]
    assert isinstance(bx, NumericSketch) and isinstance(sx, NumericSketch)
    assert np.array_equal(bx.sample_, sx.sample_) and np.array_equal(bx.priorities_, sx.priorities_)
    assert (bx.count_, bx.mean_, bx.m2_, bx.min_, bx.max_) == (sx.count_, sx.mean_, sx.m2_, sx.min_, sx.max_)
    assert back.features["c"].counts_ == s.features["c"].counts_  # type: ignore[union-attr]
    assert back.features["flag"].counts_ == s.features["flag"].counts_  # type: ignore[union-attr]
    assert back.latency is not None and s.latency is not None
    assert np.array_equal(back.latency.bin_counts_, s.latency.bin_counts_)  # type: ignore[arg-type]
    again = back.merge(summarise(_log(300, seed=7)))
    assert again.primary_rows == s.primary_rows + summarise(_log(300, seed=7)).primary_rows


def test_beyond_the_sample_cap_the_window_keeps_a_bounded_sample() -> None:
    big = _log(5000, seed=8)
    merged = summarise(big.slice(0, 2500), sample_cap=1000).merge(summarise(big.slice(2500), sample_cap=1000, seed=9))
    x = merged.features["x"]
    assert isinstance(x, NumericSketch) and x.sample_.size == 1000 and x.count_ == merged.primary_rows
    assert len(merged.to_bytes()) < 60_000


def test_an_empty_or_feature_less_table_summarises_to_nothing() -> None:
    s = summarise(pa.table({"prediction": pa.array([], pa.string())}))
    assert s.primary_rows == 0 and s.features == {} and s.prediction is None
    assert SegmentSummary.from_bytes(s.to_bytes()).primary_rows == 0
