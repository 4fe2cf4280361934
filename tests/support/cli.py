"""The ``steward`` command as users run it: a subprocess on one STEWARD_HOME, a ``steward serve``
waited for until it answers on loopback; and the CLI in process (``CliRunner``) on a home."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from steward.cli import context
from steward.runtime import Runtime


def command(*args: str) -> list[str]:
    """``steward ARGS`` run by this interpreter (no console script needed)."""
    return [sys.executable, "-m", "steward.cli", *args]


def cli_env(home: Path) -> dict[str, str]:
    return {**os.environ, "STEWARD_HOME": str(home), "STEWARD_SQLITE_SYNCHRONOUS": "NORMAL"}


def steward(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``steward ARGS`` on ``home`` to completion; the caller checks the exit code."""
    return subprocess.run(command(*args), capture_output=True, text=True, env=cli_env(home), timeout=120, check=False)


@contextmanager
def cli_home(home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Runtime]:
    """Point the in-process CLI at ``home``; yield the runtime its commands will use. The CLI
    caches its settings and runtime per process, so they are dropped before and after."""
    monkeypatch.setenv("STEWARD_HOME", str(home))
    monkeypatch.setenv("STEWARD_SQLITE_SYNCHRONOUS", "NORMAL")
    context.runtime.cache_clear()
    context.settings.cache_clear()
    try:
        yield context.runtime()
    finally:
        context.runtime().close()
        context.runtime.cache_clear()
        context.settings.cache_clear()


def wait_ready(url: str, proc: subprocess.Popen[str], timeout: float = 60) -> None:
    """Poll ``url``/readyz until it answers 200. If the process exits or time runs out, kill it
    and fail with the end of its stderr."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            _out, err = proc.communicate()
            raise AssertionError(f"steward serve did not start: {(err or '')[-2000:]}")
        time.sleep(0.1)
