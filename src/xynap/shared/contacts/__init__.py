"""Shared component: contacts (persons and organisations), tags and custom fields (spec §3.1)."""

from xynap.core.modules import Module

module = Module(slug="contacts", name="Kontakte", kind="shared", icon="users", color="#0ea5e9", sort_order=10,
                description="Persons and organisations shared by every module")
