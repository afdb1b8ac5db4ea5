"""Tables of the contacts component: contacts, their relations, tags and custom field definitions.

Every table is tenant-owned (``TenantMixin``): the session filters it, PostgreSQL guards it with
row-level security (see the migration). ``email_keys`` and ``phone_keys`` are derived search
columns (case-folded e-mails / E.164 numbers joined by a space) kept in step by the service, so
that prefix search needs no JSON functions. ``contact_match_keys`` holds the blocking keys of the
duplicate finder (one row per e-mail, phone and name key), also kept in step by the service.
The ``Tag`` model moved to ``xynap.shared.tags`` (the table did not); it is re-exported here.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint, Uuid
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from xynap.core.db import Base, IdMixin, TenantMixin, TimestampMixin, VersionMixin
from xynap.shared.tags.models import Tag  # noqa: F401  (re-exported: the model moved to the tags component)

# JSON that stores Python None as SQL NULL (not the JSON literal null).
_JSON = JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")

CONTACT_TYPES = ("person", "organization")
CONTACT_SOURCES = ("manual", "import", "web", "api")
RELATION_TYPES = ("employee_of", "partner", "supplier", "customer", "other")
FIELD_TYPES = ("text", "number", "date", "link", "select", "multiselect", "checkbox")
FIELD_ENTITIES = ("contact",)


class Contact(IdMixin, TimestampMixin, VersionMixin, TenantMixin, Base):
    """A person or an organisation."""

    __tablename__ = "contacts"
    __entity_name__ = "contact"
    __table_args__ = (
        Index("ix_contacts_tenant_display_name", "tenant_id", "display_name", "id"),
        Index("ix_contacts_tenant_created_at", "tenant_id", "created_at", "id"),
    )
    __tenant_index__ = False  # both indexes above lead with it (contacts_0006)

    type: Mapped[str] = mapped_column(String(20), default="person")
    display_name: Mapped[str] = mapped_column(String(300))
    first_name: Mapped[str | None] = mapped_column(String(100), nullable=True)
    last_name: Mapped[str | None] = mapped_column(String(100), nullable=True)
    company_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    emails: Mapped[list[Any]] = mapped_column(_JSON, default=list)  # [{type, value}]
    phones: Mapped[list[Any]] = mapped_column(_JSON, default=list)  # [{type, value (E.164)}]
    addresses: Mapped[list[Any]] = mapped_column(_JSON, default=list)  # [{type, street, postal_code, city, country}]
    custom_fields: Mapped[dict[str, Any]] = mapped_column(_JSON, default=dict)
    avatar_url: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    notes: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(String(20), default="manual")
    owner_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("users.id", ondelete="SET NULL"), index=True, nullable=True)
    email_keys: Mapped[str] = mapped_column(Text, default="")
    phone_keys: Mapped[str] = mapped_column(Text, default="")


class ContactRelation(IdMixin, TimestampMixin, TenantMixin, Base):
    """A directed link: contact A is <relation_type> of contact B (e.g. a person employee_of a company)."""

    __tablename__ = "contact_relations"
    __entity_name__ = "contacts.relation"

    contact_a_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("contacts.id", ondelete="CASCADE"), index=True)
    contact_b_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("contacts.id", ondelete="CASCADE"), index=True)
    relation_type: Mapped[str] = mapped_column(String(20), default="other")
    role: Mapped[str | None] = mapped_column(String(100), nullable=True)
    department: Mapped[str | None] = mapped_column(String(100), nullable=True)
    position: Mapped[str | None] = mapped_column(String(100), nullable=True)


class ContactTag(TenantMixin, Base):
    """A contact's tag. The pair is the key (which also finds a contact's tags); (tag_id, tenant_id,
    contact_id) makes "contacts with tag X" an index-only lookup, tenant filter included. The link goes
    with its contact or its tag (both cascade, and both go with the tenant), so it needs no tenant key
    or index of its own — an import writes one of these per tag and contact (contacts_0006)."""

    __tablename__ = "contact_tags"
    __table_args__ = (Index("ix_contact_tags_tag_tenant_contact", "tag_id", "tenant_id", "contact_id"),)
    __tenant_index__ = False
    __tenant_foreign_key__ = False

    contact_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("contacts.id", ondelete="CASCADE"),
                                                  primary_key=True)
    tag_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True)


class CustomFieldDefinition(IdMixin, TimestampMixin, TenantMixin, Base):
    """A tenant-defined field on an entity (today: contacts); values live in ``Contact.custom_fields``."""

    __tablename__ = "custom_field_definitions"
    __entity_name__ = "contacts.field"
    __table_args__ = (UniqueConstraint("tenant_id", "entity", "key"),)

    entity: Mapped[str] = mapped_column(String(30), default="contact")
    key: Mapped[str] = mapped_column(String(60))
    label: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(20))
    options: Mapped[list[Any]] = mapped_column(_JSON, default=list)
    required: Mapped[bool] = mapped_column(Boolean, default=False)
    position: Mapped[int] = mapped_column(Integer, default=0)


MATCH_KINDS = ("email", "name", "phone", "sound")


class ContactMatchKey(TenantMixin, Base):
    """A blocking key of the duplicate finder: contacts sharing a (kind, key) are compared.

    Kinds: ``email`` (case-folded), ``phone`` (E.164), ``name`` (sorted name tokens without accents
    and legal forms), ``sound`` (the same tokens in Kölner Phonetik) — and ``cf`` (``<field>=<value>``),
    which serves custom field equality filters, not the duplicate finder. Derived data, rewritten by
    the service on every change, so it is not audited.
    """

    __tablename__ = "contact_match_keys"
    __audited__ = False
    __table_args__ = (Index("ix_contact_match_keys_lookup", "tenant_id", "kind", "key", "contact_id"),)
    # Five or six rows per contact, written by every import: kept to two indexes (the key itself, which
    # also finds a contact's keys, and the lookup) and one foreign key (the contact's, which removes
    # them with the contact and so with the tenant). An id, its index and the tenant's own key and
    # index were a third of an import's database time (contacts_0006).
    __tenant_index__ = False
    __tenant_foreign_key__ = False

    contact_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("contacts.id", ondelete="CASCADE"),
                                                  primary_key=True)
    kind: Mapped[str] = mapped_column(String(10), primary_key=True)
    key: Mapped[str] = mapped_column(String(300), primary_key=True)


class Segment(IdMixin, TimestampMixin, VersionMixin, TenantMixin, Base):
    """A saved dynamic filter ("all VIP customers in Bayern"); evaluated at read time.

    ``filter`` is a group ``{"op": "and"|"or", "conditions": [...]}`` of leaves ``{"field", "operator",
    "value"}`` and nested groups (grammar and compiler: ``xynap.shared.contacts.segments``).
    """

    __tablename__ = "contact_segments"
    __entity_name__ = "contacts.segment"

    name: Mapped[str] = mapped_column(String(200))
    entity: Mapped[str] = mapped_column(String(30), default="contact")
    filter: Mapped[dict[str, Any]] = mapped_column(_JSON, default=dict)
    owner_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("users.id", ondelete="SET NULL"), index=True, nullable=True)
    shared: Mapped[bool] = mapped_column(Boolean, default=False)
