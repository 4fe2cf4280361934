"""Compose the whole server: REST API, web UI, static assets, on one runtime.

``create_app`` is what ``steward server`` runs under uvicorn.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI
from pydantic import SecretStr

from steward.api.app import create_api
from steward.auth import service as auth_service
from steward.core.config import Settings
from steward.core.platform_secret import platform_secret
from steward.runtime import Runtime

log = logging.getLogger("steward.server")


def persistent_secret(settings: Settings) -> Settings:
    """``settings`` with the stable platform secret (STEWARD_SECRET_KEY, else the home file that
    every process on this home shares), so cookies survive restarts and replicas agree."""
    return settings.model_copy(update={"secret_key": SecretStr(platform_secret(settings))})


def bootstrap_admin(runtime: Runtime) -> str | None:
    """Create the first admin if there are no users yet; return a generated password."""
    pw = runtime.settings.admin_password.get_secret_value() if runtime.settings.admin_password else None
    with runtime.uow() as uow:
        generated = auth_service.ensure_admin(uow, pw)
        uow.commit()
    return generated


def create_app(runtime: Runtime) -> FastAPI:
    app = create_api(runtime)
    from steward.web.app import mount_web

    mount_web(app, runtime)
    return app


def build(settings: Settings) -> tuple[FastAPI, Runtime, str | None]:
    settings = persistent_secret(settings)
    runtime = Runtime.from_settings(settings)
    generated = bootstrap_admin(runtime)
    return create_app(runtime), runtime, generated
