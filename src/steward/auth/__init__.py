"""Users, service accounts, roles made of permissions, API tokens."""

from steward.auth.models import ROLES, Principal, Role, has_permission

__all__ = ["ROLES", "Principal", "Role", "has_permission"]
