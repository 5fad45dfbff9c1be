"""The workspace's approval policy in the JSON API (the same rules as Settings → Approval).

- ``GET /api/v1/approval-policy`` (``ViewUsers``) → ``{public_comments, negative_sentiment,
  category_ids[], overdue_minutes}``;
- ``PUT /api/v1/approval-policy`` (``EditChannels``) with the whole policy (a missing key takes its
  default) → 200 the policy as saved; 422 ``{"error": {code, message}}`` naming what is wrong.
"""
from __future__ import annotations

from flask import g, jsonify

from inbox.approval import policy
from inbox.auth.permissions import api_permission
from inbox.db import get_session
from inbox.errors import ApiError

from .views import bp, json_body


@bp.get("/approval-policy")
@api_permission("ViewUsers")
def get_approval_policy():
    return jsonify(policy.load(get_session()).as_dict())


@bp.put("/approval-policy")
@api_permission("EditChannels")
def put_approval_policy():
    session, body = get_session(), json_body()
    try:
        cleaned = policy.clean(body, session)
    except policy.PolicyError as exc:
        session.rollback()
        raise ApiError(422, exc.code, exc.message) from None
    policy.save(session, cleaned, g.api_user)
    session.commit()
    return jsonify(cleaned.as_dict())
