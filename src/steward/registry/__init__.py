"""Model registry: models, versions, aliases with history, lineage, promotion gates."""

from steward.registry.models import (
    AliasEvent,
    LoggedModel,
    LoggedModelStatus,
    ModelVersion,
    RegisteredModel,
    Stage,
    VersionStatus,
)

__all__ = [
    "AliasEvent",
    "LoggedModel",
    "LoggedModelStatus",
    "ModelVersion",
    "RegisteredModel",
    "Stage",
    "VersionStatus",
]
