"""Shared plumbing: settings, errors, ids, clock, security primitives."""

from steward.core.config import Settings
from steward.core.errors import (
    AlreadyExists,
    Conflict,
    Forbidden,
    InvalidArgument,
    NotFound,
    StewardError,
    Unauthenticated,
    UserCodeError,
)

__all__ = [
    "AlreadyExists",
    "Conflict",
    "Forbidden",
    "InvalidArgument",
    "NotFound",
    "Settings",
    "StewardError",
    "Unauthenticated",
    "UserCodeError",
]
