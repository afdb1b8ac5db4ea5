"""Request and response bodies of the contacts component."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator

ContactType = Literal["person", "organization"]
Source = Literal["manual", "import", "web", "api"]
EmailType = Literal["work", "home", "other"]
PhoneType = Literal["work", "home", "mobile", "fax", "other"]
AddressType = Literal["work", "home", "billing", "shipping", "other"]
RelationType = Literal["employee_of", "partner", "supplier", "customer", "other"]
FieldType = Literal["text", "number", "date", "link", "select", "multiselect", "checkbox"]

URL_PATTERN = r"^https?://\S+$"
KEY_PATTERN = r"^[a-z][a-z0-9_]{0,59}$"
Option = Annotated[str, Field(min_length=1, max_length=100)]


class EmailEntry(BaseModel):
    type: EmailType = "work"
    value: EmailStr

    @field_validator("value")
    @classmethod
    def _casefold(cls, value: str) -> str:
        return value.casefold()


class PhoneEntry(BaseModel):
    type: PhoneType = "work"
    value: str = Field(min_length=1, max_length=40, description="Any common notation; stored as E.164")


class AddressEntry(BaseModel):
    type: AddressType = "work"
    street: str = Field(default="", max_length=200)
    postal_code: str = Field(default="", max_length=20)
    city: str = Field(default="", max_length=100)
    country: str = Field(default="DE", pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2")


class TagRef(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    color: str


class ContactRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    type: ContactType
    display_name: str
    first_name: str | None
    last_name: str | None
    company_name: str | None
    emails: list[dict[str, Any]]
    phones: list[dict[str, Any]]
    addresses: list[dict[str, Any]]
    custom_fields: dict[str, Any]
    avatar_url: str | None
    notes: str
    source: Source
    owner_id: uuid.UUID | None
    tags: list[TagRef] = []
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime


class ContactCreate(BaseModel):
    type: ContactType = "person"
    first_name: str | None = Field(default=None, max_length=100)
    last_name: str | None = Field(default=None, max_length=100)
    company_name: str | None = Field(default=None, max_length=200)
    emails: list[EmailEntry] = Field(default_factory=list, max_length=20)
    phones: list[PhoneEntry] = Field(default_factory=list, max_length=20)
    addresses: list[AddressEntry] = Field(default_factory=list, max_length=10)
    custom_fields: dict[str, Any] = Field(default_factory=dict)
    avatar_url: str | None = Field(default=None, max_length=1000, pattern=URL_PATTERN)
    notes: str = Field(default="", max_length=20_000)
    source: Source = "manual"
    owner_id: uuid.UUID | None = Field(default=None, description="Defaults to the caller")


class ContactUpdate(BaseModel):
    version: int = Field(description="The version you edited; a newer one on the server gives 409.")
    type: ContactType | None = None
    first_name: str | None = Field(default=None, max_length=100)
    last_name: str | None = Field(default=None, max_length=100)
    company_name: str | None = Field(default=None, max_length=200)
    emails: list[EmailEntry] | None = Field(default=None, max_length=20)
    phones: list[PhoneEntry] | None = Field(default=None, max_length=20)
    addresses: list[AddressEntry] | None = Field(default=None, max_length=10)
    custom_fields: dict[str, Any] | None = Field(
        default=None, description="Keys to set; a key with null removes the value. Other keys stay.")
    avatar_url: str | None = Field(default=None, max_length=1000, pattern=URL_PATTERN)
    notes: str | None = Field(default=None, max_length=20_000)
    source: Source | None = None
    owner_id: uuid.UUID | None = None


class RelationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    contact_a_id: uuid.UUID
    contact_b_id: uuid.UUID
    relation_type: RelationType
    role: str | None
    department: str | None
    position: str | None
    other_contact_id: uuid.UUID | None = None
    other_display_name: str | None = None
    created_at: dt.datetime


class RelationCreate(BaseModel):
    contact_b_id: uuid.UUID = Field(description="The other contact; read: <this contact> <relation_type> <other>")
    relation_type: RelationType = "other"
    role: str | None = Field(default=None, max_length=100)
    department: str | None = Field(default=None, max_length=100)
    position: str | None = Field(default=None, max_length=100)


class ContactTagsSet(BaseModel):
    tag_ids: list[uuid.UUID] = Field(max_length=100)


class FieldRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    entity: Literal["contact"]
    key: str
    label: str
    type: FieldType
    options: list[str]
    required: bool
    position: int
    created_at: dt.datetime


class FieldCreate(BaseModel):
    entity: Literal["contact"] = "contact"
    key: str = Field(pattern=KEY_PATTERN, description="Used in custom_fields and in ?cf.<key>= filters")
    label: str = Field(min_length=1, max_length=200)
    type: FieldType
    options: list[Option] = Field(default_factory=list, max_length=200)
    required: bool = False
    position: int = Field(default=0, ge=0, le=10_000)


class FieldUpdate(BaseModel):
    label: str | None = Field(default=None, min_length=1, max_length=200)
    options: list[Option] | None = Field(default=None, max_length=200)
    required: bool | None = None
    position: int | None = Field(default=None, ge=0, le=10_000)


# --- duplicates ----------------------------------------------------------------------------------------


class ContactSummary(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    type: ContactType
    display_name: str
    emails: list[dict[str, Any]]
    phones: list[dict[str, Any]]
    owner_id: uuid.UUID | None
    version: int


class MatchReason(BaseModel):
    code: Literal["same_email", "same_phone", "similar_name"]
    value: str | None = Field(default=None, description="The shared e-mail / phone, or the other name")
    score: float = Field(description="Weight of this evidence (name: similarity 0..1)")


class DuplicateCandidate(BaseModel):
    contact: ContactSummary
    score: float = Field(description="0..1; at least 0.8 to be listed")
    reasons: list[MatchReason]


class DuplicateCandidates(BaseModel):
    items: list[DuplicateCandidate]


class DuplicatePair(BaseModel):
    a: ContactSummary
    b: ContactSummary
    score: float
    reasons: list[MatchReason]


# --- merge ---------------------------------------------------------------------------------------------

MergeChoice = Literal["this", "other"]
ListMergeChoice = Literal["this", "other", "both"]


class MergeFieldChoices(BaseModel):
    """Which record's value the survivor keeps ("this" = the contact in the path). Omitted fields:
    the survivor's value unless it is empty; e-mails, phones and addresses of both."""

    model_config = ConfigDict(extra="forbid")

    type: MergeChoice | None = None
    first_name: MergeChoice | None = None
    last_name: MergeChoice | None = None
    company_name: MergeChoice | None = None
    avatar_url: MergeChoice | None = None
    source: MergeChoice | None = None
    owner_id: MergeChoice | None = None
    emails: ListMergeChoice | None = None
    phones: ListMergeChoice | None = None
    addresses: ListMergeChoice | None = None
    notes: ListMergeChoice | None = Field(default=None, description="both: the two texts one after the other")


class MergeRequest(BaseModel):
    other_id: uuid.UUID = Field(description="The contact that is merged into this one and then deleted")
    version: int = Field(description="The version of this contact you saw")
    other_version: int = Field(description="The version of the other contact you saw")
    fields: MergeFieldChoices = Field(default_factory=MergeFieldChoices)
    custom_fields: dict[str, MergeChoice] = Field(default_factory=dict, description="Per custom field key")


class MergeResult(BaseModel):
    contact: ContactRead
    merged_id: uuid.UUID
    moved: dict[str, int] = Field(description="References moved to the survivor, per table.column")


class MergePreview(BaseModel):
    this: ContactRead
    other: ContactRead | None = Field(description="Null when no other_id was given and no duplicate was found")
    conflicts: list[str] = Field(description="Fields where both hold different values")
    custom_field_conflicts: list[str]
    defaults: dict[str, str] = Field(description="The choice per field when the request omits it")
    custom_field_defaults: dict[str, str]
    score: float
    reasons: list[MatchReason]


# --- segments ------------------------------------------------------------------------------------------


class SegmentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    entity: Literal["contact"]
    filter: dict[str, Any]
    owner_id: uuid.UUID | None
    shared: bool
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime


FILTER_DOC = ('{"op": "and"|"or", "conditions": [{"field": "city", "operator": "eq", "value": "Berlin"}, '
              '{"op": "or", "conditions": [...]}]}')


class SegmentCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    entity: Literal["contact"] = "contact"
    filter: dict[str, Any] = Field(description=FILTER_DOC)
    shared: bool = Field(default=False, description="Visible to everybody who reads contacts")


class SegmentUpdate(BaseModel):
    version: int
    name: str | None = Field(default=None, min_length=1, max_length=200)
    filter: dict[str, Any] | None = None
    shared: bool | None = None


class FilterBody(BaseModel):
    filter: dict[str, Any] = Field(description=FILTER_DOC)


class CountRead(BaseModel):
    count: int
