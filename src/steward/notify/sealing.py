"""Channel secrets encrypted at rest.

The ``secrets`` column of a channel holds JSON: one entry per secret field, its value a Fernet
token, ``{"url": {"fernet": "gAAAA..."}}``. Field names stay readable so that a channel can be
shown (masked) without decrypting anything; only sending and updating decrypt. A plain string
value is a row written before encryption: it still reads, and is encrypted on the next write.

The key is derived (HKDF-SHA256, label :data:`LABEL`) from the platform secret; retired
platform secrets in ``STEWARD_SECRET_KEY_PREVIOUS`` still decrypt (``MultiFernet``), and every
write encrypts under the current one.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from steward.core.config import Settings
from steward.core.errors import Conflict
from steward.core.platform_secret import derive_key, platform_secret, previous_secrets

LABEL = "steward/notify/channel-secrets/v1"
_TOKEN = "fernet"


class ChannelSecretError(Conflict):
    """A channel's stored secrets cannot be decrypted with the keys this process has."""

    def __init__(self, channel: str) -> None:
        super().__init__(
            f"The secrets of notification channel {channel!r} cannot be decrypted with the current platform "
            "secret: they were encrypted under another key. Set STEWARD_SECRET_KEY to the key they were "
            "written with, or list that key in STEWARD_SECRET_KEY_PREVIOUS (comma-separated), or configure "
            "the channel again with its secret values.",
            channel=channel,
        )
        self.channel = channel


class SecretBox:
    """Seals and opens channel secrets; the keys are read on first use, not when built.

    >>> box = SecretBox(lambda: ("current-secret", ["old-secret"]))
    >>> stored = box.seal({"url": "https://hooks.example.org/T0/B0/xyz"})
    >>> "xyz" in str(stored), box.open("ops", stored)
    (False, {'url': 'https://hooks.example.org/T0/B0/xyz'})
    """

    def __init__(self, keys: Callable[[], tuple[str, Sequence[str]]]) -> None:
        self._keys = keys

    @classmethod
    def from_settings(cls, settings: Settings) -> SecretBox:
        return cls(lambda: (platform_secret(settings), previous_secrets(settings)))

    @functools.cached_property
    def _fernet(self) -> MultiFernet:
        current, previous = self._keys()
        return MultiFernet([Fernet(derive_key(s, LABEL)) for s in (current, *previous)])

    def seal(self, values: Mapping[str, str]) -> dict[str, Any]:
        """``values`` encrypted under the current key, in the column's form."""
        return {k: {_TOKEN: self._fernet.encrypt(v.encode()).decode()} for k, v in values.items()}

    def open(self, channel: str, stored: Mapping[str, Any]) -> dict[str, str]:
        """The plain values of ``stored`` (the column of channel ``channel``)."""
        out: dict[str, str] = {}
        for key, value in stored.items():
            if isinstance(value, str):  # written before encryption at rest
                out[key] = value
                continue
            try:
                out[key] = self._fernet.decrypt(str(value[_TOKEN]).encode()).decode()
            except (InvalidToken, KeyError, TypeError):
                raise ChannelSecretError(channel) from None
        return out
