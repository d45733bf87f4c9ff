"""The read-side services behind the booking and desk pages: booking window, open schedules, free places,
a patient's bookings with ticket and return visits, walk-in registration, return-visit targets."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy.orm import Session

from tests.builders import actor_of, make_department, make_institution, make_patient, make_user
from tests.scheduling.helpers import first_slot, patient_actor
from yilian.kit import clock
from yilian.kit.auth.domain import ROLE_PERMISSIONS, Actor, Role
from yilian.kit.errors import Forbidden
from yilian.registry.errors import PatientOutOfScope
from yilian.registry.models import Institution
from yilian.scheduling import service as svc
from yilian.scheduling.models import Schedule

DESK = Actor.system("test-desk")
DAY1 = date(2026, 5, 7)  # frozen_clock: Thursday 2026-05-07 09:00 Asia/Shanghai


@pytest.fixture
def institution_id(session: Session, frozen_clock: clock.FrozenClock) -> int:
    """A level-3 hospital (the clock is frozen first: its schedules are made on DAY1)."""
    return make_institution(session, level=3).id


@pytest.fixture
def dept_id(session: Session, institution_id: int) -> int:
    return make_department(session, institution=session.get_one(Institution, institution_id)).id


@pytest.fixture
def patient_id(session: Session, institution_id: int) -> int:
    return make_patient(session, institution=session.get_one(Institution, institution_id)).id


@pytest.fixture
def today_pm(session: Session, dept_id: int) -> Schedule:
    return svc.create_schedule(session, DESK, department_id=dept_id, day=DAY1, period="pm")


@pytest.fixture
def tomorrow_am(session: Session, dept_id: int, today_pm: Schedule) -> Schedule:
    """Tomorrow morning's clinic, made after this afternoon's."""
    return svc.create_schedule(
        session, DESK, department_id=dept_id, day=DAY1 + timedelta(days=1), period="am"
    )


def test_booking_days_follow_the_release_time(
    session: Session, institution_id: int, frozen_clock: clock.FrozenClock
) -> None:
    assert svc.booking_days(session, institution_id) == (DAY1, DAY1 + timedelta(days=7))
    frozen_clock.set(clock.local_datetime(DAY1, clock.time(6, 59)))
    assert svc.booking_days(session, institution_id) == (DAY1, DAY1 + timedelta(days=6))


def test_open_schedules_leave_out_stopped_clinics_and_count_free_places(
    session: Session,
    institution_id: int,
    dept_id: int,
    patient_id: int,
    today_pm: Schedule,
    tomorrow_am: Schedule,
) -> None:
    later = svc.create_schedule(
        session, DESK, department_id=dept_id, day=DAY1 + timedelta(days=2), period="am"
    )
    svc.stop_clinic(session, DESK, later.id)
    rows = svc.open_schedules(
        session, institution_id=institution_id, start=DAY1, end=DAY1 + timedelta(days=7)
    )
    assert [s.id for s in rows] == [today_pm.id, tomorrow_am.id]
    assert institution_id in svc.bookable_institution_ids(session)
    total = sum(s.capacity for s in svc.slots(session, tomorrow_am.id))
    me = patient_actor(patient_id)
    svc.book(session, me, slot_id=first_slot(session, tomorrow_am).id, patient_id=patient_id)
    free = svc.remaining_places(session, [today_pm.id, tomorrow_am.id])
    assert free[tomorrow_am.id] == total - 1
    assert free[today_pm.id] == sum(s.capacity for s in svc.slots(session, today_pm.id))
    assert svc.remaining_places(session, []) == {}


def test_walk_in_then_check_in_shows_ticket_and_return_visit_in_patient_bookings(
    session: Session,
    patient_id: int,
    today_pm: Schedule,
    tomorrow_am: Schedule,
    frozen_clock: clock.FrozenClock,
) -> None:
    b = svc.register_walk_in(session, DESK, slot_id=first_slot(session, today_pm).id, patient_id=patient_id)
    assert b.status == "confirmed" and b.channel == "desk" and b.payment_state == "paid"
    assert b.payment_method == "desk"
    svc.check_in(session, DESK, b.id)
    (view,) = svc.patient_bookings(session, DESK, patient_id)
    assert view.booking.id == b.id and view.ticket_no == 1 and view.return_visits == []
    assert view.schedule.id == today_pm.id and view.slot.id == b.slot_id

    frozen_clock.advance(timedelta(days=1))
    targets = svc.return_visit_targets(session, DESK, b.id)
    assert [s.id for s in targets] == [tomorrow_am.id]
    svc.return_visit(session, DESK, b.id, schedule_id=tomorrow_am.id)
    (view,) = svc.patient_bookings(session, patient_actor(patient_id), patient_id)
    assert view.ticket_no == 1  # the first visit's ticket, not the return visit's
    assert [(r.day, r.fee_waived_fen) for r in view.return_visits] == [(DAY1 + timedelta(days=1), b.fee_fen)]


def test_patient_bookings_are_one_own_or_in_the_desks_scope(session: Session, patient_id: int) -> None:
    other = make_patient(session, name="李四")
    with pytest.raises(Forbidden):
        svc.patient_bookings(session, patient_actor(other.id), patient_id)
    elsewhere = make_institution(session)
    nurse = actor_of(make_user(session, role=Role.NURSE, institution=elsewhere))  # desk, no alliance index
    with pytest.raises(PatientOutOfScope):
        svc.patient_bookings(session, nurse, patient_id)
    family = Actor(user_id=None, username="fam", role=Role.FAMILY, permissions=ROLE_PERMISSIONS[Role.FAMILY])
    with pytest.raises(Forbidden):
        svc.patient_bookings(session, family, patient_id)
