"""Identifier generation."""

from __future__ import annotations

import uuid


def new_id() -> str:
    """A 32-hex-digit random id, the form MLflow uses for run ids."""
    return uuid.uuid4().hex
