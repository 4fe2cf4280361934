"""Every capability package curates its public surface in an explicit ``__all__``."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import steward

ENTRY_POINTS = {"api", "cli", "web"}  # thin adapters: nothing there is meant for import by users


def _packages() -> list[str]:
    return sorted(
        m.name
        for m in pkgutil.iter_modules(steward.__path__, "steward.")
        if m.ispkg and m.name.rsplit(".", 1)[1] not in ENTRY_POINTS
    )


@pytest.mark.parametrize("name", _packages())
def test_package_declares_and_exports_all(name: str) -> None:
    module = importlib.import_module(name)
    exported = getattr(module, "__all__", None)
    assert exported is not None, f"{name}/__init__.py must declare __all__"
    missing = [n for n in exported if not hasattr(module, n)]
    assert not missing, f"{name}.__all__ names what it does not define: {missing}"


def test_the_top_level_sdk() -> None:
    assert {"start_run", "connect", "Client", "__version__"} <= set(steward.__all__)
