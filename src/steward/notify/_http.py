"""One POST through httpx, its outcome as a :class:`DeliveryResult`, never an exception."""

from __future__ import annotations

import email.utils
import functools
import ipaddress
import ssl
import time
from urllib.parse import urlsplit

import httpx

from steward.notify.models import DeliveryResult

_RETRYABLE = frozenset({408, 425, 429})
_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain"})


@functools.cache
def _default_ssl_context() -> ssl.SSLContext:
    # Built once on first use, not at import; httpx would otherwise build one per client.
    return ssl.create_default_context()


class _Borrowed(httpx.BaseTransport):
    """A caller's transport, used but not closed: the caller owns it."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self._inner = inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self._inner.handle_request(request)

    def close(self) -> None:
        pass


def is_loopback(host: str) -> bool:
    host = host.strip("[]").lower()
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_url(url: str, *, allow_http: bool) -> str:
    """Refuse anything but an absolute http(s) URL; plain http only to loopback unless allowed.

    Messages never repeat the URL: for Slack it is itself the secret.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an absolute http:// or https:// URL")
    if parts.scheme == "http" and not allow_http and not is_loopback(parts.hostname):
        raise ValueError("must use https:// (plain http:// only to loopback, or with allow_http: true)")
    return url


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header: delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def classify(response: httpx.Response) -> DeliveryResult:
    code = response.status_code
    if 200 <= code < 300:
        return DeliveryResult.success(code)
    snippet = " ".join(response.text[:200].split())
    message = f"HTTP {code}" + (f": {snippet}" if snippet else "")
    if 300 <= code < 400:
        message += " (redirects are not followed)"
    retryable = code in _RETRYABLE or code >= 500
    retry_after = parse_retry_after(response.headers.get("Retry-After")) if retryable else None
    return DeliveryResult.failure(message, status_code=code, retryable=retryable, retry_after_s=retry_after)


def post(
    url: str,
    content: bytes,
    headers: dict[str, str],
    *,
    timeout_s: float,
    transport: httpx.BaseTransport | None,
    ssl_context: ssl.SSLContext | None,
) -> DeliveryResult:
    """POST ``content`` once. Transport errors and timeouts may pass, so they are retryable;
    a malformed URL will not. Error texts never include the URL (it may hold a token)."""
    client = httpx.Client(
        transport=_Borrowed(transport) if transport is not None else None,
        timeout=timeout_s,
        verify=ssl_context or _default_ssl_context(),
        follow_redirects=False,
    )
    try:
        with client:
            response = client.post(url, content=content, headers=headers)
    except httpx.TimeoutException:
        return DeliveryResult.failure(f"timed out after {timeout_s:g}s", retryable=True)
    except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
        return DeliveryResult.failure(f"{type(exc).__name__}: bad URL", retryable=False)
    except httpx.TransportError as exc:
        return DeliveryResult.failure(f"{type(exc).__name__}: {exc}", retryable=True)
    return classify(response)
