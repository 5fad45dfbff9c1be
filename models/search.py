"""The search document of every ticket, and the full-text indexes over it.

``ticket_search`` holds, per ticket, text already folded by ``inbox.search.normalise`` (so both
databases only match equal tokens; see that module for why the folding is ours):

- ``doc``: every message of the ticket (not only ``ticket.text``, the latest preview), its notes,
  the names and handles of its authors and its tag names — what plain words search;
- ``author``: the names and handles alone — what ``from:`` searches;
- ``tags``: each tag name between the marker tokens ``tagbegin`` and ``tagend`` — so ``tag:late``
  finds the tag "late" and not "late delivery", by a phrase match, with the same folding.

``inbox.search.index`` keeps it current from the ORM session, in the flush that stores a message,
a note, a tag change or a renamed author (same transaction: committed with the change or not at all).

Indexes (DDL of their own: neither is expressible in the models, so ``create_all`` runs it from the
"after_create" listener below and the migration calls :func:`install`):

- SQLite: an external-content FTS5 table ``ticket_search_fts`` (rowid = ticket id, tokenizer
  unicode61 without its own diacritic folding — ours already did it, and unicode61 would fold
  Russian "й" to "и"; prefix indexes for 2 and 3 characters so the last word's prefix match stays
  cheap), kept in step with ``ticket_search`` by triggers.
- PostgreSQL: a stored generated ``tsvector`` column ``tsv`` ('simple' configuration: the text is
  already normalised, and stemming would not know Persian) with the tags weighted B, the authors A
  and the document D, under a GIN index; and a GIN trigram index (pg_trgm) on ``doc`` for the
  substring matches of scripts written without spaces (Thai, Chinese, Japanese).
"""
from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Table, Text, event

from .base import Base

ticket_search = Table(
    "ticket_search", Base.metadata,
    Column("ticket_id", ForeignKey("ticket.id", ondelete="CASCADE"), primary_key=True, autoincrement=False),
    Column("doc", Text, nullable=False, default="", server_default=""),
    Column("author", Text, nullable=False, default="", server_default=""),
    Column("tags", Text, nullable=False, default="", server_default=""),
)

FTS = "ticket_search_fts"
_COLS = "doc, author, tags"
SQLITE_DDL = [
    f"CREATE VIRTUAL TABLE IF NOT EXISTS {FTS} USING fts5({_COLS}, content='ticket_search', "
    "content_rowid='ticket_id', tokenize='unicode61 remove_diacritics 0', prefix='2 3')",
    f"CREATE TRIGGER IF NOT EXISTS ticket_search_fts_insert AFTER INSERT ON ticket_search BEGIN "
    f"INSERT INTO {FTS} (rowid, {_COLS}) VALUES (NEW.ticket_id, NEW.doc, NEW.author, NEW.tags); END",
    f"CREATE TRIGGER IF NOT EXISTS ticket_search_fts_delete AFTER DELETE ON ticket_search BEGIN "
    f"INSERT INTO {FTS} ({FTS}, rowid, {_COLS}) VALUES ('delete', OLD.ticket_id, OLD.doc, OLD.author, OLD.tags); END",
    f"CREATE TRIGGER IF NOT EXISTS ticket_search_fts_update AFTER UPDATE ON ticket_search BEGIN "
    f"INSERT INTO {FTS} ({FTS}, rowid, {_COLS}) VALUES ('delete', OLD.ticket_id, OLD.doc, OLD.author, OLD.tags); "
    f"INSERT INTO {FTS} (rowid, {_COLS}) VALUES (NEW.ticket_id, NEW.doc, NEW.author, NEW.tags); END",
]
POSTGRES_DDL = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "ALTER TABLE ticket_search ADD COLUMN IF NOT EXISTS tsv tsvector GENERATED ALWAYS AS ("
    "setweight(to_tsvector('simple', tags), 'B') || setweight(to_tsvector('simple', author), 'A') || "
    "to_tsvector('simple', doc)) STORED",
    "CREATE INDEX IF NOT EXISTS ix_ticket_search_tsv ON ticket_search USING gin (tsv)",
    "CREATE INDEX IF NOT EXISTS ix_ticket_search_trgm ON ticket_search USING gin (doc gin_trgm_ops)",
]
# What rebuild_all takes down while it refills ticket_search (install() puts it back).
DROP_FOR_REBUILD = {
    "sqlite": ["DROP TRIGGER IF EXISTS ticket_search_fts_insert", "DROP TRIGGER IF EXISTS ticket_search_fts_delete",
               "DROP TRIGGER IF EXISTS ticket_search_fts_update"],
    "postgresql": ["DROP INDEX IF EXISTS ix_ticket_search_tsv", "DROP INDEX IF EXISTS ix_ticket_search_trgm"],
}
DROP_SQLITE = ["DROP TRIGGER IF EXISTS ticket_search_fts_insert", "DROP TRIGGER IF EXISTS ticket_search_fts_delete",
               "DROP TRIGGER IF EXISTS ticket_search_fts_update", f"DROP TABLE IF EXISTS {FTS}"]


def install(connection) -> None:
    """The indexes above on ``connection``'s database (create_all and the migration both call it)."""
    for statement in POSTGRES_DDL if connection.dialect.name == "postgresql" else SQLITE_DDL:
        connection.exec_driver_sql(statement)


def schema_extra(obj, name, type_, reflected, compare_to) -> bool:   # noqa: ARG001
    """Alembic's ``include_object``: False for what :func:`install` makes outside the models (the
    FTS5 table and its shadow tables, the ``tsv`` column, the GIN indexes), so comparing the
    database with the models does not report them."""
    if type_ == "table" and name and name.startswith(FTS):
        return False
    if type_ == "column" and name == "tsv" and getattr(getattr(obj, "table", None), "name", "") == "ticket_search":
        return False
    return not (type_ == "index" and name in ("ix_ticket_search_tsv", "ix_ticket_search_trgm"))


@event.listens_for(Base.metadata, "after_create")
def _after_create(target, connection, **kw) -> None:   # noqa: ARG001
    install(connection)


def _register_session_events() -> None:
    """Keep ``ticket_search`` current from every ORM session (web requests, workers, the CLI).
    Registered here, where every process loads the models; the work is in ``inbox.search.index``,
    imported when a session first flushes (not at import: it imports these models)."""
    from sqlalchemy.orm import Session

    def before_flush(session, context, instances):
        from inbox.search import index
        index.before_flush(session, context, instances)

    def after_flush(session, context):
        from inbox.search import index
        index.after_flush(session, context)

    def before_commit(session):
        from inbox.search import index
        index.before_commit(session)

    def do_orm_execute(state):
        from inbox.search import index
        index.do_orm_execute(state)

    def after_soft_rollback(session, previous_transaction):   # noqa: ARG001
        session.info.pop("search_pending", None)

    event.listen(Session, "before_flush", before_flush)
    event.listen(Session, "after_flush", after_flush)
    event.listen(Session, "before_commit", before_commit)
    event.listen(Session, "do_orm_execute", do_orm_execute)
    event.listen(Session, "after_soft_rollback", after_soft_rollback)


_register_session_events()
