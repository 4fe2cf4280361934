"""Tracking use cases. Each takes a unit of work, raises typed errors, and never commits."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from steward.core.clock import now_ms
from steward.core.errors import AlreadyExists, Conflict, InvalidArgument, NotFound
from steward.core.ids import new_id
from steward.core.pagination import Page, check_page_size, decode_token, encode_token
from steward.tracking.models import (
    DatasetInput,
    Experiment,
    Lifecycle,
    Metric,
    MetricBatch,
    Run,
    RunStatus,
    check_key,
    check_metric_batch,
    check_param,
    check_tag,
)

if TYPE_CHECKING:
    from steward.store.uow import UnitOfWork
    from steward.tracking.tables import ExperimentRow, RunRow

DEFAULT_EXPERIMENT = "Default"


def _stages(view: str) -> list[str]:
    views = {"active": ["active"], "deleted": ["deleted"], "all": ["active", "deleted"]}
    if view not in views:
        raise InvalidArgument(f"The view must be one of {sorted(views)}. Got {view!r} instead.", field="view")
    return views[view]


# experiments ---------------------------------------------------------------------------------
def create_experiment(
    uow: UnitOfWork, name: str, *, artifact_location: str | None = None, tags: dict[str, str] | None = None
) -> Experiment:
    name = (name or "").strip()
    if not name or len(name) > 256:
        raise InvalidArgument(f"The experiment name must be 1-256 characters. Got {name!r} instead.", field="name")
    if uow.tracking.experiment_row_by_name(name) is not None:
        raise AlreadyExists("experiment", name)
    t = now_ms()
    row = uow.tracking.add_experiment(name=name, artifact_location="", creation_time=t)
    row.artifact_location = artifact_location or f"mlflow-artifacts:/{row.id}"
    for k, v in (tags or {}).items():
        check_tag(k, v)
        uow.tracking.set_experiment_tag(row.id, k, v)
    return uow.tracking.to_experiment(row)


def _experiment_row(uow: UnitOfWork, experiment_id: int | str) -> ExperimentRow:
    try:
        key = int(experiment_id)
    except (TypeError, ValueError):
        raise NotFound("experiment", experiment_id) from None
    row = uow.tracking.experiment_row(key)
    if row is None:
        raise NotFound("experiment", experiment_id)
    return row


def get_experiment(uow: UnitOfWork, experiment_id: int | str) -> Experiment:
    return uow.tracking.to_experiment(_experiment_row(uow, experiment_id))


def get_experiment_by_name(uow: UnitOfWork, name: str) -> Experiment:
    row = uow.tracking.experiment_row_by_name(name)
    if row is None:
        raise NotFound("experiment", name, f"No experiment named {name!r}.")
    return uow.tracking.to_experiment(row)


def get_or_create_experiment(uow: UnitOfWork, name: str) -> Experiment:
    row = uow.tracking.experiment_row_by_name(name)
    return uow.tracking.to_experiment(row) if row else create_experiment(uow, name)


def get_or_create_experiment_id(uow: UnitOfWork, name: str) -> int:
    """The id of the experiment named ``name``, created if need be (its tags are not read)."""
    row = uow.tracking.experiment_row_by_name(name)
    return row.id if row else create_experiment(uow, name).id


def list_experiments(
    uow: UnitOfWork, *, view: str = "active", max_results: int = 1000, page_token: str | None = None
) -> Page[Experiment]:
    check_page_size(max_results)
    state = decode_token(page_token)
    after = int(state["after"]) if state else None
    rows = uow.tracking.experiment_rows(stages=_stages(view), after_id=after, limit=max_results + 1)
    more = len(rows) > max_results
    rows = rows[:max_results]
    tags = uow.tracking.experiment_tags([r.id for r in rows])
    items = [uow.tracking.to_experiment(r, tags[r.id]) for r in rows]
    return Page(items, encode_token({"after": rows[-1].id}) if more else None)


def rename_experiment(uow: UnitOfWork, experiment_id: int | str, new_name: str) -> Experiment:
    row = _experiment_row(uow, experiment_id)
    new_name = (new_name or "").strip()
    if not new_name:
        raise InvalidArgument("The new experiment name must not be empty.", field="new_name")
    other = uow.tracking.experiment_row_by_name(new_name)
    if other is not None and other.id != row.id:
        raise AlreadyExists("experiment", new_name)
    row.name, row.last_update_time = new_name, now_ms()
    return uow.tracking.to_experiment(row)


def set_experiment_lifecycle(uow: UnitOfWork, experiment_id: int | str, stage: Lifecycle) -> Experiment:
    row = _experiment_row(uow, experiment_id)
    row.lifecycle_stage, row.last_update_time = stage.value, now_ms()
    return uow.tracking.to_experiment(row)


def set_experiment_tag(uow: UnitOfWork, experiment_id: int | str, key: str, value: str) -> None:
    row = _experiment_row(uow, experiment_id)
    check_tag(key, value)
    uow.tracking.set_experiment_tag(row.id, key, value)


# runs ----------------------------------------------------------------------------------------
def create_run(
    uow: UnitOfWork,
    experiment_id: int | str,
    *,
    name: str = "",
    user_id: str = "",
    start_time: int | None = None,
    tags: dict[str, str] | None = None,
    source: str = "",
    git_commit: str | None = None,
    environment: dict[str, Any] | None = None,
) -> Run:
    exp = _experiment_row(uow, experiment_id)
    if exp.lifecycle_stage != "active":
        raise InvalidArgument(
            f"Runs can only be created in an active experiment; experiment {exp.id} is deleted.",
            field="experiment_id",
        )
    run_id = new_id()
    tags = dict(tags or {})
    for k, v in tags.items():
        check_tag(k, v)
    name = name or tags.get("mlflow.runName", "") or f"run-{run_id[:8]}"
    tags.setdefault("mlflow.runName", name)
    if user_id:
        tags.setdefault("mlflow.user", user_id)
    fields: dict[str, Any] = dict(
        id=run_id,
        experiment_id=exp.id,
        name=name,
        status=RunStatus.RUNNING.value,
        start_time=start_time if start_time is not None else now_ms(),
        end_time=None,
        user_id=user_id,
        source=source,
        git_commit=git_commit,
        environment=environment,
        lifecycle_stage="active",
        artifact_uri=f"{exp.artifact_location.rstrip('/')}/{run_id}/artifacts",
    )
    uow.tracking.add_run(fields)
    uow.tracking.insert_tags(run_id, tags)
    # A new run has nothing but its tags: build it rather than read it back.
    return Run(**fields, tags=dict(tags))


def _run_row(uow: UnitOfWork, run_id: str) -> RunRow:
    row = uow.tracking.run_row(run_id) if run_id else None
    if row is None:
        raise NotFound("run", run_id)
    return row


def _writable_run(uow: UnitOfWork, run_id: str) -> RunRow:
    row = _run_row(uow, run_id)
    if row.lifecycle_stage != "active":
        raise InvalidArgument(f"Run {run_id} is deleted; restore it before logging to it.", field="run_id")
    return row


def get_run(uow: UnitOfWork, run_id: str) -> Run:
    return uow.tracking.load_runs([_run_row(uow, run_id)])[0]


def update_run(
    uow: UnitOfWork,
    run_id: str,
    *,
    status: str | None = None,
    end_time: int | None = None,
    name: str | None = None,
) -> Run:
    row = _run_row(uow, run_id)
    _apply_status(row, status, end_time)
    if name:
        row.name = name
        uow.tracking.set_tags(row.id, {"mlflow.runName": name})
    return uow.tracking.load_runs([row])[0]


def _apply_status(row: RunRow, status: str | None, end_time: int | None) -> None:
    if status is not None:
        try:
            row.status = RunStatus(status).value
        except ValueError:
            raise InvalidArgument(
                f"The run status must be one of {[s.value for s in RunStatus]}. Got {status!r} instead.",
                field="status",
            ) from None
        if row.status in ("FINISHED", "FAILED", "KILLED") and end_time is None and row.end_time is None:
            end_time = now_ms()
    if end_time is not None:
        row.end_time = end_time


def set_run_lifecycle(uow: UnitOfWork, run_id: str, stage: Lifecycle) -> None:
    row = _run_row(uow, run_id)
    row.lifecycle_stage = stage.value
    row.deleted_time = now_ms() if stage is Lifecycle.DELETED else None


def list_runs(
    uow: UnitOfWork,
    experiment_ids: Sequence[int | str],
    *,
    view: str = "active",
    max_results: int = 100,
    page_token: str | None = None,
) -> Page[Run]:
    """Runs newest first, with keyset pagination on (start_time, id)."""
    check_page_size(max_results)
    ids = [_experiment_row(uow, e).id for e in experiment_ids]
    state = decode_token(page_token)
    after = (int(state["t"]), str(state["id"])) if state else None
    rows = uow.tracking.run_rows(experiment_ids=ids, stages=_stages(view), after=after, limit=max_results + 1)
    more = len(rows) > max_results
    rows = rows[:max_results]
    token = encode_token({"t": rows[-1].start_time, "id": rows[-1].id}) if more else None
    return Page(uow.tracking.load_runs(rows), token)


# params, metrics, tags -----------------------------------------------------------------------
def param_conflict(run_id: str, key: str, old: str, new: str) -> Conflict:
    """The error for a param re-logged with another value (the SDK raises it too, before sending)."""
    return Conflict(
        f"Param {key!r} of run {run_id} was already logged with value {old!r}; it cannot be changed to {new!r}.",
        key=key,
        old_value=old,
        new_value=new,
    )


def log_params(uow: UnitOfWork, run_id: str, params: dict[str, Any]) -> None:
    """Log params; a key already logged with a different value is a Conflict (as in MLflow)."""
    _writable_run(uow, run_id)
    clean = dict(check_param(str(k), str(v)) for k, v in params.items())
    existing = uow.tracking.params(run_id, clean)
    for k, v in existing.items():
        if clean[k] != v:
            raise param_conflict(run_id, k, v, clean[k])
    uow.tracking.insert_params(run_id, {k: v for k, v in clean.items() if k not in existing})


def log_metrics(uow: UnitOfWork, run_id: str, batch: MetricBatch) -> int:
    _writable_run(uow, run_id)
    check_metric_batch(batch)
    uow.tracking.insert_metrics(run_id, batch)
    return len(batch)


def log_metric(
    uow: UnitOfWork, run_id: str, key: str, value: float, *, step: int = 0, timestamp: int | None = None
) -> None:
    log_metrics(uow, run_id, MetricBatch([key], [float(value)], [step], [timestamp or now_ms()]))


def set_tags(uow: UnitOfWork, run_id: str, tags: dict[str, str]) -> None:
    _writable_run(uow, run_id)
    clean = dict(check_tag(str(k), str(v)) for k, v in tags.items())
    uow.tracking.set_tags(run_id, clean)


def delete_tag(uow: UnitOfWork, run_id: str, key: str) -> None:
    _writable_run(uow, run_id)
    if not uow.tracking.delete_tag(run_id, key):
        raise NotFound("tag", key, f"Run {run_id} has no tag {key!r}.")


def metric_history(
    uow: UnitOfWork, run_id: str, key: str, *, max_results: int = 25_000, page_token: str | None = None
) -> Page[Metric]:
    _run_row(uow, run_id)
    check_key("metric", key)
    check_page_size(max_results, 100_000)
    state = decode_token(page_token)
    rows = uow.tracking.metric_history(
        run_id, key, after_id=int(state["after"]) if state else None, limit=max_results + 1
    )
    more = len(rows) > max_results
    rows = rows[:max_results]
    return Page([m for _, m in rows], encode_token({"after": rows[-1][0]}) if more else None)


def log_batch(
    uow: UnitOfWork,
    run_id: str,
    *,
    params: dict[str, Any] | None = None,
    tags: dict[str, str] | None = None,
    metrics: MetricBatch | None = None,
    status: str | None = None,
) -> None:
    """Params, tags and metrics in one unit of work; with ``status``, the run ends too.
    All or nothing: one bad item rejects the whole batch."""
    if params:
        log_params(uow, run_id, params)
    if tags:
        set_tags(uow, run_id, tags)
    if metrics is not None and len(metrics):
        log_metrics(uow, run_id, metrics)
    if status is not None:
        _apply_status(_run_row(uow, run_id), status, None)


def log_inputs(uow: UnitOfWork, run_id: str, datasets: Sequence[DatasetInput]) -> None:
    _writable_run(uow, run_id)
    for d in datasets:
        if not d.name or not d.digest:
            raise InvalidArgument("A dataset input needs a name and a digest.", field="datasets")
        row = uow.tracking.dataset_by_digest(d.name, d.digest)
        if row is None:
            row = uow.tracking.add_dataset(
                dict(
                    id=new_id(),
                    name=d.name,
                    digest=d.digest,
                    source_type=d.source_type,
                    source=d.source,
                    schema=d.schema,
                    profile=d.profile,
                    num_rows=d.num_rows,
                    created_at=now_ms(),
                )
            )
        uow.tracking.link_input(run_id, row.id, d.tags or None)


def compare_runs(uow: UnitOfWork, run_ids: Sequence[str]) -> dict[str, Any]:
    """Params and latest metrics of several runs side by side, keys in the union of all runs."""
    runs = [get_run(uow, r) for r in run_ids]
    param_keys = sorted({k for r in runs for k in r.params})
    metric_keys = sorted({k for r in runs for k in r.metrics})
    return {
        "runs": [{"id": r.id, "name": r.name, "status": r.status} for r in runs],
        "params": {k: [r.params.get(k) for r in runs] for k in param_keys},
        "metrics": {k: [r.metrics[k].value if k in r.metrics else None for r in runs] for k in metric_keys},
    }


# search and MLflow lifecycle rules (added for the MLflow-compatible API) ---------------------
DEFAULT_EXPERIMENT_ID = 0
MAX_SEARCH_PAGE = 50_000


def ensure_default_experiment(uow: UnitOfWork) -> Experiment:
    """MLflow clients log to experiment "0" unless told otherwise; make sure it exists.

    Safe to race: when another process inserts it first, the insert here does nothing.
    """
    row = uow.tracking.experiment_row(DEFAULT_EXPERIMENT_ID)
    if row is None:
        taken = uow.tracking.experiment_row_by_name(DEFAULT_EXPERIMENT) is not None
        uow.tracking.insert_experiment_with_id(
            DEFAULT_EXPERIMENT_ID,
            f"{DEFAULT_EXPERIMENT} (0)" if taken else DEFAULT_EXPERIMENT,
            f"mlflow-artifacts:/{DEFAULT_EXPERIMENT_ID}",
            now_ms(),
        )
        row = _experiment_row(uow, DEFAULT_EXPERIMENT_ID)
    return uow.tracking.to_experiment(row)


def delete_experiment(uow: UnitOfWork, experiment_id: int | str) -> None:
    """Delete an experiment and, as MLflow does, mark its runs deleted with it."""
    row = _experiment_row(uow, experiment_id)
    t = now_ms()
    row.lifecycle_stage, row.last_update_time = Lifecycle.DELETED.value, t
    uow.tracking.set_runs_lifecycle(row.id, Lifecycle.DELETED.value, t)


def restore_experiment(uow: UnitOfWork, experiment_id: int | str) -> None:
    """Restore an experiment and its runs (as MLflow does)."""
    row = _experiment_row(uow, experiment_id)
    row.lifecycle_stage, row.last_update_time = Lifecycle.ACTIVE.value, now_ms()
    uow.tracking.set_runs_lifecycle(row.id, Lifecycle.ACTIVE.value, None)


def delete_experiment_tag(uow: UnitOfWork, experiment_id: int | str, key: str) -> None:
    row = _experiment_row(uow, experiment_id)
    if not uow.tracking.delete_experiment_tag(row.id, key):
        raise NotFound("experiment_tag", key, f"Experiment {row.id} has no tag {key!r}.")


def _search_offset(page_token: str | None) -> int:
    state = decode_token(page_token)
    try:
        offset = int(state["offset"]) if state else 0
    except (KeyError, TypeError, ValueError):
        offset = -1
    if offset < 0:
        raise InvalidArgument(f"The page_token is not one this server issued: {page_token!r}.", field="page_token")
    return offset


def search_run_ids(
    uow: UnitOfWork,
    experiment_ids: Sequence[int | str],
    *,
    filter_string: str | None = None,
    order_by: Sequence[str] | None = None,
    view: str = "active",
    max_results: int = 1000,
    page_token: str | None = None,
) -> Page[str]:
    """The ids of the runs of the experiments matching an MLflow filter (``"metrics.acc > 0.9 and
    params.model = 'rf'"``), in MLflow's order (``["metrics.acc DESC"]``, ties by start time,
    newest first, then id), one page; filtered, sorted and paged in SQL."""
    from steward.tracking import search

    check_page_size(max_results, MAX_SEARCH_PAGE)
    filters = search.parse_filter(filter_string, search.RUNS)
    order = search.parse_order_by(order_by, search.RUNS)
    ids = [_experiment_row(uow, e).id for e in experiment_ids]
    offset = _search_offset(page_token)
    run_ids = uow.tracking.search_runs(
        experiment_ids=ids,
        stages=_stages(view),
        filters=filters,
        order=order,
        offset=offset,
        limit=max_results + 1,
    )
    more = len(run_ids) > max_results
    token = encode_token({"offset": offset + max_results}) if more else None
    return Page(run_ids[:max_results], token)


def search_runs(
    uow: UnitOfWork,
    experiment_ids: Sequence[int | str],
    *,
    filter_string: str | None = None,
    order_by: Sequence[str] | None = None,
    view: str = "active",
    max_results: int = 1000,
    page_token: str | None = None,
) -> Page[Run]:
    """The runs of :func:`search_run_ids`, loaded."""
    page = search_run_ids(
        uow,
        experiment_ids,
        filter_string=filter_string,
        order_by=order_by,
        view=view,
        max_results=max_results,
        page_token=page_token,
    )
    return Page(uow.tracking.load_runs_by_id(page.items), page.next_page_token)


def search_experiments(
    uow: UnitOfWork,
    *,
    filter_string: str | None = None,
    order_by: Sequence[str] | None = None,
    view: str = "active",
    max_results: int = 1000,
    page_token: str | None = None,
) -> Page[Experiment]:
    from steward.tracking import search

    check_page_size(max_results, MAX_SEARCH_PAGE)
    filters = search.parse_filter(filter_string, search.EXPERIMENTS)
    order = search.parse_order_by(order_by, search.EXPERIMENTS)
    offset = _search_offset(page_token)
    rows = uow.tracking.search_experiments(
        stages=_stages(view), filters=filters, order=order, offset=offset, limit=max_results + 1
    )
    more = len(rows) > max_results
    rows = rows[:max_results]
    tags = uow.tracking.experiment_tags([r.id for r in rows])
    token = encode_token({"offset": offset + max_results}) if more else None
    return Page([uow.tracking.to_experiment(r, tags[r.id]) for r in rows], token)


def log_metrics_once(uow: UnitOfWork, run_id: str, batch: MetricBatch) -> int:
    """Log the points not already stored: a point identical to a stored one (key, value, step
    and timestamp) is dropped, as MLflow's store drops it. This makes a retried request
    harmless, and it is what MLflow 3's ``log_model`` relies on when it re-logs a run's
    step-0 points against the new model. Returns how many points were new."""
    import math

    if not len(batch):
        return 0
    _writable_run(uow, run_id)
    check_metric_batch(batch)
    stored = uow.tracking.existing_points(run_id, sorted(set(batch.keys)), min(batch.steps), max(batch.steps))
    if not stored and len(set(zip(batch.keys, batch.steps, batch.timestamps, batch.values, strict=True))) == len(batch):
        uow.tracking.insert_metrics(run_id, batch)  # the common case: every point is new
        return len(batch)
    seen: set[tuple[str, int, int, float | None]] = set(stored)
    keep = MetricBatch([], [], [], [])
    for k, v, s, t in zip(batch.keys, batch.values, batch.steps, batch.timestamps, strict=True):
        point = (k, s, t, None if math.isnan(v) else v)
        if point in seen:
            continue
        seen.add(point)
        keep.keys.append(k)
        keep.values.append(v)
        keep.steps.append(s)
        keep.timestamps.append(t)
    if len(keep):
        uow.tracking.insert_metrics(run_id, keep)
    return len(keep)
