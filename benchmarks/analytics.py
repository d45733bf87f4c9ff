"""Benchmark of analytics on PostgreSQL: a year of synthetic city activity, the full refresh of the
monthly facts beside the same aggregates written by hand in SQL, and the dashboard's page data time.

Creates its own database; 20 institutions (4 of them grassroots) of 10 departments and 500 patients
through the registry service, then the year generated set-based (``INSERT … SELECT generate_series``,
foreign-key triggers off for the session, secondary indexes dropped and rebuilt): ``--visits``
outpatient encounters (5,000,000 by default, the issue's size; ``--quick`` 200,000), ``--lines`` charge
(claim) lines per visit (4: 20 M lines; one visit in five on credit), 6 admissions per 100 visits
(300,000) over 40 beds per department, a DRG case per discharge and an audit finding per 100 lines;
the alliance: a referral per 500 visits (10,000; three up, one down) and an expert posted to each
grassroots department one day a week.
Measured in the same run, in turn (``--rounds``, medians; ``--quick`` 3 rounds):

* ``refresh_s``: ``analytics.service.refresh`` of the twelve months (every area's bulk read, the fold,
  the facts, keys and distinct facts written);
* ``sql_s``: the same aggregates written by hand (visits and credit charges by day, institution and
  department; the bed report's month by month in one statement; open beds; findings; DRG cases;
  referrals by Beijing day, sittings) —
  ``refresh_ratio_to_sql`` = sql_s / refresh_s (target ≥ 0.5);
* ``page_p99_ms``: one dashboard view's data (figures with 同比, the trend, the ranking) for random
  month ranges, p50 / p99 (target p99 < 300 ms).

The last stdout line is one JSON object (with the load average when the measuring began). The
database is dropped at the end unless ``--keep``; ``--reuse NAME`` measures again on a kept one.

    .venv/bin/python benchmarks/analytics.py --quick
    .venv/bin/python benchmarks/analytics.py --keep          # the issue's size, about 5 minutes to generate
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.scratch import scratch_database  # noqa: E402
from yilian.analytics import service  # noqa: E402
from yilian.analytics.domain import Month  # noqa: E402
from yilian.kit import db  # noqa: E402
from yilian.kit.auth.domain import Actor  # noqa: E402
from yilian.kit.migrate import upgrade  # noqa: E402
from yilian.registry import service as registry  # noqa: E402
from yilian.registry.domain import Grade, InstitutionCategory, InsuranceScheme, Sex, make_id_number  # noqa: E402
from yilian.registry.schemas import DepartmentCreate, InstitutionCreate, PatientCreate  # noqa: E402

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
SYSTEM = Actor.system("benchmark")
YEAR = 2025
INSTITUTIONS, GRASSROOTS, DEPARTMENTS = 20, 4, 10  # institutions (the last ones grassroots) × departments
NAMES = "赵钱孙李周吴郑王冯陈褚卫蒋沈韩杨朱秦尤许何吕施张孔曹严华金魏陶姜"

# The same aggregates written by hand: what the refresh reads, as one GROUP BY each (the bed report's
# month by month in one statement over a series of months).
SQL = [
    """SELECT business_date, institution_id, department_id, count(*) FROM encounters
       WHERE business_date BETWEEN :a AND :b GROUP BY 1, 2, 3""",
    """SELECT c.business_date, e.institution_id, e.department_id, c.encounter_id, c.patient_id, sum(c.hold)
       FROM charges c JOIN encounters e ON e.id = c.encounter_id
       WHERE c.on_credit AND c.status <> 'void' AND c.business_date BETWEEN :a AND :b GROUP BY 1, 2, 3, 4, 5""",
    """SELECT m, institution_id, department_id,
              sum(greatest(0, least(CASE WHEN discharged_on IS NULL THEN m_end
                                         WHEN discharged_on = admitted_on THEN admitted_on
                                         ELSE discharged_on - 1 END, m_end) - greatest(admitted_on, m) + 1)),
              count(*) FILTER (WHERE admitted_on BETWEEN m AND m_end),
              count(*) FILTER (WHERE discharged_on BETWEEN m AND m_end),
              sum(greatest(1, discharged_on - admitted_on)) FILTER (WHERE discharged_on BETWEEN m AND m_end),
              sum(saved_days) FILTER (WHERE admitted_on BETWEEN m AND m_end)
       FROM (SELECT m::date AS m, (m + interval '1 month - 1 day')::date AS m_end
             FROM generate_series(CAST(:a AS date), CAST(:b AS date), interval '1 month') m) months
       JOIN admissions ON admitted_on <= m_end AND (discharged_on IS NULL OR discharged_on >= m)
       GROUP BY 1, 2, 3""",
    """SELECT institution_id, owner_department_id, count(*) FROM beds WHERE state <> 'closed' GROUP BY 1, 2""",
    """SELECT service_date, status, count(*), sum(amount) FROM audit_findings
       WHERE service_date BETWEEN :a AND :b GROUP BY 1, 2""",
    """SELECT discharge_date, count(*), sum(weight), sum(total_cost_fen), sum(payment_fen) FROM drg_cases
       WHERE status = 'grouped' AND weight IS NOT NULL AND discharge_date BETWEEN :a AND :b GROUP BY 1""",
    # the alliance: referrals by their Beijing day in SQL (PostgreSQL only), sittings the expert came to
    """SELECT (requested_at AT TIME ZONE 'Asia/Shanghai')::date, direction, from_institution_id,
              to_institution_id, to_department_id, count(*)
       FROM alliance_referrals
       WHERE requested_at >= CAST(:a AS timestamp) AT TIME ZONE 'Asia/Shanghai'
         AND requested_at < (CAST(:b AS date) + 1)::timestamp AT TIME ZONE 'Asia/Shanghai'
       GROUP BY 1, 2, 3, 4, 5""",
    """SELECT s.day, p.member_institution_id, p.member_department_id, count(*)
       FROM alliance_sittings s JOIN alliance_postings p ON p.id = s.posting_id
       WHERE s.day BETWEEN :a AND :b AND s.arrived GROUP BY 1, 2, 3""",
]

# Set-based generation of the year (INSERT … SELECT generate_series), with the foreign-key triggers off
# for the session (the wards, rooms, DRG scheme and audit library rows are not read by analytics).
GEN = [
    # encounters: a uniform year over the 200 departments and the patients
    """INSERT INTO encounters (id, patient_id, institution_id, department_id, clinic_type, business_date,
           status, opened_at)
       SELECT g, p[1 + (g * 7919) % cardinality(p)], i[u], d[u], 'ordinary', day, 'closed',
              day + time '01:00'
       FROM (SELECT g, 1 + floor(random() * cardinality(CAST(:insts AS bigint[])))::int AS u,
                    CAST(:first AS date) + floor(random() * 365)::int AS day
             FROM generate_series(1, CAST(:visits AS bigint)) g) s,
            (SELECT CAST(:pids AS bigint[]) AS p, CAST(:insts AS bigint[]) AS i,
                    CAST(:depts AS bigint[]) AS d) a""",
    # charge lines: :lines per visit; one visit in five on credit (5000 fen, 1500 held per visit)
    """INSERT INTO charges (encounter_id, patient_id, business_date, amount, hold, insurance_class,
           self_pay_permille, on_credit, status, created_at)
       SELECT e.id, e.patient_id, e.business_date, 5000 / :lines, 1500 / :lines, '甲', 0, e.id % 5 = 1,
              'settled', e.opened_at
       FROM encounters e, generate_series(1, :lines) k""",
    # beds: 40 per department (FK checks off: the wards and rooms are not read by analytics)
    """INSERT INTO beds (institution_id, ward_id, room_id, code, owner_department_id, using_department_id,
           monitored, emergency_reserved, state, occupant_sex, occupant_isolation, version, changed_at)
       SELECT i[u], u, u, 'B' || b, d[u], d[u], false, false, 'free', '', '', 1, now()
       FROM (SELECT CAST(:insts AS bigint[]) AS i, CAST(:depts AS bigint[]) AS d) a,
            generate_series(1, cardinality(CAST(:insts AS bigint[]))) u, generate_series(1, 40) b""",
    # admissions: stays of 1-14 days admitted over the year (the last ones still in hospital)
    """INSERT INTO admissions (number, institution_id, patient_id, department_id, ward_id, source, severity,
           isolation, borrowed, status, deposit_waived, admitted_on, admitted_at, discharged_on,
           discharged_at, wait_hours, saved_days, mobility)
       SELECT 'A' || g, i[u], p[1 + (g * 104729) % cardinality(p)], d[u], u, 'clinic', 'mild', 'none',
              g % 50 = 0, CASE WHEN out > CAST(:last AS date) THEN 'admitted' ELSE 'discharged' END, false,
              day, day + time '09:00', CASE WHEN out > CAST(:last AS date) THEN NULL ELSE out END,
              CASE WHEN out > CAST(:last AS date) THEN NULL ELSE out + time '10:00' END, 3.5, g % 3,
              'ambulatory'
       FROM (SELECT g, 1 + floor(random() * cardinality(CAST(:insts AS bigint[])))::int AS u, day,
                    day + 1 + floor(random() * 14)::int AS out
             FROM (SELECT g, CAST(:first AS date) + floor(random() * 365)::int AS day
                   FROM generate_series(1, CAST(:admissions AS bigint)) g) t) s,
            (SELECT CAST(:pids AS bigint[]) AS p, CAST(:insts AS bigint[]) AS i,
                    CAST(:depts AS bigint[]) AS d) a""",
    # DRG: every discharge grouped in one batch
    """INSERT INTO drg_batches (id, scheme_id, name, institution_level, uploaded_at, uploaded_by, rows,
           grouped, ungroupable, ambiguous)
       VALUES (1, 1, '基准', '3', now(), 'bench', 0, 0, 0, 0)""",
    """INSERT INTO drg_cases (batch_id, record_no, department, doctor, sex, admission_date, discharge_date,
           los_days, disposition, principal_dx, other_dx, procedures, total_cost_fen, status, drg, severity,
           weight, payment_fen, outlier, explanation)
       SELECT 1, number, '内科', '', 1, admitted_on, discharged_on, discharged_on - admitted_on, '1',
              'I21.0', '', '', 800000 + id % 1000 * 100, 'grouped', 'FM19', '',
              0.5 + (id % 1500) / 1000.0, 820000, '', ''
       FROM admissions WHERE discharged_on IS NOT NULL""",
    # audit: one finding per hundred claim lines, a third of them confirmed
    """INSERT INTO audit_runs (id, status, date_from, date_to, source, library_version, lines_scanned,
           findings_count, amount_total, progress, stats, started_at, started_by)
       VALUES (1, 'done', CAST(:first AS date), CAST(:last AS date), 'bench', '1', 0, 0, 0, 100, '{}', now(), 'bench')""",
    """INSERT INTO audit_findings (run_id, rule_id, family, severity, claim_id, patient_id, service_date,
           lines, related, evidence, amount, value, text, status, reason, updated_at)
       SELECT 1, 'R1', 'quantity', 'warn', encounter_id::text, patient_id::text, business_date, '[]', '[]',
              '{}', amount, '', '', CASE WHEN id % 300 = 0 THEN 'confirmed' ELSE 'open' END, '', now()
       FROM charges WHERE id % 100 = 0""",
    # the alliance: one referral per 500 visits (three up from a grassroots department to a hospital's,
    # one down), an expert posted to each grassroots department one day a week (nine days in ten came)
    """INSERT INTO alliance_networks (id, name, kind, lead_institution_id, created_at)
       VALUES (1, '基准医联体', 'city', (CAST(:insts AS bigint[]))[1], now())""",
    """INSERT INTO alliance_referrals (network_id, direction, kind, state, patient_id, from_institution_id,
           to_institution_id, to_department_id, diagnosis_code, diagnosis, reason, summary, care_plan,
           follow_up_dates, refuse_reason, used_reserve, created_by, requested_at, answer_due_at)
       SELECT 1, CASE WHEN up THEN 'up' ELSE 'down' END, CASE WHEN up THEN 'outpatient' ELSE 'chronic' END,
              'closed', p[1 + (g * 7919) % cardinality(p)], CASE WHEN up THEN i[gu] ELSE i[hu] END,
              CASE WHEN up THEN i[hu] ELSE i[gu] END, CASE WHEN up THEN d[hu] ELSE d[gu] END, 'I10', '高血压',
              '基准', '', '', '', '', false, 'bench', at, at + interval '1 day'
       FROM (SELECT g, g % 4 <> 0 AS up, :grass + floor(random() * (cardinality(CAST(:insts AS bigint[]))
                    - :grass + 1))::int AS gu, 1 + floor(random() * (:grass - 1))::int AS hu,
                    CAST(:first AS timestamp) + random() * interval '365 days' AS at
             FROM generate_series(1, CAST(:visits AS bigint) / 500) g) s,
            (SELECT CAST(:pids AS bigint[]) AS p, CAST(:insts AS bigint[]) AS i,
                    CAST(:depts AS bigint[]) AS d) a""",
    """INSERT INTO alliance_postings (id, network_id, practitioner_id, member_institution_id,
           member_department_id, start, "end", weekdays, period, clinic_type, created_by, created_at)
       SELECT u, 1, 1, i[u], d[u], CAST(:first AS date), CAST(:last AS date), (u % 5)::text, 'pm', 'expert',
              'bench', now()
       FROM (SELECT CAST(:insts AS bigint[]) AS i, CAST(:depts AS bigint[]) AS d) a,
            generate_series(:grass, cardinality(CAST(:insts AS bigint[]))) u""",
    """INSERT INTO alliance_sittings (posting_id, day, arrived, patients_seen, teaching_rounds, consultations,
           recorded_by)
       SELECT p.id, day::date, random() < 0.9, 20, 0, 0, 'bench'
       FROM alliance_postings p,
            generate_series(CAST(:first AS date), CAST(:last AS date), interval '1 day') day
       WHERE extract(isodow FROM day) - 1 = CAST(p.weekdays AS int)""",
]


def build(factory: sessionmaker[Session], patients: int) -> tuple[list[tuple[int, int]], list[int]]:
    units: list[tuple[int, int]] = []
    with factory() as session:
        for i in range(INSTITUTIONS):
            grass = i >= INSTITUTIONS - GRASSROOTS
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
            for d in range(DEPARTMENTS):
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


def _secondary_indexes(session: Session, table: str) -> list[tuple[str, str]]:
    """(drop, create) statements of a table's indexes and unique constraints other than its key."""
    out = []
    for name, definition in session.execute(
        text(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = CAST(:t AS regclass) AND contype = 'u'"
        ),
        {"t": table},
    ):
        out.append(
            (
                f'ALTER TABLE {table} DROP CONSTRAINT "{name}"',
                f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}',
            )
        )
    for name, definition in session.execute(
        text(
            "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.tablename = :t AND NOT EXISTS "
            "(SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)"
        ),
        {"t": table},
    ):
        out.append((f'DROP INDEX "{name}"', definition))
    return out


def fill(
    factory: sessionmaker[Session],
    units: list[tuple[int, int]],
    patients: list[int],
    visits: int,
    admissions: int,
    lines: int,
) -> dict[str, float]:
    """Generate the year; the seconds of each statement."""
    params = {
        "insts": [u[0] for u in units],
        "depts": [u[1] for u in units],
        "pids": patients,
        "first": date(YEAR, 1, 1),
        "last": date(YEAR, 12, 31),
        "visits": visits,
        "admissions": admissions,
        "lines": lines,
        # the first grassroots unit (1-based; build makes the hospitals first, then GRASSROOTS centres)
        "grass": len(units) - GRASSROOTS * DEPARTMENTS + 1,
    }
    timings: dict[str, float] = {}
    with factory() as session:
        session.execute(text("SET session_replication_role = replica"))
        session.execute(text("SELECT setseed(0.21)"))
        tables = ("encounters", "charges", "admissions", "drg_cases", "audit_findings")
        indexes = [ix for t in tables for ix in _secondary_indexes(session, t)]
        for drop, _create in indexes:
            session.execute(text(drop))
        for statement in GEN:
            t = time.perf_counter()
            session.execute(text(statement), params)
            timings[statement.split()[2]] = round(time.perf_counter() - t, 1)
        t = time.perf_counter()
        for _drop, create in indexes:
            session.execute(text(create))
        timings["indexes"] = round(time.perf_counter() - t, 1)
        for seq in ("encounters", "drg_batches", "audit_runs", "alliance_networks", "alliance_postings"):
            session.execute(
                text(f"SELECT setval(pg_get_serial_sequence('{seq}','id'), (SELECT max(id) FROM {seq}))")
            )
        session.commit()
    with factory() as session:
        t = time.perf_counter()
        session.execute(text("ANALYZE"))
        session.commit()
        timings["analyze"] = round(time.perf_counter() - t, 1)
    return timings


def measure(factory: sessionmaker[Session], pages: int, rounds: int) -> dict[str, float]:
    """The hand-written SQL, the full refresh, and the page data of random month ranges."""
    first, last = Month(YEAR, 1), Month(YEAR, 12)
    sql_runs, refresh_runs = [], []

    def hand_sql() -> None:
        with factory() as session:
            t = time.perf_counter()
            for q in SQL:
                session.execute(text(q), {"a": first.first, "b": last.last}).fetchall()
            sql_runs.append(time.perf_counter() - t)

    def refresh() -> None:
        with factory() as session:
            t = time.perf_counter()
            service.refresh(session, first, last, trigger="bench")
            session.commit()
            refresh_runs.append(time.perf_counter() - t)

    # in turn, so both see the same load, and first in alternate rounds (the first reader pays for a
    # cold cache); the medians are reported
    for i in range(rounds):
        for step in (hand_sql, refresh) if i % 2 == 0 else (refresh, hand_sql):
            step()
    sql_s, refresh_s = statistics.median(sql_runs), statistics.median(refresh_runs)
    rng = random.Random(5)
    times = []
    with factory() as session:
        for _ in range(pages):
            a = Month(YEAR, rng.randint(1, 12))
            b = Month(YEAR, rng.randint(a.month, 12))
            t = time.perf_counter()
            service.figures(session, SYSTEM, a, b)
            service.trend(session, SYSTEM, "credit_visits", a, b)
            service.breakdown(session, SYSTEM, "credit_visits", a, b)
            times.append((time.perf_counter() - t) * 1000)
    times.sort()
    return {
        "refresh_s": round(refresh_s, 3),
        "sql_s": round(sql_s, 3),
        "page_p50_ms": round(statistics.median(times), 1),
        "page_p99_ms": round(times[min(len(times) - 1, int(len(times) * 0.99))], 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=DEFAULT_URL)
    parser.add_argument("--visits", type=int, default=5_000_000)
    parser.add_argument("--admissions", type=int, help="default: 6 per 100 visits (300,000 for 5 M)")
    parser.add_argument("--lines", type=int, default=4, help="charge (claim) lines per visit")
    parser.add_argument("--pages", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=1, help="SQL and refresh in turn, medians (--quick: 3)")
    parser.add_argument("--quick", action="store_true", help="200,000 visits, 100 page views")
    parser.add_argument("--keep", action="store_true", help="keep the database (its name is printed)")
    parser.add_argument("--reuse", help="measure again on a database kept by --keep (no generation)")
    args = parser.parse_args()
    if args.quick:
        args.visits, args.pages, args.rounds = 200_000, 100, max(args.rounds, 3)
    admissions = args.admissions if args.admissions is not None else args.visits * 6 // 100
    with scratch_database(args.url, "bench_analytics", keep=args.keep, reuse=args.reuse) as url:
        name = url.database
        engine = db.build_engine(url.render_as_string(hide_password=False))
        try:
            factory = sessionmaker(bind=engine, expire_on_commit=False)
            upgrade(engine)  # a kept database gets the migrations added since
            with factory() as session:
                visits = (
                    int(session.scalar(text("SELECT count(*) FROM encounters")) or 0) if args.reuse else 0
                )
            built, timings = 0.0, {}
            if not args.reuse:
                t0 = time.perf_counter()
                units, patients = build(factory, 500)
                timings = fill(factory, units, patients, args.visits, admissions, args.lines)
                built = time.perf_counter() - t0
                visits = args.visits
            with factory() as session:
                counts = {
                    t: int(session.scalar(text(f"SELECT count(*) FROM {t}")) or 0)
                    for t in (
                        "encounters",
                        "charges",
                        "admissions",
                        "drg_cases",
                        "audit_findings",
                        "alliance_referrals",
                        "alliance_sittings",
                    )
                }
            print(f"database {name}: {counts}; generated in {built:.1f} s {timings}", file=sys.stderr)
            load = os.getloadavg()
            m = measure(factory, args.pages, args.rounds)
            result = {
                "visits": visits,
                "admissions": counts["admissions"],
                "claim_lines": counts["charges"],
                "build_s": round(built, 1),
                **m,
                "refresh_ratio_to_sql": round(m["sql_s"] / m["refresh_s"], 3),
                "load_average": [round(x, 2) for x in load],
            }
            print(json.dumps(result))
        finally:
            engine.dispose()


if __name__ == "__main__":
    main()
