"""Helpers shared by the scheduling tests: the desk actor, a patient actor, a schedule's first slot."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from yilian.kit.auth.domain import ROLE_PERMISSIONS, Actor, Role
from yilian.scheduling.models import Schedule, Slot

DESK = Actor.system("test-desk")


def patient_actor(patient_id: int) -> Actor:
    return Actor(
        user_id=None,
        username=f"p{patient_id}",
        role=Role.PATIENT,
        patient_id=patient_id,
        permissions=ROLE_PERMISSIONS[Role.PATIENT],
    )


def first_slot(session: Session, sched: Schedule) -> Slot:
    return session.scalars(select(Slot).where(Slot.schedule_id == sched.id).order_by(Slot.start)).first()  # type: ignore[return-value]
