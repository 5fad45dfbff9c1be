"""The pane's note forms: add under the thread, edit and delete one's own. Each answers the whole
pane (the note, the history and the version every form carries all change)."""
from __future__ import annotations

from flask import abort, request
from flask_login import current_user

from inbox.auth.permissions import permission_required
from inbox.connectors.base import Rejected
from inbox.db import get_session

from . import bp, notes, triage
from .action_views import render_pane
from .pane import load_ticket


@bp.app_template_global("note_segments")
def note_segments(note):
    """The note's text in (text, is_mention) pieces, for ``queue/_note.html``."""
    return notes.segments(note)


@bp.app_template_global("mention_choices")
def mention_choices(users):
    """The composer's @autocomplete list, from the users the pane's sidebar already loaded."""
    return notes.mention_choices(users, current_user)


def _note_action(ticket_id: int, kind: str, followup_id: int | None = None):
    session, ticket = get_session(), load_ticket(ticket_id)
    params = {k: v for k, v in request.form.items() if k != "csrf_token"}
    if followup_id is not None:
        params["followup_id"] = followup_id
    try:
        notes.act(session, ticket, current_user, kind, params)
    except notes.NoteRefused as exc:     # before Rejected, its base class
        session.rollback()
        abort(exc.status, exc.message)
    except Rejected as exc:
        session.rollback()
        return render_pane(ticket_id, error=exc.message, status=422)
    except triage.Stale:
        session.rollback()
        return render_pane(ticket_id, message=triage.STALE_MESSAGE, status=409)
    session.commit()
    return render_pane(ticket_id)


@bp.post("/tickets/<int:ticket_id>/notes")
@permission_required("ViewTickets")
def add_note(ticket_id: int):
    return _note_action(ticket_id, "note")


@bp.post("/tickets/<int:ticket_id>/notes/<int:followup_id>")
@permission_required("ViewTickets")
def edit_note(ticket_id: int, followup_id: int):
    return _note_action(ticket_id, "note_edit", followup_id)


@bp.post("/tickets/<int:ticket_id>/notes/<int:followup_id>/delete")
@permission_required("ViewTickets")
def delete_note(ticket_id: int, followup_id: int):
    return _note_action(ticket_id, "note_delete", followup_id)
