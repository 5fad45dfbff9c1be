"""The logged-in user's own account page: change the password."""
from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from inbox.db import get_session

from . import sessions, throttle
from .accounts import MIN_PASSWORD_LENGTH, AccountError, WrongPassword, change_password

bp = Blueprint("account", __name__, url_prefix="/settings")


@bp.route("/account", methods=("GET", "POST"))
@login_required
def account():
    if request.method == "GET":
        return _form(None)
    form = request.form
    user = current_user._get_current_object()
    ip = request.remote_addr or "-"
    # A borrowed session must not become a way to guess the password: the login throttle applies.
    wait = throttle.blocked_for(user.email, ip)
    if wait:
        return _form(f"Too many wrong passwords. Try again in {wait} seconds.", 429)
    try:
        change_password(user, form.get("current_password", ""), form.get("new_password", ""),
                        form.get("new_password_again", ""))
    except AccountError as exc:
        get_session().rollback()
        if isinstance(exc, WrongPassword):
            throttle.record_failure(user.email, ip)
        return _form(exc.message, 422)
    get_session().commit()
    # Every other session has ended; this browser carries on under the new version.
    remembered = current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token") in request.cookies
    sessions.start(user, remember=remembered)
    flash("Password changed. You were logged out everywhere else.")
    return redirect(url_for("account.account"))


def _form(error: str | None, status: int = 200):
    return render_template("settings/account.html", error=error, min_length=MIN_PASSWORD_LENGTH), status
