"""Principals, grants and record scopes (own / team / all).

A grant maps ``<entity>:<action>`` (``crm.deal:update``) to a scope. ``Access`` is what
the permission dependency hands a handler: it applies the scope to a query in one place
so that "only my deals" is never written by hand.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, false

from xynap.core.errors import Forbidden

SCOPE_RANK = {"own": 1, "team": 2, "all": 3}


@dataclass(frozen=True)
class Principal:
    kind: str  # "tenant" | "platform"
    user_id: uuid.UUID
    tenant_id: uuid.UUID | None
    role: str
    email: str
    name: str = ""
    grants: Mapping[str, str] = field(default_factory=dict)
    # ids of users who share a team with this user (including the user), for the team scope
    team_member_ids: frozenset[uuid.UUID] = frozenset()

    @property
    def is_platform(self) -> bool:
        return self.kind == "platform"

    def scope_for(self, permission: str) -> str | None:
        return self.grants.get(permission)

    def can(self, permission: str) -> bool:
        return self.scope_for(permission) is not None


@dataclass(frozen=True)
class Access:
    """A granted permission with its record scope, ready to narrow queries and check records."""

    principal: Principal
    permission: str
    scope: str

    def owner_ids(self) -> frozenset[uuid.UUID] | None:
        if self.scope == "all":
            return None
        if self.scope == "team":
            return self.principal.team_member_ids | {self.principal.user_id}
        return frozenset({self.principal.user_id})

    def apply(self, stmt: Select[Any], owner_column: Any) -> Select[Any]:
        """Narrow a SELECT to the records this scope may see (``owner_column`` e.g. Deal.owner_id)."""
        ids = self.owner_ids()
        if ids is None:
            return stmt
        if not ids:
            return stmt.where(false())
        return stmt.where(owner_column.in_(ids))

    def allows_owner(self, owner_id: uuid.UUID | None) -> bool:
        ids = self.owner_ids()
        return ids is None or (owner_id is not None and owner_id in ids)

    def ensure_owner(self, owner_id: uuid.UUID | None) -> None:
        if not self.allows_owner(owner_id):
            raise Forbidden(f"Your role may {self.permission.split(':')[-1]} only "
                            f"{'your own' if self.scope == 'own' else 'your team' + chr(39) + 's'} records.",
                            code="permission_scope")


def merge_grants(*layers: Mapping[str, str | None]) -> dict[str, str]:
    """Later layers override earlier ones; a ``None`` value removes a grant."""
    out: dict[str, str] = {}
    for layer in layers:
        for key, scope in layer.items():
            if scope is None or scope == "none":
                out.pop(key, None)
            elif scope in SCOPE_RANK:
                out[key] = scope
    return out
