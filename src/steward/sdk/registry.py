"""The model registry from Python: the same calls in-process (embedded store) or over HTTP.

``ModelRegistry.local(runtime)`` calls the registry services on the embedded store, one unit of
work per call; ``ModelRegistry.http(url, token)`` calls the server's ``/api/v1/models`` routes.
Both return the API shapes (``ModelVersionOut``, ``RegisteredModelOut``, ...) and raise the same
Steward errors: ``NotFound`` naming the model or version, ``Conflict``, ``InvalidArgument``
naming the field, and ``PromotionBlocked`` (with its ``reasons``) when the gates refuse.

>>> from steward.core.config import Settings
>>> from steward.runtime import Runtime
>>> import tempfile
>>> models = ModelRegistry.local(Runtime.from_settings(Settings(home=tempfile.mkdtemp())))
>>> models.get_model("churn")
Traceback (most recent call last):
    ...
steward.core.errors.NotFound: Registered model 'churn' not found.
"""

from __future__ import annotations

import datetime as dt
import getpass
from collections.abc import Callable, Iterator
from typing import Any, Protocol
from urllib.parse import quote

import httpx

from steward.auth.models import principal_for
from steward.core import errors
from steward.core.pagination import Page
from steward.registry import lineage as lineage_service
from steward.registry import promotion
from steward.registry import service as registry
from steward.registry.models import check_alias, parse_instant
from steward.registry.promotion import PRODUCTION, PromotionBlocked
from steward.registry.promotion_schemas import PromotionEventOut, PromotionOut
from steward.registry.schemas import AliasEventOut, ModelVersionOut, RegisteredModelOut
from steward.runtime import Runtime

Moment = dt.datetime | int | str


def _ms(at: Moment) -> int:
    """ms since the epoch from an aware datetime, ms, or ISO 8601 with a zone."""
    if isinstance(at, dt.datetime):
        if at.tzinfo is None:
            raise errors.InvalidArgument(f"The 'at' datetime must carry a time zone. Got {at!r}.", field="at")
        return int(at.timestamp() * 1000)
    return parse_instant(str(at), "at")


class RegistryBackend(Protocol):
    def register(self, name: str, run_id: str, path: str, description: str) -> ModelVersionOut: ...
    def get_model(self, name: str) -> RegisteredModelOut: ...
    def model_page(self, filter: str | None, page_token: str | None) -> Page[RegisteredModelOut]: ...
    def version_page(self, name: str, page_token: str | None) -> Page[ModelVersionOut]: ...
    def get_version(self, name: str, version: int) -> ModelVersionOut: ...
    def set_alias(self, name: str, alias: str, version: int, reason: str) -> AliasEventOut | None: ...
    def delete_alias(self, name: str, alias: str, reason: str) -> None: ...
    def promote(self, name: str, version: int, alias: str, reason: str) -> PromotionOut: ...
    def approve(self, name: str, version: int, alias: str, reason: str) -> PromotionEventOut: ...
    def lineage(self, name: str, version: int) -> dict[str, Any]: ...
    def alias_page(self, name: str, alias: str | None, page_token: str | None) -> Page[AliasEventOut]: ...
    def promotion_page(self, name: str, page_token: str | None) -> Page[PromotionEventOut]: ...
    def alias_at(self, name: str, alias: str, at: int) -> int | None: ...
    def set_tag(self, name: str, version: int | None, key: str, value: str | None) -> None: ...
    def describe(self, name: str, version: int | None, description: str) -> None: ...


class LocalRegistry:
    """In-process: each call is one unit of work on the embedded store, committed on return.
    ``actor`` is who the records name; approving needs a Steward user holding ``models:approve``."""

    def __init__(self, runtime: Runtime, actor: str | None = None) -> None:
        self.runtime = runtime
        self.actor = actor

    def _who(self) -> str:
        return self.actor or f"sdk:{getpass.getuser()}"

    def register(self, name: str, run_id: str, path: str, description: str) -> ModelVersionOut:
        with self.runtime.uow() as uow:
            v = registry.register_run_model(uow, name, run_id, path=path, description=description, user_id=self._who())
            uow.commit()
        return ModelVersionOut.of(v)

    def get_model(self, name: str) -> RegisteredModelOut:
        with self.runtime.uow() as uow:
            return RegisteredModelOut.of(registry.get_model(uow, name))

    def model_page(self, filter: str | None, page_token: str | None) -> Page[RegisteredModelOut]:
        with self.runtime.uow() as uow:
            page = registry.list_models(uow, filter_string=filter, page_token=page_token)
        return Page([RegisteredModelOut.of(m) for m in page.items], page.next_page_token)

    def version_page(self, name: str, page_token: str | None) -> Page[ModelVersionOut]:
        with self.runtime.uow() as uow:
            page = registry.list_versions(uow, name, page_token=page_token)
        return Page([ModelVersionOut.of(v) for v in page.items], page.next_page_token)

    def get_version(self, name: str, version: int) -> ModelVersionOut:
        with self.runtime.uow() as uow:
            return ModelVersionOut.of(registry.get_version(uow, name, version))

    def set_alias(self, name: str, alias: str, version: int, reason: str) -> AliasEventOut | None:
        with self.runtime.uow() as uow:
            outcome = promotion.set_alias(
                uow, name, alias, version, actor=self._who(), reason=reason, blobs=self.runtime.blobs
            )
            uow.commit()  # a refused promotion is recorded too
        outcome.raise_if_blocked()
        return AliasEventOut.of(outcome.moved) if outcome.moved else None

    def delete_alias(self, name: str, alias: str, reason: str) -> None:
        with self.runtime.uow() as uow:
            registry.delete_alias(uow, name, alias, actor=self._who(), reason=reason)
            uow.commit()

    def promote(self, name: str, version: int, alias: str, reason: str) -> PromotionOut:
        with self.runtime.uow() as uow:
            result = promotion.promote(
                uow, name, version, actor=self._who(), reason=reason, alias=alias, blobs=self.runtime.blobs
            )
            uow.commit()
        result.raise_if_blocked()
        return PromotionOut.of(result)

    def approve(self, name: str, version: int, alias: str, reason: str) -> PromotionEventOut:
        with self.runtime.uow() as uow:
            user = uow.auth.user_by_name(self.actor) if self.actor else None
            if user is None or user.disabled or not principal_for(user.id, user.name, user.role).can("models:approve"):
                raise errors.Forbidden(
                    f"Approving needs the registry's actor to be a Steward user holding 'models:approve'. "
                    f"Got {self.actor!r}.",
                    permission="models:approve",
                )
            event = promotion.approve(uow, name, version, approver=user.name, reason=reason, alias=alias)
            uow.commit()
        return PromotionEventOut.of(event)

    def lineage(self, name: str, version: int) -> dict[str, Any]:
        with self.runtime.uow() as uow:
            return lineage_service.lineage(uow, name, version).to_dict()

    def alias_page(self, name: str, alias: str | None, page_token: str | None) -> Page[AliasEventOut]:
        with self.runtime.uow() as uow:
            page = registry.alias_moves(uow, name, alias, page_token=page_token)
        return Page([AliasEventOut.of(e) for e in page.items], page.next_page_token)

    def promotion_page(self, name: str, page_token: str | None) -> Page[PromotionEventOut]:
        with self.runtime.uow() as uow:
            page = promotion.history_page(uow, name, page_token=page_token)
        return Page([PromotionEventOut.of(e) for e in page.items], page.next_page_token)

    def alias_at(self, name: str, alias: str, at: int) -> int | None:
        with self.runtime.uow() as uow:
            return registry.alias_at(uow, name, alias, at)

    def set_tag(self, name: str, version: int | None, key: str, value: str | None) -> None:
        with self.runtime.uow() as uow:
            if version is None and value is None:
                registry.delete_model_tag(uow, name, key)
            elif version is None:
                registry.set_model_tag(uow, name, key, value or "")
            elif value is None:
                registry.delete_version_tag(uow, name, version, key)
            else:
                registry.set_version_tag(uow, name, version, key, value)
            uow.commit()

    def describe(self, name: str, version: int | None, description: str) -> None:
        with self.runtime.uow() as uow:
            if version is None:
                registry.update_model(uow, name, description=description)
            else:
                registry.update_version(uow, name, version, description=description)
            uow.commit()


def _seg(value: object) -> str:
    return quote(str(value), safe="")


class HttpRegistry:
    """Against a Steward server's ``/api/v1/models``. Accepts an httpx transport (tests pass
    ``httpx.ASGITransport(app)``) or an existing ``httpx.Client`` (the SDK client's)."""

    def __init__(
        self,
        url: str = "",
        token: str | None = None,
        *,
        transport: httpx.BaseTransport | None = None,
        http: httpx.Client | None = None,
        timeout: float = 30.0,
    ) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.http = http or httpx.Client(
            base_url=url.rstrip("/"), headers=headers, transport=transport, timeout=timeout
        )

    def _call(self, method: str, path: str, **kw: Any) -> Any:
        resp = self.http.request(method, f"/api/v1/models{path}", **kw)
        if resp.status_code >= 400:
            raise error_from(resp)
        return resp.json() if resp.content else None

    def register(self, name: str, run_id: str, path: str, description: str) -> ModelVersionOut:
        body = {"run_id": run_id, "path": path, "description": description}
        return ModelVersionOut.model_validate(self._call("POST", f"/{_seg(name)}/versions", json=body))

    def get_model(self, name: str) -> RegisteredModelOut:
        return RegisteredModelOut.model_validate(self._call("GET", f"/{_seg(name)}"))

    def model_page(self, filter: str | None, page_token: str | None) -> Page[RegisteredModelOut]:
        params = {k: v for k, v in {"filter": filter, "page_token": page_token}.items() if v}
        doc = self._call("GET", "", params=params)
        return Page([RegisteredModelOut.model_validate(m) for m in doc["items"]], doc["next_page_token"])

    def version_page(self, name: str, page_token: str | None) -> Page[ModelVersionOut]:
        doc = self._call("GET", f"/{_seg(name)}/versions", params={"page_token": page_token} if page_token else {})
        return Page([ModelVersionOut.model_validate(v) for v in doc["items"]], doc["next_page_token"])

    def get_version(self, name: str, version: int) -> ModelVersionOut:
        return ModelVersionOut.model_validate(self._call("GET", f"/{_seg(name)}/versions/{_seg(version)}"))

    def set_alias(self, name: str, alias: str, version: int, reason: str) -> AliasEventOut | None:
        doc = self._call("PUT", f"/{_seg(name)}/aliases/{_seg(alias)}", json={"version": version, "reason": reason})
        return AliasEventOut.model_validate(doc["moved"]) if doc["moved"] else None

    def delete_alias(self, name: str, alias: str, reason: str) -> None:
        self._call("DELETE", f"/{_seg(name)}/aliases/{_seg(alias)}", params={"reason": reason})

    def promote(self, name: str, version: int, alias: str, reason: str) -> PromotionOut:
        doc = self._call(
            "POST", f"/{_seg(name)}/versions/{_seg(version)}/promote", json={"alias": alias, "reason": reason}
        )
        return PromotionOut.model_validate(doc)

    def approve(self, name: str, version: int, alias: str, reason: str) -> PromotionEventOut:
        doc = self._call(
            "POST", f"/{_seg(name)}/versions/{_seg(version)}/approve", json={"alias": alias, "reason": reason}
        )
        return PromotionEventOut.model_validate(doc)

    def lineage(self, name: str, version: int) -> dict[str, Any]:
        doc: dict[str, Any] = self._call("GET", f"/{_seg(name)}/versions/{_seg(version)}/lineage")
        return doc

    def alias_page(self, name: str, alias: str | None, page_token: str | None) -> Page[AliasEventOut]:
        path = f"/{_seg(name)}/aliases/{_seg(alias)}/history" if alias is not None else f"/{_seg(name)}/alias-history"
        doc = self._call("GET", path, params={"page_token": page_token} if page_token else {})
        return Page([AliasEventOut.model_validate(e) for e in doc["events"]], doc["next_page_token"])

    def promotion_page(self, name: str, page_token: str | None) -> Page[PromotionEventOut]:
        doc = self._call("GET", f"/{_seg(name)}/promotions", params={"page_token": page_token} if page_token else {})
        return Page([PromotionEventOut.model_validate(e) for e in doc["events"]], doc["next_page_token"])

    def alias_at(self, name: str, alias: str, at: int) -> int | None:
        version: int | None = self._call("GET", f"/{_seg(name)}/aliases/{_seg(alias)}/at", params={"t": at})["version"]
        return version

    def set_tag(self, name: str, version: int | None, key: str, value: str | None) -> None:
        owner = f"/{_seg(name)}" + (f"/versions/{_seg(version)}" if version is not None else "")
        if value is None:
            self._call("DELETE", f"{owner}/tags/{_seg(key)}")
        else:
            self._call("PUT", f"{owner}/tags/{_seg(key)}", json={"value": value})

    def describe(self, name: str, version: int | None, description: str) -> None:
        owner = f"/{_seg(name)}" + (f"/versions/{_seg(version)}" if version is not None else "")
        self._call("PATCH", owner, json={"description": description})

    def close(self) -> None:
        self.http.close()


def error_from(resp: httpx.Response) -> errors.StewardError:
    """The Steward error a problem+json response stands for, as the embedded store raises it."""
    try:
        body = resp.json()
    except ValueError:
        body = {}
    title, detail = body.get("title", ""), body.get("detail", resp.text)
    status = resp.status_code
    if status == 404:
        return errors.NotFound(body.get("kind", "resource"), body.get("key", ""), detail)
    if title == PromotionBlocked.code:
        reasons = [r for r in str(body.get("reasons", "")).split("; ") if r]
        return PromotionBlocked(body.get("model", ""), int(body.get("version") or 0), body.get("alias", ""), reasons)
    if title == errors.AlreadyExists.code:
        return errors.AlreadyExists(body.get("kind", "resource"), body.get("key", ""), detail)
    if status == 409:
        return errors.Conflict(detail)
    if status in (400, 422):
        return errors.InvalidArgument(detail, field=body.get("field"))
    if status == 401:
        return errors.Unauthenticated(detail)
    if status == 403:
        return errors.Forbidden(detail, permission=body.get("permission"))
    return errors.StewardError(f"HTTP {status}: {detail}")


def _every(fetch: Callable[[str | None], Page[Any]]) -> Iterator[Any]:
    token: str | None = None
    while True:
        page = fetch(token)
        yield from page.items
        if not (token := page.next_page_token):
            return


class ModelRegistry:
    """Registered models, versions, aliases (with their history), promotion and lineage.

    Get one with ``ModelRegistry.local(runtime)``, ``ModelRegistry.http(url, token)``, or
    ``ModelRegistry.of(backend)`` from an SDK client's tracking backend.
    """

    def __init__(self, backend: RegistryBackend) -> None:
        self.backend = backend

    @classmethod
    def local(cls, runtime: Runtime, *, actor: str | None = None) -> ModelRegistry:
        return cls(LocalRegistry(runtime, actor))

    @classmethod
    def http(cls, url: str, token: str | None = None, *, transport: httpx.BaseTransport | None = None) -> ModelRegistry:
        return cls(HttpRegistry(url, token, transport=transport))

    @classmethod
    def of(cls, tracking_backend: object) -> ModelRegistry:
        """The registry beside an SDK client's backend: the same store, or the same server and token."""
        runtime = getattr(tracking_backend, "runtime", None)
        if isinstance(runtime, Runtime):
            return cls.local(runtime)
        http = getattr(tracking_backend, "http", None)
        if isinstance(http, httpx.Client):
            return cls(HttpRegistry(http=http))
        raise errors.InvalidArgument(f"No registry for a {type(tracking_backend).__name__}.", field="backend")

    # models and versions ------------------------------------------------------------------
    def register(self, name: str, run_id: str, *, path: str = "model", description: str = "") -> ModelVersionOut:
        """Register the model folder a run logged as the next version of ``name`` (created on first use)."""
        return self.backend.register(name, run_id, path, description)

    def get_model(self, name: str) -> RegisteredModelOut:
        return self.backend.get_model(name)

    def list_models(self, filter: str | None = None) -> list[RegisteredModelOut]:
        """Every model by name (an MLflow filter narrows them: ``"name LIKE 'churn%'"``)."""
        return list(_every(lambda t: self.backend.model_page(filter, t)))

    def list_versions(self, name: str) -> list[ModelVersionOut]:
        return list(_every(lambda t: self.backend.version_page(name, t)))

    def get_version(self, name: str, version: int) -> ModelVersionOut:
        return self.backend.get_version(name, version)

    def lineage(self, name: str, version: int) -> dict[str, Any]:
        """version -> run -> dataset versions -> pipeline spec -> code commit."""
        return self.backend.lineage(name, version)

    def set_tag(self, name: str, key: str, value: str, *, version: int | None = None) -> None:
        self.backend.set_tag(name, version, key, value)

    def delete_tag(self, name: str, key: str, *, version: int | None = None) -> None:
        self.backend.set_tag(name, version, key, None)

    def set_description(self, name: str, description: str, *, version: int | None = None) -> None:
        self.backend.describe(name, version, description)

    # aliases and promotion -----------------------------------------------------------------
    def set_alias(self, name: str, alias: str, version: int, *, reason: str = "") -> AliasEventOut | None:
        """Point ``alias`` at ``version``; the move is returned (None: it already pointed there).
        ``production``, in any case, moves only through its gates (``PromotionBlocked``)."""
        return self.backend.set_alias(name, alias, version, reason)

    def delete_alias(self, name: str, alias: str, *, reason: str = "") -> None:
        self.backend.delete_alias(name, alias, reason)

    def promote(self, name: str, version: int, *, alias: str = PRODUCTION, reason: str = "") -> PromotionOut:
        """Move ``alias`` to ``version`` through its gates; raises ``PromotionBlocked`` if refused."""
        return self.backend.promote(name, version, alias, reason)

    def approve(self, name: str, version: int, *, alias: str = PRODUCTION, reason: str = "") -> PromotionEventOut:
        """Sign off ``version`` for ``alias`` (the caller must hold ``models:approve``)."""
        return self.backend.approve(name, version, alias, reason)

    def alias_history(self, name: str, alias: str | None = None) -> list[AliasEventOut]:
        """Every move of ``alias`` (default: of every alias), oldest first: who, when, from, to, why."""
        return list(_every(lambda t: self.backend.alias_page(name, alias, t)))

    def promotions(self, name: str) -> list[PromotionEventOut]:
        """Every promotion step: approvals, promotions, refusals, policy changes."""
        return list(_every(lambda t: self.backend.promotion_page(name, t)))

    def alias_at(self, name: str, alias: str, at: Moment) -> int | None:
        """The version ``alias`` pointed to at ``at`` (None if it pointed nowhere then)."""
        return self.backend.alias_at(name, check_alias(alias), _ms(at))


__all__ = ["HttpRegistry", "LocalRegistry", "ModelRegistry", "error_from"]
