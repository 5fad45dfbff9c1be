"""Settings → Approval: the workspace's approval policy (which replies go through approval, and
when a waiting suggestion counts as overdue).

Who: supervisors read it (``ViewUsers``: they are the ones who approve, and should know the rules
and the threshold their alerts follow); admins change it (``EditChannels``: like a channel's own
``require_approval`` switch, it decides which conversations on the channels need a second pair of
eyes). ``policy.clean`` validates both this form and the JSON body of
``PUT /api/v1/approval-policy``, so the two cannot disagree.
"""
from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from inbox.approval import policy
from inbox.auth.permissions import permission_required
from inbox.db import get_session

from . import taxonomy

bp = Blueprint("approval_settings", __name__, url_prefix="/settings")


def _page(current: dict[str, Any], status: int = 200, error: str | None = None):
    session = get_session()
    return render_template("settings/approval.html", policy=current, nodes=taxonomy.tree(session),
                           can_edit=current_user.can("EditChannels"), error=error), status


@bp.get("/approval")
@permission_required("ViewUsers")
def approval():
    return _page(policy.load(get_session()).as_dict())


def form_value(form) -> dict[str, Any]:
    """The form as ``policy.clean`` takes it: ticked boxes as booleans, ids and minutes as numbers
    (a value that is not a number stays a string, and ``clean`` names it)."""
    minutes = form.get("overdue_minutes", "").strip()
    return {"public_comments": form.get("public_comments") == "on",
            "negative_sentiment": form.get("negative_sentiment") == "on",
            "category_ids": [int(v) if v.isdigit() and len(v) <= 10 else v for v in form.getlist("category_ids")],
            "overdue_minutes": int(minutes) if minutes.isdigit() and len(minutes) <= 9 else minutes}


@bp.post("/approval")
@permission_required("EditChannels")
def save_approval():
    session, value = get_session(), form_value(request.form)
    try:
        if value["overdue_minutes"] == "":
            raise policy.PolicyError("missing_field", "Say after how many minutes a suggestion is overdue.")
        cleaned = policy.clean(value, session)
    except policy.PolicyError as exc:
        session.rollback()
        return _page(value, 422, error=exc.message.replace("overdue_minutes", "The overdue threshold")
                     .replace("category_ids", "The categories"))
    policy.save(session, cleaned, current_user)
    session.commit()
    flash("Saved the approval policy.")
    return redirect(url_for("approval_settings.approval"), 303)
