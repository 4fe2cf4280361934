"""MLflow 3's logged models: ``log_model`` creates one, uploads its files under
``<experiment>/models/<model_id>/artifacts`` and finalizes it; registering a version tags it."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request, Response

from steward.api.deps import require
from steward.api.mlflow import convert
from steward.api.mlflow._wire import MlflowRoute, Msg, Rt, ok
from steward.api.mlflow.experiments import ensure_default
from steward.auth.models import Principal
from steward.core.errors import InvalidArgument
from steward.registry import logged_models as service

router = APIRouter(route_class=MlflowRoute)
Read = Annotated[Principal, require("runs:read")]
Write = Annotated[Principal, require("runs:write")]

_STATUSES = {"LOGGED_MODEL_PENDING", "LOGGED_MODEL_READY", "LOGGED_MODEL_UPLOAD_FAILED"}


@router.post("/logged-models")
def create(msg: Msg, rt: Rt, request: Request, _: Write) -> Response:
    experiment_id = msg.required("experiment_id")
    if experiment_id == "0":
        ensure_default(rt, request)
    with rt.uow() as uow:
        model = service.create_logged_model(
            uow,
            experiment_id,
            name=msg.text("name") or "",
            source_run_id=msg.text("source_run_id") or None,
            model_type=msg.text("model_type") or "",
            tags=msg.key_values("tags"),
            params=msg.key_values("params"),
        )
        uow.commit()
    return ok({"model": convert.logged_model(model)})


@router.post("/logged-models/search")
def search(msg: Msg, rt: Rt, _: Read) -> Response:
    order: list[tuple[str, bool]] = []
    for o in msg.objects("order_by"):
        field_name = o.get("field_name")
        if not isinstance(field_name, str) or not field_name:
            raise InvalidArgument("Each order_by item needs a 'field_name'.", field="order_by")
        order.append((field_name, bool(o.get("ascending", True))))
    with rt.uow() as uow:
        page = service.search_logged_models(
            uow,
            [str(e) for e in msg.items("experiment_ids")],
            filter_string=msg.text("filter"),
            order=order,
            max_results=msg.max_results(100),
            page_token=msg.text("page_token") or None,
        )
    out: dict[str, Any] = {"models": [convert.logged_model(m) for m in page.items]}
    if page.next_page_token:
        out["next_page_token"] = page.next_page_token
    return ok(out)


@router.get("/logged-models/{model_id}")
def get(model_id: str, rt: Rt, _: Read) -> Response:
    with rt.uow() as uow:
        model = service.get_logged_model(uow, model_id)
    return ok({"model": convert.logged_model(model)})


@router.patch("/logged-models/{model_id}")
def finalize(model_id: str, msg: Msg, rt: Rt, _: Write) -> Response:
    status = msg.required("status")
    if status not in _STATUSES:
        raise InvalidArgument(f"The status must be one of {sorted(_STATUSES)}. Got {status!r}.", field="status")
    with rt.uow() as uow:
        model = service.finalize_logged_model(uow, model_id, status)
        uow.commit()
    return ok({"model": convert.logged_model(model)})


@router.delete("/logged-models/{model_id}")
def delete(model_id: str, rt: Rt, _: Write) -> Response:
    with rt.uow() as uow:
        service.delete_logged_model(uow, model_id)
        uow.commit()
    return ok()


@router.patch("/logged-models/{model_id}/tags")
def set_tags(model_id: str, msg: Msg, rt: Rt, _: Write) -> Response:
    with rt.uow() as uow:
        model = service.set_logged_model_tags(uow, model_id, msg.key_values("tags"))
        uow.commit()
    return ok({"model": convert.logged_model(model)})


@router.delete("/logged-models/{model_id}/tags/{tag_key:path}")
def delete_tag(model_id: str, tag_key: str, rt: Rt, _: Write) -> Response:
    with rt.uow() as uow:
        service.delete_logged_model_tag(uow, model_id, tag_key)
        uow.commit()
    return ok()


@router.post("/logged-models/{model_id}/params")
def log_params(model_id: str, msg: Msg, rt: Rt, _: Write) -> Response:
    with rt.uow() as uow:
        service.log_logged_model_params(uow, model_id, msg.key_values("params"))
        uow.commit()
    return ok()
