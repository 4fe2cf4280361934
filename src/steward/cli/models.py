"""``steward models``: registered models, versions, lineage, comparison and promotion.

The CLI works on the store directly, as its operator. Who acts is named with ``--as``: an
approval must name a Steward user whose role holds ``models:approve``.
"""

from __future__ import annotations

import datetime as dt
import getpass
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import typer

from steward.auth.models import principal_for
from steward.cli import context
from steward.cli.output import console, emit_json, fail, handle_errors, table
from steward.core.errors import Forbidden, NotFound
from steward.core.pagination import Page
from steward.registry import lineage as lineage_service
from steward.registry import promotion
from steward.registry import service as registry
from steward.registry.models import check_alias, parse_instant
from steward.registry.promotion_schemas import PolicyOut, PromotionEventOut, PromotionOut
from steward.registry.schemas import AliasEventOut, ModelVersionOut, RegisteredModelOut
from steward.store.uow import UnitOfWork

models_app = typer.Typer(help="Registered models: versions, lineage, promotion through gates.", no_args_is_help=True)
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]
AliasOpt = Annotated[str, typer.Option("--alias", help="The protected alias.")]
ReasonOpt = Annotated[str, typer.Option("--reason", "-r", help="Why (kept in the record).")]
AsOpt = Annotated[str | None, typer.Option("--as", help="The Steward user acting (default: you, via the OS).")]


def _when(ms: int | None) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).strftime("%Y-%m-%d %H:%M:%S") if ms else ""


def _actor(uow: UnitOfWork, name: str | None, permission: str | None = None) -> str:
    if name is None:
        if permission is not None:
            raise Forbidden(f"Name the user who holds {permission!r} with --as.", permission=permission)
        return f"cli:{getpass.getuser()}"
    row = uow.auth.user_by_name(name)
    if row is None or row.disabled:
        raise NotFound("user", name, f"No active Steward user named {name!r}.")
    if permission is not None and not principal_for(row.id, row.name, row.role).can(permission):
        raise Forbidden(f"User {name!r} ({row.role}) lacks permission {permission!r}.", permission=permission)
    return row.name


@models_app.command("list")
@handle_errors
def list_models(
    filter: Annotated[str | None, typer.Option(help="MLflow filter, e.g. \"name LIKE 'churn%'\".")] = None,
    as_json: JsonOpt = False,
) -> None:
    with context.runtime().uow() as uow:
        page = registry.search_models(uow, filter_string=filter, max_results=1000)
    items = [RegisteredModelOut.of(m) for m in page.items]
    if as_json:
        emit_json([m.model_dump() for m in items])
        return
    rows = [
        (
            m.name,
            ", ".join(f"{a}->v{v}" for a, v in m.aliases.items()),
            max((v.version for v in m.versions), default=""),
            _when(m.last_updated_time),
        )
        for m in items
    ]
    table("Models", ["name", "aliases", "latest", "updated"], rows)


@models_app.command("show")
@handle_errors
def show(name: str, as_json: JsonOpt = False) -> None:
    rt = context.runtime()
    with rt.uow() as uow:
        model = RegisteredModelOut.of(registry.get_model(uow, name))
        policy = PolicyOut.of(promotion.get_policy(uow, name))
        versions = lineage_service.versions(uow, name)
        gates = {v.version: promotion.gate_outcome(uow, name, v.version, rt.blobs).status for v in versions}
    if as_json:
        emit_json(
            {
                **model.model_dump(),
                "promotion_policy": policy.model_dump(),
                "gates": {str(k): v for k, v in gates.items()},
            }
        )
        return
    console.print(f"[bold]{model.name}[/]  {model.description}")
    console.print("aliases: " + (", ".join(f"{a} -> v{v}" for a, v in model.aliases.items()) or "none"))
    approval = f"{policy.min_approvals} approval(s) required" if policy.require_approval else "no approval required"
    console.print(f"promotion: gates {'required' if policy.require_gates else 'not required'}, {approval}")
    table(
        "Versions",
        ["version", "gates", "aliases", "run", "created"],
        [(v.version, gates[v.version], ", ".join(v.aliases), v.run_id or "", _when(v.creation_time)) for v in versions],
    )


@models_app.command("versions")
@handle_errors
def versions(name: str, as_json: JsonOpt = False) -> None:
    rt = context.runtime()
    with rt.uow() as uow:
        items = [
            (ModelVersionOut.of(v), promotion.gate_outcome(uow, name, v.version, rt.blobs))
            for v in lineage_service.versions(uow, name)
        ]
    if as_json:
        emit_json([{**v.model_dump(), "gates": g.to_dict()} for v, g in items])
        return
    table(
        f"Versions of {name}",
        ["version", "gates", "aliases", "run", "source", "created"],
        [
            (
                v.version,
                f"{g.status}: {g.summary}",
                ", ".join(v.aliases),
                v.run_id or "",
                v.source,
                _when(v.creation_time),
            )
            for v, g in items
        ],
    )


@models_app.command("lineage")
@handle_errors
def lineage(name: str, version: int, as_json: JsonOpt = False) -> None:
    with context.runtime().uow() as uow:
        doc = lineage_service.lineage(uow, name, version).to_dict()
    if as_json:
        emit_json(doc)
        return
    console.print(f"[bold]{name} v{version}[/]  source {doc['source']}")
    run = doc["run"]
    console.print(
        f"  run       {run['id']} ({run.get('name', '')}, {run.get('status', '')})" if run else "  run       -"
    )
    for d in doc["datasets"]:
        console.print(
            f"  dataset   {d.get('ref') or d['name']}  digest {d.get('digest', '')}  rows {d.get('num_rows')}"
        )
    p = doc["pipeline"]
    console.print(f"  pipeline  {p['name']}  spec sha256 {p['spec_sha256']}" if p else "  pipeline  -")
    code = doc["code"]
    console.print(f"  code      commit {code['git_commit']}" if code and code["git_commit"] else "  code      -")


@models_app.command("compare")
@handle_errors
def compare(
    name: str,
    version: Annotated[list[int] | None, typer.Argument(help="Versions (default: all).")] = None,
    as_json: JsonOpt = False,
) -> None:
    with context.runtime().uow() as uow:
        doc = lineage_service.compare(uow, name, version)
    if as_json:
        emit_json(doc)
        return
    cols = [str(v["version"]) for v in doc["versions"]]
    rows = [(k, *[("" if per[c] is None else f"{per[c]:.4g}") for c in cols]) for k, per in doc["metrics"].items()]
    table(f"Metrics of {name}", ["metric", *[f"v{c}" for c in cols]], rows)


@models_app.command("register")
@handle_errors
def register(
    name: str,
    run_id: Annotated[str, typer.Option("--run", help="The run whose model folder to register.")],
    path: Annotated[str, typer.Option(help="The model folder inside the run's artifacts.")] = "model",
    description: Annotated[str, typer.Option(help="What this version is.")] = "",
    as_json: JsonOpt = False,
) -> None:
    """Register a run's model (``steward train`` logs ``model/``) as the next version of NAME."""
    with context.runtime().uow() as uow:
        version = registry.register_run_model(
            uow, name, run_id, path=path, description=description, user_id=getpass.getuser()
        )
        uow.commit()
    out = ModelVersionOut.of(version)
    if as_json:
        emit_json(out.model_dump())
    else:
        console.print(f"Registered {name} v{out.version} from run {run_id}.")


@models_app.command("promote")
@handle_errors
def promote(
    name: str,
    version: int,
    alias: AliasOpt = promotion.PRODUCTION,
    reason: ReasonOpt = "",
    actor: AsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Move the alias (production) to VERSION if its gates and approvals allow."""
    rt = context.runtime()
    with rt.uow() as uow:
        who = _actor(uow, actor)
        result = promotion.promote(uow, name, version, actor=who, reason=reason, alias=alias, blobs=rt.blobs)
        uow.commit()  # a refused promotion is recorded too
    if as_json:
        emit_json(PromotionOut.of(result).model_dump())
    if not result.promoted:
        raise fail(f"{name} v{version} was not promoted to {alias!r}: " + "; ".join(result.decision.reasons) + ".")
    if not as_json:
        moved = f"from v{result.previous_version}" if result.previous_version not in (None, version) else "(new)"
        console.print(f"{name}@{alias} -> v{version} {moved}; gates {result.gates.summary}.")


@models_app.command("approve")
@handle_errors
def approve(
    name: str,
    version: int,
    alias: AliasOpt = promotion.PRODUCTION,
    reason: ReasonOpt = "",
    actor: AsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Sign off VERSION for the alias (needs a user holding models:approve, named with --as)."""
    with context.runtime().uow() as uow:
        who = _actor(uow, actor, "models:approve")
        event = promotion.approve(uow, name, version, approver=who, reason=reason, alias=alias)
        uow.commit()
    if as_json:
        emit_json(PromotionEventOut.of(event).model_dump())
    else:
        console.print(f"{who} approved {name} v{version} for {alias!r}.")


@models_app.command("history")
@handle_errors
def history(
    name: str,
    alias: Annotated[str | None, typer.Option("--alias", help="Only the moves of this alias.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Every alias move (who, when, from, to) and promotion step of NAME, oldest first.

    Promotion steps are approvals, promotions, refusals and policy changes."""
    with context.runtime().uow() as uow:
        moves = [AliasEventOut.of(e) for e in _all(lambda t: registry.alias_moves(uow, name, alias, page_token=t))]
        steps = [PromotionEventOut.of(e) for e in _all(lambda t: promotion.history_page(uow, name, page_token=t))]
    if alias is not None:
        steps = [e for e in steps if e.alias == check_alias(alias)]
    if as_json:
        emit_json(
            {
                "model": name,
                "alias_moves": [m.model_dump() for m in moves],
                "promotions": [e.model_dump() for e in steps],
            }
        )
        return
    rows = [(m.at, "alias", m.alias, _v(m.from_version), _v(m.to_version), m.actor, m.reason) for m in moves]
    rows += [(e.at, e.action, e.alias, "", _v(e.version), e.actor, e.reason or _why(e.details)) for e in steps]
    table(
        f"History of {name}",
        ["when", "what", "alias", "from", "to", "who", "why"],
        [(_when(at), *rest) for at, *rest in sorted(rows, key=lambda r: r[0])],
    )


T = TypeVar("T")


def _all(fetch: Callable[[str | None], Page[T]]) -> list[T]:
    """Every item of a paged list."""
    items: list[T] = []
    token: str | None = None
    while True:
        page = fetch(token)
        items.extend(page.items)
        if not (token := page.next_page_token):
            return items


def _v(version: int | None) -> str:
    return f"v{version}" if version else "-"


def _why(details: dict[str, Any]) -> str:
    return "; ".join(details.get("reasons") or [])


@models_app.command("policy")
@handle_errors
def policy(
    name: str,
    require_approval: Annotated[bool | None, typer.Option("--require-approval/--no-approval")] = None,
    min_approvals: Annotated[int | None, typer.Option(min=1, max=10)] = None,
    require_gates: Annotated[bool | None, typer.Option("--require-gates/--no-gates")] = None,
    reason: ReasonOpt = "",
    actor: AsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show, or change (needs a user holding models:approve), the model's promotion policy."""
    with context.runtime().uow() as uow:
        current = promotion.get_policy(uow, name)
        if require_approval is not None or min_approvals is not None or require_gates is not None:
            who = _actor(uow, actor, "models:approve")
            wanted = promotion.Policy(
                current.require_gates if require_gates is None else require_gates,
                current.require_approval if require_approval is None else require_approval,
                current.min_approvals if min_approvals is None else min_approvals,
            )
            current = promotion.set_policy(uow, name, wanted, actor=who, reason=reason)
            uow.commit()
    out = PolicyOut.of(current)
    if as_json:
        emit_json(out.model_dump())
    else:
        console.print(out.model_dump())


# editing: descriptions, tags, aliases ------------------------------------------------------
VersionOpt = Annotated[int | None, typer.Option("--version", "-v", help="A version (default: the model itself).")]


@models_app.command("describe")
@handle_errors
def describe(
    name: str,
    description: Annotated[str, typer.Argument(help="The new description ('' clears it).")],
    version: VersionOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Set the description of NAME, or of one of its versions with --version."""
    with context.runtime().uow() as uow:
        if version is None:
            doc = RegisteredModelOut.of(registry.update_model(uow, name, description=description)).model_dump()
        else:
            doc = ModelVersionOut.of(registry.update_version(uow, name, version, description=description)).model_dump()
        uow.commit()
    if as_json:
        emit_json(doc)
    else:
        console.print(f"Described {name}{f' v{version}' if version else ''}.")


@models_app.command("tag")
@handle_errors
def tag(
    name: str,
    key: str,
    value: Annotated[str | None, typer.Argument(help="The value (omit with --delete).")] = None,
    version: VersionOpt = None,
    delete: Annotated[bool, typer.Option("--delete", help="Remove the tag.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Set (KEY VALUE) or remove (KEY --delete) a tag of NAME, or of a version with --version."""
    if delete == (value is not None):
        raise fail("Give either a VALUE to set the tag or --delete to remove it.", 2)
    with context.runtime().uow() as uow:
        if version is None:
            if delete:
                registry.delete_model_tag(uow, name, key)
            else:
                registry.set_model_tag(uow, name, key, value or "")
            tags = registry.get_model(uow, name).tags
        else:
            if delete:
                registry.delete_version_tag(uow, name, version, key)
            else:
                registry.set_version_tag(uow, name, version, key, value or "")
            tags = registry.get_version(uow, name, version).tags
        uow.commit()
    if as_json:
        emit_json({"model": name, "version": version, "tags": tags})
    else:
        console.print(f"{name}{f' v{version}' if version else ''} tags: {tags or 'none'}")


alias_app = typer.Typer(help="Point an alias at a version, or remove it (every move is recorded).")
models_app.add_typer(alias_app, name="alias")


@alias_app.command("set")
@handle_errors
def alias_set(
    name: str, alias: str, version: int, reason: ReasonOpt = "", actor: AsOpt = None, as_json: JsonOpt = False
) -> None:
    """Point ALIAS at VERSION; 'production' (in any case) moves only through its gates."""
    rt = context.runtime()
    with rt.uow() as uow:
        who = _actor(uow, actor)
        outcome = promotion.set_alias(uow, name, alias, version, actor=who, reason=reason, blobs=rt.blobs)
        uow.commit()  # a refused promotion is recorded too
    outcome.raise_if_blocked()
    moved = AliasEventOut.of(outcome.moved) if outcome.moved else None
    if as_json:
        doc = {"model": name, "alias": check_alias(alias), "version": version}
        emit_json({**doc, "moved": moved.model_dump() if moved else None})
    elif moved is None:
        console.print(f"{name}@{check_alias(alias)} already points to v{version}.")
    else:
        console.print(f"{name}@{moved.alias}: {_v(moved.from_version)} -> v{version}.")


@alias_app.command("delete")
@handle_errors
def alias_delete(name: str, alias: str, reason: ReasonOpt = "", actor: AsOpt = None, as_json: JsonOpt = False) -> None:
    """Remove ALIAS from NAME (recorded); removing one that does not exist changes nothing."""
    with context.runtime().uow() as uow:
        event = registry.delete_alias(uow, name, alias, actor=_actor(uow, actor), reason=reason)
        uow.commit()
    if as_json:
        emit_json(
            {
                "model": name,
                "alias": check_alias(alias),
                "moved": AliasEventOut.of(event).model_dump() if event else None,
            }
        )
    else:
        console.print(
            f"Removed {name}@{event.alias} (was v{event.from_version})." if event else f"{name} has no alias {alias!r}."
        )


@models_app.command("alias-at")
@handle_errors
def alias_at(
    name: str,
    alias: str,
    at: Annotated[str, typer.Option("--at", help="A moment: ISO 8601 with a zone, or ms since the epoch.")],
    as_json: JsonOpt = False,
) -> None:
    """Which version ALIAS pointed to at a moment (mlflow/mlflow#2169)."""
    moment = parse_instant(at, "at")
    with context.runtime().uow() as uow:
        version = registry.alias_at(uow, name, alias, moment)
    if as_json:
        emit_json({"model": name, "alias": check_alias(alias), "t": moment, "version": version})
    else:
        where = f"v{version}" if version is not None else "no version"
        console.print(f"{name}@{check_alias(alias)} pointed to {where} at {_when(moment)} UTC.")
