"""MLflow 3's logged models: the files of a model logged from a run, before (and whether or
not) it is registered. ``log_model`` creates one, uploads under its artifact location, and
finalizes it; a model version registered from ``models:/m-<id>`` points at it. Each use case
takes a unit of work, raises typed errors, and never commits."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from steward.core.clock import now_ms
from steward.core.errors import InvalidArgument, NotFound
from steward.core.ids import new_id
from steward.core.pagination import Page, check_page_size, encode_token
from steward.registry.models import LoggedModel, LoggedModelStatus, check_tag
from steward.registry.service import MAX_VERSION_PAGE, _offset
from steward.registry.tables import LoggedModelRow
from steward.store.uow import UnitOfWork
from steward.tracking import search
from steward.tracking.models import check_param
from steward.tracking.service import get_experiment

__all__ = [
    "create_logged_model",
    "delete_logged_model",
    "delete_logged_model_tag",
    "finalize_logged_model",
    "get_logged_model",
    "log_logged_model_params",
    "record_run_outputs",
    "search_logged_models",
    "set_logged_model_tags",
]


# logged models -------------------------------------------------------------------------------
def _logged_model_row(uow: UnitOfWork, model_id: str) -> LoggedModelRow:
    row = uow.registry.logged_model_row(model_id) if model_id else None
    if row is None:
        raise NotFound("logged_model", model_id, f"Logged model {model_id!r} not found.")
    return row


def create_logged_model(
    uow: UnitOfWork,
    experiment_id: int | str,
    *,
    name: str = "",
    source_run_id: str | None = None,
    model_type: str = "",
    tags: dict[str, str] | None = None,
    params: dict[str, str] | None = None,
) -> LoggedModel:
    exp = get_experiment(uow, experiment_id)
    if exp.lifecycle_stage != "active":
        raise InvalidArgument(
            f"Experiment {exp.id} is deleted; restore it before logging models to it.", field="experiment_id"
        )
    if source_run_id and uow.tracking.run_row(source_run_id) is None:
        raise NotFound("run", source_run_id)
    model_id = f"m-{new_id()}"
    t = now_ms()
    row = uow.registry.add_logged_model(
        LoggedModelRow(
            id=model_id,
            experiment_id=exp.id,
            name=name or model_id,
            source_run_id=source_run_id or None,
            status=LoggedModelStatus.PENDING.value,
            model_type=model_type or "",
            artifact_location=f"{exp.artifact_location.rstrip('/')}/models/{model_id}/artifacts",
            tags=dict(check_tag(k, v) for k, v in (tags or {}).items()),
            params=dict(check_param(k, v) for k, v in (params or {}).items()),
            creation_timestamp=t,
            last_updated_timestamp=t,
        )
    )
    return uow.registry.to_logged_model(row)


def get_logged_model(uow: UnitOfWork, model_id: str) -> LoggedModel:
    return uow.registry.to_logged_model(_logged_model_row(uow, model_id))


def finalize_logged_model(uow: UnitOfWork, model_id: str, status: str) -> LoggedModel:
    row = _logged_model_row(uow, model_id)
    try:
        row.status = LoggedModelStatus(status).value
    except ValueError:
        raise InvalidArgument(
            f"The status must be one of {[s.value for s in LoggedModelStatus]}. Got {status!r} instead.",
            field="status",
        ) from None
    row.last_updated_timestamp = now_ms()
    return uow.registry.to_logged_model(row)


def delete_logged_model(uow: UnitOfWork, model_id: str) -> None:
    uow.registry.delete_logged_model(_logged_model_row(uow, model_id))


def set_logged_model_tags(uow: UnitOfWork, model_id: str, tags: dict[str, str]) -> LoggedModel:
    row = _logged_model_row(uow, model_id)
    row.tags = {**(row.tags or {}), **dict(check_tag(k, v) for k, v in tags.items())}
    row.last_updated_timestamp = now_ms()
    return uow.registry.to_logged_model(row)


def delete_logged_model_tag(uow: UnitOfWork, model_id: str, key: str) -> None:
    row = _logged_model_row(uow, model_id)
    tags = dict(row.tags or {})
    if key not in tags:
        raise NotFound("logged_model_tag", key, f"Logged model {model_id!r} has no tag {key!r}.")
    del tags[key]
    row.tags, row.last_updated_timestamp = tags, now_ms()


def log_logged_model_params(uow: UnitOfWork, model_id: str, params: dict[str, str]) -> None:
    row = _logged_model_row(uow, model_id)
    row.params = {**(row.params or {}), **dict(check_param(k, v) for k, v in params.items())}
    row.last_updated_timestamp = now_ms()


def search_logged_models(
    uow: UnitOfWork,
    experiment_ids: Sequence[int | str],
    *,
    filter_string: str | None = None,
    order: Sequence[tuple[str, bool]] = (),
    max_results: int = 100,
    page_token: str | None = None,
) -> Page[LoggedModel]:
    """Logged models of the experiments matching the filter. A run logs a handful of models,
    so they are filtered in memory with the grammar's reference semantics."""
    check_page_size(max_results, MAX_VERSION_PAGE)
    filters = search.parse_filter(filter_string, search.LOGGED_MODELS)
    ids = [get_experiment(uow, e).id for e in experiment_ids]
    models = [uow.registry.to_logged_model(r) for r in uow.registry.logged_model_rows(ids)]
    models = [m for m in models if all(_logged_model_matches(m, c) for c in filters)]
    for field_name, ascending in reversed(list(order)):
        key = _logged_model_sort_key(field_name)
        present = [m for m in models if key(m) is not None]
        missing = [m for m in models if key(m) is None]
        models = sorted(present, key=key, reverse=not ascending) + missing
    offset = _offset(page_token)
    page = models[offset : offset + max_results]
    more = offset + max_results < len(models)
    return Page(page, encode_token({"offset": offset + max_results}) if more else None)


_LOGGED_MODEL_ATTRIBUTES = {
    "name": "name",
    "model_id": "id",
    "model_type": "model_type",
    "status": "status",
    "source_run_id": "source_run_id",
    "creation_timestamp": "creation_time",
    "last_updated_timestamp": "last_updated_time",
}


def _logged_model_matches(m: LoggedModel, c: search.Comparison) -> bool:
    if c.kind is search.Kind.ATTRIBUTE:
        lhs: object = getattr(m, _LOGGED_MODEL_ATTRIBUTES[c.key])
    elif c.kind is search.Kind.PARAM:
        lhs = m.params.get(c.key)
    elif c.kind is search.Kind.TAG:
        lhs = m.tags.get(c.key)
    else:  # metrics of logged models are not kept: nothing matches a metric comparison
        lhs = None
    return search.compare(c.op, lhs, c.value)


def _logged_model_sort_key(field_name: str) -> Callable[[LoggedModel], Any]:
    name = {"creation_time": "creation_timestamp"}.get(field_name, field_name)
    if name not in _LOGGED_MODEL_ATTRIBUTES:
        raise InvalidArgument(
            f"Logged models can be ordered by {sorted(_LOGGED_MODEL_ATTRIBUTES)}. Got {field_name!r} instead.",
            field="order_by",
        )
    attr = _LOGGED_MODEL_ATTRIBUTES[name]
    return lambda m: getattr(m, attr)


def record_run_outputs(uow: UnitOfWork, run_id: str, model_ids: Sequence[str]) -> None:
    """A run produced these logged models: link the ones that do not name a source run yet."""
    run = uow.tracking.run_row(run_id) if run_id else None
    if run is None:
        raise NotFound("run", run_id)
    for model_id in model_ids:
        row = _logged_model_row(uow, model_id)
        if row.source_run_id is None:
            row.source_run_id = run.id
