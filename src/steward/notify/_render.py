"""What each channel puts on the wire, as pure functions of a notification."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any

from steward.notify.models import Notification, Severity

_ICONS = {Severity.INFO: ":information_source:", Severity.WARNING: ":warning:", Severity.CRITICAL: ":rotating_light:"}
# Slack Block Kit limits: header text 150, section text 3000, field text 2000, 10 fields.
_HEADER_MAX, _SECTION_MAX, _FIELD_MAX, _FIELDS_MAX = 150, 3000, 2000, 10


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def slack_escape(text: str) -> str:
    """Slack's three control characters, so user text cannot forge links or mentions."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _field_value(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def slack_message(
    notification: Notification, *, username: str | None = None, icon_emoji: str | None = None
) -> dict[str, Any]:
    """The incoming-webhook JSON: ``text`` is the fallback for notifications and old clients,
    ``blocks`` the layout: header, body, payload fields, and a context line."""
    n = notification
    icon = _ICONS[n.severity]
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": _cut(n.subject, _HEADER_MAX), "emoji": True}}
    ]
    if n.body:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": _cut(slack_escape(n.body), _SECTION_MAX)}})
    fields = [
        {"type": "mrkdwn", "text": _cut(f"*{slack_escape(k)}*\n{slack_escape(_field_value(v))}", _FIELD_MAX)}
        for k, v in list(n.payload.items())[:_FIELDS_MAX]
    ]
    if fields:
        blocks.append({"type": "section", "fields": fields})
    context = f"{icon} *{n.severity.value}* \u00b7 dedup `{slack_escape(n.dedup_key)}`"
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": context}]})
    message: dict[str, Any] = {
        "text": _cut(f"{icon} [{n.severity.value.upper()}] {slack_escape(n.subject)}", _SECTION_MAX),
        "blocks": blocks,
    }
    if username:
        message["username"] = username
    if icon_emoji:
        message["icon_emoji"] = icon_emoji
    return message


def webhook_body(notification: Notification, *, channel: str) -> bytes:
    """The signed webhook's body: canonical JSON (sorted keys, no spaces, UTF-8)."""
    doc = {"type": "steward.notification", "version": 1, "channel": channel, **notification.to_dict()}
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def email_message(
    notification: Notification, *, sender: str, recipients: Sequence[str], subject_prefix: str = ""
) -> EmailMessage:
    """A plain-text email: the body, then the payload as indented JSON."""
    n = notification
    msg = EmailMessage()
    prefix = f"{subject_prefix} " if subject_prefix else ""
    msg["Subject"] = f"{prefix}[{n.severity.value.upper()}] {n.subject}"
    msg["From"] = sender
    msg["To"] = ", ".join(recipients)
    msg["Date"] = format_datetime(datetime.fromtimestamp(n.created_at / 1000, tz=UTC))
    # An explicit domain: make_msgid() would otherwise ask DNS for this host's name.
    msg["Message-ID"] = make_msgid(idstring=n.id, domain=sender.rpartition("@")[2])
    msg["X-Steward-Severity"] = n.severity.value
    msg["X-Steward-Dedup-Key"] = n.dedup_key
    text = n.body
    if n.payload:
        details = json.dumps(n.payload, indent=2, sort_keys=True, ensure_ascii=False)
        text = f"{text}\n\nDetails:\n{details}" if text else f"Details:\n{details}"
    msg.set_content(text + "\n")
    return msg
