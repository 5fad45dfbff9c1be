"""The whole path over real HTTP, with a real Redis and real `flask worker` processes:
connect → webhook registered → message in → ticket → reply → sendMsg → delivery report → delivered."""
from __future__ import annotations

import httpx

from worker_process import run_burst


def test_getloo_end_to_end(app, live, sandbox, token_for):
    api = httpx.Client(base_url=f"{live}/api/v1", headers={"Authorization": f"Bearer {token_for('admin')}"})
    created = api.post("/channels", json={"provider": "getloo", "base_url": sandbox.url,
                                          "credentials": {"token": sandbox.token}})
    assert created.status_code == 201, created.text
    run_burst(app)
    assert sandbox.state.accounts[sandbox.token].webhook == created.json()["webhook_url"]

    payload = sandbox.state.emit_message(sandbox.token, user_id="9001", username="ivan", profile_name="Иван",
                                         text="Добрый вечер! Есть размер M? 🙂")
    sandbox.state.emit_comment(sandbox.token, user_id="9002", comment_id="c-1", username="kate",
                               profile_name="Kate", text="Great post!")
    run_burst(app)
    tickets = api.get("/tickets").json()["data"]
    assert {(t["kind"], t["text"]) for t in tickets} == {("conversation", "Добрый вечер! Есть размер M? 🙂"),
                                                         ("comment", "Great post!")}
    dm = next(t for t in tickets if t["kind"] == "conversation")
    assert dm["author"] == {"external_id": "9001", "username": "ivan", "name": "Иван"}
    assert payload["event"]["properties"]["queueId"]

    assert api.post(f"/tickets/{dm['id']}/actions/reply", json={"text": "Да, есть!"}).status_code == 202
    run_burst(app)
    [sent] = sandbox.state.sent
    assert (sent["user_id"], sent["username"], sent["caption"]) == ("9001", "ivan", "Да, есть!")

    assert sandbox.state.deliver(sent["queue_id"], "delivered") == 200
    run_burst(app)
    [followup] = api.get(f"/tickets/{dm['id']}").json()["followups"]
    assert (followup["type"], followup["text"], followup["status"]) == ("reply", "Да, есть!", "delivered")
