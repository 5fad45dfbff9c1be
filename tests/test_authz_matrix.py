"""Who may call what: every route of the app × anonymous, agent, supervisor, admin and an outsider.

A route added without a row here fails ``test_every_route_has_a_row``, so each new route's author
decides who may call it. Each cell is the status that role gets for a minimal request (an empty
form or JSON body, with a valid CSRF token for pages): 302 = sent to the login page, 401/403 =
refused, anything else = let in (a 4xx then comes from the body, not from the permission check).

The fifth column, the "outsider", is an agent of another team: the world's channel is owned by the
team of the normal agent, the outsider's team owns another channel. Their status defaults to the
agent's; ``OUTSIDER`` lists only the routes where it differs: every route scoped to the world's
ticket, followup, action or channel answers them 404, exactly like a missing one (no existence leak).

Users' credentials are a session cookie for pages and a personal API token for ``/api/v1``.
Webhooks and ``/api2/public`` take neither: they answer to the channel's own unguessable address
or access token, so a user's credentials change nothing there.
"""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from helpers import csrf_of, load, login, post, run_jobs
from inbox import db
from models import (ApiToken, Category, Channel, Followup, InteractorList, KeywordList, OutboundAction, SavedReply, Tag,
                    Team, Ticket, User)

ROLES = ("anon", "agent", "supervisor", "admin")
ALL_ROLES = (*ROLES, "outsider")

# "METHOD rule": statuses for (anon, agent, supervisor, admin)
MATRIX: dict[str, tuple[int, int, int, int]] = {
    # -- pages ----------------------------------------------------------------------------------
    "GET /": (302, 200, 200, 200),
    "GET /queue/rows": (302, 200, 200, 200),
    "GET /tickets/<int:ticket_id>": (302, 200, 200, 200),
    "GET /tickets/<int:ticket_id>/actions": (302, 200, 200, 200),
    "POST /tickets/<int:ticket_id>/actions/<kind>": (302, 200, 200, 200),
    "POST /tickets/<int:ticket_id>/triage/<kind>": (302, 422, 422, 422),   # priority without "on": let in, refused
    "POST /tickets/<int:ticket_id>/reply": (302, 422, 422, 422),
    # suggestions from the pane: an empty suggestion is refused once let in; the world's followup is
    # a reply, not a suggestion (404 once let in); deciding needs ApproveSuggestion
    "POST /tickets/<int:ticket_id>/suggest": (302, 422, 422, 422),
    "POST /tickets/<int:ticket_id>/suggestions/<int:followup_id>/approve": (302, 403, 404, 404),
    "POST /tickets/<int:ticket_id>/suggestions/<int:followup_id>/reject": (302, 403, 404, 404),
    "POST /tickets/<int:ticket_id>/suggestions/<int:followup_id>/withdraw": (302, 404, 404, 404),
    "POST /tickets/<int:ticket_id>/suggestions/<int:followup_id>/revise": (302, 404, 404, 404),
    # internal notes: any viewer adds (an empty one is refused); edit/delete one's own (the world's
    # followup is a reply, not a note: 404 once let in)
    "POST /tickets/<int:ticket_id>/notes": (302, 422, 422, 422),
    "POST /tickets/<int:ticket_id>/notes/<int:followup_id>": (302, 404, 404, 404),
    "POST /tickets/<int:ticket_id>/notes/<int:followup_id>/delete": (302, 404, 404, 404),
    "GET /tickets/<int:ticket_id>/reply-templates/<action_id>": (302, 404, 404, 404),
    "GET /followups/<int:followup_id>": (302, 200, 200, 200),
    # a person's word on a failed / unknown action (the world's is queued: 409 once let in)
    "POST /actions/<int:action_id>/retry": (302, 409, 409, 409),
    "POST /actions/<int:action_id>/mark-sent": (302, 409, 409, 409),
    "POST /actions/<int:action_id>/send-again": (302, 409, 409, 409),
    "POST /channels/<int:channel_id>/inject": (302, 303, 303, 303),   # EditPosts: agents post to walls
    "GET /settings/channels": (302, 200, 200, 200),
    "POST /settings/channels": (302, 403, 403, 422),
    "POST /settings/channels/<int:channel_id>/rotate": (302, 403, 403, 303),
    "POST /settings/channels/<int:channel_id>/require-approval": (302, 403, 403, 303),
    "GET /settings/resont/connect": (302, 403, 403, 200),
    "POST /settings/resont/connect": (302, 403, 403, 422),
    "GET /settings/resont/callback": (302, 403, 403, 400),
    "GET /settings/tokens": (302, 200, 200, 200),
    "POST /settings/tokens": (302, 201, 201, 201),
    "POST /settings/tokens/<int:token_id>/revoke": (302, 404, 404, 303),   # another's token: 404 unless EditUsers
    "GET /settings/users": (302, 403, 403, 200),
    "POST /settings/users/<int:user_id>/deactivate": (302, 403, 403, 303),
    "POST /settings/users/<int:user_id>/activate": (302, 403, 403, 303),
    "POST /settings/users": (302, 403, 403, 422),
    "POST /settings/users/<int:user_id>": (302, 403, 403, 422),
    "POST /settings/users/<int:user_id>/password": (302, 403, 403, 422),
    # teams: supervisors see the page (ViewUsers), admins change teams (EditUsers)
    "GET /settings/teams": (302, 403, 200, 200),
    "POST /settings/teams": (302, 403, 403, 422),
    "POST /settings/teams/<int:team_id>": (302, 403, 403, 422),
    "POST /settings/teams/<int:team_id>/delete": (302, 403, 403, 303),
    "GET /settings/saved-replies": (302, 200, 200, 200),
    "POST /settings/saved-replies": (302, 422, 422, 422),
    "POST /settings/saved-replies/<int:reply_id>": (302, 403, 403, 422),     # a shared reply: EditTemplates
    "POST /settings/saved-replies/<int:reply_id>/delete": (302, 403, 403, 303),
    "GET /tickets/<int:ticket_id>/saved-replies": (302, 200, 200, 200),
    "GET /tickets/<int:ticket_id>/saved-replies/<int:reply_id>": (302, 200, 200, 200),
    "POST /settings/account/time-zone": (302, 422, 422, 422),
    "GET /settings/account": (302, 200, 200, 200),
    "POST /settings/account": (302, 422, 422, 422),
    # tags and the category tree (settings: EditCategories; force tagging: EditChannels; pickers: ViewTickets)
    # the rules pages: EditRules (admins); no rule exists in the world, so admins are told 404
    "GET /settings/rules": (302, 403, 403, 200),
    "GET /settings/rules/new": (302, 403, 403, 200),
    "POST /settings/rules/new": (302, 403, 403, 422),
    "POST /settings/rules/order": (302, 403, 403, 400),
    "GET /settings/rules/<int:rule_id>": (302, 403, 403, 404),
    "POST /settings/rules/<int:rule_id>": (302, 403, 403, 404),
    "POST /settings/rules/<int:rule_id>/toggle": (302, 403, 403, 404),
    "POST /settings/rules/<int:rule_id>/move": (302, 403, 403, 404),
    "POST /settings/rules/<int:rule_id>/delete": (302, 403, 403, 404),
    "GET /settings/rules/<int:rule_id>/dry-run": (302, 403, 403, 404),
    "GET /settings/rules/<int:rule_id>/versions": (302, 403, 403, 404),
    "POST /settings/rules/<int:rule_id>/versions/<int:version>/restore": (302, 403, 403, 404),
    "GET /settings/tags": (302, 403, 403, 200),
    "POST /settings/tags": (302, 403, 403, 422),
    "POST /settings/tags/<int:tag_id>": (302, 403, 403, 303),
    "POST /settings/tags/<int:tag_id>/merge": (302, 403, 403, 422),
    "POST /settings/tags/<int:tag_id>/delete": (302, 403, 403, 303),
    "GET /settings/categories": (302, 403, 403, 200),
    "POST /settings/categories": (302, 403, 403, 422),
    "POST /settings/categories/<int:category_id>": (302, 403, 403, 422),
    "POST /settings/categories/<int:category_id>/move": (302, 403, 403, 422),
    "POST /settings/categories/<int:category_id>/delete": (302, 403, 403, 303),
    "POST /settings/categories/import": (302, 403, 403, 422),
    "POST /settings/categories/required": (302, 403, 403, 303),
    "GET /tickets/<int:ticket_id>/taxonomy": (302, 200, 200, 200),
    "GET /tickets/<int:ticket_id>/tag-options": (302, 200, 200, 200),
    "GET /tickets/<int:ticket_id>/category-options": (302, 200, 200, 200),
    "POST /tickets/<int:ticket_id>/tags": (302, 422, 422, 422),
    "POST /tickets/<int:ticket_id>/tags/<int:tag_id>/remove": (302, 200, 200, 200),
    "POST /tickets/<int:ticket_id>/categories": (302, 422, 422, 422),
    "POST /tickets/<int:ticket_id>/categories/<int:category_id>/remove": (302, 200, 200, 200),
    # approvals: the page and decisions need ApproveSuggestion (the world's followup is a reply, not
    # a suggestion: 404 once let in; an empty bulk approve is refused); "my suggestions" ReplyTicket
    "GET /approvals": (302, 403, 200, 200),
    "GET /approvals/mine": (302, 200, 200, 200),
    "POST /approvals/<int:followup_id>/approve": (302, 403, 404, 404),
    "POST /approvals/<int:followup_id>/reject": (302, 403, 404, 404),
    "POST /approvals/bulk-approve": (302, 403, 422, 422),
    # notifications: everyone's own
    "GET /notifications": (302, 200, 200, 200),
    "POST /notifications/read": (302, 303, 303, 303),
    # the approval policy: supervisors read it (ViewUsers), admins change it (EditChannels)
    # keyword / interactor list pages, the outbox (EditRules); business hours (EditChannels); the
    # author card's "Add to a list" (EditRules; an empty form is refused once let in)
    "GET /settings/keyword-lists": (302, 403, 403, 200),
    "POST /settings/keyword-lists": (302, 403, 403, 422),
    "POST /settings/keyword-lists/<int:list_id>": (302, 403, 403, 303),
    "POST /settings/keyword-lists/<int:list_id>/import": (302, 403, 403, 303),
    "POST /settings/keyword-lists/<int:list_id>/delete": (302, 403, 403, 303),
    "GET /settings/interactor-lists": (302, 403, 403, 200),
    "POST /settings/interactor-lists": (302, 403, 403, 422),
    "POST /settings/interactor-lists/<int:list_id>": (302, 403, 403, 303),
    "POST /settings/interactor-lists/<int:list_id>/import": (302, 403, 403, 303),
    "POST /settings/interactor-lists/<int:list_id>/delete": (302, 403, 403, 303),
    "GET /settings/outbox": (302, 403, 403, 200),
    "POST /settings/outbox/<int:followup_id>/send": (302, 403, 403, 404),   # the world's followup is a reply
    "POST /settings/channels/<int:channel_id>/business-hours": (302, 403, 403, 422),
    "GET /tickets/<int:ticket_id>/author-lists": (302, 403, 403, 200),
    "POST /tickets/<int:ticket_id>/author-lists": (302, 403, 403, 422),
    "GET /settings/approval": (302, 403, 200, 200),
    "POST /settings/approval": (302, 403, 403, 422),
    "GET /auth/login": (200, 200, 200, 200),
    "POST /auth/login": (401, 401, 401, 401),
    "POST /auth/logout": (302, 302, 302, 302),
    "GET /static/<path:filename>": (200, 200, 200, 200),
    # -- JSON API ---------------------------------------------------------------------------------
    "GET /api/v1/channels": (401, 200, 200, 200),
    "POST /api/v1/channels": (401, 403, 403, 422),
    "GET /api/v1/channels/<int:channel_id>": (401, 200, 200, 200),
    "PATCH /api/v1/channels/<int:channel_id>": (401, 403, 403, 200),
    "DELETE /api/v1/channels/<int:channel_id>": (401, 403, 403, 204),
    "POST /api/v1/channels/<int:channel_id>/actions/<action>": (401, 422, 422, 422),   # EditPosts
    "POST /api/v1/channels/<int:channel_id>/rotate": (401, 403, 403, 200),
    "GET /api/v1/tickets": (401, 200, 200, 200),
    "GET /api/v1/tickets/<int:ticket_id>": (401, 200, 200, 200),
    "POST /api/v1/tickets/<int:ticket_id>/actions/<action>": (401, 200, 200, 200),
    # The world's followup is a reply, not a suggestion: those let in get 404 (or 422 for a missing text).
    "POST /api/v1/tickets/<int:ticket_id>/followups/<int:followup_id>/approve": (401, 403, 404, 404),
    "POST /api/v1/tickets/<int:ticket_id>/followups/<int:followup_id>/reject": (401, 403, 404, 404),
    "POST /api/v1/tickets/<int:ticket_id>/followups/<int:followup_id>/withdraw": (401, 404, 404, 404),
    "POST /api/v1/tickets/<int:ticket_id>/followups/<int:followup_id>/revise": (401, 422, 422, 422),
    "GET /api/v1/suggestions": (401, 200, 200, 200),
    "GET /api/v1/approval-policy": (401, 403, 200, 200),
    "PUT /api/v1/approval-policy": (401, 403, 403, 200),     # the whole policy: {} is the defaults
    "GET /api/v1/actions/<int:action_id>": (401, 200, 200, 200),
    # bulk work: an empty start is refused once let in (400 API / 422 page); no job 1 exists: 404
    "POST /api/v1/bulk": (401, 400, 400, 400),
    "GET /api/v1/bulk/<int:job_id>": (401, 404, 404, 404),
    "POST /bulk": (302, 422, 422, 422),
    "GET /bulk/<int:job_id>": (302, 404, 404, 404),
    "GET /bulk/count": (302, 200, 200, 200),
    "GET /bulk/assignees": (302, 200, 200, 200),
    # folders: everyone who sees the queue has them; an unnamed one is refused once let in; the
    # world has no folder 1 (404 once let in, exactly like someone else's personal folder)
    "GET /queue/folders": (302, 200, 200, 200),
    # live updates: the poll, and presence on a ticket (204; the outsider's is a 404, below)
    "GET /queue/changes": (302, 200, 200, 200),
    "POST /tickets/<int:ticket_id>/presence": (302, 204, 204, 204),
    "GET /folders": (302, 200, 200, 200),
    "POST /folders": (302, 422, 422, 422),
    "POST /folders/<int:folder_id>": (302, 404, 404, 404),
    "GET /api/v1/folders": (401, 200, 200, 200),
    "POST /api/v1/folders": (401, 422, 422, 422),
    "GET /api/v1/folders/counts": (401, 200, 200, 200),
    "GET /api/v1/folders/<int:folder_id>": (401, 404, 404, 404),
    "PATCH /api/v1/folders/<int:folder_id>": (401, 404, 404, 404),
    "DELETE /api/v1/folders/<int:folder_id>": (401, 404, 404, 404),
    "POST /api/v1/actions/<int:action_id>/retry": (401, 409, 409, 409),
    "POST /api/v1/actions/<int:action_id>/mark-sent": (401, 409, 409, 409),
    "POST /api/v1/actions/<int:action_id>/send-again": (401, 409, 409, 409),
    "GET /api/v1/users": (401, 403, 200, 200),
    "POST /api/v1/users": (401, 403, 403, 422),
    "GET /api/v1/users/<int:user_id>": (401, 403, 200, 200),
    "PATCH /api/v1/users/<int:user_id>": (401, 403, 403, 200),
    "GET /api/v1/keyword-lists": (401, 200, 200, 200),
    "POST /api/v1/keyword-lists": (401, 403, 403, 422),
    "GET /api/v1/keyword-lists/<int:list_id>": (401, 200, 200, 200),
    "PATCH /api/v1/keyword-lists/<int:list_id>": (401, 403, 403, 200),
    "DELETE /api/v1/keyword-lists/<int:list_id>": (401, 403, 403, 204),
    "POST /api/v1/keyword-lists/<int:list_id>/import": (401, 403, 403, 422),
    "GET /api/v1/interactor-lists": (401, 200, 200, 200),
    "POST /api/v1/interactor-lists": (401, 403, 403, 422),
    "GET /api/v1/interactor-lists/<int:list_id>": (401, 200, 200, 200),
    "PATCH /api/v1/interactor-lists/<int:list_id>": (401, 403, 403, 200),
    "DELETE /api/v1/interactor-lists/<int:list_id>": (401, 403, 403, 204),
    "POST /api/v1/interactor-lists/<int:list_id>/import": (401, 403, 403, 422),
    "GET /api/v1/rules": (401, 403, 403, 200),
    "POST /api/v1/rules": (401, 403, 403, 422),
    "PATCH /api/v1/rules": (401, 403, 403, 400),
    "GET /api/v1/rules/<int:rule_id>": (401, 403, 403, 404),
    "PATCH /api/v1/rules/<int:rule_id>": (401, 403, 403, 404),
    "DELETE /api/v1/rules/<int:rule_id>": (401, 403, 403, 404),
    "GET /api/v1/rules/<int:rule_id>/versions": (401, 403, 403, 404),
    "POST /api/v1/rules/<int:rule_id>/versions/<int:version>/restore": (401, 403, 403, 404),
    "GET /api/v1/teams": (401, 403, 200, 200),
    "POST /api/v1/teams": (401, 403, 403, 422),
    "GET /api/v1/teams/<int:team_id>": (401, 403, 200, 200),
    "PATCH /api/v1/teams/<int:team_id>": (401, 403, 403, 200),
    "DELETE /api/v1/teams/<int:team_id>": (401, 403, 403, 204),
    "GET /api/v1/saved-replies": (401, 200, 200, 200),
    "POST /api/v1/saved-replies": (401, 422, 422, 422),
    "GET /api/v1/saved-replies/<int:reply_id>": (401, 200, 200, 200),
    "PATCH /api/v1/saved-replies/<int:reply_id>": (401, 403, 403, 200),   # a shared reply: EditTemplates
    "DELETE /api/v1/saved-replies/<int:reply_id>": (401, 403, 403, 204),
    "GET /api/v1/tags": (401, 200, 200, 200),
    "GET /api/v1/tags/<int:tag_id>": (401, 200, 200, 200),
    "POST /api/v1/tags": (401, 403, 403, 422),
    "PATCH /api/v1/tags/<int:tag_id>": (401, 403, 403, 200),
    "DELETE /api/v1/tags/<int:tag_id>": (401, 403, 403, 204),
    "POST /api/v1/tags/<int:tag_id>/merge": (401, 403, 403, 422),
    "GET /api/v1/categories": (401, 200, 200, 200),
    "GET /api/v1/categories/<int:category_id>": (401, 200, 200, 200),
    "POST /api/v1/categories": (401, 403, 403, 422),
    "PATCH /api/v1/categories/<int:category_id>": (401, 403, 403, 200),
    "DELETE /api/v1/categories/<int:category_id>": (401, 403, 403, 204),
    "POST /api/v1/categories/import": (401, 403, 403, 422),
    # -- provider webhooks and the custom channels' public API (not users' credentials) -----------
    "POST /webhooks/<provider>/<token>": (400, 400, 400, 400),
    "GET /api2/public": (401, 401, 401, 401),
    "GET /api2/public/": (401, 401, 401, 401),
    "POST /api2/public/channels": (401, 401, 401, 401),
    "PATCH /api2/public/channel": (401, 401, 401, 401),
    "DELETE /api2/public/channel": (401, 401, 401, 401),
    "PATCH /api2/public/manifest": (401, 401, 401, 401),
    "POST /api2/public/inbox/tickets": (401, 401, 401, 401),
    "PATCH /api2/public/inbox/tickets/<ticket_id>": (401, 401, 401, 401),
    "POST /api2/public/inbox/tickets/<ticket_id>/replies/<rid>/success": (401, 401, 401, 401),
    "POST /api2/public/inbox/tickets/<ticket_id>/reset/<aid>": (401, 401, 401, 401),
    "GET /api2/public/<path:rest>": (401, 401, 401, 401),
    "POST /api2/public/<path:rest>": (401, 401, 401, 401),
    "PATCH /api2/public/<path:rest>": (401, 401, 401, 401),
    "PUT /api2/public/<path:rest>": (401, 401, 401, 401),
    "DELETE /api2/public/<path:rest>": (401, 401, 401, 401),
}

# The outsider (an agent of another team) where they differ from the agent: the world's ticket, its
# followup and action, and its channel are not theirs to see, so each answers 404 like a missing one.
OUTSIDER: dict[str, int] = {
    "POST /tickets/<int:ticket_id>/presence": 404,
    "GET /tickets/<int:ticket_id>": 404,
    "GET /tickets/<int:ticket_id>/actions": 404,
    "POST /tickets/<int:ticket_id>/actions/<kind>": 404,
    "POST /tickets/<int:ticket_id>/triage/<kind>": 404,
    "POST /tickets/<int:ticket_id>/reply": 404,
    "POST /tickets/<int:ticket_id>/suggest": 404,
    "POST /tickets/<int:ticket_id>/notes": 404,
    "GET /followups/<int:followup_id>": 404,
    "POST /actions/<int:action_id>/retry": 404,
    "POST /actions/<int:action_id>/mark-sent": 404,
    "POST /actions/<int:action_id>/send-again": 404,
    "POST /channels/<int:channel_id>/inject": 404,
    "GET /tickets/<int:ticket_id>/saved-replies": 404,
    "GET /tickets/<int:ticket_id>/saved-replies/<int:reply_id>": 404,
    "GET /tickets/<int:ticket_id>/taxonomy": 404,
    "GET /tickets/<int:ticket_id>/tag-options": 404,
    "GET /tickets/<int:ticket_id>/category-options": 404,
    "POST /tickets/<int:ticket_id>/tags": 404,
    "POST /tickets/<int:ticket_id>/tags/<int:tag_id>/remove": 404,
    "POST /tickets/<int:ticket_id>/categories": 404,
    "POST /tickets/<int:ticket_id>/categories/<int:category_id>/remove": 404,
    "GET /api/v1/channels/<int:channel_id>": 404,
    "POST /api/v1/channels/<int:channel_id>/actions/<action>": 404,
    "GET /api/v1/tickets/<int:ticket_id>": 404,
    "POST /api/v1/tickets/<int:ticket_id>/actions/<action>": 404,
    "GET /api/v1/actions/<int:action_id>": 404,
    "POST /api/v1/tickets/<int:ticket_id>/followups/<int:followup_id>/revise": 404,
    "POST /api/v1/actions/<int:action_id>/retry": 404,
    "POST /api/v1/actions/<int:action_id>/mark-sent": 404,
    "POST /api/v1/actions/<int:action_id>/send-again": 404,
}
SCOPED = ("<int:ticket_id>", "<int:followup_id>", "<int:action_id>", "<int:channel_id>")


def expected(key: str) -> tuple[int, ...]:
    """The row's statuses with the outsider's appended (the agent's unless ``OUTSIDER`` says otherwise)."""
    row = MATRIX[key]
    return (*row, OUTSIDER.get(key, row[ROLES.index("agent")]))


# Bodies that get past the permission check to a well-defined answer (chosen per route where the
# empty body would not show that the role was let in).
JSON_BODIES = {
    "PATCH /api/v1/channels/<int:channel_id>": {"name": "Renamed"},
    "POST /api/v1/tickets/<int:ticket_id>/actions/<action>": {},
}
FORM_BODIES = {
    "POST /auth/login": {"email": "nobody@example.test", "password": "wrong"},   # + the role: one failure per pair
}


def _routes(app) -> set[str]:
    found = set()
    for rule in app.url_map.iter_rules():
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            found.add(f"{method} {rule.rule}")
    return found


def test_every_route_has_a_row(app):
    routes = _routes(app)
    assert sorted(routes - MATRIX.keys()) == [], "routes without a row in MATRIX: decide who may call them"
    assert sorted(MATRIX.keys() - routes) == [], "rows for routes that no longer exist"
    assert sorted(OUTSIDER.keys() - routes) == [], "OUTSIDER rows for routes that no longer exist"


def test_every_ticket_scoped_route_is_a_404_for_the_outsider(app):
    """A route of a ticket, a followup, an action or a channel that lets agents in must shut the outsider out
    with 404: a new such route fails here until its author checks visibility (and says so above)."""
    let_in = [key for key in _routes(app) if any(p in key for p in SCOPED) and not key.split(" ", 1)[1].startswith("/api2")
              and MATRIX[key][ROLES.index("agent")] not in (401, 403)]
    assert [key for key in sorted(let_in) if expected(key)[-1] != 404] == []


@pytest.fixture
def world(client, channel, token_for, users):
    """One channel, one ticket with a queued reply (an outbound action and its followup). The
    channel is owned by the agent's team; the outsider's team owns another channel."""
    post(client, channel, load("incoming_text"))
    run_jobs()
    admin = token_for("admin")
    with db.session_scope() as s:
        admin_token_id = s.scalars(select(ApiToken.id).order_by(ApiToken.id)).first()
    with db.session_scope() as s:
        ticket_id = s.scalars(select(Ticket.id)).one()
    sent = client.post(f"/api/v1/tickets/{ticket_id}/actions/reply", json={"text": "Thanks!"},
                       headers={"Authorization": f"Bearer {admin}"})
    assert sent.status_code in (200, 202), sent.get_data(as_text=True)
    with db.session_scope() as s:       # a tag, a category and a team for their routes
        tag, category, team = Tag(name="VIP"), Category(name="Product"), Team(name="Support")
        s.add_all([tag, category, team])
        s.flush()
        tag_id, category_id, team_id = tag.id, category.id, team.id
    with db.session_scope() as s:       # teams: the agent's owns the world's channel, the outsider's another
        other = Channel(provider="getloo", network="instagram", name="Elsewhere", base_url="http://getloo.test",
                        account_ref="elsewhere")
        s.add_all([Team(name="Shop team", members=[s.get(User, users["agent"].id)],
                        channels=[s.get(Channel, channel["id"])]),
                   Team(name="Other team", members=[s.get(User, users["outsider"].id)], channels=[other])])
    with db.session_scope() as s:
        action_id = s.scalars(select(OutboundAction.id)).first()
        followup_id = s.scalars(select(Followup.id)).first()
        shared = SavedReply(name="Thanks", text="Thanks {{author.name}}!", shared=True, owner_id=users["admin"].id)
        s.add_all([shared, KeywordList(name="Refunds", keywords=["refund"]), InteractorList(name="VIPs")])
        s.flush()
        reply_id = shared.id
    return {"ticket_id": ticket_id, "channel_id": channel["id"], "action_id": action_id,
            "followup_id": followup_id, "provider": "getloo",
            "token": channel["webhook_url"].rstrip("/").rsplit("/", 1)[1],
            "kind": "archive", "action": "archive", "filename": "vendor/htmx.min.js",
            "token_id": admin_token_id, "tag_id": tag_id, "category_id": category_id, "user_id": users["agent"].id,
            "reply_id": reply_id, "team_id": team_id, "list_id": 1,     # the first keyword and interactor lists
            "rule_id": 1, "version": 1,   # no rule exists: admins are let in and told 404
            "rid": "0" * 24, "aid": "0" * 24, "job_id": 1, "folder_id": 1, "rest": "nothing-here", "tokens": {
                role: token_for(role) for role in ("agent", "supervisor", "admin", "outsider")}}


def _path(rule: str, world: dict) -> str:
    def fill(match: re.Match) -> str:
        name = match.group(1).split(":")[-1]
        if name == "action" and rule.startswith("/api/v1/channels"):
            return "inject"
        if name == "kind" and "/triage/" in rule:
            return "priority"
        return str(world[name] if name != "ticket_id" or not rule.startswith("/api2") else "0" * 24)
    return re.sub(r"<([^>]+)>", fill, rule)


def _call(app, key: str, role: str, world: dict) -> int:
    method, rule = key.split(" ", 1)
    path = _path(rule, world)
    client = app.test_client()
    headers, kwargs = {}, {}
    if role != "anon":
        if rule.startswith("/api/v1"):
            headers["Authorization"] = f"Bearer {world['tokens'][role]}"
        else:
            assert login(client, role).status_code == 302
    if rule.startswith(("/api", "/webhooks")):
        if method != "GET":
            kwargs["json"] = JSON_BODIES.get(key, {})
    elif method != "GET":
        token = csrf_of(client, "/auth/login")
        headers["X-CSRFToken"] = token
        kwargs["data"] = {"csrf_token": token, **FORM_BODIES.get(key, {})}
        if "email" in kwargs["data"]:
            kwargs["data"]["email"] = f"{role}-{kwargs['data']['email']}"
    response = client.open(path, method=method, headers=headers, **kwargs)
    if response.status_code == 302 and "/auth/login" not in response.headers.get("Location", ""):
        return 303   # let in and sent on somewhere else (not the login page)
    return response.status_code


@pytest.mark.parametrize("key", sorted(MATRIX))
def test_route_answers_each_role_as_the_table_says(app, world, key):
    # Roles in this order so that an admin's destructive call (DELETE) runs last: the outsider first.
    order = ("outsider", *ROLES)
    got = {role: _call(app, key, role, world) for role in order}
    assert tuple(got[role] for role in ALL_ROLES) == expected(key), f"{key}: got {got}"
