"""The usage examples in the docstrings of datasets and pipelines run and stay true."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "steward.datasets.fingerprint",
    "steward.datasets.profile",
    "steward.datasets.validation",
    "steward.pipelines._yaml",
    "steward.pipelines.spec",
    "steward.pipelines.model_format",
    "steward.pipelines.transformers",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
