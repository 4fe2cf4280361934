"""The built-in channels: a Slack-compatible incoming webhook, a generic signed JSON webhook,
and email over SMTP. Each registers in :data:`CHANNEL_TYPES` as a plug-in would.

Each ``send`` makes exactly one attempt and returns a :class:`DeliveryResult`; it does not
retry and does not raise for a failed delivery.
"""

from __future__ import annotations

import json
import smtplib
import ssl
from typing import Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationInfo, field_validator, model_validator

from steward.core.clock import Clock, SystemClock
from steward.notify import _http
from steward.notify._render import email_message, slack_message, webhook_body
from steward.notify.models import DeliveryResult, Notification
from steward.notify.registry import CHANNEL_TYPES, ChannelDeps
from steward.notify.signing import NOTIFICATION_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, sign

USER_AGENT = "steward-notify/1"


class _ChannelConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    timeout_s: float = Field(default=10.0, gt=0, le=120)


# -- Slack ---------------------------------------------------------------------------------------
class SlackConfig(_ChannelConfig):
    """``url`` is the incoming-webhook URL; it carries the token, so it is a secret."""

    allow_http: bool = False
    url: SecretStr
    username: str | None = Field(default=None, max_length=80)
    icon_emoji: str | None = Field(default=None, max_length=64)

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: SecretStr, info: ValidationInfo) -> SecretStr:
        _http.check_url(value.get_secret_value(), allow_http=bool(info.data.get("allow_http")))
        return value


class SlackWebhookChannel:
    """Posts ``{"text": ..., "blocks": [...]}`` to a Slack-compatible incoming webhook
    (Slack, Mattermost, Rocket.Chat).

    >>> ch = SlackWebhookChannel("ops", "https://hooks.slack.com/services/T/B/x")
    >>> ch.name, "hooks.slack.com" in repr(ch)
    ('ops', False)
    """

    def __init__(
        self,
        name: str,
        url: str,
        *,
        username: str | None = None,
        icon_emoji: str | None = None,
        timeout_s: float = 10.0,
        transport: httpx.BaseTransport | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.name = name
        self._url = url
        self._username = username
        self._icon_emoji = icon_emoji
        self._timeout_s = timeout_s
        self._transport = transport
        self._ssl_context = ssl_context

    @classmethod
    def from_config(cls, name: str, config: SlackConfig, deps: ChannelDeps) -> SlackWebhookChannel:
        return cls(
            name,
            config.url.get_secret_value(),
            username=config.username,
            icon_emoji=config.icon_emoji,
            timeout_s=config.timeout_s,
            transport=deps.http_transport,
            ssl_context=deps.ssl_context,
        )

    def __repr__(self) -> str:
        return f"SlackWebhookChannel(name={self.name!r})"

    def send(self, notification: Notification) -> DeliveryResult:
        message = slack_message(notification, username=self._username, icon_emoji=self._icon_emoji)
        content = json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": USER_AGENT}
        return _http.post(
            self._url,
            content,
            headers,
            timeout_s=self._timeout_s,
            transport=self._transport,
            ssl_context=self._ssl_context,
        )


# -- signed webhook ------------------------------------------------------------------------------
class WebhookConfig(_ChannelConfig):
    allow_http: bool = False
    url: str = Field(max_length=2048)
    secret: SecretStr

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str, info: ValidationInfo) -> str:
        return _http.check_url(value, allow_http=bool(info.data.get("allow_http")))

    @field_validator("secret")
    @classmethod
    def _long_secret(cls, value: SecretStr) -> SecretStr:
        if len(value.get_secret_value()) < 16:
            raise ValueError("must be at least 16 characters")
        return value


class WebhookChannel:
    """Posts the notification as JSON, signed with HMAC-SHA256 over ``timestamp + "." + body``
    (see :mod:`steward.notify.signing`); each attempt gets a fresh timestamp and signature."""

    def __init__(
        self,
        name: str,
        url: str,
        secret: str,
        *,
        timeout_s: float = 10.0,
        transport: httpx.BaseTransport | None = None,
        ssl_context: ssl.SSLContext | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.name = name
        self.url = url
        self._secret = secret
        self._timeout_s = timeout_s
        self._transport = transport
        self._ssl_context = ssl_context
        self._clock = clock or SystemClock()

    @classmethod
    def from_config(cls, name: str, config: WebhookConfig, deps: ChannelDeps) -> WebhookChannel:
        return cls(
            name,
            config.url,
            config.secret.get_secret_value(),
            timeout_s=config.timeout_s,
            transport=deps.http_transport,
            ssl_context=deps.ssl_context,
            clock=deps.clock,
        )

    def __repr__(self) -> str:
        return f"WebhookChannel(name={self.name!r}, url={self.url!r})"

    def send(self, notification: Notification) -> DeliveryResult:
        body = webhook_body(notification, channel=self.name)
        timestamp = str(self._clock.now_ms() // 1000)
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": USER_AGENT,
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: sign(self._secret, timestamp, body),
            NOTIFICATION_HEADER: notification.id,
        }
        return _http.post(
            self.url,
            body,
            headers,
            timeout_s=self._timeout_s,
            transport=self._transport,
            ssl_context=self._ssl_context,
        )


# -- email ---------------------------------------------------------------------------------------
def _check_address(value: str) -> str:
    value = value.strip()
    local, _, domain = value.rpartition("@")
    if not local or ("." not in domain and domain != "localhost") or len(value) > 254:
        raise ValueError("must be an email address like name@example.org")
    if any(ch.isspace() or ch in "<>,;" for ch in value):
        raise ValueError("must be a bare address, without spaces, names or separators")
    return value


class EmailConfig(_ChannelConfig):
    """``security``: ``starttls`` (upgrade a plain connection, port 587; never falls back to
    plain text), ``tls`` (implicit TLS, port 465), or ``none`` (loopback relays)."""

    host: str = Field(min_length=1, max_length=253)
    port: int = Field(default=587, ge=1, le=65535)
    security: Literal["starttls", "tls", "none"] = "starttls"
    username: str | None = None
    password: SecretStr | None = None
    sender: str
    recipients: list[str] = Field(min_length=1, max_length=100)
    subject_prefix: str = Field(default="[Steward]", max_length=64)
    ca_file: str | None = None
    helo_name: str | None = None

    @field_validator("sender")
    @classmethod
    def _sender(cls, value: str) -> str:
        return _check_address(value)

    @field_validator("recipients")
    @classmethod
    def _recipients(cls, value: list[str]) -> list[str]:
        return [_check_address(v) for v in value]

    @model_validator(mode="after")
    def _no_password_in_clear(self) -> EmailConfig:
        if (self.username is None) != (self.password is None):
            raise ValueError("username and password go together")
        if self.password is not None and self.security == "none" and not _http.is_loopback(self.host):
            raise ValueError("a password needs security 'starttls' or 'tls' (except to a loopback host)")
        return self


class EmailChannel:
    """Sends a plain-text email through an SMTP relay (``smtplib``)."""

    def __init__(self, name: str, config: EmailConfig, *, ssl_context: ssl.SSLContext | None = None) -> None:
        self.name = name
        self.config = config
        self._ssl_context = ssl_context

    @classmethod
    def from_config(cls, name: str, config: EmailConfig, deps: ChannelDeps) -> EmailChannel:
        return cls(name, config, ssl_context=deps.ssl_context)

    def __repr__(self) -> str:
        return f"EmailChannel(name={self.name!r}, host={self.config.host!r}, port={self.config.port})"

    def _tls(self) -> ssl.SSLContext | None:
        if self.config.security == "none":
            return None
        if self.config.ca_file:
            return ssl.create_default_context(cafile=self.config.ca_file)
        return self._ssl_context or ssl.create_default_context()

    def _open(self, tls: ssl.SSLContext | None) -> smtplib.SMTP:
        cfg = self.config
        if cfg.security == "tls":
            return smtplib.SMTP_SSL(
                cfg.host, cfg.port, local_hostname=cfg.helo_name, timeout=cfg.timeout_s, context=tls
            )
        smtp = smtplib.SMTP(cfg.host, cfg.port, local_hostname=cfg.helo_name, timeout=cfg.timeout_s)
        try:
            if cfg.security == "starttls":
                smtp.starttls(context=tls)
        except BaseException:
            smtp.close()
            raise
        return smtp

    def send(self, notification: Notification) -> DeliveryResult:
        cfg = self.config
        message = email_message(
            notification, sender=cfg.sender, recipients=cfg.recipients, subject_prefix=cfg.subject_prefix
        )
        try:
            tls = self._tls()
        except (OSError, ValueError) as exc:  # a CA file missing or unreadable
            return DeliveryResult.failure(f"cannot load the TLS settings: {exc}", retryable=False)
        try:
            smtp = self._open(tls)
            try:
                if cfg.username is not None and cfg.password is not None:
                    smtp.login(cfg.username, cfg.password.get_secret_value())
                refused = smtp.send_message(message, from_addr=cfg.sender, to_addrs=cfg.recipients)
            finally:
                _quit_quietly(smtp)
        except Exception as exc:  # classified below; a channel reports, it does not raise
            return _smtp_failure(exc)
        if refused:  # some recipients took it: a retry would send them a duplicate
            return DeliveryResult(ok=True, status_code=250, error=f"some recipients refused: {sorted(refused)}")
        return DeliveryResult.success(250)


def _quit_quietly(smtp: smtplib.SMTP) -> None:
    # The message is already accepted; a failing QUIT must not turn it into a retry.
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        smtp.close()


def _reply(code: int, text: bytes | str) -> str:
    text = text.decode(errors="replace") if isinstance(text, bytes) else text
    return f"SMTP {code}: {' '.join(text.split())[:200]}"


def _smtp_failure(exc: Exception) -> DeliveryResult:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = sorted({code for code, _ in exc.recipients.values()})
        transient = all(400 <= c < 500 for c in codes)
        return DeliveryResult.failure(
            f"all recipients refused (SMTP {codes})", status_code=codes[0] if codes else None, retryable=transient
        )
    if isinstance(exc, smtplib.SMTPResponseException):
        code = exc.smtp_code
        return DeliveryResult.failure(_reply(code, exc.smtp_error), status_code=code, retryable=400 <= code < 500)
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return DeliveryResult.failure(f"SMTPServerDisconnected: {exc}", retryable=True)
    if isinstance(exc, smtplib.SMTPException | ssl.SSLError | ValueError):
        # STARTTLS or AUTH unsupported, a certificate refused, a bad CA file: retrying won't help.
        return DeliveryResult.failure(f"{type(exc).__name__}: {exc}", retryable=False)
    if isinstance(exc, OSError):  # refused, reset, timed out: the relay may be back soon
        return DeliveryResult.failure(f"{type(exc).__name__}: {exc}", retryable=True)
    return DeliveryResult.failure(f"{type(exc).__name__}: {exc}", retryable=False)


CHANNEL_TYPES.register(
    "slack", SlackConfig, SlackWebhookChannel.from_config, description="Slack-compatible incoming webhook"
)
CHANNEL_TYPES.register(
    "webhook", WebhookConfig, WebhookChannel.from_config, description="JSON webhook signed with HMAC-SHA256"
)
CHANNEL_TYPES.register("email", EmailConfig, EmailChannel.from_config, description="Email over SMTP")

__all__ = [
    "EmailChannel",
    "EmailConfig",
    "SlackConfig",
    "SlackWebhookChannel",
    "WebhookChannel",
    "WebhookConfig",
]
