"""Roles and permissions.

A permission is ``area:action`` (``runs:write``, ``checks:approve``). A role grants patterns
in which ``*`` matches one whole part: ``probes:*`` grants every probe action, ``*:read``
grants reading everywhere, ``*`` grants everything.

>>> has_permission(ROLES["Viewer"].grants, "runs:read")
True
>>> has_permission(ROLES["Viewer"].grants, "runs:write")
False
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Role:
    name: str
    grants: tuple[str, ...]
    description: str = ""


ROLES: dict[str, Role] = {
    r.name: r
    for r in (
        Role("Admin", ("*",), "Everything, including users and tokens."),
        Role(
            "Engineer",
            (
                "*:read",
                "experiments:*",
                "runs:*",
                "datasets:*",
                "artifacts:*",
                "models:write",
                "deployments:*",
                "monitoring:*",
                "pipelines:*",
                "evidence:upload",
                "tasks:write",
            ),
            "Builds, trains, deploys and monitors models.",
        ),
        Role(
            "Compliance Officer",
            ("*:read", "governance:*", "controls:*", "checks:*", "evidence:*", "tasks:*", "models:approve"),
            "Owns controls, reviews checks, approves promotions.",
        ),
        Role("Auditor", ("*:read", "audit:*"), "Reads everything and verifies the audit log."),
        Role("Viewer", ("*:read",), "Reads everything except secrets."),
    )
}

# Reading these reveals secrets or identities; a `*:read` grant does not cover them.
_SENSITIVE_READS = frozenset({"users:read", "tokens:read"})
# Every signed-in principal may read its own profile and issue tokens for itself.
BASELINE = ("profile:read", "tokens:self")


def _matches(pattern: str, permission: str) -> bool:
    if pattern == "*":
        return True
    p_area, _, p_action = pattern.partition(":")
    area, _, action = permission.partition(":")
    if p_area == "*" and permission in _SENSITIVE_READS:
        return False
    return p_area in ("*", area) and p_action in ("*", action)


def has_permission(grants: tuple[str, ...] | list[str], permission: str) -> bool:
    return permission in BASELINE or any(_matches(g, permission) for g in grants)


@dataclass(frozen=True)
class Principal:
    """Who is calling: a user or a service account, with the role's grants."""

    user_id: int
    name: str
    role: str
    kind: str = "user"
    grants: tuple[str, ...] = field(default=())

    def can(self, permission: str) -> bool:
        return has_permission(self.grants, permission)


def principal_for(user_id: int, name: str, role: str, kind: str = "user") -> Principal:
    return Principal(user_id, name, role, kind, ROLES[role].grants)
