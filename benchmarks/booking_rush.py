"""The 07:00 release rush (放号抢号): N concurrent HTTP clients book from a released day of M slots.

The app runs under uvicorn (``--workers 2`` by default, 1 as before) on PostgreSQL in its own fresh database. Each client books patients one after
another (desk channel, a registrar token) into random slots of the day until its share of attempts is
done. Reported: bookings/s, attempt latency p50/p99, overbookings (must be 0). In the same run the raw
ceiling: the same conditional UPDATEs (``SET booked = booked + 1 WHERE id = %s AND booked < capacity``)
issued with psycopg from the same number of clients; ratio = app attempts/s ÷ raw attempts/s.

The raw ceiling has no HTTP. So that the note can tell how much of the gap is the web stack, the same
clients then post the same bodies to ``/bench/floor`` of the same server (the same app, routing and
body validation, a sync endpoint returning a constant, no database): ``floor_attempts_per_s`` is the
most any endpoint of this stack could do under this load. Also reported: the CPU spent per attempt by
the app's worker processes, by the database's backends and by the load generator (``cpu_ms``), and
what the database's connections were doing during the rush (``pg_states``: sampled
``pg_stat_activity``, as fractions: ``lock`` waiting for a row lock, ``active`` working,
``idle_in_tx`` waiting for the app inside a transaction, ``idle`` waiting for the app between
transactions).

    .venv/bin/python benchmarks/booking_rush.py [--clients 200] [--slots 28] [--attempts 2000] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx  # noqa: E402
import psycopg  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from benchmarks.scratch import scratch_database  # noqa: E402

BASE = os.environ.get("YILIAN_BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
ROOT = Path(__file__).resolve().parents[1]
APP_POOL = 45  # connections of the app's pool, shared out among its worker processes
RAW_MAX_CONNECTIONS = 45


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def setup(url: str, *, slots: int, capacity: int, patients: int) -> tuple[list[int], list[int]]:
    from sqlalchemy.orm import sessionmaker

    from tests.builders import make_department, make_institution, make_patient, make_practitioner, make_user
    from yilian.kit import migrate
    from yilian.kit.auth.domain import Actor, Role
    from yilian.kit.clock import business_date
    from yilian.kit.db import build_engine, unit_of_work
    from yilian.scheduling import service as svc
    from yilian.scheduling.repository import slots_of

    engine = build_engine(url)
    migrate.upgrade(engine)
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    desk = Actor.system("bench")
    surnames = "赵钱孙李周吴郑王冯陈褚卫蒋沈韩杨朱秦尤许何吕施张孔曹严华金魏陶姜"
    with unit_of_work(factory) as s:
        inst = make_institution(s, level=3)
        dept = make_department(s, institution=inst)
        doc = make_practitioner(s, institution=inst, department=dept)
        make_user(s, role=Role.REGISTRAR, institution=inst, username="benchdesk")
        sched = svc.create_schedule(
            s,
            desk,
            department_id=dept.id,
            day=business_date() + timedelta(days=7),
            period="am",
            practitioner_id=doc.id,
            slice_minutes=max(1, 210 // slots),
            slice_capacity=capacity,
        )
        slot_ids = [x.id for x in slots_of(s, sched.id)][:slots]
        ids = []
        for i in range(patients):
            a, b, c = surnames[i % 30], surnames[(i // 30) % 30], surnames[(i // 900) % 30]
            ids.append(make_patient(s, name=a + b + c, birth_date=date(1950, 1, 1) + timedelta(days=i)).id)
    engine.dispose()
    return slot_ids, ids


def _children(pid: int) -> list[int]:
    """``pid`` and its descendants (from /proc)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        for task in Path(f"/proc/{p}/task").glob("*/children"):
            try:
                todo.extend(int(c) for c in task.read_text().split())
            except OSError:
                pass
    return out


def _cpu_s(pids: list[int]) -> float:
    """User + system CPU seconds of ``pids`` (those still alive)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / tick


def _backends(name: str) -> list[int]:
    """The PostgreSQL backends serving database ``name`` (by their process title)."""
    pids = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                title = (d / "cmdline").read_bytes()
            except OSError:
                continue
            if title.startswith(b"postgres:") and f" {name} ".encode() in title:
                pids.append(int(d.name))
    return pids


class _ActivitySampler(threading.Thread):
    """Samples what the database's connections to ``name`` are doing, every 20 ms."""

    def __init__(self, url: str, name: str) -> None:
        super().__init__(daemon=True)
        self.dsn = (
            make_url(url)
            .set(drivername="postgresql", database="postgres")
            .render_as_string(hide_password=False)
        )
        self.name = name
        self.counts: dict[str, int] = {"lock": 0, "active": 0, "idle_in_tx": 0, "idle": 0}
        self.locks: dict[str, int] = {}  # lock waits by wait_event (tuple, transactionid, object...)
        self.halt = threading.Event()

    def run(self) -> None:
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            while not self.halt.wait(0.02):
                for state, wait_type, wait in conn.execute(
                    "SELECT state, wait_event_type, wait_event FROM pg_stat_activity"
                    " WHERE datname = %s AND pid <> pg_backend_pid()",
                    (self.name,),
                ):
                    if state == "active":
                        self.counts["lock" if wait_type == "Lock" else "active"] += 1
                        if wait_type == "Lock":
                            self.locks[wait] = self.locks.get(wait, 0) + 1
                    elif state and state.startswith("idle in transaction"):
                        self.counts["idle_in_tx"] += 1
                    elif state == "idle":
                        self.counts["idle"] += 1

    def fractions(self) -> dict[str, Any]:
        total = sum(self.counts.values()) or 1
        out: dict[str, Any] = {k: round(v / total, 3) for k, v in self.counts.items()}
        out["lock_waits"] = {k: round(v / total, 3) for k, v in sorted(self.locks.items())}
        return out


async def _http_client(
    port: int, request: Callable[[int], bytes], share: list[int], start: asyncio.Event, out: _Tally
) -> None:
    """One client on one kept-alive connection: a warm-up request, then its share, one after another."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: bench\r\n\r\n")  # opens the app's pooled connection
        await _response(reader)
        out.ready += 1
        await start.wait()
        for pid in share:
            t0 = time.perf_counter()
            writer.write(request(pid))
            try:
                status, body = await _response(reader)
            except (OSError, asyncio.IncompleteReadError):
                out.other += 1
                return
            out.lat.append((time.perf_counter() - t0) * 1000)
            if status == 201:
                out.ok += 1
            elif status == 409 and json.loads(body).get("title") == "号源已满":
                out.full += 1
            else:
                out.other += 1
    finally:
        writer.close()


async def _response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """Read one HTTP/1.1 response with a Content-Length: its status and body."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    length = 0
    for line in lines[1:]:
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    return status, await reader.readexactly(length)


@dataclass
class _Tally:
    ok: int = 0
    full: int = 0
    other: int = 0
    ready: int = 0
    lat: list[float] = field(default_factory=list)


def _rush(
    port: int,
    token: str,
    path: str,
    patient_ids: list[int],
    slot_ids: list[int],
    clients: int,
    on_start: Callable[[], None],
) -> dict[str, float]:
    """``clients`` kept-alive connections post one booking body per patient to ``path``, each waiting
    for its answer before the next (a closed loop, as people at terminals); counts and latencies.

    The load generator is one asyncio loop writing the requests by hand (not one thread per client
    with an HTTP library: on 2 shared cores that cost more CPU per request than the app itself). The
    clock starts when every client has its connection open and has had one answer (``/healthz``,
    which also opens the app's pooled database connections), as the raw ceiling's clients start
    with their database connections open."""
    rng = random.Random(7)

    def request(pid: int) -> bytes:
        body = json.dumps({"slot_id": rng.choice(slot_ids), "patient_id": pid, "channel": "desk"}).encode()
        return (
            f"POST {path} HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode() + body

    out = _Tally()

    async def main() -> float:
        start = asyncio.Event()
        tasks = [
            asyncio.create_task(_http_client(port, request, patient_ids[i::clients], start, out))
            for i in range(clients)
        ]
        while out.ready < clients and not any(t.done() for t in tasks):
            await asyncio.sleep(0.01)
        on_start()
        t0 = time.perf_counter()
        start.set()
        await asyncio.gather(*tasks)
        return time.perf_counter() - t0

    elapsed = asyncio.run(main())
    return {
        "ok": out.ok,
        "full": out.full,
        "other": out.other,
        "elapsed": elapsed,
        "attempts": len(out.lat),
        "p50": _pct(out.lat, 0.5),
        "p99": _pct(out.lat, 0.99),
    }


def run_app(
    url: str, slot_ids: list[int], patient_ids: list[int], clients: int, workers: int = 2
) -> tuple[dict[str, float], dict[str, float], dict[str, Any]]:
    """The rush against the app, then the HTTP floor on the same server; and where the CPU went."""
    port = _free_port()
    env = {**os.environ, "YILIAN_DATABASE_URL": url, "YILIAN_BENCH_APP_WORKERS": str(workers)}
    name = make_url(url).database or ""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "benchmarks.booking_rush:api_only",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--workers",
            str(workers),
        ],
        cwd=ROOT,
        env=env,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(200):
            try:
                if httpx.get(base + "/openapi.json", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        token = httpx.post(
            base + "/api/v1/auth/token", json={"username": "benchdesk", "password": "Test@2026"}
        )
        token.raise_for_status()
        bearer = token.json()["access_token"]
        app_pids = _children(proc.pid)
        cpu: dict[str, dict[str, float]] = {}

        def measured(path: str, label: str) -> dict[str, float]:
            marks: list[tuple[float, float, float]] = []

            def snapshot() -> None:
                usage = resource.getrusage(resource.RUSAGE_SELF)
                marks.append((_cpu_s(app_pids), _cpu_s(_backends(name)), usage.ru_utime + usage.ru_stime))

            result = _rush(port, bearer, path, patient_ids, slot_ids, clients, snapshot)
            snapshot()
            n = max(1, result["attempts"])
            (a0, d0, c0), (a1, d1, c1) = marks
            cpu[label] = {
                "app": round((a1 - a0) / n * 1000, 2),
                "db": round((d1 - d0) / n * 1000, 2),
                "client": round((c1 - c0) / n * 1000, 2),
            }
            return result

        sampler = _ActivitySampler(url, name)
        sampler.start()
        app = measured("/api/v1/scheduling/bookings", "booking")
        sampler.halt.set()
        sampler.join()
        floor = measured("/bench/floor", "floor")
        profile: dict[str, Any] = {"cpu_ms": cpu, "pg_states": sampler.fractions()}
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    return app, floor, profile


def api_only():  # type: ignore[no-untyped-def]
    from yilian.app import create_app
    from yilian.kit import db
    from yilian.scheduling.schemas import BookingCreate

    # 200 clients against the default pool (10 + 20, 30 s timeout) starve it; size it for the rush,
    # below PostgreSQL's max_connections (100 by default).
    workers = int(os.environ.get("YILIAN_BENCH_APP_WORKERS", "1"))
    db.configure(
        os.environ["YILIAN_DATABASE_URL"], pool_size=APP_POOL // workers, max_overflow=0, pool_timeout=120
    )
    app = create_app(with_ui=False, dispatcher=False)

    @app.post("/bench/floor", status_code=201, include_in_schema=False)
    def floor(body: BookingCreate) -> dict[str, int]:  # the web stack alone: no database
        return {"slot_id": body.slot_id, "patient_id": body.patient_id}

    return app


def overbooked(url: str) -> tuple[int, int]:
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn) as conn:
        over = conn.execute(
            "SELECT coalesce(sum(greatest(booked - capacity, 0)), 0) FROM sched_slots"
        ).fetchone()
        rows = conn.execute(
            "SELECT coalesce(sum(greatest(n - capacity, 0)), 0) FROM (SELECT s.capacity, count(b.id) n FROM sched_slots s "
            "LEFT JOIN sched_bookings b ON b.slot_id = s.id GROUP BY s.id, s.capacity) x"
        ).fetchone()
        assert over is not None and rows is not None
        return int(over[0]), int(rows[0])


def run_raw(url: str, slot_ids: list[int], attempts: int, clients: int) -> dict[str, float]:
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("UPDATE sched_slots SET booked = 0")
    ok = 0
    lock = threading.Lock()
    started: list[float] = []  # the clock starts when every client has its connection open
    barrier = threading.Barrier(clients, action=lambda: started.append(time.perf_counter()))

    def client(n: int, seed: int) -> None:
        nonlocal ok
        rng = random.Random(seed)
        with psycopg.connect(dsn) as conn:
            barrier.wait()
            for _ in range(n):
                cur = conn.execute(
                    "UPDATE sched_slots SET booked = booked + 1 WHERE id = %s AND booked < capacity",
                    (rng.choice(slot_ids),),
                )
                conn.commit()
                if cur.rowcount == 1:
                    with lock:
                        ok += 1

    per = [len(range(i, attempts, clients)) for i in range(clients)]
    threads = [threading.Thread(target=client, args=(n, i)) for i, n in enumerate(per)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {"ok": ok, "elapsed": time.perf_counter() - started[0], "attempts": attempts}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--clients", type=int, default=200)
    ap.add_argument("--slots", type=int, default=14)
    ap.add_argument("--capacity", type=int, default=50)
    ap.add_argument("--attempts", type=int, default=1000)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument(
        "--workers", type=int, default=2, help="uvicorn worker processes (a hospital runs more than one)"
    )
    args = ap.parse_args()
    if args.quick:
        args.attempts, args.capacity = 400, 20
    with scratch_database(BASE, "yilian_rush") as scratch:
        url = scratch.render_as_string(hide_password=False)
        os.environ["YILIAN_DATABASE_URL"] = url
        slot_ids, patient_ids = setup(url, slots=args.slots, capacity=args.capacity, patients=args.attempts)
        app, floor, profile = run_app(url, slot_ids, patient_ids, args.clients, args.workers)
        over_counter, over_rows = overbooked(url)
        raw = run_raw(url, slot_ids, args.attempts, min(args.clients, RAW_MAX_CONNECTIONS))
    app_rate = app["attempts"] / app["elapsed"]
    raw_rate = raw["attempts"] / raw["elapsed"]
    print(
        f"app: {app['attempts']} attempts by {args.clients} clients in {app['elapsed']:.2f}s, "
        f"{app['ok']} booked, {app['full']} 号源已满, {app['other']} other; p50 {app['p50']:.1f} ms, p99 {app['p99']:.1f} ms"
    )
    print(f"raw: {raw['attempts']} conditional UPDATEs in {raw['elapsed']:.2f}s, {raw['ok']} claimed")
    result = {
        "clients": args.clients,
        "workers": args.workers,
        "slots": len(slot_ids),
        "capacity_total": len(slot_ids) * args.capacity,
        "attempts": app["attempts"],
        "booked": app["ok"],
        "slot_full": app["full"],
        "other_errors": app["other"],
        "bookings_per_s": round(app["ok"] / app["elapsed"], 1),
        "attempts_per_s": round(app_rate, 1),
        "p50_ms": round(app["p50"], 1),
        "p99_ms": round(app["p99"], 1),
        "overbooked": over_counter + over_rows,
        "raw_attempts_per_s": round(raw_rate, 1),
        "raw_claimed": raw["ok"],
        "ratio_to_raw": round(app_rate / raw_rate, 4),
        "floor_attempts_per_s": round(floor["attempts"] / floor["elapsed"], 1),
        "floor_p99_ms": round(floor["p99"], 1),
        "floor_ratio_to_raw": round(floor["attempts"] / floor["elapsed"] / raw_rate, 4),
        "ratio_to_floor": round(app_rate / (floor["attempts"] / floor["elapsed"]), 4),
        **profile,
        "load_avg_1m": round(os.getloadavg()[0], 1),
    }
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
