"""``/api/v1/keyword-lists`` and ``/api/v1/interactor-lists``: list, create, read, update, delete,
and ``POST …/{id}/import {text}`` (pasted text, added to the list).

Shapes: keyword list ``{id, name, keywords[], version}``; interactor list ``{id, name,
members[{channel_id, external_id, username}], version}``. Reading needs ``ViewTickets`` (whoever
works tickets may see what rules match on); changing needs ``EditRules`` (admins). The rules live
in ``inbox.settings.rule_lists``; its ``Rejected`` answers 422.
"""
from __future__ import annotations

from flask import jsonify

from inbox.auth.permissions import api_permission
from inbox.db import get_session
from inbox.errors import ApiError
from inbox.settings import rule_lists as service
from models import InteractorList, KeywordList

from .views import bp, json_body

def _row(model: type, list_id: int):
    row = get_session().get(model, list_id)
    if row is None:
        raise ApiError(404, "not_found", f"No {service.WHAT[model]} {list_id}")
    return row


def _list(model: type):
    return jsonify(data=[service.as_json(r) for r in service.all_lists(get_session(), model)])


def _create(model: type):
    session = get_session()
    row = service.create(session, model, json_body())
    session.commit()
    return jsonify(service.as_json(row)), 201


def _show(model: type, list_id: int):
    return jsonify(service.as_json(_row(model, list_id)))


def _update(model: type, list_id: int):
    session, row = get_session(), _row(model, list_id)
    service.update(session, row, json_body())
    session.commit()
    return jsonify(service.as_json(row))


def _import(model: type, list_id: int):
    session, row = get_session(), _row(model, list_id)
    body = json_body()
    service.import_text(session, row, body.get("text") if isinstance(body, dict) else None)
    session.commit()
    return jsonify(service.as_json(row))


def _delete(model: type, list_id: int):
    session, row = get_session(), _row(model, list_id)
    session.delete(row)
    session.commit()
    return "", 204


def _register(path: str, model: type) -> None:
    """The same six routes for each kind of list (explicit paths, one endpoint each)."""
    name = path.replace("-", "_")
    routes = [("", "GET", _list, "ViewTickets", "list"), ("", "POST", _create, "EditRules", "create"),
              ("/<int:list_id>", "GET", _show, "ViewTickets", "show"),
              ("/<int:list_id>", "PATCH", _update, "EditRules", "update"),
              ("/<int:list_id>", "DELETE", _delete, "EditRules", "delete"),
              ("/<int:list_id>/import", "POST", _import, "EditRules", "import")]
    for suffix, method, view, permission, verb in routes:
        def endpoint(view=view, **kwargs):
            return view(model, **kwargs)
        endpoint.__name__ = f"{verb}_{name}"
        bp.add_url_rule(f"/{path}{suffix}", endpoint=endpoint.__name__, methods=[method],
                        view_func=api_permission(permission)(endpoint))


_register("keyword-lists", KeywordList)
_register("interactor-lists", InteractorList)
