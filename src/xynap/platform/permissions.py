"""Permissions the platform itself declares (modules declare theirs in their manifests)."""

from xynap.core.modules import PermissionDecl

PLATFORM_PERMISSIONS = [
    PermissionDecl("users", scoped=False, label="Users",
                   defaults={"admin": "all", "manager": {"read": "all"}, "staff": {"read": "all"}}),
    PermissionDecl("teams", scoped=False, label="Teams",
                   defaults={"admin": "all", "manager": "all", "staff": {"read": "all"}}),
    PermissionDecl("roles", actions=("read", "update"), scoped=False, label="Roles and permissions",
                   defaults={"admin": "all", "manager": {"read": "all"}}),
    PermissionDecl("subscriptions", actions=("read", "manage"), scoped=False, label="Booked modules",
                   defaults={"admin": "all", "manager": {"read": "all"}}),
    PermissionDecl("settings", actions=("read", "update"), scoped=False, label="Settings",
                   defaults={"admin": "all", "manager": {"read": "all"}}),
    PermissionDecl("audit", actions=("read",), scoped=False, label="Audit log", defaults={"admin": "all"}),
    PermissionDecl("jobs", actions=("read", "manage"), scoped=False, label="Background jobs",
                   defaults={"admin": "all"}),
]

PLATFORM_PERMISSIONS.append(
    PermissionDecl("mail_outbox", actions=("read",), scoped=False, label="Mail outbox", defaults={"admin": "all"})
)
