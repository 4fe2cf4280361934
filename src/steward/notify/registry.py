"""The channel port and the one registry of channel types.

A channel type is a name, a pydantic model of its configuration, and a factory that builds a
:class:`Channel` from a validated configuration. Steward's own Slack, webhook and email
channels register here exactly as a plug-in would::

    from steward.notify import CHANNEL_TYPES

    CHANNEL_TYPES.register("pagerduty", PagerDutyConfig, PagerDutyChannel.from_config)

Configuration fields typed ``SecretStr`` are the channel's secrets: stored apart from the rest,
masked whenever a configuration is shown, and never logged.
"""

from __future__ import annotations

import re
import ssl
import types
import typing
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar, runtime_checkable

import httpx
from pydantic import BaseModel, SecretStr, ValidationError

from steward.core.clock import Clock, SystemClock
from steward.core.errors import AlreadyExists, InvalidArgument
from steward.notify.models import DeliveryResult, Notification

MASK = "********"
_TYPE_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")

C = TypeVar("C", bound=BaseModel)


@runtime_checkable
class Channel(Protocol):
    """Where notifications go. ``send`` makes one attempt and reports failures in the result
    instead of raising; retries, backoff and the log are the caller's job."""

    @property
    def name(self) -> str: ...

    def send(self, notification: Notification) -> DeliveryResult: ...


@dataclass(frozen=True)
class ChannelDeps:
    """What a factory may need beyond configuration: ports tests can replace.

    ``http_transport`` is handed to httpx (``httpx.MockTransport``, ``httpx.ASGITransport``);
    ``ssl_context`` overrides certificate verification (a private CA); ``clock`` dates
    signatures.
    """

    http_transport: httpx.BaseTransport | None = None
    ssl_context: ssl.SSLContext | None = None
    clock: Clock = field(default_factory=SystemClock)


def _is_secret(annotation: object) -> bool:
    if annotation is SecretStr:
        return True
    origin = typing.get_origin(annotation)
    if origin is typing.Union or origin is types.UnionType:
        return any(_is_secret(arg) for arg in typing.get_args(annotation))
    return False


@dataclass(frozen=True)
class ChannelType(Generic[C]):
    """One registered kind of channel."""

    name: str
    config_model: type[C]
    factory: Callable[[str, C, ChannelDeps], Channel]
    description: str = ""

    @property
    def secret_fields(self) -> frozenset[str]:
        return frozenset(k for k, f in self.config_model.model_fields.items() if _is_secret(f.annotation))

    def parse(self, config: Mapping[str, Any]) -> C:
        """Validate ``config``; errors name the field and never echo a secret's value."""
        try:
            return self.config_model.model_validate(dict(config))
        except ValidationError as exc:
            err = exc.errors(include_url=False, include_input=False)[0]
            where = ".".join(str(p) for p in err["loc"])
            if not where:  # a rule across fields
                raise InvalidArgument(
                    f"The {self.name!r} channel configuration is invalid: {err['msg']}.", field="config"
                ) from None
            raise InvalidArgument(
                f"The {where!r} field of a {self.name!r} channel configuration is invalid: {err['msg']}.",
                field=f"config.{where}",
            ) from None

    def split(self, config: C) -> tuple[dict[str, Any], dict[str, str]]:
        """``(public, secrets)``: what may be shown, and the secret values to store apart."""
        secret_names = self.secret_fields
        public = config.model_dump(mode="json", exclude=set(secret_names))
        secrets: dict[str, str] = {}
        for key in secret_names:
            value = getattr(config, key)
            if isinstance(value, SecretStr):
                secrets[key] = value.get_secret_value()
        return public, secrets

    def masked(self, public: Mapping[str, Any], secrets: Mapping[str, str]) -> dict[str, Any]:
        return {**public, **{key: MASK for key in secrets}}

    def build(self, name: str, config: Mapping[str, Any], deps: ChannelDeps | None = None) -> Channel:
        return self.factory(name, self.parse(config), deps or ChannelDeps())


class ChannelRegistry:
    """Channel types by name. :data:`CHANNEL_TYPES` is the one Steward uses."""

    def __init__(self) -> None:
        self._types: dict[str, ChannelType[Any]] = {}

    def register(
        self,
        name: str,
        config_model: type[C],
        factory: Callable[[str, C, ChannelDeps], Channel],
        *,
        description: str = "",
        replace: bool = False,
    ) -> ChannelType[C]:
        """Add a channel type; ``replace=True`` swaps out an existing one of that name."""
        if not _TYPE_NAME.match(name):
            raise InvalidArgument(
                "The 'name' of a channel type must be lowercase letters, digits, '-' or '_', "
                f"starting with a letter. Got {name!r} instead.",
                field="name",
            )
        if name in self._types and not replace:
            raise AlreadyExists("channel type", name)
        entry = ChannelType(name, config_model, factory, description)
        self._types[name] = entry
        return entry

    def get(self, name: str) -> ChannelType[Any]:
        try:
            return self._types[name]
        except KeyError:
            raise InvalidArgument(
                f"The channel 'type' must be one of {self.names()}. Got {name!r} instead.", field="type"
            ) from None

    def names(self) -> list[str]:
        return sorted(self._types)

    def build(self, type_name: str, name: str, config: Mapping[str, Any], deps: ChannelDeps | None = None) -> Channel:
        """Validate ``config`` for ``type_name`` and build the channel."""
        return self.get(type_name).build(name, config, deps)

    def __contains__(self, name: object) -> bool:
        return name in self._types

    def __iter__(self) -> Iterator[ChannelType[Any]]:
        return iter([self._types[n] for n in self.names()])

    def __len__(self) -> int:
        return len(self._types)


CHANNEL_TYPES = ChannelRegistry()
"""Every channel type Steward knows; the built-ins register here like any extension."""
