"""Business hours on the channels page: what is stored, what is refused (inline, nothing saved),
clearing them, who may, and that the rules read them (``inbox.rules.items.lookups``)."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from helpers import csrf_of, local_ticket, login
from inbox import db
from inbox.rules.items import lookups
from models import Channel, Ticket


@pytest.fixture
def channel_id(app) -> int:
    with db.session_scope() as s:
        return s.get(Ticket, local_ticket()).channel_id


def _hours(channel_id: int):
    with db.session_scope() as s:
        return s.get(Channel, channel_id).business_hours


def _post(client, channel_id: int, **form):
    token = csrf_of(client, "/settings/channels")
    return client.post(f"/settings/channels/{channel_id}/business-hours", data={"csrf_token": token, **form})


def test_hours_are_stored_in_the_engine_shape_and_rules_see_them(client, users, channel_id):
    login(client, "admin")
    saved = _post(client, channel_id, zone="Asia/Tehran", d0_start0="09:00", d0_end0="13:00", d0_start1="14:00",
                  d0_end1="18:00", d5_start0="10:00", d5_end0="00:00", holidays="2026-03-21\n\n2026-03-20\n")
    assert saved.status_code == 302
    assert _hours(channel_id) == {"zone": "Asia/Tehran", "week": {"0": [["09:00", "13:00"], ["14:00", "18:00"]],
                                                                  "5": [["10:00", "24:00"]]},
                                  "holidays": ["2026-03-20", "2026-03-21"]}
    with db.session_scope() as s:
        hours = lookups(s).business_hours[channel_id]
    # Monday 2026-11-30 10:00 in Tehran (06:30 UTC) is open; 13:30 is the lunch break.
    assert hours.is_open(datetime(2026, 11, 30, 6, 30, tzinfo=timezone.utc))
    assert not hours.is_open(datetime(2026, 11, 30, 10, 0, tzinfo=timezone.utc))
    page = client.get("/settings/channels").get_data(as_text=True)
    assert "Business hours (Asia/Tehran)" in page and 'value="14:00"' in page and '<option value="Europe/Moscow">' in page


@pytest.mark.parametrize("form, message", [
    ({"zone": "Mars/Olympus"}, "&#39;Mars/Olympus&#39; is not a time zone"),
    ({"zone": ""}, "Choose a time zone"),
    ({"zone": "Europe/Moscow", "d1_start0": "17:00", "d1_end0": "09:00"}, "Tuesday: 09:00 is not after 17:00"),
    ({"zone": "Europe/Moscow", "d2_start0": "09:00"}, "Wednesday: give both"),
    ({"zone": "Europe/Moscow", "d3_start0": "9h", "d3_end0": "17:00"}, "Thursday: &#39;9h&#39; is not a time"),
    ({"zone": "Europe/Moscow", "holidays": "2026-02-30"}, "Holiday &#39;2026-02-30&#39; is not a date"),
])
def test_bad_hours_are_refused_inline_and_nothing_is_saved(client, users, channel_id, form, message):
    login(client, "admin")
    assert _post(client, channel_id, zone="UTC", d0_start0="08:00", d0_end0="16:00").status_code == 302
    before = _hours(channel_id)
    refused = _post(client, channel_id, **form)
    assert refused.status_code == 422
    body = refused.get_data(as_text=True)
    assert message in body
    assert f'id="business-hours-{channel_id}" open' in body      # the form stays open with what was typed
    assert _hours(channel_id) == before


def test_clearing_removes_the_hours(client, users, channel_id):
    login(client, "admin")
    _post(client, channel_id, zone="UTC", d0_start0="08:00", d0_end0="16:00")
    assert _post(client, channel_id, clear="1").status_code == 302
    assert _hours(channel_id) is None
    with db.session_scope() as s:
        assert channel_id not in lookups(s).business_hours


def test_only_who_edits_channels_sets_hours(client, users, channel_id):
    login(client, "supervisor")
    assert "Business hours" not in client.get("/settings/channels").get_data(as_text=True)
    assert _post(client, channel_id, zone="UTC").status_code == 403
    assert _hours(channel_id) is None
