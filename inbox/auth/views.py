"""Login and logout pages."""
from __future__ import annotations

from urllib.parse import urlparse

from flask import Blueprint, redirect, render_template, request, url_for
from flask_login import login_required, login_user, logout_user
from sqlalchemy import func, select

from inbox.db import get_session
from models import User

from . import throttle

bp = Blueprint("auth", __name__, url_prefix="/auth")


def _safe_next(target: str | None) -> str:
    """Only same-site paths, so the login form cannot be used as an open redirect."""
    if target and target.startswith("/") and not target.startswith("//") and not urlparse(target).netloc:
        return target
    return url_for("queue.index")


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
            error, status = f"Too many failed attempts. Try again in {max(wait // 60, 1)} minute(s).", 429
        else:
            user = get_session().scalars(select(User).where(func.lower(User.email) == email.lower())).first()
            if user is not None and user.active and user.check_password(password):
                throttle.clear(email)
                login_user(user, remember=bool(request.form.get("remember")))
                return redirect(_safe_next(request.args.get("next")))
            throttle.record_failure(email, ip)
            error, status = "Wrong email or password.", 401
    return render_template("auth/login.html", error=error, email=email), status


@bp.post("/logout")
@login_required
def logout():
    logout_user()
    return redirect(url_for("auth.login"))
