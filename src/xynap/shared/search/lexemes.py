"""The PostgreSQL index format: tsvectors and tsqueries of *qualified* lexemes, built in Python.

Every lexeme of a document carries a prefix of its tenant and its shard (``<tenant tag><shard>``,
13 characters): ``3f0c9a51be72` + ``4`` + ``logistik``. Why not PostgreSQL's own lexemes:

- A prefix query (``logist:*``) is a *partial match* in GIN, and GIN answers it by collecting every
  item of every matching lexeme into one bitmap before anything else narrows it — a tenant marker
  AND-ed into the query came too late. With one shared vocabulary, a company of 1,000 contacts paid
  58 ms for "Logistik" because another company had 386,000 matches (the company itself 158 ms).
  Qualified lexemes make every partial match local to one tenant and one shard.
- Shards bound the work of a broad word in a big tenant: the query asks shard 0 first, then shard 1
  and so on (``UNION ALL`` under the candidate cap, which PostgreSQL runs lazily), so "Logistik" in a
  million documents stops after about 1/16 of its matches (11 ms), while a rare word asks all 16
  shards of its tenant (16 small index probes, 1-2 ms).

Both sides of the match are built here, so they always agree: each word (``core.search.words``:
case-folded letter/digit runs) is indexed as itself (exact words, names: the ``simple``
configuration's job before) and as its Snowball German stem (``Häuser`` → ``haus``, the ``german``
configuration's), at the same position, title weighted A and body C, for ``ts_rank`` and phrases
(``<->``). Marker lexemes (``#y<type>``, ``#o<owner>``) let the index narrow to the types and owners a
caller may see; the SQL filters on ``search_documents`` and row-level security stay the authority.
"""

from __future__ import annotations

import hashlib
import threading
import uuid
from collections.abc import Iterable, Sequence
from functools import lru_cache

import Stemmer

from xynap.core.search import Term, words

SHARDS = 16  # a broad word costs ~1/SHARDS of its matches; a rare one SHARDS small probes
MAX_POSITION = 16383  # PostgreSQL's largest lexeme position (larger ones are stored as this)
MAX_POSITIONS = 256  # PostgreSQL keeps at most 256 positions per lexeme
PREFIX = "{P}"  # placeholder for a shard's prefix in marker query texts (never produced by ``words``)

_stemmers = threading.local()  # a Stemmer object is not thread-safe; imports build rows in a worker thread


def _stemmer() -> Stemmer.Stemmer:
    stemmer = getattr(_stemmers, "german", None)
    if stemmer is None:
        stemmer = _stemmers.german = Stemmer.Stemmer("german")
    return stemmer


@lru_cache(maxsize=131072)  # words repeat a lot (names, cities); the cache is thread-safe
def stem(word: str) -> str:
    """The German stem of a case-folded word; words with digits stay as they are (like PostgreSQL's
    ``german`` configuration, which leaves numbers and number-words to ``simple``)."""
    if not word.isalpha():
        return word
    return _stemmer().stemWord(word)


@lru_cache(maxsize=4096)
def tenant_tag(tenant_id: uuid.UUID) -> str:
    """12 hex characters naming the tenant in its lexemes (a hash: ids made in the same millisecond
    share their leading digits). A collision would only share index work, never results."""
    return hashlib.blake2b(tenant_id.bytes, digest_size=6).hexdigest()


def shard_of(entity_id: uuid.UUID) -> int:
    return entity_id.int % SHARDS


def prefix(tenant_id: uuid.UUID, shard: int) -> str:
    return f"{tenant_tag(tenant_id)}{shard:x}"


def _quoted(lexeme: str) -> str:
    return "'" + lexeme.replace("\\", "\\\\").replace("'", "''") + "'"


def tsvector_text(tenant_id: uuid.UUID, entity_id: uuid.UUID, title: str, body: str,
                  markers: Iterable[str]) -> str:
    """The ``tsvector`` input text of one document (cast with ``::tsvector``)."""
    head = prefix(tenant_id, shard_of(entity_id))
    positions: dict[str, list[str]] = {}
    position = 0
    for text, weight in ((title, "A"), (body, "C")):
        for word in words(text):
            position = min(position + 1, MAX_POSITION)
            entry = f"{position}{weight}"
            for lexeme in {word, stem(word)}:
                held = positions.setdefault(lexeme, [])
                if len(held) < MAX_POSITIONS:
                    held.append(entry)
    parts = [f"{_quoted(head + lexeme)}:{','.join(held)}" for lexeme, held in positions.items()]
    parts += [_quoted(head + marker) for marker in markers]
    return " ".join(parts)


def _word_query(word: str, head: str, prefixed: bool) -> str:
    star = ":*" if prefixed else ""
    forms = dict.fromkeys((word, stem(word)))
    alternatives = " | ".join(f"{_quoted(head + form)}{star}" for form in forms)
    return f"( {alternatives} )" if len(forms) > 1 else alternatives


def _term_query(term: Term, head: str) -> str:
    prefixed = not term.exact and not term.negated
    last = len(term.words) - 1
    phrase = " <-> ".join(_word_query(w, head, prefixed and i == last) for i, w in enumerate(term.words))
    return f"!( {phrase} )" if term.negated else f"( {phrase} )"


def words_query(groups: Sequence[Sequence[Term]], head: str) -> str:
    """The tsquery text of the parsed user input within one shard: OR of groups, each the AND of its
    terms; a word matches itself or its stem, an unquoted last word as a prefix."""
    return " | ".join("( " + " & ".join(_term_query(t, head) for t in group) + " )" for group in groups)


def shard_queries(tenant_id: uuid.UUID, groups: Sequence[Sequence[Term]], markers: str
                  ) -> list[tuple[str, str]]:
    """Per shard (in the order to ask them): (match query, rank query). The match query ANDs the
    marker text (``PREFIX`` placeholders, see ``service.marker_query``) into the words; the rank
    query is the words alone."""
    # built once with the placeholder, then stamped per shard (words hold letters and digits only)
    ranked = words_query(groups, PREFIX)
    match = f"( {ranked} ) & {markers}" if markers else ranked
    heads = [prefix(tenant_id, shard) for shard in range(SHARDS)]
    return [(match.replace(PREFIX, head), ranked.replace(PREFIX, head)) for head in heads]
