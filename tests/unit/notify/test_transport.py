"""HTTP channels take an httpx transport: requests can be inspected in memory, and a
transport the caller owns is used, not closed."""

from __future__ import annotations

import httpx

from steward.notify import CHANNEL_TYPES, ChannelDeps, Notification, verify_signature

SECRET = "whsec-0123456789abcdef"


class FixedClock:
    def now_ms(self) -> int:
        return 1_700_000_000_123


class Recording(httpx.MockTransport):
    def __init__(self, status: int = 200, headers: dict[str, str] | None = None) -> None:
        self.requests: list[httpx.Request] = []
        self.closed = False
        super().__init__(self._answer)
        self._status, self._headers = status, headers or {}

    def _answer(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(self._status, headers=self._headers, text="nope" if self._status >= 300 else "ok")

    def close(self) -> None:
        self.closed = True


def test_webhook_signs_with_its_clock_through_the_given_transport() -> None:
    transport = Recording()
    deps = ChannelDeps(http_transport=transport, clock=FixedClock())
    channel = CHANNEL_TYPES.build("webhook", "hook", {"url": "https://hooks.example.org/h", "secret": SECRET}, deps)
    n = Notification("Drift", "PSI 0.3", severity="critical")
    for _ in range(2):
        assert channel.send(n).ok
    assert not transport.closed, "the caller's transport must not be closed by the channel"
    request = transport.requests[0]
    assert request.headers["X-Steward-Timestamp"] == "1700000000"
    assert request.headers["X-Steward-Notification"] == n.id
    assert verify_signature(
        SECRET, "1700000000", request.content, request.headers["X-Steward-Signature"], now=1_700_000_001
    )


def test_http_status_decides_retryability() -> None:
    def result(status: int, headers: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
        deps = ChannelDeps(http_transport=Recording(status, headers))
        return CHANNEL_TYPES.build("slack", "ops", {"url": "https://hooks.slack.com/services/T/B/x"}, deps).send(
            Notification("x")
        )

    assert result(200).ok
    for status in (408, 429, 500, 502, 503):
        assert result(status).retryable, status
    for status in (301, 400, 401, 403, 404, 410):
        assert not result(status).retryable, status
    assert "redirects are not followed" in (result(302).error or "")
    throttled = result(429, {"Retry-After": "7"})
    assert throttled.retry_after_s == 7.0 and throttled.error == "HTTP 429: nope"
