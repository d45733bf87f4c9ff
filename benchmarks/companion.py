"""云伴诊 fan-out: F concurrent SSE followers on one server worker while events are committed at R/s.

A fresh database (SQLite file by default; PostgreSQL with ``YILIAN_BENCH_DATABASE_URL``) gets P
patients, each with a verified relative, and F follows spread over them (progress + results). The app
runs under uvicorn in this process (one worker, its outbox dispatcher on, nothing else in the process
but a poller thread); the load generator runs in two other processes on the same machine: F asyncio
clients holding ``/stream`` open, and an emitter committing ``results.received`` events for random
patients at R/s for D seconds. Delivery latency = arrival at the follower − the event's commit (wall
clock of the same machine); ``lost`` = lines a follower should have received (one per event of its
patient) but did not within 5 s of the last event. Beside it, in the same run: the same events read by
polling the outbox table directly (100 ms) — ``ratio_p99`` is the stream's p99 over the poller's.

    .venv/bin/python benchmarks/companion.py --followers 1000 --rate 200 --seconds 15
    .venv/bin/python benchmarks/companion.py --quick     # 500 followers, 100 ev/s, 8 s

Last line (JSON): followers, events, lines, p50_ms, p99_ms, lost, poll_p50_ms, poll_p99_ms, ratio_p99.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import random
import socket
import sys
import tempfile
import threading
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx  # noqa: E402
from sqlalchemy import select  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    values = sorted(values)
    return round(values[min(len(values) - 1, int(q * len(values)))], 1)


def _cn(i: int) -> str:
    return "".join("甲乙丙丁戊己庚辛壬癸"[int(d)] for d in str(i))


def seed(url: str, patients: int, followers: int) -> tuple[list[tuple[int, int, int]], dict[int, str]]:
    """Return (follow id, patient id, relative id) rows and the username of each relative."""
    from yilian.companion.models import Follow
    from yilian.kit import db
    from yilian.kit.auth import service as auth
    from yilian.kit.auth.domain import Actor, Role
    from yilian.kit.clock import utcnow
    from yilian.registry import service as registry
    from yilian.registry.domain import InsuranceScheme, RelationType, Sex, make_id_number
    from yilian.registry.schemas import PatientCreate, RelationCreate

    system = Actor.system("bench")
    engine = db.build_engine(url)
    pairs: list[tuple[int, int]] = []
    tokens: dict[int, str] = {}
    with Session(engine) as s:
        seq = 0

        def person(name: str, born: date, sex: Sex) -> int:
            nonlocal seq
            seq += 1
            p = registry.create_patient(
                s,
                system,
                PatientCreate(
                    name=name,
                    id_number=make_id_number("320602", born, seq, sex),
                    phone="13812345678",
                    insurance_scheme=InsuranceScheme.EMPLOYEE,
                    insured_region="320600",
                    real_name_verified=True,
                ),
            )
            return p.id

        for i in range(patients):
            child = person("患者" + _cn(i), date(2012, 1, 1) + timedelta(days=i), Sex.FEMALE)
            parent = person("家属" + _cn(i), date(1982, 1, 1) + timedelta(days=i), Sex.MALE)
            r = registry.add_relation(
                s, system, child, RelationCreate(relative_id=parent, relation_type=RelationType.PARENT)
            )
            registry.confirm_relation(s, system, r.id)
            registry.verify_relation(s, system, r.id)
            pairs.append((child, parent, r.id))  # type: ignore[arg-type]
            auth.create_user(
                s,
                username=f"fam{i}",
                password="Bench@2026x",
                role=Role.FAMILY,
                display_name="家属",
                patient_id=parent,
            )
        now = utcnow()
        rows = []
        for k in range(followers):
            child, parent, rel = pairs[k % patients]  # type: ignore[misc]
            rows.append(
                Follow(
                    patient_id=child,
                    relative_id=parent,
                    relation_id=rel,
                    relative_role="parent",
                    visit_kind="admission",
                    visit_id=k + 1,
                    progress=True,
                    results=True,
                    bills=False,
                    basis="self",
                    evidence="",
                    granted_by="bench",
                    granted_at=now,
                    expires_at=now + timedelta(days=1),
                )
            )
        s.add_all(rows)
        s.commit()
        follows = [(f.id, f.patient_id, f.relative_id) for f in rows]
        for i in range(patients):
            tokens[pairs[i][1]] = f"fam{i}"  # logged in over HTTP once the server runs
    engine.dispose()
    return follows, tokens


def follow_all(
    port: int, follows: list[tuple[int, int, int]], tokens: dict[int, str], out: str, ready: Any, done: Any
) -> None:
    """The followers' process: hold every stream open, note (follow, event, arrival) until ``done``."""
    arrivals: list[tuple[int, int, float]] = []
    connected = 0

    async def follower(fid: int, relative: int, client: httpx.AsyncClient) -> None:
        nonlocal connected
        headers = {"Authorization": f"Bearer {tokens[relative]}"}
        url = f"http://127.0.0.1:{port}/api/v1/companion/follows/{fid}/stream"
        async with client.stream("GET", url, headers=headers) as r:
            connected += 1
            if connected == len(follows):
                ready.set()
            async for line in r.aiter_lines():
                if line.startswith("data: "):
                    ev = json.loads(line[6:]).get("event_id")
                    if ev is not None:
                        arrivals.append((fid, int(ev), time.time()))

    async def run() -> None:
        limits = httpx.Limits(max_connections=None, max_keepalive_connections=None)
        async with httpx.AsyncClient(timeout=httpx.Timeout(None), limits=limits) as client:
            tasks = [asyncio.create_task(follower(f, rel, client)) for f, _p, rel in follows]
            while not done.is_set():
                await asyncio.sleep(0.2)
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    asyncio.run(run())
    Path(out).write_text(json.dumps({"connected": connected, "arrivals": arrivals}))


def emit_all(url: str, patients: list[int], rate: float, seconds: float, out: str) -> None:
    """The emitter's process: commit one ``results.received`` event at a time at ``rate``/s."""
    from yilian.kit import db, events

    engine = db.build_engine(url)
    committed: list[tuple[int, int, float]] = []  # event id, patient id, commit time
    rng = random.Random(7)
    start = time.time()
    n = 0
    while time.time() - start < seconds:
        target = start + n / rate
        if target > time.time():
            time.sleep(target - time.time())
        pid = rng.choice(patients)
        with Session(engine) as s:
            row = events.emit(s, "results.received", {"result_ids": [n], "patient_ids": [pid]})
            s.commit()
            committed.append((row.id, pid, time.time()))
        n += 1
    engine.dispose()
    Path(out).write_text(json.dumps({"committed": committed, "seconds": time.time() - start}))


def poll_outbox(url: str, done: threading.Event, seen: dict[int, float]) -> None:
    """The baseline: read new outbox rows every 100 ms, noting when each id was first seen."""
    from yilian.kit import db
    from yilian.kit.events import OutboxEvent

    engine = db.build_engine(url)
    with Session(engine) as s:
        last = s.scalar(select(OutboxEvent.id).order_by(OutboxEvent.id.desc()).limit(1)) or 0
    while not done.is_set():
        with Session(engine) as s:
            ids = list(
                s.scalars(select(OutboxEvent.id).where(OutboxEvent.id > last).order_by(OutboxEvent.id))
            )
        now = time.time()
        for i in ids:
            seen.setdefault(i, now)
            last = max(last, i)
        time.sleep(0.1)
    engine.dispose()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--followers", type=int, default=1000)
    ap.add_argument("--patients", type=int, default=100)
    ap.add_argument("--rate", type=float, default=200.0)
    ap.add_argument("--seconds", type=float, default=15.0)
    ap.add_argument("--quick", action="store_true", help="500 followers, 50 patients, 100 ev/s, 8 s")
    args = ap.parse_args()
    if args.quick:
        args.followers, args.patients, args.rate, args.seconds = 500, 50, 100.0, 8.0

    tmp = tempfile.mkdtemp(prefix="yilian-bench-companion-")
    url = os.environ.get("YILIAN_BENCH_DATABASE_URL") or f"sqlite:///{tmp}/bench.db"
    os.environ["YILIAN_DATABASE_URL"] = url
    os.environ["YILIAN_VAR_DIR"] = tmp
    os.environ["YILIAN_JOBS_ENABLED"] = "false"
    os.environ["YILIAN_DISPATCH_INTERVAL_SECONDS"] = "0.05"
    from yilian.kit import db, migrate

    engine = db.build_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    follows, tokens = seed(url, args.patients, args.followers)
    print(f"seeded {len(follows)} follows over {args.patients} patients", file=sys.stderr)

    import uvicorn

    from yilian.app import create_app

    port = _port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(with_ui=False), port=port, log_level="warning", backlog=8192)
    )
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.1)
    for relative, username in list(tokens.items()):
        r = httpx.post(
            f"http://127.0.0.1:{port}/api/v1/auth/token",
            json={"username": username, "password": "Bench@2026x"},
            timeout=30,
        )
        tokens[relative] = r.json()["access_token"]

    ctx = mp.get_context("spawn")
    ready, done = ctx.Event(), ctx.Event()
    followers_out, emitter_out = f"{tmp}/followers.json", f"{tmp}/emitter.json"
    fproc = ctx.Process(target=follow_all, args=(port, follows, tokens, followers_out, ready, done))
    fproc.start()
    if not ready.wait(300):
        print("not every follower connected in 300 s", file=sys.stderr)
    time.sleep(1.0)  # the last streams have sent their backlog
    poll_done, poll_seen = threading.Event(), {}  # type: ignore[var-annotated]
    threading.Thread(target=poll_outbox, args=(url, poll_done, poll_seen), daemon=True).start()
    patients = sorted({p for _f, p, _r in follows})
    eproc = ctx.Process(target=emit_all, args=(url, patients, args.rate, args.seconds, emitter_out))
    eproc.start()
    eproc.join()
    time.sleep(5.0)  # let the last lines arrive
    done.set()
    poll_done.set()
    fproc.join(60)
    server.should_exit = True

    emitted = json.loads(Path(emitter_out).read_text())
    got = json.loads(Path(followers_out).read_text())
    committed = {e: at for e, _p, at in emitted["committed"]}
    about = {e: p for e, p, _at in emitted["committed"]}
    latencies = [(at - committed[e]) * 1000 for _f, e, at in got["arrivals"] if e in committed]
    received: dict[int, set[int]] = {f: set() for f, _p, _r in follows}
    for f, e, _at in got["arrivals"]:
        received[f].add(e)
    lost = sum(len({e for e, p in about.items() if p == pid} - received[f]) for f, pid, _r in follows)
    poll_lat = [(poll_seen[e] - committed[e]) * 1000 for e in committed if e in poll_seen]
    p99, poll_p99 = _pct(latencies, 0.99), _pct(poll_lat, 0.99)
    result = {
        "followers": got["connected"],
        "events": len(committed),
        "events_per_s": round(len(committed) / emitted["seconds"], 1),
        "lines": sum(len(v) for v in received.values()),
        "p50_ms": _pct(latencies, 0.5),
        "p99_ms": p99,
        "lost": lost,
        "poll_p50_ms": _pct(poll_lat, 0.5),
        "poll_p99_ms": poll_p99,
        "ratio_p99": round(p99 / poll_p99, 2) if poll_p99 else None,
        "database": url.split(":", 1)[0],
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
