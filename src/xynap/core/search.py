"""Search index registry: which entities are searchable, and keeping their index entries in step.

A component declares ``SearchSource`` objects in its manifest (``Module.search_sources``); the
kernel registers them here. Every ORM flush of a registered model is turned into index writes by
one ``after_flush`` listener, so all write paths (API, imports, jobs, demo data) are covered and a
flush of 1,000 rows costs one batched statement, not 1,000. Bulk paths that bypass the ORM
(``update()`` / ``delete()`` statements) call ``reindex``/``unindex`` themselves.

The kernel knows neither the index table nor the query language: the search component installs an
``IndexWriter`` (``install_writer``), as the platform plugs its loaders into other kernel parts.
The query parser below is shared by both engines' query builders.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import event
from sqlalchemy.orm import Session

from xynap.core.db import XSession, utcnow

TITLE_MAX = 300
SUBTITLE_MAX = 300
BODY_MAX = 4000  # long bodies are cut: the index is for finding a record, not for full documents
MAX_TERMS = 12  # more terms add no precision, only cost


@dataclass(frozen=True)
class SearchSource:
    """One searchable entity type.

    ``type`` is the name clients see (``contact``), ``permission`` the read permission whose record
    scope applies (``contacts.contact:read``), ``owner_attr`` the attribute that scope refers to
    (``None``: no owner, only the ``all`` scope lets anyone see it). ``title``/``subtitle``/``body``
    turn a loaded object into text; ``url`` is the web app route with ``{id}``.
    """

    type: str
    model: type
    permission: str
    title: Callable[[Any], str]
    url: str
    subtitle: Callable[[Any], str] = lambda obj: ""
    body: Callable[[Any], str] = lambda obj: ""
    owner_attr: str | None = "owner_id"
    label: dict[str, str] = field(default_factory=dict)
    icon: str = "file"

    def document(self, obj: Any) -> dict[str, Any]:
        """The index row of ``obj`` (plain values, ready for a batched INSERT)."""
        updated = getattr(obj, "updated_at", None) or getattr(obj, "created_at", None) or utcnow()
        return {
            "tenant_id": obj.tenant_id,
            "type": self.type,
            "entity_id": obj.id,
            "owner_id": getattr(obj, self.owner_attr) if self.owner_attr else None,
            "title": _clip(self.title(obj), TITLE_MAX),
            "subtitle": _clip(self.subtitle(obj), SUBTITLE_MAX),
            "body": _clip(self.body(obj), BODY_MAX),
            "updated_at": updated,
        }


def _clip(text: str | None, size: int) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= size else text[: size - 1] + "…"


# --- registry ----------------------------------------------------------------------------------------

_TYPE_NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")  # it becomes part of index markers and URLs
_sources: dict[str, SearchSource] = {}
_source_module: dict[str, str] = {}
_by_model: dict[type, SearchSource] = {}


def register(source: SearchSource, module: str | None = None) -> None:
    """Make ``source`` searchable; registering the same type again replaces it (re-imports, tests)."""
    if not _TYPE_NAME.fullmatch(source.type):
        raise ValueError(f"search type {source.type!r} must match {_TYPE_NAME.pattern}")
    old = _sources.get(source.type)
    if old is not None:
        _by_model.pop(old.model, None)
    _sources[source.type] = source
    _by_model[source.model] = source
    if module:
        _source_module[source.type] = module


def unregister(type_: str) -> None:
    source = _sources.pop(type_, None)
    if source is not None:
        _by_model.pop(source.model, None)
    _source_module.pop(type_, None)


def sources() -> list[SearchSource]:
    return list(_sources.values())


def get_source(type_: str) -> SearchSource | None:
    return _sources.get(type_)


def module_of(type_: str) -> str | None:
    """Slug of the module that declared ``type_`` (its booking decides whether the type is searched)."""
    return _source_module.get(type_)


def source_for(obj: Any) -> SearchSource | None:
    for cls in type(obj).__mro__:
        found = _by_model.get(cls)
        if found is not None:
            return found
    return None


# --- writing -----------------------------------------------------------------------------------------


class IndexWriter(Protocol):
    """Writes index rows on a (sync) connection inside the caller's transaction."""

    def upsert(self, connection: Any, rows: Sequence[dict[str, Any]]) -> None: ...

    def delete(self, connection: Any, keys: Sequence[tuple[str, uuid.UUID]]) -> None: ...


_writer: IndexWriter | None = None


def install_writer(writer: IndexWriter | None) -> None:
    global _writer
    _writer = writer


def writer() -> IndexWriter | None:
    return _writer


@event.listens_for(XSession, "after_flush")
def _index_flushed(session: Session, flush_context: Any) -> None:
    if _writer is None or not _by_model or session.info.get("search_index_off"):
        return
    rows: list[dict[str, Any]] = []
    gone: list[tuple[str, uuid.UUID]] = []
    for obj in session.new:
        source = source_for(obj)
        if source is not None:
            rows.append(source.document(obj))
    for obj in session.dirty:
        source = source_for(obj)
        if source is not None and session.is_modified(obj, include_collections=False):
            rows.append(source.document(obj))
    for obj in session.deleted:
        source = source_for(obj)
        if source is not None:
            gone.append((source.type, obj.id))
    if not rows and not gone:
        return
    connection = session.connection()
    if rows:
        _writer.upsert(connection, rows)
    if gone:
        _writer.delete(connection, gone)


async def reindex(session: Any, type_: str, objects: Iterable[Any]) -> int:
    """Write the index rows of ``objects`` (of source ``type_``) in one batch — for bulk paths that
    changed rows with ``update()`` statements, or to rebuild an index. Returns the number of rows."""
    source = _sources[type_]
    rows = [source.document(obj) for obj in objects]
    if rows and _writer is not None:
        await session.run_sync(lambda s: _writer.upsert(s.connection(), rows))
    return len(rows)


async def unindex(session: Any, type_: str, ids: Iterable[uuid.UUID]) -> None:
    """Drop index rows of records removed with a bulk ``delete()`` statement."""
    keys = [(type_, i) for i in ids]
    if keys and _writer is not None:
        await session.run_sync(lambda s: _writer.delete(s.connection(), keys))


# --- query parsing (websearch-like, shared by both engines) ------------------------------------------

_WORD = re.compile(r"[^\W_]+")
_TOKEN = re.compile(r'-?"[^"]*"?|\S+')


def words(text: str) -> list[str]:
    """Case-folded letter/digit runs: the only thing that ever reaches an engine's query parser,
    so no user input can form FTS5 or tsquery syntax."""
    return _WORD.findall(unicodedata.normalize("NFC", text).casefold())


@dataclass(frozen=True)
class Term:
    words: tuple[str, ...]
    negated: bool = False
    exact: bool = False  # a quoted phrase: no prefix matching on its last word

    @property
    def phrase(self) -> bool:
        return len(self.words) > 1


def parse_query(text: str) -> list[list[Term]]:
    """User input → OR-groups of AND-ed terms, like ``websearch_to_tsquery``.

    ``"exact phrase"``, ``-excluded``, ``a or b``; a token with punctuation inside (an e-mail,
    ``e-mail``) becomes a phrase of its parts. Every unquoted word is a prefix (``Brenn`` finds
    ``Brenner``). Groups without a positive term are dropped: "everything except X" is no search.
    """
    groups: list[list[Term]] = [[]]
    count = 0
    for token in _TOKEN.findall(text):
        if token.casefold() == "or":
            if groups[-1]:
                groups.append([])
            continue
        negated = token.startswith("-") and len(token) > 1
        if negated:
            token = token[1:]
        quoted = token.startswith('"')
        parts = tuple(words(token))
        if not parts:
            continue
        group = groups[-1]
        if _digits(parts, negated, quoted) and group and _digits(group[-1].words, group[-1].negated, group[-1].exact):
            # "0151 234 56" is one phone number typed in groups, not three numbers
            group[-1] = Term((group[-1].words[0] + parts[0],))
            continue
        group.append(Term(parts, negated=negated, exact=quoted))
        count += 1
        if count >= MAX_TERMS:
            break
    return [g for g in groups if any(not t.negated for t in g)]


def _digits(parts: tuple[str, ...], negated: bool, exact: bool) -> bool:
    return len(parts) == 1 and parts[0].isdigit() and not negated and not exact


def date_buckets(now: dt.datetime | None = None) -> dict[str, dt.datetime]:
    """Lower bounds of the ``updated`` facet: today (UTC), last 7 days, last 30 days."""
    now = now or utcnow()
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return {"today": today, "last_7_days": now - dt.timedelta(days=7), "last_30_days": now - dt.timedelta(days=30)}
