"""Every registered notification channel type keeps the channel contract, built through the
registry from a configuration, against a real receiver on loopback."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from tests.support.net import free_port, serve

from steward.notify import CHANNEL_TYPES, Channel
from steward.testing import check_notification_channel
from steward.testing.notify import ChannelReceiver, HttpReceiver, SmtpReceiver, serve_smtp

SECRET = "whsec-contract-0123456789"
SLACK_TOKEN = "T0/B0/contract-token-xyz"
SMTP_PASSWORD = "unused-but-secret"


@dataclass
class Receivers:
    http: HttpReceiver
    http_url: str
    signed: HttpReceiver
    signed_url: str
    smtp: SmtpReceiver
    smtp_port: int


@dataclass
class Case:
    config: Callable[[Receivers, str], dict[str, Any]]  # (receivers, base URL or port) -> config
    receiver: Callable[[Receivers], ChannelReceiver]
    target: Callable[[Receivers], str]
    secrets: tuple[str, ...]


def _email(r: Receivers, port: str) -> dict[str, Any]:
    return {
        "host": "127.0.0.1",
        "port": int(port),
        "security": "none",
        "sender": "steward@example.org",
        "recipients": ["oncall@example.org"],
        "timeout_s": 5,
    }


CASES: dict[str, Case] = {
    "slack": Case(
        config=lambda r, base: {"url": f"{base}/services/{SLACK_TOKEN}", "timeout_s": 5},
        receiver=lambda r: r.http,
        target=lambda r: r.http_url,
        secrets=(SLACK_TOKEN,),
    ),
    "webhook": Case(
        config=lambda r, base: {"url": f"{base}/steward", "secret": SECRET, "timeout_s": 5},
        receiver=lambda r: r.signed,
        target=lambda r: r.signed_url,
        secrets=(SECRET,),
    ),
    "email": Case(
        config=_email,
        receiver=lambda r: r.smtp,
        target=lambda r: str(r.smtp_port),
        secrets=(),
    ),
}


@pytest.fixture(scope="module")
def receivers() -> Iterator[Receivers]:
    pytest.importorskip("aiosmtpd")
    http, signed, smtp = HttpReceiver(), HttpReceiver(secret=SECRET), SmtpReceiver()
    with serve(http) as http_url, serve(signed) as signed_url, serve_smtp(smtp) as (_, smtp_port):
        yield Receivers(http, http_url, signed, signed_url, smtp, smtp_port)


def test_every_registered_channel_type_has_a_contract_case() -> None:
    assert sorted(CASES) == CHANNEL_TYPES.names(), "add a contract case for each new channel type"


@pytest.mark.parametrize("type_name", CHANNEL_TYPES.names())
def test_channel_type_keeps_the_contract(type_name: str, receivers: Receivers) -> None:
    case = CASES[type_name]
    channel: Channel = CHANNEL_TYPES.build(
        type_name, f"contract-{type_name}", case.config(receivers, case.target(receivers))
    )
    dead = f"http://127.0.0.1:{free_port()}" if type_name != "email" else str(free_port())
    unreachable = CHANNEL_TYPES.build(type_name, "down", case.config(receivers, dead))
    check_notification_channel(channel, case.receiver(receivers), unreachable=unreachable, secrets=case.secrets)


def test_the_check_catches_a_channel_that_raises() -> None:
    class Raising:
        name = "raising"

        def send(self, notification: object) -> object:
            raise RuntimeError("boom")

    class NullReceiver:
        def accepted(self) -> list[str]:
            return []

        def fail_next(self, count: int, *, permanent: bool = False) -> None:
            pass

        def reset(self) -> None:
            pass

    with pytest.raises(AssertionError, match="not raise"):
        check_notification_channel(Raising(), NullReceiver())  # type: ignore[arg-type]


def test_the_check_catches_a_channel_that_leaks_its_secret(receivers: Receivers) -> None:
    class Leaky:
        def __init__(self, inner: Channel) -> None:
            self.inner = inner
            self.name = inner.name

        def send(self, notification: Any) -> Any:
            return self.inner.send(notification)

        def __repr__(self) -> str:
            return f"Leaky(secret={SECRET!r})"

    inner = CHANNEL_TYPES.build("webhook", "leaky", {"url": f"{receivers.signed_url}/s", "secret": SECRET})
    with pytest.raises(AssertionError, match="secrets"):
        check_notification_channel(Leaky(inner), receivers.signed, secrets=(SECRET,))
