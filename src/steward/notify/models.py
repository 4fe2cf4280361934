"""Notification domain types: what is sent, what one attempt returned, what the log keeps.

Pure Python: no HTTP, no SMTP, no SQL. Timestamps are milliseconds since the epoch, as
everywhere else in Steward.
"""

from __future__ import annotations

import enum
import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from steward.core.clock import now_ms
from steward.core.errors import InvalidArgument
from steward.core.ids import new_id

MAX_SUBJECT = 256
MAX_BODY = 64 * 1024
MAX_DEDUP_KEY = 256


class Severity(enum.StrEnum):
    """How urgent a notification is; ordered, so a channel can take only ``warning`` and up."""

    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _RANKS[self]

    @classmethod
    def parse(cls, value: str | Severity, field: str = "severity") -> Severity:
        try:
            return cls(str(value).lower())
        except ValueError:
            raise InvalidArgument(
                f"The {field!r} parameter must be one of {[s.value for s in cls]}. Got {value!r} instead.",
                field=field,
            ) from None


_RANKS = {Severity.INFO: 0, Severity.WARNING: 1, Severity.CRITICAL: 2}


class DeliveryStatus(enum.StrEnum):
    """The state of one notification's delivery to one channel."""

    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"
    SUPPRESSED = "suppressed"  # the same dedup key was delivered to the channel within the window


def json_safe(payload: Mapping[str, Any], field: str = "payload") -> dict[str, Any]:
    """A detached copy of ``payload`` that survives JSON exactly (no NaN, string keys only).

    >>> json_safe({"psi": 0.2, "columns": ("a", "b")})
    {'psi': 0.2, 'columns': ['a', 'b']}
    """
    if not isinstance(payload, Mapping):
        raise InvalidArgument(
            f"The {field!r} parameter must be a mapping. Got {type(payload).__name__} instead.", field=field
        )
    _check_json(payload, field)
    try:
        return dict(json.loads(json.dumps(payload, allow_nan=False)))
    except (TypeError, ValueError) as exc:
        raise InvalidArgument(f"The {field!r} parameter must be JSON-safe: {exc}.", field=field) from None


def _check_json(value: object, path: str) -> None:
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise InvalidArgument(
                    f"The keys of {path!r} must be strings. Got {key!r} instead.", field=path.split(".")[0]
                )
            _check_json(item, f"{path}.{key}")
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            _check_json(item, f"{path}[{i}]")
    elif isinstance(value, float) and not math.isfinite(value):
        raise InvalidArgument(
            f"The value at {path!r} must be a finite number. Got {value!r} instead.", field=path.split(".")[0]
        )


def default_dedup_key(subject: str, severity: Severity, payload: Mapping[str, Any]) -> str:
    """A stable key for "the same news": the digest of subject, severity and payload."""
    doc = json.dumps([subject, severity.value, payload], sort_keys=True, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(doc.encode()).hexdigest()[:32]


@dataclass(frozen=True, init=False)
class Notification:
    """Something worth telling people about.

    ``payload`` carries the evidence as JSON-safe data (a drift report summary, a link);
    ``dedup_key`` names "the same news" so repeats can be suppressed, and defaults to a digest
    of subject, severity and payload.

    >>> n = Notification("Drift on churn", "PSI 0.31 on tenure", severity="warning", payload={"psi": 0.31})
    >>> n.severity, n.dedup_key.startswith("sha256:")
    (<Severity.WARNING: 'warning'>, True)
    """

    subject: str
    body: str
    severity: Severity
    payload: dict[str, Any]
    dedup_key: str
    created_at: int
    id: str

    def __init__(
        self,
        subject: str,
        body: str = "",
        *,
        severity: Severity | str = Severity.INFO,
        payload: Mapping[str, Any] | None = None,
        dedup_key: str | None = None,
        created_at: int | None = None,
        id: str | None = None,
    ) -> None:
        clean = " ".join(str(subject or "").split())  # one line: it becomes a mail header
        if not clean or len(clean) > MAX_SUBJECT:
            raise InvalidArgument(
                f"The 'subject' parameter must be 1-{MAX_SUBJECT} characters on one line. Got {subject!r} instead.",
                field="subject",
            )
        if not isinstance(body, str) or len(body) > MAX_BODY:
            raise InvalidArgument(
                f"The 'body' parameter must be a string of at most {MAX_BODY} characters.", field="body"
            )
        level = Severity.parse(severity)
        data = json_safe(payload or {})
        key = dedup_key or default_dedup_key(clean, level, data)
        if len(key) > MAX_DEDUP_KEY or not key.isprintable():
            raise InvalidArgument(
                f"The 'dedup_key' parameter must be at most {MAX_DEDUP_KEY} printable characters. Got {key!r} instead.",
                field="dedup_key",
            )
        ident = id or new_id()
        if len(ident) > 64 or not ident.isprintable():
            raise InvalidArgument(
                f"The 'id' parameter must be at most 64 printable characters. Got {ident!r} instead.", field="id"
            )
        for name, value in (
            ("subject", clean),
            ("body", body),
            ("severity", level),
            ("payload", data),
            ("dedup_key", key),
            ("created_at", now_ms() if created_at is None else int(created_at)),
            ("id", ident),
        ):
            object.__setattr__(self, name, value)

    def to_dict(self) -> dict[str, Any]:
        """The JSON document a webhook receiver gets."""
        return {
            "id": self.id,
            "subject": self.subject,
            "body": self.body,
            "severity": self.severity.value,
            "payload": self.payload,
            "dedup_key": self.dedup_key,
            "created_at": self.created_at,
        }


@dataclass(frozen=True)
class DeliveryResult:
    """What one send attempt returned. Channels report failures here; they do not raise.

    ``status_code`` is the HTTP status or the SMTP reply code when there was one.
    ``retryable`` says whether trying again may help (a 503 may, a 401 will not).
    ``retry_after_s`` is the receiver's own hint (HTTP ``Retry-After``), if it gave one.
    """

    ok: bool
    status_code: int | None = None
    error: str | None = None
    retryable: bool = False
    retry_after_s: float | None = None

    @classmethod
    def success(cls, status_code: int | None = None) -> DeliveryResult:
        return cls(ok=True, status_code=status_code)

    @classmethod
    def failure(
        cls,
        error: str,
        *,
        status_code: int | None = None,
        retryable: bool,
        retry_after_s: float | None = None,
    ) -> DeliveryResult:
        return cls(ok=False, status_code=status_code, error=error, retryable=retryable, retry_after_s=retry_after_s)


@dataclass(frozen=True)
class Attempt:
    """One try of one delivery, as the log keeps it."""

    number: int
    ok: bool
    status_code: int | None
    error: str | None
    latency_ms: float
    started_at: int


@dataclass(frozen=True)
class Delivery:
    """One notification to one channel, with every attempt made."""

    id: str
    notification_id: str
    channel: str
    channel_type: str
    subject: str
    severity: Severity
    dedup_key: str
    status: DeliveryStatus
    attempts: tuple[Attempt, ...]
    created_at: int
    finished_at: int | None
    last_error: str | None


@dataclass(frozen=True)
class ChannelInfo:
    """A configured channel as shown to people: secret fields masked."""

    name: str
    type: str
    config: dict[str, Any]
    enabled: bool
    min_severity: Severity
    created_at: int
    updated_at: int

    def accepts(self, severity: Severity) -> bool:
        return self.enabled and severity.rank >= self.min_severity.rank
