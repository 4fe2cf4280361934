"""Settings and runtime for a command, built once per process from the environment."""

from __future__ import annotations

import functools

from steward.core.config import Settings
from steward.runtime import Runtime


@functools.cache
def settings() -> Settings:
    return Settings()


@functools.cache
def runtime() -> Runtime:
    return Runtime.from_settings(settings())
