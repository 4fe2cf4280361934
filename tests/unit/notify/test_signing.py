"""Webhook signatures: what a receiver accepts, and what it refuses."""

from __future__ import annotations

import hashlib
import hmac

from hypothesis import given
from hypothesis import strategies as st

from steward.notify.signing import sign, verify_signature

SECRET = "whsec-0123456789abcdef"
BODY = b'{"subject":"Drift on churn","severity":"critical"}'
T = 1_700_000_000


def test_signature_is_hmac_sha256_of_timestamp_dot_body() -> None:
    expected = hmac.new(SECRET.encode(), f"{T}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert sign(SECRET, T, BODY) == f"sha256={expected}"


def test_valid_signature_within_tolerance_is_accepted() -> None:
    sig = sign(SECRET, T, BODY)
    assert verify_signature(SECRET, str(T), BODY, sig, 300, now=T + 299)
    assert verify_signature(SECRET, T, BODY.decode(), sig, 300, now=T - 299)  # a receiver clock behind


def test_tampered_body_is_refused() -> None:
    sig = sign(SECRET, T, BODY)
    assert not verify_signature(SECRET, T, BODY.replace(b"critical", b"info"), sig, now=T)
    assert not verify_signature(SECRET, T, BODY + b" ", sig, now=T)


def test_replayed_timestamp_outside_the_window_is_refused() -> None:
    sig = sign(SECRET, T, BODY)
    assert not verify_signature(SECRET, T, BODY, sig, 300, now=T + 301)
    assert not verify_signature(SECRET, T, BODY, sig, 300, now=T - 301)


def test_moving_the_timestamp_forward_breaks_the_signature() -> None:
    sig = sign(SECRET, T, BODY)
    assert not verify_signature(SECRET, T + 600, BODY, sig, 300, now=T + 600)


def test_wrong_secret_and_malformed_headers_are_refused() -> None:
    sig = sign(SECRET, T, BODY)
    assert not verify_signature("another-secret-entirely", T, BODY, sig, now=T)
    assert not verify_signature(SECRET, "yesterday", BODY, sig, now=T)
    assert not verify_signature(SECRET, T, BODY, sig.removeprefix("sha256="), now=T)
    assert not verify_signature(SECRET, T, BODY, "sha256=caf\u00e9", now=T)
    assert not verify_signature(SECRET, T, BODY, "", now=T)


@given(body=st.binary(max_size=256), flip=st.integers(0, 255))
def test_any_changed_byte_is_detected(body: bytes, flip: int) -> None:
    sig = sign(SECRET, T, body)
    assert verify_signature(SECRET, T, body, sig, now=T)
    if body:
        i = flip % len(body)
        tampered = body[:i] + bytes([body[i] ^ 0x01]) + body[i + 1 :]
        assert not verify_signature(SECRET, T, tampered, sig, now=T)
