"""Sealing channel secrets: Fernet tokens under a key derived from the platform secret."""

from __future__ import annotations

import pytest

from steward.api.problems import status_for
from steward.notify import ChannelSecretError, SecretBox


def _box(current: str, *previous: str) -> SecretBox:
    return SecretBox(lambda: (current, list(previous)))


def test_sealed_values_are_tokens_that_open_to_the_values() -> None:
    box = _box("k1")
    sealed = box.seal({"secret": "whsec-0123456789abcdef"})
    assert "whsec" not in repr(sealed) and set(sealed["secret"]) == {"fernet"}
    assert box.open("ops", sealed) == {"secret": "whsec-0123456789abcdef"}
    assert box.seal({"secret": "x"}) != box.seal({"secret": "x"})  # a fresh IV each time


def test_a_previous_key_opens_and_the_current_one_seals() -> None:
    sealed = _box("old").seal({"url": "https://h.example.org/t"})
    rotated = _box("new", "older", "old")
    assert rotated.open("ops", sealed) == {"url": "https://h.example.org/t"}
    assert _box("new").open("ops", rotated.seal({"url": "u"})) == {"url": "u"}
    with pytest.raises(ChannelSecretError):
        _box("old").open("ops", rotated.seal({"url": "u"}))


@pytest.mark.parametrize("stored", [{"url": {"fernet": "gAAAAnot-a-token"}}, {"url": {"other": 1}}, {"url": 42}])
def test_what_cannot_be_opened_names_the_channel_and_the_fix(stored: dict[str, object]) -> None:
    with pytest.raises(ChannelSecretError) as info:
        _box("k").open("risk-hook", stored)
    message = str(info.value)
    assert "'risk-hook'" in message and "STEWARD_SECRET_KEY" in message and "STEWARD_SECRET_KEY_PREVIOUS" in message
    assert "gAAAA" not in message
    assert info.value.code == "conflict" and status_for(info.value) == 409  # a problem, never a 500


def test_plain_strings_from_before_encryption_read_as_they_are() -> None:
    assert _box("k").open("ops", {"secret": "legacy-plain"}) == {"secret": "legacy-plain"}


def test_keys_are_read_on_first_use_only() -> None:
    calls: list[int] = []

    def keys() -> tuple[str, list[str]]:
        calls.append(1)
        return "k", []

    box = SecretBox(keys)
    assert calls == []
    box.seal({"a": "b"})
    box.seal({"a": "c"})
    assert calls == [1]
