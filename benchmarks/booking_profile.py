"""One booking request end to end, in-process: round trips, time in the database, time in Python.

A fresh PostgreSQL database gets the booking rush's day (``booking_rush.setup``); the app runs in this
process behind Starlette's test client (the same ASGI stack, routing, dependencies and threadpool hops
as under uvicorn, without the sockets); bookings are made one after another, so nothing waits on a lock
and the split is the request's own work. Counted per booking on the engine: statements (cursor
executes, the pool's pre-ping among them), BEGINs and COMMITs, on the driver (see ``Counter``);
``db_ms`` is the time spent inside them (network, server and the driver), ``python_ms`` the rest of
the request's wall time. ``--cprofile N`` prints the N most expensive functions (cumulative).

    .venv/bin/python benchmarks/booking_profile.py [--bookings 300] [--cprofile 30]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.booking_rush import BASE, setup  # noqa: E402
from benchmarks.scratch import scratch_database  # noqa: E402


class Counter:
    """Round trips and their time, counted on the driver (psycopg 3): every statement a cursor runs (the
    ORM's, a pool pre-ping's, one sent by hand in a pipeline), the BEGIN psycopg sends before the first
    statement of a transaction, every COMMIT that is sent (one on an idle connection sends nothing);
    statements and a COMMIT sent together in one pipeline count as one round trip."""

    def __init__(self) -> None:
        self.statements = self.begins = self.commits = self.pipelined = 0
        self.db_s = 0.0
        self.texts: list[str] = []

    def attach(self) -> None:
        from psycopg import Connection, Cursor, pq

        execute, commit, pipeline = Cursor.execute, Connection.commit, Connection.pipeline
        counter = self

        def counted_execute(cur: Any, query: Any, params: Any = None, **kw: Any) -> Any:
            conn = cur.connection
            in_pipeline = conn._pipeline is not None
            if not conn.autocommit and conn.pgconn.transaction_status == pq.TransactionStatus.IDLE:
                counter.begins += 0 if in_pipeline else 1
            counter.statements += 1
            counter.pipelined += 1 if in_pipeline else 0
            counter.texts.append(("[pipeline] " if in_pipeline else "") + " ".join(str(query).split())[:110])
            t0 = time.perf_counter()
            try:
                return execute(cur, query, params, **kw)
            finally:
                counter.db_s += time.perf_counter() - t0

        def counted_commit(conn: Any) -> None:
            if conn.pgconn.transaction_status != pq.TransactionStatus.IDLE:
                counter.commits += 1
                counter.pipelined += 1 if conn._pipeline is not None else 0
                counter.texts.append(("[pipeline] " if conn._pipeline is not None else "") + "COMMIT")
            t0 = time.perf_counter()
            try:
                commit(conn)
            finally:
                counter.db_s += time.perf_counter() - t0

        def timed_pipeline(conn: Any) -> Any:
            inner = pipeline(conn)

            class Timed:
                def __enter__(self) -> Any:
                    self.t0 = time.perf_counter()
                    return inner.__enter__()

                def __exit__(self, *exc: Any) -> Any:
                    try:
                        return inner.__exit__(*exc)
                    finally:
                        counter.db_s += time.perf_counter() - self.t0
                        counter.pipelined -= 1  # the pipeline's statements and COMMIT: one round trip

            return Timed()

        Cursor.execute = counted_execute  # type: ignore[method-assign]
        Connection.commit = counted_commit  # type: ignore[method-assign]
        Connection.pipeline = timed_pipeline  # type: ignore[method-assign]

    def reset(self) -> None:
        self.statements = self.begins = self.commits = self.pipelined = 0
        self.db_s = 0.0
        self.texts = []


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--bookings", type=int, default=300)
    ap.add_argument("--cprofile", type=int, default=0, help="print the N top functions by cumulative time")
    args = ap.parse_args()
    with scratch_database(BASE, "yilian_bprof") as scratch:
        url = scratch.render_as_string(hide_password=False)
        os.environ["YILIAN_DATABASE_URL"] = url
        warm = 30
        slot_ids, patient_ids = setup(url, slots=14, capacity=100, patients=args.bookings + warm)
        result = _profile(url, slot_ids, patient_ids, warm, args.cprofile)
    print(json.dumps(result, ensure_ascii=False))


def _profile(url: str, slot_ids: list[int], patient_ids: list[int], warm: int, top: int) -> dict[str, Any]:
    from fastapi.testclient import TestClient

    from yilian.app import create_app
    from yilian.kit import db

    db.configure(url, pool_size=5, max_overflow=0)
    counter = Counter()
    counter.attach()
    app = create_app(with_ui=False, dispatcher=False)
    with TestClient(app) as client:
        token = client.post("/api/v1/auth/token", json={"username": "benchdesk", "password": "Test@2026"})
        token.raise_for_status()
        headers = {"Authorization": "Bearer " + token.json()["access_token"]}

        def book(pid: int, slot: int) -> None:
            r = client.post(
                "/api/v1/scheduling/bookings",
                json={"slot_id": slot, "patient_id": pid, "channel": "desk"},
                headers=headers,
            )
            assert r.status_code == 201, r.text

        for i, pid in enumerate(patient_ids[:warm]):
            book(pid, slot_ids[i % len(slot_ids)])
        counter.reset()
        book(patient_ids[warm], slot_ids[0])
        one = list(counter.texts)
        counter.reset()
        rest = patient_ids[warm + 1 :]
        prof = cProfile.Profile() if top else None
        t0 = time.perf_counter()
        if prof is not None:
            prof.enable()
        for i, pid in enumerate(rest):
            book(pid, slot_ids[i % len(slot_ids)])
        if prof is not None:
            prof.disable()
        wall = time.perf_counter() - t0
    n = len(rest)
    if prof is not None:
        out = io.StringIO()
        pstats.Stats(prof, stream=out).sort_stats("cumulative").print_stats(top)
        print(out.getvalue())
    print("statements of one booking:")
    for s in one:
        print("  ", s)
    return {
        "bookings": n,
        "statements": round(counter.statements / n, 2),  # the pool's pre-ping included
        "begins": round(counter.begins / n, 2),
        "commits": round(counter.commits / n, 2),
        "round_trips": round(
            (counter.statements + counter.begins + counter.commits - counter.pipelined) / n, 2
        ),
        "wall_ms": round(wall / n * 1000, 3),
        "db_ms": round(counter.db_s / n * 1000, 3),
        "python_ms": round((wall - counter.db_s) / n * 1000, 3),
        "profiled": prof is not None,
    }


if __name__ == "__main__":
    main()
