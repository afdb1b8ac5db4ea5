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
COLOR_PATTERN = r"^#[0-9a-fA-F]{6}$"
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


class TagRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    color: str
    created_at: dt.datetime


class TagCreate(BaseModel):
    name: str = Field(min_length=1, max_length=60)
    color: str = Field(default="#64748b", pattern=COLOR_PATTERN)


class TagUpdate(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=60)
    color: str | None = Field(default=None, pattern=COLOR_PATTERN)


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
