"""Contact import and export: CSV and vCard parsing, column mapping, row validation, batch inserts,
and the streaming writers (CSV, vCard 3.0/4.0, Excel).

The import works on a file stored under ``<data_dir>/imports/<tenant>/`` and never loads it whole:

1. ``store_upload`` streams the upload to disk, recognising the encoding (UTF-8 with or without
   BOM, else Windows-1252) on the way; ``inspect_file`` finds the delimiter, the header, a preview
   and the row count, and ``suggest_mapping`` maps German and English header names to fields.
2. ``validate_import`` (the dry run) runs every row through ``RowConverter`` — the API's own rules:
   the ``ContactCreate`` schema (case-folded e-mails, lengths), names, E.164 phones and custom field
   values through the contacts service — and reports every bad row; it writes nothing.
3. ``execute_import`` (the durable job, or the CLI in-process) validates again, spooling the
   normalised valid rows to a JSON-lines file; with invalid rows and ``skip_invalid`` false it stops
   there (nothing imported). Then it inserts the spooled rows in batches, one statement per table
   (contacts, tag links, match keys; an executemany on SQLite, one INSERT over column arrays on
   PostgreSQL) plus the new contacts' search rows, which it writes itself since these statements
   bypass the search flush listener, committing each batch together with the import's
   ``checkpoint``: a restarted worker resumes after the last committed batch and imports no row twice.

The export builds the contact list's query (filters and record scope) and walks it by keyset on
``Contact.id`` in pages, so memory stays constant however many contacts there are.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import csv
import datetime as dt
import gc
import io
import logging
import os
import quopri
import re
import tempfile
import time
import unicodedata
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import IO, Any

import orjson
from pydantic import ValidationError
from sqlalchemy import JSON, Select, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from xynap.core import search
from xynap.core.db import TenantViolation, utcnow
from xynap.core.errors import AppError, NotFound, ValidationFailed
from xynap.core.ids import uuid7
from xynap.core.security.permissions import Access
from xynap.shared.contacts import duplicates, service
from xynap.shared.contacts.import_models import ContactImport
from xynap.shared.contacts.models import Contact, ContactMatchKey, ContactTag, CustomFieldDefinition
from xynap.shared.contacts.schemas import ContactCreate
from xynap.shared.tags.models import Tag

log = logging.getLogger("xynap.contacts.transfer")

PREVIEW_ROWS = 10
BATCH_SIZE = 5000  # rows per insert transaction: fewer commits and FTS5 flushes; progress stays visible
FIRST_BATCH = 1000  # the first insert transaction's rows (see ``_BatchMaker.first_size``)
EXPORT_PAGE = 1000
MAX_STORED_ERRORS = 1000  # in the import record (the downloadable CSV report has every one)
PROGRESS_EVERY = 5000  # rows between progress commits while validating
IMPORT_CACHE_KIB = -64 * 1024  # SQLite page cache while a batch is inserted (PRAGMA cache_size, in KiB)
SNIFF_BYTES = 64 * 1024
CHUNK = 1024 * 1024
DELIMITERS = (";", ",", "\t", "|")
TAG_NAME_MAX = 60

ProgressHook = Callable[[ContactImport], Awaitable[None]]


class ImportFileError(AppError):
    """The file cannot be read as CSV or vCard (422 with a stable code)."""

    status, code, title = 422, "import_invalid", "The file cannot be imported"


# --- targets and the suggested mapping ---------------------------------------------------------------

BASE_TARGETS: dict[str, str] = {
    "type": "Typ / Type", "first_name": "Vorname / First name", "last_name": "Nachname / Last name",
    "company_name": "Firma / Company", "title": "Position / Title",
    "email.work": "E-Mail", "email.home": "E-Mail privat", "email.other": "E-Mail (weitere)",
    "phone.work": "Telefon", "phone.mobile": "Mobil", "phone.home": "Telefon privat", "phone.fax": "Fax",
    "phone.other": "Telefon (weitere)",
    "address.street": "Straße", "address.postal_code": "PLZ", "address.city": "Ort", "address.country": "Land",
    "notes": "Notizen", "tags": "Tags",
}

ALIASES: dict[str, tuple[str, ...]] = {
    "type": ("typ", "type", "kontakttyp", "contacttype", "art"),
    "first_name": ("vorname", "firstname", "first", "givenname", "forename", "rufname"),
    "last_name": ("nachname", "lastname", "last", "surname", "familyname", "familienname", "name"),
    "company_name": ("firma", "company", "companyname", "firmenname", "organisation", "organization",
                     "unternehmen", "org", "account", "accountname"),
    "title": ("position", "title", "jobtitle", "titel", "funktion", "berufsbezeichnung"),
    "email.work": ("email", "mail", "emailadresse", "emailaddress", "emailwork", "emailgeschaeftlich",
                   "emaildienstlich", "workemail", "businessemail", "email1"),
    "email.home": ("emailprivat", "emailhome", "privateemail", "homeemail"),
    "email.other": ("email2", "email3", "weitereemail", "otheremail", "emailweitere"),
    "phone.work": ("telefon", "phone", "tel", "telephone", "telefonnummer", "phonenumber", "telefongeschaeftlich",
                   "telefondienstlich", "phonework", "workphone", "businessphone", "festnetz"),
    "phone.mobile": ("mobil", "mobile", "handy", "mobiltelefon", "mobilephone", "mobilnummer", "cell",
                     "cellphone", "mobiletelephone"),
    "phone.home": ("telefonprivat", "phonehome", "homephone", "privattelefon"),
    "phone.fax": ("fax", "telefax", "faxnummer", "faxnumber"),
    "address.street": ("strasse", "street", "streetaddress", "adresse", "address", "anschrift", "strassehausnummer",
                       "strasseundhausnummer", "address1"),
    "address.postal_code": ("plz", "postleitzahl", "zip", "zipcode", "postalcode", "postcode"),
    "address.city": ("ort", "stadt", "city", "town", "wohnort", "gemeinde"),
    "address.country": ("land", "country", "staat", "countrycode", "laendercode"),
    "notes": ("notiz", "notizen", "notes", "note", "bemerkung", "bemerkungen", "kommentar", "comment", "comments",
              "beschreibung", "description"),
    "tags": ("tags", "tag", "schlagworte", "schlagwort", "kategorie", "kategorien", "categories", "category",
             "labels", "label", "gruppen", "groups"),
}

TYPE_VALUES = {
    "person": "person", "privat": "person", "privatperson": "person", "individual": "person", "p": "person",
    "kontakt": "person", "contact": "person",
    "organization": "organization", "organisation": "organization", "firma": "organization",
    "company": "organization", "unternehmen": "organization", "org": "organization", "o": "organization",
    "business": "organization",
}

COUNTRIES = {
    "deutschland": "DE", "germany": "DE", "brd": "DE", "oesterreich": "AT", "austria": "AT", "schweiz": "CH",
    "switzerland": "CH", "frankreich": "FR", "france": "FR", "italien": "IT", "italy": "IT", "niederlande": "NL",
    "netherlands": "NL", "holland": "NL", "belgien": "BE", "belgium": "BE", "luxemburg": "LU", "luxembourg": "LU",
    "polen": "PL", "poland": "PL", "spanien": "ES", "spain": "ES", "daenemark": "DK", "denmark": "DK",
    "tschechien": "CZ", "czechia": "CZ", "grossbritannien": "GB", "vereinigteskoenigreich": "GB",
    "unitedkingdom": "GB", "uk": "GB", "usa": "US", "vereinigtestaaten": "US", "unitedstates": "US",
}

_FOLD = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})
_NON_ALNUM = re.compile(r"[^a-z0-9]+")


def normalise_header(name: str) -> str:
    """``E-Mail (geschäftlich)`` → ``emailgeschaeftlich``: how header names are compared."""
    folded = name.strip().lower().translate(_FOLD)
    folded = unicodedata.normalize("NFKD", folded).encode("ascii", "ignore").decode()
    return _NON_ALNUM.sub("", folded)


_ALIAS_INDEX = {alias: target for target, aliases in ALIASES.items() for alias in aliases}


def targets_for(definitions: dict[str, CustomFieldDefinition]) -> dict[str, str]:
    """Every field a column can be mapped to, with a label (custom fields as ``cf.<key>``)."""
    out = dict(BASE_TARGETS)
    for key, definition in definitions.items():
        out[f"cf.{key}"] = definition.label
    return out


def suggest_mapping(header: Sequence[str], definitions: dict[str, CustomFieldDefinition]) -> dict[str, str | None]:
    """Column → target for the columns whose names are known; each target is suggested once (the
    first e-mail column is the work address, a second plain ``E-Mail`` column stays unmapped)."""
    custom = {}
    for key, definition in definitions.items():
        custom[normalise_header(key)] = f"cf.{key}"
        custom.setdefault(normalise_header(definition.label), f"cf.{key}")
    used: set[str] = set()
    out: dict[str, str | None] = {}
    for column in header:
        norm = normalise_header(column)
        target = custom.get(norm) or _ALIAS_INDEX.get(norm)
        if target is None and norm.startswith("cf") and norm[2:] in custom:
            target = custom[norm[2:]]
        if target in used:
            target = None
        if target:
            used.add(target)
        out[column] = target
    return out


def check_mapping(mapping: dict[str, str | None], header: Sequence[str],
                  definitions: dict[str, CustomFieldDefinition]) -> dict[str, str]:
    """The mapping without unmapped columns; unknown columns or targets are a 422."""
    allowed = targets_for(definitions)
    columns = set(header)
    errors = []
    out: dict[str, str] = {}
    for column, target in mapping.items():
        if target in (None, ""):
            continue
        if column not in columns:
            errors.append(service.field_error(f"mapping.{column}", "no such column in the file"))
        elif target not in allowed:
            errors.append(service.field_error(f"mapping.{column}", f"unknown target {target!r}"))
        else:
            out[column] = target
    if errors:
        raise service.invalid(errors)
    if not out:
        raise service.invalid([service.field_error("mapping", "map at least one column")])
    return out


# --- files -------------------------------------------------------------------------------------------


def import_dir(data_dir: Path, tenant_id: uuid.UUID) -> Path:
    path = Path(data_dir) / "imports" / str(tenant_id)
    path.mkdir(parents=True, exist_ok=True)
    return path


@dataclass(frozen=True)
class ImportFiles:
    source: Path
    spool: Path
    errors: Path

    @classmethod
    def of(cls, data_dir: Path, tenant_id: uuid.UUID, import_id: uuid.UUID) -> ImportFiles:
        base = import_dir(data_dir, tenant_id) / str(import_id)
        return cls(source=base.with_suffix(".upload"), spool=base.with_suffix(".rows.jsonl"),
                   errors=base.with_suffix(".errors.csv"))

    def remove(self) -> None:
        for path in (self.source, self.spool, self.errors):
            path.unlink(missing_ok=True)


def store_upload(stream: IO[bytes], dest: Path) -> tuple[int, str]:
    """Copy ``stream`` to ``dest`` chunk by chunk; (size, encoding): ``utf-8-sig`` with a BOM,
    ``utf-8`` when every byte decodes as UTF-8, else ``cp1252`` (Excel's German default)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    utf8 = True
    size = 0
    first = b""
    with open(dest, "wb") as out:
        while chunk := stream.read(CHUNK):
            if size == 0:
                first = chunk[:3]
            size += len(chunk)
            out.write(chunk)
            if utf8:
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError:
                    utf8 = False
        if utf8:
            try:
                decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                utf8 = False
    if first.startswith(codecs.BOM_UTF8):
        return size, "utf-8-sig"
    return size, "utf-8" if utf8 else "cp1252"


def looks_like_vcard(path: Path, encoding: str, filename: str) -> bool:
    if filename.lower().endswith((".vcf", ".vcard")):
        return True
    with open(path, encoding=encoding, errors="replace", newline="") as f:
        head = f.read(200).lstrip().upper()
    return head.startswith("BEGIN:VCARD")


def detect_delimiter(sample: str) -> str:
    """The delimiter that occurs most often (outside quotes) in the first line."""
    first, in_quotes = [], False
    for ch in sample:
        if ch == '"':
            in_quotes = not in_quotes
        elif ch in "\r\n" and not in_quotes:
            break
        elif not in_quotes:
            first.append(ch)
    line = "".join(first)
    counts = {d: line.count(d) for d in DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def iter_csv(path: Path, encoding: str, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """(line number where the record starts, cells) for every non-blank record after the header."""
    with open(path, encoding=encoding, errors="replace", newline="") as f:
        reader = csv.reader(f, delimiter=delimiter)
        try:
            next(reader, None)  # header
            start = reader.line_num + 1
            for cells in reader:
                if any(c.strip() for c in cells):
                    yield start, cells
                start = reader.line_num + 1
        except csv.Error as exc:
            raise ImportFileError(f"The file is not valid CSV near line {reader.line_num}: {exc}",
                               code="import_bad_csv") from None


def read_header(path: Path, encoding: str) -> tuple[str, list[str]]:
    with open(path, encoding=encoding, errors="replace", newline="") as f:
        sample = f.read(SNIFF_BYTES)
    delimiter = detect_delimiter(sample)
    try:
        header = next(csv.reader(io.StringIO(sample), delimiter=delimiter), [])
    except csv.Error as exc:
        raise ImportFileError(f"The header line is not valid CSV: {exc}", code="import_bad_csv") from None
    header = [h.strip() for h in header]
    if not any(header):
        raise ImportFileError("The file has no header line.", code="import_no_header")
    # duplicate names get a suffix, so that a mapping can address every column
    seen: dict[str, int] = {}
    unique_header = []
    for i, name in enumerate(header):
        name = name or f"Spalte {i + 1}"
        count = seen.get(name, 0) + 1
        seen[name] = count
        unique_header.append(name if count == 1 else f"{name} ({count})")
    return delimiter, unique_header


@dataclass
class Inspection:
    format: str
    encoding: str
    delimiter: str
    header: list[str]
    preview: list[list[str]]
    total_rows: int


def inspect_file(path: Path, encoding: str, filename: str) -> Inspection:
    """Format, delimiter, header, the first rows and the row count (one pass over the file)."""
    with open(path, "rb") as f:
        magic = f.read(8)
    if magic.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0")):  # xlsx (zip) / xls (OLE)
        raise ImportFileError("This is a spreadsheet file; save it as CSV (UTF-8) and upload that.",
                           code="import_unsupported_format")
    if looks_like_vcard(path, encoding, filename):
        preview, total = [], 0
        for card in iter_vcards(path, encoding):
            total += 1
            if len(preview) < PREVIEW_ROWS:
                preview.append(vcard_preview(card))
        if total == 0:
            raise ImportFileError("The file holds no vCard.", code="import_empty")
        return Inspection("vcard", encoding, "", list(VCARD_PREVIEW_HEADER), preview, total)
    delimiter, header = read_header(path, encoding)
    preview, total = [], 0
    for _line, cells in iter_csv(path, encoding, delimiter):
        total += 1
        if len(preview) < PREVIEW_ROWS:
            preview.append([c for c in cells[: len(header)]] + [""] * max(0, len(header) - len(cells)))
    return Inspection("csv", encoding, delimiter, header, preview, total)


# --- vCard -------------------------------------------------------------------------------------------


@dataclass
class VProperty:
    name: str
    params: dict[str, list[str]]
    value: str


def _unfold(lines: Iterator[str]) -> Iterator[str]:
    """RFC 6350 §3.2 line unfolding (and quoted-printable soft breaks of vCard 2.1/3.0)."""
    current: str | None = None
    for raw in lines:
        line = raw.rstrip("\r\n")
        if current is not None and line[:1] in (" ", "\t"):
            current += line[1:]
            continue
        if current is not None and current.endswith("=") and "QUOTED-PRINTABLE" in current.split(":", 1)[0].upper():
            current = current[:-1] + line
            continue
        if current is not None:
            yield current
        current = line
    if current is not None:
        yield current


def _split_unescaped(value: str, sep: str) -> list[str]:
    parts, buf, escape = [], [], False
    for ch in value:
        if escape:
            buf.append("\\" + ch)
            escape = False
        elif ch == "\\":
            escape = True
        elif ch == sep:
            parts.append("".join(buf))
            buf = []
        else:
            buf.append(ch)
    parts.append("".join(buf))
    return parts


def _unescape(value: str) -> str:
    return re.sub(r"\\([\\,;nN:])", lambda m: "\n" if m.group(1) in "nN" else m.group(1), value)


def _parse_property(line: str) -> VProperty | None:
    # name;param=a,b;param2="x:y":value  (a colon inside a quoted parameter value does not end the head)
    in_quotes, cut = False, -1
    for i, ch in enumerate(line):
        if ch == '"':
            in_quotes = not in_quotes
        elif ch == ":" and not in_quotes:
            cut = i
            break
    if cut < 0:
        return None
    head, value = line[:cut], line[cut + 1:]
    parts = head.split(";")
    name = parts[0].split(".")[-1].upper()  # drop a group prefix (item1.EMAIL)
    params: dict[str, list[str]] = {}
    for part in parts[1:]:
        if "=" in part:
            key, raw = part.split("=", 1)
            params.setdefault(key.upper(), []).extend(v.strip('"') for v in raw.split(","))
        else:  # vCard 2.1: bare types (TEL;WORK;VOICE)
            params.setdefault("TYPE", []).append(part)
    if "QUOTED-PRINTABLE" in [e.upper() for e in params.get("ENCODING", [])]:
        charset = (params.get("CHARSET") or ["utf-8"])[0]
        try:
            value = quopri.decodestring(value.encode("latin-1", "replace")).decode(charset, "replace")
        except LookupError:
            value = quopri.decodestring(value.encode("latin-1", "replace")).decode("utf-8", "replace")
    return VProperty(name, params, value)


def iter_vcards(path: Path, encoding: str) -> Iterator[list[VProperty]]:
    with open(path, encoding=encoding, errors="replace", newline="") as f:
        card: list[VProperty] | None = None
        for line in _unfold(iter(f)):
            upper = line.strip().upper()
            if upper == "BEGIN:VCARD":
                card = []
            elif upper == "END:VCARD":
                if card is not None:
                    yield card
                card = None
            elif card is not None and line.strip():
                prop = _parse_property(line)
                if prop is not None:
                    card.append(prop)


def _types(prop: VProperty) -> set[str]:
    return {t.lower() for v in prop.params.get("TYPE", []) for t in v.split(",")}


def _first(card: list[VProperty], name: str) -> VProperty | None:
    return next((p for p in card if p.name == name), None)


VCARD_PREVIEW_HEADER = ("Name", "Firma", "E-Mail", "Telefon", "Ort")


def vcard_preview(card: list[VProperty]) -> list[str]:
    def value(name: str) -> str:
        prop = _first(card, name)
        return _unescape(_split_unescaped(prop.value, ";")[0]) if prop else ""

    adr = _first(card, "ADR")
    city = _unescape(_split_unescaped(adr.value, ";")[3]) if adr and len(_split_unescaped(adr.value, ";")) > 3 else ""
    return [value("FN"), value("ORG"), value("EMAIL"), value("TEL"), city]


def vcard_entries(card: list[VProperty]) -> list[tuple[str, Any, str]]:
    """A card as (target, value, source) entries, the same shape a mapped CSV row has."""
    out: list[tuple[str, Any, str]] = []
    n = _first(card, "N")
    fn = _first(card, "FN")
    org = _first(card, "ORG")
    kind = _first(card, "KIND") or _first(card, "X-ADDRESSBOOKSERVER-KIND")
    is_org = kind is not None and kind.value.strip().lower() in ("org", "organization", "group")
    if n is not None and not is_org:  # an organisation's N repeats its name, if anything
        parts = [_unescape(p) for p in _split_unescaped(n.value, ";")] + ["", ""]
        last, first = parts[0].strip(), parts[1].strip()
        if first:
            out.append(("first_name", first, "N"))
        if last:
            out.append(("last_name", last, "N"))
    if org is not None:
        company = _unescape(_split_unescaped(org.value, ";")[0]).strip()
        if company:
            out.append(("company_name", company, "ORG"))
    has_name = any(t in ("first_name", "last_name") for t, _v, _s in out)
    if is_org or (not has_name and org is not None):
        out.append(("type", "organization", "KIND"))
    elif not has_name and fn is not None:  # only a formatted name: use it as the last name
        out.append(("last_name", _unescape(fn.value).strip(), "FN"))
    for prop in card:
        types = _types(prop)
        if prop.name == "EMAIL":
            kind_ = "home" if "home" in types else "work"
            out.append((f"email.{kind_}", _unescape(prop.value).strip(), "EMAIL"))
        elif prop.name == "TEL":
            value = _unescape(prop.value).strip()
            if value.lower().startswith("tel:"):
                value = value[4:]
            kind_ = ("fax" if "fax" in types else "mobile" if "cell" in types else "home" if "home" in types
                     else "work")
            out.append((f"phone.{kind_}", value, "TEL"))
        elif prop.name == "ADR":
            parts = [_unescape(p).strip() for p in _split_unescaped(prop.value, ";")] + [""] * 7
            # post office box; extended; street; locality; region; postal code; country
            street = " ".join(p for p in (parts[2], parts[1]) if p)
            out.append(("address", {"type": "home" if "home" in types else "work", "street": street,
                                    "city": parts[3], "postal_code": parts[5], "country": parts[6]}, "ADR"))
        elif prop.name == "TITLE":
            out.append(("title", _unescape(prop.value).strip(), "TITLE"))
        elif prop.name == "NOTE":
            out.append(("notes", _unescape(prop.value), "NOTE"))
        elif prop.name == "CATEGORIES":
            for tag in _split_unescaped(prop.value, ","):
                if _unescape(tag).strip():
                    out.append(("tag", _unescape(tag).strip(), "CATEGORIES"))
    return out


# --- rows → contacts ---------------------------------------------------------------------------------


@dataclass
class RowError:
    line: int
    field: str
    column: str | None
    message: str
    value: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"line": self.line, "field": self.field, "column": self.column, "message": self.message,
                "value": self.value}


def _number(raw: str) -> Any:
    text = raw.strip().replace(" ", "").replace("\u00a0", "")
    if "," in text and "." in text:
        text = text.replace(".", "").replace(",", ".") if text.rfind(",") > text.rfind(".") else text.replace(",", "")
    elif "," in text:
        text = text.replace(",", ".")
    try:
        number = float(text)
    except ValueError:
        return raw
    return int(number) if number.is_integer() and abs(number) < 1e15 else number


def _date(raw: str) -> Any:
    text = raw.strip()
    match = re.fullmatch(r"(\d{1,2})\.(\d{1,2})\.(\d{4})", text)
    if match:
        day, month, year = (int(g) for g in match.groups())
        try:
            return dt.date(year, month, day).isoformat()
        except ValueError:
            return raw
    return text[:10] if re.fullmatch(r"\d{4}-\d{2}-\d{2}([T ].*)?", text) else raw


TRUE_VALUES = {"1", "true", "ja", "yes", "x", "wahr", "j", "y"}
FALSE_VALUES = {"0", "false", "nein", "no", "falsch", "n"}


def custom_value(definition: CustomFieldDefinition, raw: Any) -> Any:
    """A text cell as the JSON value the field type expects (a wrong one stays a string, so the
    service's check names the problem)."""
    if not isinstance(raw, str):
        return raw
    kind = definition.type
    if kind == "number":
        return _number(raw)
    if kind == "date":
        return _date(raw)
    if kind == "checkbox":
        low = raw.strip().lower()
        return True if low in TRUE_VALUES else False if low in FALSE_VALUES else raw
    if kind == "multiselect":
        return [p.strip() for p in re.split(r"[;|,]", raw) if p.strip()]
    return raw.strip()


def _country(raw: str, region: str) -> str:
    text = raw.strip()
    if not text:
        return region
    if len(text) == 2 and text.isalpha():
        return text.upper()
    return COUNTRIES.get(normalise_header(text), text)


def _pydantic_errors(exc: ValidationError) -> list[dict[str, str]]:
    out = []
    for error in exc.errors():
        loc = [str(p) for p in error.get("loc", ())]
        out.append({"field": ".".join(loc) or "row", "message": error.get("msg", "invalid")})
    return out


# A strict subset of what ``EmailStr`` (email-validator, no deliverability check) accepts: plain ASCII
# dot-atoms, a dotted domain of letter/digit/hyphen labels (no "--", so no punycode), a letter TLD
# that is no special-use name, within the length limits. For such an address email-validator's
# normalised form, case-folded by ``EmailEntry``, is the address case-folded — the same value
# without the cost of its IDNA and Unicode checks (a third of a row's validation). Anything else
# goes through ``ContactCreate`` as before, so every error message stays the schema's own.
_FAST_EMAIL = re.compile(r"[A-Za-z0-9_%+-]+(?:\.[A-Za-z0-9_%+-]+)*@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+"
                         r"([A-Za-z]{2,63})")
_SPECIAL_TLDS = frozenset({"arpa", "invalid", "local", "localhost", "onion", "test"})
_EMAIL_TYPES = frozenset({"work", "home", "other"})


def fast_email(value: str) -> str | None:
    """``value`` as ``EmailEntry`` would store it, when it is plainly valid; else None (ask the schema)."""
    if len(value) > 254 or "--" in value:
        return None
    match = _FAST_EMAIL.fullmatch(value)
    if match is None or match.group(1).lower() in _SPECIAL_TLDS:
        return None
    local, domain = value.split("@", 1)
    if len(local) > 64 or len(domain) > 253:
        return None
    return value.casefold()


@dataclass(frozen=True)
class _Phone:
    type: str
    value: str


@dataclass
class Converted:
    values: dict[str, Any]
    tags: list[str]  # tag names as written


@dataclass
class RowConverter:
    """Turns (target, value, column) entries into a contact's column values — or its errors."""

    definitions: dict[str, CustomFieldDefinition]
    region: str
    default_type: str | None = None  # None: person if a first or last name is given, else organisation
    title_field: str | None = field(init=False, default=None)
    # the service's E.164 rule per (number as written): the same numbers recur in a file (switchboards)
    _e164: dict[str, str | None] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        for key in ("position", "title", "job_title", "funktion"):
            if key in self.definitions and self.definitions[key].type == "text":
                self.title_field = key
                break

    def convert(self, line: int, entries: Sequence[tuple[str, Any, str | None]]) \
            -> tuple[Converted | None, list[RowError]]:
        data: dict[str, Any] = {"emails": [], "phones": [], "addresses": [], "custom_fields": {}, "notes": "",
                                "source": "import"}
        column_of: dict[str, str | None] = {}
        value_of: dict[str, str] = {}
        address: dict[str, Any] = {}
        tags: list[str] = []
        notes: list[str] = []
        contact_type = None
        errors: list[RowError] = []
        for target, value, column in entries:
            if isinstance(value, str):
                if not value.strip():
                    continue
                if target != "notes":  # notes keep their layout
                    value = value.strip()
            if target in ("first_name", "last_name", "company_name"):
                data[target] = value
                column_of[target] = column
            elif target == "type":
                contact_type = TYPE_VALUES.get(normalise_header(value))
                if contact_type is None:
                    errors.append(RowError(line, "type", column, "expected person or organization", value[:100]))
            elif target.startswith("email."):
                for part in re.split(r"[;,\s]+", value):
                    if part:
                        key = f"emails.{len(data['emails'])}.value"
                        column_of[key], value_of[key] = column, part
                        data["emails"].append({"type": target[6:], "value": part})
            elif target.startswith("phone."):
                for part in value.split(";"):
                    if part.strip():
                        key = f"phones.{len(data['phones'])}.value"
                        column_of[key], value_of[key] = column, part.strip()
                        data["phones"].append({"type": target[6:], "value": part.strip()})
            elif target.startswith("address."):
                address[target[8:]] = value
                column_of[f"addresses.0.{target[8:]}"] = column
            elif target == "address":
                entry = dict(value)
                entry["country"] = _country(entry.get("country", ""), self.region)
                if any(entry.get(k) for k in ("street", "postal_code", "city")):
                    data["addresses"].append(entry)
            elif target == "notes":
                notes.append(value)
            elif target == "title":
                if self.title_field:
                    data["custom_fields"][self.title_field] = value
                    column_of[f"custom_fields.{self.title_field}"] = column
                else:
                    notes.insert(0, f"Position: {value}")
            elif target in ("tags", "tag"):  # a CSV cell lists several, a vCard category is one
                for name in re.split(r"[;,|]", value) if target == "tags" else [value]:
                    name = name.strip()
                    if len(name) > TAG_NAME_MAX:
                        errors.append(RowError(line, "tags", column, f"a tag name has at most {TAG_NAME_MAX} "
                                               "characters", name[:100]))
                    elif name:
                        tags.append(name)
            elif target.startswith("cf."):
                key = target[3:]
                definition = self.definitions.get(key)
                if definition is not None:
                    data["custom_fields"][key] = custom_value(definition, value)
                    column_of[f"custom_fields.{key}"] = column
                    value_of[f"custom_fields.{key}"] = value
        if address:
            address["country"] = _country(address.get("country", ""), self.region)
            data["addresses"].insert(0, {"type": "work", **address})
        if notes:
            data["notes"] = "\n".join(notes)
        if contact_type is None:
            contact_type = self.default_type or (
                "person" if data.get("first_name") or data.get("last_name") or not data.get("company_name")
                else "organization")
        data["type"] = contact_type
        if errors:
            return None, errors

        def report(problems: list[dict[str, str]]) -> list[RowError]:
            return [RowError(line, p["field"], column_of.get(p["field"]), p["message"],
                             str(value_of.get(p["field"], ""))[:100]) for p in problems]

        # every problem of the row at once: the schema (lengths, e-mails), then the service's rules
        # on the raw values (names, phones, custom fields), each field reported once
        problems: list[dict[str, str]] = []
        body: ContactCreate | None = None
        fast = [fast_email(e["value"]) if e["type"] in _EMAIL_TYPES else None for e in data["emails"]]
        fast_ok = len(fast) <= 20 and None not in fast
        try:
            body = ContactCreate.model_validate({**data, "emails": []} if fast_ok and fast else data)
        except ValidationError as exc:
            problems += _pydantic_errors(exc)
        name = ""
        try:
            name = service.check_names(contact_type, data.get("first_name"), data.get("last_name"),
                                       data.get("company_name"))
        except ValidationFailed as exc:
            problems += exc.errors or []
        phones = self.phones(data["phones"], problems)
        custom: dict[str, Any] = {}
        try:
            custom = service.validate_custom_fields(data["custom_fields"], self.definitions)
        except ValidationFailed as exc:
            problems += exc.errors or []
        if problems or body is None:
            seen: set[str] = set()
            unique = [p for p in problems if not (p["field"] in seen or seen.add(p["field"]))]
            return None, report(unique)
        emails = ([{"type": e["type"], "value": v} for e, v in zip(data["emails"], fast, strict=True)] if fast_ok
                  else [{"type": e.type, "value": e.value} for e in body.emails])
        values = {
            "type": body.type, "display_name": name, "first_name": body.first_name, "last_name": body.last_name,
            "company_name": body.company_name, "emails": emails, "phones": phones,
            "addresses": [a.model_dump() for a in body.addresses], "custom_fields": custom, "notes": body.notes,
            "email_keys": service.email_keys(emails), "phone_keys": service.phone_keys(phones),
        }
        return Converted(values, list(dict.fromkeys(tags))), []

    def phones(self, entries: list[dict[str, str]], problems: list[dict[str, str]]) -> list[dict[str, str]]:
        """``service.normalize_phones`` with its rule (``to_e164``) remembered per number as written."""
        if not entries:
            return []
        cache = self._e164
        if len(cache) > 100_000:
            cache.clear()
        values = []
        for p in entries:
            value = p["value"]
            if value not in cache:
                cache[value] = service.to_e164(value, self.region)
            values.append(cache[value])
        if None not in values:
            return [{"type": p["type"], "value": v} for p, v in zip(entries, values, strict=True)]
        try:  # the service words the errors
            service.normalize_phones([_Phone(p["type"], p["value"]) for p in entries], self.region)
        except ValidationFailed as exc:
            problems += exc.errors or []
        return []


def mapped_entries(header: Sequence[str], mapping: dict[str, str]) -> Callable[[list[str]], list[tuple[str, str, str]]]:
    """A function from a CSV record to its (target, value, column) entries, for a fixed mapping."""
    plan = [(i, mapping[name], name) for i, name in enumerate(header) if name in mapping]

    def entries(cells: list[str]) -> list[tuple[str, str, str]]:
        n = len(cells)
        return [(target, cells[i], name) for i, target, name in plan if i < n and cells[i]]

    return entries


def iter_records(imp: ContactImport, files: ImportFiles, mapping: dict[str, str]) \
        -> Iterator[tuple[int, list[tuple[str, Any, str | None]]]]:
    """(line or card number, entries) for every record of the stored file."""
    if imp.format == "vcard":
        for number, card in enumerate(iter_vcards(files.source, imp.encoding), start=1):
            yield number, vcard_entries(card)
        return
    to_entries = mapped_entries(imp.header, mapping)
    for line, cells in iter_csv(files.source, imp.encoding, imp.delimiter):
        yield line, to_entries(cells)


# --- import records ----------------------------------------------------------------------------------


async def get_import(db: AsyncSession, import_id: uuid.UUID) -> ContactImport:
    imp = await db.scalar(select(ContactImport).where(ContactImport.id == import_id))
    if imp is None:
        raise NotFound("No such import.", code="import_not_found")
    return imp


async def create_import(db: AsyncSession, data_dir: Path, tenant_id: uuid.UUID, stream: IO[bytes],
                        filename: str, created_by: uuid.UUID | None) -> ContactImport:
    """Store an upload and inspect it; the import waits for a dry run or a run."""
    import_id = uuid7()
    files = ImportFiles.of(data_dir, tenant_id, import_id)
    try:
        size, encoding = await asyncio.to_thread(store_upload, stream, files.source)
        if size == 0:
            raise ImportFileError("The file is empty.", code="import_empty")
        found = await asyncio.to_thread(inspect_file, files.source, encoding, filename)
    except BaseException:
        files.remove()
        raise
    imp = ContactImport(id=import_id, format=found.format, filename=(filename or "")[:255], size_bytes=size,
                        encoding=found.encoding, delimiter=found.delimiter, header=found.header,
                        total_rows=found.total_rows, status="uploaded", created_by=created_by, options={},
                        errors=[], message="")
    db.add(imp)
    await db.flush()
    imp._preview = found.preview  # type: ignore[attr-defined]  # for the upload's answer only
    return imp


def preview_of(imp: ContactImport, files: ImportFiles) -> list[list[str]]:
    preview = getattr(imp, "_preview", None)
    if preview is not None:
        return preview
    if not files.source.exists():
        return []
    return inspect_preview(files.source, imp)


def inspect_preview(path: Path, imp: ContactImport) -> list[list[str]]:
    out: list[list[str]] = []
    if imp.format == "vcard":
        for card in iter_vcards(path, imp.encoding):
            out.append(vcard_preview(card))
            if len(out) >= PREVIEW_ROWS:
                break
        return out
    width = len(imp.header)
    for _line, cells in iter_csv(path, imp.encoding, imp.delimiter):
        out.append(cells[:width] + [""] * max(0, width - len(cells)))
        if len(out) >= PREVIEW_ROWS:
            break
    return out


@dataclass
class RunOptions:
    mapping: dict[str, str]
    skip_invalid: bool = False
    default_type: str | None = None
    default_owner_id: uuid.UUID | None = None
    default_tag_ids: list[uuid.UUID] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {"mapping": self.mapping, "skip_invalid": self.skip_invalid, "default_type": self.default_type,
                "default_owner_id": str(self.default_owner_id) if self.default_owner_id else None,
                "default_tag_ids": [str(t) for t in self.default_tag_ids]}

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> RunOptions:
        owner = raw.get("default_owner_id")
        return cls(mapping=dict(raw.get("mapping") or {}), skip_invalid=bool(raw.get("skip_invalid")),
                   default_type=raw.get("default_type"), default_owner_id=uuid.UUID(owner) if owner else None,
                   default_tag_ids=[uuid.UUID(t) for t in raw.get("default_tag_ids") or []])


async def prepare_options(db: AsyncSession, imp: ContactImport, mapping: dict[str, str | None] | None,
                          **kw: Any) -> RunOptions:
    """Checked run options: the mapping (default: the suggestion), the owner and the tags exist."""
    definitions = await service.field_definitions(db)
    if imp.format == "vcard":
        clean: dict[str, str] = {}
    else:
        wanted = mapping if mapping is not None else suggest_mapping(imp.header, definitions)
        clean = check_mapping(wanted, imp.header, definitions)
    options = RunOptions(mapping=clean, **kw)
    if options.default_owner_id is not None:
        await service.ensure_user(db, options.default_owner_id, "default_owner_id")
    if options.default_tag_ids:
        found = set(await db.scalars(select(Tag.id).where(Tag.id.in_(options.default_tag_ids))))
        missing = [i for i, t in enumerate(options.default_tag_ids) if t not in found]
        if missing:
            raise service.invalid([service.field_error(f"default_tag_ids.{i}", "no such tag") for i in missing])
    return options


class _ErrorSink:
    """Every row error to the CSV report on disk, the first ones also to the import record."""

    def __init__(self, path: Path | None) -> None:
        self.kept: list[dict[str, Any]] = []
        self.count = 0
        self.bad_lines = 0
        self._file = open(path, "w", encoding="utf-8-sig", newline="") if path else None  # noqa: SIM115
        self._writer = csv.writer(self._file, delimiter=";") if self._file else None
        if self._writer:
            self._writer.writerow(["line", "field", "column", "message", "value"])

    def add(self, errors: list[RowError]) -> None:
        self.bad_lines += 1
        for error in errors:
            self.count += 1
            if len(self.kept) < MAX_STORED_ERRORS:
                self.kept.append(error.as_dict())
            if self._writer:
                self._writer.writerow([error.line, error.field, error.column or "", error.message, error.value])

    def close(self) -> None:
        if self._file:
            self._file.close()


async def _converter(db: AsyncSession, options: RunOptions) -> RowConverter:
    return RowConverter(await service.field_definitions(db), await service.default_region(db),
                        default_type=options.default_type)


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """The cyclic garbage collector off while a slice of rows is checked or a batch is built.

    Rows are plain dicts, lists and strings without cycles (reference counting frees them); but a batch
    allocates a few hundred thousand objects, and each allocation burst set off collections that walk
    every live object of the process. Measured per row: checking 109 → 82 µs, building a batch 82 → 49 µs.
    On the way out the survivors (the batch about to be written) are moved to the collector's permanent
    generation (``gc.freeze``) so that turning it back on does not scan them at once either; the import
    hands them back (``_gc_release``) when it ends. Both flags are process-wide: a concurrent import
    only makes the other one slower, never wrong."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


def _gc_release() -> None:
    gc.unfreeze()


class _Validator:
    """Checks the records of a file a slice at a time (``step`` runs in a worker thread, so a long
    file does not block the event loop): errors to the report, valid rows (normalised) to the spool."""

    def __init__(self, records: Iterator[tuple[int, list[tuple[str, Any, str | None]]]], converter: RowConverter,
                 errors_path: Path, spool_path: Path | None, known_tags: dict[str, uuid.UUID]) -> None:
        self.records = records
        self.converter = converter
        self.known_tags = known_tags
        self.new_tags: dict[str, str] = {}
        self.valid = 0
        self.sink = _ErrorSink(errors_path)
        self.spool = open(spool_path, "wb") if spool_path else None  # noqa: SIM115

    @property
    def done(self) -> int:
        return self.valid + self.sink.bad_lines

    def step(self, rows: int) -> bool:
        """Check up to ``rows`` records; False once the file is through."""
        with _gc_paused():
            return self._step(rows)

    def _step(self, rows: int) -> bool:
        for _ in range(rows):
            item = next(self.records, None)
            if item is None:
                return False
            line, entries = item
            converted, errors = self.converter.convert(line, entries)
            if errors or converted is None:
                self.sink.add(errors)
                continue
            self.valid += 1
            if self.spool is None:
                continue
            for name in converted.tags:
                if _tag_key(name) not in self.known_tags:
                    self.new_tags.setdefault(_tag_key(name), name)
            # orjson: the spool is written once and read once per row, and the stdlib's JSON was a
            # tenth of the insert phase's Python time
            record = {"l": line, "v": converted.values, "t": [_tag_key(t) for t in converted.tags]}
            self.spool.write(orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE))
        return True

    def valid_records(self, skip: int) -> Iterator[dict[str, Any]]:
        """The one-pass import's records: every row checked (errors to the report), the valid ones
        yielded as the spool would hold them (tags by name), except the first ``skip`` valid ones,
        which a previous attempt already committed."""
        convert, sink = self.converter.convert, self.sink
        for line, entries in self.records:
            converted, errors = convert(line, entries)
            if errors or converted is None:
                sink.add(errors)
                continue
            self.valid += 1
            if self.valid > skip:
                yield {"l": line, "v": converted.values, "t": converted.tags}

    def close(self) -> None:
        """Durable on return: the insert phase trusts the spool once the phase switch is committed."""
        self.sink.close()
        if self.spool is not None:
            self.spool.flush()
            os.fsync(self.spool.fileno())
            self.spool.close()


async def _check_all(db: AsyncSession, imp: ContactImport, files: ImportFiles, options: RunOptions, *,
                     spool: bool, on_step: Callable[[int], Awaitable[None]] | None = None) -> _Validator:
    converter = await _converter(db, options)
    known = await _tag_ids(db) if spool else {}
    validator = await asyncio.to_thread(_Validator, iter_records(imp, files, options.mapping), converter,
                                        files.errors, files.spool if spool else None, known)
    try:
        while await asyncio.to_thread(validator.step, PROGRESS_EVERY if spool else 2000):
            if on_step:
                await on_step(validator.done)
    finally:
        _gc_release()
        await asyncio.to_thread(validator.close)
    return validator


async def validate_import(db: AsyncSession, data_dir: Path, imp: ContactImport, options: RunOptions) -> ContactImport:
    """The dry run: every row checked, every bad row reported, nothing imported."""
    files = ImportFiles.of(data_dir, imp.tenant_id, imp.id)
    if not await asyncio.to_thread(files.source.exists):
        raise ImportFileError("The uploaded file is gone; upload it again.", code="import_file_missing")
    if imp.status in ("queued", "running"):
        raise AppError("The import is running.", code="import_running", status=409)
    checked = await _check_all(db, imp, files, options, spool=False)
    sink = checked.sink
    imp.options = options.as_json()
    imp.dry_run = True
    imp.valid_rows, imp.invalid_rows = checked.valid, sink.bad_lines
    imp.total_rows = checked.done
    imp.errors = sink.kept
    imp.message = f"{sink.count} errors in {sink.bad_lines} rows" if sink.count else "no errors"
    await db.flush()
    return imp


def error_page(data_dir: Path, imp: ContactImport, offset: int, limit: int) -> list[dict[str, Any]]:
    """Errors ``offset`` … ``offset + limit`` of the report (from its file; without one, the stored ones)."""
    files = ImportFiles.of(data_dir, imp.tenant_id, imp.id)
    if not files.errors.exists():
        return list((imp.errors or [])[offset:offset + limit])
    out: list[dict[str, Any]] = []
    with open(files.errors, encoding="utf-8-sig", newline="") as f:
        reader = csv.reader(f, delimiter=";")
        next(reader, None)
        for i, row in enumerate(reader):
            if i < offset or len(row) < 5:
                continue
            if len(out) >= limit:
                break
            out.append({"line": int(row[0]), "field": row[1], "column": row[2] or None, "message": row[3],
                        "value": row[4]})
    return out


def errors_csv_chunks(data_dir: Path, imp: ContactImport) -> Iterator[bytes]:
    """The full error report (or, without its file, the stored errors) as CSV."""
    files = ImportFiles.of(data_dir, imp.tenant_id, imp.id)
    if files.errors.exists():
        with open(files.errors, "rb") as f:
            while chunk := f.read(CHUNK):
                yield chunk
        return
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=";")
    writer.writerow(["line", "field", "column", "message", "value"])
    for e in imp.errors or []:
        writer.writerow([e.get("line"), e.get("field"), e.get("column") or "", e.get("message"), e.get("value", "")])
    yield codecs.BOM_UTF8 + buf.getvalue().encode()


# --- the run -----------------------------------------------------------------------------------------


def _tag_key(name: str) -> str:
    return name.strip().casefold()


async def _tag_ids(db: AsyncSession) -> dict[str, uuid.UUID]:
    return {_tag_key(name): tag_id for tag_id, name in (await db.execute(select(Tag.id, Tag.name))).all()}


async def _validate_to_spool(db: AsyncSession, imp: ContactImport, files: ImportFiles, options: RunOptions,
                             on_progress: ProgressHook | None) -> set[str]:
    """Phase 1: every row checked; valid ones written normalised to the spool. Returns the tag names
    the file uses that do not exist yet."""

    async def step(done: int) -> None:
        imp.rows_done = done
        await db.commit()
        if on_progress:
            await on_progress(imp)

    checked = await _check_all(db, imp, files, options, spool=True, on_step=step)
    imp.valid_rows, imp.invalid_rows = checked.valid, checked.sink.bad_lines
    imp.total_rows = checked.done
    imp.errors = checked.sink.kept
    return set(checked.new_tags.values())


def _iter_spool(path: Path, skip: int) -> Iterator[dict[str, Any]]:
    with open(path, "rb") as f:
        for i, line in enumerate(f):
            if i >= skip:
                yield orjson.loads(line)


def _session_tenant(db: AsyncSession, imp: ContactImport) -> uuid.UUID:
    """The tenant the Core inserts stamp on their rows: the session's own (the import row was read
    through it, so it is the same; anything else would be a bug worth stopping for)."""
    tenant_id = db.info.get("tenant_id")
    if tenant_id is None or tenant_id != imp.tenant_id:
        raise TenantViolation("contact import outside its tenant's session")
    return tenant_id


_V7_CLEAR = ~((0xF << 76) | (0x3 << 62))
_V7_SET = (0x7 << 76) | (0x2 << 62)


class _IdPool:
    """UUIDv7 ids like ``xynap.core.ids.uuid7`` (same layout: time in ms, version 7, RFC 4122
    variant, random rest), with the random bits drawn 1,000 ids at a time: one ``os.urandom`` call
    per id was a measurable share of the insert phase (five ids per contact)."""

    def __init__(self, chunk: int = 1000) -> None:
        self.chunk = chunk
        self.ids: list[uuid.UUID] = []

    def next(self) -> uuid.UUID:
        if not self.ids:
            high = ((time.time_ns() // 1_000_000) & 0xFFFF_FFFF_FFFF) << 80
            data = os.urandom(10 * self.chunk)
            self.ids = [_uuid_of(((high | int.from_bytes(data[i:i + 10], "big")) & _V7_CLEAR) | _V7_SET)
                        for i in range(10 * (self.chunk - 1), -10, -10)]
        return self.ids.pop()


_new_object = object.__new__
_set_slot = object.__setattr__
_UNKNOWN = uuid.SafeUUID.unknown


def _uuid_of(value: int) -> uuid.UUID:
    """``uuid.UUID(int=value)`` for a value known to be a 128-bit integer, without the constructor's
    argument checks (a third of the id pool's time)."""
    out = _new_object(uuid.UUID)
    _set_slot(out, "int", value)
    _set_slot(out, "is_safe", _UNKNOWN)
    return out


def _quick(process: Callable[[Any], Any] | None, column_type: Any, dialect: Any) -> Callable[[Any], Any] | None:
    """A bind processor that does the same faster for an import's rows (a fifth of building a batch on SQLite):
    JSON lists and objects through orjson (the stored text is the same JSON, without the blanks), and every
    other value's last result kept, because the tenant, the owner and a batch's timestamps repeat row after row."""
    if process is None:
        return None
    if isinstance(column_type, JSON) and dialect.name == "sqlite":
        dumps = orjson.dumps

        def json_text(value: Any) -> Any:
            return dumps(value).decode() if isinstance(value, (list, dict)) else process(value)
        return json_text
    last: list[Any] = [object(), None]

    def repeated(value: Any) -> Any:
        if value is not last[0]:
            last[0], last[1] = value, process(value)
        return last[1]
    return repeated


class _RawInsert:
    """A table's INSERT run as a plain DBAPI executemany of ready parameter tuples.

    SQLAlchemy's own executemany processes every row's parameters in generic per-key machinery
    (most of the insert phase's Python time in the event loop's thread). This compiles the
    statement once for the session's dialect and applies the very bind processors SQLAlchemy would
    (UUIDs, JSON, UTC timestamps) in a tight loop, so the rows stored are the same. ``exclude``
    leaves out columns the database fills (an autoincrement key)."""

    def __init__(self, table: Any, dialect: Any, exclude: Sequence[str] = ()) -> None:
        self.table = table
        self.columns = [c.key for c in table.c if c.key not in exclude]
        compiled = insert(table).compile(dialect=dialect, column_keys=self.columns)
        self.sql = str(compiled)
        processors = compiled._bind_processors
        order = compiled.positiontup
        if order is None or sorted(order) != sorted(self.columns):
            raise RuntimeError(f"no positional INSERT for {table.name} on {dialect.name}")
        self.plan = [(key, _quick(processors.get(key), table.c[key].type, dialect)) for key in order]
        # One row → its parameter tuple, as one generated expression (``(p0(row['id']), row['name'], …)``):
        # a generator over the plan per row cost twice as much. Only column keys and the processors go in.
        processed = {f"p{i}": process for i, (_key, process) in enumerate(self.plan) if process}
        cells = [f"p{i}(row[{key!r}])" if process else f"row[{key!r}]" for i, (key, process) in enumerate(self.plan)]
        self.row_params: Callable[[dict[str, Any]], tuple[Any, ...]] = eval(  # noqa: S307 - see above
            f"lambda row: ({', '.join(cells)},)", processed)

    def params(self, rows: list[dict[str, Any]]) -> Any:
        return list(map(self.row_params, rows))


class _JsonInsert:
    """PostgreSQL: a whole batch as ONE ``INSERT … SELECT … FROM json_populate_recordset(NULL::table, $1)``.

    One statement per batch runs the executor (and the row-level security check's setup) once, not once
    per row as an executemany does. The rows travel as one JSON text that orjson writes in C (UUIDs and
    aware datetimes included) and the server parses in C: binding the same rows as column arrays cost
    more Python time than everything else in the insert phase (asyncpg tests every array element against
    several abstract base classes). The server converts each value with its column's own input function,
    so a value that does not fit is refused, never cut."""

    def __init__(self, table: Any, dialect: Any, exclude: Sequence[str] = ()) -> None:
        quote = dialect.identifier_preparer.quote
        self.columns = [c.name for c in table.c if c.key not in exclude]
        names = ", ".join(quote(name) for name in self.columns)
        self.sql = (f"INSERT INTO {quote(table.name)} ({names}) SELECT {names} "
                    f"FROM json_populate_recordset(NULL::{quote(table.name)}, $1::json)")

    def params(self, rows: list[dict[str, Any]]) -> Any:
        # ``str`` for asyncpg's own UUID type (ids read from the database), which orjson does not know
        return (orjson.dumps(rows, default=str).decode(),)


def _json_text(value: Any) -> str | None:
    return None if value is None else orjson.dumps(value).decode()


def _inserter(table: Any, dialect: Any, exclude: Sequence[str] = ()) -> _RawInsert | _JsonInsert:
    kind = _JsonInsert if dialect.name == "postgresql" else _RawInsert
    return kind(table, dialect, exclude)


class _SearchRows:
    """The search index rows of a batch of *new* contacts, written by the import in one statement.

    These rows would be written by ``xynap.core.search``'s flush listener for ORM inserts; the
    import's Core inserts bypass it, and ``search.reindex`` (an upsert, ON CONFLICT per row, plus a
    second statement for the vectors on PostgreSQL) cost half of the insert phase. New contacts have
    no index row yet, so a plain insert is enough: on SQLite an executemany (FTS5 follows through
    the table's trigger), on PostgreSQL one statement that inserts the documents from one JSON text
    and, in the same statement, their tsvectors — the very text of the search component's
    ``IndexWriter`` (``service.vector_text``), built in the batch maker's thread.

    SQLite: a multi-row ``INSERT … VALUES (…), (…)`` per ``SQLITE_ROWS`` rows, not an executemany.
    The FTS5 trigger runs per row either way, but SQLite opens a statement savepoint per statement
    and FTS5 writes its pending terms to disk on every savepoint, so an executemany left one tiny
    FTS segment per contact (and the merging after it): 2.5 times the cost of the same rows in a
    few statements. 120 rows × 8 columns stay below SQLite's oldest variable limit (999).
    """

    SQLITE_ROWS = 120

    PG_SQL = (
        "WITH src AS (SELECT * FROM json_to_recordset($1::json) AS s(entity_id uuid, owner_id uuid, title text, "
        "subtitle text, body text, updated_at timestamptz, tsv text)), "
        "docs AS (INSERT INTO search_documents (tenant_id, type, entity_id, owner_id, title, subtitle, body, "
        "updated_at) SELECT $2::uuid, $3::text, entity_id, owner_id, title, subtitle, body, updated_at FROM src "
        "RETURNING id, entity_id) "
        "INSERT INTO search_vectors (doc_id, tsv) SELECT docs.id, src.tsv::tsvector "
        "FROM docs JOIN src ON src.entity_id = docs.entity_id"
    )

    def __init__(self, source: search.SearchSource, dialect: Any) -> None:
        self.source = source
        self.postgres = dialect.name == "postgresql"
        if self.postgres:
            from xynap.shared.search.service import vector_text

            self.vector_text = vector_text
        else:
            from xynap.shared.search.models import SearchDocument

            self.insert = _RawInsert(SearchDocument.__table__, dialect, exclude=("id",))

    def statements(self, contacts: list[dict[str, Any]]) -> list[tuple[str, tuple[Any, ...]]]:
        """(SQL, parameters) of the statements that index ``contacts``."""
        docs = [self.source.document(SimpleNamespace(**row)) for row in contacts]
        if not self.postgres:
            head, values = self.insert.sql.split(" VALUES ", 1)
            rows = self.insert.params(docs)
            return [(f"{head} VALUES {', '.join([values] * len(part))}", tuple(v for row in part for v in row))
                    for part in (rows[i:i + self.SQLITE_ROWS] for i in range(0, len(rows), self.SQLITE_ROWS))]
        vector_text = self.vector_text
        for d in docs:
            d["tsv"] = vector_text(d)
        return [(self.PG_SQL, (orjson.dumps(docs, default=str).decode(), docs[0]["tenant_id"], self.source.type))]


@dataclass
class _Batch:
    contacts: list[dict[str, Any]]
    links: list[dict[str, Any]]
    keys: list[dict[str, Any]]
    params: dict[str, Any] = field(default_factory=dict)
    # (contact id, tag key) of tags that did not exist when the batch was made, and their names as written
    new_links: list[tuple[uuid.UUID, str]] = field(default_factory=list)
    new_tags: dict[str, str] = field(default_factory=dict)
    # the one-pass import: rows read and rows found invalid up to the end of this batch
    rows_read: int = 0
    invalid: int = 0


@dataclass
class _BatchMaker:
    """Valid rows → the parameters of one batch's INSERTs (contacts, search rows, tag links, match keys)."""

    records: Iterator[dict[str, Any]]
    size: int
    tenant_id: uuid.UUID
    owner_id: uuid.UUID | None
    tag_ids: dict[str, uuid.UUID]  # tag key → id; the writer adds the tags it creates
    default_tags: list[uuid.UUID]
    inserts: dict[str, _RawInsert | _JsonInsert]
    search_rows: _SearchRows | None = None
    ids: _IdPool = field(default_factory=_IdPool)
    validator: _Validator | None = None  # the one-pass import's: its counters go with each batch
    # The first batch is small: nothing is written while it is built, so a full one would leave the
    # database idle for its whole build (a sixth of a 20,000-row import); from the second on they overlap.
    first_size: int = FIRST_BATCH

    def make(self) -> _Batch | None:
        """The next batch (in one pass, its rows checked on the way), None after the last."""
        with _gc_paused():
            return self._make()

    def _make(self) -> _Batch | None:
        batch = _Batch([], [], [])
        size, self.first_size = min(self.size, self.first_size or self.size), 0
        tenant_id, ids, tag_ids = self.tenant_id, self.ids, self.tag_ids
        now = utcnow()
        for record in self.records:
            values = record["v"]
            contact_id = ids.next()
            batch.contacts.append({"id": contact_id, "tenant_id": tenant_id, "version": 1, "source": "import",
                                   "owner_id": self.owner_id, "avatar_url": None, "created_at": now,
                                   "updated_at": now, **values})
            # the duplicate finder's and the custom field filters' keys, as ``store_match_keys`` stores them
            for kind, key in duplicates.all_keys(SimpleNamespace(**values)):  # type: ignore[arg-type]
                batch.keys.append({"tenant_id": tenant_id, "contact_id": contact_id, "kind": kind, "key": key})
            linked = list(self.default_tags)
            for name in record["t"]:
                tag_key = _tag_key(name)
                tag_id = tag_ids.get(tag_key)
                if tag_id is not None:
                    linked.append(tag_id)
                elif tag_key:
                    batch.new_links.append((contact_id, tag_key))
                    batch.new_tags.setdefault(tag_key, name)
            for tag_id in dict.fromkeys(linked):
                batch.links.append({"tenant_id": tenant_id, "contact_id": contact_id, "tag_id": tag_id})
            if len(batch.contacts) >= size:
                break
        if self.validator is not None:
            batch.rows_read, batch.invalid = self.validator.done, self.validator.sink.bad_lines
        if not batch.contacts:
            return None
        for name, rows in (("contacts", batch.contacts), ("links", batch.links), ("keys", batch.keys)):
            if rows:
                batch.params[name] = self.inserts[name].params(rows)
        if self.search_rows is not None:
            batch.params["search"] = self.search_rows.statements(batch.contacts)
        return batch


async def _sqlite_cache(connection: Any, size: int) -> int:
    """Set SQLite's page cache of ``connection`` (``PRAGMA cache_size``: negative = KiB); returns the old one."""
    old = (await connection.exec_driver_sql("PRAGMA cache_size")).scalar()
    await connection.exec_driver_sql(f"PRAGMA cache_size={int(size)}")
    return int(old)


async def execute_import(db: AsyncSession, data_dir: Path, import_id: uuid.UUID, *, batch_size: int = BATCH_SIZE,
                         on_progress: ProgressHook | None = None) -> ContactImport:
    """Run (or resume) an import in ``db``'s tenant; commits per batch. Idempotent: a finished
    import is returned as it is, a half-done one continues after its last committed batch.

    Two ways through the file. All or nothing (``skip_invalid`` off): every row is checked first
    (phase ``validate``, valid rows normalised to a spool file), and only a clean file is inserted
    (phase ``insert``, from the spool). Skipping bad rows: one pass (phase ``insert``) that checks the
    rows of the next batch in a worker thread (on PostgreSQL while the database writes the current one) —
    nothing has to wait for the end of the file. A resumed one-pass import
    checks the file again from the top (the error report is rewritten) and skips the valid rows it
    already committed; the file and the options are the same, so these are the same rows."""
    imp = await get_import(db, import_id)
    if imp.status in ("succeeded", "rejected", "failed"):
        return imp
    files = ImportFiles.of(data_dir, imp.tenant_id, imp.id)
    options = RunOptions.from_json(imp.options or {})
    if not files.source.exists():
        return await _fail(db, imp, "The uploaded file is gone; upload it again.")
    imp.status = "running"
    validator: _Validator | None = None
    if options.skip_invalid:
        imp.phase, imp.dry_run = "insert", False
        imp.rows_done, imp.valid_rows, imp.invalid_rows, imp.imported_rows = 0, 0, 0, imp.checkpoint
        await db.commit()
        validator = await asyncio.to_thread(_Validator, iter_records(imp, files, options.mapping),
                                            await _converter(db, options), files.errors, None, {})
        records: Iterator[dict[str, Any]] = validator.valid_records(skip=imp.checkpoint)
    else:
        if imp.phase != "insert" or not files.spool.exists():
            imp.phase, imp.rows_done, imp.checkpoint, imp.imported_rows, imp.dry_run = "validate", 0, 0, 0, False
            await db.commit()
            try:
                new_tags = await _validate_to_spool(db, imp, files, options, on_progress)
            except ImportFileError as exc:
                return await _fail(db, imp, exc.detail)
            if imp.invalid_rows:
                imp.status, imp.phase, imp.finished_at = "rejected", "done", utcnow()
                imp.rows_done = imp.total_rows
                imp.message = (f"{imp.invalid_rows} of {imp.total_rows} rows are invalid; nothing was imported. "
                               "Fix them or import with skip_invalid.")
                files.spool.unlink(missing_ok=True)
                await db.commit()
                if on_progress:
                    await on_progress(imp)
                return imp
            # the tags the file names are created with the switch to the insert phase (one transaction)
            for name in sorted(new_tags):
                db.add(Tag(name=name[:TAG_NAME_MAX]))
            imp.phase, imp.rows_done = "insert", imp.invalid_rows
            await db.commit()
            if on_progress:
                await on_progress(imp)
        records = _iter_spool(files.spool, imp.checkpoint)
    try:
        await _insert_batches(db, imp, options, records, validator, batch_size, on_progress)
    except ImportFileError as exc:  # the one-pass import found the file unreadable further down
        await db.rollback()
        imp = await get_import(db, import_id)
        done = f" ({imp.imported_rows} contacts were imported before)" if imp.imported_rows else ""
        return await _fail(db, imp, exc.detail + done)
    finally:
        _gc_release()
        if validator is not None:
            await asyncio.to_thread(validator.close)
    if validator is not None:
        imp.total_rows, imp.valid_rows, imp.invalid_rows = validator.done, validator.valid, validator.sink.bad_lines
        imp.errors = validator.sink.kept
    imp.status, imp.phase, imp.finished_at = "succeeded", "done", utcnow()
    imp.rows_done = imp.total_rows
    skipped = f", {imp.invalid_rows} invalid rows skipped" if imp.invalid_rows else ""
    imp.message = f"{imp.imported_rows} contacts imported{skipped}"
    from xynap.core.events import publish

    owner_id = options.default_owner_id
    publish(db, "contacts.imported", {"import_id": imp.id, "imported": imp.imported_rows,
                                      "skipped": imp.invalid_rows, "owner_id": owner_id},
            permission="contacts.contact:read", owner_id=owner_id)
    await db.commit()
    files.spool.unlink(missing_ok=True)
    if on_progress:
        await on_progress(imp)
    return imp


async def _insert_batches(db: AsyncSession, imp: ContactImport, options: RunOptions, records: Iterator[dict[str, Any]],
                          validator: _Validator | None, batch_size: int, on_progress: ProgressHook | None) -> None:
    """Insert ``records`` a batch per transaction, each commit carrying the import's checkpoint."""
    # The insert phase writes one statement per table and batch (see ``_RawInsert``/``_JsonInsert``),
    # not ORM objects: building, flushing and expunging 1,000 Contact objects per batch cost more
    # than everything else together. Statements outside the unit of work bypass the session's flush
    # hooks, so this does their work itself: every row carries the session's tenant (RLS checks it
    # again on PostgreSQL), and the new contacts' search rows are inserted by ``_SearchRows``, the
    # same rows the search writer stores. (COPY is no option on PostgreSQL: it refuses tables with
    # row-level security.)
    tenant_id = _session_tenant(db, imp)
    done = imp.checkpoint
    dialect = (await db.connection()).dialect
    inserts = {"contacts": _inserter(Contact.__table__, dialect), "links": _inserter(ContactTag.__table__, dialect),
               "keys": _inserter(ContactMatchKey.__table__, dialect)}
    source = search.get_source("contact")
    search_rows = (_SearchRows(source, dialect) if source is not None and search.writer() is not None
                   and not db.info.get("search_index_off") else None)
    tag_ids = await _tag_ids(db)
    maker = _BatchMaker(records, batch_size, tenant_id, options.default_owner_id, tag_ids,
                        list(dict.fromkeys(options.default_tag_ids)), inserts, search_rows, validator=validator)

    async def new_links(batch: _Batch) -> list[dict[str, Any]]:
        """Links to the tags the batch names that did not exist yet: created here, in the batch's transaction."""
        created = []
        for tag_key, name in batch.new_tags.items():
            if tag_key not in tag_ids:
                tag = Tag(name=name.strip()[:TAG_NAME_MAX])
                db.add(tag)
                created.append((tag_key, tag))
        if created:
            await db.flush()
            for tag_key, tag in created:
                tag_ids[tag_key] = tag.id  # the maker sees it from its next batch on
        seen = {(row["contact_id"], row["tag_id"]) for row in batch.links}
        rows = []
        for contact_id, tag_key in batch.new_links:
            if (contact_id, tag_ids[tag_key]) not in seen:
                seen.add((contact_id, tag_ids[tag_key]))
                rows.append({"tenant_id": tenant_id, "contact_id": contact_id, "tag_id": tag_ids[tag_key]})
        return rows

    async def write(batch: _Batch) -> None:
        nonlocal done
        connection = await db.connection()
        # SQLite: a batch inserts into a dozen indexes (and FTS5) at random places; the default page
        # cache (2 MiB) evicted the pages a batch touches again a moment later (measured at 100,000
        # rows: about a quarter of the insert phase). A bigger cache for the batch, back to the
        # connection's own size before the commit, so no pooled connection keeps the memory.
        cache = await _sqlite_cache(connection, IMPORT_CACHE_KIB) if connection.dialect.name == "sqlite" else None
        try:
            await connection.exec_driver_sql(inserts["contacts"].sql, batch.params["contacts"])
            for sql, params in batch.params.get("search", ()):
                await connection.exec_driver_sql(sql, params)
            if batch.links:
                await connection.exec_driver_sql(inserts["links"].sql, batch.params["links"])
            extra = await new_links(batch) if batch.new_links else []
            if extra:
                await connection.exec_driver_sql(inserts["links"].sql, inserts["links"].params(extra))
            if batch.keys:
                await connection.exec_driver_sql(inserts["keys"].sql, batch.params["keys"])
        finally:
            if cache is not None:
                with contextlib.suppress(Exception):  # never hide the batch's own error
                    await _sqlite_cache(connection, cache)
        done += len(batch.contacts)
        imp.checkpoint = done
        imp.imported_rows = done
        if validator is not None:
            imp.rows_done, imp.invalid_rows = batch.rows_read, batch.invalid
            imp.valid_rows = batch.rows_read - batch.invalid
        else:
            imp.rows_done = imp.invalid_rows + done
        await db.commit()
        if on_progress:
            await on_progress(imp)

    # PostgreSQL: the next batch is built (and, in one pass, checked) in a worker thread while the current
    # one is written — PostgreSQL's process works meanwhile, on another core. SQLite writes in this process:
    # its thread needs the GIL back after every row, and a builder thread holding it made each write wait
    # (100,000 rows through the API, one CPU: 5,350 rows/s overlapped, 5,610 one after the other).
    overlap = dialect.name != "sqlite"
    pending: asyncio.Future[_Batch | None] = asyncio.ensure_future(asyncio.to_thread(maker.make))
    try:
        while (batch := await pending) is not None:
            if overlap:
                pending = asyncio.ensure_future(asyncio.to_thread(maker.make))
                await write(batch)
            else:
                await write(batch)
                pending = asyncio.ensure_future(asyncio.to_thread(maker.make))
    finally:
        if not pending.done():
            await asyncio.gather(pending, return_exceptions=True)


async def _fail(db: AsyncSession, imp: ContactImport, message: str) -> ContactImport:
    imp.status, imp.phase, imp.finished_at, imp.message = "failed", "done", utcnow(), message[:500]
    await db.commit()
    return imp


async def mark_failed(db: AsyncSession, import_id: uuid.UUID, message: str) -> None:
    """The job gave up (last attempt failed): the import shows it instead of running forever."""
    await db.execute(update(ContactImport).where(ContactImport.id == import_id,
                                                 ContactImport.status.in_(("queued", "running")))
                     .values(status="failed", phase="done", finished_at=utcnow(), message=message[:500]))


# --- export ------------------------------------------------------------------------------------------


@dataclass
class ExportFilter:
    q: str | None = None
    type: str | None = None
    tag: uuid.UUID | None = None
    owner_id: uuid.UUID | None = None
    cf: list[tuple[str, str]] = field(default_factory=list)


async def export_statement(db: AsyncSession, access: Access | None, filters: ExportFilter) -> Select[Any]:
    """The contact list's query: the same filters (q, type, tag, owner_id, cf.<key>) and record scope."""
    stmt = select(Contact)
    if access is not None:
        stmt = access.apply(stmt, Contact.owner_id)
    if filters.q and filters.q.strip():
        stmt = stmt.where(service.search_clause(filters.q, await service.default_region(db)))
    if filters.type:
        stmt = stmt.where(Contact.type == filters.type)
    if filters.tag is not None:
        stmt = stmt.where(Contact.id.in_(select(ContactTag.contact_id).where(ContactTag.tag_id == filters.tag)))
    if filters.owner_id is not None:
        stmt = stmt.where(Contact.owner_id == filters.owner_id)
    if filters.cf:
        definitions = await service.field_definitions(db)
        for key, raw in filters.cf:
            definition = definitions.get(key)
            if definition is None:
                raise ValidationFailed(f"There is no custom field {key!r}.", code="unknown_custom_field",
                                       errors=[{"field": f"cf.{key}", "in": "query", "message": "no such field"}])
            stmt = stmt.where(service.custom_field_filter(db, definition, raw))
    return stmt


@dataclass(frozen=True)
class ExportQuery:
    """An export's statement and the contact list's order to write it in (``sort`` as the list takes it)."""

    stmt: Select[Any]
    sort: str = "name"
    keys: tuple[Any, ...] = ()  # sort=cf.<key>: the list's keyset keys (service.custom_field_sort_keys)


def _list_sorts() -> dict[str, Any]:
    # the contact list's own table of sortable columns, so that both accept the same names
    # (imported here: the api module is the list's home, and this module sits below it)
    from xynap.shared.contacts.api import CONTACT_SORTS

    return CONTACT_SORTS


async def export_query(db: AsyncSession, stmt: Select[Any], sort: str = "name") -> ExportQuery:
    """``stmt`` in the contact list's order ``sort`` (name, created_at or cf.<key>; - for descending),
    checked as the list checks it (422 ``invalid_sort``) before the first byte streams."""
    key = sort.lstrip("-")
    if key.startswith("cf."):
        definition = (await service.field_definitions(db)).get(key[3:])
        if definition is None:
            raise ValidationFailed(f"Cannot sort by {key!r}: there is no such custom field.",
                                   code="invalid_sort", errors=[{"field": "sort", "message": "unknown sort field"}])
        keys = service.custom_field_sort_keys(db, definition, sort.startswith("-"))  # multiselect: invalid_sort
        return ExportQuery(stmt, sort, tuple(keys))
    sortable = _list_sorts()
    if key not in sortable:  # the message and code of core.pagination.paginate, which the list runs
        raise ValidationFailed(f"Cannot sort by {key!r}; use one of {', '.join(sorted(sortable))}.",
                               code="invalid_sort", errors=[{"field": "sort", "message": "unknown sort field"}])
    return ExportQuery(stmt, sort)


async def iter_contacts(db: AsyncSession, query: ExportQuery | Select[Any], page: int | None = None) \
        -> AsyncIterator[list[tuple[Contact, list[str]]]]:
    """Pages of (contact, tag names) in the contact list's order: walked by keyset on (sort key, id) with the
    list's own paginators (so ties and contacts without a custom field value come out as the list shows
    them), one page in memory at a time. A bare statement is written in the list's default order (name)."""
    from xynap.core.pagination import MAX_LIMIT, paginate

    if not isinstance(query, ExportQuery):
        query = ExportQuery(query)
    page = page or EXPORT_PAGE  # read at call time, so that tests can make pages small
    cursor: str | None = None
    while True:
        rows: list[Contact] = []
        while len(rows) < page:  # the kernel's paginator serves at most MAX_LIMIT rows a call
            if query.keys:
                chunk, cursor = await service.keyset_page(db, query.stmt, query.keys, page - len(rows), cursor)
            else:
                chunk, cursor = await paginate(db, query.stmt, model=Contact, sort=query.sort,
                                               sortable=_list_sorts(), limit=min(page - len(rows), MAX_LIMIT),
                                               cursor=cursor)
            rows.extend(chunk)
            if cursor is None:
                break
        if not rows:
            return
        tags = await service.tags_by_contact(db, [r.id for r in rows])  # one query per page
        yield [(r, [t.name for t in tags[r.id]]) for r in rows]
        db.expunge_all()
        if cursor is None:
            return


EXPORT_COLUMNS = ("Typ", "Vorname", "Nachname", "Firma", "E-Mail", "E-Mail privat", "Telefon", "Mobil",
                  "Telefon privat", "Fax", "Straße", "PLZ", "Ort", "Land", "Tags", "Notizen")


def export_header(definitions: Sequence[CustomFieldDefinition]) -> list[str]:
    return [*EXPORT_COLUMNS, *(d.label for d in definitions)]


def _joined(entries: list[dict[str, Any]], kind: str | None, kinds: Sequence[str] = ()) -> str:
    return "; ".join(e["value"] for e in entries or []
                     if e.get("value") and (e.get("type") == kind or (kind is None and e.get("type") in kinds)))


def _cell(value: Any) -> Any:
    if isinstance(value, list):
        return "; ".join(str(v) for v in value)
    if isinstance(value, bool):
        return "ja" if value else "nein"
    return "" if value is None else value


def export_row(contact: Contact, tags: list[str], definitions: Sequence[CustomFieldDefinition]) -> list[Any]:
    emails = contact.emails or []
    phones = contact.phones or []
    address = (contact.addresses or [{}])[0]
    custom = contact.custom_fields or {}
    return [
        "Firma" if contact.type == "organization" else "Person",
        contact.first_name or "", contact.last_name or "", contact.company_name or "",
        _joined(emails, None, ("work", "other")), _joined(emails, "home"),
        _joined(phones, None, ("work", "other")), _joined(phones, "mobile"), _joined(phones, "home"),
        _joined(phones, "fax"),
        address.get("street", ""), address.get("postal_code", ""), address.get("city", ""),
        address.get("country", ""), "; ".join(tags), contact.notes or "",
        *(_cell(custom.get(d.key)) for d in definitions),
    ]


def _safe_csv(value: Any) -> Any:
    """Spreadsheet formula injection: a text cell starting with = + - @ is prefixed with a quote."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r") and not re.fullmatch(
            r"\+\d[\d ]*", value):
        return "'" + value
    return value


async def csv_chunks(db: AsyncSession, stmt: ExportQuery | Select[Any]) -> AsyncIterator[bytes]:
    definitions = await _export_definitions(db)
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=";")
    writer.writerow(export_header(definitions))
    yield codecs.BOM_UTF8 + buf.getvalue().encode()
    async for page in iter_contacts(db, stmt):
        buf.seek(0)
        buf.truncate()
        for contact, tags in page:
            writer.writerow([_safe_csv(v) for v in export_row(contact, tags, definitions)])
        yield buf.getvalue().encode()


async def _export_definitions(db: AsyncSession) -> list[CustomFieldDefinition]:
    return list(await db.scalars(select(CustomFieldDefinition).where(CustomFieldDefinition.entity == "contact")
                                 .order_by(CustomFieldDefinition.position, CustomFieldDefinition.key)))


async def write_xlsx(db: AsyncSession, stmt: ExportQuery | Select[Any], dest: Path) -> None:
    """An Excel workbook in openpyxl's write-only mode (rows go to disk as they come)."""
    from openpyxl import Workbook

    definitions = await _export_definitions(db)
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Kontakte")
    sheet.append(export_header(definitions))
    async for page in iter_contacts(db, stmt):
        rows = [[_safe_csv(v) for v in export_row(c, tags, definitions)] for c, tags in page]
        await asyncio.to_thread(lambda rows=rows: [sheet.append(r) for r in rows])
    await asyncio.to_thread(workbook.save, dest)


def _temp_file(tmp_dir: Path, suffix: str) -> Path:
    tmp_dir.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(suffix=suffix, dir=tmp_dir)
    os.close(fd)
    return Path(name)


def file_chunks(path: Path) -> Iterator[bytes]:
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            yield chunk


async def xlsx_chunks(db: AsyncSession, stmt: ExportQuery | Select[Any], tmp_dir: Path) -> AsyncIterator[bytes]:
    """The workbook is a zip: written whole to a temporary file first, then streamed and removed."""
    path = await asyncio.to_thread(_temp_file, tmp_dir, ".xlsx")
    try:
        await write_xlsx(db, stmt, path)
        chunks = await asyncio.to_thread(lambda: iter(file_chunks(path)))
        while chunk := await asyncio.to_thread(next, chunks, b""):
            yield chunk
    finally:
        await asyncio.to_thread(path.unlink, True)


# vCard writing (RFC 6350 for 4.0, RFC 2426 for 3.0)

VCARD_TEL_TYPES = {"work": "work,voice", "home": "home,voice", "mobile": "cell", "fax": "fax", "other": "voice"}


def _vescape(value: str) -> str:
    return (value.replace("\\", "\\\\").replace(",", "\\,").replace(";", "\\;")
            .replace("\r\n", "\\n").replace("\n", "\\n"))


def _fold(line: str) -> str:
    """Lines longer than 75 octets are folded (CRLF + space), never inside a UTF-8 character."""
    data = line.encode()
    if len(data) <= 75:
        return line + "\r\n"
    parts, start, limit = [], 0, 75
    while start < len(data):
        end = min(start + limit, len(data))
        while end < len(data) and (data[end] & 0xC0) == 0x80:
            end -= 1
        parts.append(data[start:end].decode())
        start, limit = end, 74
    return "\r\n ".join(parts) + "\r\n"


def vcard_of(contact: Contact, tags: list[str], version: str) -> str:
    v4 = version == "4.0"

    def typ(value: str) -> str:
        return f"TYPE={value}" if v4 else "TYPE=" + value.upper()

    lines = ["BEGIN:VCARD", f"VERSION:{version}"]
    if v4:
        lines.append("KIND:org" if contact.type == "organization" else "KIND:individual")
    lines.append(f"FN:{_vescape(contact.display_name)}")
    if contact.type == "person" or contact.first_name or contact.last_name:
        lines.append(f"N:{_vescape(contact.last_name or '')};{_vescape(contact.first_name or '')};;;")
    else:
        lines.append("N:;;;;")  # required in 3.0; an organisation has no person name
    if contact.company_name:
        lines.append(f"ORG:{_vescape(contact.company_name)}")
    elif contact.type == "organization" and not v4:
        lines.append(f"ORG:{_vescape(contact.display_name)}")
    if not v4 and contact.type == "organization":
        lines.append("X-ADDRESSBOOKSERVER-KIND:org")
    for email in contact.emails or []:
        kind = email.get("type") if email.get("type") in ("work", "home") else "other"
        lines.append(f"EMAIL;{typ(kind if v4 else kind + ',internet')}:{_vescape(email['value'])}")
    for phone in contact.phones or []:
        types = VCARD_TEL_TYPES.get(phone.get("type") or "work", "voice")
        if v4:
            lines.append(f'TEL;VALUE=uri;TYPE="{types}":tel:{phone["value"]}')
        else:
            lines.append(f"TEL;{typ(types)}:{phone['value']}")
    for address in contact.addresses or []:
        kind = "home" if address.get("type") == "home" else "work"
        parts = ["", "", address.get("street", ""), address.get("city", ""), "", address.get("postal_code", ""),
                 address.get("country", "")]
        lines.append(f"ADR;{typ(kind)}:" + ";".join(_vescape(p or "") for p in parts))
    if tags:
        lines.append("CATEGORIES:" + ",".join(_vescape(t) for t in tags))
    if contact.notes:
        lines.append(f"NOTE:{_vescape(contact.notes)}")
    lines.append(f"UID:{'urn:uuid:' if v4 else ''}{contact.id}")
    updated = contact.updated_at.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ") if contact.updated_at else None
    if updated:
        lines.append(f"REV:{updated}")
    lines.append("END:VCARD")
    return "".join(_fold(line) for line in lines)


async def vcard_chunks(db: AsyncSession, stmt: ExportQuery | Select[Any], version: str) -> AsyncIterator[bytes]:
    async for page in iter_contacts(db, stmt):
        yield "".join(vcard_of(c, tags, version) for c, tags in page).encode()
