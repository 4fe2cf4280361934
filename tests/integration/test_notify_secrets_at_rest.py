"""Channel secrets encrypted at rest: the raw column holds only Fernet tokens, the key comes
from the platform secret (STEWARD_SECRET_KEY or STEWARD_HOME/secret_key), retired keys still
decrypt, and a wrong key fails clearly instead of sending or leaking anything."""

from __future__ import annotations

import json
import logging
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from tests.support.net import serve

from steward.core.config import Settings
from steward.core.platform_secret import derive_key, platform_secret
from steward.notify import (
    ChannelSecretError,
    DeliveryStatus,
    Dispatcher,
    Notification,
    RetryPolicy,
    configure_channel,
    enqueue,
    get_channel,
    get_delivery,
    list_channels,
    verify_signature,
)
from steward.notify.sealing import LABEL
from steward.runtime import Runtime
from steward.testing.notify import HttpReceiver

HMAC_KEY = "whsec-at-rest-0123456789abcdef"
SLACK_URL = "https://hooks.slack.com/services/T0AT/B0REST/xoxb-at-rest-token-42"
SMTP_PASSWORD = "smtp-pass-at-rest-9876"
FAST = RetryPolicy(max_attempts=2, base_delay_s=0.005, max_delay_s=0.01, jitter=0)


@pytest.fixture(scope="module")
def hook() -> Iterator[tuple[HttpReceiver, str]]:
    receiver = HttpReceiver(secret=HMAC_KEY, tolerance_s=300)
    with serve(receiver) as url:
        yield receiver, url


@pytest.fixture
def receiver(hook: tuple[HttpReceiver, str]) -> HttpReceiver:
    hook[0].reset()
    return hook[0]


def _settings(home: Path, **overrides: Any) -> Settings:
    return Settings(home=home, sqlite_synchronous="NORMAL", **overrides)


def _raw_secrets(rt: Runtime, name: str) -> str:
    """The ``secrets`` column as the database holds it, read with plain SQL."""
    with rt.engine.connect() as conn:
        value = conn.execute(text("SELECT secrets FROM notify_channels WHERE name = :n"), {"n": name}).scalar_one()
    return value if isinstance(value, str) else json.dumps(value)


def _webhook(rt: Runtime, url: str, name: str = "ops", **config: Any) -> None:
    with rt.uow() as uow:
        configure_channel(uow, name, "webhook", {"url": f"{url}/{name}", "secret": HMAC_KEY, **config})
        uow.commit()


def _send(rt: Runtime, channel: str = "ops") -> str:
    with rt.uow() as uow:
        [delivery_id] = enqueue(uow, Notification("Drift on churn", severity="critical"), channels=[channel])
        uow.commit()
    Dispatcher(rt.uow, policy=FAST).dispatch([delivery_id])
    return delivery_id


def _fernet_open(secret: str, token: str) -> str:
    from cryptography.fernet import Fernet

    return Fernet(derive_key(secret, LABEL)).decrypt(token.encode()).decode()


def test_the_raw_column_holds_no_secret_value(store_runtime: Runtime) -> None:
    rt = store_runtime
    with rt.uow() as uow:
        configure_channel(uow, "slack", "slack", {"url": SLACK_URL})
        configure_channel(uow, "hook", "webhook", {"url": "https://hooks.example.org/a", "secret": HMAC_KEY})
        configure_channel(
            uow,
            "mail",
            "email",
            {"host": "smtp.example.org", "username": "steward", "password": SMTP_PASSWORD,
             "sender": "steward@example.org", "recipients": ["ops@example.org"]},
        )  # fmt: skip
        uow.commit()
    raws = {name: _raw_secrets(rt, name) for name in ("slack", "hook", "mail")}
    for raw in raws.values():
        for secret in (SLACK_URL, "xoxb-at-rest-token-42", HMAC_KEY, SMTP_PASSWORD):
            assert secret not in raw
    stored = json.loads(raws["slack"])
    assert set(stored) == {"url"} and stored["url"]["fernet"].startswith("gAAAA")
    assert _fernet_open(platform_secret(rt.settings), stored["url"]["fernet"]) == SLACK_URL
    with rt.uow() as uow:  # shown masked without decrypting anything
        assert get_channel(uow, "mail").config["password"] == "********"
        assert uow.notify.channel_secrets(uow.notify.channel("mail")) == {"password": SMTP_PASSWORD}  # type: ignore[arg-type]


def test_the_home_file_key_survives_a_restart(tmp_path: Path, receiver: HttpReceiver, hook: Any) -> None:
    rt = Runtime.from_settings(_settings(tmp_path))
    _webhook(rt, hook[1])
    rt.close()
    key_file = tmp_path / "secret_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600

    # Another process on the same home (the server after the CLI wrote the channel).
    again = Runtime.from_settings(_settings(tmp_path))
    try:
        delivery_id = _send(again)
        with again.uow() as uow:
            assert get_delivery(uow, delivery_id).status is DeliveryStatus.DELIVERED
    finally:
        again.close()
    [request] = receiver.requests
    h = request.headers
    assert verify_signature(HMAC_KEY, h["x-steward-timestamp"], request.body, h["x-steward-signature"])


def test_server_and_cli_use_the_same_platform_secret(tmp_path: Path) -> None:
    from steward.server import persistent_secret

    cli = _settings(tmp_path)
    server = persistent_secret(_settings(tmp_path))
    assert server.secret_key.get_secret_value() == platform_secret(cli) == platform_secret(server)
    explicit = _settings(tmp_path, secret_key="from-the-environment")
    assert platform_secret(explicit) == "from-the-environment"
    assert persistent_secret(explicit).secret_key.get_secret_value() == "from-the-environment"


def test_rotation_reads_under_a_previous_key_and_rewrites_under_the_new_one(
    tmp_path: Path, receiver: HttpReceiver, hook: Any
) -> None:
    old = Runtime.from_settings(_settings(tmp_path, secret_key="old-platform-secret"))
    _webhook(old, hook[1])
    old.close()

    rt = Runtime.from_settings(
        _settings(tmp_path, secret_key="new-platform-secret", secret_key_previous="older-one, old-platform-secret")
    )
    try:
        with rt.uow() as uow:
            row = uow.notify.channel("ops")
            assert row is not None and uow.notify.channel_secrets(row) == {"secret": HMAC_KEY}
        before = json.loads(_raw_secrets(rt, "ops"))["secret"]["fernet"]
        assert _fernet_open("old-platform-secret", before) == HMAC_KEY
        assert _send(rt) and len(receiver.requests) == 1 and receiver.requests[0].status == 200

        with rt.uow() as uow:  # an update that leaves the secret out keeps it, re-encrypted
            configure_channel(uow, "ops", "webhook", {"url": f"{hook[1]}/ops", "secret": "********"})
            uow.commit()
        after = json.loads(_raw_secrets(rt, "ops"))["secret"]["fernet"]
        assert _fernet_open("new-platform-secret", after) == HMAC_KEY
    finally:
        rt.close()
    # The old key may now be retired.
    new_only = Runtime.from_settings(_settings(tmp_path, secret_key="new-platform-secret"))
    try:
        with new_only.uow() as uow:
            row = uow.notify.channel("ops")
            assert row is not None and uow.notify.channel_secrets(row) == {"secret": HMAC_KEY}
    finally:
        new_only.close()


def test_a_wrong_key_fails_clearly_and_the_delivery_fails_with_the_reason(
    tmp_path: Path, receiver: HttpReceiver, hook: Any, caplog: pytest.LogCaptureFixture
) -> None:
    first = Runtime.from_settings(_settings(tmp_path, secret_key="the-right-secret"))
    _webhook(first, hook[1])
    ciphertext = json.loads(_raw_secrets(first, "ops"))["secret"]["fernet"]
    first.close()

    rt = Runtime.from_settings(_settings(tmp_path, secret_key="a-wrong-secret"))
    try:
        with rt.uow() as uow:  # still listed and shown: nothing there needs the key
            assert [c.name for c in list_channels(uow)] == ["ops"]
            with pytest.raises(ChannelSecretError, match=r"'ops'.*STEWARD_SECRET_KEY_PREVIOUS"):
                configure_channel(uow, "ops", "webhook", {"url": f"{hook[1]}/ops"})

        # Enqueued under the wrong key: failed at once, with the reason, and nothing sent.
        with caplog.at_level(logging.INFO, logger="steward"):
            with rt.uow() as uow:
                [queued] = enqueue(uow, Notification("Drift"), channels=["ops"])
                uow.commit()
            with rt.uow() as uow:
                at_enqueue = get_delivery(uow, queued)
        assert at_enqueue.status is DeliveryStatus.FAILED and at_enqueue.attempts == ()
        assert "cannot be decrypted" in (at_enqueue.last_error or "") and "STEWARD_SECRET_KEY" in at_enqueue.last_error
        assert receiver.requests == []
        assert ciphertext not in caplog.text

        # Re-entering the secret mends the channel under the current key.
        _webhook(rt, hook[1])
        with rt.uow() as uow:
            assert get_delivery(uow, _send(rt)).status is DeliveryStatus.DELIVERED
    finally:
        rt.close()


def test_the_dispatcher_fails_a_pending_delivery_whose_channel_it_cannot_decrypt(
    tmp_path: Path, receiver: HttpReceiver, hook: Any, caplog: pytest.LogCaptureFixture
) -> None:
    first = Runtime.from_settings(_settings(tmp_path, secret_key="the-right-secret"))
    _webhook(first, hook[1])
    with first.uow() as uow:
        [delivery_id] = enqueue(uow, Notification("Drift"), channels=["ops"])
        uow.commit()
    ciphertext = json.loads(_raw_secrets(first, "ops"))["secret"]["fernet"]
    first.close()

    rt = Runtime.from_settings(_settings(tmp_path, secret_key="a-wrong-secret"))
    try:
        with caplog.at_level(logging.INFO, logger="steward"):
            Dispatcher(rt.uow, policy=FAST).dispatch([delivery_id])
        with rt.uow() as uow:
            failed = get_delivery(uow, delivery_id)
    finally:
        rt.close()
    assert failed.status is DeliveryStatus.FAILED and failed.attempts == ()
    assert "'ops'" in (failed.last_error or "") and "STEWARD_SECRET_KEY_PREVIOUS" in (failed.last_error or "")
    assert receiver.requests == []
    assert "cannot be decrypted" in caplog.text and ciphertext not in caplog.text and HMAC_KEY not in caplog.text


def test_rows_written_in_plain_text_still_read_and_are_encrypted_on_the_next_write(
    store_runtime: Runtime, receiver: HttpReceiver, hook: Any
) -> None:
    rt = store_runtime
    _webhook(rt, hook[1])
    with rt.engine.begin() as conn:  # as the column was before encryption at rest
        conn.execute(
            text("UPDATE notify_channels SET secrets = :s WHERE name = 'ops'"),
            {"s": json.dumps({"secret": HMAC_KEY})},
        )
    assert HMAC_KEY in _raw_secrets(rt, "ops")
    with rt.uow() as uow:
        assert get_delivery(uow, _send(rt)).status is DeliveryStatus.DELIVERED
    [request] = receiver.requests
    assert verify_signature(
        HMAC_KEY, request.headers["x-steward-timestamp"], request.body, request.headers["x-steward-signature"]
    )
    with rt.uow() as uow:
        configure_channel(uow, "ops", "webhook", {"url": f"{hook[1]}/ops"}, min_severity="warning")
        uow.commit()
    raw = _raw_secrets(rt, "ops")
    assert HMAC_KEY not in raw and json.loads(raw)["secret"]["fernet"].startswith("gAAAA")
