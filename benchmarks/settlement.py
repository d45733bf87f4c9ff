"""End-of-day settlement benchmark (先诊疗后付费 · 一日一结).

Builds N open encounters with about 5 charged orders each (bulk-loaded), then runs the real
end-of-day job (`billing.tasks.settle_day`: one transaction per encounter, insurance split, channel
payment with idempotency key, arrears) and, in the same run on a copy of the same data, the raw
ceiling: the same settlements inserted and charges updated in three bulk SQL statements.

    .venv/bin/python benchmarks/settlement.py --quick            # ~2,000 encounters per database
    .venv/bin/python benchmarks/settlement.py --encounters 100000 --db postgresql

The last line is JSON: encounters_per_s, batch_seconds, ratio_to_raw, double_charged (must be 0).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import Engine, func, insert, select, text  # noqa: E402
from sqlalchemy.orm import Session, sessionmaker  # noqa: E402

from benchmarks.scratch import scratch_database  # noqa: E402
from yilian.billing.models import (  # noqa: E402
    Charge,
    Payment,  # noqa: E402
    PaymentAgreement,
    Settlement,
)
from yilian.billing.tasks import SETTLE_WORKERS, settle_day  # noqa: E402
from yilian.catalog.models import CatalogItem  # noqa: E402
from yilian.demo.alliance import seed as seed_demo  # noqa: E402
from yilian.kit.clock import FrozenClock, business_date, set_clock  # noqa: E402
from yilian.kit.db import build_engine, table_of  # noqa: E402
from yilian.kit.migrate import upgrade  # noqa: E402
from yilian.outpatient.models import Encounter, Order  # noqa: E402
from yilian.registry.models import Department, Patient  # noqa: E402

PG_SERVER = os.environ.get("YILIAN_BENCH_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@contextmanager
def fresh(kind: str, label: str) -> Iterator[str]:
    """A database of its own for one side of the run: a file in a temporary directory on SQLite, a
    scratch database on the PostgreSQL server (dropped at the end)."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory(prefix="yilian-bench-") as tmp:
            yield f"sqlite:///{tmp}/{label}.db"
        return
    with scratch_database(PG_SERVER, f"yilian_bench_{label}") as url:
        yield url.render_as_string(hide_password=False)


def load(engine: Engine, encounters: int, seed: int, shape: str = "realistic") -> date:
    """Demo alliance (small) + N encounters of 5 orders each, bulk-inserted, charged on credit.

    ``shape``: "realistic" — one or two visits per patient that day (about N/1.5 patients: the demo's
    400 plus copies with their own MPI and ID numbers); "crowded" — the earlier shape, N encounters on
    the demo's 400 patients (five visits each on one day, which makes the workers take turns on the
    patients' year rows)."""
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    with factory() as s:
        seed_demo(s, seed_value=seed, patients=400)
        s.commit()
    rng = random.Random(seed)
    day = business_date()
    now = datetime.now(UTC)
    with factory() as s:
        patients = list(s.execute(select(Patient.id, Patient.insurance_scheme)))
        depts = list(
            s.execute(
                select(Department.id, Department.institution_id).where(Department.is_clinical.is_(True))
            )
        )
        items = list(
            s.execute(
                select(
                    CatalogItem.code,
                    CatalogItem.kind,
                    CatalogItem.name,
                    CatalogItem.unit,
                    CatalogItem.price_fen,
                    CatalogItem.insurance_class,
                    CatalogItem.self_pay_permille,
                ).where(CatalogItem.kind.in_(["lab", "exam", "drug", "treatment"]))
            )
        )
        signed = {p for (p,) in s.execute(select(PaymentAgreement.patient_id))}
        for pid, _scheme in patients:
            if pid not in signed and rng.random() < 0.5:
                s.execute(
                    insert(PaymentAgreement).values(
                        patient_id=pid, channel="wechat", payer_ref=f"bench-{pid}", signed_at=now
                    )
                )
        s.commit()
        if shape == "realistic":
            patients = _more_patients(s, patients, encounters * 2 // 3, rng, now)
        start_id = (s.scalar(select(func.max(Encounter.id))) or 0) + 1
        order_id = (s.scalar(select(func.max(Order.id))) or 0) + 1
        batch_e, batch_o, batch_c = [], [], []
        if shape == "realistic":  # each patient once, a third of them twice, in random order
            visitors = [p for p, _ in patients] + [
                p for p, _ in patients[: max(0, encounters - len(patients))]
            ]
            rng.shuffle(visitors)
        for i in range(encounters):
            eid = start_id + i
            pid = visitors[i] if shape == "realistic" else patients[rng.randrange(len(patients))][0]
            dept, inst = depts[rng.randrange(len(depts))]
            batch_e.append(
                dict(
                    id=eid,
                    patient_id=pid,
                    institution_id=inst,
                    department_id=dept,
                    clinic_type="ordinary",
                    business_date=day,
                    status="open",
                    opened_at=now,
                )
            )
            for _ in range(rng.randint(4, 6)):
                code, kind, name, unit, price, klass, share = items[rng.randrange(len(items))]
                qty = rng.randint(1, 3)
                batch_o.append(
                    dict(
                        id=order_id,
                        encounter_id=eid,
                        kind=kind,
                        item_code=code,
                        item_name=name,
                        quantity=qty,
                        unit=unit,
                        unit_price=price,
                        amount=price * qty,
                        insurance_class=klass,
                        self_pay_permille=share,
                        status="charged",
                        placed_at=now,
                        cancel_reason="",
                    )
                )
                batch_c.append(
                    dict(
                        order_id=order_id,
                        encounter_id=eid,
                        patient_id=pid,
                        business_date=day,
                        amount=price * qty,
                        hold=price * qty,
                        insurance_class=klass,
                        self_pay_permille=share,
                        on_credit=True,
                        status="open",
                        created_at=now,
                    )
                )
                order_id += 1
            if len(batch_e) >= 2000:
                _flush(s, batch_e, batch_o, batch_c)
        _flush(s, batch_e, batch_o, batch_c)
        s.commit()
    return day


def _more_patients(s: Session, patients: list, want: int, rng: random.Random, now: datetime) -> list:  # type: ignore[type-arg]
    """Copies of the demo's patients (new MPI and ID numbers, half of them with a signed channel) until
    there are ``want``; returns (id, scheme) of all."""
    if want <= len(patients):
        return patients
    cols = [c for c in table_of(Patient).c if c.name not in ("id", "mpi_id", "id_number")]
    source = [
        dict(r._mapping) for r in s.execute(select(*cols).where(Patient.id.in_([p for p, _ in patients])))
    ]
    top = int(s.scalar(select(func.max(Patient.id))) or 0)
    rows, deals = [], []
    for n in range(want - len(patients)):
        pid = top + 1 + n
        rows.append(
            {**source[n % len(source)], "id": pid, "mpi_id": f"B{pid:012d}", "id_number": f"B{pid:017d}"}
        )
        if rng.random() < 0.5:
            deals.append(dict(patient_id=pid, channel="wechat", payer_ref=f"bench-{pid}", signed_at=now))
    s.execute(insert(Patient), rows)
    if deals:
        s.execute(insert(PaymentAgreement), deals)
    if s.get_bind().dialect.name == "postgresql":
        s.execute(
            text("SELECT setval(pg_get_serial_sequence('patients', 'id'), (SELECT max(id) FROM patients))")
        )
    s.commit()
    return list(s.execute(select(Patient.id, Patient.insurance_scheme).order_by(Patient.id)))


def _flush(s: Session, e: list[dict], o: list[dict], c: list[dict]) -> None:  # type: ignore[type-arg]
    if e:
        s.execute(insert(Encounter), e)
        s.execute(insert(Order), o)
        s.execute(insert(Charge), c)
    e.clear(), o.clear(), c.clear()


RAW_SQL = [
    # one settlement per encounter-day with its total (fund and cash split kept simple: the ceiling of the writes)
    """INSERT INTO settlements (encounter_id, patient_id, business_date, attempt, total, fund, personal_account, mutual_aid,
           cash, cash_channel, mode, status, breakdown, options, created_at)
       SELECT encounter_id, MIN(patient_id), business_date, 1, SUM(amount), SUM(amount) / 2, 0, 0,
              SUM(amount) - SUM(amount) / 2, 'wechat', 'auto', 'settled', '{}', '{}', :now
       FROM charges WHERE status = 'open' AND business_date = :day GROUP BY encounter_id, business_date""",
    """INSERT INTO payments (out_trade_no, idempotency_key, request_hash, reference, patient_id, channel, amount, status,
           failure_reason, business_date, created_at)
       SELECT 'B' || CAST(id AS VARCHAR(20)), 'raw:' || CAST(id AS VARCHAR(20)), '', 'settlement:' || CAST(id AS VARCHAR(20)),
              patient_id, 'wechat', cash, 'succeeded', '', business_date, :now FROM settlements WHERE business_date = :day""",
    """UPDATE charges SET status = 'settled',
           settlement_id = (SELECT s.id FROM settlements s WHERE s.encounter_id = charges.encounter_id
                            AND s.business_date = charges.business_date)
       WHERE status = 'open' AND business_date = :day""",
]


def run(kind: str, encounters: int, seed: int, shape: str = "realistic") -> dict[str, float | int | str]:
    with fresh(kind, "app") as app_url, fresh(kind, "raw") as raw_url:
        engines = {}
        for label, url in (("app", app_url), ("raw", raw_url)):
            engine = build_engine(url)
            upgrade(engine)
            engines[label] = engine
            day = load(engine, encounters, seed, shape)
        factory = sessionmaker(bind=engines["app"], expire_on_commit=False)
        started = time.perf_counter()
        workers = SETTLE_WORKERS if kind == "postgresql" else 1  # as the 23:00 job runs it
        report = settle_day(factory, day, workers=workers)
        app_seconds = time.perf_counter() - started

        started = time.perf_counter()
        with engines["raw"].begin() as conn:
            for sql in RAW_SQL:
                conn.execute(text(sql), {"day": day, "now": datetime.now(UTC)})
        raw_seconds = time.perf_counter() - started

        with factory() as s:
            settled = s.scalar(select(func.count()).select_from(Settlement))
            per_encounter = s.execute(
                select(Settlement.encounter_id, func.count())
                .where(Settlement.status != "reversed")
                .group_by(Settlement.encounter_id)
                .having(func.count() > 1)
            ).all()
            per_payment = s.execute(
                select(Payment.reference, func.count()).group_by(Payment.reference).having(func.count() > 1)
            ).all()
            still_open = s.scalar(select(func.count()).select_from(Charge).where(Charge.status == "open"))
        for engine in engines.values():
            engine.dispose()
        return {
            "db": kind,
            "shape": shape,
            "encounters": encounters,
            "settled": int(settled or 0),
            "arrears": report.arrears,
            "errors": len(report.errors),
            "still_open": int(still_open or 0),
            "batch_seconds": round(app_seconds, 2),
            "encounters_per_s": round(encounters / app_seconds, 1),
            "raw_seconds": round(raw_seconds, 3),
            "raw_encounters_per_s": round(encounters / raw_seconds, 1),
            "ratio_to_raw": round((encounters / app_seconds) / (encounters / raw_seconds), 4),
            "double_charged": len(per_encounter) + len(per_payment),
        }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--encounters", type=int, default=100_000)
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--quick", action="store_true", help="2,000 encounters per database (under a minute)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--shape",
        choices=["realistic", "crowded"],
        default="realistic",
        help="realistic: 1-2 visits per patient that day; crowded: the earlier 400 patients for all",
    )
    args = parser.parse_args()
    encounters = 2_000 if args.quick else args.encounters
    set_clock(FrozenClock(datetime(2026, 11, 22, 14, 0, tzinfo=UTC)))  # 22:00 in Shanghai, one business day
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    results = []
    for kind in kinds:
        result = run(kind, encounters, args.seed, args.shape)
        print(json.dumps(result, ensure_ascii=False), flush=True)
        results.append(result)
    worst = min(results, key=lambda r: float(r["encounters_per_s"]))
    summary = {
        "encounters_per_s": worst["encounters_per_s"],
        "batch_seconds": max(float(r["batch_seconds"]) for r in results),
        "ratio_to_raw": worst["ratio_to_raw"],
        "double_charged": sum(int(r["double_charged"]) for r in results),
        "per_db": {
            str(r["db"]): {k: r[k] for k in ("encounters_per_s", "batch_seconds", "ratio_to_raw")}
            for r in results
        },
        "encounters": encounters,
        "shape": args.shape,
    }
    print(json.dumps(summary, ensure_ascii=False))


if __name__ == "__main__":
    main()
