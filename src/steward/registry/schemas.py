"""API shapes for the registry (pydantic), for the native ``/api/v1`` routes."""

from __future__ import annotations

from pydantic import BaseModel, Field

from steward.registry.models import AliasEvent, ModelVersion, RegisteredModel


class ModelVersionOut(BaseModel):
    name: str
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
    tags: dict[str, str]
    aliases: list[str]

    @classmethod
    def of(cls, v: ModelVersion) -> ModelVersionOut:
        return cls(
            name=v.model_name,
            version=v.version,
            source=v.source,
            run_id=v.run_id,
            logged_model_id=v.logged_model_id,
            status=v.status,
            stage=v.stage,
            description=v.description,
            user_id=v.user_id,
            creation_time=v.creation_time,
            last_updated_time=v.last_updated_time,
            tags=v.tags,
            aliases=v.aliases,
        )


class RegisteredModelOut(BaseModel):
    name: str
    description: str
    creation_time: int
    last_updated_time: int
    tags: dict[str, str]
    aliases: dict[str, int]
    versions: list[ModelVersionOut]

    @classmethod
    def of(cls, m: RegisteredModel) -> RegisteredModelOut:
        return cls(
            name=m.name,
            description=m.description,
            creation_time=m.creation_time,
            last_updated_time=m.last_updated_time,
            tags=m.tags,
            aliases=m.aliases,
            versions=[ModelVersionOut.of(v) for v in m.latest_versions],
        )


class AliasEventOut(BaseModel):
    alias: str
    from_version: int | None
    to_version: int | None
    actor: str
    reason: str
    at: int

    @classmethod
    def of(cls, e: AliasEvent) -> AliasEventOut:
        return cls(
            alias=e.alias,
            from_version=e.from_version,
            to_version=e.to_version,
            actor=e.actor,
            reason=e.reason,
            at=e.at,
        )


class AliasHistoryOut(BaseModel):
    model: str
    alias: str | None  # None: the moves of every alias of the model
    events: list[AliasEventOut]
    next_page_token: str | None = None


class AliasAtOut(BaseModel):
    model: str
    alias: str
    t: int
    version: int | None


class DescriptionIn(BaseModel):
    description: str = Field(max_length=10_000)


class TagIn(BaseModel):
    value: str = Field(max_length=100_000)


class AliasIn(BaseModel):
    version: int = Field(ge=1)
    reason: str = Field(default="", max_length=10_000)


class AliasSetOut(BaseModel):
    """Where the alias points now; ``moved`` is None when it already pointed there."""

    model: str
    alias: str
    version: int
    moved: AliasEventOut | None
