"""The PostgreSQL index format (``xynap.shared.search.lexemes``): every lexeme is qualified with its
tenant and shard, documents and queries are built by the same code, and PostgreSQL reads what is
built (the tsvector / tsquery texts are cast by the server in the API tests of test_search*)."""

from __future__ import annotations

import re
import uuid

from xynap.core.search import parse_query
from xynap.shared.search import lexemes
from xynap.shared.search.service import marker_query, vector_text

TENANT_A = uuid.UUID("0190f000-0000-7000-8000-00000000000a")
TENANT_B = uuid.UUID("0190f000-0000-7000-8000-00000000000b")
LEXEME = re.compile(r"'([^']*)'")


def lexemes_of(text: str) -> list[str]:
    return LEXEME.findall(text)


def test_every_lexeme_carries_its_tenant_and_shard():
    entity = uuid.uuid4()
    owner = uuid.uuid4()
    text = vector_text({"tenant_id": TENANT_A, "entity_id": entity, "type": "contact", "owner_id": owner,
                        "title": "Müller Häuser", "body": "Logistik in Köln"})
    head = lexemes.prefix(TENANT_A, lexemes.shard_of(entity))
    found = lexemes_of(text)
    assert found and all(lexeme.startswith(head) for lexeme in found)
    words = {lexeme[len(head):] for lexeme in found}
    # each word as itself and as its German stem; the markers of type and owner
    assert {"müller", "mull", "häuser", "haus", "logistik", "logist", "köln", "koln"} <= words
    assert {"#ycontact", f"#o{owner.hex}"} <= words
    assert lexemes.tenant_tag(TENANT_A) != lexemes.tenant_tag(TENANT_B)


def test_positions_and_weights_title_before_body():
    text = lexemes.tsvector_text(TENANT_A, uuid.UUID(int=3), "Anna Weber", "Weber Logistik", [])
    head = lexemes.prefix(TENANT_A, 3)
    entries = dict(item.split(":", 1) for item in text.replace("'", "").split(" "))
    assert entries[head + "anna"] == "1A"
    assert entries[head + "weber"] == "2A,3C"  # title A, body C, positions counted across both
    assert entries[head + "web"] == "2A,3C"  # the stem at the same positions (phrases keep working)
    assert entries[head + "logistik"] == "4C"


def test_shard_queries_cover_every_shard_of_the_tenant_only():
    queries = lexemes.shard_queries(TENANT_A, parse_query("Logistik -Köln"), "")
    assert len(queries) == lexemes.SHARDS
    for shard, (match, rank) in enumerate(queries):
        head = lexemes.prefix(TENANT_A, shard)
        assert all(lexeme.startswith(head) for lexeme in lexemes_of(match))
        assert f"'{head}logistik':*" in match and f"'{head}logist':*" in match  # word and stem, as prefixes
        assert f"!( ( '{head}köln' | '{head}koln' ) )" in match  # negated: exact, never a prefix
        assert match == rank  # no markers: the rank query is the match query


def test_phrases_and_markers():
    (match, rank), *_ = lexemes.shard_queries(TENANT_A, parse_query('"Lena Wolf"'), "'{P}#ytask'")
    head = lexemes.prefix(TENANT_A, 0)
    assert f"'{head}lena' <-> '{head}wolf'" in rank and ":*" not in rank  # quoted: exact words, adjacent
    assert match == f"( {rank} ) & '{head}#ytask'"


def test_marker_query_text_is_per_shard():
    class Source:
        type = "contact"
        owner_attr = "owner_id"

    class Own:
        def __init__(self, ids: set[uuid.UUID] | None) -> None:
            self.ids = ids

        def owner_ids(self) -> set[uuid.UUID] | None:
            return self.ids

    me = uuid.uuid4()
    text = marker_query([(Source(), Own({me}))])  # type: ignore[list-item]
    assert text == f"( ( '{{P}}#ycontact' & ( '{{P}}#o{me.hex}' ) ) )"
    assert marker_query([(Source(), Own(set()))]) is None  # type: ignore[list-item]  # nothing visible
