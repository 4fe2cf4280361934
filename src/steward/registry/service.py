"""Registry use cases: models, versions, tags, aliases (with their history) and MLflow 3's
logged models. Each takes a unit of work, raises typed errors, and never commits."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from steward.core.clock import now_ms
from steward.core.errors import AlreadyExists, InvalidArgument, NotFound
from steward.core.pagination import Page, check_page_size, decode_token, encode_token, token_fields
from steward.registry.models import (
    DELETED_STAGE,
    LATEST,
    AliasEvent,
    ModelVersion,
    RegisteredModel,
    Stage,
    VersionStatus,
    check_alias,
    check_model_name,
    check_tag,
    check_version,
    latest_per_stage,
    parse_stage,
    version_at,
)
from steward.registry.tables import ModelVersionRow, RegisteredModelRow
from steward.store.uow import UnitOfWork
from steward.tracking import search

MAX_MODEL_PAGE = 1_000
MAX_VERSION_PAGE = 200_000


# registered models ---------------------------------------------------------------------------
def _model_row(uow: UnitOfWork, name: str) -> RegisteredModelRow:
    row = uow.registry.model_row(name) if name else None
    if row is None:
        raise NotFound("registered_model", name, f"Registered model {name!r} not found.")
    return row


def create_model(
    uow: UnitOfWork, name: str, *, description: str = "", tags: dict[str, str] | None = None
) -> RegisteredModel:
    check_model_name(name)
    if uow.registry.model_row(name) is not None:
        raise AlreadyExists("registered_model", name, f"Registered model {name!r} already exists.")
    t = now_ms()
    row = uow.registry.add_model(
        RegisteredModelRow(name=name, description=description or "", creation_time=t, last_updated_time=t)
    )
    for k, v in (tags or {}).items():
        uow.registry.set_model_tag(row.id, *check_tag(k, v))
    return uow.registry.to_model(row)


def get_model(uow: UnitOfWork, name: str) -> RegisteredModel:
    return uow.registry.to_model(_model_row(uow, name))


def rename_model(uow: UnitOfWork, name: str, new_name: str) -> RegisteredModel:
    row = _model_row(uow, name)
    check_model_name(new_name, "new_name")
    other = uow.registry.model_row(new_name)
    if other is not None and other.id != row.id:
        raise AlreadyExists("registered_model", new_name, f"Registered model {new_name!r} already exists.")
    row.name, row.last_updated_time = new_name, now_ms()
    return uow.registry.to_model(row)


def update_model(uow: UnitOfWork, name: str, *, description: str | None = None) -> RegisteredModel:
    row = _model_row(uow, name)
    if description is not None:
        row.description = description
    row.last_updated_time = now_ms()
    return uow.registry.to_model(row)


def delete_model(uow: UnitOfWork, name: str) -> None:
    uow.registry.delete_model(_model_row(uow, name))


def set_model_tag(uow: UnitOfWork, name: str, key: str, value: str) -> None:
    row = _model_row(uow, name)
    uow.registry.set_model_tag(row.id, *check_tag(key, value))


def delete_model_tag(uow: UnitOfWork, name: str, key: str) -> None:
    row = _model_row(uow, name)
    if not uow.registry.delete_model_tag(row.id, key):
        raise NotFound("registered_model_tag", key, f"Registered model {name!r} has no tag {key!r}.")


def page_cursor(page_token: str | None, **keys: type) -> list[Any] | None:
    """The keyset values a page token carries, in ``keys`` order (None: the first page)."""
    state = token_fields(page_token, **keys)
    return None if state is None else [state[k] for k in keys]


def list_models(
    uow: UnitOfWork, *, filter_string: str | None = None, max_results: int = 100, page_token: str | None = None
) -> Page[RegisteredModel]:
    """Models by name, with keyset pagination on the name (stable while models are added)."""
    check_page_size(max_results, MAX_MODEL_PAGE)
    filters = search.parse_filter(filter_string, search.REGISTERED_MODELS)
    after = page_cursor(page_token, after=str)
    rows = uow.registry.search_models(
        filters=filters, order=[], offset=0, limit=max_results + 1, after_name=after[0] if after else None
    )
    more = len(rows) > max_results
    rows = rows[:max_results]
    return Page(uow.registry.to_models(rows), encode_token({"after": rows[-1].name}) if more else None)


def _offset(page_token: str | None) -> int:
    state = decode_token(page_token)
    offset = int(state.get("offset", 0)) if state else 0
    if offset < 0:
        raise InvalidArgument(f"The page_token is not one this server issued: {page_token!r}.", field="page_token")
    return offset


def search_models(
    uow: UnitOfWork,
    *,
    filter_string: str | None = None,
    order_by: Sequence[str] | None = None,
    max_results: int = 100,
    page_token: str | None = None,
) -> Page[RegisteredModel]:
    check_page_size(max_results, MAX_MODEL_PAGE)
    filters = search.parse_filter(filter_string, search.REGISTERED_MODELS)
    order = search.parse_order_by(order_by, search.REGISTERED_MODELS)
    offset = _offset(page_token)
    rows = uow.registry.search_models(filters=filters, order=order, offset=offset, limit=max_results + 1)
    more = len(rows) > max_results
    models = uow.registry.to_models(rows[:max_results])
    return Page(models, encode_token({"offset": offset + max_results}) if more else None)


# versions ------------------------------------------------------------------------------------
def _version_row(uow: UnitOfWork, name: str, version: object) -> tuple[RegisteredModelRow, ModelVersionRow]:
    number = check_version(version)
    model = _model_row(uow, name)
    row = uow.registry.version_row(model.id, number)
    if row is None:
        raise NotFound("model_version", f"{name}/{number}", f"Model version {name!r} version {number} not found.")
    return model, row


def _to_version(uow: UnitOfWork, model: RegisteredModelRow, row: ModelVersionRow) -> ModelVersion:
    return uow.registry.to_versions([row], {model.id: model.name})[0]


def _logged_model_id(source: str) -> str | None:
    if source.startswith("models:/m-") and "/" not in source[len("models:/") :]:
        return source[len("models:/") :]
    return None


def register_run_model(
    uow: UnitOfWork, name: str, run_id: str, *, path: str = "model", description: str = "", user_id: str = ""
) -> ModelVersion:
    """Register the model folder ``path`` that run ``run_id`` logged (``steward train`` logs
    ``model/``) as the next version of ``name``; the registered model is created on first use."""
    from steward.tracking import service as tracking

    tracking.get_run(uow, run_id)  # NotFound names the run
    if uow.registry.model_row(name) is None:
        create_model(uow, name)
    return create_version(
        uow, name, source=f"runs:/{run_id}/{path.strip('/')}", run_id=run_id, description=description, user_id=user_id
    )


def create_version(
    uow: UnitOfWork,
    name: str,
    *,
    source: str,
    run_id: str | None = None,
    logged_model_id: str | None = None,
    tags: dict[str, str] | None = None,
    description: str = "",
    user_id: str = "",
) -> ModelVersion:
    """Register ``source`` as the next version of ``name`` (1, 2, 3 ...; never reused).

    ``source`` is where the model's files are (``models:/m-<id>`` for a logged model,
    ``runs:/<run_id>/<path>``, or any artifact URI); ``run_id`` records the lineage.
    """
    model = _model_row(uow, name)
    if not source:
        raise InvalidArgument("A model version needs a 'source' (where the model's files are).", field="source")
    logged_model_id = logged_model_id or _logged_model_id(source)
    if logged_model_id:
        logged = uow.registry.logged_model_row(logged_model_id)
        if logged is None:
            raise NotFound("logged_model", logged_model_id)
        run_id = run_id or logged.source_run_id
    clean_tags = dict(check_tag(k, v) for k, v in (tags or {}).items())
    t = now_ms()
    row = uow.registry.add_version(
        ModelVersionRow(
            model_id=model.id,
            version=uow.registry.max_version(model.id) + 1,
            source=source,
            run_id=run_id or None,
            logged_model_id=logged_model_id,
            status=VersionStatus.READY.value,
            stage=Stage.NONE.value,
            description=description or "",
            user_id=user_id,
            creation_time=t,
            last_updated_time=t,
        )
    )
    for k, v in clean_tags.items():
        uow.registry.set_version_tag(row.id, k, v)
    model.last_updated_time = t
    return _to_version(uow, model, row)


def get_version(uow: UnitOfWork, name: str, version: object) -> ModelVersion:
    return _to_version(uow, *_version_row(uow, name, version))


def update_version(uow: UnitOfWork, name: str, version: object, *, description: str | None = None) -> ModelVersion:
    model, row = _version_row(uow, name, version)
    if description is not None:
        row.description = description
    row.last_updated_time = now_ms()
    return _to_version(uow, model, row)


def transition_stage(
    uow: UnitOfWork, name: str, version: object, stage: str, *, archive_existing: bool = False
) -> ModelVersion:
    model, row = _version_row(uow, name, version)
    target = parse_stage(stage)
    t = now_ms()
    if archive_existing and target in (Stage.STAGING, Stage.PRODUCTION):
        for other in uow.registry.version_rows(model.id, [target.value]):
            if other.id != row.id:
                other.stage, other.last_updated_time = Stage.ARCHIVED.value, t
    row.stage, row.last_updated_time = target.value, t
    model.last_updated_time = t
    return _to_version(uow, model, row)


def delete_version(uow: UnitOfWork, name: str, version: object, *, actor: str = "") -> None:
    """Delete a version; aliases on it are removed (and the removal recorded). The number
    stays taken, so ``name/3`` never means two different models."""
    model, row = _version_row(uow, name, version)
    t = now_ms()
    for alias, held in uow.registry.aliases([model.id])[model.id].items():
        if held == row.version:
            alias_row = uow.registry.alias_row(model.id, alias)
            if alias_row is not None:
                uow.registry.drop_alias(alias_row)
            uow.registry.add_alias_event(
                model.id, AliasEvent(alias, row.version, None, actor, f"version {row.version} deleted", t)
            )
    row.stage, row.last_updated_time, row.description = DELETED_STAGE, t, ""
    model.last_updated_time = t


def set_version_tag(uow: UnitOfWork, name: str, version: object, key: str, value: str) -> None:
    _, row = _version_row(uow, name, version)
    uow.registry.set_version_tag(row.id, *check_tag(key, value))


def delete_version_tag(uow: UnitOfWork, name: str, version: object, key: str) -> None:
    _, row = _version_row(uow, name, version)
    if not uow.registry.delete_version_tag(row.id, key):
        raise NotFound("model_version_tag", key, f"Model version {name!r} version {row.version} has no tag {key!r}.")


def latest_versions(uow: UnitOfWork, name: str, stages: Sequence[str] | None = None) -> list[ModelVersion]:
    model = _model_row(uow, name)
    wanted = [parse_stage(s) for s in stages or ()]
    versions = uow.registry.to_versions(uow.registry.version_rows(model.id), {model.id: model.name})
    return latest_per_stage(versions, wanted or None)


def search_versions(
    uow: UnitOfWork,
    *,
    filter_string: str | None = None,
    order_by: Sequence[str] | None = None,
    max_results: int = 10_000,
    page_token: str | None = None,
) -> Page[ModelVersion]:
    check_page_size(max_results, MAX_VERSION_PAGE)
    filters = search.parse_filter(filter_string, search.MODEL_VERSIONS)
    order = search.parse_order_by(order_by, search.MODEL_VERSIONS)
    offset = _offset(page_token)
    found = uow.registry.search_versions(filters=filters, order=order, offset=offset, limit=max_results + 1)
    more = len(found) > max_results
    found = found[:max_results]
    rows = [r for r, _ in found]
    names = {r.model_id: n for r, n in found}
    return Page(
        uow.registry.to_versions(rows, names),
        encode_token({"offset": offset + max_results}) if more else None,
    )


def list_versions(
    uow: UnitOfWork, name: str, *, max_results: int = 100, page_token: str | None = None
) -> Page[ModelVersion]:
    """Live versions of ``name``, oldest first, with keyset pagination on the number."""
    check_page_size(max_results, MAX_MODEL_PAGE)
    model = _model_row(uow, name)
    after = page_cursor(page_token, after=int)
    rows = uow.registry.version_rows(model.id, after=after[0] if after else None, limit=max_results + 1)
    more = len(rows) > max_results
    rows = rows[:max_results]
    token = encode_token({"after": rows[-1].version}) if more else None
    return Page(uow.registry.to_versions(rows, {model.id: model.name}), token)


def versions_of_run(uow: UnitOfWork, run_id: str) -> list[ModelVersion]:
    """Every registered version whose lineage points at the run."""
    found = uow.registry.versions_with_run(run_id)
    return uow.registry.to_versions([r for r, _ in found], {r.model_id: n for r, n in found})


def download_uri(uow: UnitOfWork, name: str, version: object) -> str:
    """Where a client downloads the version's files: the logged model's artifacts, the run's
    artifact folder for ``runs:/`` sources, else the source itself."""
    _, row = _version_row(uow, name, version)
    model_id = row.logged_model_id or _logged_model_id(row.source)
    if model_id:
        logged = uow.registry.logged_model_row(model_id)
        if logged is not None:
            return logged.artifact_location
    if row.source.startswith("runs:/"):
        run_id, _, path = row.source[len("runs:/") :].partition("/")
        run = uow.tracking.run_row(run_id)
        if run is not None:
            return f"{run.artifact_uri.rstrip('/')}/{path}".rstrip("/")
    return row.source


# aliases -------------------------------------------------------------------------------------
def set_alias(
    uow: UnitOfWork, name: str, alias: str, version: object, *, actor: str = "", reason: str = ""
) -> AliasEvent | None:
    """Point ``alias`` at ``version``; the move is recorded (who, when, from, to, why).
    Re-pointing it where it already points is not a move: nothing is recorded, None returned."""
    alias = check_alias(alias, for_write=True)
    model, row = _version_row(uow, name, version)
    current = uow.registry.alias_row(model.id, alias)
    previous = current.version if current is not None else None
    if previous == row.version:
        return None
    event = AliasEvent(alias, previous, row.version, actor, reason, now_ms())
    uow.registry.put_alias(model.id, alias, row.version)
    uow.registry.add_alias_event(model.id, event)
    model.last_updated_time = event.at
    return event


def delete_alias(uow: UnitOfWork, name: str, alias: str, *, actor: str = "", reason: str = "") -> AliasEvent | None:
    """Remove ``alias`` (recorded); removing one that does not exist changes nothing (as MLflow)."""
    alias = check_alias(alias)
    model = _model_row(uow, name)
    current = uow.registry.alias_row(model.id, alias)
    if current is None:
        return None
    event = AliasEvent(alias, current.version, None, actor, reason, now_ms())
    uow.registry.drop_alias(current)
    uow.registry.add_alias_event(model.id, event)
    return event


def version_by_alias(uow: UnitOfWork, name: str, alias: str) -> ModelVersion:
    """The version ``alias`` points to; ``latest`` is the highest live version."""
    alias = check_alias(alias)
    model = _model_row(uow, name)
    if alias.lower() == LATEST:
        rows = uow.registry.version_rows(model.id)
        if not rows:
            raise NotFound("model_version", f"{name}@{alias}", f"Registered model {name!r} has no versions.")
        return _to_version(uow, model, rows[-1])
    current = uow.registry.alias_row(model.id, alias)
    if current is None:
        raise NotFound("alias", f"{name}@{alias}", f"Registered model {name!r} has no alias {alias!r}.")
    return get_version(uow, name, current.version)


def alias_history(uow: UnitOfWork, name: str, alias: str) -> list[AliasEvent]:
    """Every move of ``alias`` on ``name``, oldest first."""
    alias = check_alias(alias)
    return uow.registry.alias_events(_model_row(uow, name).id, alias)


def alias_at(uow: UnitOfWork, name: str, alias: str, t: int) -> int | None:
    """The version ``alias`` pointed to at ``t`` (ms since the epoch); None if it pointed nowhere."""
    alias = check_alias(alias)
    return version_at(uow.registry.alias_events(_model_row(uow, name).id, alias, until=t), t)


def alias_moves(
    uow: UnitOfWork, name: str, alias: str | None = None, *, max_results: int = 100, page_token: str | None = None
) -> Page[AliasEvent]:
    """Moves of ``alias`` (None: of every alias of ``name``), oldest first, paged on (at, id)."""
    check_page_size(max_results, MAX_MODEL_PAGE)
    model = _model_row(uow, name)
    after = page_cursor(page_token, t=int, id=int)
    found = uow.registry.alias_event_page(
        model.id,
        check_alias(alias) if alias is not None else None,
        after=(after[0], after[1]) if after else None,
        limit=max_results + 1,
    )
    more = len(found) > max_results
    found = found[:max_results]
    token = encode_token({"t": found[-1][1].at, "id": found[-1][0]}) if more else None
    return Page([e for _, e in found], token)
