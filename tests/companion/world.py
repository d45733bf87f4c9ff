"""The companion tests' world: a clinic day with a schoolgirl, her verified father and her booking;
an outbox pump; an invitation and the feed's lines."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.builders import SYSTEM, make_department, make_institution, make_patient, make_practitioner
from yilian.companion import service
from yilian.companion.domain import VisitKind
from yilian.companion.models import FeedItem
from yilian.companion.schemas import FollowCreate
from yilian.kit import clock, events
from yilian.kit.auth.domain import ROLE_PERMISSIONS, Actor, Role
from yilian.kit.events import OutboxEvent
from yilian.registry import service as registry
from yilian.registry.domain import RelationType, Sex
from yilian.registry.models import Patient
from yilian.registry.schemas import RelationCreate
from yilian.scheduling import service as scheduling
from yilian.scheduling.models import Schedule, Slot

DAY1 = date(2026, 5, 7)  # frozen_clock: 2026-05-07 09:00 Asia/Shanghai


def person(patient_id: int, role: Role = Role.PATIENT) -> Actor:
    return Actor(
        user_id=None,
        username=f"{role.value}{patient_id}",
        role=role,
        patient_id=patient_id,
        permissions=ROLE_PERMISSIONS[role],
    )


def relate(
    session: Session, patient: Patient, relative: Patient, rel: RelationType, *, verify: bool | None = True
) -> int:
    r = registry.add_relation(
        session, SYSTEM, patient.id, RelationCreate(relative_id=relative.id, relation_type=rel)
    )
    registry.confirm_relation(session, SYSTEM, r.id)
    if verify is not None:
        registry.verify_relation(session, SYSTEM, r.id, approve=verify)
    return r.id


@dataclass
class World:
    girl: Patient
    father: Patient
    schedule: Schedule
    booking_id: int
    slots: list[Slot]


def make_world(session: Session) -> World:
    """The clinic day in ``session`` (under ``frozen_clock``): the girl's confirmed booking, her
    father verified."""
    inst = make_institution(session, level=3)
    dept = make_department(session, institution=inst)
    doc = make_practitioner(session, institution=inst, department=dept)
    girl = make_patient(session, name="林小满", birth_date=date(2014, 3, 2), sex=Sex.FEMALE, institution=inst)
    father = make_patient(session, name="林建国", birth_date=date(1984, 8, 9), institution=inst)
    relate(session, girl, father, RelationType.PARENT)
    sched = scheduling.create_schedule(
        session, SYSTEM, department_id=dept.id, day=DAY1, period="am", practitioner_id=doc.id
    )
    slots = list(session.scalars(select(Slot).where(Slot.schedule_id == sched.id).order_by(Slot.start)))
    b = scheduling.book(session, SYSTEM, slot_id=slots[0].id, patient_id=girl.id, channel="desk")
    scheduling.confirm(session, SYSTEM, b.id)
    pump(session)  # events from before any consent are nobody's feed
    return World(girl, father, sched, b.id, slots)


def pump(session: Session) -> int:
    """Deliver the pending outbox events to the companion handler, as the dispatcher does."""
    rows = session.scalars(
        select(OutboxEvent).where(OutboxEvent.dispatched_at.is_(None)).order_by(OutboxEvent.id)
    ).all()
    for row in rows:
        service.on_event(session, events.Event(row.id, row.topic, dict(row.payload), row.created_at))
        row.dispatched_at = clock.utcnow()
    session.flush()
    return len(rows)


def invite(w: World, **kw: object) -> FollowCreate:
    """The girl's invitation of her father to follow her booking, with the scopes in ``kw``."""
    base: dict[str, object] = {
        "patient_id": w.girl.id,
        "relative_id": w.father.id,
        "visit_kind": VisitKind.BOOKING,
        "visit_id": w.booking_id,
    }
    return FollowCreate.model_validate({**base, **kw})


def texts(session: Session, follow_id: int) -> list[str]:
    """The lines of a follow's feed, oldest first."""
    return list(
        session.scalars(select(FeedItem.text).where(FeedItem.follow_id == follow_id).order_by(FeedItem.id))
    )
