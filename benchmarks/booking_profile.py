"""One booking request end to end, in-process: round trips, time in the database, time in Python.

A fresh PostgreSQL database gets the booking rush's day (``booking_rush.setup``); the app runs in this
process behind Starlette's test client (the same ASGI stack, routing, dependencies and threadpool hops
as under uvicorn, without the sockets); bookings are made one after another, so nothing waits on a lock
and the split is the request's own work. Counted per booking on the engine: statements (cursor
executes), pool pre-pings, BEGINs and COMMITs (each a round trip with psycopg 3); ``db_ms`` is the time
spent inside the cursor executes, pings and commits (network, server and the driver), ``python_ms`` the
rest of the request's wall time. ``--cprofile N`` prints the N most expensive functions (cumulative).

    .venv/bin/python benchmarks/booking_profile.py [--bookings 300] [--cprofile 30]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import secrets
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import create_engine, event, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from benchmarks.booking_rush import BASE, setup  # noqa: E402


class Counter:
    """Round trips and their time, counted on the engine."""

    def __init__(self) -> None:
        self.statements = self.pings = self.begins = self.commits = 0
        self.db_s = 0.0
        self.texts: list[str] = []
        self._t0 = 0.0

    def attach(self, engine: Any) -> None:
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)
        event.listen(engine, "begin", self._begin)
        event.listen(engine, "commit", self._commit)
        dialect = engine.dialect
        ping = dialect.do_ping

        def counted_ping(conn: Any) -> bool:
            t0 = time.perf_counter()
            try:
                return bool(ping(conn))
            finally:
                self.pings += 1
                self.db_s += time.perf_counter() - t0

        dialect.do_ping = counted_ping
        commit = dialect.do_commit

        def timed_commit(conn: Any) -> None:
            t0 = time.perf_counter()
            try:
                commit(conn)
            finally:
                self.db_s += time.perf_counter() - t0

        dialect.do_commit = timed_commit

    def reset(self) -> None:
        self.statements = self.pings = self.begins = self.commits = 0
        self.db_s = 0.0
        self.texts = []

    def _before(self, _c: Any, _cur: Any, statement: str, *_a: Any) -> None:
        self._t0 = time.perf_counter()
        self.texts.append(" ".join(statement.split())[:110])

    def _after(self, *_a: Any) -> None:
        self.statements += 1
        self.db_s += time.perf_counter() - self._t0

    def _begin(self, _c: Any) -> None:
        self.begins += 1

    def _commit(self, _c: Any) -> None:
        self.commits += 1


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--bookings", type=int, default=300)
    ap.add_argument("--cprofile", type=int, default=0, help="print the N top functions by cumulative time")
    args = ap.parse_args()
    base = make_url(BASE)
    name = f"yilian_bprof_{secrets.token_hex(3)}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = base.set(database=name).render_as_string(hide_password=False)
    try:
        os.environ["YILIAN_DATABASE_URL"] = url
        warm = 30
        slot_ids, patient_ids = setup(url, slots=14, capacity=100, patients=args.bookings + warm)
        result = _profile(url, slot_ids, patient_ids, warm, args.cprofile)
    finally:
        with admin.connect() as conn:
            conn.execute(
                text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"), {"n": name}
            )
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()
    print(json.dumps(result, ensure_ascii=False))


def _profile(url: str, slot_ids: list[int], patient_ids: list[int], warm: int, top: int) -> dict[str, Any]:
    from fastapi.testclient import TestClient

    from yilian.app import create_app
    from yilian.kit import db

    engine = db.configure(url, pool_size=5, max_overflow=0)
    counter = Counter()
    counter.attach(engine)
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
        "statements": round(counter.statements / n, 2),
        "pings": round(counter.pings / n, 2),
        "begins": round(counter.begins / n, 2),
        "commits": round(counter.commits / n, 2),
        "round_trips": round((counter.statements + counter.pings + counter.begins + counter.commits) / n, 2),
        "wall_ms": round(wall / n * 1000, 3),
        "db_ms": round(counter.db_s / n * 1000, 3),
        "python_ms": round((wall - counter.db_s) / n * 1000, 3),
        "profiled": prof is not None,
    }


if __name__ == "__main__":
    main()
