"""Shared component: tasks, notes and the activity timeline (spec §3.4)."""

from xynap.core.modules import Module

module = Module(slug="tasks", name="Aufgaben", kind="shared", icon="check-square", color="#22c55e", sort_order=20,
                description="Tasks, notes and the activity timeline shared by every module")
