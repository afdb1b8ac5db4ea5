"""Writing the search index and querying it, on PostgreSQL (tsvector + GIN) and SQLite (FTS5).

Writing: ``IndexWriter`` upserts a whole flush in one batched statement (``insertmanyvalues``),
which keeps a 100,000-row CSV import fast. On PostgreSQL a second batched statement writes the
tsvectors into ``search_vectors`` (see ``VECTORS`` for why a side table), built in Python by
``lexemes``: every word as itself and as its German stem ("Haus" finds "Häuser"), title weighted over
body, plus marker lexemes for type and owner — each lexeme qualified with the document's tenant and
shard, so that a prefix query only ever walks its own tenant's lexemes and a broad word in a big
tenant stops after a shard or two. Queries AND the markers of what the caller may see into the
tsquery, so the GIN index itself narrows to the caller's types and owners. The session's tenant
filter, the scope filters and RLS still apply on top (the lexeme prefixes and markers are an index
aid, not the wall). On SQLite, triggers keep the FTS5 table in step with ``search_documents``.

Reading: the user's text is parsed once (``core.search.parse_query``) and rebuilt from letter and
digit runs only, so no input can reach the engines' query syntax; ranking is ``ts_rank`` /
``bm25``. On both engines facets count at most ``MATCH_CAP`` matches and hits rank at most
``RANK_CAP`` candidates, so a one-letter query stays cheap in a million-row tenant (the response
says when counts were capped); hits are ranked on narrow rows and only the page reads titles and
bodies.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import uuid
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy import and_, case, delete, func, literal_column, or_, select
from sqlalchemy import text as sql
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from xynap.core import search as registry
from xynap.core.search import SearchSource, Term, date_buckets, parse_query
from xynap.core.security.permissions import Access, Principal
from xynap.shared.search import lexemes
from xynap.shared.search.models import SearchDocument

log = logging.getLogger("xynap.search")

# Bounds of a broad query (both engines): facets count at most MATCH_CAP visible matches (the response
# then says total_exact=false: the counts are lower bounds, "1,000+"), hits rank the first RANK_CAP
# visible candidates. Measured on 50,000 contacts: counting all 6,700 matches of "Weber" cost 33 ms
# on PostgreSQL, scoring and joining all 14,700 of "Logistik" ~75 ms on SQLite.
MATCH_CAP = 1_000
RANK_CAP = 2_000  # beyond it a query is too broad to rank well anyway
# No parallel workers either: the planner parallelised the 16 shard probes (Gather over a Parallel Append),
# and starting and feeding the workers tripled a rare word's 8 ms.
_PLANNER = {"enable_seqscan": "off", "enable_hashjoin": "off", "enable_mergejoin": "off",
            "max_parallel_workers_per_gather": "0"}
# Transaction-local in a read-write session; session-wide (and reset in ``finally``) in a read-only one,
# which runs in autocommit on PostgreSQL, where a transaction-local setting would end with its statement.
PLAN_PINNED = "SELECT " + ", ".join(f"set_config('{k}', '{v}', :local)" for k, v in _PLANNER.items())
PLAN_DEFAULT = ("SELECT set_config(name, reset_val, :local) FROM pg_settings WHERE name IN ("
                + ", ".join(f"'{k}'" for k in _PLANNER) + ")")
BUCKETS = ("today", "last_7_days", "last_30_days", "older")
DOC = SearchDocument.__table__

# --- writing -----------------------------------------------------------------------------------------

# PostgreSQL keeps the tsvector in a side table without tenant_id and without row-level security:
# PostgreSQL cannot use an index for a non-leakproof operator such as @@ on a table with RLS
# policies (the policy's quals must run first), so a GIN index on search_documents itself would
# never be used. Every read joins search_documents, which the session filter and RLS guard.
VECTORS = sa.Table(
    "search_vectors", sa.MetaData(),
    sa.Column("doc_id", sa.BigInteger, primary_key=True),
    sa.Column("tsv", TSVECTOR, nullable=False),
)
_UPDATED = ("owner_id", "title", "subtitle", "body", "updated_at")


def markers_of(row: dict[str, Any]) -> list[str]:
    """Marker lexemes of a document's type and owner (never produced by ``words``: '#'); the index
    qualifies them with the tenant and shard like every lexeme (``lexemes.tsvector_text``).

    Queries AND them into the tsquery, so the GIN index itself narrows to the types and owners the
    caller may see; the SQL filters on search_documents stay the authority.
    """
    out = [f"#y{row['type']}"]
    if row.get("owner_id") is not None:
        out.append(f"#o{row['owner_id'].hex}")
    return out


def vector_text(row: dict[str, Any]) -> str:
    """The ``tsvector`` text of one index row (``search_documents`` values)."""
    return lexemes.tsvector_text(row["tenant_id"], row["entity_id"], row["title"], row["body"], markers_of(row))


def marker_query(allowed: list[tuple[SearchSource, Access]], types: list[str] | None = None,
                 owner_id: uuid.UUID | None = None) -> str | None:
    """The tsquery text of the markers a visible document must carry, with ``lexemes.PREFIX`` where each
    shard's prefix goes (``None``: nothing is visible; ``""``: no marker narrows anything)."""
    p = lexemes.PREFIX
    visible = []
    for source, access in allowed:
        if types and source.type not in types:
            continue
        ids = access.owner_ids()
        type_marker = f"'{p}#y{source.type}'"
        if ids is None:
            visible.append(type_marker)
        elif ids and source.owner_attr:
            owners = " | ".join(f"'{p}#o{i.hex}'" for i in sorted(ids))
            visible.append(f"( {type_marker} & ( {owners} ) )")
    if not visible:
        return None
    everything = not types and len(visible) == len(registry.sources()) and all(
        access.owner_ids() is None for _, access in allowed)
    # A marker every document carries only costs index work; leave it out when all types are visible.
    parts = [] if everything else [f"( {' | '.join(visible)} )"]
    parts += [f"'{p}#o{owner_id.hex}'"] if owner_id is not None else []
    return " & ".join(parts)


class IndexWriter:
    """Batched upserts and deletes of index rows (installed into ``xynap.core.search``)."""

    def upsert(self, connection: Any, rows: Sequence[dict[str, Any]]) -> None:
        # one row per record even if a flush touched it twice (the last version wins)
        unique = list({(r["type"], r["entity_id"]): r for r in rows}.values())
        if connection.dialect.name == "postgresql":
            stmt = pg_insert(DOC)
            stmt = stmt.on_conflict_do_update(index_elements=["type", "entity_id"],
                                              set_={c: stmt.excluded[c] for c in _UPDATED})
            # Each returned id is matched to its row by (type, entity_id), not by position: an upsert that
            # updates an existing document returns that document's old id, and ordering the answers by
            # parameter (SQLAlchemy sorts by the key) then paired rows with the wrong documents.
            returned = connection.execute(stmt.returning(DOC.c.id, DOC.c.type, DOC.c.entity_id), unique).all()
            doc_ids = {(type_, entity_id): doc_id for doc_id, type_, entity_id in returned}
            vectors = [{"doc_id": doc_ids[(row["type"], row["entity_id"])], "w_tsv": vector_text(row)}
                       for row in unique]
            vstmt = pg_insert(VECTORS).values(tsv=sa.cast(sa.bindparam("w_tsv", type_=sa.Text), TSVECTOR))
            connection.execute(vstmt.on_conflict_do_update(index_elements=["doc_id"], set_={"tsv": vstmt.excluded.tsv}),
                               vectors)
            return
        stmt = sqlite_insert(DOC)
        stmt = stmt.on_conflict_do_update(index_elements=["type", "entity_id"],
                                          set_={c: stmt.excluded[c] for c in _UPDATED})
        connection.execute(stmt, unique)

    def delete(self, connection: Any, keys: Sequence[tuple[str, uuid.UUID]]) -> None:
        by_type: dict[str, list[uuid.UUID]] = defaultdict(list)
        for type_, entity_id in keys:
            by_type[type_].append(entity_id)
        for type_, ids in by_type.items():
            for start in range(0, len(ids), 500):
                connection.execute(delete(DOC).where(DOC.c.type == type_, DOC.c.entity_id.in_(ids[start:start + 500])))


async def rebuild(session: AsyncSession, source: SearchSource, batch: int = 1000) -> int:
    """Rebuild the index of one type for the session's tenant: drop its rows, write them again."""
    await session.execute(delete(SearchDocument).where(SearchDocument.type == source.type))
    count = 0
    model = source.model
    last: Any = None
    while True:  # keyset over the primary key, so memory stays flat on big tenants
        stmt = select(model).order_by(model.id).limit(batch)
        if last is not None:
            stmt = stmt.where(model.id > last)
        objects = list(await session.scalars(stmt))
        if not objects:
            break
        count += await registry.reindex(session, source.type, objects)
        last = objects[-1].id
        session.expunge_all()
    return count


# --- querying ----------------------------------------------------------------------------------------


@dataclass
class Hit:
    type: str
    id: uuid.UUID
    title: str
    subtitle: str
    snippet: str
    url: str
    owner_id: uuid.UUID | None
    updated_at: dt.datetime
    score: float


@dataclass
class Result:
    hits: list[Hit]
    total: int | None
    total_exact: bool
    facets: dict[str, list[dict[str, Any]]]
    sources: list[SearchSource]


def searchable_sources(principal: Principal, module_open: Callable[[str], bool] | None = None,
                       ) -> list[tuple[SearchSource, Access]]:
    """The types the caller may search, each with its read scope.

    ``module_open(slug)`` says whether the tenant may use the module that declared a type (booked
    module, or any shared component); ``None`` skips that check.
    """
    out = []
    for source in registry.sources():
        module = registry.module_of(source.type)
        if module_open is not None and module is not None and not module_open(module):
            continue
        scope = principal.scope_for(source.permission)
        if scope is None:
            continue
        out.append((source, Access(principal, source.permission, scope)))
    return out


def _visible(allowed: list[tuple[SearchSource, Access]]) -> Any:
    """Types the caller reads entirely, OR-ed with (type, owner in scope) for own/team scopes."""
    everything = [s.type for s, a in allowed if a.owner_ids() is None]
    clauses = [SearchDocument.type.in_(everything)] if everything else []
    for source, access in allowed:
        ids = access.owner_ids()
        if ids is not None and source.owner_attr:
            clauses.append(and_(SearchDocument.type == source.type, SearchDocument.owner_id.in_(ids)))
    return or_(*clauses) if clauses else sa.false()


# PostgreSQL ------------------------------------------------------------------------------------------


def _shards_sql(ranked: bool) -> str:
    branch = ("SELECT doc_id, {score} AS score FROM search_vectors WHERE tsv @@ CAST(:m{k} AS tsquery)")
    score = "ts_rank(tsv, CAST(:r{k} AS tsquery))" if ranked else "CAST(NULL AS float8)"
    return " UNION ALL ".join(branch.format(score=score.format(k=k), k=k) for k in range(lexemes.SHARDS))


# Written as SQL text: built as 16 SQLAlchemy selects, the union cost a quarter of a search request's
# Python time (column collections of every branch), more than the database work for a rare word.
_SHARDS = {ranked: sa.text(_shards_sql(ranked)).columns(sa.column("doc_id", sa.BigInteger),
                                                        sa.column("score", sa.Float)) for ranked in (True, False)}


def pg_candidates(tenant_id: uuid.UUID, groups: list[list[Term]], markers: str, cap: int, ranked: bool) -> Any:
    """At most ``cap`` matching documents (doc_id, score) from the GIN index alone, asked shard by shard
    (see ``lexemes``): a ``UNION ALL`` under the cap, which PostgreSQL runs lazily, so a broad word stops
    after the first shard or two and a rare one asks all of them."""
    values: dict[str, str] = {}
    for k, (match, rank) in enumerate(lexemes.shard_queries(tenant_id, groups, markers)):
        values[f"m{k}"] = match
        if ranked:
            values[f"r{k}"] = rank
    shards = _SHARDS[ranked].bindparams(**values).subquery("shards")
    return select(shards.c.doc_id, shards.c.score).limit(cap).cte("candidates").prefix_with("MATERIALIZED")


# SQLite ----------------------------------------------------------------------------------------------

_FTS = sa.table("search_fts", sa.column("rowid"))
_FTS_REF = literal_column("search_fts")


def fts5_query(groups: list[list[Term]]) -> str:
    """The FTS5 MATCH string: only quoted letter/digit runs, so it cannot be a syntax error."""

    def phrase(term: Term) -> str:
        return '"' + " ".join(term.words) + '"' + ("" if term.exact or term.negated else "*")

    out = []
    for group in groups:
        expr = "(" + " AND ".join(phrase(t) for t in group if not t.negated) + ")"
        for term in group:
            if term.negated:
                expr = f"({expr} NOT {phrase(term)})"
        out.append(expr)
    return " OR ".join(out)


# both ------------------------------------------------------------------------------------------------


@dataclass
class Query:
    """The engine-specific parts of one search: where the matches come from (joined to the documents
    by primary key) and their score (higher is better)."""

    matches: Any
    key: Any
    where: list[Any]
    score: Any

    def base(self, *columns: Any) -> Any:
        return (select(*columns).select_from(self.matches).join(SearchDocument, SearchDocument.id == self.key)
                .where(*self.where))


def build_query(dialect: str, groups: list[list[Term]], markers: str | None, cap: int = MATCH_CAP,
                ranked: bool = True, tenant_id: uuid.UUID | None = None) -> Query:
    """``ranked=False``: the matches without a score (facets), which spares reading the tsvectors /
    computing bm25 for every match. ``markers`` and ``tenant_id``: PostgreSQL only (``marker_query``)."""
    if dialect == "postgresql":
        if tenant_id is None:  # every lexeme is a tenant's: outside a tenant nothing matches
            raise ValueError("a PostgreSQL search needs the session's tenant")
        candidates = pg_candidates(tenant_id, groups, markers or "", cap, ranked)
        return Query(candidates, candidates.c.doc_id, [], candidates.c.score if ranked else sa.null())
    # SQLite: the FTS5 matches are materialised first and joined to the documents by primary key;
    # otherwise the planner may walk the tenant's documents and probe FTS5 once per row.
    columns = [_FTS.c.rowid.label("id")]
    if ranked:
        columns.append((-func.bm25(_FTS_REF, 10.0, 1.0, type_=sa.Float)).label("score"))
    matches = (
        select(*columns).select_from(_FTS).where(_fts_match(groups))
        .cte("fts_matches").prefix_with("MATERIALIZED")
    )
    return Query(matches, matches.c.id, [], matches.c.score if ranked else sa.null())


def _fts_match(groups: list[list[Term]]) -> Any:
    return _FTS_REF.op("MATCH")(sa.bindparam(None, fts5_query(groups), type_=sa.Text))


def sqlite_ranked_query(groups: list[list[Term]], filters: list[Any], cap: int = RANK_CAP) -> Query:
    """SQLite hits: bm25 only for the first ``cap`` visible matches (in index order), as on PostgreSQL.

    FTS5 knows no tenant, so the cap cannot go into the MATCH: the unscored matches (cheap) are joined
    to the documents and filtered, the first ``cap`` kept, and only FTS5 rows up to the last of them
    (a rowid range FTS5 seeks itself) are scored. Filters are applied again on the scored rows."""
    unscored = build_query("sqlite", groups, None, ranked=False)
    # no ORDER BY: the materialised matches are scanned in FTS5's rowid order, so the LIMIT stops early
    # (any order would still be correct: everything visible up to the largest kept rowid is scored)
    firsts = (unscored.base(SearchDocument.id.label("id")).where(*filters)
              .limit(cap).cte("firsts").prefix_with("MATERIALIZED"))
    last = select(func.max(firsts.c.id)).scalar_subquery()
    scored = (
        select(_FTS.c.rowid.label("id"), (-func.bm25(_FTS_REF, 10.0, 1.0, type_=sa.Float)).label("score"))
        .select_from(_FTS).where(_fts_match(groups), _FTS.c.rowid <= last)
        .cte("fts_scored").prefix_with("MATERIALIZED")
    )
    return Query(scored, scored.c.id, [], scored.c.score)


def _bucket_expr(bounds: dict[str, dt.datetime]) -> Any:
    col = SearchDocument.updated_at
    return case((col >= bounds["today"], 0), (col >= bounds["last_7_days"], 1),
                (col >= bounds["last_30_days"], 2), else_=3)


def _bucket_ok(bucket: int, wanted: str | None) -> bool:
    return wanted is None or {"today": bucket == 0, "last_7_days": bucket <= 1, "last_30_days": bucket <= 2,
                              "older": bucket == 3}[wanted]


def _updated_filter(wanted: str | None, bounds: dict[str, dt.datetime]) -> list[Any]:
    col = SearchDocument.updated_at
    if wanted is None:
        return []
    if wanted == "older":
        return [col < bounds["last_30_days"]]
    return [col >= bounds[wanted]]


def snippet(text: str, groups: list[list[Term]], width: int = 160) -> str:
    """A window of ``text`` around the first word a positive query term starts (Python, both engines)."""
    if not text:
        return ""
    starts = []
    for group in groups:
        for term in group:
            if term.negated:
                continue
            found = re.search(r"(?<!\w)" + re.escape(term.words[0]), text, re.IGNORECASE)
            if found:
                starts.append(found.start())
    begin = max(0, min(starts) - width // 4) if starts else 0
    if begin:  # start at a word boundary
        space = text.find(" ", begin)
        begin = space + 1 if 0 <= space < begin + 20 else begin
    piece = text[begin:begin + width]
    return ("…" if begin else "") + piece + ("…" if begin + width < len(text) else "")


async def search(db: AsyncSession, principal: Principal, text: str, *, module_open: Callable[[str], bool] | None,
                 types: list[str] | None = None, owner_id: uuid.UUID | None = None, updated: str | None = None,
                 limit: int = 20, offset: int = 0, per_type: int | None = None, with_facets: bool = True) -> Result:
    allowed = searchable_sources(principal, module_open)
    groups = parse_query(text)
    facets: dict[str, list[dict[str, Any]]] = {"type": [], "owner": [], "updated": []}
    if not groups or not allowed:
        return Result([], 0, True, facets, [s for s, _ in allowed])
    dialect = db.bind.dialect.name
    tenant_id = db.sync_session.info.get("tenant_id")
    if dialect == "postgresql" and tenant_id is None:  # the index is per tenant (see ``lexemes``)
        return Result([], 0, True, facets, [s for s, _ in allowed])
    facet_markers = marker_query(allowed)
    visible = _visible(allowed)
    bounds = date_buckets()
    bucket = _bucket_expr(bounds)

    if dialect == "postgresql":
        # The right plan is always the same: candidates from the GIN index (materialised, at most
        # MATCH_CAP), then one primary-key probe per candidate into search_documents. The planner
        # cannot estimate marker selectivity and otherwise picks a sequential scan "until the LIMIT is
        # reached", or walks a big tenant's documents for a hash join — so pin it for these statements.
        await db.execute(sql(PLAN_PINNED), {"local": not db.sync_session.info.get("read_only")})
    try:
        filters = [visible, *_updated_filter(updated, bounds)]
        if types:
            filters.append(SearchDocument.type.in_(types))
        if owner_id is not None:
            filters.append(SearchDocument.owner_id == owner_id)
        hit_markers = marker_query(allowed, types, owner_id) if types or owner_id else facet_markers
        if hit_markers is None:  # e.g. type=task for a user who cannot read tasks
            filters.append(sa.false())

        counted: Sequence[Any] = []
        if dialect == "postgresql" and with_facets and len(filters) == 1:
            # no filter: facets and hits share their candidates — one GIN scan, one probe per candidate
            counted, rows = await _pg_facets_and_hits(db, tenant_id, groups, facet_markers, visible, bucket, limit,
                                                      offset, per_type)
        else:
            # facets: one grouped count over (at most MATCH_CAP) visible matches, folded in Python so that
            # each facet ignores its own filter but honours the others (multi-select facets)
            if with_facets:  # the palette does without them: half the work
                query = build_query(dialect, groups, facet_markers, MATCH_CAP, ranked=False, tenant_id=tenant_id)
                matches = query.base(SearchDocument.type, SearchDocument.owner_id, bucket.label("bucket")).where(
                    visible).limit(MATCH_CAP).subquery()
                counted = (await db.execute(
                    select(matches.c.type, matches.c.owner_id, matches.c.bucket, func.count().label("n"))
                    .group_by(matches.c.type, matches.c.owner_id, matches.c.bucket))).all()

            if dialect == "postgresql":
                query = build_query(dialect, groups, hit_markers, RANK_CAP, tenant_id=tenant_id)
            else:
                query = sqlite_ranked_query(groups, filters, RANK_CAP)
            # rank narrow rows (id, type, date, score) and read titles and bodies only for the page
            scored = query.base(SearchDocument.type, SearchDocument.updated_at, SearchDocument.id.label("doc"),
                                query.score.label("score")).where(*filters).subquery()
            page = _page(scored, limit, offset, per_type)
            stmt = (select(SearchDocument.type, SearchDocument.entity_id, SearchDocument.title, SearchDocument.subtitle,
                           SearchDocument.body, SearchDocument.owner_id, SearchDocument.updated_at, page.c.doc,
                           page.c.score)
                    .select_from(page).join(SearchDocument, SearchDocument.id == page.c.doc).order_by(page.c.pos))
            rows = (await db.execute(stmt)).all()
    except OperationalError:  # SQLite only: an FTS5 corner the sanitiser did not foresee is "no match"
        log.warning("search query failed for %r", text, exc_info=True)
        return Result([], 0, True, facets, [s for s, _ in allowed])
    finally:
        if dialect == "postgresql":
            await db.execute(sql(PLAN_DEFAULT), {"local": not db.sync_session.info.get("read_only")})

    wanted_types = set(types) if types else None
    by_type: dict[str, int] = defaultdict(int)
    by_owner: dict[uuid.UUID | None, int] = defaultdict(int)
    by_bucket = [0, 0, 0, 0]
    total = 0
    capped = sum(r.n for r in counted) >= MATCH_CAP
    for row in counted:
        type_ok = wanted_types is None or row.type in wanted_types
        owner_ok = owner_id is None or row.owner_id == owner_id
        bucket_ok = _bucket_ok(row.bucket, updated)
        if owner_ok and bucket_ok:
            by_type[row.type] += row.n
        if type_ok and bucket_ok:
            by_owner[row.owner_id] += row.n
        if type_ok and owner_ok:
            by_bucket[row.bucket] += row.n
        if type_ok and owner_ok and bucket_ok:
            total += row.n
    facets["type"] = [{"value": t, "count": n} for t, n in sorted(by_type.items(), key=lambda kv: (-kv[1], kv[0]))]
    names = await _owner_names(db, [o for o in by_owner if o is not None])
    facets["owner"] = [{"value": str(o) if o else None, "count": n, "label": names.get(o) if o else None}
                       for o, n in sorted(by_owner.items(), key=lambda kv: (-kv[1], str(kv[0])))]
    cumulative = [by_bucket[0], sum(by_bucket[:2]), sum(by_bucket[:3]), by_bucket[3]]
    facets["updated"] = [{"value": b, "count": n} for b, n in zip(BUCKETS, cumulative, strict=True)]

    hits = []
    for row in rows:
        source = registry.get_source(row.type)
        url = source.url.format(id=row.entity_id) if source else ""
        body = snippet(row.body, groups) or row.subtitle
        hits.append(Hit(type=row.type, id=row.entity_id, title=row.title, subtitle=row.subtitle, snippet=body,
                        url=url, owner_id=row.owner_id, updated_at=row.updated_at, score=round(float(row.score), 6)))
    if not with_facets:
        return Result(hits, None, False, facets, [s for s, _ in allowed])
    return Result(hits, total, not capped, facets, [s for s, _ in allowed])


def _page(scored: Any, limit: int, offset: int, per_type: int | None) -> Any:
    """The page of ranked narrow rows (type, updated_at, doc, score), with ``pos``, its order."""
    order = (scored.c.score.desc(), scored.c.updated_at.desc(), scored.c.doc)
    if per_type:
        ranked = select(scored, func.row_number().over(partition_by=scored.c.type, order_by=order).label("rn")
                        ).subquery()
        page = select(ranked.c.type, ranked.c.updated_at, ranked.c.doc, ranked.c.score).where(
            ranked.c.rn <= per_type)
        page = page.add_columns(func.row_number().over(order_by=(ranked.c.type, ranked.c.rn)).label("pos")).order_by(
            ranked.c.type, ranked.c.rn)
    else:
        page = select(scored, func.row_number().over(order_by=order).label("pos")).order_by(*order)
    return page.limit(limit).offset(offset).subquery()


async def _pg_facets_and_hits(db: AsyncSession, tenant_id: uuid.UUID, groups: list[list[Term]], markers: str | None,
                              visible: Any, bucket: Any, limit: int, offset: int, per_type: int | None,
                              ) -> tuple[Sequence[Any], list[Any]]:
    """Facet counts and the page of hits from one set of candidates (PostgreSQL, no filters).

    The candidates (the larger of the two caps, from the GIN index) are probed once into
    search_documents and materialised narrow; the facets count the first MATCH_CAP of them, the hits
    rank the first RANK_CAP. For a
    broad word the GIN bitmap of all its matches is the biggest cost and now built once, not twice.
    Titles and bodies are read afterwards for the page only."""
    query = build_query("postgresql", groups, markers, max(RANK_CAP, MATCH_CAP), tenant_id=tenant_id)
    matched = (query.base(SearchDocument.type, SearchDocument.owner_id, SearchDocument.updated_at,
                          SearchDocument.id.label("doc"), bucket.label("bucket"), query.score.label("score"))
               .where(visible).cte("visible_matches").prefix_with("MATERIALIZED"))
    first = select(matched.c.type, matched.c.owner_id, matched.c.bucket).limit(MATCH_CAP).subquery()
    none = sa.null()
    facet_rows = select(sa.literal("f").label("kind"), first.c.type, first.c.owner_id, first.c.bucket,
                        func.count().label("n"), sa.cast(none, sa.BigInteger).label("doc"),
                        sa.cast(none, sa.Float).label("score"), sa.cast(none, sa.BigInteger).label("pos")
                        ).group_by(first.c.type, first.c.owner_id, first.c.bucket)
    scored = select(matched.c.type, matched.c.updated_at, matched.c.doc, matched.c.score).limit(RANK_CAP).subquery()
    page = _page(scored, limit, offset, per_type)
    hit_rows = select(sa.literal("h"), page.c.type, sa.cast(none, sa.Uuid), sa.cast(none, sa.Integer),
                      sa.cast(none, sa.BigInteger), page.c.doc, page.c.score, page.c.pos)
    result = (await db.execute(sa.union_all(facet_rows, hit_rows))).all()
    counted = [r for r in result if r.kind == "f"]
    ranked = sorted((r for r in result if r.kind == "h"), key=lambda r: r.pos)
    if not ranked:
        return counted, []
    texts = {r.id: r for r in (await db.execute(select(
        SearchDocument.id, SearchDocument.type, SearchDocument.entity_id, SearchDocument.title,
        SearchDocument.subtitle, SearchDocument.body, SearchDocument.owner_id, SearchDocument.updated_at)
        .where(SearchDocument.id.in_([r.doc for r in ranked])))).all()}
    return counted, [_HitRow(**texts[r.doc]._asdict(), doc=r.doc, score=r.score) for r in ranked if r.doc in texts]


@dataclass
class _HitRow:
    id: int
    type: str
    entity_id: uuid.UUID
    title: str
    subtitle: str
    body: str
    owner_id: uuid.UUID | None
    updated_at: dt.datetime
    doc: int
    score: float


async def _owner_names(db: AsyncSession, ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    if not ids:
        return {}
    from xynap.platform.users.models import User

    return {uid: name for uid, name in (await db.execute(select(User.id, User.name).where(User.id.in_(ids)))).all()}
