"""Bulk work through the JSON API: ``POST /api/v1/bulk`` starts a job (202), ``GET
/api/v1/bulk/{id}`` follows it. The same checks as the queue's bar (``inbox.bulk.service``)."""
from __future__ import annotations

from flask import g, jsonify

import workers

from inbox.auth.permissions import api_permission
from inbox.bulk.service import BulkRefused, may_follow, start, summary
from inbox.db import get_session
from inbox.errors import ApiError
from inbox.queue.actions import NotPermitted
from models import BulkJob

from .views import bp, json_body


@bp.post("/bulk")
@api_permission("ViewTickets")
def start_bulk():
    """``{action, params, ticket_ids? | filter?}`` -> 202 ``{id, status, total}``."""
    body, session = json_body(), get_session()
    unknown = set(body) - {"action", "params", "ticket_ids", "filter"}
    if unknown:
        raise ApiError(400, "unknown_field", f"Unknown field(s): {', '.join(sorted(unknown))}")
    try:
        job = start(session, g.api_user, body.get("action"), body.get("params"),
                    ticket_ids=body.get("ticket_ids"), filter_args=body.get("filter"))
    except BulkRefused as exc:
        session.rollback()
        raise ApiError(exc.status, exc.code, exc.message) from None
    except NotPermitted as exc:
        session.rollback()
        raise ApiError(403, "insufficient_permissions", f"This needs the {exc.permission} permission") from exc
    session.commit()
    from workers.bulk import start_soon

    answer = {"id": job.id, "status": job.status, "total": job.total}
    if not start_soon(job.id):      # saved all the same: the sweep queues it once the queue is back
        answer["notice"] = workers.QUEUE_DOWN_NOTICE
    return jsonify(answer), 202


@bp.get("/bulk/<int:job_id>")
@api_permission("ViewTickets")
def show_bulk(job_id: int):
    job = get_session().get(BulkJob, job_id) if job_id <= 2**31 - 1 else None
    if job is None or not may_follow(g.api_user, job):
        raise ApiError(404, "not_found", f"No bulk job {job_id}")
    return jsonify(summary(job))
