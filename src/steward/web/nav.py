"""The workspaces of the platform, in the order the navigation shows them.

Each names the permission that reading it needs; the navigation lists only the workspaces the
signed-in principal may read.
"""

from __future__ import annotations

from dataclasses import dataclass

from steward.auth.models import Principal


@dataclass(frozen=True)
class Workspace:
    slug: str
    title: str
    permission: str
    summary: str
    empty: str


WORKSPACES: tuple[Workspace, ...] = (
    Workspace(
        "experiments",
        "Experiments",
        "experiments:read",
        "Experiments and their runs: params, metrics, artifacts, dataset inputs.",
        "No experiments yet. Log a run with the SDK and it appears here.",
    ),
    Workspace(
        "models",
        "Models",
        "models:read",
        "Registered models, their versions, aliases and lineage back to runs.",
        "No models registered yet.",
    ),
    Workspace(
        "deployments",
        "Deployments",
        "deployments:read",
        "Model versions being served: stages, traffic splits, canaries and shadows.",
        "No deployments yet.",
    ),
    Workspace(
        "monitoring",
        "Monitoring",
        "monitoring:read",
        "Prediction logs, drift reports, estimated performance and alerts.",
        "Nothing is monitored yet: no deployment is logging predictions.",
    ),
    Workspace(
        "governance",
        "Governance",
        "governance:read",
        "Controls, the checks that test them, reviews and scores.",
        "No controls defined yet.",
    ),
    Workspace(
        "evidence",
        "Evidence",
        "evidence:read",
        "Evidence recorded for every step, with retention and legal hold.",
        "No evidence recorded yet.",
    ),
    Workspace(
        "tasks",
        "Tasks",
        "tasks:read",
        "Remediation tasks with owners, deadlines and proof of the fix.",
        "No tasks yet.",
    ),
    Workspace(
        "probes",
        "Probes",
        "probes:read",
        "Probes that report from outside: their runs, heartbeats and schedules.",
        "No probes registered yet.",
    ),
)
BY_SLUG = {w.slug: w for w in WORKSPACES}


def nav_for(principal: Principal | None) -> list[Workspace]:
    if principal is None:
        return []
    return [w for w in WORKSPACES if principal.can(w.permission)]
