"""The logged-in user's own account page: change the password, set the time zone."""
from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from inbox import fields
from inbox.db import get_session
from inbox.settings.user_accounts import check_time_zone, time_zones

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


@bp.post("/account/time-zone")
@login_required
def time_zone():
    """Snooze presets and times are shown in this zone; an IANA name, checked with zoneinfo."""
    value = request.form.get("time_zone", "")
    try:
        current_user.time_zone = check_time_zone(value)
    except fields.Rejected as exc:
        get_session().rollback()
        return _form(None, 422, tz_error=exc.message, tz_value=value)
    get_session().commit()
    flash(f"Time zone set to {current_user.time_zone}.")
    return redirect(url_for("account.account"))


def _form(error: str | None, status: int = 200, tz_error: str | None = None, tz_value: str | None = None):
    return render_template("settings/account.html", error=error, min_length=MIN_PASSWORD_LENGTH,
                           tz_error=tz_error, tz_value=current_user.time_zone if tz_value is None else tz_value,
                           time_zones=sorted(time_zones())), status
