"""The Deployments workspace: every deployment with its traffic split and stage; one deployment
with its health, history and rollouts, the comparison report of its latest shadow and the
analysis of its latest A/B test; and the roll back / promote buttons."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import anyio.from_thread
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from steward.auth.models import Principal
from steward.core.errors import Conflict, InvalidArgument, NotFound, StewardError
from steward.deployments import ab, shadow
from steward.deployments import service as deployments
from steward.deployments.logs import PredictionLog
from steward.deployments.models import Strategy
from steward.web.nav import BY_SLUG
from steward.web.session import PageError, WebRoute, csrf_form, runtime_of
from steward.web.templating import render

HISTORY = 200


def _page_errors(exc: StewardError) -> PageError:
    if isinstance(exc, NotFound):
        return PageError(404, "Not found", exc.message)
    if isinstance(exc, Conflict):
        return PageError(409, "Not now", exc.message)
    return PageError(400, "Bad request", exc.message)


def index(request: Request, _: Principal) -> Response:
    with runtime_of(request).uow() as uow:
        docs = [d.to_dict() for d in deployments.list_deployments(uow)]
    return render(
        request,
        "deployments.html",
        {"active": "deployments", "workspace": BY_SLUG["deployments"], "deployments": docs},
    )


def _report(fn: Any) -> dict[str, Any]:
    """A report, or why there is none yet (a page shows both)."""
    try:
        return {"doc": fn(), "error": None}
    except (NotFound, InvalidArgument) as exc:
        return {"doc": None, "error": exc.message}


def detail(request: Request, principal: Principal) -> Response:
    name = request.path_params["name"]
    rt = runtime_of(request)
    log = PredictionLog.from_settings(rt.settings)
    try:
        with rt.uow() as uow:
            dep = deployments.get(uow, name)
            events = deployments.history(uow, name, limit=HISTORY)
            rollouts = deployments.rollouts(uow, name)
            kinds = {r.strategy for r in rollouts}
            shadow_report = (
                _report(lambda: shadow.shadow_report(uow, name, log).to_dict()) if Strategy.SHADOW in kinds else None
            )
            ab_report = _report(lambda: ab.ab_analysis(uow, name, log)) if Strategy.AB in kinds else None
    except StewardError as exc:
        raise _page_errors(exc) from exc
    doc = dep.to_dict()
    return render(
        request,
        "deployments_show.html",
        {
            "active": "deployments",
            "d": doc,
            "events": [e.to_dict() for e in events],
            "rollouts": [r.to_dict() for r in rollouts],
            "shadow": shadow_report,
            "ab": ab_report,
            "health": doc["health"] or {},
            "can_write": principal.can("deployments:write"),
            "can_rollback": doc["state"] != "stable" or doc["previous_version"] is not None,
        },
    )


def act(request: Request, principal: Principal) -> Response:
    """POST /deployments/{name}: the roll back and promote buttons (a form with its CSRF token)."""
    # WebRoute endpoints run in a worker thread; the form is read on the event loop.
    form = anyio.from_thread.run(csrf_form, request)
    name = request.path_params["name"]
    action, reason = form.get("action"), form.get("reason") or ""
    if action not in ("rollback", "promote") or not isinstance(reason, str):
        raise PageError(400, "Bad request", f"The action must be 'rollback' or 'promote'. Got {action!r}.")
    fn = deployments.rollback if action == "rollback" else deployments.promote
    try:
        with runtime_of(request).uow() as uow:
            fn(uow, name, actor=principal.name, reason=reason or f"{action} from the web UI")
            uow.commit()
    except StewardError as exc:
        raise _page_errors(exc) from exc
    return RedirectResponse(f"/deployments/{quote(name, safe='')}", status_code=303)


ROUTES = [
    WebRoute("/deployments", index, "deployments:read"),
    WebRoute("/deployments/{name}", detail, "deployments:read"),
    WebRoute("/deployments/{name}", act, "deployments:write", ("POST",)),
]
