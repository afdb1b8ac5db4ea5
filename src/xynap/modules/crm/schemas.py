"""Request and response bodies of the CRM module.

Money is ``Decimal`` end to end (JSON carries it as a string, e.g. ``"1234.50"``, so no client
rounds it through a float); currencies are ISO 4217 codes.
"""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

COLOR_PATTERN = r"^#[0-9a-fA-F]{6}$"
CURRENCY_PATTERN = r"^[A-Z]{3}$"

Money = decimal.Decimal


class TagRef(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    color: str


# --- pipelines and stages ----------------------------------------------------------------------------


class StageRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    pipeline_id: uuid.UUID
    name: str
    color: str
    probability: int
    rotting_days: int | None
    position: int


class StageCreate(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    color: str = Field(default="#64748b", pattern=COLOR_PATTERN)
    probability: int = Field(default=0, ge=0, le=100, description="Default win probability of its deals, in %")
    rotting_days: int | None = Field(default=None, ge=1, le=3650,
                                     description="Days a deal may stay before it is flagged as rotting; null: never")
    position: int | None = Field(default=None, ge=0, description="Index among the stages; default: last")


class StageUpdate(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    color: str | None = Field(default=None, pattern=COLOR_PATTERN)
    probability: int | None = Field(default=None, ge=0, le=100)
    rotting_days: int | None = Field(default=None, ge=1, le=3650, description="null switches rotting off")


class StageOrder(BaseModel):
    stage_ids: list[uuid.UUID] = Field(description="Every stage of the pipeline, in the new order", max_length=100)


class PipelineRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    is_default: bool
    position: int
    version: int
    created_at: dt.datetime
    stages: list[StageRead] = Field(default_factory=list)


class PipelineCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    is_default: bool = False
    stages: list[StageCreate] = Field(default_factory=list, max_length=50,
                                      description="Initial stages in board order (position is ignored)")


class PipelineUpdate(BaseModel):
    version: int = Field(description="The version you edited; a newer one on the server gives 409.")
    name: str | None = Field(default=None, min_length=1, max_length=200)
    is_default: bool | None = None


# --- deals --------------------------------------------------------------------------------------------


class DealItemIn(BaseModel):
    product_name: str = Field(min_length=1, max_length=300)
    description: str = Field(default="", max_length=5000)
    quantity: decimal.Decimal = Field(gt=0, max_digits=14, decimal_places=4, allow_inf_nan=False)
    unit_price: decimal.Decimal = Field(ge=0, max_digits=14, decimal_places=2, allow_inf_nan=False)
    discount_percent: decimal.Decimal = Field(default=decimal.Decimal("0"), ge=0, le=100, max_digits=5,
                                              decimal_places=2, allow_inf_nan=False)


class DealItemRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    position: int
    product_name: str
    description: str
    quantity: decimal.Decimal
    unit_price: decimal.Decimal
    discount_percent: decimal.Decimal
    total: decimal.Decimal


class StageStay(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    stage_id: uuid.UUID
    pipeline_id: uuid.UUID
    entered_at: dt.datetime
    left_at: dt.datetime | None
    moved_by: uuid.UUID | None
    seconds: int = Field(description="Time in the stage so far (until left_at, or now)")


class DealRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    title: str
    pipeline_id: uuid.UUID
    stage_id: uuid.UUID
    contact_id: uuid.UUID | None
    organization_id: uuid.UUID | None
    owner_id: uuid.UUID | None
    value: decimal.Decimal
    currency: str
    expected_close_date: dt.date | None
    probability: int = Field(description="Effective win probability: the override, else the stage's")
    probability_override: int | None = Field(description="The deal's own probability; null: the stage's")
    status: Literal["open", "won", "lost"]
    lost_reason: str | None
    won_at: dt.datetime | None
    lost_at: dt.datetime | None
    source: str | None
    custom_fields: dict[str, Any]
    position: int
    stage_entered_at: dt.datetime
    rotting: bool = Field(description="Open and longer in its stage than the stage's rotting days")
    tags: list[TagRef] = Field(default_factory=list)
    contact_name: str | None = Field(None, description="The contact's display name, if the caller may read it")
    organization_name: str | None = Field(None, description="The organization's name, if the caller may read it")
    owner_name: str | None = Field(None, description="The owner's name")
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime


class DealDetail(DealRead):
    items: list[DealItemRead] = Field(default_factory=list)
    stage_history: list[StageStay] = Field(default_factory=list)


class DealCreate(BaseModel):
    title: str = Field(min_length=1, max_length=300)
    pipeline_id: uuid.UUID
    stage_id: uuid.UUID | None = Field(default=None, description="Default: the pipeline's first stage")
    value: decimal.Decimal = Field(default=decimal.Decimal("0"), ge=0, max_digits=16, decimal_places=2,
                                   allow_inf_nan=False,
                                   description="Ignored when items are given: the value is then their sum")
    currency: str = Field(default="EUR", pattern=CURRENCY_PATTERN)
    expected_close_date: dt.date | None = None
    probability: int | None = Field(default=None, ge=0, le=100, description="null: the stage's probability")
    owner_id: uuid.UUID | None = Field(default=None, description="Default: the caller")
    contact_id: uuid.UUID | None = Field(default=None, description="A person of the contacts component")
    organization_id: uuid.UUID | None = Field(default=None, description="An organisation of the contacts component")
    source: str | None = Field(default=None, max_length=100)
    tag_ids: list[uuid.UUID] = Field(default_factory=list, max_length=50)
    custom_fields: dict[str, Any] = Field(default_factory=dict)
    items: list[DealItemIn] = Field(default_factory=list, max_length=200)


class DealUpdate(BaseModel):
    version: int = Field(description="The version you edited; a newer one on the server gives 409.")
    title: str | None = Field(default=None, min_length=1, max_length=300)
    value: decimal.Decimal | None = Field(default=None, ge=0, max_digits=16, decimal_places=2, allow_inf_nan=False)
    currency: str | None = Field(default=None, pattern=CURRENCY_PATTERN)
    expected_close_date: dt.date | None = None
    probability: int | None = Field(default=None, ge=0, le=100, description="null: back to the stage's")
    owner_id: uuid.UUID | None = None
    contact_id: uuid.UUID | None = None
    organization_id: uuid.UUID | None = None
    source: str | None = Field(default=None, max_length=100)
    tag_ids: list[uuid.UUID] | None = Field(default=None, max_length=50)
    custom_fields: dict[str, Any] | None = None
    items: list[DealItemIn] | None = Field(default=None, max_length=200,
                                       description="Replaces every line item; the value becomes their sum")


class DealMove(BaseModel):
    stage_id: uuid.UUID = Field(description="Target stage (of the deal's pipeline)")
    version: int
    position: int | None = Field(default=None, ge=0, description="Index among the stage's open cards; default: end")
    before_id: uuid.UUID | None = Field(default=None, description="Place the card right before this deal")
    after_id: uuid.UUID | None = Field(default=None, description="Place the card right after this deal")


class DealWon(BaseModel):
    version: int


class DealLost(BaseModel):
    version: int
    reason: str = Field(min_length=1, max_length=2000)


class DealReopen(BaseModel):
    version: int


# --- board and forecast -------------------------------------------------------------------------------


class CurrencySum(BaseModel):
    currency: str
    value: decimal.Decimal


class BoardColumn(BaseModel):
    stage: StageRead
    count: int = Field(description="Open deals in the stage (in the caller's scope)")
    sums: list[CurrencySum] = Field(description="Sum of value per currency (never added across currencies)")
    weighted: list[CurrencySum] = Field(description="Sum of value × probability per currency")
    deals: list[DealRead] = Field(description="The first cards in board order")
    next_cursor: str | None = Field(description="For GET .../stages/{stage_id}/deals?cursor=")


class Board(BaseModel):
    pipeline: PipelineRead
    columns: list[BoardColumn]


class ForecastRow(BaseModel):
    key: str | None = Field(description="Stage/owner/team id, 'YYYY-MM', 'YYYY-Qn'; null: none (no date, no team)")
    label: str = Field(description="Stage name, owner name, team name, or the period")
    currency: str
    count: int
    value: decimal.Decimal
    weighted: decimal.Decimal = Field(description="sum(value × probability / 100)")


class Forecast(BaseModel):
    group: str
    rows: list[ForecastRow]
    totals: list[ForecastRow] = Field(description="Per currency over every group")


# --- leads -------------------------------------------------------------------------------------------

LeadStatus = Literal["new", "qualified", "disqualified", "converted"]
FIELD_KEY = r"^[a-z][a-z0-9_]{0,59}$"


class ScoreEntry(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    delta: int
    score: int
    reason: str
    rule_id: uuid.UUID | None
    created_at: dt.datetime


class LeadRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    first_name: str | None
    last_name: str | None
    company_name: str | None
    email: str | None
    phone: str | None
    region: str | None
    message: str
    data: dict[str, Any]
    source: str
    status: LeadStatus
    owner_id: uuid.UUID | None
    form_id: uuid.UUID | None
    score: int
    routed_at: dt.datetime | None
    converted_at: dt.datetime | None
    converted_contact_id: uuid.UUID | None
    converted_organization_id: uuid.UUID | None
    converted_deal_id: uuid.UUID | None
    tags: list[TagRef] = Field(default_factory=list)
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime


class LeadDetail(LeadRead):
    score_history: list[ScoreEntry] = Field(default_factory=list, description="Newest last")


class LeadFields(BaseModel):
    first_name: str | None = Field(default=None, max_length=100)
    last_name: str | None = Field(default=None, max_length=100)
    company_name: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=320, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    phone: str | None = Field(default=None, max_length=50)
    region: str | None = Field(default=None, max_length=100)
    message: str = Field(default="", max_length=10_000)
    data: dict[str, str | int | float | bool | None] = Field(default_factory=dict, max_length=50,
                                                              description="Further fields (flat values)")


class LeadCreate(LeadFields):
    owner_id: uuid.UUID | None = Field(default=None, description="Default: the routing, else the caller")
    tag_ids: list[uuid.UUID] = Field(default_factory=list, max_length=50)
    source: Literal["api", "manual", "import"] = "api"


class LeadUpdate(BaseModel):
    version: int
    first_name: str | None = Field(default=None, max_length=100)
    last_name: str | None = Field(default=None, max_length=100)
    company_name: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=320, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    phone: str | None = Field(default=None, max_length=50)
    region: str | None = Field(default=None, max_length=100)
    message: str | None = Field(default=None, max_length=10_000)
    data: dict[str, str | int | float | bool | None] | None = Field(default=None, max_length=50)
    status: Literal["new", "qualified", "disqualified"] | None = None
    owner_id: uuid.UUID | None = None
    tag_ids: list[uuid.UUID] | None = Field(default=None, max_length=50)


class LeadConvert(BaseModel):
    version: int
    contact_id: uuid.UUID | None = Field(default=None, description="Use this existing person instead of a new one")
    organization_id: uuid.UUID | None = Field(default=None, description="Use this existing organisation")
    ignore_duplicates: bool = Field(default=False, description="Create new contacts although similar ones exist")
    create_deal: bool = True
    pipeline_id: uuid.UUID | None = Field(default=None, description="Default: the default pipeline")
    stage_id: uuid.UUID | None = None
    deal_title: str | None = Field(default=None, max_length=300)
    value: decimal.Decimal = Field(default=decimal.Decimal("0"), ge=0, max_digits=16, decimal_places=2,
                                   allow_inf_nan=False)
    currency: str = Field(default="EUR", pattern=CURRENCY_PATTERN)


class DuplicateRef(BaseModel):
    id: uuid.UUID
    type: str
    display_name: str
    score: float
    role: Literal["person", "organization"] = Field(description="Which part of the lead it resembles")


class LeadConversion(BaseModel):
    lead: LeadRead
    contact_id: uuid.UUID | None
    organization_id: uuid.UUID | None
    deal: DealRead | None


class FormRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    form_key: str
    is_active: bool
    extra_fields: list[str]
    tag_ids: list[uuid.UUID]
    redirect_url: str | None
    success_message: str
    version: int
    created_at: dt.datetime
    submit_url: str = Field(default="", description="Where the form posts to (relative to the company's host)")
    embed_url: str = Field(default="", description="An embeddable HTML snippet of the form")
    submission_count: int = Field(default=0, description="Leads captured through the form so far")


class FormCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    is_active: bool = True
    extra_fields: list[str] = Field(default_factory=list, max_length=20)
    tag_ids: list[uuid.UUID] = Field(default_factory=list, max_length=20)
    redirect_url: str | None = Field(default=None, max_length=1000, pattern=r"^https?://")
    success_message: str = Field(default="Vielen Dank! Wir melden uns bei Ihnen.", max_length=500)


class FormUpdate(BaseModel):
    version: int
    name: str | None = Field(default=None, min_length=1, max_length=200)
    is_active: bool | None = None
    extra_fields: list[str] | None = Field(default=None, max_length=20)
    tag_ids: list[uuid.UUID] | None = Field(default=None, max_length=20)
    redirect_url: str | None = Field(default=None, max_length=1000, pattern=r"^https?://")
    success_message: str | None = Field(default=None, max_length=500)


class ScoreRuleRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    field: str
    operator: Literal["equals", "contains", "exists", "has_tag"]
    value: str
    points: int
    is_active: bool
    version: int


class ScoreRuleCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    field: str = Field(min_length=1, max_length=80,
                       description="first_name, last_name, company_name, email, phone, region, message, source, "
                                   "data.<key> or tag")
    operator: Literal["equals", "contains", "exists", "has_tag"]
    value: str = Field(default="", max_length=300, description="Compared case-insensitively; a tag id for has_tag")
    points: int = Field(ge=-1000, le=1000)
    is_active: bool = True


class ScoreRuleUpdate(BaseModel):
    version: int
    name: str | None = Field(default=None, min_length=1, max_length=200)
    value: str | None = Field(default=None, max_length=300)
    points: int | None = Field(default=None, ge=-1000, le=1000)
    is_active: bool | None = None


class RoutingRule(BaseModel):
    kind: Literal["field", "tag"]
    field: str | None = Field(default=None, max_length=80, description="kind field: a lead field or data.<key>")
    value: str | None = Field(default=None, max_length=300, description="kind field: the value (case-insensitive)")
    tag_id: uuid.UUID | None = Field(default=None, description="kind tag: leads with this tag")
    user_id: uuid.UUID


class LeadSettingsRead(BaseModel):
    score_threshold: int
    routing_rules: list[RoutingRule]
    round_robin_user_ids: list[uuid.UUID]
    fallback_owner_id: uuid.UUID | None
    version: int


class LeadSettingsWrite(BaseModel):
    version: int = Field(description="0 when no settings were saved yet")
    score_threshold: int = Field(default=50, ge=-100_000, le=100_000)
    routing_rules: list[RoutingRule] = Field(default_factory=list, max_length=100)
    round_robin_user_ids: list[uuid.UUID] = Field(default_factory=list, max_length=200)
    fallback_owner_id: uuid.UUID | None = None
