"""Rule actions on the network (like, delete, hide, and tags a provider keeps too), run end to end:
the item is polled from the Resont sandbox, a real ``flask worker`` process runs the rules job and
then sends the outbound actions it recorded, and the sandbox is asked what it received."""
from __future__ import annotations

from sqlalchemy import select

from inbox import db
from models import Channel, OutboundAction, Tag, Ticket
from rules_world import make_rule, rule_trace, runs
from sandbox import resont as resont_sandbox
from worker_process import run_burst
from workers.poll import poll_channel


def comment_ticket(comment_id: int) -> Ticket:
    with db.session_scope() as s:
        ticket = s.scalars(select(Ticket).filter_by(external_id=f"comment:{comment_id}")).one()
        ticket.tags  # loaded
        s.expunge_all()
        return ticket


def test_like_delete_and_tags_reach_the_network_and_hide_fails_where_it_cannot(app, api, resont):
    sandbox = resont_sandbox.SANDBOX
    spam = api("admin").post("/api/v1/keyword-lists", json={"name": "Spam", "keywords": ["casino"]}).get_json()
    with db.session_scope() as s:
        tag = Tag(name="Fans")
        s.add(tag)
        s.flush()
        tag_id = tag.id
        channel_id = s.scalars(select(Channel.id).where(Channel.account_ref == "101")).one()
    comments = [{"condition": "type", "config": {"types": [{"type": "comment"}]}}]
    make_rule(api, [{"action": "like", "config": {}}, {"action": "add_tags", "config": {"tagIds": [tag_id]}},
                    {"action": "hide", "config": {}}], comments, name="Engage", weight=10)
    make_rule(api, [{"action": "delete", "config": {}}],
              [*comments, {"condition": "message_has_keyword", "config": {"keywordList": spam["id"]}}],
              name="Spam", weight=1, stop=True)
    writes_before = len(sandbox.writes)

    lovely = sandbox.add_comment(101, "Lovely coat! 😍")
    casino = sandbox.add_comment(101, "Best CASINO bonus here")
    assert poll_channel(channel_id).startswith("stored")
    run_burst(app)                      # the rules job, then the sends it queued, in a worker process

    writes = sandbox.writes[writes_before:]
    assert [w["comment_id"] for w in writes if w["kind"] == "comment.like"] == [lovely["id"]]
    assert [w["comment_id"] for w in writes if w["kind"] == "comment.delete"] == [casino["id"]]
    [tagged] = [w for w in writes if w["kind"] == "comment.tag"]
    assert tagged["comment_id"] == lovely["id"]
    assert "Fans" in {sandbox.comment_tags[t]["name"] for t in tagged["tag_ids"]}

    liked = comment_ticket(lovely["id"])
    assert liked.data.get("liked") is True and "Fans" in {t.name for t in liked.tags}
    [run] = runs(liked.id)
    actions = {a["action"]: a for a in rule_trace(run, "Engage")["actions"]}
    assert actions["like"]["ok"] and actions["add_tags"]["ok"] and "sent to resont" in actions["add_tags"]["result"]
    assert (actions["hide"]["ok"], actions["hide"]["result"]) == (False, "resont cannot hide items")

    deleted = comment_ticket(casino["id"])
    assert deleted.data.get("deleted") is True
    [run] = runs(deleted.id)
    assert rule_trace(run, "Spam")["stopped"] is True and [r["name"] for r in run.trace["rules"]] == ["Spam"]
    with db.session_scope() as s:
        states = {(a.ticket_id, a.kind): a.state for a in s.scalars(select(OutboundAction))}
    assert states == {(liked.id, "like"): "sent", (liked.id, "tag"): "sent", (deleted.id, "delete"): "sent"}

    # The worker again: nothing is sent twice.
    run_burst(app)
    assert len(sandbox.writes) == writes_before + len(writes)
