"""The restore drill (yilian backup / yilian restore) on the test run's database (SQLite or PostgreSQL).

Two threads book patients (each booking: a bookings row, a slot's counter, an access-audit row and an
outbox event, in one transaction) while the database is backed up; the writers stop, a second backup is
taken at rest; both are restored into new databases. The backup at rest equals the source in every
table (row count and checksum); the one taken under writes is one consistent moment: every booking
committed before it started is there, the last ones are not, every slot counter matches its bookings,
every booking has its outbox event and audit row, and every other table equals the source.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from tests.builders import make_department, make_institution, make_patient
from tests.dbutil import fresh_database
from yilian.cli import app
from yilian.kit import backup as kb
from yilian.kit import migrate
from yilian.kit.access_log import AccessAudit
from yilian.kit.auth.domain import Actor
from yilian.kit.clock import business_date
from yilian.kit.db import build_engine, unit_of_work
from yilian.kit.events import OutboxEvent
from yilian.scheduling import repository as repo
from yilian.scheduling import service as svc
from yilian.scheduling.models import Booking, Slot

SYSTEM = Actor.system("backup-drill")
WRITTEN = {"sched_bookings", "sched_slots", "outbox_events", "access_audit"}
PATIENTS, SCHEDULES = 60, 20


@pytest.fixture
def databases() -> Iterator[tuple[str, str, str]]:
    """The source database and two new, empty ones to restore into."""
    with (
        fresh_database("drill_src") as source,
        fresh_database("drill_a") as first,
        fresh_database("drill_b") as second,
    ):
        yield source, first, second


def _world(factory: sessionmaker[Session]) -> list[tuple[int, int]]:
    """A hospital with schedules for tomorrow, patients, a few bookings; returns (patient, slot) to book."""
    tomorrow = business_date() + timedelta(days=1)
    with unit_of_work(factory) as s:
        svc.seed_holiday_calendar(s)
        inst = make_institution(s, level=3)
        dept = make_department(s, institution=inst)
        svc.set_policy(s, SYSTEM, inst.id, {"max_bookings_per_patient_per_day": SCHEDULES})
        patients = [make_patient(s).id for _ in range(PATIENTS)]
        slots = []
        for _ in range(SCHEDULES):
            sched = svc.create_schedule(
                s, SYSTEM, department_id=dept.id, day=tomorrow, period="am", slice_capacity=PATIENTS
            )
            slots.append(repo.slots_of(s, sched.id)[0].id)
        for p in patients[:5]:  # some confirmed registrations before the drill
            b = svc.book(s, SYSTEM, slot_id=slots[0], patient_id=p, channel="desk")
            svc.confirm(s, SYSTEM, b.id, payment_method="desk")
    return [(p, slot) for slot in slots[1:] for p in patients]


class Writers:
    """Two threads booking (patient, slot) pairs, one transaction each, until stopped."""

    def __init__(self, factory: sessionmaker[Session], work: list[tuple[int, int]]) -> None:
        self.factory = factory
        self.work = work
        self.committed: list[int] = []
        self.errors: list[BaseException] = []
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.run, args=(n,)) for n in (0, 1)]

    def run(self, n: int) -> None:
        try:
            for patient_id, slot_id in self.work[n::2]:
                if self.stop.is_set():
                    return
                with unit_of_work(self.factory) as s:
                    booking_id = svc.book(
                        s, SYSTEM, slot_id=slot_id, patient_id=patient_id, channel="desk"
                    ).id
                with self.lock:
                    self.committed.append(booking_id)
        except BaseException as exc:  # surfaced by the test
            self.errors.append(exc)

    def wait_for(self, count: int) -> None:
        while len(self.committed) < count and not self.errors and any(t.is_alive() for t in self.threads):
            threading.Event().wait(0.01)
        assert not self.errors, self.errors
        assert len(self.committed) >= count, "the writers ran out of work"


def _rows(engine: Engine, model: type, *columns: str) -> set[tuple[object, ...]]:
    with engine.connect() as conn:
        return {tuple(r) for r in conn.execute(select(*(getattr(model, c) for c in columns)))}


def _events(engine: Engine) -> set[tuple[int, str, str]]:
    with engine.connect() as conn:
        rows = conn.execute(select(OutboxEvent.id, OutboxEvent.topic, OutboxEvent.payload))
        return {(i, t, json.dumps(p, sort_keys=True)) for i, t, p in rows}


def _check_sqlite_file(url: str) -> None:
    path = make_url(url).database
    if path is None:
        return
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    finally:
        conn.close()


def test_restore_drill_under_concurrent_writes(databases: tuple[str, str, str], tmp_path: Path) -> None:
    source_url, during_url, after_url = databases
    source = build_engine(source_url)
    migrate.upgrade(source)
    factory = sessionmaker(bind=source, expire_on_commit=False)
    writers = Writers(factory, _world(factory))
    for t in writers.threads:
        t.start()
    try:
        writers.wait_for(20)
        with writers.lock:
            before = set(writers.committed)
        kb.backup(source_url, tmp_path / "during.bak")
        with writers.lock:
            reached = len(writers.committed)
        writers.wait_for(reached + 10)  # these began after the backup returned
        with writers.lock:
            late = set(writers.committed[reached + 2 :])  # (two may have been in flight at the end)
    finally:
        writers.stop.set()
        for t in writers.threads:
            t.join()
    assert not writers.errors, writers.errors
    kb.backup(source_url, tmp_path / "after.bak")  # at rest

    for name, url in (("during.bak", during_url), ("after.bak", after_url)):
        kb.restore(url, tmp_path / name)
        if make_url(url).get_backend_name() == "sqlite":
            _check_sqlite_file(url)
    expected = kb.table_digests(source)
    during, after = build_engine(during_url), build_engine(after_url)
    try:
        # at rest: every table, the outbox included, is the same row for row
        assert kb.table_digests(after) == expected
        assert expected["outbox_events"].rows > len(writers.committed)

        # under writes: one consistent moment
        got = kb.table_digests(during)
        assert {t: d for t, d in got.items() if t not in WRITTEN} == {
            t: d for t, d in expected.items() if t not in WRITTEN
        }
        booked = {b for (b,) in _rows(during, Booking, "id")}
        assert before <= booked and not late & booked
        assert len(booked & set(writers.committed)) < len(writers.committed)
        booking_rows = _rows(during, Booking, "id", "slot_id", "patient_id", "status", "created_at")
        assert booking_rows <= _rows(source, Booking, "id", "slot_id", "patient_id", "status", "created_at")
        per_slot: dict[int, int] = {}
        for _id, slot_id, _p, status, _at in booking_rows:
            if status in ("held", "confirmed"):
                per_slot[slot_id] = per_slot.get(slot_id, 0) + 1
        for slot_id, count in _rows(during, Slot, "id", "booked"):
            assert per_slot.get(slot_id, 0) == count, f"slot {slot_id}"
        events = _events(during)
        held = {json.loads(e[2])["booking_id"] for e in events if e[1] == "scheduling.booking_held"}
        assert held == booked
        assert events <= _events(source)
        audited = {r for (r,) in _rows(during, AccessAudit, "resource") if r.startswith("booking/")}
        assert audited == {f"booking/{b}" for b in booked}
    finally:
        during.dispose()
        after.dispose()
        source.dispose()


def test_backup_and_restore_commands_never_overwrite_silently(tmp_path: Path) -> None:
    runner = CliRunner()
    with fresh_database("cli_src") as src_url, fresh_database("cli_dst") as dst_url:
        engine = build_engine(src_url)
        migrate.upgrade(engine)
        engine.dispose()
        file = tmp_path / "yilian.bak"
        first = runner.invoke(app, ["backup", str(file), "--database", src_url])
        assert first.exit_code == 0, first.output
        assert "backed up" in first.output and file.stat().st_size > 0
        size = file.stat().st_size
        again = runner.invoke(app, ["backup", str(file), "--database", src_url])
        assert again.exit_code == 2 and "already exists" in again.output and file.stat().st_size == size
        assert runner.invoke(app, ["backup", str(file), "--database", src_url, "--force"]).exit_code == 0

        done = runner.invoke(app, ["restore", str(file), "--database", dst_url])
        assert done.exit_code == 0 and "restored" in done.output, done.output
        refused = runner.invoke(app, ["restore", str(file), "--database", dst_url])
        assert refused.exit_code == 2 and "already holds" in refused.output
        forced = runner.invoke(app, ["restore", str(file), "--database", dst_url, "--force"])
        assert forced.exit_code == 0, forced.output
        if make_url(dst_url).get_backend_name() == "sqlite":
            kept = list(Path(str(make_url(dst_url).database)).parent.glob("*.pre-restore-*"))
            assert len(kept) == 1  # the replaced database was copied aside first
        missing = runner.invoke(app, ["restore", str(tmp_path / "nope.bak"), "--database", dst_url])
        assert missing.exit_code == 2 and "no backup file" in missing.output
        (tmp_path / "junk.bak").write_text("not a backup")
        junk = runner.invoke(app, ["restore", str(tmp_path / "junk.bak"), "--database", dst_url, "--force"])
        assert junk.exit_code == 2
        check = build_engine(dst_url)
        try:
            assert "sched_calendar_days" in kb.table_digests(check)  # the good restore is still there
        finally:
            check.dispose()
