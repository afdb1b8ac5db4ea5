"""Columns of other components that point at a contact (plain ids, no foreign keys).

When two contacts are merged, every registered column that names the removed contact is moved to
the surviving one in the merge's transaction. A component registers its columns once, at import
time, next to its models (this module imports nothing, so registering is cheap)::

    from xynap.shared.contacts.references import register_contact_reference
    register_contact_reference(Task, "linked_contact_id")

The contacts component's own links (relations, tags, match keys) are moved by the merge itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ContactReference:
    model: Any  # a tenant-owned mapped class
    column: str  # the attribute holding a contact id


CONTACT_REFERENCES: list[ContactReference] = []


def register_contact_reference(model: Any, *columns: str) -> None:
    for column in columns:
        if not hasattr(model, column):
            raise AttributeError(f"{model.__name__} has no column {column!r}")
        reference = ContactReference(model, column)
        if reference not in CONTACT_REFERENCES:
            CONTACT_REFERENCES.append(reference)
