"""The package's public surface is exactly its ``__all__``."""

from __future__ import annotations

import steward.notify
import steward.testing


def test_every_name_in_all_exists_and_is_sorted() -> None:
    names = steward.notify.__all__
    assert all(hasattr(steward.notify, name) for name in names)
    assert len(set(names)) == len(names)
    assert names == sorted(names, key=lambda s: (not s.isupper(), s))


def test_contract_check_is_exported() -> None:
    assert "check_notification_channel" in steward.testing.__all__
    assert callable(steward.testing.check_notification_channel)
