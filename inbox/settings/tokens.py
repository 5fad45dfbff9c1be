"""The API tokens page: a user's own tokens (and, for EditUsers, everyone's): create, list, revoke."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from inbox.auth import tokens as api_tokens
from inbox.auth.accounts import AccountError
from inbox.db import get_session

bp = Blueprint("tokens", __name__, url_prefix="/settings")


def _page(status: int = 200, *, error: str | None = None, new_token: str | None = None, form=None):
    session = get_session()
    everyone = current_user.can("EditUsers") and request.values.get("all") == "1"
    return render_template(
        "settings/tokens.html", tokens=api_tokens.listed(session, None if everyone else current_user),
        everyone=everyone, can_see_all=current_user.can("EditUsers"), error=error, new_token=new_token,
        form=form or {}), status


@bp.get("/tokens")
@login_required
def tokens():
    return _page()


@bp.post("/tokens")
@login_required
def create():
    session = get_session()
    try:
        days = api_tokens.parse_days(request.form.get("expires_days", ""))
        row, token = api_tokens.issue(session, current_user._get_current_object(), request.form.get("name", ""), days)
    except AccountError as exc:
        session.rollback()
        return _page(422, error=exc.message, form=request.form)
    session.commit()
    # The answer page is the only place the token is ever shown; no cache may keep a copy.
    body, status = _page(201, new_token=token)
    return body, status, {"Cache-Control": "no-store"}


@bp.post("/tokens/<int:token_id>/revoke")
@login_required
def revoke(token_id: int):
    session = get_session()
    row = api_tokens.revoke(session, token_id, by=current_user._get_current_object())
    if row is None:
        abort(404)
    session.commit()
    flash(f"Revoked the token “{row.name or 'unnamed'}”; it no longer works.")
    everyone = request.form.get("all") == "1" and current_user.can("EditUsers")
    return redirect(url_for("tokens.tokens", all=1) if everyone else url_for("tokens.tokens"))
