"""MLflow's model registry: registered models, versions, tags, aliases, stages.

Alias moves made here are recorded like native ones, with the caller as the actor."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Response

from steward.api.deps import require
from steward.api.mlflow import convert
from steward.api.mlflow._wire import MlflowRoute, Msg, Rt, ok
from steward.auth.models import Principal
from steward.registry import promotion, service

router = APIRouter(route_class=MlflowRoute)
Read = Annotated[Principal, require("models:read")]
Write = Annotated[Principal, require("models:write")]


def _page(key: str, items: list[dict[str, Any]], token: str | None) -> Response:
    out: dict[str, Any] = {key: items}
    if token:
        out["next_page_token"] = token
    return ok(out)


@router.post("/registered-models/create")
def create_model(msg: Msg, rt: Rt, _: Write) -> Response:
    with rt.uow() as uow:
        model = service.create_model(
            uow, msg.required("name"), description=msg.text("description") or "", tags=msg.key_values("tags")
        )
        uow.commit()
    return ok({"registered_model": convert.registered_model(model)})


@router.get("/registered-models/get")
def get_model(msg: Msg, rt: Rt, _: Read) -> Response:
    with rt.uow() as uow:
        model = service.get_model(uow, msg.required("name"))
    return ok({"registered_model": convert.registered_model(model)})


@router.post("/registered-models/rename")
def rename_model(msg: Msg, rt: Rt, _: Write) -> Response:
    with rt.uow() as uow:
        model = service.rename_model(uow, msg.required("name"), msg.required("new_name"))
        uow.commit()
    return ok({"registered_model": convert.registered_model(model)})


@router.patch("/registered-models/update")
def update_model(msg: Msg, rt: Rt, _: Write) -> Response:
    with rt.uow() as uow:
        model = service.update_model(uow, msg.required("name"), description=msg.text("description"))
        uow.commit()
    return ok({"registered_model": convert.registered_model(model)})


@router.delete("/registered-models/delete")
def delete_model(msg: Msg, rt: Rt, _: Write) -> Response:
    with rt.uow() as uow:
        service.delete_model(uow, msg.required("name"))
        uow.commit()
    return ok()


@router.get("/registered-models/search")
def search_models(msg: Msg, rt: Rt, _: Read) -> Response:
    with rt.uow() as uow:
        page = service.search_models(
            uow,
            filter_string=msg.text("filter"),
            order_by=[str(o) for o in msg.items("order_by")],
            max_results=msg.max_results(100),
            page_token=msg.text("page_token") or None,
        )
    return _page("registered_models", [convert.registered_model(m) for m in page.items], page.next_page_token)


@router.post("/registered-models/get-latest-versions")
@router.get("/registered-models/get-latest-versions")
def latest_versions(msg: Msg, rt: Rt, _: Read) -> Response:
    with rt.uow() as uow:
        versions = service.latest_versions(uow, msg.required("name"), [str(s) for s in msg.items("stages")])
    return ok({"model_versions": [convert.model_version(v) for v in versions]})


@router.post("/registered-models/set-tag")
def set_model_tag(msg: Msg, rt: Rt, _: Write) -> Response:
    with rt.uow() as uow:
        service.set_model_tag(uow, msg.required("name"), msg.required("key"), msg.text("value") or "")
        uow.commit()
    return ok()


@router.delete("/registered-models/delete-tag")
def delete_model_tag(msg: Msg, rt: Rt, _: Write) -> Response:
    with rt.uow() as uow:
        service.delete_model_tag(uow, msg.required("name"), msg.required("key"))
        uow.commit()
    return ok()


@router.post("/registered-models/alias")
def set_alias(msg: Msg, rt: Rt, who: Write) -> Response:
    # The protected alias (any case) moves only through its gates; a refusal is recorded
    # (committed) and answered as MLflow's INVALID_PARAMETER_VALUE.
    with rt.uow() as uow:
        outcome = promotion.set_alias(
            uow,
            msg.required("name"),
            msg.required("alias"),
            msg.required("version"),
            actor=who.name,
            reason="set through the MLflow API",
            blobs=rt.blobs,
        )
        uow.commit()
    outcome.raise_if_blocked()
    return ok()


@router.delete("/registered-models/alias")
def delete_alias(msg: Msg, rt: Rt, who: Write) -> Response:
    with rt.uow() as uow:
        service.delete_alias(
            uow,
            msg.required("name"),
            msg.required("alias"),
            actor=who.name,
            reason="deleted through the MLflow API",
        )
        uow.commit()
    return ok()


@router.get("/registered-models/alias")
def get_by_alias(msg: Msg, rt: Rt, _: Read) -> Response:
    with rt.uow() as uow:
        version = service.version_by_alias(uow, msg.required("name"), msg.required("alias"))
    return ok({"model_version": convert.model_version(version)})


@router.post("/model-versions/create")
def create_version(msg: Msg, rt: Rt, who: Write) -> Response:
    with rt.uow() as uow:
        version = service.create_version(
            uow,
            msg.required("name"),
            source=msg.required("source"),
            run_id=msg.text("run_id") or None,
            logged_model_id=msg.text("model_id") or None,
            tags=msg.key_values("tags"),
            description=msg.text("description") or "",
            user_id=who.name,
        )
        uow.commit()
    return ok({"model_version": convert.model_version(version)})


@router.get("/model-versions/get")
def get_version(msg: Msg, rt: Rt, _: Read) -> Response:
    with rt.uow() as uow:
        version = service.get_version(uow, msg.required("name"), msg.required("version"))
    return ok({"model_version": convert.model_version(version)})


@router.patch("/model-versions/update")
def update_version(msg: Msg, rt: Rt, _: Write) -> Response:
    with rt.uow() as uow:
        version = service.update_version(
            uow, msg.required("name"), msg.required("version"), description=msg.text("description")
        )
        uow.commit()
    return ok({"model_version": convert.model_version(version)})


@router.post("/model-versions/transition-stage")
def transition_stage(msg: Msg, rt: Rt, who: Write) -> Response:
    # "Production" takes the production gates, as the alias does; a refusal is recorded.
    with rt.uow() as uow:
        outcome = promotion.transition_stage(
            uow,
            msg.required("name"),
            msg.required("version"),
            msg.required("stage"),
            actor=who.name,
            archive_existing=msg.flag("archive_existing_versions"),
            blobs=rt.blobs,
        )
        uow.commit()
    outcome.raise_if_blocked()
    return ok({"model_version": convert.model_version(outcome.version)})


@router.delete("/model-versions/delete")
def delete_version(msg: Msg, rt: Rt, who: Write) -> Response:
    with rt.uow() as uow:
        service.delete_version(uow, msg.required("name"), msg.required("version"), actor=who.name)
        uow.commit()
    return ok()


@router.get("/model-versions/search")
def search_versions(msg: Msg, rt: Rt, _: Read) -> Response:
    with rt.uow() as uow:
        page = service.search_versions(
            uow,
            filter_string=msg.text("filter"),
            order_by=[str(o) for o in msg.items("order_by")],
            max_results=msg.max_results(10_000),
            page_token=msg.text("page_token") or None,
        )
    return _page("model_versions", [convert.model_version(v) for v in page.items], page.next_page_token)


@router.get("/model-versions/get-download-uri")
def download_uri(msg: Msg, rt: Rt, _: Read) -> Response:
    with rt.uow() as uow:
        uri = service.download_uri(uow, msg.required("name"), msg.required("version"))
    return ok({"artifact_uri": uri})


@router.post("/model-versions/set-tag")
def set_version_tag(msg: Msg, rt: Rt, _: Write) -> Response:
    with rt.uow() as uow:
        service.set_version_tag(
            uow, msg.required("name"), msg.required("version"), msg.required("key"), msg.text("value") or ""
        )
        uow.commit()
    return ok()


@router.delete("/model-versions/delete-tag")
def delete_version_tag(msg: Msg, rt: Rt, _: Write) -> Response:
    with rt.uow() as uow:
        service.delete_version_tag(uow, msg.required("name"), msg.required("version"), msg.required("key"))
        uow.commit()
    return ok()
