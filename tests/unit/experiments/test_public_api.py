"""The curated surface of steward.experiments, and its docstring examples."""

from __future__ import annotations

import doctest
import importlib

import pytest

import steward.experiments as experiments

MODULES = ["assignment", "power", "analysis", "srm", "sequential", "cuped", "recommend", "report"]


def test_all_is_unique_and_complete() -> None:
    names = experiments.__all__
    assert len(names) == len(set(names))
    assert all(hasattr(experiments, name) for name in names)
    public_classes_and_functions = {
        name
        for module in MODULES
        for name, value in vars(importlib.import_module(f"steward.experiments.{module}")).items()
        if not name.startswith("_")
        and callable(value)
        and getattr(value, "__module__", "") == f"steward.experiments.{module}"
    }
    assert public_classes_and_functions <= set(names)


@pytest.mark.parametrize("module", MODULES)
def test_docstring_examples_run(module: str) -> None:
    result = doctest.testmod(importlib.import_module(f"steward.experiments.{module}"))
    assert result.failed == 0
    assert result.attempted > 0
