"""Sketches: exact while small, mergeable in any order, uniform samples beyond the cap."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from steward.core.errors import InvalidArgument
from steward.monitoring.sketches import CategoricalSketch, ColumnKind, NumericSketch, sketch_column, sketch_frame

SETTINGS = settings(derandomize=True, max_examples=60, deadline=None)
values = st.lists(
    st.one_of(st.floats(-1e6, 1e6, allow_nan=False), st.just(float("nan")), st.sampled_from([0.0, 1.0, 2.5])),
    max_size=40,
)


def _numeric(xs: list[float], seed: int, cap: int = 16) -> NumericSketch:
    return NumericSketch(sample_cap=cap, edges=[-10.0, 0.0, 10.0], random_state=seed).update(np.array(xs))


def _same(a: NumericSketch, b: NumericSketch) -> None:
    assert (a.count_, a.null_count_, a.min_, a.max_) == (b.count_, b.null_count_, b.min_, b.max_)
    assert a.mean_ == pytest.approx(b.mean_, rel=1e-9, abs=1e-6)
    assert a.m2_ == pytest.approx(b.m2_, rel=1e-9, abs=1e-3)
    assert a.bin_counts_ is not None and b.bin_counts_ is not None
    assert a.bin_counts_.tolist() == b.bin_counts_.tolist()
    assert a.value_counts_ == b.value_counts_
    pairs_a = sorted(zip(a.priorities_.tolist(), a.sample_.tolist(), strict=True))
    pairs_b = sorted(zip(b.priorities_.tolist(), b.sample_.tolist(), strict=True))
    assert pairs_a == pairs_b


@SETTINGS
@given(values, values, values)
def test_numeric_merge_is_associative_and_commutative(xs: list[float], ys: list[float], zs: list[float]) -> None:
    a, b, c = _numeric(xs, 1), _numeric(ys, 2), _numeric(zs, 3)
    _same(a.merge(b).merge(c), a.merge(b.merge(c)))
    _same(a.merge(b), b.merge(a))


@SETTINGS
@given(
    st.lists(st.sampled_from(["a", "b", "c", None]), max_size=30), st.lists(st.sampled_from(["b", "d"]), max_size=30)
)
def test_categorical_merge_is_associative(xs: list[str | None], ys: list[str]) -> None:
    a, b, c = CategoricalSketch().update(xs), CategoricalSketch().update(ys), CategoricalSketch().update(xs[:3])
    left, right = a.merge(b).merge(c), a.merge(b.merge(c))
    assert (left.counts_, left.count_, left.null_count_) == (right.counts_, right.count_, right.null_count_)


@SETTINGS
@given(st.lists(st.floats(-1e3, 1e3), min_size=1, max_size=200), st.integers(1, 6))
def test_exact_sketch_matches_numpy_whatever_the_batches(xs: list[float], n_batches: int) -> None:
    x = np.array(xs)
    sketches = [
        NumericSketch(sample_cap=1000, random_state=i).update(b) for i, b in enumerate(np.array_split(x, n_batches))
    ]
    merged = sketches[0]
    for s in sketches[1:]:
        merged = merged.merge(s)
    assert merged.is_exact
    assert sorted(merged.sample_.tolist()) == sorted(xs)
    assert merged.mean_ == pytest.approx(float(np.mean(x)), rel=1e-9, abs=1e-9)
    assert merged.variance_ == pytest.approx(float(np.var(x)), rel=1e-9, abs=1e-9)


def test_nulls_and_infinities_are_counted_apart() -> None:
    s = NumericSketch().update([1.0, np.nan, np.inf, -np.inf, 3.0, None])
    assert (s.count_, s.null_count_, s.mean_, s.min_, s.max_) == (2, 4, 2.0, 1.0, 3.0)
    c = CategoricalSketch().update(["x", None, np.nan, "x", "y"])
    assert (c.counts_, c.null_count_) == ({"x": 2, "y": 1}, 2)


def test_fixed_bins_and_exact_value_counts() -> None:
    s = NumericSketch(edges=[0.0, 1.0]).update([-1.0, 0.0, 0.5, 1.0, 2.0, 2.0])
    assert s.bin_counts_ is not None and s.bin_counts_.tolist() == [1, 2, 3]
    assert s.value_counts_ == {-1.0: 1, 0.0: 1, 0.5: 1, 1.0: 1, 2.0: 2}
    assert NumericSketch().update(np.arange(1000.0)).value_counts_ is None


def test_sample_beyond_the_cap_is_uniform_over_the_stream() -> None:
    """Means of 200 bottom-k samples of 0..99,999 fed in uneven batches: unbiased, and spread as
    sampling without replacement predicts."""
    population = np.arange(100_000.0)
    means = []
    for seed in range(100):
        parts = [NumericSketch(sample_cap=500, random_state=(seed, i)) for i in range(3)]
        for part, batch in zip(parts, np.array_split(population, [7, 60_000]), strict=True):
            part.update(batch)
        merged = parts[2].merge(parts[0]).merge(parts[1])
        assert merged.sample_.size == 500 and not merged.is_exact
        means.append(merged.sample_.mean())
    se = population.std() / np.sqrt(500)
    assert abs(np.mean(means) - population.mean()) < 4 * se / np.sqrt(100)
    assert 0.75 < np.std(means) / se < 1.25


def test_large_batch_sampling_keeps_cap_and_exact_moments() -> None:
    x = np.random.default_rng(0).normal(5.0, 2.0, 300_000)
    s = NumericSketch(sample_cap=10_000, random_state=0).update(x)
    assert s.sample_.size == 10_000 and s.count_ == 300_000
    assert s.mean_ == pytest.approx(x.mean(), rel=1e-12)
    assert s.std_ == pytest.approx(x.std(), rel=1e-9)
    # DKW at delta = 1e-6: the sample CDF stays within sqrt(ln(2e6) / 2e4) of the data's.
    grid = np.quantile(x, np.linspace(0.01, 0.99, 99))
    gap = np.abs(np.searchsorted(np.sort(s.sample_), grid) / 1e4 - np.searchsorted(np.sort(x), grid) / 3e5)
    assert gap.max() < np.sqrt(np.log(2e6) / 2e4)


def test_sketch_frame_reads_batches_like_the_whole_frame() -> None:
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"x": rng.normal(size=500), "c": rng.choice(["a", "b"], 500)})
    kinds: dict[str, ColumnKind] = {"x": "numerical", "c": "categorical"}
    whole = sketch_frame(frame, kinds, random_state=0)
    batched = sketch_frame((frame.iloc[i : i + 64] for i in range(0, 500, 64)), kinds, random_state=0)
    for col in kinds:
        assert whole[col].count_ == batched[col].count_ == 500
    assert isinstance(whole["c"], CategoricalSketch) and isinstance(batched["c"], CategoricalSketch)
    assert whole["c"].counts_ == batched["c"].counts_
    with pytest.raises(InvalidArgument, match="missing"):
        sketch_frame(frame[["x"]], kinds)


@pytest.mark.parametrize(
    ("make", "field"),
    [
        (lambda: NumericSketch(sample_cap=0), "sample_cap"),
        (lambda: NumericSketch(edges=[1.0, 1.0]), "edges"),
        (lambda: NumericSketch().merge(NumericSketch(sample_cap=5)), "other"),
        (lambda: NumericSketch().quantile(0.5), "q"),
    ],
)
def test_bad_input_names_the_parameter(make: object, field: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        make()  # type: ignore[operator]
    assert info.value.field == field


def test_sketch_column_infers_the_kind() -> None:
    assert isinstance(sketch_column(np.arange(3)), NumericSketch)
    assert isinstance(sketch_column(["a"]), CategoricalSketch)
    assert isinstance(sketch_column(np.array([True, False])), CategoricalSketch)
