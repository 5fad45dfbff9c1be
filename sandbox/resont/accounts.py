"""The social accounts of the Resont login, its user (``/me/user``), and subscribing accounts to webhooks."""
from __future__ import annotations

from typing import Any

from flask import Blueprint

from .calls import documented
from .state import ApiError, as_list, Ctx, ResontSandbox, to_int

bp = Blueprint("accounts", __name__)


@documented(bp, "GET", "/account", "account.list")
def account_list(s: ResontSandbox, ctx: Ctx) -> Any:
    return [s.render_account(a, ctx["expand"]) for a in sorted(s.accounts.values(), key=lambda a: a["id"])
            if a["user_id"] == ctx["user_id"]]


@documented(bp, "GET", "/account/<int:account_id>", "account.detail")
def account_detail(s: ResontSandbox, ctx: Ctx, account_id: int) -> Any:
    return s.render_account(s.own_account(ctx, account_id), ctx["expand"])


@documented(bp, "GET", "/me/user", "me.user")
def me_user(s: ResontSandbox, ctx: Ctx) -> Any:
    user = s.users[ctx["user_id"]]
    return {"email": user["email"], "user_type": "legal", "name": user["name"], "timezone": user["timezone"],
            "language": user["language"], "dateformat": "Y-m-d", "timeformat": "H:i:s", "package_id": 3,
            "has_webservice": "1"}


def subscribe(s: ResontSandbox, ctx: Ctx, flag: str, kind: str) -> dict[str, bool]:
    ids = as_list(ctx["params"].get("account_ids"))
    if not ids:
        raise ApiError(400, "The account ids field is required.")
    accounts = [s.accounts.get(to_int(i)) for i in ids]
    if any(a is None or a["user_id"] != ctx["user_id"] for a in accounts):
        raise ApiError(400, "The selected account ids is invalid.")
    for account in accounts:
        account[flag] = 1
    s.write(kind, account_ids=[a["id"] for a in accounts])
    return {"success": True}
