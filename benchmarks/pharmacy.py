"""Pharmacy windows under contention and the doctor's live review check.

(1) Dispensing: W windows (threads, each its own session and commit) dispense P passed prescriptions
of one box each from S boxes of stock in several batches (S < P: the last boxes are fought over).
Reported: dispensations/s, latency p50/p99, how many were refused for stock, and oversold (boxes taken
beyond the stock, must be 0). Baseline in the same run: the same number of bare conditional UPDATEs
(``SET quantity = quantity - 1 WHERE id = :id AND quantity >= 1``), one per commit, from W threads;
ratio = dispensations/s ÷ raw UPDATEs/s.
(2) Live review: ``workbench.live_check`` of a 4-line prescription plus a candidate line (what runs as
the doctor types), p50/p99, against the pure ``rx_domain.review`` of the same lines (ratio).

    .venv/bin/python benchmarks/pharmacy.py [--db sqlite|postgresql] [--prescriptions 600] [--windows 6] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from datetime import date
from pathlib import Path
from queue import Empty, Queue

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import func, select, update  # noqa: E402
from sqlalchemy.orm import sessionmaker  # noqa: E402

PG = os.environ.get("YILIAN_BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


SURNAMES = "赵钱孙李周吴郑王冯陈褚卫蒋沈韩杨朱秦尤许"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平"


def _name(i: int) -> str:
    return SURNAMES[i % 20] + GIVEN[(i // 20) % 20] + GIVEN[(i // 400) % 20]


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values) or [0.0]
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def run(db: str, prescriptions: int, windows: int) -> dict[str, object]:
    if db == "postgresql":
        os.environ["YILIAN_TEST_DATABASE_URL"] = PG
    from tests.builders import make_patient
    from tests.dbutil import fresh_database
    from tests.outpatient.rx_world import METFORMIN, cimetidine_line, make_rx_world, metformin_line
    from yilian.kit import migrate
    from yilian.kit.db import build_engine, unit_of_work
    from yilian.outpatient import rx_service
    from yilian.outpatient import service as outpatient
    from yilian.outpatient.record_schemas import LineCreate
    from yilian.outpatient.rx_domain import PrescriptionKind, review
    from yilian.outpatient.schemas import EncounterCreate
    from yilian.pharmacy import service as pharmacy
    from yilian.pharmacy.errors import OutOfStock
    from yilian.pharmacy.models import DispensedBatch, StockBatch
    from yilian.workbench import service as workbench

    stock = prescriptions * 3 // 4
    with fresh_database("bench_rx") as url:
        engine = build_engine(url, pool_size=windows + 2) if db == "postgresql" else build_engine(url)
        migrate.upgrade(engine)
        factory = sessionmaker(bind=engine, expire_on_commit=False)
        started = time.perf_counter()
        with unit_of_work(factory) as s:
            w = make_rx_world(s, stock=1)
            s.execute(update(StockBatch).where(StockBatch.item_code == METFORMIN).values(quantity=0))
            for n in range(5):  # the stock in five batches expiring one after another
                pharmacy.receive(
                    s,
                    w.pharmacy_id,
                    item_code=METFORMIN,
                    batch_no=f"BENCH{n}",
                    expiry=date(2027, n + 1, 28),
                    quantity=stock // 5 + (1 if n < stock % 5 else 0),
                )
            ids = []
            for i in range(prescriptions):
                pid = make_patient(s, institution=w.hospital, name=_name(i)).id
                eid = outpatient.open_encounter(
                    s, w.doctor, EncounterCreate(patient_id=pid, department_id=w.department.id)
                ).id
                workbench.prescribe(s, w.doctor, eid, "normal", metformin_line(days=7))
                [p] = rx_service.prescriptions_of_encounter(s, eid)
                rx_service.submit(s, w.doctor, p.id)
                pharmacy.decide(s, w.pharmacist, p.id, "pass")
                ids.append(p.id)
            checker, pharmacist = w.checker.username, w.pharmacist
            review_eid = w.encounter_id
            for line in (metformin_line(days=7), cimetidine_line()):
                workbench.prescribe(s, w.doctor, review_eid, "normal", line)
        setup_s = time.perf_counter() - started

        queue: Queue[int] = Queue()
        for pid in ids:
            queue.put(pid)
        latencies: list[float] = []
        refused = [0]
        lock = threading.Lock()

        def window() -> None:
            while True:
                try:
                    pid = queue.get_nowait()
                except Empty:
                    return
                t0 = time.perf_counter()
                try:
                    with unit_of_work(factory) as s:
                        pharmacy.dispense(s, pharmacist, pid, checker=checker)
                    with lock:
                        latencies.append(time.perf_counter() - t0)
                except OutOfStock:
                    with lock:
                        refused[0] += 1

        t0 = time.perf_counter()
        threads = [threading.Thread(target=window) for _ in range(windows)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        app_s = time.perf_counter() - t0
        with unit_of_work(factory) as s:
            left = (
                s.scalar(select(func.sum(StockBatch.quantity)).where(StockBatch.item_code == METFORMIN)) or 0
            )
            taken = s.scalar(select(func.sum(DispensedBatch.quantity))) or 0
            batch_ids = list(s.scalars(select(StockBatch.id).where(StockBatch.item_code == METFORMIN)))
            s.execute(update(StockBatch).where(StockBatch.id.in_(batch_ids)).values(quantity=prescriptions))
        oversold = max(0, taken - stock) + (1 if left < 0 else 0)

        attempts: Queue[int] = Queue()
        for i in range(prescriptions):
            attempts.put(batch_ids[i % len(batch_ids)])

        def raw() -> None:
            while True:
                try:
                    bid = attempts.get_nowait()
                except Empty:
                    return
                with unit_of_work(factory) as s:
                    s.execute(
                        update(StockBatch)
                        .where(StockBatch.id == bid, StockBatch.quantity >= 1)
                        .values(quantity=StockBatch.quantity - 1)
                    )

        t0 = time.perf_counter()
        threads = [threading.Thread(target=raw) for _ in range(windows)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        raw_s = time.perf_counter() - t0

        candidate = LineCreate(
            item_code="XJ01CAA040A001010100001", dose="0.5", dose_unit="g", frequency="tid", days=5
        )  # type: ignore[arg-type]
        live: list[float] = []
        pure: list[float] = []
        with unit_of_work(factory) as s:
            for _ in range(300):
                t1 = time.perf_counter()
                found = workbench.live_check(s, w.doctor, review_eid, "normal", candidate)
                live.append(time.perf_counter() - t1)
            lines = rx_service._rx_lines(s, [p.id for p in rx_service.repo.prescriptions_of(s, review_eid)])
            facts = rx_service.patient_facts(s, review_eid)
            flat = [x for v in lines.values() for x in v]
            for _ in range(300):
                t1 = time.perf_counter()
                review(flat, facts, PrescriptionKind.NORMAL)
                pure.append(time.perf_counter() - t1)
        engine.dispose()
    dispensed = len(latencies)
    return {
        "db": db,
        "prescriptions": prescriptions,
        "windows": windows,
        "stock": stock,
        "setup_s": round(setup_s, 1),
        "dispensed": dispensed,
        "refused_for_stock": refused[0],
        "oversold": oversold,
        "dispensations_per_s": round(dispensed / app_s, 1),
        "p50_ms": round(_pct(latencies, 0.5) * 1000, 1),
        "p99_ms": round(_pct(latencies, 0.99) * 1000, 1),
        "raw_updates_per_s": round(prescriptions / raw_s, 1),
        "ratio_to_raw": round((dispensed / app_s) / (prescriptions / raw_s), 4),
        "live_check_findings": len(found),
        "live_check_p50_ms": round(_pct(live, 0.5) * 1000, 2),
        "live_check_p99_ms": round(_pct(live, 0.99) * 1000, 2),
        "pure_review_p50_ms": round(_pct(pure, 0.5) * 1000, 3),
        "live_ratio_to_pure": round(_pct(live, 0.5) / max(_pct(pure, 0.5), 1e-9), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--prescriptions", type=int, default=600)
    parser.add_argument("--windows", type=int, default=6)
    parser.add_argument("--quick", action="store_true", help="120 prescriptions, 4 windows")
    args = parser.parse_args()
    count, windows = (120, 4) if args.quick else (args.prescriptions, args.windows)
    for db in ("sqlite", "postgresql") if args.db == "both" else (args.db,):
        print(json.dumps(run(db, count, windows), ensure_ascii=False))


if __name__ == "__main__":
    main()
