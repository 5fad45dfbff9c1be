"""Templates never mark text as safe: everything they show is autoescaped by Jinja.

Text from a network (a comment, a user name, a custom channel's manifest label) must never reach
a page unescaped. ``|safe`` (or ``{% autoescape false %}``) in a template is how it would: HTML
built in Python and passed in as a string, which is also how the action bar used to dodge an
import cycle. The action bar is now included as a partial with its own context.
"""
from __future__ import annotations

import re
from pathlib import Path

from helpers import login
from inbox import db
from models import ActionState, Channel, OutboundAction, Ticket

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
UNSAFE = re.compile(r"\|\s*safe\b|autoescape\s+false|\bMarkup\b")
# Static, non-data strings that may be marked safe ("file:line fragment"). Prefer none.
ALLOWED: set[str] = set()


def test_no_template_marks_text_safe():
    found = []
    for path in sorted(TEMPLATES.rglob("*.html")):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if UNSAFE.search(line) and f"{path.relative_to(TEMPLATES)}:{number}" not in ALLOWED:
                found.append(f"{path.relative_to(TEMPLATES)}:{number}: {line.strip()}")
    assert not found, "text marked safe in templates (render a partial with {% include %} instead):\n" + "\n".join(found)


def test_the_pane_includes_the_action_bar_with_network_text_escaped(client, users):
    """A provider's error message reaches the action log as text, in the pane and in the bar alone."""
    with db.session_scope() as s:
        channel = Channel(provider="getloo", network="instagram", name="Shop", base_url="http://getloo.test")
        s.add(channel)
        s.flush()
        ticket = Ticket(channel_id=channel.id, network="instagram", kind="comment", external_id="c1", text="hello")
        s.add(ticket)
        s.flush()
        s.add(OutboundAction(channel_id=channel.id, ticket_id=ticket.id, kind="like", state=ActionState.FAILED,
                             error="<img src=x onerror=alert(1)>refused"))
        ticket_id = ticket.id
    login(client, "agent")
    for path in (f"/tickets/{ticket_id}", f"/tickets/{ticket_id}/actions"):
        html = client.get(path).get_data(as_text=True)
        assert 'id="ticket-actions"' in html and 'data-action="archive"' in html
        assert "&lt;img src=x onerror=alert(1)&gt;refused" in html
        assert "<img src=x" not in html
