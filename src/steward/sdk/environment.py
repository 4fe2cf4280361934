"""What a run records about where it ran: Python, platform, packages, git commit."""

from __future__ import annotations

import functools
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path

_PACKAGES = ("mlsteward", "numpy", "pandas", "scikit-learn", "scipy", "xgboost", "lightgbm", "optuna")


@functools.cache
def capture_environment() -> dict[str, object]:
    """Cached: a process's interpreter and installed packages do not change while it runs."""
    versions = {}
    for name in _PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return {"python": platform.python_version(), "platform": platform.platform(), "packages": versions}


@functools.cache
def git_commit(cwd: Path | None = None) -> str | None:
    """The checked-out commit (cached per folder: asking git costs a process per call)."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, timeout=5, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    commit = out.stdout.strip()
    return commit if out.returncode == 0 and len(commit) == 40 else None


def source_name() -> str:
    return sys.argv[0] if sys.argv and sys.argv[0] else "<interactive>"
