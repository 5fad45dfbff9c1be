"""Starting a bulk job from the queue's bar and following its progress (thin: parse, call
``inbox.bulk.service``, commit, enqueue, render)."""
from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

from flask import abort, make_response, render_template, request
from flask_login import current_user
from sqlalchemy import select

from inbox import hx
from inbox.auth.permissions import permission_required
from inbox.db import get_session
from inbox.queue.actions import NotPermitted
from inbox.queue.triage import SNOOZE_PRESETS
from models import BulkJob, Team, User

from . import bp
from .service import COUNT_CAP, LABELS, BulkRefused, count_matching, filter_of, may_follow, start

FINISHED_EVENT = "bulkFinished"     # static/bulk.js refreshes the list on it


@bp.app_context_processor
def _bar_choices():
    """``bulk_choices()`` for the bar in the queue page, from what the page already loaded (its
    filter bar's teams and categories): the bar adds no query to the page. The people to assign
    to come with GET /bulk/assignees once the bar shows."""
    def bulk_choices(teams=None, categories=None) -> dict:
        return {"actions": LABELS, "presets": SNOOZE_PRESETS, "teams": teams or [], "categories": categories or []}
    return {"bulk_choices": bulk_choices}


@bp.get("/bulk/assignees")
@permission_required("ViewTickets")
def assignees():
    """The options of the bar's "Assign to" (active people, then teams)."""
    session = get_session()
    return render_template("bulk/_assignees.html",
                           users=session.scalars(select(User).where(User.active.is_(True)).order_by(User.name, User.id)).all(),
                           teams=session.scalars(select(Team).order_by(Team.name)).all())


def _params_from_form(action: str) -> dict:
    """The bar's fields for ``action`` as the JSON API's params."""
    form = request.form
    if action == "assign":
        choice = form.get("assign_to", "")
        kind, _, ident = choice.partition(":")
        if kind == "user" and ident.isdigit():
            return {"user_id": int(ident[:10])}
        if kind == "team" and ident.isdigit():
            return {"team_id": int(ident[:10])}
        if choice == "nobody":
            return {"user_id": None}
        return {}
    if action == "tag":
        return {"tags": form.get("tags", "")}
    if action == "categorize":
        return {"category_ids": [v for v in form.getlist("category_ids") if v]}
    if action == "priority":
        return {"on": form.get("on", "1") == "1"}
    if action == "sentiment":
        return {"value": form.get("value") or None}
    if action == "snooze":
        return {"preset": form.get("preset")} if form.get("preset") else {"until": form.get("until", "")}
    return {}


def _explicit_from_form() -> list:
    """Each ticked row sends ``id:version`` (the version the row showed)."""
    picked = []
    for value in request.form.getlist("ticket"):
        ident, _, version = value.partition(":")
        if not ident.isdigit() or len(ident) > 10 or (version and (not version.isdigit() or len(version) > 10)):
            raise BulkRefused(422, "invalid_ticket_ids", "A selected row is not a ticket of this list; reload the page")
        picked.append([int(ident), int(version) if version else None])
    if not picked:
        raise BulkRefused(422, "nothing_selected", "Select at least one ticket, or all matching this filter")
    return picked


@bp.post("/bulk")
@permission_required("ViewTickets")
def start_job():
    session = get_session()
    action = request.form.get("action", "")
    try:
        if request.form.get("all") == "1":
            args = dict(parse_qsl(request.form.get("filter", ""), keep_blank_values=False))
            job = start(session, current_user, action, _params_from_form(action), filter_args=args)
        else:
            job = start(session, current_user, action, _params_from_form(action), ticket_ids=_explicit_from_form())
    except BulkRefused as exc:
        session.rollback()
        return _render("bulk/_error.html", message=exc.message, status=422)
    except NotPermitted:
        session.rollback()
        abort(403)
    session.commit()
    from workers.bulk import start_soon

    queued = start_soon(job.id)     # unreachable: saved all the same, the sweep queues it
    return _render("bulk/_progress.html", job=job, label=LABELS[job.action], queue_down=not queued, status=202)


@bp.get("/bulk/<int:job_id>")
@permission_required("ViewTickets")
def progress(job_id: int):
    """The progress fragment the bar polls every second; its owner's (or an admin's) only."""
    job = get_session().get(BulkJob, job_id) if job_id <= 2**31 - 1 else None
    if job is None or not may_follow(current_user, job):
        abort(404)
    response = make_response(_render("bulk/_progress.html", job=job, label=LABELS.get(job.action, job.action)))
    if job.over:
        response.headers["HX-Trigger"] = FINISHED_EVENT
    return response


@bp.get("/bulk/count")
@permission_required("ViewTickets")
def count():
    """"Select all matching this filter": how many (counted now, up to COUNT_CAP) and the filter
    itself, as hidden fields of the bar's form."""
    session = get_session()
    raw = {k: v for k, v in request.args.items() if v}
    try:
        args = filter_of(session, current_user, raw)
    except BulkRefused as exc:
        return _render("bulk/_error.html", message=exc.message, status=422)
    number = count_matching(session, current_user, args, cap=COUNT_CAP)
    return _render("bulk/_all.html", number=number, cap=COUNT_CAP, filter_query=urlencode(raw))


def _render(template: str, status: int = 200, **context):
    """The fragment for htmx; wrapped in the page layout for a plain form post (no script)."""
    if hx.is_htmx():
        return render_template(template, **context), status
    return render_template("bulk/page.html", fragment=template, **context), status
