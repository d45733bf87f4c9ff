"""The 07:00 release rush (放号抢号): N concurrent HTTP clients book from a released day of M slots.

The app runs under uvicorn (``--workers 2`` by default, 1 as before) on PostgreSQL in its own fresh database. Each client books patients one after
another (desk channel, a registrar token) into random slots of the day until its share of attempts is
done. Reported: bookings/s, attempt latency p50/p99, overbookings (must be 0). In the same run the raw
ceiling: the same conditional UPDATEs (``SET booked = booked + 1 WHERE id = %s AND booked < capacity``)
issued with psycopg from the same number of clients; ratio = app attempts/s ÷ raw attempts/s.

    .venv/bin/python benchmarks/booking_rush.py [--clients 200] [--slots 28] [--attempts 2000] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import socket
import subprocess
import sys
import threading
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx  # noqa: E402
import psycopg  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

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


def run_app(
    url: str, slot_ids: list[int], patient_ids: list[int], clients: int, workers: int = 2
) -> dict[str, float]:
    port = _free_port()
    env = {**os.environ, "YILIAN_DATABASE_URL": url, "YILIAN_BENCH_APP_WORKERS": str(workers)}
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
        headers = {"Authorization": "Bearer " + token.json()["access_token"]}
        lat: list[float] = []
        ok = full = other = 0
        lock = threading.Lock()
        shares = [patient_ids[i::clients] for i in range(clients)]
        barrier = threading.Barrier(clients)

        def client(share: list[int]) -> None:
            nonlocal ok, full, other
            rng = random.Random(share[0] if share else 0)
            with httpx.Client(base_url=base, headers=headers, timeout=60) as c:
                barrier.wait()
                for pid in share:
                    t0 = time.perf_counter()
                    try:
                        r = c.post(
                            "/api/v1/scheduling/bookings",
                            json={"slot_id": rng.choice(slot_ids), "patient_id": pid, "channel": "desk"},
                        )
                    except httpx.HTTPError:
                        with lock:
                            other += 1
                        continue
                    dt = (time.perf_counter() - t0) * 1000
                    with lock:
                        lat.append(dt)
                        if r.status_code == 201:
                            ok += 1
                        elif r.status_code == 409 and r.json().get("title") == "号源已满":
                            full += 1
                        else:
                            other += 1

        threads = [threading.Thread(target=client, args=(sh,)) for sh in shares]
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - t0
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    return {
        "ok": ok,
        "full": full,
        "other": other,
        "elapsed": elapsed,
        "attempts": len(lat),
        "p50": _pct(lat, 0.5),
        "p99": _pct(lat, 0.99),
    }


def api_only():  # type: ignore[no-untyped-def]
    from yilian.app import create_app
    from yilian.kit import db

    # 200 clients against the default pool (10 + 20, 30 s timeout) starve it; size it for the rush,
    # below PostgreSQL's max_connections (100 by default).
    workers = int(os.environ.get("YILIAN_BENCH_APP_WORKERS", "1"))
    db.configure(
        os.environ["YILIAN_DATABASE_URL"], pool_size=APP_POOL // workers, max_overflow=0, pool_timeout=120
    )
    return create_app(with_ui=False, dispatcher=False)


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
    barrier = threading.Barrier(clients)

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
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {"ok": ok, "elapsed": time.perf_counter() - t0, "attempts": attempts}


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
    base = make_url(BASE)
    name = f"yilian_rush_{secrets.token_hex(3)}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = base.set(database=name).render_as_string(hide_password=False)
    try:
        os.environ["YILIAN_DATABASE_URL"] = url
        slot_ids, patient_ids = setup(url, slots=args.slots, capacity=args.capacity, patients=args.attempts)
        app = run_app(url, slot_ids, patient_ids, args.clients, args.workers)
        over_counter, over_rows = overbooked(url)
        raw = run_raw(url, slot_ids, args.attempts, min(args.clients, RAW_MAX_CONNECTIONS))
    finally:
        with admin.connect() as conn:
            conn.execute(
                text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"), {"n": name}
            )
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()
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
    }
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
