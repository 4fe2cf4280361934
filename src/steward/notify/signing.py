"""HMAC-SHA256 signatures of webhook bodies, for senders and receivers alike.

The signed message is ``timestamp + "." + body``; the timestamp (seconds since the epoch) goes
in ``X-Steward-Timestamp`` and the signature in ``X-Steward-Signature: sha256=<hex>``. A
receiver recomputes the HMAC with the shared secret and refuses timestamps outside a tolerance,
so a captured request cannot be replayed later. Within the tolerance, a receiver that must
never act twice also remembers the ``X-Steward-Notification`` ids it has seen (retries of one
notification carry the same id and a fresh timestamp).

>>> sig = sign("s3cret-s3cret-s3cret", 1700000000, b'{"a":1}')
>>> verify_signature("s3cret-s3cret-s3cret", "1700000000", b'{"a":1}', sig, now=1700000010)
True
>>> verify_signature("s3cret-s3cret-s3cret", "1700000000", b'{"a":2}', sig, now=1700000010)
False
"""

from __future__ import annotations

import hashlib
import hmac
import time

SIGNATURE_HEADER = "X-Steward-Signature"
TIMESTAMP_HEADER = "X-Steward-Timestamp"
NOTIFICATION_HEADER = "X-Steward-Notification"
SCHEME = "sha256="
DEFAULT_TOLERANCE_S = 300.0


def _bytes(value: str | bytes) -> bytes:
    return value.encode() if isinstance(value, str) else value


def sign(secret: str | bytes, timestamp: int | str, body: str | bytes) -> str:
    """The ``X-Steward-Signature`` value for ``body`` sent at ``timestamp``."""
    message = f"{timestamp}.".encode() + _bytes(body)
    return SCHEME + hmac.new(_bytes(secret), message, hashlib.sha256).hexdigest()


def verify_signature(
    secret: str | bytes,
    timestamp: int | str,
    body: str | bytes,
    signature: str,
    tolerance_s: float = DEFAULT_TOLERANCE_S,
    *,
    now: float | None = None,
) -> bool:
    """True when ``signature`` signs exactly ``timestamp + "." + body`` with ``secret`` and the
    timestamp is within ``tolerance_s`` of ``now`` (either side: clocks drift both ways).

    Parameters
    ----------
    secret: the webhook channel's shared secret.
    timestamp: the ``X-Steward-Timestamp`` header, as received.
    body: the raw request body, byte for byte (not re-serialised JSON).
    signature: the ``X-Steward-Signature`` header, ``sha256=<hex>``.
    tolerance_s: the replay window in seconds.
    now: the receiver's clock in seconds; the system clock when omitted.
    """
    raw = str(timestamp).strip()
    try:
        sent_at = int(raw)
    except ValueError:
        return False
    current = time.time() if now is None else now
    if abs(current - sent_at) > tolerance_s:
        return False
    if not isinstance(signature, str) or not signature.startswith(SCHEME):
        return False
    # Bytes, not str: compare_digest refuses non-ASCII strings, and a header may hold anything.
    return hmac.compare_digest(sign(secret, raw, body).encode(), signature.strip().encode())
