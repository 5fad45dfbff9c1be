"""The logged-in user's own account page: change the password."""
from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from inbox.db import get_session

from . import sessions
from .accounts import MIN_PASSWORD_LENGTH, AccountError, change_password

bp = Blueprint("account", __name__, url_prefix="/settings")


@bp.route("/account", methods=("GET", "POST"))
@login_required
def account():
    if request.method == "GET":
        return render_template("settings/account.html", error=None, min_length=MIN_PASSWORD_LENGTH)
    form = request.form
    user = current_user._get_current_object()
    try:
        change_password(user, form.get("current_password", ""), form.get("new_password", ""),
                        form.get("new_password_again", ""))
    except AccountError as exc:
        get_session().rollback()
        return render_template("settings/account.html", error=exc.message, min_length=MIN_PASSWORD_LENGTH), 422
    get_session().commit()
    # Every other session has ended; this browser carries on under the new version.
    remembered = current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token") in request.cookies
    sessions.start(user, remember=remembered)
    flash("Password changed. You were logged out everywhere else.")
    return redirect(url_for("account.account"))
