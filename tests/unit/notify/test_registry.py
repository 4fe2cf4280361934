"""The channel registry: built-ins registered like plug-ins, configurations validated,
secrets kept apart."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, SecretStr

from steward.core.errors import AlreadyExists, InvalidArgument
from steward.notify import (
    CHANNEL_TYPES,
    Channel,
    ChannelDeps,
    ChannelRegistry,
    DeliveryResult,
    EmailChannel,
    Notification,
    SlackWebhookChannel,
    WebhookChannel,
)

WEBHOOK = {"url": "https://hooks.example.org/steward", "secret": "s3cret-s3cret-s3cret"}


class PagerConfig(BaseModel):
    routing_key: SecretStr
    service: str = "ml"


class PagerChannel:
    def __init__(self, name: str, config: PagerConfig) -> None:
        self.name = name
        self.config = config

    @classmethod
    def from_config(cls, name: str, config: PagerConfig, deps: ChannelDeps) -> PagerChannel:
        return cls(name, config)

    def send(self, notification: Notification) -> DeliveryResult:
        return DeliveryResult.success()


def test_builtins_are_registered() -> None:
    assert CHANNEL_TYPES.names() == ["email", "slack", "webhook"]
    assert all(t.description for t in CHANNEL_TYPES)


def test_builtins_build_through_the_registry() -> None:
    slack = CHANNEL_TYPES.build("slack", "ops", {"url": "https://hooks.slack.com/services/T/B/x"})
    webhook = CHANNEL_TYPES.build("webhook", "hook", WEBHOOK)
    mail = CHANNEL_TYPES.build(
        "email", "mail", {"host": "smtp.example.org", "sender": "steward@example.org", "recipients": ["a@b.org"]}
    )
    assert isinstance(slack, SlackWebhookChannel) and isinstance(webhook, WebhookChannel)
    assert isinstance(mail, EmailChannel)
    assert all(isinstance(c, Channel) for c in (slack, webhook, mail))
    assert (slack.name, webhook.name, mail.name) == ("ops", "hook", "mail")


def test_a_plugin_registers_the_same_way() -> None:
    registry = ChannelRegistry()
    entry = registry.register("pager", PagerConfig, PagerChannel.from_config, description="pages people")
    assert "pager" in registry and len(registry) == 1
    assert entry.secret_fields == {"routing_key"}
    channel = registry.build("pager", "oncall", {"routing_key": "R0UT1NG"})
    assert isinstance(channel, PagerChannel) and channel.send(Notification("x")).ok


def test_registering_a_taken_name_is_refused_unless_replacing() -> None:
    registry = ChannelRegistry()
    registry.register("pager", PagerConfig, PagerChannel.from_config)
    with pytest.raises(AlreadyExists):
        registry.register("pager", PagerConfig, PagerChannel.from_config)
    registry.register("pager", PagerConfig, PagerChannel.from_config, replace=True)


def test_bad_type_names_are_refused() -> None:
    with pytest.raises(InvalidArgument, match="lowercase"):
        ChannelRegistry().register("Pager Duty", PagerConfig, PagerChannel.from_config)


def test_unknown_type_lists_the_known_ones() -> None:
    with pytest.raises(InvalidArgument, match=r"one of \['email', 'slack', 'webhook'\]. Got 'teams'"):
        CHANNEL_TYPES.get("teams")


def test_secret_fields_come_from_secretstr_annotations() -> None:
    assert CHANNEL_TYPES.get("slack").secret_fields == {"url"}
    assert CHANNEL_TYPES.get("webhook").secret_fields == {"secret"}
    assert CHANNEL_TYPES.get("email").secret_fields == {"password"}


def test_split_keeps_secrets_apart_and_masked_shows_none() -> None:
    kind = CHANNEL_TYPES.get("webhook")
    public, secrets = kind.split(kind.parse(WEBHOOK))
    assert secrets == {"secret": WEBHOOK["secret"]}
    assert public["url"] == WEBHOOK["url"] and "secret" not in public
    assert kind.masked(public, secrets)["secret"] == "********"


@pytest.mark.parametrize(
    ("type_name", "config", "field"),
    [
        ("webhook", {"url": "ftp://x.org/h", "secret": "s" * 20}, "config.url"),
        ("webhook", {"url": "http://hooks.example.org/h", "secret": "s" * 20}, "config.url"),
        ("webhook", {"url": "https://hooks.example.org/h", "secret": "short"}, "config.secret"),
        ("webhook", {"url": "https://hooks.example.org/h", "secret": "s" * 20, "timeout_s": 0}, "config.timeout_s"),
        ("webhook", {"url": "https://hooks.example.org/h", "secret": "s" * 20, "colour": "red"}, "config.colour"),
        ("slack", {"url": "http://hooks.slack.com/services/T/B/x"}, "config.url"),
        ("email", {"host": "smtp.x.org", "sender": "no-at-sign", "recipients": ["a@b.org"]}, "config.sender"),
        ("email", {"host": "smtp.x.org", "sender": "s@x.org", "recipients": []}, "config.recipients"),
        (
            "email",
            {
                "host": "smtp.x.org",
                "sender": "s@x.org",
                "recipients": ["a@b.org"],
                "security": "none",
                "username": "u",
                "password": "p",
            },
            "config",
        ),
    ],
)
def test_bad_configuration_names_the_field(type_name: str, config: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        CHANNEL_TYPES.get(type_name).parse(config)
    assert err.value.field == field


def test_configuration_errors_never_echo_a_secret() -> None:
    token = "https://hooks.slack.com/services/T000/B000/XXXXSECRETXXXX"
    with pytest.raises(InvalidArgument) as err:
        CHANNEL_TYPES.get("slack").parse({"url": token.replace("https", "http")})
    assert "XXXXSECRETXXXX" not in str(err.value)


def test_plain_http_is_allowed_to_loopback_or_when_asked() -> None:
    kind = CHANNEL_TYPES.get("webhook")
    kind.parse({"url": "http://127.0.0.1:9000/h", "secret": "s" * 20})
    kind.parse({"url": "http://[::1]:9000/h", "secret": "s" * 20})
    kind.parse({"url": "http://alertmanager:9093/h", "secret": "s" * 20, "allow_http": True})


def test_reprs_hide_secrets() -> None:
    slack = CHANNEL_TYPES.build("slack", "ops", {"url": "https://hooks.slack.com/services/T/B/TOKEN123"})
    hook = CHANNEL_TYPES.build("webhook", "hook", WEBHOOK)
    mail = CHANNEL_TYPES.build(
        "email",
        "mail",
        {"host": "smtp.x.org", "sender": "s@x.org", "recipients": ["a@b.org"], "username": "u", "password": "PW-9"},
    )
    assert "TOKEN123" not in repr(slack)
    assert WEBHOOK["secret"] not in repr(hook)
    assert "PW-9" not in repr(mail)
