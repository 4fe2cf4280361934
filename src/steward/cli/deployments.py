"""``steward deploy``, ``steward rollback`` and ``steward deployments ...``; and the part of
``steward serve --deployment NAME`` that follows persisted deployments.

The CLI works on the store directly, as its operator; who acts is named with ``--as`` (a
Steward user holding ``deployments:write``), else the OS user is recorded. A model server
following the deployment applies the change within its poll interval.
"""

from __future__ import annotations

import datetime as dt
import getpass
import json
import os
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from steward.auth.models import principal_for
from steward.cli import context
from steward.cli.output import console, emit_json, fail, handle_errors, table
from steward.core.errors import Forbidden, InvalidArgument, NotFound
from steward.deployments import service as deployments
from steward.deployments.models import Strategy, build_config
from steward.store.uow import UnitOfWork

deployments_app = typer.Typer(
    help="Deployments: traffic split, stage, health, history, shadow reports, A/B analyses.", no_args_is_help=True
)
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]
ReasonOpt = Annotated[str, typer.Option("--reason", "-r", help="Why (kept in the history).")]
AsOpt = Annotated[str | None, typer.Option("--as", help="The Steward user acting (default: you, via the OS).")]
FOLLOW_VAR = "STEWARD_SERVE_FOLLOW"


def _when(ms: int | None) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).strftime("%Y-%m-%d %H:%M:%S") if ms else ""


def _actor(uow: UnitOfWork, name: str | None) -> str:
    if name is None:
        return f"cli:{getpass.getuser()}"
    row = uow.auth.user_by_name(name)
    if row is None or row.disabled:
        raise NotFound("user", name, f"No active Steward user named {name!r}.")
    if not principal_for(row.id, row.name, row.role).can("deployments:write"):
        raise Forbidden(
            f"User {name!r} ({row.role}) lacks permission 'deployments:write'.", permission="deployments:write"
        )
    return row.name


def _split_text(doc: dict[str, Any]) -> str:
    parts = [f"v{v} {share:.0%}" for v, share in doc["split"].items()]
    if doc["state"] == "shadow":
        parts.append(f"shadow v{doc['candidate_version']} gets a copy of {doc['traffic']:.0%}")
    return ", ".join(parts)


def _stage_text(doc: dict[str, Any]) -> str:
    if doc["stages"] is None:
        return ""
    marks = [f"[{s:g}%]" if i == doc["stage_index"] else f"{s:g}%" for i, s in enumerate(doc["stages"])]
    return " > ".join(marks)


def _print(doc: dict[str, Any]) -> None:
    console.print(
        f"[bold]{doc['name']}[/]  model {doc['model']}  state [bold]{doc['state']}[/]  gen {doc['generation']}"
    )
    console.print(f"  traffic   {_split_text(doc)}")
    if doc["stages"]:
        console.print(f"  stages    {escape(_stage_text(doc))}")
    if doc["previous_version"] is not None:
        console.print(f"  previous  v{doc['previous_version']} (steward rollback {doc['name']} returns to it)")
    health = doc.get("health") or {}
    for version, h in (health.get("variants") or {}).items():
        rate = "n/a" if h.get("error_rate") is None else f"{h['error_rate']:.2%}"
        p95 = "n/a" if h.get("p95_ms") is None else f"{h['p95_ms']:.1f} ms"
        console.print(f"  health    v{version}: {h['requests']} requests, errors {rate}, p95 {p95}")
    verdict = (health.get("controller") or {}).get("verdict")
    if verdict:
        console.print(f"  verdict   {verdict['decision']}: {escape('; '.join(verdict['reasons']))}")


@handle_errors
def deploy(
    name: Annotated[str, typer.Argument(help="The deployment (created on its first deploy).")],
    model: Annotated[str, typer.Option("--model", "-m", help="NAME@alias or NAME/VERSION.")],
    strategy: Annotated[str, typer.Option(help="single, canary, shadow or ab.")] = "single",
    split: Annotated[
        str | None, typer.Option(help="A/B: STABLE/CANDIDATE ('90/10'); shadow: the share copied ('25%').")
    ] = None,
    stages: Annotated[str | None, typer.Option(help="Canary stages in percent (default 1,5,10,25,50,100).")] = None,
    hold_requests: Annotated[int | None, typer.Option(help="Canary: candidate requests per stage (100).")] = None,
    hold_minutes: Annotated[float | None, typer.Option(help="Canary: minutes per stage (5).")] = None,
    max_error_rate: Annotated[float | None, typer.Option(help="Canary: error rate limit (0.01).")] = None,
    max_p95_ms: Annotated[float | None, typer.Option(help="Canary: p95 latency limit in ms (250; 0: off).")] = None,
    min_accuracy: Annotated[float | None, typer.Option(help="Canary: accuracy floor once labels arrive.")] = None,
    max_accuracy_drop: Annotated[float | None, typer.Option(help="Canary: accuracy drop vs stable.")] = None,
    metric_type: Annotated[str | None, typer.Option(help="A/B: 'mean' or 'proportion'.")] = None,
    mde: Annotated[float | None, typer.Option(help="A/B: minimum detectable effect.")] = None,
    planned_n: Annotated[int | None, typer.Option(help="A/B: planned units in both arms.")] = None,
    reason: ReasonOpt = "",
    description: Annotated[str | None, typer.Option(help="What the deployment is for.")] = None,
    actor: AsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Deploy a model version: switch it in (single), or roll it out as a canary, a shadow or an A/B test."""
    config = build_config(
        strategy,
        split=split,
        stages=stages,
        hold_requests=hold_requests,
        hold_minutes=hold_minutes,
        max_error_rate=max_error_rate,
        max_latency_p95_ms=max_p95_ms,
        min_accuracy=min_accuracy,
        max_accuracy_drop=max_accuracy_drop,
        metric_type=metric_type,
        mde=mde,
        planned_n=planned_n,
    )
    with context.runtime().uow() as uow:
        dep = deployments.deploy(
            uow, name, model, config=config, actor=_actor(uow, actor), reason=reason, description=description
        )
        uow.commit()
    doc = dep.to_dict()
    if as_json:
        emit_json(doc)
        return
    what = {"single": "now serves", "canary": "canaries", "shadow": "shadows", "ab": "A/B tests"}[doc["strategy"]]
    version = doc["candidate_version"] if doc["candidate_version"] is not None else doc["stable_version"]
    console.print(f"{name} {what} {doc['model']} v{version}.")
    _print(doc)


@handle_errors
def rollback(
    name: Annotated[str, typer.Argument(help="The deployment.")],
    reason: ReasonOpt = "",
    actor: AsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Back to the previous version: end the running rollout, or revert the last switch."""
    with context.runtime().uow() as uow:
        dep = deployments.rollback(uow, name, actor=_actor(uow, actor), reason=reason)
        uow.commit()
    doc = dep.to_dict()
    if as_json:
        emit_json(doc)
        return
    console.print(f"{name} rolled back: serves v{doc['stable_version']}.")


@deployments_app.command("list")
@handle_errors
def list_deployments(as_json: JsonOpt = False) -> None:
    with context.runtime().uow() as uow:
        docs = [d.to_dict() for d in deployments.list_deployments(uow)]
    if as_json:
        emit_json(docs)
        return
    rows = [(d["name"], d["model"], d["state"], _split_text(d), _stage_text(d), _when(d["updated_at"])) for d in docs]
    table("Deployments", ["name", "model", "state", "traffic", "stage", "updated"], rows)


@deployments_app.command("show")
@handle_errors
def show(name: str, as_json: JsonOpt = False) -> None:
    """Traffic split, stage, health and the running rollout."""
    with context.runtime().uow() as uow:
        doc = deployments.get(uow, name).to_dict()
    if as_json:
        emit_json(doc)
    else:
        _print(doc)


@deployments_app.command("history")
@handle_errors
def history(
    name: str,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="Newest first, at most this many.")] = 50,
    as_json: JsonOpt = False,
) -> None:
    """Every transition: who, when, why, and the traffic after it."""
    with context.runtime().uow() as uow:
        events = [e.to_dict() for e in deployments.history(uow, name, limit=limit)]
    if as_json:
        emit_json(events)
        return
    rows = [
        (
            _when(e["at"]),
            e["action"],
            f"{e['from_state'] or '-'} > {e['to_state']}",
            _versions(e),
            e["actor"],
            e["reason"],
        )
        for e in events
    ]
    table(f"History of {name}", ["when", "action", "state", "versions", "who", "why"], rows)


def _versions(e: dict[str, Any]) -> str:
    text = f"v{e['stable_version']}"
    if e["candidate_version"] is not None:
        text += f" + v{e['candidate_version']} {e['traffic']:.0%}"
    return text


@deployments_app.command("promote")
@handle_errors
def promote(name: str, reason: ReasonOpt = "", actor: AsOpt = None, as_json: JsonOpt = False) -> None:
    """Make the running rollout's candidate the stable version now."""
    with context.runtime().uow() as uow:
        doc = deployments.promote(uow, name, actor=_actor(uow, actor), reason=reason).to_dict()
        uow.commit()
    if as_json:
        emit_json(doc)
    else:
        console.print(f"{name} promoted: serves v{doc['stable_version']} (previous v{doc['previous_version']}).")


@deployments_app.command("report")
@handle_errors
def report(
    name: str,
    rollout: Annotated[str | None, typer.Option(help="A rollout id (default: the current, else the latest).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """The shadow comparison or the A/B analysis of a rollout."""
    from steward.deployments import ab, shadow
    from steward.deployments.logs import PredictionLog

    rt = context.runtime()
    log = PredictionLog.from_settings(rt.settings)
    with rt.uow() as uow:
        found = deployments.rollout(uow, name, rollout)
        if found.strategy is Strategy.SHADOW:
            doc = shadow.shadow_report(uow, name, log, rollout_id=found.id).to_dict()
        elif found.strategy is Strategy.AB:
            doc = ab.ab_analysis(uow, name, log, rollout_id=found.id)
        else:
            raise InvalidArgument(f"Rollout {found.id} is a {found.strategy.value}: it has no report.", field="rollout")
    if as_json:
        emit_json(doc)
    elif found.strategy is Strategy.SHADOW:
        _print_shadow(doc)
    else:
        _print_ab(doc)


def _pct(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.1%}"


def _num(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.4g}"


def _print_shadow(doc: dict[str, Any]) -> None:
    console.print(
        f"[bold]shadow of {doc['deployment']}[/]: v{doc['challenger_version']} against v{doc['primary_version']} "
        f"({doc['status']}); {doc['compared_rows']} of {doc['primary_rows']} rows compared ({_pct(doc['coverage'])})"
    )
    console.print(f"  agreement      {_pct(doc['agreement'])}")
    p = doc["prediction"]
    console.print(f"  predictions    mean delta {_num(p['mean_delta'])}, mean |delta| {_num(p['mean_abs_delta'])}")
    for metric, m in doc["metrics"].items():
        values = f"v{doc['primary_version']} {_num(m['primary'])}  challenger {_num(m['challenger'])}"
        console.print(f"  {metric:14s} {values}  delta {_num(m['delta'])}")
    lat = doc["latency"]
    if lat.get("requests"):
        console.print(
            f"  latency        p50 {_num(lat['primary_p50_ms'])} vs {_num(lat['challenger_p50_ms'])} ms, "
            f"p95 {_num(lat['primary_p95_ms'])} vs {_num(lat['challenger_p95_ms'])} ms; "
            f"overhead {_num(lat['mean_overhead_ms'])} ms per request"
        )
    for note in doc["notes"]:
        console.print(f"  note: {escape(note)}")


def _print_ab(doc: dict[str, Any]) -> None:
    a, rec = doc["analysis"], doc["recommendation"]
    primary = a["primary"]
    console.print(
        f"[bold]A/B test of {doc['deployment']}[/] ({doc['status']}): control v{doc['versions']['control']} "
        f"{doc['counts']['control']} {doc['unit']}s, treatment v{doc['versions']['treatment']} "
        f"{doc['counts']['treatment']} {doc['unit']}s; data from {doc['source']}"
    )
    console.print(
        f"  difference     {_num(primary.get('difference'))} "
        f"[{_num(primary.get('ci_low'))}, {_num(primary.get('ci_high'))}], p={_num(primary.get('p_value'))}"
    )
    if a.get("sequential"):
        s = a["sequential"]
        bounds = f"[{_num(s.get('ci_low'))}, {_num(s.get('ci_high'))}]"
        console.print(f"  sequential     always-valid p={_num(s.get('p_value'))} {bounds}")
    console.print(f"  SRM            p={_num(a['srm']['p_value'])} {'MISMATCH' if a['srm']['mismatch'] else 'ok'}")
    console.print(f"  [bold]{rec['decision']}[/]")
    for r in rec["reasons"]:
        console.print(f"    - {escape(r)}")


@deployments_app.command("outcomes")
@handle_errors
def outcomes(
    name: str,
    input: Annotated[Path, typer.Option("--input", "-i", help="CSV or Parquet: unit_id, value[, covariate].")],
    rollout: Annotated[str | None, typer.Option(help="A rollout id (default: the current A/B test).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Record per-unit outcomes of an A/B test (a unit recorded again is replaced)."""
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    if not input.is_file():
        raise fail(f"No file {input}.", 2)
    table_ = pq.read_table(input) if input.suffix == ".parquet" else pcsv.read_csv(input)
    missing = {"unit_id", "value"} - set(table_.column_names)
    if missing:
        raise fail(f"{input} lacks column(s) {sorted(missing)}.", 2)
    rows = table_.select([c for c in ("unit_id", "value", "covariate") if c in table_.column_names]).to_pylist()
    for r in rows:
        r["unit_id"] = str(r["unit_id"])
    with context.runtime().uow() as uow:
        result = deployments.record_outcomes(uow, name, rows, rollout_id=rollout)
        uow.commit()
    if as_json:
        emit_json(result)
    else:
        console.print(
            f"Recorded {result['recorded']} outcomes for A/B test {result['rollout_id']}: {result['by_variant']}."
        )


def register(app: typer.Typer) -> None:
    app.command("deploy")(deploy)
    app.command("rollback")(rollback)
    app.add_typer(deployments_app, name="deployments")


# steward serve --deployment ------------------------------------------------------------------
def _following(plan: Any, names: list[str], batching: Any, poll_interval: float) -> Any:
    from steward.deployments.logs import PredictionLog
    from steward.serving.loader import RegistryResolver
    from steward.serving.reload import StoreSource, build_following_server

    rt = context.runtime()
    settings = context.settings()
    resolver = RegistryResolver(rt.uow, rt.blobs, Path(settings.home) / "serving-cache")
    source = StoreSource(rt.uow, resolver, PredictionLog.from_settings(settings))
    return build_following_server(names, source, plan=plan, batching=batching, poll_interval_s=poll_interval)


def serve_following(
    plan: Any, names: list[str], batching: Any, poll_interval: float, workers: int, options: dict[str, Any]
) -> None:
    """Run ``steward serve`` for ``plan``'s models and the persisted deployments ``names``."""
    import uvicorn

    from steward.serving.plan import ServePlan

    app = _following(plan, names, batching, poll_interval)  # loads now: fail before binding the port
    for name in names:
        dep = app.deployments[name]
        versions = ", ".join(f"v{k}" for k in dep.variants)
        console.print(
            f"deployment [bold]{name}[/]: {dep.router.kind} ({versions}), following changes every {poll_interval:g}s"
        )
    if workers > 1:
        os.environ[FOLLOW_VAR] = json.dumps(
            {
                "plan": json.loads(plan.to_json()),
                "names": names,
                "batching": [batching.max_batch_size, batching.max_wait_ms],
                "poll": poll_interval,
            }
        )
        assert isinstance(plan, ServePlan)
        uvicorn.run("steward.cli.deployments:follow_worker_app", factory=True, workers=workers, **options)
    else:
        uvicorn.run(app, **options)


def follow_worker_app() -> Any:
    """The app factory each uvicorn worker calls for ``steward serve --deployment ... --workers N``."""
    import sys

    from steward.serving.models import Batching
    from steward.serving.plan import ServePlan

    sys.setswitchinterval(0.0005)
    doc = json.loads(os.environ[FOLLOW_VAR])
    plan = ServePlan.from_json(json.dumps(doc["plan"]))
    return _following(plan, doc["names"], Batching(*doc["batching"]), doc["poll"])
