"""MLflow experiments: create, get, get-by-name, search, update, delete, restore, tags."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request, Response

from steward.api.deps import require
from steward.api.mlflow import convert
from steward.api.mlflow._wire import MlflowRoute, Msg, Rt, ok
from steward.auth.models import Principal
from steward.core.errors import InvalidArgument
from steward.runtime import Runtime
from steward.tracking import service

router = APIRouter(route_class=MlflowRoute)
Read = Annotated[Principal, require("experiments:read")]
Write = Annotated[Principal, require("experiments:write")]

VIEWS = {
    "ACTIVE_ONLY": "active",
    "DELETED_ONLY": "deleted",
    "ALL": "all",
    "1": "active",
    "2": "deleted",
    "3": "all",
}


def view_of(value: str | None) -> str:
    if not value:
        return "active"
    if value.upper() not in VIEWS:
        raise InvalidArgument(
            f"The view type must be one of ACTIVE_ONLY, DELETED_ONLY, ALL. Got {value!r}.", field="view_type"
        )
    return VIEWS[value.upper()]


def ensure_default(rt: Runtime, request: Request) -> None:
    """MLflow clients use experiment "0" ("Default") when none is set: create it on first use."""
    if getattr(request.app.state, "mlflow_default_experiment", False):
        return
    with rt.uow() as uow:
        service.ensure_default_experiment(uow)
        uow.commit()
    request.app.state.mlflow_default_experiment = True


@router.post("/experiments/create")
def create(msg: Msg, rt: Rt, _: Write) -> Response:
    tags = msg.key_values("tags")
    with rt.uow() as uow:
        exp = service.create_experiment(
            uow, msg.required("name"), artifact_location=msg.text("artifact_location") or None, tags=tags
        )
        uow.commit()
    return ok({"experiment_id": str(exp.id)})


@router.get("/experiments/get")
def get(msg: Msg, rt: Rt, request: Request, _: Read) -> Response:
    ensure_default(rt, request)
    with rt.uow() as uow:
        exp = service.get_experiment(uow, msg.required("experiment_id"))
    return ok({"experiment": convert.experiment(exp)})


@router.get("/experiments/get-by-name")
def get_by_name(msg: Msg, rt: Rt, request: Request, _: Read) -> Response:
    ensure_default(rt, request)
    with rt.uow() as uow:
        exp = service.get_experiment_by_name(uow, msg.required("experiment_name"))
    return ok({"experiment": convert.experiment(exp)})


@router.post("/experiments/search")
@router.get("/experiments/search")
def search(msg: Msg, rt: Rt, request: Request, _: Read) -> Response:
    ensure_default(rt, request)
    with rt.uow() as uow:
        page = service.search_experiments(
            uow,
            filter_string=msg.text("filter"),
            order_by=[str(o) for o in msg.items("order_by")],
            view=view_of(msg.text("view_type")),
            max_results=msg.max_results(1000),
            page_token=msg.text("page_token") or None,
        )
    out = {"experiments": [convert.experiment(e) for e in page.items]}
    if page.next_page_token:
        out["next_page_token"] = page.next_page_token  # type: ignore[assignment]
    return ok(out)


@router.post("/experiments/update")
def update(msg: Msg, rt: Rt, _: Write) -> Response:
    with rt.uow() as uow:
        service.rename_experiment(uow, msg.required("experiment_id"), msg.required("new_name"))
        uow.commit()
    return ok()


@router.post("/experiments/delete")
def delete(msg: Msg, rt: Rt, _: Write) -> Response:
    with rt.uow() as uow:
        service.delete_experiment(uow, msg.required("experiment_id"))
        uow.commit()
    return ok()


@router.post("/experiments/restore")
def restore(msg: Msg, rt: Rt, _: Write) -> Response:
    with rt.uow() as uow:
        service.restore_experiment(uow, msg.required("experiment_id"))
        uow.commit()
    return ok()


@router.post("/experiments/set-experiment-tag")
def set_tag(msg: Msg, rt: Rt, _: Write) -> Response:
    with rt.uow() as uow:
        service.set_experiment_tag(uow, msg.required("experiment_id"), msg.required("key"), msg.text("value") or "")
        uow.commit()
    return ok()


@router.post("/experiments/delete-experiment-tag")
def delete_tag(msg: Msg, rt: Rt, _: Write) -> Response:
    with rt.uow() as uow:
        service.delete_experiment_tag(uow, msg.required("experiment_id"), msg.required("key"))
        uow.commit()
    return ok()
