"""Keeping ``ticket_search`` (models/search.py) current, in the transaction of the change.

Why session events and not database triggers: the document is folded by our Python normaliser
(``normalise.py``), which neither database can run. Every writer of messages, notes, tags and
interactors goes through an ORM session (requests, RQ workers, the CLI), so the session is the one
place no code path can bypass:

- ``before_flush`` notes what will change the document of a ticket: a new or edited message, a
  note written, edited or deleted, a ticket created or its preview, author or tags changed, an
  interactor's name or handle changed, a tag renamed or deleted;
- ``after_flush`` (ids are known now; still inside the transaction) rebuilds those tickets'
  documents from the database with :func:`rebuild`;
- ``do_orm_execute`` catches the Core statements that delete tag links in bulk (merging and
  deleting tags, ``inbox/settings/taxonomy.py``): the tickets they touch are read before the
  statement runs and rebuilt at the next flush or at commit (``before_commit``).

Rebuilding a ticket reads its messages, notes, tags and authors (four indexed queries for a batch
of tickets) and writes the row only when the folded text changed, so a flush that touches a ticket
without changing its text (a status change) costs no write to the full-text index.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy import delete, inspect, select
from sqlalchemy.orm import Session

from models import Followup, FollowupType, Interactor, Message, Tag, Ticket, ticket_search, ticket_tags

from .normalise import normalise

DOC_MAX = 100_000    # characters: PostgreSQL's tsvector has a 1 MB limit; the newest text is kept
BATCH = 500
TAG_BEGIN, TAG_END = "tagbegin", "tagend"


def _pending(session: Session) -> dict:
    return session.info.setdefault("search_pending", {"objects": [], "ids": set(), "interactors": set(), "tags": set()})


def _changed(obj, *attrs: str) -> bool:
    state = inspect(obj)
    for attr in attrs:
        history = state.attrs[attr].history
        if (history.added or history.deleted) and list(history.added) != list(history.deleted):
            return True
    return False


def before_flush(session: Session, context, instances) -> None:   # noqa: ARG001
    pending = _pending(session)
    for obj in session.new:
        if isinstance(obj, (Ticket, Message)) or (isinstance(obj, Followup) and obj.type == FollowupType.NOTE):
            pending["objects"].append(obj)
    for obj in session.dirty:
        if isinstance(obj, Message) and _changed(obj, "text", "ticket_id", "interactor_id"):
            pending["objects"].append(obj)
            pending["ids"].update(h for h in inspect(obj).attrs.ticket_id.history.deleted if h)
        elif isinstance(obj, Followup) and (obj.type == FollowupType.NOTE or _changed(obj, "type")) \
                and _changed(obj, "text", "type"):
            pending["objects"].append(obj)
        elif isinstance(obj, Ticket) and _changed(obj, "text", "interactor_id", "tags"):
            pending["objects"].append(obj)
        elif isinstance(obj, Interactor) and _changed(obj, "name", "username"):
            pending["interactors"].add(obj.id)
        elif isinstance(obj, Tag) and _changed(obj, "name"):
            pending["tags"].add(obj.id)
    for obj in session.deleted:
        if isinstance(obj, (Message, Followup)) and obj.ticket_id:
            pending["ids"].add(obj.ticket_id)
        elif isinstance(obj, Tag) and obj.id:
            # The links go with the tag (ON DELETE CASCADE): read them while they are there.
            pending["ids"].update(session.connection().scalars(
                select(ticket_tags.c.ticket_id).where(ticket_tags.c.tag_id == obj.id)))


def after_flush(session: Session, context) -> None:   # noqa: ARG001
    _flush_pending(session)


def before_commit(session: Session) -> None:
    _flush_pending(session)


def do_orm_execute(state) -> None:
    """A bulk DELETE of tag links: remember the tickets it is about to untag."""
    if not state.is_delete or getattr(state.statement, "table", None) is not ticket_tags:
        return
    where = state.statement.whereclause
    query = select(ticket_tags.c.ticket_id)
    if where is not None:
        query = query.where(where)
    _pending(state.session)["ids"].update(state.session.connection().scalars(query, state.parameters or {}))


def _flush_pending(session: Session) -> None:
    pending = session.info.pop("search_pending", None)
    if not pending:
        return
    ids = set(pending["ids"])
    for obj in pending["objects"]:
        ticket_id = obj.id if isinstance(obj, Ticket) else obj.ticket_id
        if ticket_id:
            ids.add(ticket_id)
    connection = session.connection()
    if pending["interactors"]:
        found = list(pending["interactors"])
        ids.update(connection.scalars(select(Ticket.id).where(Ticket.interactor_id.in_(found))))
        ids.update(connection.scalars(select(Message.ticket_id).where(Message.interactor_id.in_(found))))
    if pending["tags"]:
        ids.update(connection.scalars(select(ticket_tags.c.ticket_id).where(ticket_tags.c.tag_id.in_(list(pending["tags"])))))
    if ids:
        rebuild(connection, ids)


def _names(name: str | None, username: str | None) -> str:
    return " ".join(p for p in (name, username) if p)


def documents(connection, ticket_ids: list[int]) -> dict[int, tuple[str, str, str]]:
    """The folded (doc, author, tags) of each of these tickets that still exists."""
    heads = connection.execute(
        select(Ticket.id, Ticket.text, Interactor.name, Interactor.username)
        .outerjoin(Interactor, Interactor.id == Ticket.interactor_id).where(Ticket.id.in_(ticket_ids))).all()
    if not heads:
        return {}
    texts: dict[int, list[str]] = defaultdict(list)
    authors: dict[int, list[str]] = defaultdict(list)
    tags: dict[int, list[str]] = defaultdict(list)
    for ticket_id, text, name, username in heads:
        if name or username:
            authors[ticket_id].append(_names(name, username))
        texts[ticket_id].append(text or "")
    for ticket_id, name in connection.execute(
            select(ticket_tags.c.ticket_id, Tag.name).join(Tag, Tag.id == ticket_tags.c.tag_id)
            .where(ticket_tags.c.ticket_id.in_(ticket_ids)).order_by(Tag.name)):
        tags[ticket_id].append(name)
    for ticket_id, text in connection.execute(
            select(Followup.ticket_id, Followup.text).where(Followup.ticket_id.in_(ticket_ids),
                                                            Followup.type == FollowupType.NOTE)
            .order_by(Followup.id.desc())):
        texts[ticket_id].append(text or "")
    # Newest first: when a very long thread is cut at DOC_MAX, the oldest text goes.
    for ticket_id, text, name, username in connection.execute(
            select(Message.ticket_id, Message.text, Interactor.name, Interactor.username)
            .outerjoin(Interactor, Interactor.id == Message.interactor_id).where(Message.ticket_id.in_(ticket_ids))
            .order_by(Message.ticket_id, Message.created_at.desc(), Message.id.desc())):
        texts[ticket_id].append(text or "")
        if (name or username) and _names(name, username) not in authors[ticket_id]:
            authors[ticket_id].append(_names(name, username))
    found = {}
    for ticket_id, *_ in heads:
        author = " ".join(normalise(a) for a in authors[ticket_id])
        tag_text = " ".join(f"{TAG_BEGIN} {normalise(t)} {TAG_END}" for t in tags[ticket_id])
        doc = " ".join(filter(None, [author, " ".join(normalise(t) for t in tags[ticket_id]),
                                     *(normalise(t) for t in texts[ticket_id])]))
        if len(doc) > DOC_MAX:
            doc = doc[:DOC_MAX].rsplit(" ", 1)[0]
        found[ticket_id] = (doc, author, tag_text)
    return found


def rebuild(connection, ticket_ids: Iterable[int]) -> None:
    """Make these tickets' rows of ``ticket_search`` what their messages, notes, authors and tags
    say now (in batches; a row is written only when it changes)."""
    ordered = sorted(set(ticket_ids))
    for start in range(0, len(ordered), BATCH):
        batch = ordered[start:start + BATCH]
        docs = documents(connection, batch)
        have = {row[0]: tuple(row[1:]) for row in connection.execute(
            select(ticket_search.c.ticket_id, ticket_search.c.doc, ticket_search.c.author, ticket_search.c.tags)
            .where(ticket_search.c.ticket_id.in_(batch)))}
        gone = [t for t in have if t not in docs]
        if gone:
            connection.execute(delete(ticket_search).where(ticket_search.c.ticket_id.in_(gone)))
        changed = [t for t, d in docs.items() if have.get(t) != d]
        updates = [t for t in changed if t in have]
        if updates:
            connection.execute(delete(ticket_search).where(ticket_search.c.ticket_id.in_(updates)))
        if changed:
            connection.execute(ticket_search.insert(), [
                {"ticket_id": t, "doc": docs[t][0], "author": docs[t][1], "tags": docs[t][2]} for t in changed])


def rebuild_all(connection, batch: int = 2000) -> int:
    """Every ticket's row, from scratch (the migration, and the bulk data generator after writing
    around the ORM); walks the tickets by id in batches. Returns how many tickets it indexed.

    The full-text indexes are taken down first and built once at the end (FTS5 'rebuild', or
    PostgreSQL's CREATE INDEX), which is much faster than maintaining them row by row."""
    from models.search import DROP_FOR_REBUILD, FTS, install

    postgres = connection.dialect.name == "postgresql"
    for statement in DROP_FOR_REBUILD["postgresql" if postgres else "sqlite"]:
        connection.exec_driver_sql(statement)
    connection.execute(delete(ticket_search))
    done, last = 0, 0
    while True:
        ids = list(connection.scalars(select(Ticket.id).where(Ticket.id > last).order_by(Ticket.id).limit(batch)))
        if not ids:
            break
        docs = documents(connection, ids)
        if docs:
            connection.execute(ticket_search.insert(), [
                {"ticket_id": t, "doc": d[0], "author": d[1], "tags": d[2]} for t, d in docs.items()])
        done, last = done + len(docs), ids[-1]
    install(connection)
    if not postgres:
        connection.exec_driver_sql(f"INSERT INTO {FTS} ({FTS}) VALUES ('rebuild')")
    return done
