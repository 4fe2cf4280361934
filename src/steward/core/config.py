"""Steward's one Settings object.

Built once by an entry point (CLI, server, SDK) and passed down; nothing else reads the
environment. Every field can be set as ``STEWARD_<NAME>``.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Effective configuration.

    >>> s = Settings(home=Path("/tmp/st"))
    >>> s.database_url
    'sqlite:////tmp/st/steward.db'
    """

    model_config = SettingsConfigDict(env_prefix="STEWARD_", extra="ignore")

    home: Path = Field(default=Path(".steward"), description="Folder for the embedded store and artifacts.")
    database_url: str = Field(default="", description="SQLAlchemy URL; default a SQLite file in home.")
    artifact_root: str = Field(default="", description="Folder or fsspec URL; default home/artifacts.")
    host: str = "127.0.0.1"
    port: int = Field(default=5000, ge=0, le=65535)
    secret_key: SecretStr = Field(default_factory=lambda: SecretStr(secrets.token_urlsafe(32)))
    secret_key_previous: SecretStr | None = Field(
        default=None, description="Retired secret keys, comma-separated, that still decrypt old values."
    )
    admin_password: SecretStr | None = None
    server_url: str | None = None
    token: SecretStr | None = None
    sqlite_synchronous: str = Field(default="FULL", description="SQLite PRAGMA synchronous (FULL is durable).")
    log_json: bool = True
    scheduler: bool = Field(default=True, description="Run scheduled jobs (monitoring windows) in this process.")
    scheduler_tick_s: float = Field(default=30.0, gt=0, description="Seconds between the scheduler's passes.")
    monitoring_retention_days: int = Field(
        default=90, ge=0, description="Days of prediction log and labels kept (0 keeps them forever)."
    )
    secure_cookies: bool = False
    demo: bool = Field(default=True, description="Seed a demo on the first start of a store without user data.")

    @field_validator("sqlite_synchronous")
    @classmethod
    def _check_sync(cls, value: str) -> str:
        allowed = {"OFF", "NORMAL", "FULL", "EXTRA"}
        if value.upper() not in allowed:
            raise ValueError(f"must be one of {sorted(allowed)}, got {value!r}")
        return value.upper()

    @model_validator(mode="after")
    def _fill_defaults(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite:///{self.home.resolve() / 'steward.db'}"
        if not self.artifact_root:
            self.artifact_root = str((self.home / "artifacts").resolve())
        return self

    def masked(self) -> dict[str, Any]:
        """The configuration for display: secrets and passwords in URLs masked."""
        return {
            "home": str(self.home.resolve()),
            "database_url": mask_url(self.database_url),
            "artifact_root": mask_url(self.artifact_root),
            "host": self.host,
            "port": self.port,
            "secret_key": "********",
            "secret_key_previous": "********" if self.secret_key_previous else None,
            "admin_password": "********" if self.admin_password else None,
            "server_url": self.server_url,
            "token": "********" if self.token else None,
            "sqlite_synchronous": self.sqlite_synchronous,
        }


def mask_url(url: str) -> str:
    """Hide the password of ``scheme://user:password@host``."""
    if "://" not in url or "@" not in url:
        return url
    scheme, rest = url.split("://", 1)
    creds, host = rest.rsplit("@", 1)
    user = creds.split(":", 1)[0]
    return f"{scheme}://{user}:********@{host}"
