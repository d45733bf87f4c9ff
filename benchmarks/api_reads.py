"""Authenticated API reads: FHIR Patient, FHIR Observation search and a patient's bookings, over HTTP.

The demo alliance is seeded into a fresh PostgreSQL database; the app runs under uvicorn with
``--workers N``; C client threads (a doctor's token for the FHIR reads, the registrar's for the
bookings) read random patients of the hospital for D seconds, the three kinds in turn. In the same run
the ceiling: the same rows read by hand-written SQL with psycopg from the same number of threads.
Every read must leave its access-audit row: ``audit_missing`` (reads answered 200 minus audit rows
written for them) must be 0.

    .venv/bin/python benchmarks/api_reads.py --quick            # 8 s per phase
    .venv/bin/python benchmarks/api_reads.py --workers 2 --clients 32 --seconds 30
    .venv/bin/python benchmarks/api_reads.py --quick --keep              # keep the seeded database (name printed)
    .venv/bin/python benchmarks/api_reads.py --quick --reuse NAME        # measure again on it (no seeding)

Last line (JSON): reads_per_s, reads_per_s_per_core (÷ workers), sql_reads_per_s, ratio_to_sql, p50/p99,
and reads_per_server_cpu_s: reads per second of CPU used by uvicorn and its workers (from /proc), i.e.
reads per core actually spent on them — the robust figure when the clients, PostgreSQL and other
builds share the same cores.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx  # noqa: E402
import psycopg  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from benchmarks.scratch import scratch_database  # noqa: E402

BASE = os.environ.get("YILIAN_BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "Demo@2026"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def setup(url: str, patients: int) -> None:
    from sqlalchemy.orm import sessionmaker

    from yilian.demo.alliance import seed
    from yilian.kit import migrate
    from yilian.kit.db import build_engine

    engine = build_engine(url)
    migrate.upgrade(engine)
    with sessionmaker(bind=engine, expire_on_commit=False)() as s:
        seed(s, seed_value=7, patients=patients)
        s.commit()
    engine.dispose()


def api_only():  # type: ignore[no-untyped-def]
    from yilian.app import create_app
    from yilian.kit import db

    db.configure(os.environ["YILIAN_DATABASE_URL"], pool_size=20, max_overflow=0, pool_timeout=60)
    return create_app(with_ui=False, dispatcher=False)


def _dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _audit_rows(url: str) -> int:
    with psycopg.connect(_dsn(url)) as conn:
        row = conn.execute("SELECT count(*) FROM access_audit WHERE patient_id IS NOT NULL").fetchone()
        assert row is not None
        return int(row[0])


def _tree_cpu_s(pid: int) -> float:
    """CPU seconds (user + system) of a process and its children (uvicorn's workers), from /proc."""
    total = 0.0
    stack = [pid]
    while stack:
        p = stack.pop()
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
            for task in Path(f"/proc/{p}/task").iterdir():
                stack.extend(int(c) for c in (task / "children").read_text().split())
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total


def _run(clients: int, seconds: float, work: object) -> tuple[int, int, float, list[float]]:
    ok = bad = 0
    lat: list[float] = []
    lock = threading.Lock()
    stop = time.perf_counter() + seconds
    barrier = threading.Barrier(clients)

    def client(k: int) -> None:
        nonlocal ok, bad
        mine_ok = mine_bad = 0
        mine: list[float] = []
        rng = random.Random(k)
        step = work(k)  # type: ignore[operator]
        barrier.wait()
        n = k
        while time.perf_counter() < stop:
            t0 = time.perf_counter()
            good = step(rng, n)
            mine.append((time.perf_counter() - t0) * 1000)
            n += 1
            if good:
                mine_ok += 1
            else:
                mine_bad += 1
        with lock:
            ok += mine_ok
            bad += mine_bad
            lat.extend(mine)

    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return ok, bad, time.perf_counter() - t0, lat


def run_app(url: str, workers: int, clients: int, seconds: float) -> dict[str, float]:
    port = _free_port()
    env = {**os.environ, "YILIAN_DATABASE_URL": url}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "benchmarks.api_reads:api_only",
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
        for _ in range(600):
            try:
                if httpx.get(base + "/openapi.json", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)

        def token(user: str) -> dict[str, str]:
            r = httpx.post(
                base + "/api/v1/auth/token", json={"username": user, "password": PASSWORD}, timeout=30
            )
            r.raise_for_status()
            return {"Authorization": "Bearer " + r.json()["access_token"]}

        doctor, registrar = token("doctor"), token("registrar")
        with psycopg.connect(_dsn(url)) as conn:
            candidates = conn.execute(
                "SELECT p.id, p.mpi_id FROM patients p WHERE EXISTS (SELECT 1 FROM results r WHERE r.patient_id = p.id) "
                "AND EXISTS (SELECT 1 FROM sched_bookings b WHERE b.patient_id = p.id) ORDER BY p.id"
            ).fetchall()
        targets: list[tuple[int, str]] = []
        with httpx.Client(base_url=base, timeout=30) as c:  # the patients both readers may see
            for pid, mpi in candidates:
                a = c.get(f"/fhir/Patient/{mpi}", headers=doctor).status_code
                b = c.get(f"/api/v1/scheduling/patients/{pid}/bookings", headers=registrar).status_code
                if a == b == 200:
                    targets.append((pid, mpi))
                if len(targets) >= 200:
                    break
        if not targets:
            raise SystemExit("no patient readable by both the doctor and the registrar")
        audit_before = _audit_rows(url)

        def work(_k: int):  # type: ignore[no-untyped-def]
            c = httpx.Client(base_url=base, timeout=60)

            def step(rng: random.Random, n: int) -> bool:
                pid, mpi = targets[rng.randrange(len(targets))]
                kind = n % 3
                try:
                    if kind == 0:
                        r = c.get(f"/fhir/Patient/{mpi}", headers=doctor)
                    elif kind == 1:
                        r = c.get("/fhir/Observation", params={"patient": f"Patient/{mpi}"}, headers=doctor)
                    else:
                        r = c.get(f"/api/v1/scheduling/patients/{pid}/bookings", headers=registrar)
                except httpx.HTTPError:
                    return False
                return r.status_code == 200

            return step

        cpu_before = _tree_cpu_s(proc.pid)
        ok, bad, elapsed, lat = _run(clients, seconds, work)
        server_cpu = _tree_cpu_s(proc.pid) - cpu_before
        audit_after = _audit_rows(url)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    return {
        "ok": ok,
        "bad": bad,
        "elapsed": elapsed,
        "p50": _pct(lat, 0.5),
        "p99": _pct(lat, 0.99),
        "audit_rows": audit_after - audit_before,
        "targets": len(targets),
        "server_cpu_s": server_cpu,
    }


def run_sql(url: str, clients: int, seconds: float) -> dict[str, float]:
    dsn = _dsn(url)
    with psycopg.connect(dsn) as conn:
        targets = conn.execute(
            "SELECT p.id, p.mpi_id FROM patients p WHERE EXISTS (SELECT 1 FROM results r WHERE r.patient_id = p.id) "
            "AND EXISTS (SELECT 1 FROM sched_bookings b WHERE b.patient_id = p.id) ORDER BY p.id LIMIT 200"
        ).fetchall()

    def work(_k: int):  # type: ignore[no-untyped-def]
        conn = psycopg.connect(dsn, autocommit=True)

        def step(rng: random.Random, n: int) -> bool:
            pid, mpi = targets[rng.randrange(len(targets))]
            kind = n % 3
            if kind == 0:
                rows = conn.execute("SELECT * FROM patients WHERE mpi_id = %s", (mpi,)).fetchall()
            elif kind == 1:
                rows = conn.execute(
                    "SELECT r.* FROM results r JOIN patients p ON p.id = r.patient_id WHERE p.mpi_id = %s "
                    "ORDER BY r.id DESC LIMIT 50",
                    (mpi,),
                ).fetchall()
            else:
                rows = conn.execute(
                    "SELECT b.*, s.*, sl.* FROM sched_bookings b JOIN sched_schedules s ON s.id = b.schedule_id "
                    "JOIN sched_slots sl ON sl.id = b.slot_id WHERE b.patient_id = %s ORDER BY b.id DESC",
                    (pid,),
                ).fetchall()
            return bool(rows)

        return step

    ok, bad, elapsed, lat = _run(clients, seconds, work)
    return {"ok": ok, "bad": bad, "elapsed": elapsed, "p50": _pct(lat, 0.5)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--patients", type=int, default=600)
    ap.add_argument("--quick", action="store_true", help="8 s per phase, 400 demo patients")
    ap.add_argument("--keep", action="store_true", help="keep the seeded database (its name is printed)")
    ap.add_argument("--reuse", help="measure again on a database kept by --keep (no seeding)")
    args = ap.parse_args()
    if args.quick:
        args.seconds, args.patients = 8.0, 400
    with scratch_database(BASE, "yilian_reads", keep=args.keep, reuse=args.reuse) as scratch:
        url = scratch.render_as_string(hide_password=False)
        os.environ["YILIAN_DATABASE_URL"] = url
        if args.keep:
            print(f"database kept: {scratch.database}")
        if not args.reuse:
            setup(url, args.patients)
        app = run_app(url, args.workers, args.clients, args.seconds)
        sql = run_sql(url, args.clients, args.seconds)
    rate = app["ok"] / app["elapsed"]
    sql_rate = sql["ok"] / sql["elapsed"]
    print(
        f"app: {app['ok']} reads ({app['bad']} failed) by {args.clients} clients on {args.workers} workers in "
        f"{app['elapsed']:.1f}s; p50 {app['p50']:.1f} ms, p99 {app['p99']:.1f} ms; {app['audit_rows']} audit rows"
    )
    print(f"sql: {sql['ok']} reads in {sql['elapsed']:.1f}s, p50 {sql['p50']:.2f} ms")
    result = {
        "workers": args.workers,
        "clients": args.clients,
        "patients_read": app["targets"],
        "reads": app["ok"],
        "failed": app["bad"],
        "reads_per_s": round(rate, 1),
        "reads_per_s_per_core": round(rate / args.workers, 1),
        "p50_ms": round(app["p50"], 1),
        "p99_ms": round(app["p99"], 1),
        "audit_rows": app["audit_rows"],
        "audit_missing": max(0, app["ok"] - app["audit_rows"]),
        "server_cpu_ms_per_read": round(app["server_cpu_s"] * 1000 / max(1, app["ok"]), 3),
        "reads_per_server_cpu_s": round(app["ok"] / max(app["server_cpu_s"], 1e-9), 1),
        "sql_reads_per_s": round(sql_rate, 1),
        "ratio_to_sql": round(rate / sql_rate, 4),
        "load_avg_1m": round(os.getloadavg()[0], 1),
    }
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
