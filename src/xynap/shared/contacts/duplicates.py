"""Duplicate finder: blocking keys in ``contact_match_keys``, scoring with rapidfuzz.

Finding candidates must stay fast with a million contacts, so nothing here compares a contact with
all others. Every contact has a few *match keys* (kind, key): its case-folded e-mails, its E.164
phones, its normalised name (sorted tokens without accents and legal forms such as GmbH) and that
name in Kölner Phonetik (Meier = Mayer = Maier). Contacts sharing a key are candidates (an index
lookup on (tenant_id, kind, key)); only those few are scored.

The service keeps the keys in step: ``store_match_keys`` after creating contacts (also in
batches, e.g. from the CSV import), ``refresh_match_keys`` after a change, and
``delete_match_keys`` before deleting one.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from rapidfuzz import fuzz
from sqlalchemy import and_, delete, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from xynap.shared.contacts.models import MATCH_KINDS, Contact, ContactMatchKey

MAX_KEY_LENGTH = 300
FIELD_KIND = "cf"  # custom field values in the same table (see field_keys); never used for duplicates
MAX_CANDIDATES = 120  # per contact; a key shared by thousands (a common name) must not flood the scorer
# Candidates per key, strongest evidence first (see ``candidate_ids``)
KEY_CANDIDATES = {"email": 20, "phone": 20, "name": 40, "sound": 40}
KIND_ORDER = {kind: i for i, kind in enumerate(KEY_CANDIDATES)}
MIN_SCORE = 0.8
MIN_NAME_SIMILARITY = 0.8
# Evidence weights: a shared e-mail is strong, a shared phone slightly less (switchboard numbers).
EMAIL_WEIGHT = 0.9
PHONE_WEIGHT = 0.8

# Legal forms and filler words that say nothing about who an organisation is.
LEGAL_FORMS = frozenset({
    "gmbh", "mbh", "ag", "kg", "ohg", "gbr", "ug", "haftungsbeschraenkt", "co", "ev", "e", "v", "se", "kgaa",
    "eg", "ek", "ltd", "limited", "inc", "llc", "plc", "corp", "sa", "sarl", "sas", "bv", "nv", "srl", "spa",
})
GERMAN_UMLAUTS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})


# --- normalisation -----------------------------------------------------------------------------------


def name_tokens(name: str | None) -> list[str]:
    """Lower-case ASCII tokens of a name, legal forms dropped: ``Müller & Co. KG`` → ``["mueller"]``."""
    if not name:
        return []
    return list(_name_tokens(name))


@lru_cache(maxsize=65536)  # names repeat a lot (bulk imports compute keys for every row)
def _name_tokens(name: str) -> tuple[str, ...]:
    text = name.casefold().translate(GERMAN_UMLAUTS)
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return tuple(t for t in re.split(r"[^a-z0-9]+", text) if t and t not in LEGAL_FORMS)


@lru_cache(maxsize=65536)  # a pure function of the token; tokens repeat a lot
def koelner_phonetik(word: str) -> str:
    """The Kölner Phonetik code of an ASCII lower-case word (German spelling variants share it)."""
    w = word.upper()
    codes: list[str] = []
    for i, ch in enumerate(w):
        prev = w[i - 1] if i > 0 else ""
        nxt = w[i + 1] if i + 1 < len(w) else ""
        if ch in "AEIJOUY":
            code = "0"
        elif ch == "H" or not ch.isalpha():
            code = ""
        elif ch == "B":
            code = "1"
        elif ch == "P":
            code = "3" if nxt == "H" else "1"
        elif ch in "DT":
            code = "8" if nxt in ("C", "S", "Z") and nxt else "2"
        elif ch in "FVW":
            code = "3"
        elif ch in "GKQ":
            code = "4"
        elif ch == "C":
            if i == 0:
                code = "4" if nxt in tuple("AHKLOQRUX") and nxt else "8"
            else:
                code = "4" if nxt in tuple("AHKOQUX") and nxt and prev not in ("S", "Z") else "8"
        elif ch == "X":
            code = "8" if prev in ("C", "K", "Q") and prev else "48"
        elif ch == "L":
            code = "5"
        elif ch in "MN":
            code = "6"
        elif ch == "R":
            code = "7"
        elif ch in "SZ":
            code = "8"
        else:
            code = ""
        codes.append(code)
    collapsed: list[str] = []
    for code in "".join(codes):
        if not collapsed or collapsed[-1] != code:
            collapsed.append(code)
    out = "".join(collapsed)
    return out[:1] + out[1:].replace("0", "") if out else ""


def match_keys(contact: Contact) -> set[tuple[str, str]]:
    """The (kind, key) pairs under which ``contact`` is found."""
    keys: set[tuple[str, str]] = set()
    for entry in contact.emails or []:
        if entry.get("value"):
            keys.add(("email", entry["value"].casefold()[:MAX_KEY_LENGTH]))
    for entry in contact.phones or []:
        if entry.get("value"):
            keys.add(("phone", entry["value"][:MAX_KEY_LENGTH]))
    tokens = sorted(name_tokens(contact.display_name))
    if tokens:
        keys.add(("name", " ".join(tokens)[:MAX_KEY_LENGTH]))
        sounds = sorted(code for code in (koelner_phonetik(t) for t in tokens) if code)
        if sounds:
            keys.add(("sound", " ".join(sounds)[:MAX_KEY_LENGTH]))
    return keys


def field_value_key(field: str, value: Any) -> str:
    """The lookup key of one custom field value: ``branche=IT``, ``umsatz=5000``, ``newsletter=true``."""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, (int, float)):
        number = float(value)
        text = str(int(number)) if number.is_integer() and abs(number) < 1e15 else repr(number)
    else:
        text = str(value)
    return f"{field}={text}"[:MAX_KEY_LENGTH]


def field_keys(contact: Contact) -> set[tuple[str, str]]:
    """("cf", "<key>=<value>") for every custom field value (each option of a multiselect).

    Segment and list filters find "custom field equals" through these rows: an index lookup on
    (tenant_id, kind, key). A GIN index on the JSON column cannot serve them on PostgreSQL, because
    under row-level security only leakproof operators become index conditions and ``@>`` is not one.
    """
    keys: set[tuple[str, str]] = set()
    for name, value in (contact.custom_fields or {}).items():
        for item in value if isinstance(value, list) else [value]:
            if item is not None and item != "":
                keys.add((FIELD_KIND, field_value_key(name, item)))
    return keys


def all_keys(contact: Contact) -> set[tuple[str, str]]:
    return match_keys(contact) | field_keys(contact)


# --- keeping the keys in step --------------------------------------------------------------------------


async def store_match_keys(db: AsyncSession, contacts: Iterable[Contact]) -> None:
    """Add the match keys (and custom field keys) of newly created contacts (flushed, so they have ids).
    One call per batch."""
    for contact in contacts:
        for kind, key in all_keys(contact):
            db.add(ContactMatchKey(tenant_id=contact.tenant_id, contact_id=contact.id, kind=kind, key=key))
    await db.flush()


async def delete_match_keys(db: AsyncSession, contact_ids: Sequence[uuid.UUID]) -> None:
    if contact_ids:
        await db.execute(delete(ContactMatchKey).where(ContactMatchKey.contact_id.in_(list(contact_ids))))


async def refresh_match_keys(db: AsyncSession, contact: Contact) -> None:
    """Rewrite the keys of a changed contact (only the rows that differ)."""
    wanted = all_keys(contact)
    current = list(await db.scalars(select(ContactMatchKey).where(ContactMatchKey.contact_id == contact.id)))
    have = set()
    for row in current:
        if (row.kind, row.key) in wanted and (row.kind, row.key) not in have:
            have.add((row.kind, row.key))
        else:
            await db.delete(row)
    for kind, key in wanted - have:
        db.add(ContactMatchKey(tenant_id=contact.tenant_id, contact_id=contact.id, kind=kind, key=key))
    await db.flush()


# --- scoring -------------------------------------------------------------------------------------------


@dataclass
class Match:
    contact: Contact
    score: float
    reasons: list[dict[str, Any]] = field(default_factory=list)


def score_pair(a: Contact, b: Contact) -> tuple[float, list[dict[str, Any]]]:
    """(score 0..1, reasons) for two contacts; reasons: same_email / same_phone (with the value) and
    similar_name (with the name similarity)."""
    reasons: list[dict[str, Any]] = []
    evidence: list[float] = []
    emails_a = {e["value"].casefold() for e in a.emails or [] if e.get("value")}
    for value in sorted(emails_a & {e["value"].casefold() for e in b.emails or [] if e.get("value")}):
        reasons.append({"code": "same_email", "value": value, "score": EMAIL_WEIGHT})
        evidence.append(EMAIL_WEIGHT)
    phones_a = {p["value"] for p in a.phones or [] if p.get("value")}
    for value in sorted(phones_a & {p["value"] for p in b.phones or [] if p.get("value")}):
        reasons.append({"code": "same_phone", "value": value, "score": PHONE_WEIGHT})
        evidence.append(PHONE_WEIGHT)
    name_a, name_b = " ".join(name_tokens(a.display_name)), " ".join(name_tokens(b.display_name))
    if name_a and name_b:
        similarity = round(fuzz.token_sort_ratio(name_a, name_b) / 100.0, 2)
        if similarity >= MIN_NAME_SIMILARITY:
            reasons.append({"code": "similar_name", "value": b.display_name, "score": similarity})
            evidence.append(similarity)
    remaining = 1.0
    for weight in evidence:
        remaining *= 1.0 - weight
    return round(1.0 - remaining, 3), reasons


# --- candidates ----------------------------------------------------------------------------------------


async def candidate_ids(db: AsyncSession, contact: Contact) -> list[uuid.UUID]:
    """Ids of contacts sharing a match key with ``contact``: strongest evidence first (e-mail, phone,
    name, sound), at most ``KEY_CANDIDATES[kind]`` per key, one bounded index range each.

    Why bounded per key: in a million contacts a common name ("Anna Weber") is shared by hundreds and
    its Kölner Phonetik code by up to 5,000. Reading all of them to keep 200 cost 60-180 ms per
    contact; an e-mail or phone twin — the likeliest duplicate — is found by its own key first anyway."""
    keys = sorted(match_keys(contact), key=lambda kv: (KIND_ORDER.get(kv[0], len(KIND_ORDER)), kv[1]))
    if not keys:
        return []
    other = ContactMatchKey.contact_id != contact.id
    lookups = [select(ContactMatchKey.contact_id).where(ContactMatchKey.kind == kind, ContactMatchKey.key == key, other)
               .limit(KEY_CANDIDATES.get(kind, 0)).subquery() for kind, key in keys]
    # each lookup is a subquery of its own: SQLite allows no LIMIT on a UNION ALL member itself
    stmt = union_all(*(select(lookup.c.contact_id) for lookup in lookups))
    return list(dict.fromkeys(await db.scalars(stmt)))[:MAX_CANDIDATES]


def rank(contact: Contact, others: Iterable[Contact], min_score: float = MIN_SCORE) -> list[Match]:
    out = []
    for other in others:
        if other.id == contact.id:
            continue
        score, reasons = score_pair(contact, other)
        if score >= min_score:
            out.append(Match(other, score, reasons))
    # equal scores: more evidence first (the same e-mail and name before the same name alone)
    out.sort(key=lambda m: (-m.score, -len(m.reasons), m.contact.display_name, str(m.contact.id)))
    return out


def key_pairs_statement() -> Any:
    """Every pair of contacts sharing a key, once per shared key, in index order
    (kind, key, first contact id, second contact id) — the scan behind the tenant-wide review list."""
    first, second = aliased(ContactMatchKey), aliased(ContactMatchKey)
    stmt = select(first.kind, first.key, first.contact_id, second.contact_id).join(
        second, and_(second.kind == first.kind, second.key == first.key, second.contact_id > first.contact_id)
    ).where(first.kind.in_(MATCH_KINDS))
    return stmt, first, second


def first_shared_key(a: Contact, b: Contact) -> tuple[str, str] | None:
    """The smallest (kind, key) both contacts share: a pair is reported only at that key, so that a
    pair sharing an e-mail and a name appears once in the review list."""
    shared = match_keys(a) & match_keys(b)
    return min(shared) if shared else None
