"""Tables of the CRM module: pipelines with stages, deals with line items, stage history and tags.

Every table is tenant-owned (``TenantMixin``): the session filters it, PostgreSQL guards it with
row-level security (see the migration). Contacts and organisations are plain ids of the contacts
component (no foreign keys across components); they are registered as contact references so a
contact merge moves them.

Indexes are laid out for the two hot reads: the board (per stage of one pipeline: count, sums and
the first cards in ``position`` order → ``(tenant_id, pipeline_id, stage_id, status, position)``) and
the forecast (open deals of a tenant, grouped → ``(tenant_id, status, expected_close_date)``).
"""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from xynap.core.db import Base, IdMixin, TenantMixin, TimestampMixin, VersionMixin, utcnow

_JSON = JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")

DEAL_STATUSES = ("open", "won", "lost")
MONEY = Numeric(18, 2)
QUANTITY = Numeric(18, 4)
PERCENT = Numeric(5, 2)


class Pipeline(IdMixin, TimestampMixin, VersionMixin, TenantMixin, Base):
    """A sales process ("Neugeschäft", "Upsell") with its own ordered stages."""

    __tablename__ = "crm_pipelines"
    __entity_name__ = "crm.pipeline"

    name: Mapped[str] = mapped_column(String(200))
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    position: Mapped[int] = mapped_column(Integer, default=0)


class Stage(IdMixin, TimestampMixin, TenantMixin, Base):
    """A column of a pipeline's board; ``probability`` (0–100) is the deals' default win chance,
    ``rotting_days`` (None: never) how long a deal may stay before it counts as stagnating."""

    __tablename__ = "crm_stages"
    __entity_name__ = "crm.stage"
    __table_args__ = (Index("ix_crm_stages_pipeline_position", "pipeline_id", "position"),)

    pipeline_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("crm_pipelines.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    color: Mapped[str] = mapped_column(String(20), default="#64748b")
    probability: Mapped[int] = mapped_column(Integer, default=0)
    rotting_days: Mapped[int | None] = mapped_column(Integer, nullable=True)
    position: Mapped[int] = mapped_column(Integer, default=0)


class Deal(IdMixin, TimestampMixin, VersionMixin, TenantMixin, Base):
    """An opportunity in one stage of one pipeline (spec §6.3).

    ``position`` orders the cards within a stage (gaps of ``POSITION_GAP``; a move between two
    neighbours takes the middle and renumbers the stage when no gap is left). ``probability`` is an
    override; None means "the stage's". ``stage_entered_at`` drives rotting; ``rotting_notified_at``
    makes the ``deal.rotting`` event fire once per stay in a stage.
    """

    __tablename__ = "crm_deals"
    __entity_name__ = "crm.deal"
    __table_args__ = (
        # covering on PostgreSQL (INCLUDE): the board totals and the forecast read only the index
        Index("ix_crm_deals_board", "tenant_id", "pipeline_id", "stage_id", "status", "position",
              postgresql_include=["currency", "value", "probability"]),
        Index("ix_crm_deals_forecast", "tenant_id", "status", "expected_close_date",
              postgresql_include=["stage_id", "currency", "value", "probability", "owner_id", "pipeline_id"]),
        Index("ix_crm_deals_tenant_created", "tenant_id", "created_at", "id"),
        # one stage's open cards in board order (column pages, drop neighbours, end, renumbering): crm_0003
        Index("ix_crm_deals_stage_order", "tenant_id", "stage_id", "status", "position", "id"),
    )

    title: Mapped[str] = mapped_column(String(300))
    pipeline_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("crm_pipelines.id", ondelete="RESTRICT"))
    stage_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("crm_stages.id", ondelete="RESTRICT"), index=True)
    contact_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True, index=True)
    organization_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True, index=True)
    owner_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("users.id", ondelete="SET NULL"), nullable=True, index=True)
    value: Mapped[decimal.Decimal] = mapped_column(MONEY, default=decimal.Decimal("0"))
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    expected_close_date: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    probability: Mapped[int | None] = mapped_column(Integer, nullable=True)
    status: Mapped[str] = mapped_column(String(10), default="open")
    lost_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    won_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    lost_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    source: Mapped[str | None] = mapped_column(String(100), nullable=True)
    custom_fields: Mapped[dict[str, Any]] = mapped_column(_JSON, default=dict)
    position: Mapped[int] = mapped_column(BigInteger, default=0)
    stage_entered_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    rotting_notified_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)


class DealItem(IdMixin, TenantMixin, Base):
    """A line item (product, quantity, unit price, discount %); ``total`` is computed by the server."""

    __tablename__ = "crm_deal_items"
    __entity_name__ = "crm.deal_item"

    deal_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("crm_deals.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    product_name: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    quantity: Mapped[decimal.Decimal] = mapped_column(QUANTITY)
    unit_price: Mapped[decimal.Decimal] = mapped_column(MONEY)
    discount_percent: Mapped[decimal.Decimal] = mapped_column(PERCENT, default=decimal.Decimal("0"))
    total: Mapped[decimal.Decimal] = mapped_column(MONEY)


class DealStageHistory(IdMixin, TenantMixin, Base):
    """One stay of a deal in a stage: ``left_at`` is None while the deal is still there."""

    __tablename__ = "crm_deal_stage_history"
    __entity_name__ = "crm.deal_stage_history"
    __table_args__ = (Index("ix_crm_deal_stage_history_deal", "deal_id", "entered_at"),)

    deal_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("crm_deals.id", ondelete="CASCADE"))
    pipeline_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    stage_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    entered_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    left_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    moved_by: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("users.id", ondelete="SET NULL"), nullable=True)


class DealTag(IdMixin, TenantMixin, Base):
    """Tags of a deal (the tags component's ``tags``); registered with its tag link registry."""

    __tablename__ = "crm_deal_tags"
    __table_args__ = (UniqueConstraint("deal_id", "tag_id"), Index("ix_crm_deal_tags_tag_deal", "tag_id", "deal_id"))

    deal_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("crm_deals.id", ondelete="CASCADE"), index=True)
    tag_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("tags.id", ondelete="CASCADE"))


# --- leads (spec §2.1.3) -----------------------------------------------------------------------------

LEAD_STATUSES = ("new", "qualified", "disqualified", "converted")
LEAD_SOURCES = ("api", "web_form", "manual", "import")


class LeadForm(IdMixin, TimestampMixin, VersionMixin, TenantMixin, Base):
    """A public web form: submissions to ``/api/crm/public/forms/{form_key}`` become leads.

    ``form_key`` is a random, unguessable token (it is public: it sits in the company's web page).
    """

    __tablename__ = "crm_lead_forms"
    __entity_name__ = "crm.form"
    __table_args__ = (UniqueConstraint("form_key"),)

    name: Mapped[str] = mapped_column(String(200))
    form_key: Mapped[str] = mapped_column(String(40))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    extra_fields: Mapped[list[Any]] = mapped_column(_JSON, default=list)  # keys accepted besides the standard ones
    tag_ids: Mapped[list[Any]] = mapped_column(_JSON, default=list)  # tags every lead of the form gets
    redirect_url: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    success_message: Mapped[str] = mapped_column(String(500), default="Vielen Dank! Wir melden uns bei Ihnen.")


class Lead(IdMixin, TimestampMixin, VersionMixin, TenantMixin, Base):
    """A prospect before it is a contact: captured by API or web form, scored, routed, converted."""

    __tablename__ = "crm_leads"
    __entity_name__ = "crm.lead"
    __table_args__ = (
        Index("ix_crm_leads_tenant_status_created", "tenant_id", "status", "created_at", "id"),
        Index("ix_crm_leads_tenant_owner_routed", "tenant_id", "owner_id", "routed_at"),
    )

    first_name: Mapped[str | None] = mapped_column(String(100), nullable=True)
    last_name: Mapped[str | None] = mapped_column(String(100), nullable=True)
    company_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    email: Mapped[str | None] = mapped_column(String(320), nullable=True, index=True)
    phone: Mapped[str | None] = mapped_column(String(50), nullable=True)
    region: Mapped[str | None] = mapped_column(String(100), nullable=True)
    message: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict[str, Any]] = mapped_column(_JSON, default=dict)  # further form fields
    source: Mapped[str] = mapped_column(String(20), default="api")
    status: Mapped[str] = mapped_column(String(20), default="new")
    owner_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("users.id", ondelete="SET NULL"), nullable=True, index=True)
    form_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("crm_lead_forms.id", ondelete="SET NULL"), nullable=True)
    score: Mapped[int] = mapped_column(Integer, default=0)
    matched_rules: Mapped[list[Any]] = mapped_column(_JSON, default=list)  # ids of the rules that currently match
    routed_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)  # set when routing chose the owner
    converted_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    converted_contact_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    converted_organization_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    converted_deal_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)


class LeadTag(IdMixin, TenantMixin, Base):
    __tablename__ = "crm_lead_tags"
    __table_args__ = (UniqueConstraint("lead_id", "tag_id"), Index("ix_crm_lead_tags_tag_lead", "tag_id", "lead_id"))

    lead_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("crm_leads.id", ondelete="CASCADE"), index=True)
    tag_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("tags.id", ondelete="CASCADE"))


class LeadScoreRule(IdMixin, TimestampMixin, VersionMixin, TenantMixin, Base):
    """``points`` (±) for every lead matching ``field`` ``operator`` ``value`` (e.g. data.branche equals IT)."""

    __tablename__ = "crm_lead_score_rules"
    __entity_name__ = "crm.score_rule"

    name: Mapped[str] = mapped_column(String(200))
    field: Mapped[str] = mapped_column(String(80))  # a lead field, "data.<key>" or "tag"
    operator: Mapped[str] = mapped_column(String(20))  # equals | contains | exists | has_tag
    value: Mapped[str] = mapped_column(String(300), default="")
    points: Mapped[int] = mapped_column(Integer)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)


class LeadScoreEvent(IdMixin, TenantMixin, Base):
    """One change of a lead's score, with the reason (the score history)."""

    __tablename__ = "crm_lead_score_events"
    __table_args__ = (Index("ix_crm_lead_score_events_lead", "lead_id", "created_at"),)

    lead_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("crm_leads.id", ondelete="CASCADE"))
    rule_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    delta: Mapped[int] = mapped_column(Integer)
    score: Mapped[int] = mapped_column(Integer)  # after the change
    reason: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class LeadSettings(IdMixin, TimestampMixin, VersionMixin, TenantMixin, Base):
    """Per company: the score threshold and the routing (one row; defaults when there is none).

    Routing order: the first matching rule (``{"kind": "field", "field": "region", "value": "Nord",
    "user_id": …}`` or ``{"kind": "tag", "tag_id": …, "user_id": …}``), else round robin over
    ``round_robin_user_ids`` (the member whose last routed lead is oldest), else ``fallback_owner_id``.
    """

    __tablename__ = "crm_lead_settings"
    __table_args__ = (UniqueConstraint("tenant_id"),)

    score_threshold: Mapped[int] = mapped_column(Integer, default=50)
    routing_rules: Mapped[list[Any]] = mapped_column(_JSON, default=list)
    round_robin_user_ids: Mapped[list[Any]] = mapped_column(_JSON, default=list)
    fallback_owner_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
