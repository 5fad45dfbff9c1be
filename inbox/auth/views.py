"""Login and logout pages."""
from __future__ import annotations

from urllib.parse import urlparse

from flask import Blueprint, redirect, render_template, request, url_for
from flask_login import current_user, login_required, logout_user

from inbox.db import get_session

from . import sessions, throttle
from .accounts import authenticate

bp = Blueprint("auth", __name__, url_prefix="/auth")


def _safe_next(target: str | None) -> str:
    """Only same-site paths, so the login form cannot be used as an open redirect.

    Control characters could split the Location header or be dropped by a browser (turning
    ``/\\t/evil`` into ``//evil``), and browsers read a backslash as a slash: both are refused.
    """
    if (target and target.startswith("/") and not target.startswith("//")
            and not any(ord(c) < 0x20 or ord(c) == 0x7f or c == "\\" for c in target)
            and not urlparse(target).netloc):
        return target
    return url_for("queue.index")


def _wait_message(seconds: int) -> str:
    if seconds < 60:
        return f"Too many failed attempts. Try again in {seconds} second{'s' if seconds != 1 else ''}."
    minutes = -(-seconds // 60)
    return f"Too many failed attempts. Try again in {minutes} minute{'s' if minutes != 1 else ''}."


@bp.route("/login", methods=("GET", "POST"))
def login():
    error, status = None, 200
    email = ""
    if request.method == "POST":
        email = request.form.get("email", "").strip()
        password = request.form.get("password", "")
        ip = request.remote_addr or "-"
        wait = throttle.blocked_for(email, ip)
        if wait:
            error, status = _wait_message(wait), 429
        else:
            user = authenticate(get_session(), email, password)
            if user is not None:
                throttle.clear(email, ip)
                sessions.start(user, remember=bool(request.form.get("remember")))
                return redirect(_safe_next(request.args.get("next")))
            throttle.record_failure(email, ip)
            error, status = "Wrong email or password.", 401
    return render_template("auth/login.html", error=error, email=email), status


@bp.post("/logout")
@login_required
def logout():
    """Log out here and everywhere: every session and remember-me cookie of the user ends."""
    current_user.end_sessions()
    get_session().commit()
    logout_user()
    return redirect(url_for("auth.login"))
