"""Full-text search of the queue: every message of a ticket, its author, notes and tags.

``restrict`` narrows a ticket query to the matches of the search box's text (the language is in
``parse.py``); ``highlight`` marks the matched words in a text the page shows (a Jinja filter:
``{{ text|highlight }}``). The index is ``models/search.py``, kept current by ``index.py``; the
text on both sides is folded by ``normalise.py``.

How a search stays fast at a million tickets (the queue's order is ``last_activity_at DESC, id
DESC LIMIT 50``, and the search combines with every filter, folder and the keyset cursor):

- the match is one condition on ``ticket.id`` added to the queue's own query, so every filter,
  the visibility rule and the cursor apply unchanged;
- a rare word must be driven from the full-text index (its few tickets looked up by primary key
  and sorted); a common word must not be: materialising and sorting 500,000 matches costs
  hundreds of milliseconds. It walks ``ix_ticket_activity`` (or the filter's own index) in the
  queue's order and checks membership until 50 match, which takes about ``50 / share`` steps.
- PostgreSQL: its planner estimates the matches well (GIN statistics) but underprices probing each
  ticket's ``tsv`` on the walk, so for a middling word it walked 20,000 tickets (230 ms).
  :func:`restrict` asks the planner's estimate of each word (``EXPLAIN``, no scan, ~1 ms) and, when
  the rarest has fewer than ``PG_RARE`` matches, drives from that word's GIN matches behind an
  ``OFFSET 0`` fence (the other words checked on those rows only, then a top-N sort); otherwise
  the planner walks ``ix_ticket_activity`` with a semi-join probe of ``ticket_search``.
  Measured on 1,000,000 tickets (same shared machine): 2–10 ms for common words and for a common
  with a rare word, 40–70 ms for a middling word (3,000–5,000 matches), ~20 ms for "common AND
  middling"; three middling words whose every word is too common to drive from but whose
  intersection is thin (~0.7 %) still take 170–210 ms — the walk's probe cost, a known limit.
- SQLite has no statistics for a virtual table, so :func:`restrict` first counts the matches in
  the FTS5 index, stopping at ``DENSE`` (under 10 ms even for a word in every ticket), and picks:
  fewer than ``RARE``: ``ticket.id IN (fts match)`` (driven from the index); up to ``DENSE``:
  ``ticket.id + 0 IN (fts match)`` — the ``+ 0`` keeps SQLite from driving from the list, so it
  builds the list once (proportional to the matches) and walks the queue's order probing it;
  ``DENSE`` or more: a correlated ``EXISTS (... MATCH ... AND rowid = ticket.id)`` per ticket of
  the walk (each probe seeks in the doclists, ~0.05 ms, and at that density 50 rows need a few
  hundred probes) instead of a list of hundreds of thousands of ids — unless a word is matched as
  a prefix: FTS5 then merges the doclists of every term with that prefix at each probe, so the
  list is built once instead (measured at 1,000,000 tickets: 1.6–2.6 s probing, 30–45 ms listing).
  Measured on 1,000,000 tickets (12 words each, Zipf vocabulary; 2-core machine shared with other
  work): medians 1–35 ms for rare, middling and common single words, alone or with a status
  filter; a three-word AND of middling words ~80 ms. SQLite's planner also needs ``ANALYZE``
  statistics on ``ticket`` (``PRAGMA optimize``) so that a rare word with a status filter is driven
  from the index rather than from ``ix_ticket_status_activity``: without them that case took
  70–120 ms.
"""
from __future__ import annotations

from flask import g, has_request_context, request
from markupsafe import Markup, escape
from sqlalchemy import Select, and_, bindparam, column, exists, false, literal_column, select, table, text
from sqlalchemy.sql.expression import ColumnElement

from models import Ticket, ticket_search
from models.search import FTS

from .normalise import is_word_char, tokens, unspaced
from .parse import STATUSES, SearchQuery, Term, parse

# SQLite: how many matches decide the plan (measured at a million tickets, see the docstring).
RARE = 2000
DENSE = 100_000
# PostgreSQL: a search one of whose words has fewer matches than this (the planner's own estimate)
# is driven from that word in the GIN index (the planner underprices probing each ticket's tsvector
# on the walk).
PG_RARE = 8000


def _fts_phrase(term: Term) -> str:
    return '"' + " ".join(term.tokens) + '"' + (" *" if term.prefix else "")


def _ts_phrase(term: Term, weight: str) -> str:
    last = len(term.tokens) - 1
    return " <-> ".join(f"'{t}':{'*' if term.prefix and i == last else ''}{weight}" for i, t in enumerate(term.tokens))


def fts_match(query: SearchQuery) -> str | None:
    """The FTS5 MATCH expression of the words, authors and tags (None: nothing to match)."""
    parts = [f"{{doc}} : {_fts_phrase(t)}" for t in query.terms if not any(map(unspaced, t.tokens))]
    parts += [f"{{author}} : {_fts_phrase(a)}" for a in query.authors]
    parts += [f'{{tags}} : "tagbegin {tag} tagend"' for tag in query.tags]
    return " AND ".join(parts) or None


def ts_parts(query: SearchQuery) -> list[str]:
    """Each word, phrase, author and tag as a PostgreSQL tsquery (for ``to_tsquery('simple', ...)``)."""
    parts = [_ts_phrase(t, "D") for t in query.terms if not any(map(unspaced, t.tokens))]
    parts += [_ts_phrase(a, "A") for a in query.authors]
    parts += [_ts_phrase(Term(("tagbegin", *tag.split(), "tagend")), "B") for tag in query.tags]
    return [f"({p})" for p in parts]


def ts_query(query: SearchQuery) -> str | None:
    """All of them at once."""
    return " & ".join(ts_parts(query)) or None


def _scalar(statement):
    """One value, read through the request's own session (the snapshot the page reads)."""
    from inbox.db import engine, get_session

    if has_request_context():
        return get_session().scalar(statement)
    with engine().connect() as connection:
        return connection.scalar(statement)


def _count_matches(match: str, limit: int) -> int:
    """SQLite: how many tickets match, counting no further than ``limit``."""
    return _scalar(text("SELECT count(*) FROM (SELECT rowid FROM ticket_search_fts WHERE ticket_search_fts MATCH :m "
                        "LIMIT :n)").bindparams(m=match, n=limit))


def _estimate_matches(tsq: str) -> int:
    """PostgreSQL: the planner's estimate of the matches (from the GIN statistics; no scan)."""
    plan = _scalar(text("EXPLAIN (FORMAT JSON) SELECT 1 FROM ticket_search WHERE tsv @@ to_tsquery('simple', :q)")
                   .bindparams(q=tsq))
    if isinstance(plan, str):
        import json
        plan = json.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"])


def _prefixed(query: SearchQuery) -> bool:
    return any(t.prefix for t in (*query.terms, *query.authors))


def _text_condition(query: SearchQuery, dialect: str, matches_count: int = 0,
                    pg_drive: str | None = None) -> ColumnElement | None:
    match, tsq = fts_match(query), ts_query(query)
    conditions = []
    if match:
        fts = table(FTS, column("rowid"))
        matches = literal_column(FTS).op("MATCH")
        in_list = select(fts.c.rowid).where(matches(bindparam("fts_m", match)))
        if matches_count < RARE:        # drive from the index: look the few tickets up and sort them
            sqlite = Ticket.id.in_(in_list)
        elif matches_count < DENSE or _prefixed(query):
            # "+ 0": not indexable, so the queue's order is walked, the list probed. Also for a dense
            # search with a prefix (the last word, "refund" finding "refunds"): FTS5 merges every
            # term that starts with it on each evaluation, and the per-ticket probe below evaluates
            # it once per ticket walked — 1.6–2.6 s at a million tickets, against 30–45 ms for
            # building the list once.
            sqlite = (Ticket.id + 0).in_(in_list)
        else:                           # most tickets match: probe each ticket of the walk in the index
            sqlite = exists(select(fts.c.rowid).where(matches(bindparam("fts_p", match)), fts.c.rowid == Ticket.id))
        pg_matches = select(ticket_search.c.ticket_id).where(
            text("ticket_search.tsv @@ to_tsquery('simple', :ts_q)").bindparams(ts_q=tsq))
        if pg_drive:
            # The rarest part's few rows from the GIN index first (OFFSET 0: a fence the planner
            # keeps), then the whole query checked on those rows only, then sorted (not a walk).
            rare = select(ticket_search.c.ticket_id, literal_column("ticket_search.tsv").label("tsv")).where(
                text("ticket_search.tsv @@ to_tsquery('simple', :ts_r)").bindparams(ts_r=pg_drive)
            ).offset(literal_column("0")).subquery("rare")
            pg_matches = select(rare.c.ticket_id).where(
                text("rare.tsv @@ to_tsquery('simple', :ts_q)").bindparams(ts_q=tsq))
        pg = Ticket.id.in_(pg_matches)
        conditions.append(pg if dialect == "postgresql" else sqlite)
    for term in query.terms:
        if any(map(unspaced, term.tokens)):
            pattern = "%" + " ".join(term.tokens).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            conditions.append(Ticket.id.in_(select(ticket_search.c.ticket_id)
                                            .where(ticket_search.c.doc.like(pattern, escape="\\"))))
    return and_(*conditions) if conditions else None


def restrict(query: Select, q: str, *, me: int | None = None) -> Select:
    """``query`` narrowed to the tickets the search box's ``q`` finds (see ``parse.py``)."""
    parsed = parse(q)
    if parsed.empty:
        return query.where(false()) if q.strip() else query
    if "unassigned" in parsed.flags:
        query = query.where(Ticket.assignee_id.is_(None))
    if "mine" in parsed.flags:
        query = query.where(Ticket.assignee_id == (me or 0))
    if "priority" in parsed.flags:
        query = query.where(Ticket.priority.is_(True))
    statuses = sorted(parsed.flags & STATUSES)
    if statuses:
        query = query.where(Ticket.status.in_(statuses))
    dialect, match = _dialect(), fts_match(parsed)
    counted, drive = 0, None
    if match and dialect == "sqlite":
        counted = _count_matches(match, DENSE)
    elif match:
        estimate, rarest = min((_estimate_matches(part), part) for part in ts_parts(parsed))
        drive = rarest if estimate < PG_RARE else None
    condition = _text_condition(parsed, dialect, counted, drive)
    return query.where(condition) if condition is not None else query


def _dialect() -> str:
    from inbox.db import engine

    return engine().dialect.name


# -- highlighting ---------------------------------------------------------------------------------

def _marked_terms() -> list[Term]:
    if not has_request_context():
        return []
    if "search_marked" not in g:
        q = request.args.get("q") or ""
        g.search_marked = parse(q[:200]).marked() if q.strip() else []
    return g.search_marked


def _runs(text_: str):
    """(start, end) of each run of word characters, and each symbol (emoji) on its own."""
    start = None
    for i, char in enumerate(text_):
        if is_word_char(char):
            if start is None:
                start = i
            continue
        if start is not None:
            yield start, i
            start = None
        if tokens(char):
            yield i, i + 1
    if start is not None:
        yield start, len(text_)


def mark(text_: str, terms: list[Term]) -> Markup:
    """``text_`` escaped, each word that matches one of ``terms`` (folded the same way the index
    folds) inside ``<mark>``."""
    text_ = text_ or ""
    if not terms:
        return Markup(escape(text_))
    exact = {t.tokens[0] for t in terms if not t.prefix}
    prefixes = tuple(t.tokens[0] for t in terms if t.prefix)
    out, position = [], 0
    for start, end in _runs(text_):
        found = tokens(text_[start:end])
        if any(tok in exact or (prefixes and tok.startswith(prefixes)) or (unspaced(tok) and any(e in tok for e in exact))
               for tok in found):
            out.append(escape(text_[position:start]))
            out.append(Markup("<mark>") + escape(text_[start:end]) + Markup("</mark>"))
            position = end
    out.append(escape(text_[position:]))
    return Markup("").join(out)


def highlight(text_: str) -> Markup:
    """``text_`` escaped, with the current request's search words (its ``q`` argument) marked."""
    return mark(text_, _marked_terms())


__all__ = ["highlight", "mark", "parse", "restrict"]
