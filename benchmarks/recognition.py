"""Benchmark of mutual recognition (检查检验结果互认) on PostgreSQL.

Creates its own database, loads N results with COPY (10 million by default; ``--quick`` 200,000),
then measures in the same run:

* the recognition check (``yilian.results.service.check_recognition``: access check, audit row,
  candidate query, institution profiles, QA, policy, pure rules, prompt row) over random checks, p50/p99,
  as the HTTP endpoint runs it (``commit=True``): its statement commits itself (the read with its
  access-audit row), and so does the prompt's INSERT, so ``check_*`` **includes the check's commit**;
  the request's commit after it (``commit_p50_ms``, timed apart) finds nothing left to send;
  ``request_p50_ms`` is the p50 of check + commit per check; ``cpu_ms_per_request`` this process's CPU;
* the same checks run inside the session's transaction (``commit=False``: BEGIN before the statement,
  the audit row and the prompt committed by the request's commit), interleaved with the first case by
  case (alternating which goes first): ``in_tx_check_*`` (without the commit), ``in_tx_commit_p50_ms``,
  ``in_tx_request_p50_ms`` (check + commit), ``in_tx_ratio_to_raw``;
* the same look-up as ONE hand-written indexed SQL query (candidates with the QA, level matrix and
  alliance rule in SQL; a read, in one open transaction, never committed), p50/p99 — the baseline;
  ``ratio_to_raw`` = check p50 / raw p50 (the endpoint's check, its commit included);
* HL7 v2 ORU^R01 ingest over MLLP: the real listener (``yilian results mllp``, one process: one core
  for Python) against this database, ``--connections`` LIS clients each sending its messages one at a
  time and waiting for the ACK; every ACK must be AA and is only sent after the message's commit
  (group commit); ``hl7_msgs_per_s`` is wall clock, ``hl7_msgs_per_cpu_s`` per second of the
  listener's CPU time.

``--profile`` prints cProfile's top functions and the statements per check to stderr.
The last stdout line is one JSON object. The database is dropped at the end.

    .venv/bin/python benchmarks/recognition.py --quick
    .venv/bin/python benchmarks/recognition.py --results 10000000
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import json
import os
import pstats
import random
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import event, text
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.scratch import scratch_database  # noqa: E402
from yilian.kit import db  # noqa: E402
from yilian.kit.auth.domain import ROLE_PERMISSIONS, Actor, Role  # noqa: E402
from yilian.kit.clock import business_date  # noqa: E402
from yilian.kit.migrate import upgrade  # noqa: E402
from yilian.registry import service as registry  # noqa: E402
from yilian.registry.domain import Grade, InstitutionCategory, Sex, make_id_number  # noqa: E402
from yilian.registry.schemas import InstitutionCreate  # noqa: E402
from yilian.results import mllp, repository, service  # noqa: E402
from yilian.results.domain import SEED_EXAM_ITEMS, ItemKind  # noqa: E402

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
SYSTEM = Actor.system("benchmark")
# code, level, grade, in alliance, QA valid
INSTITUTIONS = [
    ("B-GH", 3, Grade.A, True, True),
    ("B-SP", 3, Grade.A, False, True),
    ("B-C1", 2, Grade.A, True, True),
    ("B-C2", 2, Grade.A, False, True),
    ("B-C3", 2, Grade.B, False, True),
    ("B-C4", 2, Grade.B, True, False),
    ("B-M1", 1, Grade.UNRATED, True, True),
    ("B-M2", 1, Grade.UNRATED, False, True),
    ("B-M3", 1, Grade.UNRATED, True, False),
    ("B-M4", 1, Grade.UNRATED, False, True),
]
RESULT_COLUMNS = (
    "patient_id, institution_id, item_code, local_code, kind, value_text, value_num, unit, reference_range, "
    "abnormal_flag, status, observed_at, result_date, report_text, study_uid, channel, source_key, received_at"
)

RAW_SQL = """
SELECT r.id, r.result_date, r.institution_id
FROM results r
JOIN institutions s ON s.id = r.institution_id
JOIN results_items it ON it.code = r.item_code
WHERE r.patient_id = %(patient)s AND r.item_code = %(item)s
  AND r.result_date BETWEEN %(since)s AND %(on)s
  AND r.status IN ('final', 'corrected')
  AND (it.kind <> 'lab' OR EXISTS (
        SELECT 1 FROM results_qa q WHERE q.institution_id = r.institution_id AND q.discipline = it.discipline
          AND q.passed AND q.passed_on <= r.result_date AND q.expires_on >= r.result_date))
  AND (s.id = %(receiver)s
       OR (s.alliance_id IS NOT NULL AND s.alliance_id = %(alliance)s)
       OR %(receiver_high)s = (s.level >= 3 OR (s.level = 2 AND s.grade = '甲'))
       OR NOT %(receiver_high)s)
ORDER BY r.result_date DESC, r.observed_at DESC, r.id DESC
LIMIT 50
"""


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def _setup(session: Session, patients: int, rng: random.Random) -> tuple[list[int], dict[str, int], int]:
    alliance = registry.create_alliance(session, code="B-ALL", name="基准医联体", region_code="320600")
    ids: dict[str, int] = {}
    today = business_date()
    for code, level, grade, member, qa_ok in INSTITUTIONS:
        category = (
            InstitutionCategory.GENERAL_HOSPITAL if level >= 2 else InstitutionCategory.COMMUNITY_CENTRE
        )
        inst = registry.create_institution(
            session,
            SYSTEM,
            InstitutionCreate(
                code=code,
                name=f"基准机构{code}",
                category=category,
                level=level,
                grade=grade,
                alliance_id=alliance.id if member else None,
                region_code="320602",
            ),
        )
        ids[code] = inst.id
        for discipline in ("临床化学", "临床免疫", "临床血液"):
            service.set_qa(
                session,
                SYSTEM,
                institution_id=inst.id,
                discipline=discipline,
                passed=True,
                passed_on=today - timedelta(days=800),
                expires_on=today + timedelta(days=365) if qa_ok else today - timedelta(days=400),
            )
        service.set_hr_mark(session, SYSTEM, inst.id, level >= 2)
    session.flush()
    home = ids["B-GH"]
    now = datetime.now(UTC).isoformat()
    buf = io.StringIO()
    for n in range(patients):
        sex = Sex.MALE if n % 2 else Sex.FEMALE
        birth = date(1940, 1, 1) + timedelta(days=(n * 7919) % 29_000)
        # (region, sequence) is unique for n < 100,000, so the ID numbers are unique
        id_number = make_id_number(f"3206{n // 1000 % 100:02d}", birth, n % 1000, sex)
        buf.write(
            f"BM{n:010d}\t基准患者{n}\tjizhun{n}\tjz{n}\t{id_number}\t{sex.value}\t{birth.isoformat()}\t\t"
            f"employee\t320600\t\t{home}\tt\t\tf\t{now}\t{now}\t1\n"
        )
    raw = session.connection().connection.driver_connection
    assert raw is not None
    with raw.cursor().copy(
        "COPY patients (mpi_id, name, name_pinyin, name_initials, id_number, sex, birth_date, phone, "
        "insurance_scheme, insured_region, insurance_number, home_institution_id, real_name_verified, address, "
        "is_deceased, created_at, updated_at, version) FROM STDIN"
    ) as copy:
        copy.write(buf.getvalue())
    patient_ids = [int(x) for x in session.execute(text("SELECT id FROM patients ORDER BY id")).scalars()]
    return patient_ids, ids, alliance.id


def _load_results(
    url: str, total: int, patient_ids: list[int], inst_ids: list[int], rng: random.Random
) -> float:
    """COPY ``total`` synthetic results; indexes are dropped during the load and rebuilt after."""
    today = business_date()
    items = list(SEED_EXAM_ITEMS)
    item_text = {i.code: f"{i.code}\t{i.code}\t{i.kind.value}\t" for i in items}
    item_tail = {i.code: (i.unit, "" if i.kind is ItemKind.IMAGING else "3.9-6.1") for i in items}
    days = list(range(0, 730))
    weights = [6 if d < 60 else 1 for d in days]
    day_text = {
        d: ((today - timedelta(days=d)).isoformat() + " 00:30:00+00", (today - timedelta(days=d)).isoformat())
        for d in days
    }
    values = [f"{v / 10:.1f}" for v in range(30, 120)]
    statuses = ["final"] * 30 + ["preliminary"]
    now = datetime.now(UTC).isoformat()
    started = time.perf_counter()
    with psycopg.connect(url) as conn:
        conn.execute("ALTER TABLE results SET (autovacuum_enabled = false)")
        conn.execute("ALTER TABLE results DROP CONSTRAINT IF EXISTS uq_results_source_key")
        for name in ("ix_results_lookup", "ix_results_patient_observed"):
            conn.execute(f"DROP INDEX IF EXISTS {name}")
        conn.commit()
        chunk = 200_000
        with conn.cursor().copy(f"COPY results ({RESULT_COLUMNS}) FROM STDIN") as copy:
            for start in range(0, total, chunk):
                k = min(chunk, total - start)
                pats = rng.choices(patient_ids, k=k)
                its = rng.choices(items, k=k)
                insts = rng.choices(inst_ids, k=k)
                ds = rng.choices(days, weights=weights, k=k)
                vs = rng.choices(values, k=k)
                ss = rng.choices(statuses, k=k)
                lines = []
                for n in range(k):
                    item = its[n]
                    unit, ref = item_tail[item.code]
                    observed, day = day_text[ds[n]]
                    value = vs[n] if item.kind is ItemKind.LAB else ""
                    num = vs[n] if item.kind is ItemKind.LAB else "\\N"
                    lines.append(
                        f"{pats[n]}\t{insts[n]}\t{item_text[item.code]}{value}\t{num}\t{unit}\t{ref}\t\t{ss[n]}\t"
                        f"{observed}\t{day}\t\t\tdemo\tb:{start + n}\t{now}\n"
                    )
                copy.write("".join(lines))
        conn.commit()
        conn.execute("CREATE INDEX ix_results_lookup ON results (patient_id, item_code, result_date)")
        conn.execute("CREATE INDEX ix_results_patient_observed ON results (patient_id, observed_at)")
        conn.execute("ALTER TABLE results ADD CONSTRAINT uq_results_source_key UNIQUE (source_key)")
        conn.execute("ALTER TABLE results SET (autovacuum_enabled = true)")
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE results")
    return time.perf_counter() - started


def _hl7(sender: str, control: str, patient: tuple[str, str, date], day: date, item: str, value: str) -> str:
    stamp = day.strftime("%Y%m%d")
    id_number, name, birth = patient
    return (
        "\r".join(
            [
                f"MSH|^~\\&|LIS|{sender}|YILIAN|REGION|{stamp}090000||ORU^R01^ORU_R01|{control}|P|2.5",
                f"PID|1||{id_number}^^^^NNCHN~H{control}^^^{sender}^MR||{name[0]}^{name[1:]}||"
                f"{birth.strftime('%Y%m%d')}",
                f"OBR|1||{control}|{item}|||{stamp}080000",
                f"OBX|1|NM|{item}^项目^L||{value}|mmol/L|3.9-6.1|N|||F|||{stamp}080000",
                f"OBX|2|NM|K^钾^L||4.1|mmol/L|3.5-5.3||||F|||{stamp}080000",
            ]
        )
        + "\r"
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _lis_client(port: int, messages: list[str], codes: list[str]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        for message in messages:
            writer.write(b"\x0b" + message.encode() + b"\x1c\x0d")
            await writer.drain()
            frame = await reader.readuntil(b"\x1c\x0d")
            msa = next(x for x in frame.decode().split("\r") if x.startswith("MSA|"))
            codes.append(msa.split("|")[1])
    finally:
        writer.close()


def _hl7_over_mllp(
    url: str, messages: list[str], connections: int, profile: bool, py_spy: str = "", writers: int = 1
) -> dict[str, object]:
    """Run the real MLLP listener in its own process and send ``messages`` over ``connections``
    (with ``profile``, the listener runs under cProfile and its top functions go to stderr)."""
    port = _free_port()
    env = {**os.environ, "YILIAN_DATABASE_URL": url, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    log = open(os.devnull, "w")  # noqa: SIM115
    prof = Path(os.devnull if not profile else f"/tmp/yilian-mllp-{port}.prof")
    command = [sys.executable, *(["-m", "cProfile", "-o", str(prof)] if profile else [])]
    server = subprocess.Popen(
        [*command, "-m", "yilian", "results", "mllp", "--port", str(port), "--writers", str(writers)],
        env=env,
        stdout=log,
        stderr=log,
    )
    try:
        for _ in range(300):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        codes: list[str] = []

        async def run() -> None:
            await asyncio.gather(
                *(_lis_client(port, messages[n::connections], codes) for n in range(connections))
            )

        spy = None
        if py_spy:  # sample every thread of the listener (collapsed stacks for a flame graph)
            spy = subprocess.Popen(
                ["py-spy", "record", "--pid", str(server.pid), "--format", "raw", "-r", "200", "-o", py_spy],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            time.sleep(1.0)
        cpu0 = _cpu_seconds(server.pid)
        t = time.perf_counter()
        asyncio.run(run())
        wall = time.perf_counter() - t
        cpu = _cpu_seconds(server.pid) - cpu0
        if spy is not None:
            spy.send_signal(signal.SIGINT)
            spy.wait(timeout=60)
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()
    if profile:
        pstats.Stats(str(prof), stream=sys.stderr).sort_stats("tottime").print_stats(30)
        prof.unlink()
    return {
        "hl7_msgs_per_s": round(len(messages) / wall, 1),
        "hl7_msgs_per_cpu_s": round(len(messages) / cpu, 1) if cpu else None,
        "hl7_connections": connections,
        "hl7_writers": writers,
        "hl7_acks": dict(sorted(Counter(codes).items())),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="200,000 results, 1,000 checks, 2,000 HL7 messages"
    )
    parser.add_argument("--url", default=DEFAULT_URL, help="PostgreSQL server (a new database is created)")
    parser.add_argument("--results", type=int, default=10_000_000)
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--checks", type=int, default=10_000)
    parser.add_argument("--hl7", type=int, default=2_000)
    parser.add_argument("--connections", type=int, default=32, help="concurrent LIS connections (HL7)")
    parser.add_argument("--profile", action="store_true", help="cProfile and statement counts to stderr")
    parser.add_argument("--writers", type=int, default=1, help="the listener's writers (group commit)")
    parser.add_argument("--py-spy", default="", help="record the MLLP listener with py-spy into this file")
    parser.add_argument("--seed", type=int, default=20261122)
    args = parser.parse_args()
    if args.quick:
        args.results, args.patients, args.checks, args.hl7 = 200_000, 5_000, 1_000, 2_000
    rng = random.Random(args.seed)
    with scratch_database(args.url, "yilian_bench_recognition") as url:
        plain_url = url.set(drivername="postgresql").render_as_string(hide_password=False)
        figures: dict[str, object] = {
            "results": args.results,
            "patients": args.patients,
            "checks": args.checks,
        }
        try:
            engine = db.configure(url.render_as_string(hide_password=False))
            upgrade(engine)
            t0 = time.perf_counter()
            with db.unit_of_work() as session:
                patient_ids, inst, alliance_id = _setup(session, args.patients, rng)
            figures["setup_s"] = round(time.perf_counter() - t0, 1)
            load_s = _load_results(plain_url, args.results, patient_ids, list(inst.values()), rng)
            figures["load_s"] = round(load_s, 1)
            figures["load_rows_per_s"] = round(args.results / load_s)
            print(f"loaded {args.results:,} results in {load_s:.1f}s", file=sys.stderr)

            receiver = inst["B-GH"]
            doctor = Actor(
                user_id=None,
                username="bench-doctor",
                role=Role.DOCTOR,
                institution_id=receiver,
                permissions=ROLE_PERMISSIONS[Role.DOCTOR],
            )
            lab_codes = [i.code for i in SEED_EXAM_ITEMS]
            validity = {i.code: i.validity_days for i in SEED_EXAM_ITEMS}
            on = business_date()
            cases = [(rng.choice(patient_ids), rng.choice(lab_codes)) for _ in range(args.checks)]
            # two ways of running the same check, interleaved case by case (the order alternates):
            # "endpoint" as the HTTP endpoint asks for it (commit=True: its statement, and the prompt's,
            # commit themselves, so the check's time includes its commit) and "in_tx" inside the
            # session's transaction (BEGIN with the statement, COMMIT in the caller's commit)
            modes = {"endpoint": True, "in_tx": False}
            check_ms: dict[str, list[float]] = {m: [] for m in modes}
            commit_ms: dict[str, list[float]] = {m: [] for m in modes}
            cpu_ms: dict[str, float] = dict.fromkeys(modes, 0.0)
            counted: dict[str, int] = dict.fromkeys(modes, 0)
            found = 0
            statements = [0]

            def count(*_: object) -> None:
                statements[0] += 1

            # the check's statement and a self-committed prompt go to psycopg directly (past SQLAlchemy's
            # events): count them too
            lookup, insert_prompt = repository.check_lookup, repository.insert_prompt

            def counted_lookup(*args: Any, **kwargs: Any) -> Any:
                before = statements[0]
                rows = lookup(*args, **kwargs)
                statements[0] += statements[0] == before
                return rows

            def counted_prompt(*args: Any, **kwargs: Any) -> Any:
                before = statements[0]
                prompt = insert_prompt(*args, **kwargs)
                statements[0] += statements[0] == before
                return prompt

            repository.check_lookup = counted_lookup  # type: ignore[assignment]
            repository.insert_prompt = counted_prompt  # type: ignore[assignment]
            event.listen(engine, "before_cursor_execute", count)
            profiler = cProfile.Profile() if args.profile else None
            with Session(engine) as session:

                def check(patient: int, item: str, commit: bool) -> Any:
                    return service.check_recognition(
                        session,
                        doctor,
                        patient_id=patient,
                        institution_id=receiver,
                        item_code=item,
                        on=on,
                        commit=commit,
                    )

                for patient, item in cases[:50]:  # warm-up
                    for commit in modes.values():
                        check(patient, item, commit)
                        session.commit()
                for n, (patient, item) in enumerate(cases):
                    for mode in modes if n % 2 == 0 else reversed(modes):
                        before, cpu = statements[0], time.process_time()
                        if profiler and mode == "endpoint":
                            profiler.enable()
                        t = time.perf_counter()
                        outcome = check(patient, item, modes[mode])
                        check_ms[mode].append((time.perf_counter() - t) * 1000)
                        # the request's commit: "endpoint" finds nothing left to commit; "in_tx" commits
                        # the audit row and the prompt (a rollback here would make psycopg DEALLOCATE ALL
                        # and every next check prepare and plan again)
                        t = time.perf_counter()
                        session.commit()
                        commit_ms[mode].append((time.perf_counter() - t) * 1000)
                        if profiler:
                            profiler.disable()
                        cpu_ms[mode] += (time.process_time() - cpu) * 1000
                        counted[mode] += statements[0] - before
                        found += bool(outcome.candidates) and mode == "endpoint"
            event.remove(engine, "before_cursor_execute", count)
            repository.check_lookup, repository.insert_prompt = lookup, insert_prompt  # type: ignore[assignment]
            figures["check_statements"] = round(counted["endpoint"] / len(cases), 2)
            if profiler:
                pstats.Stats(profiler, stream=sys.stderr).sort_stats("tottime").print_stats(25)
            raw_ms: list[float] = []
            raw_found = 0
            with psycopg.connect(plain_url) as conn:
                cur = conn.cursor()
                for n, (patient, item) in enumerate(cases[:50] + cases):
                    t = time.perf_counter()
                    cur.execute(
                        RAW_SQL,
                        {
                            "patient": patient,
                            "item": item,
                            "on": on,
                            "since": on - timedelta(days=validity[item] - 1),
                            "receiver": receiver,
                            "alliance": alliance_id,
                            "receiver_high": True,
                        },
                        prepare=True,
                    )
                    rows = cur.fetchall()
                    raw_ms.append((time.perf_counter() - t) * 1000)
                    raw_found += bool(rows) and n >= 50
                raw_ms = raw_ms[50:]
            raw_p50, raw_p99 = _pct(raw_ms, 0.5), _pct(raw_ms, 0.99)
            for mode, prefix in (("endpoint", ""), ("in_tx", "in_tx_")):
                checks, commits = check_ms[mode], commit_ms[mode]
                requests = [a + b for a, b in zip(checks, commits, strict=True)]
                figures.update(
                    {
                        f"{prefix}check_p50_ms": round(_pct(checks, 0.5), 3),
                        f"{prefix}check_p99_ms": round(_pct(checks, 0.99), 3),
                        f"{prefix}check_mean_ms": round(statistics.fmean(checks), 3),
                        f"{prefix}commit_p50_ms": round(_pct(commits, 0.5), 3),
                        f"{prefix}request_p50_ms": round(_pct(requests, 0.5), 3),
                        f"{prefix}request_p99_ms": round(_pct(requests, 0.99), 3),
                        f"{prefix}cpu_ms_per_request": round(cpu_ms[mode] / len(cases), 3),
                        f"{prefix}ratio_to_raw": round(_pct(checks, 0.5) / raw_p50, 2),
                    }
                )
            figures.update(
                {
                    "in_tx_check_statements": round(counted["in_tx"] / len(cases), 2),
                    "raw_p50_ms": round(raw_p50, 3),
                    "raw_p99_ms": round(raw_p99, 3),
                    "ratio_to_raw_p99": round(_pct(check_ms["endpoint"], 0.99) / raw_p99, 2),
                    "checks_with_candidates": found,
                    "raw_with_candidates": raw_found,
                }
            )

            with Session(engine) as session:
                people = {
                    int(i): (str(n), str(name), birth)
                    for i, n, name, birth in session.execute(
                        text("SELECT id, id_number, name, birth_date FROM patients")
                    )
                }
            messages = []
            for n in range(args.hl7):
                patient = rng.choice(patient_ids)
                messages.append(
                    _hl7(
                        "B-C1",
                        f"BM{n:07d}",
                        people[patient],
                        on - timedelta(days=rng.randint(0, 20)),
                        "GLU",
                        f"{rng.uniform(3.5, 9.5):.1f}",
                    )
                )
            if args.profile:  # the listener's writer thread is not seen by cProfile there: one batch here
                for round_ in range(3):  # CPU per message of the writer's work alone, no profiler
                    batch = [m.replace("|BM", f"|T{round_}") for m in messages[:200]]
                    cpu, wall = time.process_time(), time.perf_counter()
                    mllp.handle_batch(batch)
                    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
                    print(
                        f"batch of 200: {cpu / 0.2:.3f} ms CPU, {wall / 0.2:.3f} ms wall per message",
                        file=sys.stderr,
                    )
                extra = [m.replace("|BM", "|PF") for m in messages[:200]]
                profiler = cProfile.Profile()
                profiler.enable()
                acks = mllp.handle_batch(extra)
                profiler.disable()
                print(
                    f"one batch of {len(extra)} in-process: {Counter(a.split('MSA|')[1][:2] for a in acks)}",
                    file=sys.stderr,
                )
                pstats.Stats(profiler, stream=sys.stderr).sort_stats("tottime").print_stats(25)
            figures.update(
                _hl7_over_mllp(
                    url.render_as_string(hide_password=False),
                    messages,
                    args.connections,
                    args.profile,
                    args.py_spy,
                    args.writers,
                )
            )
            with Session(engine) as session:
                figures["hl7_results_stored"] = session.scalar(
                    text("SELECT count(*) FROM results WHERE channel = 'hl7'")
                )
            engine.dispose()
        finally:
            db.configure(DEFAULT_URL).dispose()
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
