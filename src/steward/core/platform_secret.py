"""The platform secret: one stable key per installation, and the keys derived from it.

It signs session cookies and encrypts notification channel secrets at rest, so the CLI and
the server must agree on it. ``STEWARD_SECRET_KEY`` wins when set; otherwise the key lives in
``STEWARD_HOME/secret_key`` (created mode 0600 on first use), which every process on that home
shares. ``STEWARD_SECRET_KEY_PREVIOUS`` (comma-separated) lists retired keys that may still
decrypt values written under them.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from steward.core.config import Settings

SECRET_FILE = "secret_key"


def secret_file(settings: Settings) -> Path:
    return Path(settings.home) / SECRET_FILE


def from_environment(settings: Settings) -> bool:
    """Whether the secret key was given (STEWARD_SECRET_KEY or explicitly), not generated."""
    return "secret_key" in settings.model_fields_set


def platform_secret(settings: Settings) -> str:
    """The current platform secret of ``settings``; creates the home file if it must."""
    if from_environment(settings):
        return settings.secret_key.get_secret_value()
    path = secret_file(settings)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # O_EXCL: of two processes starting on a fresh home, one writes and both read its key.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_urlsafe(32))
    value = path.read_text().strip()
    if not value:
        raise ValueError(f"The platform secret file {path} is empty; delete it or set STEWARD_SECRET_KEY.")
    return value


def previous_secrets(settings: Settings) -> list[str]:
    """Retired platform secrets, newest first as listed in STEWARD_SECRET_KEY_PREVIOUS."""
    if settings.secret_key_previous is None:
        return []
    return [s.strip() for s in settings.secret_key_previous.get_secret_value().split(",") if s.strip()]


def derive_key(secret: str, label: str) -> bytes:
    """A 32-byte key for one purpose (``label``), urlsafe-base64 encoded as Fernet wants it.

    HKDF-SHA256 keeps keys for different purposes independent: knowing one says nothing of the
    platform secret or of the others.
    """
    raw = HKDF(algorithm=SHA256(), length=32, salt=None, info=label.encode()).derive(secret.encode())
    return base64.urlsafe_b64encode(raw)


def fingerprint(secret: str) -> str:
    """Eight hex digits that tell two keys apart without revealing either."""
    return hashlib.sha256(b"steward fingerprint\0" + secret.encode()).hexdigest()[:8]


@dataclass(frozen=True)
class SecretSource:
    """Where the platform secret comes from, for ``steward doctor`` (never the value)."""

    source: str
    fingerprint: str | None
    previous: int

    def describe(self) -> str:
        shown = f"{self.source}, fingerprint {self.fingerprint}" if self.fingerprint else self.source
        return shown + (f"; {self.previous} previous key(s)" if self.previous else "")


def describe_source(settings: Settings) -> SecretSource:
    """Where the secret comes from, without creating the home file."""
    previous = len(previous_secrets(settings))
    if from_environment(settings):
        return SecretSource("environment (STEWARD_SECRET_KEY)", fingerprint(platform_secret(settings)), previous)
    path = secret_file(settings)
    if not path.exists():
        return SecretSource(f"home file {path} (created on first use)", None, previous)
    return SecretSource(f"home file {path}", fingerprint(path.read_text().strip()), previous)
