"""The rules pages (admins, ``EditRules``): the rules in the order they run, the editor with its
errors next to the field at fault, the dry run, reordering, and every version of a rule.

Views are thin: the rules service (``inbox.settings.rules``) creates, changes, reorders and restores
— the same calls as ``/api/v1/rules``, so a rule saved here is the rule the API answers — and
``inbox.settings.rule_form`` turns the posted form into SocialHub's shape and a refusal into the
field to show it on. Every page works without JavaScript: the editor's "add a condition", "remove"
and "show the fields for this type" are submit buttons (htmx, when there, re-renders just the form),
and reordering has "Move up"/"Move down" forms next to the drag handle of ``static/rules.js``.
"""
from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, select

from inbox import fields, hx
from inbox.auth.permissions import permission_required
from inbox.connectors import available_providers
from inbox.db import get_session
from inbox.rules import dryrun, engine, items
from inbox.rules.signals import SUPPORTED_LANGUAGES
from models import Category, Channel, InteractorList, KeywordList, Rule, SavedReply, Tag, Team, TicketKind, User

from . import rule_form
from . import rules as service

bp = Blueprint("rules_page", __name__, url_prefix="/settings/rules")


def _user():
    return current_user._get_current_object()


def _rule_or_404(rule_id: int) -> Rule:
    rule = get_session().get(Rule, rule_id)
    if rule is None:
        abort(404)
    return rule


def _choices() -> dict[str, Any]:
    """What the editor's selects offer, and the names the summaries show for ids."""
    session = get_session()

    def rows(model, order):
        return session.execute(select(model.id, model.name).order_by(order, model.id)).all()

    channels = rows(Channel, Channel.name)
    networks = sorted(set(rule_form.NETWORKS) | {(n or "").upper() for n in
                                                   session.scalars(select(Channel.network).distinct()) if n})
    users = session.execute(select(User.id, User.name, User.email).where(User.active.is_(True))
                            .order_by(User.name, User.id)).all()
    choices = {"keyword_lists": rows(KeywordList, KeywordList.name),
               "interactor_lists": rows(InteractorList, InteractorList.name),
               "channels": channels, "teams": rows(Team, Team.name), "tags": rows(Tag, Tag.name),
               "categories": rows(Category, Category.name), "saved_replies": rows(SavedReply, SavedReply.name),
               "users": [(u.id, u.name or u.email) for u in users], "networks": networks,
               "providers": available_providers(), "languages": SUPPORTED_LANGUAGES,
               "sentiments": rule_form.SENTIMENTS, "kinds": [k.value for k in TicketKind]}
    choices["names"] = {k: dict(choices[k]) for k in ("keyword_lists", "interactor_lists", "channels", "teams",
                                                      "tags", "categories", "saved_replies", "users")}
    return choices


# -- the list ----------------------------------------------------------------------------------

@bp.get("")
@permission_required("EditRules")
def rules():
    session = get_session()
    listed = service.all_rules(session)
    _, broken = items.parsed_rules(listed, items.lookups(session))    # what the worker would skip, and why
    return render_template("settings/rules.html", rules=listed, choices=_choices(), describe=rule_form.describe,
                           labels=rule_form.TRIGGER_LABELS, broken=broken)


def _wants_json() -> bool:
    """The drag order is posted by static/rules.js (fetch, JSON), the Move buttons by a plain form."""
    return hx.is_htmx() or request.accept_mimetypes.best == "application/json"


def _reorder(ids: list[int], message: str):
    session = get_session()
    try:
        service.reorder(session, _user(), [{"id": i, "weight": 10 * (n + 1)} for n, i in enumerate(ids)])
    except fields.Rejected as exc:
        session.rollback()
        if _wants_json():
            return jsonify(error={"code": exc.code, "message": exc.message}), 422
        flash(exc.message, "error")
        return redirect(url_for(".rules"))
    session.commit()
    if _wants_json():
        return "", 204
    flash(message)
    return redirect(url_for(".rules"))


@bp.post("/<int:rule_id>/move")
@permission_required("EditRules")
def move(rule_id: int):
    """Move up/down: the run order with this rule one place earlier or later (weights 10, 20 …)."""
    rule = _rule_or_404(rule_id)
    direction = request.form.get("direction")
    if direction not in ("up", "down"):
        abort(400, "direction is up or down")
    ids = [r.id for r in service.all_rules(get_session())]
    at = ids.index(rule.id)
    to = at - 1 if direction == "up" else at + 1
    if 0 <= to < len(ids):
        ids[at], ids[to] = ids[to], ids[at]
    return _reorder(ids, f"Moved “{rule.name}” to place {ids.index(rule.id) + 1}.")


@bp.post("/order")
@permission_required("EditRules")
def order():
    """The drag-and-drop order from ``static/rules.js``: ``order=3,1,2`` (every rule, once)."""
    raw = request.form.get("order", "")
    try:
        ids = [int(part) for part in raw.split(",") if part.strip()]
    except ValueError:
        abort(400, "order is a comma-separated list of rule ids")
    if not ids:
        abort(400, "order is a comma-separated list of rule ids")
    known = [r.id for r in service.all_rules(get_session())]
    if sorted(ids) != sorted(known):
        abort(409, "The rules changed meanwhile; reload the page")
    return _reorder(ids, "Saved the new order.")


@bp.post("/<int:rule_id>/toggle")
@permission_required("EditRules")
def toggle(rule_id: int):
    session, rule = get_session(), _rule_or_404(rule_id)
    try:
        service.update(session, rule, _user(), {"active": not rule.active})
    except fields.Rejected as exc:          # it no longer validates (a list it used was deleted)
        session.rollback()
        flash(f"“{rule.name}” cannot be changed until it is fixed: {exc.message}", "error")
        return redirect(url_for(".rules"))
    session.commit()
    flash(f"“{rule.name}” is now {'on' if rule.active else 'off'}.")
    return redirect(url_for(".rules") + f"#rule-{rule.id}")


@bp.post("/<int:rule_id>/delete")
@permission_required("EditRules")
def delete(rule_id: int):
    session, rule = get_session(), _rule_or_404(rule_id)
    name = rule.name
    session.delete(rule)
    session.commit()
    flash(f"Deleted the rule “{name}”.")
    return redirect(url_for(".rules"))


# -- the editor --------------------------------------------------------------------------------

def _editor(draft: rule_form.Draft, rule: Rule | None, status: int = 200, result=None, n: int = dryrun.N_DEFAULT):
    context = dict(draft=draft, rule=rule, choices=_choices(), form=rule_form, result=result, n=n,
                   action=url_for(".edit", rule_id=rule.id) if rule else url_for(".new"))
    if hx.is_htmx():
        return render_template("settings/_rule_form.html", **context), status
    return render_template("settings/rule_edit.html", **context), status


@bp.get("/new")
@permission_required("EditRules")
def new():
    return _editor(rule_form.Draft(rule_form.blank_rule()), None)


@bp.get("/<int:rule_id>")
@permission_required("EditRules")
def edit(rule_id: int):
    rule = _rule_or_404(rule_id)
    return _editor(rule_form.Draft(service.as_json(rule)), rule)


@bp.post("/new")
@permission_required("EditRules")
def create():
    return _submit(None)


@bp.post("/<int:rule_id>")
@permission_required("EditRules")
def update(rule_id: int):
    return _submit(_rule_or_404(rule_id))


def _submit(rule: Rule | None):
    """One post of the editor: ``op`` is save (the default), dryrun, add_condition, add_action,
    remove_condition:N, remove_action:N or refresh (a row's type changed): all but save and dry
    run only re-render the form as typed."""
    op = request.form.get("op", "save")
    draft = rule_form.from_form(request.form, op)
    if op == "dryrun":
        return _try(draft, rule)
    if op != "save":
        return _editor(draft, rule)
    session = get_session()
    try:
        if rule is None:
            weight = (session.scalar(select(func.max(Rule.weight))) or 0) + 10
            rule = service.create(session, _user(), {**draft.rule, "weight": weight})
            change = "Created"
        else:
            service.update(session, rule, _user(), draft.rule)
            change = "Saved"
    except fields.Rejected as exc:
        session.rollback()
        return _editor(rule_form.error_at(draft, exc.message), rule if rule and rule.id else None, 422)
    session.commit()
    flash(f"{change} the rule “{rule.name}”.")
    return redirect(url_for(".rules") + f"#rule-{rule.id}")


def _try(draft: rule_form.Draft, rule: Rule | None):
    n = dryrun.parse_n(request.form.get("n"))
    session = get_session()
    try:
        result = dryrun.dry_run(session, draft.rule, n)
    except engine.RuleError as exc:
        message = f"{exc.path}: {exc.message}" if exc.path else exc.message
        return _editor(rule_form.error_at(draft, message), rule, 422, n=n)
    finally:
        session.rollback()                  # a dry run writes nothing, whatever it touched
    return _editor(draft, rule, result=result, n=n)


@bp.get("/<int:rule_id>/dry-run")
@permission_required("EditRules")
def saved_dry_run(rule_id: int):
    """The dry run of a saved rule, from the list: its editor with the results under it."""
    session, rule = get_session(), _rule_or_404(rule_id)
    n = dryrun.parse_n(request.args.get("n", dryrun.N_DEFAULT))
    draft = rule_form.Draft(service.as_json(rule))
    try:
        result = dryrun.dry_run(session, draft.rule, n)
    except engine.RuleError as exc:
        return _editor(rule_form.error_at(draft, f"{exc.path}: {exc.message}" if exc.path else exc.message),
                       rule, n=n)
    finally:
        session.rollback()
    return _editor(draft, rule, result=result, n=n)


# -- versions ----------------------------------------------------------------------------------

@bp.get("/<int:rule_id>/versions")
@permission_required("EditRules")
def versions(rule_id: int):
    session, rule = get_session(), _rule_or_404(rule_id)
    rows = service.versions(session, rule)
    authors = dict(session.execute(select(User.id, User.name).where(
        User.id.in_({v.user_id for v in rows if v.user_id}))).all())
    problems = {}
    for row in rows:
        try:
            service.check_parts(session, row.data)
        except fields.Rejected as exc:
            problems[row.version] = exc.message
    changed = {}                                    # per version, the fields it changed from the one before
    for newer, older in zip(rows, rows[1:]):
        before, after = older.data or {}, newer.data or {}
        changed[newer.version] = [k for k in rule_form.COMPARED if after.get(k) != before.get(k)]
    return render_template("settings/rule_versions.html", rule=rule, versions=rows, authors=authors,
                           problems=problems, changed=changed, changes=rule_form.CHANGES, choices=_choices(),
                           describe=rule_form.describe)


@bp.post("/<int:rule_id>/versions/<int:version>/restore")
@permission_required("EditRules")
def restore(rule_id: int, version: int):
    session, rule = get_session(), _rule_or_404(rule_id)
    try:
        service.restore(session, rule, _user(), version)
    except fields.Rejected as exc:
        session.rollback()
        flash(f"Version {version} cannot be restored: {exc.message}", "error")
        return redirect(url_for(".versions", rule_id=rule_id) + f"#version-{version}")
    session.commit()
    flash(f"Restored version {version} of “{rule.name}” (now version {rule.version}).")
    return redirect(url_for(".versions", rule_id=rule_id))
