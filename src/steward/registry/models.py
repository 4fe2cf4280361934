"""Registry domain types and rules (pure, no I/O).

A registered model has numbered versions (1, 2, 3 ... per model, never reused, even after a
delete), tags, and aliases (``champion`` -> version 3). Every move of an alias is an
:class:`AliasEvent`, so "which version was ``champion`` at 14:02 last Tuesday?" has an answer
(:func:`version_at`), which MLflow cannot give (mlflow/mlflow#2169).

>>> events = [AliasEvent("champion", None, 1, "ann", "", 100), AliasEvent("champion", 1, 2, "bob", "", 200)]
>>> version_at(events, 150), version_at(events, 200), version_at(events, 50)
(1, 2, None)
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from steward.core.errors import InvalidArgument

MAX_NAME = 256
MAX_ALIAS = 255
MAX_TAG_KEY = 250
MAX_TAG_VALUE = 100_000
_ALIAS = re.compile(r"^[\w\-]+$")
_VERSION_ALIAS = re.compile(r"^[vV]\d+$")
LATEST = "latest"
# The alias that moves only through promotion gates. Compared in any case ("Production" is the
# same alias), so no spelling slips past the gates; it is stored in this spelling.
PROTECTED_ALIAS = "production"


class Stage(StrEnum):
    """MLflow's (deprecated but still used) version stages."""

    NONE = "None"
    STAGING = "Staging"
    PRODUCTION = "Production"
    ARCHIVED = "Archived"


# A deleted version keeps its row (so its number is never handed out again) in this stage.
DELETED_STAGE = "Deleted_Internal"


class VersionStatus(StrEnum):
    PENDING = "PENDING_REGISTRATION"
    FAILED = "FAILED_REGISTRATION"
    READY = "READY"


class LoggedModelStatus(StrEnum):
    PENDING = "LOGGED_MODEL_PENDING"
    READY = "LOGGED_MODEL_READY"
    FAILED = "LOGGED_MODEL_UPLOAD_FAILED"


@dataclass(frozen=True)
class ModelVersion:
    model_name: str
    version: int
    source: str
    run_id: str | None
    logged_model_id: str | None
    status: str
    stage: str
    description: str
    user_id: str
    creation_time: int
    last_updated_time: int
    tags: dict[str, str] = field(default_factory=dict)
    aliases: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class RegisteredModel:
    id: int
    name: str
    description: str
    creation_time: int
    last_updated_time: int
    tags: dict[str, str] = field(default_factory=dict)
    aliases: dict[str, int] = field(default_factory=dict)
    latest_versions: list[ModelVersion] = field(default_factory=list)


@dataclass(frozen=True)
class AliasEvent:
    """``alias`` moved ``from_version`` -> ``to_version`` (None: it did not exist / was removed)."""

    alias: str
    from_version: int | None
    to_version: int | None
    actor: str
    reason: str
    at: int


@dataclass(frozen=True)
class LoggedModel:
    id: str
    experiment_id: int
    name: str
    source_run_id: str | None
    status: str
    model_type: str
    artifact_location: str
    creation_time: int
    last_updated_time: int
    tags: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)


def check_model_name(name: str, field_name: str = "name") -> str:
    if not isinstance(name, str) or not name.strip():
        raise InvalidArgument(f"The '{field_name}' parameter must be a non-empty model name.", field=field_name)
    if len(name) > MAX_NAME:
        raise InvalidArgument(f"A model name must be at most {MAX_NAME} characters. Got {len(name)}.", field=field_name)
    if "/" in name or ":" in name:
        raise InvalidArgument(f"Invalid model name {name!r}: names cannot contain '/' or ':'.", field=field_name)
    norm = posixpath.normpath(name)
    if norm != name or norm == "." or norm.startswith(".."):
        raise InvalidArgument(f"Invalid model name {name!r}: it would resolve to {norm!r} as a path.", field=field_name)
    return name


def is_protected_alias(alias: str) -> bool:
    """True for the alias promotion gates guard, in any spelling.

    >>> is_protected_alias("PRODUCTION"), is_protected_alias("production-eu")
    (True, False)
    """
    return isinstance(alias, str) and alias.lower() == PROTECTED_ALIAS


def check_alias(alias: str, *, for_write: bool = False) -> str:
    """Aliases are letters, digits, '_' and '-'; ``latest`` and ``v<N>`` are reserved for writes.
    Returns the alias as stored: the protected alias in its one spelling."""
    if not isinstance(alias, str) or not alias:
        raise InvalidArgument("The 'alias' parameter must not be empty.", field="alias")
    if not _ALIAS.match(alias) or len(alias) > MAX_ALIAS:
        raise InvalidArgument(
            f"Invalid alias {alias!r}: 1-{MAX_ALIAS} letters, digits, underscores (_) and dashes (-).",
            field="alias",
        )
    if for_write and alias.lower() == LATEST:
        raise InvalidArgument("The alias 'latest' (in any case) is reserved.", field="alias")
    if for_write and _VERSION_ALIAS.match(alias):
        raise InvalidArgument(f"The alias {alias!r} is reserved: it reads as a version number.", field="alias")
    return PROTECTED_ALIAS if is_protected_alias(alias) else alias


def check_version(version: object) -> int:
    try:
        number = int(str(version))
    except ValueError:
        raise InvalidArgument(
            f"The 'version' parameter must be an integer. Got {version!r} instead.", field="version"
        ) from None
    if number < 1:
        raise InvalidArgument(f"The 'version' parameter must be at least 1. Got {number}.", field="version")
    return number


def check_tag(key: str, value: str) -> tuple[str, str]:
    if not isinstance(key, str) or not key or len(key) > MAX_TAG_KEY:
        raise InvalidArgument(f"A tag key must be 1-{MAX_TAG_KEY} characters. Got {key!r}.", field="tag.key")
    if not isinstance(value, str) or len(value) > MAX_TAG_VALUE:
        raise InvalidArgument(
            f"The value of tag {key!r} must be a string of at most {MAX_TAG_VALUE} characters.",
            field="tag.value",
        )
    return key, value


def parse_stage(stage: str) -> Stage:
    """A stage name in any case (``production`` -> ``Production``)."""
    for s in Stage:
        if s.value.lower() == (stage or "").strip().lower():
            return s
    raise InvalidArgument(f"The stage must be one of {[s.value for s in Stage]}. Got {stage!r} instead.", field="stage")


def version_at(events: Sequence[AliasEvent], t: int) -> int | None:
    """The version an alias pointed to at time ``t`` (ms), given its events in time order.

    An event at exactly ``t`` counts as already happened.
    """
    held: int | None = None
    for e in events:
        if e.at > t:
            break
        held = e.to_version
    return held


def latest_per_stage(versions: Sequence[ModelVersion], stages: Sequence[Stage] | None = None) -> list[ModelVersion]:
    """The highest version in each of ``stages`` (default: all), ordered by stage then version."""
    wanted = list(stages) if stages else list(Stage)
    best: dict[str, ModelVersion] = {}
    for v in versions:
        if v.stage in {s.value for s in wanted} and (v.stage not in best or v.version > best[v.stage].version):
            best[v.stage] = v
    return [best[s.value] for s in wanted if s.value in best]


def parse_instant(t: str, field: str = "t") -> int:
    """Milliseconds since the epoch, from ms or ISO 8601 with a zone (``field`` names it in errors).

    >>> parse_instant("2026-01-01T00:00:00Z"), parse_instant("1767225600000")
    (1767225600000, 1767225600000)
    """
    text = t.strip()
    if text.lstrip("-").isdigit():
        return int(text)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise InvalidArgument(
            f"The '{field}' parameter must be milliseconds since the epoch or ISO 8601 with a time zone "
            f"(e.g. 2026-01-01T00:00:00Z). Got {t!r} instead.",
            field=field,
        )
    return int(moment.timestamp() * 1000)
