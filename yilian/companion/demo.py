"""Demo data of 云伴诊: the schoolgirl (`patient`) booked tomorrow's clinic and lets her father (`family`)
follow its progress."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from yilian.companion import service
from yilian.companion.domain import Basis, VisitKind
from yilian.companion.schemas import FollowCreate
from yilian.kit.auth import service as auth
from yilian.kit.auth.domain import Actor
from yilian.kit.clock import business_date
from yilian.kit.errors import YilianError
from yilian.registry import service as registry
from yilian.scheduling import service as scheduling


def seed(session: Session, *, seed_value: int, scale: float) -> str:
    users = {u.username: u for u in auth.list_users(session, limit=1000)[0]}
    girl, dad = users.get("patient"), users.get("family")
    if girl is None or dad is None or girl.patient_id is None or dad.patient_id is None:
        return "companion: no demo family"
    system = Actor.system("demo")
    patient = registry.find_patient(session, girl.patient_id)
    day = business_date() + timedelta(days=1)
    schedules = scheduling.open_schedules(session, start=day, end=day + timedelta(days=6))
    schedules.sort(key=lambda s: (s.institution_id != patient.home_institution_id, s.day, s.id))
    for sched in schedules:
        for slot in scheduling.slots(session, sched.id):
            if slot.booked >= slot.capacity:
                continue
            try:
                with session.begin_nested():
                    b = scheduling.book(
                        session, system, slot_id=slot.id, patient_id=patient.id, channel="desk"
                    )
                    scheduling.confirm(session, system, b.id)
                    follow = service.grant(
                        session,
                        system,
                        FollowCreate(
                            patient_id=patient.id,
                            relative_id=dad.patient_id,
                            visit_kind=VisitKind.BOOKING,
                            visit_id=b.id,
                            basis=Basis.SELF,
                        ),
                    )
            except YilianError:
                continue
            return f"companion: {dad.username} follows {girl.username} on {sched.day} (follow {follow.id})"
    return "companion: no schedule to follow"
