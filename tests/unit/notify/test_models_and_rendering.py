"""Notifications and what each channel puts on the wire."""

from __future__ import annotations

import json
import math

import pytest

from steward.core.errors import InvalidArgument
from steward.notify import Notification, Severity
from steward.notify._render import email_message, slack_message, webhook_body
from steward.notify.models import ChannelInfo


def test_severity_accepts_strings_and_orders() -> None:
    n = Notification("Drift", severity="CRITICAL")
    assert n.severity is Severity.CRITICAL
    assert Severity.INFO.rank < Severity.WARNING.rank < Severity.CRITICAL.rank


def test_subject_is_one_line() -> None:
    assert Notification("Drift\r\nBcc: everyone@example.org").subject == "Drift Bcc: everyone@example.org"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"subject": ""}, "subject"),
        ({"subject": "x" * 300}, "subject"),
        ({"subject": "x", "severity": "panic"}, "severity"),
        ({"subject": "x", "payload": {"psi": math.nan}}, "payload"),
        ({"subject": "x", "payload": {1: "a"}}, "payload"),
        ({"subject": "x", "payload": {"when": object()}}, "payload"),
        ({"subject": "x", "dedup_key": "a\nb"}, "dedup_key"),
        ({"subject": "x", "id": "i" * 65}, "id"),
    ],
)
def test_bad_notifications_name_the_field(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        Notification(**kwargs)  # type: ignore[arg-type]
    assert err.value.field == field


def test_payload_is_a_detached_json_copy() -> None:
    source = {"columns": ("a", "b"), "psi": 0.2}
    n = Notification("Drift", payload=source)
    source["psi"] = 0.9
    assert n.payload == {"columns": ["a", "b"], "psi": 0.2}


def test_default_dedup_key_is_stable_for_the_same_news() -> None:
    a = Notification("Drift on churn", "body 1", severity="warning", payload={"psi": 0.2})
    b = Notification("Drift on churn", "body 2", severity="warning", payload={"psi": 0.2})
    c = Notification("Drift on churn", "body 1", severity="critical", payload={"psi": 0.2})
    assert a.dedup_key == b.dedup_key != c.dedup_key
    assert a.id != b.id


def test_channel_info_accepts_by_severity_and_enabled() -> None:
    info = ChannelInfo("pager", "webhook", {}, True, Severity.CRITICAL, 0, 0)
    assert info.accepts(Severity.CRITICAL) and not info.accepts(Severity.WARNING)
    assert not ChannelInfo("off", "webhook", {}, False, Severity.INFO, 0, 0).accepts(Severity.CRITICAL)


def test_slack_message_has_text_and_blocks_and_escapes_control_characters() -> None:
    n = Notification(
        "Drift <!channel>", "PSI > 0.2 & rising", severity="critical", payload={"psi": 0.31, "cols": ["a"]}
    )
    msg = slack_message(n, username="steward")
    assert msg["text"] == ":rotating_light: [CRITICAL] Drift &lt;!channel&gt;"
    assert msg["username"] == "steward"
    types = [b["type"] for b in msg["blocks"]]
    assert types == ["header", "section", "section", "context"]
    assert msg["blocks"][0]["text"] == {"type": "plain_text", "text": "Drift <!channel>", "emoji": True}
    assert msg["blocks"][1]["text"]["text"] == "PSI &gt; 0.2 &amp; rising"
    assert [f["text"] for f in msg["blocks"][2]["fields"]] == ["*psi*\n0.31", '*cols*\n["a"]']


def test_slack_message_keeps_to_block_kit_limits() -> None:
    n = Notification("s" * 256, "b" * 10_000, payload={f"k{i}": "v" * 3000 for i in range(15)})
    msg = slack_message(n)
    assert len(msg["blocks"][0]["text"]["text"]) == 150
    assert len(msg["blocks"][1]["text"]["text"]) == 3000
    fields = msg["blocks"][2]["fields"]
    assert len(fields) == 10 and all(len(f["text"]) <= 2000 for f in fields)


def test_webhook_body_is_canonical_utf8_json() -> None:
    n = Notification("Drift", "café ✓", payload={"b": 1, "a": 2}, created_at=5, id="n1")
    body = webhook_body(n, channel="hook")
    assert "café ✓".encode() in body and b" " not in body.replace("café ✓".encode(), b"")
    doc = json.loads(body)
    assert doc == {
        "type": "steward.notification",
        "version": 1,
        "channel": "hook",
        "id": "n1",
        "subject": "Drift",
        "body": "café ✓",
        "severity": "info",
        "payload": {"a": 2, "b": 1},
        "dedup_key": n.dedup_key,
        "created_at": 5,
    }
    assert webhook_body(n, channel="hook") == body


def test_email_message_headers_and_body() -> None:
    n = Notification("Drift on churn", "PSI 0.31", severity="warning", payload={"psi": 0.31}, id="abc")
    msg = email_message(n, sender="steward@example.org", recipients=["a@x.org", "b@y.org"], subject_prefix="[S]")
    assert msg["Subject"] == "[S] [WARNING] Drift on churn"
    assert msg["To"] == "a@x.org, b@y.org"
    assert msg["Message-ID"].endswith("@example.org>") and "abc" in msg["Message-ID"]
    assert msg["X-Steward-Dedup-Key"] == n.dedup_key
    text = msg.get_content()
    assert text.startswith("PSI 0.31\n\nDetails:\n") and '"psi": 0.31' in text
