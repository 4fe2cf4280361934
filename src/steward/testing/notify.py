"""The contract every notification channel keeps, and receivers to test channels against.

``check_notification_channel(channel, receiver)`` drives a channel against a real receiver
that records what arrives and can be told to fail. Two receivers ship here:

- :class:`HttpReceiver`, an ASGI app (serve it with uvicorn on loopback) for webhook-style
  channels; given a secret it verifies Steward's signatures and refuses replays.
- :class:`SmtpReceiver`, an aiosmtpd handler; :func:`serve_smtp` runs it on loopback
  (needs ``aiosmtpd``, a development dependency).
"""

from __future__ import annotations

import email
import email.policy
import json
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any, Protocol

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from steward.notify.models import DeliveryResult, Notification
from steward.notify.registry import Channel
from steward.notify.signing import (
    DEFAULT_TOLERANCE_S,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    verify_signature,
)


class ChannelReceiver(Protocol):
    """What :func:`check_notification_channel` needs from the far end of a channel."""

    def accepted(self) -> list[str]:
        """The text of every message accepted so far, in order (failed ones excluded)."""
        ...

    def fail_next(self, count: int, *, permanent: bool = False) -> None:
        """Refuse the next ``count`` messages, transiently (HTTP 503, SMTP 451) or for good."""
        ...

    def reset(self) -> None: ...


def _send(channel: Channel, notification: Notification, when: str) -> DeliveryResult:
    try:
        result = channel.send(notification)
    except Exception as exc:
        raise AssertionError(
            f"send() must report a failed delivery in its DeliveryResult, not raise ({when}); "
            f"it raised {type(exc).__name__}: {exc}"
        ) from exc
    assert isinstance(result, DeliveryResult), f"send() must return a DeliveryResult ({when})"
    return result


def check_notification_channel(
    channel: Channel,
    receiver: ChannelReceiver,
    *,
    unreachable: Channel | None = None,
    secrets: Sequence[str] = (),
) -> None:
    """Raise AssertionError naming the broken rule.

    Parameters
    ----------
    channel: the channel under test, configured to deliver to ``receiver``.
    receiver: the running far end (:class:`HttpReceiver`, :class:`SmtpReceiver`, or your own).
    unreachable: optionally, the same kind of channel pointed where nothing listens.
    secrets: values that must never appear in the channel's repr or in an error.
    """
    assert isinstance(channel, Channel), "a channel must have a 'name' and a 'send(notification)' method"
    assert isinstance(channel.name, str) and channel.name, "a channel's name must be a non-empty string"
    receiver.reset()
    n = Notification(
        "Steward contract check",
        "PSI 0.31 on tenure, café ✓",
        severity="warning",
        payload={"psi": 0.31, "feature": "tenure"},
        dedup_key="contract:churn:tenure",
    )

    ok = _send(channel, n, "first delivery")
    assert ok.ok, f"send() to a healthy receiver must succeed; got {ok}"
    got = receiver.accepted()
    assert len(got) == 1, f"one send() must deliver exactly one message; the receiver accepted {len(got)}"
    assert n.subject in got[0], "the message must carry the notification's subject"
    assert n.body in got[0], "the message must carry the notification's body, Unicode intact"

    receiver.fail_next(1)
    transient = _send(channel, n, "receiver failing transiently")
    assert not transient.ok, "send() must report failure when the receiver refuses the message"
    assert transient.retryable, "a transient refusal (HTTP 503, SMTP 451) must be reported retryable"
    assert transient.error, "a failure must say what went wrong in 'error'"
    assert _send(channel, n, "after a transient failure").ok, (
        "the channel must deliver again once the receiver recovers"
    )

    receiver.fail_next(1, permanent=True)
    permanent = _send(channel, n, "receiver refusing for good")
    assert not permanent.ok and permanent.error, "a permanent refusal must be reported as a failure with an error"
    assert not permanent.retryable, "a permanent refusal (HTTP 4xx, SMTP 5xx) must not be retryable"
    assert len(receiver.accepted()) == 2, "failed sends must not count as accepted messages"

    results = [ok, transient, permanent]
    if unreachable is not None:
        down = _send(unreachable, n, "nothing listening")
        assert not down.ok and down.retryable, "an unreachable receiver must be a retryable failure"
        assert down.error, "an unreachable receiver must be reported in 'error'"
        results.append(down)

    shown = [repr(channel), str(channel)] + [r.error or "" for r in results]
    for secret in secrets:
        assert not any(secret in text for text in shown), "a channel must not show its secrets in repr() or errors"


# -- an HTTP receiver ----------------------------------------------------------------------------
@dataclass(frozen=True)
class ReceivedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    status: int

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        return json.loads(self.body)


class HttpReceiver:
    """An ASGI app recording every request it gets, on any path.

    ``fail_next(n)`` makes the next ``n`` requests fail (503, or 400 when permanent). Given a
    ``secret``, it checks ``X-Steward-Signature`` first and answers 401 to a bad signature or a
    timestamp outside ``tolerance_s`` of its ``clock`` (a replay); move ``clock`` to replay
    a captured request "later".
    """

    def __init__(
        self,
        *,
        secret: str | None = None,
        tolerance_s: float = DEFAULT_TOLERANCE_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.secret = secret
        self.tolerance_s = tolerance_s
        self.clock = clock
        self._lock = threading.Lock()
        self._requests: list[ReceivedRequest] = []
        self._failures: list[tuple[int, str | None]] = []
        self._app = Starlette(routes=[Route("/{path:path}", self._handle, methods=["POST", "PUT"])])

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._app(scope, receive, send)

    @property
    def requests(self) -> list[ReceivedRequest]:
        with self._lock:
            return list(self._requests)

    def accepted(self) -> list[str]:
        return [r.text for r in self.requests if 200 <= r.status < 300]

    def fail_next(
        self, count: int, *, permanent: bool = False, status: int | None = None, retry_after: str | None = None
    ) -> None:
        with self._lock:
            self._failures.extend([(status or (400 if permanent else 503), retry_after)] * count)

    def reset(self) -> None:
        with self._lock:
            self._requests.clear()
            self._failures.clear()

    def _verdict(self, headers: dict[str, str], body: bytes) -> tuple[int, str, dict[str, str]]:
        if self.secret is not None:
            signature = headers.get(SIGNATURE_HEADER.lower(), "")
            timestamp = headers.get(TIMESTAMP_HEADER.lower(), "")
            if not verify_signature(self.secret, timestamp, body, signature, self.tolerance_s, now=self.clock()):
                return 401, "bad or stale signature", {}
        if self._failures:
            status, retry_after = self._failures.pop(0)
            return status, "failing on purpose", {"Retry-After": retry_after} if retry_after else {}
        return 200, "ok", {}

    async def _handle(self, request: Request) -> Response:
        body = await request.body()
        headers = {k.lower(): v for k, v in request.headers.items()}
        with self._lock:
            status, text, extra = self._verdict(headers, body)
            self._requests.append(ReceivedRequest(request.method, request.url.path, headers, body, status))
        return PlainTextResponse(text, status_code=status, headers=extra)


# -- an SMTP receiver ----------------------------------------------------------------------------
@dataclass(frozen=True)
class ReceivedEmail:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    authenticated: bool

    @property
    def text(self) -> str:
        body = self.message.get_body(("plain",))
        content = body.get_content() if body is not None else ""
        return f"Subject: {self.message['Subject']}\n\n{content}"


class SmtpReceiver:
    """An aiosmtpd handler keeping every message accepted; ``fail_next(n)`` answers
    ``451`` (or ``550`` when permanent) to the next ``n`` messages, and recipients in
    ``refuse`` get ``550`` at ``RCPT TO``."""

    def __init__(self, *, refuse: Sequence[str] = ()) -> None:
        self.refuse = set(refuse)
        self._lock = threading.Lock()
        self._messages: list[ReceivedEmail] = []
        self._failures: list[str] = []

    @property
    def messages(self) -> list[ReceivedEmail]:
        with self._lock:
            return list(self._messages)

    def accepted(self) -> list[str]:
        return [m.text for m in self.messages]

    def fail_next(self, count: int, *, permanent: bool = False) -> None:
        reply = "550 5.7.1 Rejected on purpose" if permanent else "451 4.3.0 Try again later"
        with self._lock:
            self._failures.extend([reply] * count)

    def reset(self) -> None:
        with self._lock:
            self._messages.clear()
            self._failures.clear()

    async def handle_RCPT(  # noqa: N802 (aiosmtpd's name)
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if address in self.refuse:
            return "550 5.1.1 No such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's name)
        with self._lock:
            if self._failures:
                return self._failures.pop(0)
            message = email.message_from_bytes(envelope.content, policy=email.policy.default)
            assert isinstance(message, EmailMessage)
            received = ReceivedEmail(envelope.mail_from, list(envelope.rcpt_tos), message, bool(session.authenticated))
            self._messages.append(received)
        return "250 Message accepted for delivery"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve_smtp(
    handler: SmtpReceiver,
    *,
    tls_context: ssl.SSLContext | None = None,
    require_starttls: bool = False,
    authenticator: Callable[..., Any] | None = None,
) -> Iterator[tuple[str, int]]:
    """Run ``handler`` in an aiosmtpd server on a free loopback port; yield ``(host, port)``.

    ``tls_context`` offers STARTTLS; ``authenticator`` (aiosmtpd's signature; return
    ``AuthResult(success=..., handled=False)``) makes AUTH required, and only after STARTTLS.
    """
    from aiosmtpd.controller import Controller

    params: dict[str, Any] = {"require_starttls": require_starttls}
    if tls_context is not None:
        params["tls_context"] = tls_context
    if authenticator is not None:
        if tls_context is None:
            raise ValueError("serve_smtp: AUTH needs a tls_context (passwords never travel in clear)")
        params.update(authenticator=authenticator, auth_required=True, auth_require_tls=True)
    controller = Controller(handler, hostname="127.0.0.1", port=_free_port(), **params)
    controller.start()
    try:
        yield "127.0.0.1", int(controller.port)
    finally:
        controller.stop()
