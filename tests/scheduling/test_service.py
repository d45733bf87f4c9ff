"""Service tests on the real database: booking rules, payment record, three-day return, stop clinic, queues."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.builders import make_department, make_institution, make_patient, make_practitioner
from tests.scheduling.helpers import DESK, first_slot, patient_actor
from yilian.kit import clock
from yilian.kit.access_log import AccessAudit
from yilian.kit.auth.domain import ROLE_PERMISSIONS, Actor, Role
from yilian.kit.errors import Forbidden, InvalidInput
from yilian.kit.events import OutboxEvent
from yilian.registry import service as registry
from yilian.registry.errors import PatientNotFound
from yilian.scheduling import errors
from yilian.scheduling import service as svc
from yilian.scheduling.models import Booking, ReturnVisit, Schedule, Slot

DAY1 = date(2026, 5, 7)  # frozen_clock: 2026-05-07 09:00 Asia/Shanghai


@dataclass
class World:
    dept_id: int
    doctor_id: int
    patient_id: int
    s1: Schedule  # 5/7 pm
    s2: Schedule  # 5/8 am (other doctor none)
    s3: Schedule  # 5/11 am


@pytest.fixture
def world(session: Session, frozen_clock: clock.FrozenClock) -> World:
    inst = make_institution(session, level=3)
    dept = make_department(session, institution=inst)
    doc = make_practitioner(session, institution=inst, department=dept)
    pat = make_patient(session)
    s1 = svc.create_schedule(
        session, DESK, department_id=dept.id, day=DAY1, period="pm", practitioner_id=doc.id
    )
    s2 = svc.create_schedule(session, DESK, department_id=dept.id, day=date(2026, 5, 8), period="am")
    s3 = svc.create_schedule(session, DESK, department_id=dept.id, day=date(2026, 5, 11), period="am")
    return World(dept.id, doc.id, pat.id, s1, s2, s3)


def test_book_confirm_records_fee_and_three_day_window(session: Session, world: World) -> None:
    me = patient_actor(world.patient_id)
    b = svc.book(session, me, slot_id=first_slot(session, world.s1).id, patient_id=world.patient_id)
    assert b.status == "held" and b.fee_fen == 1000 and b.payment_state == "unpaid"
    b = svc.confirm(session, me, b.id, payment_method="phone")
    assert b.status == "confirmed" and b.payment_state == "paid" and b.paid_at is not None
    assert b.qualifies_three_day
    # department holds no clinic on 9 and 10 May → window extends to Monday 11 May
    assert b.valid_until == date(2026, 5, 11)
    assert first_slot(session, world.s1).booked == 1


def test_return_visit_next_day_is_free_once(
    session: Session, world: World, frozen_clock: clock.FrozenClock
) -> None:
    b = svc.book(
        session, DESK, slot_id=first_slot(session, world.s1).id, patient_id=world.patient_id, channel="desk"
    )
    svc.confirm(session, DESK, b.id)
    frozen_clock.advance(timedelta(days=1))
    entry = svc.return_visit(session, DESK, b.id, schedule_id=world.s2.id)
    assert entry.is_return and entry.ticket_no == 1
    rv = session.scalars(select(ReturnVisit).where(ReturnVisit.booking_id == b.id)).all()
    assert [r.fee_waived_fen for r in rv] == [1000]
    with pytest.raises(errors.NotReturnEligible):
        svc.return_visit(session, DESK, b.id, schedule_id=world.s2.id)


def test_return_visit_refused_after_window_and_for_expert(
    session: Session, world: World, frozen_clock: clock.FrozenClock
) -> None:
    expert = svc.create_schedule(
        session, DESK, department_id=world.dept_id, day=DAY1, period="night", clinic_type="expert"
    )
    b = svc.book(
        session, DESK, slot_id=first_slot(session, expert).id, patient_id=world.patient_id, channel="desk"
    )
    b = svc.confirm(session, DESK, b.id)
    assert not b.qualifies_three_day and b.fee_fen == 2500
    frozen_clock.advance(timedelta(days=1))
    with pytest.raises(errors.NotReturnEligible, match="不适用"):
        svc.return_visit(session, DESK, b.id, schedule_id=world.s2.id)
    later = svc.create_schedule(
        session, DESK, department_id=world.dept_id, day=date(2026, 5, 12), period="am"
    )
    other = make_patient(session, name="李四")
    b2 = svc.book(
        session, DESK, slot_id=first_slot(session, world.s1).id, patient_id=other.id, channel="desk"
    )
    svc.confirm(session, DESK, b2.id)
    frozen_clock.advance(timedelta(days=4))
    with pytest.raises(errors.NotReturnEligible, match="三天"):
        svc.return_visit(session, DESK, b2.id, schedule_id=later.id)


def test_booking_rules(session: Session, world: World) -> None:
    me = patient_actor(world.patient_id)
    slots = session.scalars(select(Slot).where(Slot.schedule_id == world.s1.id).order_by(Slot.start)).all()
    svc.book(session, me, slot_id=slots[0].id, patient_id=world.patient_id, idempotency_key="k1")
    again = svc.book(session, me, slot_id=slots[0].id, patient_id=world.patient_id, idempotency_key="k1")
    assert first_slot(session, world.s1).booked == 1 and again.idempotency_key == "k1"
    with pytest.raises(errors.DuplicateBooking):
        svc.book(session, me, slot_id=slots[1].id, patient_id=world.patient_id)
    far = svc.create_schedule(session, DESK, department_id=world.dept_id, day=date(2026, 5, 20), period="am")
    with pytest.raises(errors.SlotNotReleased):
        svc.book(session, me, slot_id=first_slot(session, far).id, patient_id=world.patient_id)
    other = make_patient(session, name="王五")
    with pytest.raises(Forbidden, match="只能为本人预约"):
        svc.book(session, me, slot_id=slots[2].id, patient_id=other.id)


def test_a_booking_writes_one_audit_row_and_one_event_and_a_refused_one_nothing(
    session: Session, world: World
) -> None:
    """The booking, its place, its access-audit row and its outbox event are written together (one
    statement on PostgreSQL); a full slot, an unknown patient or a changed policy are seen at once."""
    small = svc.create_schedule(
        session, DESK, department_id=world.dept_id, day=date(2026, 5, 8), period="pm", slice_capacity=1
    )
    slot = first_slot(session, small)
    assert slot.booked == 0
    b = svc.book(session, patient_actor(world.patient_id), slot_id=slot.id, patient_id=world.patient_id)
    assert slot.booked == 1  # the slot loaded in this session reads its count again
    assert b.hold_expires_at == clock.utcnow() + timedelta(minutes=10)
    audits = session.execute(
        select(AccessAudit.username, AccessAudit.role, AccessAudit.action, AccessAudit.resource).where(
            AccessAudit.patient_id == world.patient_id, AccessAudit.action == "book"
        )
    ).all()
    assert audits == [(f"p{world.patient_id}", "patient", "book", f"booking/{b.id}")]
    held = session.scalars(select(OutboxEvent).where(OutboxEvent.topic == "scheduling.booking_held")).all()
    assert [e.payload for e in held] == [{"booking_id": b.id, "patient_id": world.patient_id}]
    assert session.scalar(select(Booking.status).where(Booking.id == b.id)) == "held"

    other = make_patient(session, name="乙某")
    counts = (
        session.scalar(select(func.count()).select_from(AccessAudit)),
        session.scalar(select(func.count()).select_from(OutboxEvent)),
        session.scalar(select(func.count()).select_from(Booking)),
    )
    with pytest.raises(errors.SlotFull):
        svc.book(session, patient_actor(other.id), slot_id=slot.id, patient_id=other.id)
    with pytest.raises(PatientNotFound):
        svc.book(
            session, DESK, slot_id=first_slot(session, world.s3).id, patient_id=2**31 - 1, channel="desk"
        )
    assert counts == (
        session.scalar(select(func.count()).select_from(AccessAudit)),
        session.scalar(select(func.count()).select_from(OutboxEvent)),
        session.scalar(select(func.count()).select_from(Booking)),
    )
    assert session.scalar(select(Slot.booked).where(Slot.id == slot.id)) == 1

    inst_id = small.institution_id
    svc.set_policy(session, Actor.system("test-admin"), inst_id, {"hold_minutes": 25})
    later = svc.book(
        session, patient_actor(other.id), slot_id=first_slot(session, world.s3).id, patient_id=other.id
    )
    assert later.hold_expires_at == clock.utcnow() + timedelta(minutes=25)  # the new policy, at once


def test_slot_full_and_cancel_frees_place(session: Session, world: World) -> None:
    small = svc.create_schedule(
        session, DESK, department_id=world.dept_id, day=date(2026, 5, 8), period="pm", slice_capacity=1
    )
    slot = first_slot(session, small)
    a, b = make_patient(session, name="甲某"), make_patient(session, name="乙某")
    held = svc.book(session, patient_actor(a.id), slot_id=slot.id, patient_id=a.id)
    with pytest.raises(errors.SlotFull) as exc:
        svc.book(session, patient_actor(b.id), slot_id=slot.id, patient_id=b.id)
    assert exc.value.title == "号源已满"
    svc.cancel(session, patient_actor(a.id), held.id)
    svc.book(session, patient_actor(b.id), slot_id=slot.id, patient_id=b.id)
    session.refresh(slot)
    assert slot.booked == 1


def test_stop_clinic_cancels_marks_refund_and_emits(session: Session, world: World) -> None:
    b = svc.book(
        session, DESK, slot_id=first_slot(session, world.s2).id, patient_id=world.patient_id, channel="desk"
    )
    svc.confirm(session, DESK, b.id)
    assert svc.stop_clinic(session, DESK, world.s2.id, reason="医生出差") == 1
    assert b.status == "stopped" and b.payment_state == "refund_due"
    topics = session.scalars(select(OutboxEvent.topic)).all()
    assert "scheduling.clinic_stopped" in topics
    with pytest.raises(errors.ClinicStopped):
        svc.book(
            session,
            DESK,
            slot_id=first_slot(session, world.s2).id,
            patient_id=world.patient_id,
            channel="desk",
        )


def test_queue_check_in_priority_call_skip_recall(session: Session, world: World) -> None:
    slots = session.scalars(select(Slot).where(Slot.schedule_id == world.s1.id).order_by(Slot.start)).all()
    young = [
        make_patient(session, name="患者" + "甲乙丙丁"[i], birth_date=date(1990, 1, 1)) for i in range(4)
    ]
    old = make_patient(session, name="老人", birth_date=date(1950, 1, 1))
    entries = []
    for i, p in enumerate([*young, old]):
        b = svc.book(session, DESK, slot_id=slots[i].id, patient_id=p.id, channel="desk")
        svc.confirm(session, DESK, b.id)
        entries.append(svc.check_in(session, DESK, b.id))
    assert entries[-1].priority and not entries[0].priority
    screen = svc.queue_screen(session, world.s1.id)
    assert screen.calling is None and screen.version == 5  # one bump per check-in
    assert [w.patient_id for w in screen.waiting] == [old.id, *(p.id for p in young)]
    assert screen.waiting[0].masked_name == "老*" and screen.waiting[0].priority
    first = svc.call_next(session, DESK, world.s1.id)
    assert first.patient_id == old.id  # 70+ first
    second = svc.call_next(session, DESK, world.s1.id)
    assert second.patient_id == young[0].id
    svc.recall(session, DESK, second.id)
    assert second.calls == 2
    svc.skip(session, DESK, second.id)
    order = [e.patient_id for e in svc.queue(session, DESK, world.s1.id) if e.status == "waiting"]
    assert order == [young[1].id, young[2].id, young[3].id, young[0].id]
    screen = svc.queue_screen(session, world.s1.id)
    assert screen.calling is None and [w.patient_id for w in screen.waiting] == order
    assert svc.queue_version(session, world.s1.id) == 9
    topics = session.scalars(
        select(OutboxEvent.topic).where(OutboxEvent.topic == "scheduling.queue_changed")
    ).all()
    assert len(topics) >= 9


def test_empty_queue(session: Session, world: World) -> None:
    with pytest.raises(errors.QueueEmpty):
        svc.call_next(session, DESK, world.s3.id)


_ = (UTC, datetime)


def test_indicators_count_what_happened(
    session: Session, world: World, frozen_clock: clock.FrozenClock
) -> None:
    me = patient_actor(world.patient_id)
    online = svc.book(session, me, slot_id=first_slot(session, world.s1).id, patient_id=world.patient_id)
    svc.confirm(session, me, online.id, payment_method="phone")
    others = [make_patient(session, name=name) for name in ("王甲", "王乙", "王丙")]
    desk = [
        svc.book(session, DESK, slot_id=first_slot(session, world.s1).id, patient_id=p.id, channel="desk")
        for p in others
    ]
    svc.confirm(session, DESK, desk[0].id)
    svc.confirm(session, DESK, desk[1].id)
    svc.mark_no_show(session, DESK, desk[1].id)
    svc.cancel(session, DESK, desk[2].id)
    frozen_clock.advance(timedelta(days=1))
    svc.return_visit(session, DESK, online.id, schedule_id=world.s2.id)
    inst = registry.get_department(session, world.dept_id).institution_id
    got = svc.indicators(session, inst, DAY1, DAY1 + timedelta(days=1))
    assert (got.bookings, got.registrations, got.online, got.cancelled, got.no_shows) == (4, 3, 1, 1, 1)
    assert (got.three_day_registrations, got.return_visits, got.fees_waived_fen) == (2, 1, 1000)
    assert (got.online_permille, got.no_show_permille) == (333, 333)
    # the return visit is counted on the day it was served
    assert svc.indicators(session, inst, DAY1, DAY1).return_visits == 0
    with pytest.raises(InvalidInput, match="结束日期"):
        svc.indicators(session, inst, DAY1, date(2026, 1, 1))


def test_unpaid_hold_expires_and_its_place_goes_to_the_next_patient(
    session: Session, world: World, frozen_clock: clock.FrozenClock
) -> None:
    me = patient_actor(world.patient_id)
    slot = first_slot(session, world.s1)
    slot.capacity = 1
    held = svc.book(session, me, slot_id=slot.id, patient_id=world.patient_id)
    other = make_patient(session, name="赵六")
    with pytest.raises(errors.SlotFull):
        svc.book(session, DESK, slot_id=slot.id, patient_id=other.id, channel="desk")
    frozen_clock.advance(timedelta(minutes=11))  # hold_minutes = 10
    taken = svc.book(session, DESK, slot_id=slot.id, patient_id=other.id, channel="desk")
    assert taken.status == "held" and held.status == "expired"
    session.refresh(slot)
    assert slot.booked == 1
    with pytest.raises(errors.HoldExpired):
        svc.confirm(session, me, held.id, payment_method="phone")
    assert session.get(Booking, held.id).status == "expired"  # type: ignore[union-attr]


def test_a_patients_own_run_out_hold_stops_counting_when_she_books_again(
    session: Session, world: World, frozen_clock: clock.FrozenClock
) -> None:
    """The rules' counts come from one query that also finds the patient's holds past their time: those
    are expired (the place given back) before she is refused as a duplicate of herself."""
    me = patient_actor(world.patient_id)
    slot = first_slot(session, world.s1)
    held = svc.book(session, me, slot_id=slot.id, patient_id=world.patient_id)
    with pytest.raises(errors.DuplicateBooking):
        svc.book(session, me, slot_id=slot.id, patient_id=world.patient_id)
    frozen_clock.advance(timedelta(minutes=11))  # hold_minutes = 10
    again = svc.book(session, me, slot_id=slot.id, patient_id=world.patient_id)
    session.refresh(held)
    session.refresh(slot)
    assert held.status == "expired" and again.status == "held" and again.id != held.id
    assert slot.booked == 1


def test_a_hold_past_its_time_cannot_be_confirmed_and_the_job_releases_it(
    session: Session, world: World, frozen_clock: clock.FrozenClock
) -> None:
    me = patient_actor(world.patient_id)
    slot = first_slot(session, world.s1)
    held = svc.book(session, me, slot_id=slot.id, patient_id=world.patient_id)
    frozen_clock.advance(timedelta(minutes=10, seconds=1))
    with pytest.raises(errors.HoldExpired):
        svc.confirm(session, me, held.id, payment_method="phone")
    assert svc.expire_holds(session) == 1
    assert svc.expire_holds(session) == 0
    session.refresh(slot)
    assert slot.booked == 0


def test_cancelling_twice_releases_the_place_once(session: Session, world: World) -> None:
    slot = first_slot(session, world.s1)
    b = svc.book(session, DESK, slot_id=slot.id, patient_id=world.patient_id, channel="desk")
    svc.confirm(session, DESK, b.id)
    svc.cancel(session, DESK, b.id)
    with pytest.raises(errors.BookingStateError):
        svc.cancel(session, DESK, b.id)
    session.refresh(slot)
    assert slot.booked == 0


def test_patient_checks_in_herself_once_and_not_for_others(
    session: Session, world: World, frozen_clock: clock.FrozenClock
) -> None:
    from yilian.kit.errors import Forbidden

    me = patient_actor(world.patient_id)
    b = svc.book(session, me, slot_id=first_slot(session, world.s1).id, patient_id=world.patient_id)
    svc.confirm(session, me, b.id, payment_method="phone")
    entry = svc.check_in(session, me, b.id, groups=["军人"])
    assert entry.ticket_no == 1 and not entry.priority  # groups are declared at the desk only
    entry.status = "done"  # seen by the doctor
    assert svc.check_in(session, me, b.id).id == entry.id  # no second place in the queue
    other = make_patient(session, name="钱七")
    with pytest.raises(Forbidden):
        svc.check_in(session, patient_actor(other.id), b.id)


def test_bookings_never_checked_in_become_no_shows_after_the_day(
    session: Session, world: World, frozen_clock: clock.FrozenClock
) -> None:
    slot = first_slot(session, world.s1)
    seen = svc.book(session, DESK, slot_id=slot.id, patient_id=world.patient_id, channel="desk")
    svc.confirm(session, DESK, seen.id)
    svc.check_in(session, DESK, seen.id)
    other = make_patient(session, name="吴九")
    missed = svc.book(session, DESK, slot_id=slot.id, patient_id=other.id, channel="desk")
    svc.confirm(session, DESK, missed.id)
    with pytest.raises(InvalidInput, match="未来"):
        svc.mark_no_shows(session, DAY1 + timedelta(days=1))
    assert svc.mark_no_shows(session, DAY1) == 1
    assert (seen.status, missed.status) == ("confirmed", "no_show")
    assert svc.mark_no_shows(session, DAY1) == 0  # idempotent
    events = session.scalars(select(OutboxEvent).where(OutboxEvent.topic == "scheduling.no_show")).all()
    assert [e.payload["booking_id"] for e in events] == [missed.id]


def test_the_kiosk_finds_todays_registrations_by_id_number_and_checks_in(
    session: Session, world: World, frozen_clock: clock.FrozenClock
) -> None:
    from yilian.kit.errors import Forbidden
    from yilian.registry import service as registry_service

    inst = registry_service.get_department(session, world.dept_id).institution_id
    kiosk = Actor(
        user_id=None,
        username="kiosk-1",
        role=Role.KIOSK,
        institution_id=inst,
        permissions=ROLE_PERMISSIONS[Role.KIOSK],
    )
    elsewhere = Actor(
        user_id=None,
        username="kiosk-2",
        role=Role.KIOSK,
        institution_id=inst + 999,
        permissions=ROLE_PERMISSIONS[Role.KIOSK],
    )
    patient = registry_service.find_patient(session, world.patient_id)
    b = svc.book(
        session, DESK, slot_id=first_slot(session, world.s1).id, patient_id=patient.id, channel="desk"
    )
    svc.confirm(session, DESK, b.id)
    (row,) = svc.kiosk_bookings(session, kiosk, patient.id_number.lower())
    assert row.booking_id == b.id and row.ticket_no is None and "*" in row.masked_name
    with pytest.raises(Forbidden):
        svc.check_in(session, elsewhere, b.id)  # another hospital's machine
    assert svc.check_in(session, kiosk, b.id).ticket_no == 1
    assert svc.kiosk_bookings(session, kiosk, patient.id_number)[0].ticket_no == 1
    assert svc.kiosk_bookings(session, elsewhere, patient.id_number) == []
    with pytest.raises(errors.BookingNotFound):
        svc.kiosk_bookings(session, kiosk, "110101199003071234")
    with pytest.raises(Forbidden):
        svc.confirm(session, kiosk, b.id)  # a machine checks in and nothing else
