"""What a run records about where it ran: Python, platform, packages, git commit."""

from __future__ import annotations

import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path

_PACKAGES = ("mlsteward", "numpy", "pandas", "scikit-learn", "scipy", "xgboost", "lightgbm", "optuna")


def capture_environment() -> dict[str, object]:
    versions = {}
    for name in _PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return {"python": platform.python_version(), "platform": platform.platform(), "packages": versions}


def git_commit(cwd: Path | None = None) -> str | None:
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
