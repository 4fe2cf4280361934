"""Mount the web UI on the API app. (Filled in by the web UI work.)"""

from __future__ import annotations

from fastapi import FastAPI

from steward.runtime import Runtime


def mount_web(app: FastAPI, runtime: Runtime) -> None:
    return None
