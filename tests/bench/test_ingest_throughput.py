"""Benchmark (``make bench``): webhook intake and ingestion throughput, beside their floor.

Not part of ``make test``: it prints figures instead of asserting speed. The floor is a plain
INSERT of the same number of rows in one transaction per row, as the intake commits per request.
"""
from __future__ import annotations

import json
import time

from sqlalchemy import insert

from helpers import load, run_jobs
from models import RawEvent

N = 500


def test_webhook_intake_and_processing(client, channel):
    path = "/" + channel["webhook_url"].split("://", 1)[1].split("/", 1)[1]
    bodies = []
    for i in range(N):
        body = load("incoming_text")
        body["event"]["properties"]["queueId"] = f"bench-{i}"
        body["device"]["user_id"] = f"user-{i % 50}"
        bodies.append(json.dumps(body, ensure_ascii=False))

    start = time.perf_counter()
    for body in bodies:
        assert client.post(path, data=body, content_type="application/json").status_code == 200
    intake = time.perf_counter() - start

    start = time.perf_counter()
    run_jobs()
    processing = time.perf_counter() - start

    from inbox import db

    start = time.perf_counter()
    for i in range(N):
        with db.engine().begin() as conn:
            conn.execute(insert(RawEvent).values(provider="getloo", body=bodies[i], channel_id=channel["id"]))
    floor = time.perf_counter() - start

    print(f"\n{N} webhooks on {db.engine().dialect.name}:"
          f"\n  intake (HTTP view, raw row committed, job enqueued): {N / intake:8.0f}/s  ({intake * 1000 / N:.2f} ms each)"
          f"\n  floor  (bare INSERT + COMMIT per row):               {N / floor:8.0f}/s  ({floor * 1000 / N:.2f} ms each)"
          f"\n  processing (RQ SimpleWorker, parse + store):         {N / processing:8.0f}/s  ({processing * 1000 / N:.2f} ms each)")
