"""The package's public surface is curated, importable, and its docstring examples run."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import steward.evaluation as evaluation


def test_all_names_are_exported_and_sorted() -> None:
    assert evaluation.__all__ == sorted(evaluation.__all__)
    for name in evaluation.__all__:
        assert getattr(evaluation, name) is not None, name


def test_public_modules_export_what_the_package_re_exports() -> None:
    public = [m.name for m in pkgutil.iter_modules(evaluation.__path__) if not m.name.startswith("_")]
    for name in public:
        module = importlib.import_module(f"steward.evaluation.{name}")
        for exported in getattr(module, "__all__", []):
            assert exported in evaluation.__all__, f"{name}.{exported} missing from steward.evaluation"


MODULES = sorted(m.name for m in pkgutil.iter_modules(evaluation.__path__))


@pytest.mark.parametrize("name", ["__init__", *MODULES])
def test_docstring_examples_run(name: str) -> None:
    module = evaluation if name == "__init__" else importlib.import_module(f"steward.evaluation.{name}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
