"""200 concurrent booking attempts at a 20-place slot, real commits, own session per thread: never overbook."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import timedelta

import psycopg
import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from tests.builders import make_department, make_institution, make_patient, make_practitioner
from tests.dbutil import fresh_database
from tests.scheduling.helpers import DESK, first_slot, patient_actor
from yilian.kit import clock, migrate
from yilian.kit.access_log import AccessAudit
from yilian.kit.clock import business_date
from yilian.kit.db import build_engine, unit_of_work
from yilian.kit.events import NOTIFY_CHANNEL, OutboxEvent
from yilian.scheduling import service as svc
from yilian.scheduling.errors import SlotFull
from yilian.scheduling.models import Booking, Slot

ATTEMPTS = 200
CAPACITY = 20
SURNAMES = "赵钱孙李周吴郑王冯陈褚卫蒋沈韩杨朱秦尤许"


@pytest.mark.parametrize(
    ("commit", "keyed"),
    [(False, False), (True, False), (True, True)],
    ids=["caller-commits", "committed-with-the-claim", "committed-with-the-claim-after-a-read"],
)
def test_two_hundred_concurrent_bookings_at_twenty_places(commit: bool, keyed: bool) -> None:
    """``commit``: as the HTTP endpoint books (on PostgreSQL the context read and the claim each a
    transaction of their own, the NOTIFY after it): each booking also has its audit row, its event and
    one notification. ``keyed``: with an idempotency key, whose look-up begins the transaction first,
    so the claim goes with its COMMIT in one pipeline instead."""
    with fresh_database("sched") as url:
        engine = (
            build_engine(url, pool_size=10, max_overflow=10, pool_timeout=120)
            if "postgresql" in url
            else build_engine(url)
        )
        try:
            migrate.upgrade(engine)
            factory = sessionmaker(bind=engine, expire_on_commit=False)
            slot_id, patients = _slot_and_patients(
                factory,
                CAPACITY,
                [SURNAMES[i % 20] + "某" + SURNAMES[(i // 20) % 20] for i in range(ATTEMPTS)],
            )
            barrier = threading.Barrier(ATTEMPTS, timeout=120)

            def attempt(pid: int) -> str:
                barrier.wait()
                try:
                    with unit_of_work(factory) as s:
                        svc.book(
                            s,
                            patient_actor(pid),
                            slot_id=slot_id,
                            patient_id=pid,
                            commit=commit,
                            idempotency_key=f"rush-{pid}" if keyed else None,
                        )
                    return "ok"
                except SlotFull as exc:
                    return exc.title

            with _listening(url) as heard:
                with ThreadPoolExecutor(max_workers=ATTEMPTS) as pool:
                    outcomes = list(pool.map(attempt, patients))
                notified = heard()
            assert outcomes.count("ok") == CAPACITY
            if "postgresql" in url:
                assert notified == ["scheduling.booking_held"] * CAPACITY
            assert outcomes.count("号源已满") == ATTEMPTS - CAPACITY
            with unit_of_work(factory) as s:
                slot = s.get(Slot, slot_id)
                assert slot is not None and slot.booked == CAPACITY
                assert (
                    s.scalar(select(func.count()).select_from(Booking).where(Booking.slot_id == slot_id))
                    == CAPACITY
                )
                assert s.scalar(select(func.count()).where(AccessAudit.action == "book")) == CAPACITY
                held = s.scalars(
                    select(OutboxEvent.payload).where(OutboxEvent.topic == "scheduling.booking_held")
                )
                booked = s.scalars(select(Booking.id).where(Booking.slot_id == slot_id))
                assert sorted(p["booking_id"] for p in held) == sorted(booked)
        finally:
            engine.dispose()


def _slot_and_patients(
    factory: sessionmaker[Session], capacity: int, names: list[str]
) -> tuple[int, list[int]]:
    """Tomorrow morning's first slot of a new doctor with ``capacity`` places, and a patient per name."""
    with unit_of_work(factory) as s:
        inst = make_institution(s, level=3)
        dept = make_department(s, institution=inst)
        doc = make_practitioner(s, institution=inst, department=dept)
        sched = svc.create_schedule(
            s,
            DESK,
            department_id=dept.id,
            day=business_date() + timedelta(days=1),
            period="am",
            practitioner_id=doc.id,
            slice_capacity=capacity,
        )
        return first_slot(s, sched).id, [make_patient(s, name=name).id for name in names]


@contextmanager
def _listening(url: str) -> Iterator[Callable[[], list[str]]]:
    """On PostgreSQL, LISTEN to the outbox channel; the callable gives the payloads heard so far."""
    if "postgresql" not in url:
        yield list
        return
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"LISTEN {NOTIFY_CHANNEL}")

        def heard() -> list[str]:
            return [n.payload for n in conn.notifies(timeout=1.0)]

        yield heard


def test_a_booking_that_commits_by_its_statements_gives_its_connection_back_transactional() -> None:
    """The endpoint's booking runs its statements outside a transaction on PostgreSQL (each commits by
    itself); the pooled connection must come back as before: a later unit of work that fails leaves
    nothing behind."""
    with fresh_database("sched") as url:
        engine = build_engine(url, pool_size=1, max_overflow=0) if "postgresql" in url else build_engine(url)
        try:
            migrate.upgrade(engine)
            factory = sessionmaker(bind=engine, expire_on_commit=False)
            slot_id, (first, second) = _slot_and_patients(factory, 5, ["钱某某", "李某某"])
            with unit_of_work(factory) as s:
                svc.book_once(s, patient_actor(first), slot_id=slot_id, patient_id=first)
            with pytest.raises(RuntimeError), unit_of_work(factory) as s:
                svc.book(s, patient_actor(second), slot_id=slot_id, patient_id=second)
                s.flush()
                raise RuntimeError("the caller's unit of work fails after the booking")
            with unit_of_work(factory) as s:
                assert s.scalars(select(Booking.patient_id)).all() == [first]
                slot = s.get(Slot, slot_id)
                assert slot is not None and slot.booked == 1
                assert s.scalar(select(func.count()).where(AccessAudit.action == "book")) == 1
        finally:
            engine.dispose()


def test_a_full_slot_whose_hold_ran_out_gives_its_place_through_the_endpoints_path(
    frozen_clock: clock.FrozenClock,
) -> None:
    """The endpoint's booking (``book_once``) on a full slot: refused while the hold stands, and once it
    has run out the hold is expired and the place booked, each with its audit row and its events."""
    with fresh_database("sched") as url:
        engine = build_engine(url)
        try:
            migrate.upgrade(engine)
            factory = sessionmaker(bind=engine, expire_on_commit=False)
            slot_id, (first, second) = _slot_and_patients(factory, 1, ["周某某", "吴某某"])
            with unit_of_work(factory) as s:
                held = svc.book_once(s, patient_actor(first), slot_id=slot_id, patient_id=first).id
            with pytest.raises(SlotFull), unit_of_work(factory) as s:
                svc.book_once(s, patient_actor(second), slot_id=slot_id, patient_id=second)
            frozen_clock.advance(timedelta(minutes=11))  # hold_minutes = 10
            with unit_of_work(factory) as s:
                taken = svc.book_once(s, patient_actor(second), slot_id=slot_id, patient_id=second).id
            with unit_of_work(factory) as s:
                assert {b.id: b.status for b in s.scalars(select(Booking))} == {
                    held: "expired",
                    taken: "held",
                }
                slot = s.get(Slot, slot_id)
                assert slot is not None and slot.booked == 1
                assert s.scalar(select(func.count()).where(AccessAudit.action == "book")) == 2
                topics = sorted(
                    s.scalars(select(OutboxEvent.topic).where(OutboxEvent.topic.like("scheduling.%")))
                )
                assert topics == ["scheduling.booking_held"] * 2 + ["scheduling.hold_expired"]
        finally:
            engine.dispose()


TWINS = 8


def test_the_same_idempotency_key_at_once_books_one_place() -> None:
    """A phone app retrying at once: eight requests with one idempotency key, released together. Each
    gets the same booking (none a server error); one place is taken, one audit row and one event."""
    with fresh_database("sched") as url:
        engine = (
            build_engine(url, pool_size=TWINS, max_overflow=2) if "postgresql" in url else build_engine(url)
        )
        try:
            migrate.upgrade(engine)
            factory = sessionmaker(bind=engine, expire_on_commit=False)
            slot_id, (pid,) = _slot_and_patients(factory, 5, ["孙某某"])
            barrier = threading.Barrier(TWINS, timeout=60)

            def attempt(_: int) -> int:
                barrier.wait()
                with unit_of_work(factory) as s:
                    b = svc.book_once(
                        s, patient_actor(pid), slot_id=slot_id, patient_id=pid, idempotency_key="app-retry-7"
                    )
                    return b.id

            with ThreadPoolExecutor(max_workers=TWINS) as pool:
                ids = set(pool.map(attempt, range(TWINS)))
            assert len(ids) == 1
            with unit_of_work(factory) as s:
                slot = s.get(Slot, slot_id)
                assert slot is not None and slot.booked == 1
                assert s.scalar(select(func.count()).select_from(Booking)) == 1
                assert s.scalar(select(func.count()).where(AccessAudit.action == "book")) == 1
                assert (
                    s.scalar(select(func.count()).where(OutboxEvent.topic == "scheduling.booking_held")) == 1
                )
        finally:
            engine.dispose()
