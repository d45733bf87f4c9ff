"""Benchmark of the hospital-wide bed pool (全院一张床) and the bed-use report on PostgreSQL.

Creates its own database, builds a 3,000-bed hospital (30 departments, 60 wards of 50 beds, through
``inpatient.service.create_ward``, with a relation table), fills 90 % of the beds, then measures in
the same run:

* the bed office's suggestions (``inpatient.service.suggest``: the request with its policy and
  reference stamp, the patient, the set-based free-bed query, the wards/rooms/relations from the
  reference cache, the pure ranking with reasons), p50/p99 over random requests;
* the same candidate look-up as ONE hand-written set-based SQL query (free beds with ward, room, the
  room's occupants and the department's relation), p50/p99 — the baseline;
* concurrent assignment: threads give the same free beds at once → ``double_assigned`` (must be 0);
* the occupancy / turnover / ALOS report (``inpatient.service.bed_indicators``) over a year of N
  admissions (100,000 by default; ``--quick`` 20,000) beside one hand-written SQL aggregate;
  ``report_ratio_to_sql`` = SQL time / report time (target ≥ 0.5).

The last stdout line is one JSON object. The database is dropped at the end.

    .venv/bin/python benchmarks/inpatient.py --quick
    .venv/bin/python benchmarks/inpatient.py --admissions 100000
"""

from __future__ import annotations

import argparse
import io
import json
import random
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import psycopg
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.scratch import scratch_database  # noqa: E402
from yilian.inpatient import service as svc  # noqa: E402
from yilian.inpatient.errors import BedTaken  # noqa: E402
from yilian.kit import db  # noqa: E402
from yilian.kit.auth.domain import Actor  # noqa: E402
from yilian.kit.migrate import upgrade  # noqa: E402
from yilian.registry import service as registry  # noqa: E402
from yilian.registry.domain import Grade, InstitutionCategory, InsuranceScheme, Sex, make_id_number  # noqa: E402
from yilian.registry.schemas import DepartmentCreate, InstitutionCreate, PatientCreate  # noqa: E402

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
SYSTEM = Actor.system("benchmark")
DEPARTMENTS = 30
WARDS_PER_DEPARTMENT = 2
BEDS_PER_WARD = 50
NAMES = "赵钱孙李周吴郑王冯陈褚卫蒋沈韩杨朱秦尤许何吕施张孔曹严华金魏陶姜"

# The same candidate look-up, hand-written and set-based (the taken beds of the rooms with a free bed
# aggregated once per room), with the ward, room and relation joined in the statement itself
CANDIDATE_SQL = """
SELECT b.id, b.code, w.id, w.name, w.department_id, w.floor, r.code, r.kind, r.sex, r.id,
       b.monitored, b.emergency_reserved, occ.sex, occ.infection, rel.kind, rel.rank
FROM beds b
JOIN wards w ON w.id = b.ward_id
JOIN ward_rooms r ON r.id = b.room_id
LEFT JOIN (
    SELECT o.room_id, max(o.occupant_sex) AS sex, max(NULLIF(o.occupant_isolation, 'none')) AS infection
    FROM beds o
    WHERE o.state IN ('occupied', 'reserved')
      AND o.room_id IN (SELECT f.room_id FROM beds f WHERE f.institution_id = %(institution)s AND f.state = 'free')
    GROUP BY o.room_id
) occ ON occ.room_id = b.room_id
LEFT JOIN ward_relations rel ON rel.ward_id = w.id AND rel.department_id = %(department)s
WHERE b.institution_id = %(institution)s AND b.state = 'free' AND w.is_active
"""

REPORT_SQL = """
SELECT
  sum(greatest(0, least(CASE WHEN a.discharged_on IS NULL THEN %(end)s::date
                             WHEN a.discharged_on = a.admitted_on THEN a.admitted_on
                             ELSE a.discharged_on - 1 END, %(end)s::date)
                  - greatest(a.admitted_on, %(start)s::date) + 1)),
  count(*) FILTER (WHERE a.admitted_on BETWEEN %(start)s AND %(end)s),
  count(*) FILTER (WHERE a.discharged_on BETWEEN %(start)s AND %(end)s),
  sum(greatest(1, a.discharged_on - a.admitted_on)) FILTER (WHERE a.discharged_on BETWEEN %(start)s AND %(end)s),
  count(*) FILTER (WHERE a.borrowed AND a.admitted_on BETWEEN %(start)s AND %(end)s),
  avg(a.wait_hours) FILTER (WHERE a.admitted_on BETWEEN %(start)s AND %(end)s)
FROM admissions a
WHERE a.institution_id = %(institution)s AND a.admitted_on <= %(end)s
  AND (a.discharged_on IS NULL OR a.discharged_on >= %(start)s)
"""


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def build_hospital(factory: sessionmaker[Session], rng: random.Random) -> tuple[int, list[int]]:
    """The hospital, its departments and 3,000 beds through the service; returns (hospital, departments)."""
    with factory() as s:
        hospital = registry.create_institution(
            s,
            SYSTEM,
            InstitutionCreate(
                code="B-INP",
                name="基准三甲医院",
                category=InstitutionCategory.GENERAL_HOSPITAL,
                level=3,
                grade=Grade.A,
                region_code="320602",
            ),
        )
        departments = [
            registry.create_department(
                s,
                SYSTEM,
                DepartmentCreate(institution_id=hospital.id, code=f"BD{i:02d}", name=f"临床科室{i:02d}"),
            ).id
            for i in range(DEPARTMENTS)
        ]
        wards: list[int] = []
        for i, department_id in enumerate(departments):
            for j in range(WARDS_PER_DEPARTMENT):
                rooms = [
                    svc.RoomSpec(f"{k:02d}", 2, sex=("M", "F", "")[k % 3], kind="isolation" if k == 0 else "")
                    for k in range(BEDS_PER_WARD // 2)
                ]
                ward = svc.create_ward(
                    s,
                    SYSTEM,
                    institution_id=hospital.id,
                    department_id=department_id,
                    code=f"W{i:02d}{j}",
                    name=f"{i:02d}科{j + 1}病区",
                    floor=3 + (i * WARDS_PER_DEPARTMENT + j) // 4,
                    rooms=rooms,
                    emergency_reserved=2 if i < 3 and j == 0 else 0,
                )
                wards.append(ward.id)
        for i, department_id in enumerate(departments):
            others = [w for w in wards[max(0, 2 * i - 4) : 2 * i + 6] if w not in wards[2 * i : 2 * i + 2]]
            for rank, ward_id in enumerate(others[:4], start=1):
                svc.set_relation(
                    s,
                    SYSTEM,
                    department_id=department_id,
                    ward_id=ward_id,
                    kind="related" if rank <= 2 else "nearby",
                    rank=rank,
                )
        s.commit()
        # 90 % occupancy in bulk: every room gets one sex (its fixed one or a random one)
        s.execute(
            text(
                """
                UPDATE beds SET state = 'occupied',
                  occupant_sex = COALESCE(NULLIF((SELECT r.sex FROM ward_rooms r WHERE r.id = beds.room_id), ''),
                                          CASE WHEN beds.room_id % 2 = 0 THEN 'M' ELSE 'F' END),
                  occupant_isolation = 'none'
                WHERE id IN (SELECT id FROM beds WHERE institution_id = :h ORDER BY md5(id::text) LIMIT :n)
                """
            ),
            {"h": hospital.id, "n": int(DEPARTMENTS * WARDS_PER_DEPARTMENT * BEDS_PER_WARD * 0.9)},
        )
        s.commit()
        s.execute(text("ANALYZE"))
        s.commit()
        return hospital.id, departments


def make_patients(factory: sessionmaker[Session], hospital_id: int, n: int) -> list[int]:
    out = []
    with factory() as s:
        for i in range(n):
            sex = Sex.MALE if i % 2 else Sex.FEMALE
            out.append(
                registry.create_patient(
                    s,
                    SYSTEM,
                    PatientCreate(
                        name=NAMES[i % len(NAMES)] + "某" + NAMES[(i // len(NAMES)) % len(NAMES)],
                        id_number=make_id_number(
                            "320602", date(1960 + i % 50, 1 + i % 12, 1 + i % 28), i + 1, sex
                        ),
                        phone=f"139{i:08d}",
                        insurance_scheme=InsuranceScheme.EMPLOYEE,
                        insured_region="320600",
                        home_institution_id=hospital_id,
                        real_name_verified=True,
                    ),
                ).id
            )
        s.commit()
    return out


def bench_suggest(
    factory: sessionmaker[Session],
    raw: psycopg.Connection,
    hospital_id: int,
    departments: list[int],
    patients: list[int],
    rng: random.Random,
    n: int,
) -> dict[str, float]:
    requests = []
    with factory() as s:
        for pid in patients[:n]:
            requests.append(
                svc.request_bed(s, SYSTEM, patient_id=pid, department_id=rng.choice(departments)).id
            )
        s.commit()
    ours: list[float] = []
    sql: list[float] = []
    found = 0
    with factory() as s:
        for request_id in requests:
            t = time.perf_counter()
            ranking = svc.suggest(s, SYSTEM, request_id)
            ours.append((time.perf_counter() - t) * 1000)
            found += bool(ranking.suggestions)
            department = svc.find_request(s, request_id).department_id
            t = time.perf_counter()
            raw.execute(CANDIDATE_SQL, {"department": department, "institution": hospital_id}).fetchall()
            sql.append((time.perf_counter() - t) * 1000)
        s.rollback()
    return {
        "suggest_p50_ms": round(statistics.median(ours), 3),
        "suggest_p99_ms": round(_pct(ours, 0.99), 3),
        "sql_p50_ms": round(statistics.median(sql), 3),
        "sql_p99_ms": round(_pct(sql, 0.99), 3),
        # how many times the raw query's latency the whole suggestion takes (load-independent-ish)
        "suggest_over_sql_p50": round(statistics.median(ours) / statistics.median(sql), 2),
        "requests_with_a_bed": found,
    }


def bench_double_assign(
    factory: sessionmaker[Session], hospital_id: int, department_id: int, patients: list[int], threads: int
) -> dict[str, int]:
    with factory() as s:
        free = [
            b.id
            for b in svc.repo.beds_of_institution(s, hospital_id)
            if b.state == "free" and not b.emergency_reserved
        ]
        requests = [
            svc.request_bed(s, SYSTEM, patient_id=pid, department_id=department_id).id
            for pid in patients[:threads]
        ]
        s.commit()
    beds = free[: max(1, threads // 5)]
    barrier = threading.Barrier(threads, timeout=120)

    def attempt(i: int) -> bool:
        barrier.wait()
        try:
            with db.unit_of_work(factory) as s:
                svc.assign(s, SYSTEM, requests[i], beds[i % len(beds)])
            return True
        except BedTaken:
            return False
        except Exception:  # noqa: BLE001 - a refusal for the room's sex etc. is not a double assignment
            return False

    with ThreadPoolExecutor(max_workers=threads) as pool:
        wins = sum(pool.map(attempt, range(threads)))
    with factory() as s:
        double = s.execute(
            text(
                "SELECT count(*) FROM (SELECT bed_id FROM bed_requests WHERE status = 'assigned' AND bed_id IS NOT NULL "
                "GROUP BY bed_id HAVING count(*) > 1) d"
            )
        ).scalar_one()
    return {
        "assign_threads": threads,
        "assign_beds": len(beds),
        "assign_wins": wins,
        "double_assigned": int(double),
    }


def load_admissions(raw: psycopg.Connection, hospital_id: int, n: int, rng: random.Random) -> date:
    """A year of ADT history: N admissions copied in (stays of 1–20 days, 10 % borrowed)."""
    rows = raw.execute(
        "SELECT w.id, w.department_id FROM wards w WHERE w.institution_id = %s ORDER BY w.id", (hospital_id,)
    ).fetchall()
    patient = raw.execute("SELECT min(id) FROM patients").fetchone()[0]  # type: ignore[index]
    year_start = date(2025, 1, 1)
    buf = io.StringIO()
    now = datetime(2025, 6, 1, tzinfo=UTC).isoformat()
    for i in range(n):
        ward_id, department_id = rng.choice(rows)
        admitted = year_start + timedelta(days=rng.randrange(365))
        los = rng.choice((1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 14, 20))
        discharged = admitted + timedelta(days=los)
        borrowed = "t" if rng.random() < 0.1 else "f"
        buf.write(
            f"B{i:09d}\t{hospital_id}\t{patient}\t{department_id}\t{ward_id}\tclinic\tmild\tnone\t{borrowed}\t"
            f"discharged\tf\t{admitted}\t{now}\t{discharged}\t{round(rng.random() * 48, 1)}\t0\n"
        )
    with raw.cursor().copy(
        "COPY admissions (number, institution_id, patient_id, department_id, ward_id, source, severity, isolation, "
        "borrowed, status, deposit_waived, admitted_on, admitted_at, discharged_on, wait_hours, saved_days) FROM STDIN"
    ) as copy:
        copy.write(buf.getvalue())
    raw.commit()
    raw.execute("ANALYZE admissions")
    raw.commit()
    return year_start


def bench_report(
    factory: sessionmaker[Session], raw: psycopg.Connection, hospital_id: int, start: date
) -> dict[str, float]:
    end = start + timedelta(days=364)
    ours: list[float] = []
    sql: list[float] = []
    checked = None
    for _ in range(7):
        with factory() as s:
            t = time.perf_counter()
            rows = svc.bed_indicators(s, SYSTEM, hospital_id, start, end)
            ours.append(time.perf_counter() - t)
            s.rollback()
        t = time.perf_counter()
        got = raw.execute(REPORT_SQL, {"start": start, "end": end, "institution": hospital_id}).fetchone()
        sql.append(time.perf_counter() - t)
        checked = (rows[0].values.occupied_bed_days, got[0] if got else None)
    assert checked is not None and checked[0] == checked[1], f"report and SQL disagree: {checked}"
    v = rows[0].values
    report_s, sql_s = statistics.median(ours), statistics.median(sql)
    return {
        "report_ms": round(report_s * 1000, 2),
        "report_sql_ms": round(sql_s * 1000, 2),
        "report_ratio_to_sql": round(sql_s / report_s, 3),
        "occupancy": round(v.occupancy, 4),
        "turnover": round(v.turnover, 2),
        "alos": round(v.average_length_of_stay, 2),
        "discharges": v.discharges,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=DEFAULT_URL, help="PostgreSQL server (a database is created on it)")
    parser.add_argument("--admissions", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument(
        "--quick", action="store_true", help="20,000 admissions, 200 requests (under a minute)"
    )
    args = parser.parse_args()
    if args.quick:
        args.admissions, args.requests = 20_000, 200
    rng = random.Random(15)
    with scratch_database(args.url, "yilian_bench_inpatient") as url:
        engine = db.build_engine(url.render_as_string(hide_password=False), pool_size=10, max_overflow=50)
        try:
            t0 = time.perf_counter()
            upgrade(engine)
            factory = sessionmaker(bind=engine, expire_on_commit=False)
            hospital_id, departments = build_hospital(factory, rng)
            patients = make_patients(factory, hospital_id, args.requests + 60)
            built = time.perf_counter() - t0
            dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
            with psycopg.connect(dsn) as raw:
                result: dict[str, object] = {
                    "beds": DEPARTMENTS * WARDS_PER_DEPARTMENT * BEDS_PER_WARD,
                    "occupancy_start": 0.9,
                }
                result.update(
                    bench_suggest(factory, raw, hospital_id, departments, patients, rng, args.requests)
                )
                result.update(
                    bench_double_assign(factory, hospital_id, departments[0], patients[args.requests :], 50)
                )
                start = load_admissions(raw, hospital_id, args.admissions, rng)
                result["admissions"] = args.admissions
                result.update(bench_report(factory, raw, hospital_id, start))
                result["build_s"] = round(built, 1)
            print(
                f"suggestions p50 {result['suggest_p50_ms']} ms, p99 {result['suggest_p99_ms']} ms "
                f"(SQL p99 {result['sql_p99_ms']} ms); report {result['report_ms']} ms vs SQL {result['report_sql_ms']} ms; "
                f"double assigned {result['double_assigned']}"
            )
            print(json.dumps(result, ensure_ascii=False))
        finally:
            engine.dispose()


if __name__ == "__main__":
    main()
