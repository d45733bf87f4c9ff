"""云伴诊 feed dispatch: the outbox dispatcher turning committed events into feed lines, one event per
transaction (as before) against a batch per transaction (savepoint per event), on the same data.

A fresh database (SQLite file by default; PostgreSQL with ``YILIAN_BENCH_DATABASE_URL``) gets P
patients with a verified relative each and F follows spread over them (progress + results, so every
``results.received`` event of a patient makes one line per follow of hers). E events are committed
for random patients, then delivered with ``dispatch_pending(limit=1)`` until none is left (one
transaction and commit per event: the old dispatcher); E more, then delivered with the batched
dispatcher (``limit=100``). ``ratio`` = batched events/s over per-event events/s; ``lost`` = lines
expected but not written (must be 0 in both).

    .venv/bin/python benchmarks/companion_dispatch.py                 # 1,000 follows, 2,000 events
    .venv/bin/python benchmarks/companion_dispatch.py --quick         # 500 follows, 500 events

Last line (JSON): events, lines_per_event, per_event_events_per_s, batched_events_per_s, ratio, lost.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from sqlalchemy import func, select  # noqa: E402
from sqlalchemy.orm import Session, sessionmaker  # noqa: E402


def run(
    factory: sessionmaker[Session], patients: list[int], n: int, limit: int, seed: int
) -> tuple[float, int]:
    """Commit ``n`` events, deliver them ``limit`` per transaction; return (events/s, lines lost)."""
    from yilian.companion.models import FeedItem, Follow
    from yilian.kit import events

    rng = random.Random(seed)
    about = [rng.choice(patients) for _ in range(n)]
    with factory() as s:
        first = (s.scalar(select(func.max(events.OutboxEvent.id))) or 0) + 1
        events.emit_many(
            s, [("results.received", {"result_ids": [i], "patient_ids": [p]}) for i, p in enumerate(about)]
        )
        s.commit()
        per_patient = dict(
            s.execute(select(Follow.patient_id, func.count()).group_by(Follow.patient_id)).tuples().all()
        )
    started = time.perf_counter()
    delivered = 0
    while (k := events.dispatch_pending(factory, limit=limit)) > 0:
        delivered += k
    seconds = time.perf_counter() - started
    expected = sum(per_patient.get(p, 0) for p in about)
    with factory() as s:
        written = s.scalar(select(func.count()).select_from(FeedItem).where(FeedItem.event_id >= first)) or 0
    if delivered != n:
        print(f"delivered {delivered} of {n}", file=sys.stderr)
    return n / seconds, expected - written


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--followers", type=int, default=1000)
    ap.add_argument("--patients", type=int, default=100)
    ap.add_argument("--events", type=int, default=2000)
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--quick", action="store_true", help="500 follows over 50 patients, 500 events")
    args = ap.parse_args()
    if args.quick:
        args.followers, args.patients, args.events = 500, 50, 500

    tmp = tempfile.mkdtemp(prefix="yilian-bench-dispatch-")
    url = os.environ.get("YILIAN_BENCH_DATABASE_URL") or f"sqlite:///{tmp}/bench.db"
    os.environ["YILIAN_DATABASE_URL"] = url
    os.environ["YILIAN_VAR_DIR"] = tmp
    import companion as sse_bench  # the SSE benchmark's seed: patients, verified relatives, follows

    from yilian.companion import service as _companion  # noqa: F401  (subscribes the feed handler)
    from yilian.kit import db, events, migrate

    engine = db.build_engine(url)
    migrate.upgrade(engine)
    follows, _tokens = sse_bench.seed(url, args.patients, args.followers)
    patients = sorted({p for _f, p, _r in follows})
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    while events.dispatch_pending(factory, limit=500) > 0:  # the seed's own events (registry, auth)
        pass
    one_rate, one_lost = run(factory, patients, args.events, 1, seed=1)
    print(f"one event per transaction: {one_rate:.1f} events/s", file=sys.stderr)
    batch_rate, batch_lost = run(factory, patients, args.events, args.batch, seed=2)
    print(f"batched ({args.batch}): {batch_rate:.1f} events/s", file=sys.stderr)
    engine.dispose()
    result = {
        "database": url.split(":", 1)[0],
        "followers": len(follows),
        "events": args.events,
        "lines_per_event": round(len(follows) / len(patients), 1),
        "per_event_events_per_s": round(one_rate, 1),
        "batched_events_per_s": round(batch_rate, 1),
        "ratio": round(batch_rate / one_rate, 2),
        "lost": one_lost + batch_lost,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
