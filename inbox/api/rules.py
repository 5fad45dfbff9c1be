"""``/api/v1/rules``: smart rules in SocialHub's shape — list (in the order they run), create,
read, update, delete, bulk reorder (``PATCH /api/v1/rules [{id, weight}]``, as SocialHub), and
every version: ``GET /api/v1/rules/{id}/versions``, ``POST /api/v1/rules/{id}/versions/{n}/restore``.

All need ``EditRules`` (admins), as at SocialHub. The rules live in ``inbox.settings.rules``; a
rule the engine could not run answers 422 naming the part at fault.
"""
from __future__ import annotations

from flask import g, jsonify

from inbox.auth.permissions import api_permission
from inbox.db import get_session
from inbox.errors import ApiError
from inbox.settings import rules as service
from models import Rule

from .views import bp, json_array, json_body


def _rule(rule_id: int) -> Rule:
    rule = get_session().get(Rule, rule_id)
    if rule is None:
        raise ApiError(404, "not_found", f"No rule {rule_id}")
    return rule


@bp.get("/rules")
@api_permission("EditRules")
def list_rules():
    return jsonify(data=[service.as_json(r) for r in service.all_rules(get_session())])


@bp.post("/rules")
@api_permission("EditRules")
def create_rule():
    session = get_session()
    rule = service.create(session, g.api_user, json_body())
    session.commit()
    return jsonify(service.as_json(rule)), 201


@bp.patch("/rules")
@api_permission("EditRules")
def reorder_rules():
    session = get_session()
    rules = service.reorder(session, g.api_user, json_array())
    session.commit()
    return jsonify(data=[service.as_json(r) for r in rules])


@bp.get("/rules/<int:rule_id>")
@api_permission("EditRules")
def show_rule(rule_id: int):
    return jsonify(service.as_json(_rule(rule_id)))


@bp.patch("/rules/<int:rule_id>")
@api_permission("EditRules")
def update_rule(rule_id: int):
    session, rule = get_session(), _rule(rule_id)
    service.update(session, rule, g.api_user, json_body())
    session.commit()
    return jsonify(service.as_json(rule))


@bp.delete("/rules/<int:rule_id>")
@api_permission("EditRules")
def delete_rule(rule_id: int):
    session, rule = get_session(), _rule(rule_id)
    session.delete(rule)
    session.commit()
    return "", 204


@bp.get("/rules/<int:rule_id>/versions")
@api_permission("EditRules")
def rule_versions(rule_id: int):
    session = get_session()
    return jsonify(data=[service.version_json(v) for v in service.versions(session, _rule(rule_id))])


@bp.post("/rules/<int:rule_id>/versions/<int:version>/restore")
@api_permission("EditRules")
def restore_rule(rule_id: int, version: int):
    session, rule = get_session(), _rule(rule_id)
    service.restore(session, rule, g.api_user, version)
    session.commit()
    return jsonify(service.as_json(rule))
