"""云伴诊 fan-out: F concurrent SSE followers on one server worker while events are committed at R/s.

A fresh database (SQLite file by default; PostgreSQL with ``YILIAN_BENCH_DATABASE_URL``) gets P
patients, each with up to three verified relatives (a family user and a login session each), and F
follows spread over them (progress + results): F/P followers per patient — the realistic case is 1–3
(``--followers 10000 --patients 5000``: two each), ``--patients 100`` gives 100 per patient (a high
fan-out). The app runs under uvicorn (uvloop + httptools when installed) in this process: one worker,
its outbox dispatcher on, nothing else. The load generator runs in other processes on the same
machine: ``--clients`` processes holding the streams open over raw asyncio sockets (no HTTP client
library: the request is written by hand, the arrivals found by their ``event_id``), an emitter
committing ``results.received`` events for random patients at R/s for D seconds (one transaction
every 50 ms with that tick's events), and the baseline: a process reading the outbox table every
100 ms. Delivery latency = arrival at the follower − the event's commit (wall clock of the same
machine); ``lost`` = lines a follower should have received (one per event of its patient) but did not
within 5 s of the last event. ``ratio_p99`` = the stream's p99 over the poller's.

    .venv/bin/python benchmarks/companion.py --followers 10000 --patients 5000 --rate 200 --seconds 20
    .venv/bin/python benchmarks/companion.py --followers 10000 --patients 100  --rate 200 --seconds 20
    .venv/bin/python benchmarks/companion.py --quick     # 1,000 followers over 500 patients, 100 ev/s, 8 s

Last line (JSON): followers, per_patient, events, lines, p50_ms, p99_ms, lost, dispatch_p50_ms and
dispatch_p99_ms (commit → the line made by the dispatcher, the rest being delivery), poll_p50_ms,
poll_p99_ms, ratio_p99, load (1-minute load average at the start and the end), database.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import random
import re
import secrets
import socket
import sys
import tempfile
import threading
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import select  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

TICK = 0.05  # the emitter commits the events of each 50 ms in one transaction


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    values = sorted(values)
    return round(values[min(len(values) - 1, int(q * len(values)))], 1)


def _load() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


def seed(url: str, patients: int, followers: int) -> tuple[list[tuple[int, int, int]], dict[int, str]]:
    """Return (follow id, patient id, relative id) rows and a bearer token per relative.

    Bulk rows (the registry's rules are not what is measured): patients and relatives, verified
    parent relations, a family user and a login session per relative, the follows."""
    from hashlib import sha256

    from yilian.companion.models import Follow
    from yilian.kit import db
    from yilian.kit.auth.models import AuthSession, User
    from yilian.kit.auth.passwords import hash_password
    from yilian.kit.clock import utcnow
    from yilian.registry.domain import Sex, make_id_number
    from yilian.registry.models import FamilyRelation, Patient

    engine = db.build_engine(url)
    per_patient = max(followers // patients, 1)
    relatives_each = min(per_patient, 3)  # a patient is followed by 1–3 relatives; more follows reuse them
    now = utcnow()
    seq = 0

    def person(name: str, born: date, sex: Sex) -> Patient:
        nonlocal seq
        seq += 1
        return Patient(
            mpi_id=f"B{seq:012d}",
            name=name,
            name_pinyin="bench",
            name_initials="b",
            id_number=make_id_number("320602", born + timedelta(days=seq // 500), seq % 500, sex),
            sex="2" if sex is Sex.FEMALE else "1",
            birth_date=born + timedelta(days=seq // 500),
            phone="13812345678",
            insurance_scheme="employee",
            insured_region="320600",
            real_name_verified=True,
            created_at=now,
            updated_at=now,
        )

    tokens: dict[int, str] = {}
    with Session(engine) as s:
        kids = [person(f"患者{i}", date(2012, 1, 1), Sex.FEMALE) for i in range(patients)]
        parents = [
            [person(f"家属{i}-{j}", date(1970, 1, 1), Sex.MALE) for j in range(relatives_each)]
            for i in range(patients)
        ]
        s.add_all(kids + [p for ps in parents for p in ps])
        s.flush()
        relations = [
            [
                FamilyRelation(
                    patient_id=k.id,
                    relative_id=p.id,
                    relation_type="parent",
                    verification_state="verified",
                    relative_confirmed=True,
                    verified_at=now,
                    created_at=now,
                )
                for p in ps
            ]
            for k, ps in zip(kids, parents, strict=True)
        ]
        s.add_all([r for rs in relations for r in rs])
        hashed = hash_password("Bench@2026x")
        users = [
            User(
                username=f"fam{p.id}",
                display_name="家属",
                password_hash=hashed,
                role="family",
                patient_id=p.id,
                is_active=True,
                created_at=now,
            )
            for ps in parents
            for p in ps
        ]
        s.add_all(users)
        s.flush()
        sessions = []
        for u in users:
            token = secrets.token_urlsafe(32)
            assert u.patient_id is not None
            tokens[u.patient_id] = token
            sessions.append(
                AuthSession(
                    user_id=u.id,
                    token_hash=sha256(token.encode()).hexdigest(),
                    channel="api",
                    created_at=now,
                    expires_at=now + timedelta(hours=12),
                )
            )
        s.add_all(sessions)
        rows = []
        for k in range(followers):
            i, j = k % patients, (k // patients) % relatives_each
            rows.append(
                Follow(
                    patient_id=kids[i].id,
                    relative_id=parents[i][j].id,
                    relation_id=relations[i][j].id,
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
    engine.dispose()
    return follows, tokens


EVENT_ID = re.compile(rb'"event_id": (\d+).*?"created_at": "([^"]+)"')


def follow_some(
    port: int, follows: list[tuple[int, str]], out: str, connected: Any, done: Any, opening: int
) -> None:
    """A followers' process: hold these streams open over raw sockets, noting (follow, event, arrival)."""
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    arrivals: list[tuple[int, int, float, str]] = []
    failed: list[str] = []

    async def follower(fid: int, token: str, gate: asyncio.Semaphore) -> None:
        async with gate:  # open at most ``opening`` streams at a time (the server's accept queue)
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(
                f"GET /api/v1/companion/follows/{fid}/stream HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                f"Authorization: Bearer {token}\r\nAccept: text/event-stream\r\n\r\n".encode()
            )
            head = await reader.readuntil(b"\r\n\r\n")
            if b" 200 " not in head.split(b"\r\n", 1)[0]:
                failed.append(head.split(b"\r\n", 1)[0].decode())
                writer.close()
                return
            buf = await reader.readuntil(b"\n\n")  # the stream's opening comment
            with connected.get_lock():
                connected.value += 1
        buf = b""
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    return
                now = time.time()
                buf += data
                cut = buf.rfind(b"\n\n")
                if cut < 0:
                    continue
                for m in EVENT_ID.finditer(buf, 0, cut):
                    arrivals.append((fid, int(m.group(1)), now, m.group(2).decode()))
                buf = buf[cut + 2 :]
        finally:
            writer.close()

    async def run() -> None:
        gate = asyncio.Semaphore(opening)
        tasks = [asyncio.create_task(follower(f, tok, gate)) for f, tok in follows]
        while not done.is_set():
            await asyncio.sleep(0.2)
        for t in tasks:
            t.cancel()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        errors = [
            r for r in results if isinstance(r, Exception) and not isinstance(r, asyncio.CancelledError)
        ]
        failed.extend(repr(e) for e in errors[:5])

    asyncio.run(run())
    Path(out).write_text(json.dumps({"arrivals": arrivals, "failed": failed[:10]}))


def emit_all(url: str, patients: list[int], rate: float, seconds: float, out: str) -> None:
    """The emitter's process: every 50 ms, commit that tick's ``results.received`` events (R/s in all)."""
    from yilian.kit import db, events

    engine = db.build_engine(url)
    committed: list[tuple[int, int, float]] = []  # event id, patient id, commit time
    rng = random.Random(7)
    start = time.time()
    n = 0
    tick = 0
    while time.time() - start < seconds:
        tick += 1
        target = start + tick * TICK
        if target > time.time():
            time.sleep(target - time.time())
        due = int((time.time() - start) * rate) - n
        if due <= 0:
            continue
        with Session(engine) as s:
            rows = []
            for _ in range(due):
                pid = rng.choice(patients)
                rows.append(
                    (events.emit(s, "results.received", {"result_ids": [n], "patient_ids": [pid]}), pid)
                )
                n += 1
            s.commit()
            at = time.time()
            committed.extend((row.id, pid, at) for row, pid in rows)
    engine.dispose()
    Path(out).write_text(json.dumps({"committed": committed, "seconds": time.time() - start}))


def poll_outbox(url: str, out: str, done: Any) -> None:
    """The baseline's process: read new outbox rows every 100 ms, noting when each id was first seen."""
    from yilian.kit import db
    from yilian.kit.events import OutboxEvent

    engine = db.build_engine(url)
    seen: dict[int, float] = {}
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
    Path(out).write_text(json.dumps(seen))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--followers", type=int, default=10000)
    ap.add_argument("--patients", type=int, default=5000)
    ap.add_argument("--rate", type=float, default=200.0)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--clients", type=int, default=2, help="processes holding the streams")
    ap.add_argument("--quick", action="store_true", help="1,000 followers over 500 patients, 100 ev/s, 8 s")
    args = ap.parse_args()
    if args.quick:
        args.followers, args.patients, args.rate, args.seconds = 1000, 500, 100.0, 8.0

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
    started = time.time()
    follows, tokens = seed(url, args.patients, args.followers)
    print(
        f"seeded {len(follows)} follows over {args.patients} patients in {time.time() - started:.0f} s",
        file=sys.stderr,
    )

    import uvicorn

    from yilian.app import create_app

    port = _port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(with_ui=False), port=port, log_level="warning", backlog=8192, timeout_keep_alive=600
        )
    )
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.1)

    ctx = mp.get_context("spawn")
    done, poll_done = ctx.Event(), ctx.Event()
    connected = ctx.Value("i", 0)
    procs, outs = [], []
    for c in range(args.clients):
        mine = [(f, tokens[rel]) for f, _p, rel in follows[c :: args.clients]]
        outs.append(f"{tmp}/followers{c}.json")
        procs.append(ctx.Process(target=follow_some, args=(port, mine, outs[-1], connected, done, 64)))
        procs[-1].start()
    started = time.time()
    while connected.value < len(follows) and time.time() - started < 600:  # type: ignore[attr-defined]
        time.sleep(0.5)
    print(f"{connected.value} streams open in {time.time() - started:.0f} s", file=sys.stderr)  # type: ignore[attr-defined]
    time.sleep(2.0)
    load_start = _load()
    poll_out, emitter_out = f"{tmp}/poll.json", f"{tmp}/emitter.json"
    poller = ctx.Process(target=poll_outbox, args=(url, poll_out, poll_done))
    poller.start()
    patients = sorted({p for _f, p, _r in follows})
    eproc = ctx.Process(target=emit_all, args=(url, patients, args.rate, args.seconds, emitter_out))
    eproc.start()
    eproc.join()
    load_end = _load()
    time.sleep(5.0)  # let the last lines arrive
    done.set()
    poll_done.set()
    for p in [*procs, poller]:
        p.join(120)
    server.should_exit = True

    emitted = json.loads(Path(emitter_out).read_text())
    arrivals: list[tuple[int, int, float, str]] = []
    failed: list[str] = []
    for out in outs:
        got = json.loads(Path(out).read_text())
        arrivals += got["arrivals"]
        failed += got["failed"]
    if failed:
        print(f"failed streams (first ones): {failed}", file=sys.stderr)
    poll_seen = {int(k): v for k, v in json.loads(Path(poll_out).read_text()).items()}
    committed = {e: at for e, _p, at in emitted["committed"]}
    by_patient: dict[int, set[int]] = {}
    for e, p, _at in emitted["committed"]:
        by_patient.setdefault(p, set()).add(e)
    latencies = [(at - committed[e]) * 1000 for _f, e, at, _c in arrivals if e in committed]
    made = {e: datetime.fromisoformat(c).timestamp() for _f, e, _at, c in arrivals if e in committed}
    dispatch = [(made[e] - committed[e]) * 1000 for e in made]  # commit → the line made (dispatcher)
    received: dict[int, set[int]] = {f: set() for f, _p, _r in follows}
    for f, e, _at, _c in arrivals:
        if e in committed:
            received[f].add(e)
    lost = sum(len(by_patient.get(pid, set()) - received[f]) for f, pid, _r in follows)
    poll_lat = [(poll_seen[e] - committed[e]) * 1000 for e in committed if e in poll_seen]
    p99, poll_p99 = _pct(latencies, 0.99), _pct(poll_lat, 0.99)
    result = {
        "followers": connected.value,  # type: ignore[attr-defined]
        "per_patient": round(len(follows) / args.patients, 1),
        "events": len(committed),
        "events_per_s": round(len(committed) / emitted["seconds"], 1),
        "lines": sum(len(v) for v in received.values()),
        "p50_ms": _pct(latencies, 0.5),
        "p99_ms": p99,
        "max_ms": round(max(latencies), 1) if latencies else 0.0,
        "dispatch_p50_ms": _pct(dispatch, 0.5),
        "dispatch_p99_ms": _pct(dispatch, 0.99),
        "lost": lost,
        "poll_p50_ms": _pct(poll_lat, 0.5),
        "poll_p99_ms": poll_p99,
        "ratio_p99": round(p99 / poll_p99, 2) if poll_p99 else None,
        "load": [load_start, load_end],
        "database": url.split(":", 1)[0],
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
