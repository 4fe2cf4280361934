"""Sticky, uniform, independent assignment of units to variants."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from steward.core.errors import InvalidArgument
from steward.experiments import Assigner, bucket, buckets

IDS = [f"user-{i}" for i in range(20_000)]
unit_ids = st.one_of(st.text(max_size=40), st.integers(min_value=-(2**70), max_value=2**70))
salts = st.text(min_size=1, max_size=30)


def test_bucket_is_pinned_so_assignments_survive_releases() -> None:
    # The scheme is part of the contract: a change would reshuffle every running experiment.
    assert bucket("user-42", "checkout-button") == 0.6290141869889393
    assert Assigner(salt="checkout-button").assign_many(["a", "b", 3]) == ["treatment", "control", "treatment"]


@given(unit_id=unit_ids, salt=salts)
def test_bucket_lies_in_unit_interval_and_is_sticky(unit_id: str | int, salt: str) -> None:
    b = bucket(unit_id, salt)
    assert 0.0 <= b < 1.0
    assert bucket(unit_id, salt) == b
    assert buckets([unit_id], salt)[0] == b


@given(unit_id=unit_ids, salt=salts)
def test_assignment_is_sticky_across_instances_and_batches(unit_id: str | int, salt: str) -> None:
    first = Assigner(salt=salt, variants=("a", "b", "c"), weights=(0.2, 0.3, 0.5))
    again = Assigner(salt=salt, variants=("a", "b", "c"), weights=(0.2, 0.3, 0.5))
    assert first.assign(unit_id) == again.assign(unit_id) == first.assign_many([unit_id, "x"])[0]


@given(n=st.integers(min_value=0, max_value=10**12), salt=salts)
def test_integer_ids_hash_as_their_decimal_text(n: int, salt: str) -> None:
    assert bucket(n, salt) == bucket(str(n), salt)


def test_salt_and_id_cannot_be_confused() -> None:
    assert bucket("c", "a:b") != bucket("b:c", "a")


@settings(max_examples=12)
@given(
    raw=st.lists(st.integers(min_value=1, max_value=20), min_size=2, max_size=4),
    salt=salts,
)
def test_split_proportions_match_the_weights(raw: list[int], salt: str) -> None:
    weights = tuple(w / sum(raw) for w in raw)
    variants = tuple(f"v{i}" for i in range(len(raw)))
    assigned = np.asarray(Assigner(salt=salt, variants=variants, weights=weights).assign_many(IDS))
    n = len(IDS)
    for variant, w in zip(variants, weights, strict=True):
        share = float(np.mean(assigned == variant))
        assert abs(share - w) <= 5.0 * math.sqrt(w * (1.0 - w) / n)


def test_buckets_are_uniform() -> None:
    result = stats.kstest(buckets(IDS, "uniformity"), "uniform")
    assert result.pvalue > 1e-3


@settings(max_examples=8)
@given(salt_a=salts, salt_b=salts)
def test_experiments_with_different_salts_assign_independently(salt_a: str, salt_b: str) -> None:
    if salt_a == salt_b:
        salt_b += "-other"
    a, b = buckets(IDS, salt_a), buckets(IDS, salt_b)
    first, second = a >= 0.5, b >= 0.5  # the treatment arm of a 50/50 Assigner
    table = np.array(
        [[np.sum(first & second), np.sum(first & ~second)], [np.sum(~first & second), np.sum(~first & ~second)]]
    )
    assert stats.chi2_contingency(table).pvalue > 1e-4
    assert abs(np.corrcoef(a, b)[0, 1]) < 5.0 / math.sqrt(len(IDS))


def test_a_fifty_fifty_assigner_cuts_buckets_at_one_half() -> None:
    treated = np.asarray(Assigner(salt="cut").assign_many(IDS[:2000])) == "treatment"
    assert np.array_equal(treated, buckets(IDS[:2000], "cut") >= 0.5)


def test_a_paused_variant_receives_no_units() -> None:
    assigner = Assigner(salt="s", variants=("control", "paused", "treatment"), weights=(0.5, 0.0, 0.5))
    assert "paused" not in set(assigner.assign_many(IDS[:5000]))


def test_ramping_up_keeps_treated_units_treated() -> None:
    before = Assigner(salt="ramp", weights=(0.9, 0.1)).assign_many(IDS)
    after = Assigner(salt="ramp", weights=(0.75, 0.25)).assign_many(IDS)
    assert all(a == "treatment" for b, a in zip(before, after, strict=True) if b == "treatment")


def test_default_split_is_equal_and_params_rebuild_the_assigner() -> None:
    assigner = Assigner(salt="s", variants=("a", "b", "c", "d"))
    assert assigner.split == {"a": 0.25, "b": 0.25, "c": 0.25, "d": 0.25}
    assert Assigner(**assigner.get_params()) == assigner


@pytest.mark.parametrize("unit_id", [None, 1.5, True, b"bytes"])
def test_unit_ids_must_be_str_or_int(unit_id: object) -> None:
    with pytest.raises(InvalidArgument) as info:
        bucket(unit_id, "s")  # type: ignore[arg-type]
    assert info.value.field == "unit_id"
