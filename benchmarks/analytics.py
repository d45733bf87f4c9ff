"""Benchmark of analytics on PostgreSQL: a year of synthetic city activity, the full refresh of the
monthly facts beside the same aggregates written by hand in SQL, and the dashboard's page data time.

Creates its own database; 20 institutions (4 of them grassroots) of 10 departments, patients through
the registry service, then a year of outpatient encounters (``--visits``, 5,000,000 for the issue's
size; ``--quick`` 200,000) and their charges on credit (one in five) inserted in bulk (``COPY``).
Measured in the same run:

* ``refresh_s``: ``analytics.service.refresh`` of the twelve months (every area's bulk read);
* ``sql_s``: the same GROUP BYs written by hand (visits and credit charges by day, institution and
  department) — ``refresh_ratio_to_sql`` = sql_s / refresh_s (target ≥ 0.5);
* ``page_p99_ms``: one dashboard view's data (figures with 同比, the trend, the ranking) for random
  month ranges, p50 / p99 (target p99 < 300 ms).

Admissions and claim lines are not generated here (their areas' own benchmarks cover their reads).
The last stdout line is one JSON object. The database is dropped at the end.

    .venv/bin/python benchmarks/analytics.py --quick
"""

from __future__ import annotations

import argparse
import json
import random
import secrets
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from yilian.analytics import service  # noqa: E402
from yilian.analytics.domain import Month  # noqa: E402
from yilian.billing.models import Charge  # noqa: E402
from yilian.kit import db  # noqa: E402
from yilian.kit.auth.domain import Actor  # noqa: E402
from yilian.kit.migrate import upgrade  # noqa: E402
from yilian.outpatient.models import Encounter  # noqa: E402
from yilian.registry import service as registry  # noqa: E402
from yilian.registry.domain import Grade, InstitutionCategory, InsuranceScheme, Sex, make_id_number  # noqa: E402
from yilian.registry.schemas import DepartmentCreate, InstitutionCreate, PatientCreate  # noqa: E402

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
SYSTEM = Actor.system("benchmark")
YEAR = 2025
NAMES = "赵钱孙李周吴郑王冯陈褚卫蒋沈韩杨朱秦尤许何吕施张孔曹严华金魏陶姜"

SQL = [
    """SELECT business_date, institution_id, department_id, count(*) FROM encounters
       WHERE business_date BETWEEN :a AND :b GROUP BY 1, 2, 3""",
    """SELECT c.business_date, e.institution_id, e.department_id, c.encounter_id, c.patient_id, sum(c.hold)
       FROM charges c JOIN encounters e ON e.id = c.encounter_id
       WHERE c.on_credit AND c.status <> 'void' AND c.business_date BETWEEN :a AND :b GROUP BY 1, 2, 3, 4, 5""",
]


def build(factory: sessionmaker[Session], patients: int) -> tuple[list[tuple[int, int]], list[int]]:
    units: list[tuple[int, int]] = []
    with factory() as session:
        for i in range(20):
            grass = i >= 16
            inst = registry.create_institution(
                session,
                SYSTEM,
                InstitutionCreate(
                    code=f"B{i:03d}",
                    name=f"基准机构{i}",
                    category=InstitutionCategory.COMMUNITY_CENTRE
                    if grass
                    else InstitutionCategory.GENERAL_HOSPITAL,
                    level=1 if grass else 3,
                    grade=Grade.A,
                    region_code="320602",
                ),
            )
            for d in range(10):
                dept = registry.create_department(
                    session,
                    SYSTEM,
                    DepartmentCreate(institution_id=inst.id, code=f"D{d:02d}", name=f"科室{d}"),
                )
                units.append((inst.id, dept.id))
        ids = []
        for n in range(patients):
            p = registry.create_patient(
                session,
                SYSTEM,
                PatientCreate(
                    name=f"{NAMES[n % len(NAMES)]}{NAMES[n // len(NAMES) % len(NAMES)]}明",
                    id_number=make_id_number("320602", date(1970, 1, 1) + timedelta(days=n), n + 1, Sex.MALE),
                    phone="13800000000",
                    insurance_scheme=InsuranceScheme.EMPLOYEE,
                    insured_region="320600",
                    real_name_verified=True,
                ),
            )
            ids.append(p.id)
        session.commit()
    return units, ids


def fill(
    factory: sessionmaker[Session], units: list[tuple[int, int]], patients: list[int], visits: int
) -> None:
    rng = random.Random(21)
    chunk = 200_000
    next_id = 1
    first = date(YEAR, 1, 1)
    for start in range(0, visits, chunk):
        n = min(chunk, visits - start)
        enc, charges = [], []
        for k in range(n):
            inst, dept = units[rng.randrange(len(units))]
            day = first + timedelta(days=rng.randrange(365))
            pid = patients[rng.randrange(len(patients))]
            at = datetime(day.year, day.month, day.day, 1, tzinfo=UTC)
            enc.append(
                {
                    "id": next_id + k,
                    "patient_id": pid,
                    "institution_id": inst,
                    "department_id": dept,
                    "clinic_type": "ordinary",
                    "business_date": day,
                    "status": "closed",
                    "opened_at": at,
                }
            )
            if k % 5 == 0:
                charges.append(
                    {
                        "encounter_id": next_id + k,
                        "patient_id": pid,
                        "business_date": day,
                        "amount": 5000,
                        "hold": 1500,
                        "insurance_class": "甲",
                        "self_pay_permille": 0,
                        "on_credit": True,
                        "status": "settled",
                        "created_at": at,
                    }
                )
        next_id += n
        with factory() as session:
            db.insert_rows(session, db.table_of(Encounter), enc)
            db.insert_rows(session, db.table_of(Charge), charges)
            session.commit()
    with factory() as session:
        session.execute(text("SELECT setval(pg_get_serial_sequence('encounters','id'), :n)"), {"n": next_id})
        session.execute(text("ANALYZE"))
        session.commit()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=DEFAULT_URL)
    parser.add_argument("--visits", type=int, default=5_000_000)
    parser.add_argument("--pages", type=int, default=200)
    parser.add_argument("--quick", action="store_true", help="200,000 visits, 100 page views")
    args = parser.parse_args()
    if args.quick:
        args.visits, args.pages = 200_000, 100
    base = make_url(args.url)
    name = f"bench_analytics_{secrets.token_hex(4)}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = base.set(database=name)
    engine = db.build_engine(url.render_as_string(hide_password=False))
    try:
        upgrade(engine)
        factory = sessionmaker(bind=engine, expire_on_commit=False)
        t0 = time.perf_counter()
        units, patients = build(factory, 500)
        fill(factory, units, patients, args.visits)
        built = time.perf_counter() - t0
        first, last = Month(YEAR, 1), Month(YEAR, 12)
        with factory() as session:
            t = time.perf_counter()
            for q in SQL:
                session.execute(text(q), {"a": first.first, "b": last.last}).fetchall()
            sql_s = time.perf_counter() - t
            t = time.perf_counter()
            service.refresh(session, first, last, trigger="bench")
            refresh_s = time.perf_counter() - t
            session.commit()
        rng = random.Random(5)
        times = []
        with factory() as session:
            for _ in range(args.pages):
                a = Month(YEAR, rng.randint(1, 12))
                b = Month(YEAR, rng.randint(a.month, 12))
                t = time.perf_counter()
                service.figures(session, SYSTEM, a, b)
                service.trend(session, SYSTEM, "credit_visits", a, b)
                service.breakdown(session, SYSTEM, "credit_visits", a, b)
                times.append((time.perf_counter() - t) * 1000)
        times.sort()
        result = {
            "visits": args.visits,
            "credit_encounters": (args.visits + 4) // 5,
            "build_s": round(built, 1),
            "refresh_s": round(refresh_s, 3),
            "sql_s": round(sql_s, 3),
            "refresh_ratio_to_sql": round(sql_s / refresh_s, 3),
            "page_p50_ms": round(statistics.median(times), 1),
            "page_p99_ms": round(times[min(len(times) - 1, int(len(times) * 0.99))], 1),
        }
        print(json.dumps(result))
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


if __name__ == "__main__":
    main()
