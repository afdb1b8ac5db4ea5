"""Permissions of the CRM module and their defaults per system role.

Defaults follow what sales teams know from Pipedrive and HubSpot: everybody in sales sees every
deal and lead of the company (so colleagues can cover for each other and the board shows the whole
pipeline), but a staff member changes, moves, wins/loses and deletes only the deals and leads they
own; managers and admins work on all of them. Pipelines and their stages are the company's sales
process: admins and managers shape them, everybody reads them. External users (tax advisors,
freelancers) see nothing of the CRM unless a company grants it. Companies change any of this per
role (``roles.grants``).
"""

from __future__ import annotations

from xynap.core.modules import PermissionDecl

OWN_WRITES = {"read": "all", "create": "own", "update": "own", "delete": "own"}

PERMISSIONS = [
    PermissionDecl("crm.pipeline", scoped=False, label="Pipelines", defaults={
        "admin": "all", "manager": "all", "staff": {"read": "all"}}),
    PermissionDecl("crm.deal", label="Deals", defaults={
        "admin": "all", "manager": "all", "staff": OWN_WRITES}),
    PermissionDecl("crm.lead", label="Leads", defaults={
        "admin": "all", "manager": "all", "staff": OWN_WRITES}),
    # web forms, scoring rules, routing and threshold: set up by admins and managers, readable by sales
    PermissionDecl("crm.lead_config", scoped=False, label="Lead forms, scoring and routing", defaults={
        "admin": "all", "manager": "all", "staff": {"read": "all"}}),
]
