"""Shared component: tags (spec §3.1) — per company, with colours, reused across entities.

Routes live at ``/api/tags``. The ``tags`` table belongs to the contacts branch's first migration
(history); entities attach tags through their own link tables registered with
``xynap.shared.tags.registry.register_tag_link`` (contacts: ``contact_tags``).

Entry point (group ``xynap.modules``): ``tags = "xynap.shared.tags:module"``.
"""

from xynap.core.modules import Module, PermissionDecl
from xynap.shared.tags.api import router
from xynap.shared.tags.models import Tag
from xynap.shared.tags.registry import register_tag_link

module = Module(
    slug="tags", name="Tags", kind="shared", icon="tag", color="#64748b", sort_order=11,
    description="Coloured tags shared by every entity",
    permissions=[
        PermissionDecl("tags.tag", scoped=False, label="Tags", defaults={
            "admin": "all", "manager": "all", "staff": {"read": "all", "create": "all"}, "external": {"read": "all"},
        }),
    ],
    routers=[router],
)

__all__ = ["Tag", "module", "register_tag_link"]
