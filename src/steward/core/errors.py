"""The one error tree of Steward.

::

    StewardError                      code            meaning
    ├── InvalidArgument (ValueError)  invalid_argument  the caller sent something that breaks a rule
    ├── NotFound (LookupError)        not_found         the thing named does not exist
    ├── AlreadyExists                 already_exists    a unique name or key is taken
    ├── Conflict                      conflict          the request contradicts stored state
    ├── Unauthenticated               unauthenticated   no or bad credentials
    ├── Forbidden (PermissionError)   forbidden         credentials lack a permission
    ├── IntegrityError                integrity_error   stored bytes do not match their hash
    └── UserCodeError                 user_code_error   a user's estimator, metric or probe raised

Errors carry structured fields so that every entry point (REST problem+json, the MLflow
router, the CLI) renders them the same way without parsing messages. Domain errors know
nothing of HTTP: ``steward.api.problems`` maps them to status codes.
"""

from __future__ import annotations

from typing import Any


class StewardError(Exception):
    """Base of every error Steward raises on purpose."""

    code = "steward_error"

    def __init__(self, message: str, **fields: Any) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields


class InvalidArgument(StewardError, ValueError):
    """A parameter breaks a rule; ``field`` names it."""

    code = "invalid_argument"

    def __init__(self, message: str, *, field: str | None = None, **fields: Any) -> None:
        super().__init__(message, field=field, **fields)
        self.field = field


class NotFound(StewardError, LookupError):
    """``NotFound(kind="run", key="abc")``: the thing named does not exist."""

    code = "not_found"

    def __init__(self, kind: str, key: object, message: str | None = None) -> None:
        super().__init__(message or f"No {kind} with id {key!r}.", kind=kind, key=str(key))
        self.kind = kind
        self.key = str(key)


class AlreadyExists(StewardError):
    code = "already_exists"

    def __init__(self, kind: str, key: object, message: str | None = None) -> None:
        super().__init__(message or f"A {kind} named {key!r} already exists.", kind=kind, key=str(key))
        self.kind = kind
        self.key = str(key)


class Conflict(StewardError):
    """The request contradicts what is stored (e.g. re-logging a param with another value)."""

    code = "conflict"


class Unauthenticated(StewardError):
    code = "unauthenticated"


class Forbidden(StewardError, PermissionError):
    code = "forbidden"

    def __init__(self, message: str, *, permission: str | None = None) -> None:
        super().__init__(message, permission=permission)
        self.permission = permission


class IntegrityError(StewardError):
    """Stored bytes no longer match their recorded sha256."""

    code = "integrity_error"


class UserCodeError(StewardError):
    """User code (an estimator, a custom metric, a probe collector) raised."""

    code = "user_code_error"

    def __init__(self, step: str, cause: BaseException) -> None:
        super().__init__(f"User code failed in step {step!r}: {type(cause).__name__}: {cause}", step=step)
        self.step = step
        self.cause = cause
