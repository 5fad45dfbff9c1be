"""The sandbox app as a whole: one control API for every provider, its page, its demo traffic,
and its independence from the product."""
from __future__ import annotations

import ast
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from flask import Flask, request
from werkzeug.serving import make_server

import sandbox
from sandbox.app import create_app, demo_tick, start_demo_traffic

ROOT = Path(sandbox.__file__).parent


class Served:
    def __init__(self, app: Flask) -> None:
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture(scope="module")
def root() -> Iterator[str]:
    served = Served(create_app(inbox_url="http://127.0.0.1:5000"))
    yield served.url
    served.server.shutdown()


@pytest.fixture(scope="module")
def receiver() -> Iterator[tuple[str, list]]:
    """Stands in for the inbox: webhooks and /api2/public pushes land here."""
    got: list = []
    app = Flask("receiver")

    @app.post("/hook")
    def hook():
        got.append(request.get_json())
        return {"ok": True}

    @app.patch("/api2/public/manifest")
    def manifest():          # the integration registers its webhook (a real inbox tests it first)
        got.append(request.get_json())
        return {"manifest": request.get_json()}

    @app.post("/api2/public/inbox/tickets")
    def push():
        got.append(request.get_json())
        return {"_id": "a" * 24}, 201

    served = Served(app)
    yield served.url, got
    served.server.shutdown()


@pytest.fixture(autouse=True)
def fresh():
    for state in sandbox.sandboxes().values():
        state.reset()
    yield
    for state in sandbox.sandboxes().values():
        state.reset()


def test_every_provider_answers_the_same_control_api(root, receiver):
    hook, got = receiver
    with httpx.Client(timeout=10) as client:
        # What an inbox would have done: register the Getloo webhook, install the custom integration.
        client.post(f"{root}/sandbox/getloo/DEMO1-AKFH5-H390S-HDRJS-Y5U43/setWebHook", json={"url": f"{hook}/hook"})
        assert client.post(f"{root}/sandbox/custom/_sandbox/demo/install",
                           json={"api_base": f"{hook}/api2", "access_token": "t" * 20}).status_code == 201
        for provider, state in sandbox.sandboxes().items():
            for kind in state.kinds:
                response = client.post(f"{root}/sandbox/{provider}/_sandbox/incoming",
                                       json={"kind": kind, "text": f"Привет от {provider} 🙂"})
                assert response.status_code == 201, (provider, kind, response.text)
            assert client.post(f"{root}/sandbox/{provider}/_sandbox/incoming",
                               json={"kind": "nope"}).status_code == 400
            requests = client.get(f"{root}/sandbox/{provider}/_sandbox/requests").json()["requests"]
            assert isinstance(requests, list)
            assert client.post(f"{root}/sandbox/{provider}/_sandbox/fail", json={"name": "x"}).status_code == 200
            assert client.post(f"{root}/sandbox/{provider}/_sandbox/reset").status_code == 200
    texts = str(got)
    assert "Привет от getloo" in texts and "Привет от custom" in texts     # by webhook, and pushed to /api2


def test_the_failure_injected_through_the_control_api_reaches_the_provider_api(root):
    with httpx.Client(timeout=10) as client:
        client.post(f"{root}/sandbox/socialposts/_sandbox/fail", json={"name": "list", "status": 503, "times": 1})
        url = f"{root}/sandbox/socialposts/brands/b3ad887b-a14e-4bff-b618-a2edb675d19b/social-posts"
        headers = {"Authorization": "Bearer sp_demo_9c2e4f7a1b3d5e8f"}
        assert client.get(url, headers=headers).status_code == 503
        assert client.get(url, headers=headers).status_code == 200
        client.post(f"{root}/sandbox/resont/_sandbox/fail", json={"name": "account.list", "status": 429})
        assert client.get(f"{root}/sandbox/resont/token/v1/account",
                          params={"token": "RSNT-demo-7f3a9c2e41b84d0f"}).status_code == 429
        log = client.get(f"{root}/sandbox/resont/_sandbox/requests").json()["requests"]
        assert (log[-1]["method"], log[-1]["path"], log[-1]["status"]) == ("GET", "account", 429)


def test_the_page_lists_every_sandbox_and_its_forms_drive_them(root):
    page = httpx.get(f"{root}/").text
    for provider, state in sandbox.sandboxes().items():
        assert f'action="{state.prefix}/_sandbox/incoming"' in page
    assert f"{root}/sandbox/resont" in page and "RSNT-demo-7f3a9c2e41b84d0f" in page        # demo credentials
    assert "http://127.0.0.1:5000" in page
    # A person uses the wall's form: a plain form post, sent back to the page.
    response = httpx.post(f"{root}/sandbox/socialwall/_sandbox/incoming",
                          data={"kind": "wall_post", "text": "سلام از فرم"}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/?provider=socialwall")
    walls = sandbox.sandboxes()["socialwall"].walls
    assert any(m["text"] == "سلام از فرم" for m in walls["9074"].accepted)
    # What our app sent a provider shows on the page.
    httpx.get(f"{root}/sandbox/getloo/DEMO1-AKFH5-H390S-HDRJS-Y5U43/getInfo")
    assert "getInfo" in httpx.get(f"{root}/").text


def test_demo_traffic_produces_items_on_its_own():
    sandboxes = {"socialwall": sandbox.sandboxes()["socialwall"]}
    before = len(sandboxes["socialwall"].walls["9074"].accepted)
    assert demo_tick(sandboxes).startswith("socialwall: one new")
    stop = start_demo_traffic(sandboxes, interval=0.05)
    try:
        deadline = time.monotonic() + 5
        while len(sandboxes["socialwall"].walls["9074"].accepted) < before + 3 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
    assert len(sandboxes["socialwall"].walls["9074"].accepted) >= before + 3
    # Nowhere to deliver (no Getloo webhook registered): a message, not a crash.
    assert "webhook" in demo_tick({"getloo": sandbox.sandboxes()["getloo"]})


def test_the_sandbox_imports_nothing_of_the_product():
    product = {"inbox", "models", "workers", "app"}
    for path in ROOT.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            else:
                continue
            assert not {n.split(".")[0] for n in names} & product, f"{path} imports {names}"
