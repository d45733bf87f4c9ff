"""Demo data: weekly clinics for the demo hospitals' departments over 14 days around today, some bookings."""

from __future__ import annotations

import random
from datetime import timedelta

from sqlalchemy.orm import Session

from yilian.kit.auth.domain import Actor
from yilian.kit.clock import business_date
from yilian.registry import service as registry
from yilian.scheduling import domain, service

DEMO_ACTOR = Actor.system("demo-scheduling")
MAX_DEPARTMENTS_PER_INSTITUTION = 6


def seed(session: Session, *, seed_value: int, scale: float) -> str:
    rng = random.Random(seed_value)
    today = business_date()
    opening = domain.WeeklyOpening()
    institutions, _ = registry.list_institutions(session, limit=200)
    hospitals = [i for i in institutions if i.level >= 2]
    n_sched = 0
    for inst in hospitals:
        service.get_policy(session, inst.id)
        depts, _ = registry.list_departments(session, institution_id=inst.id)
        clinical = [d for d in depts if d.is_clinical and d.is_active][:MAX_DEPARTMENTS_PER_INSTITUTION]
        for dept in clinical:
            doctors, _ = registry.list_practitioners(session, department_id=dept.id, limit=4)
            if not doctors:
                continue
            for offset in range(-1, 14):
                day = today + timedelta(days=offset)
                if not opening.is_open(day):
                    continue
                for k, period in enumerate(("am", "pm")):
                    doc = doctors[(offset + k) % len(doctors)]
                    clinic = "expert" if doc.title in ("主任医师", "副主任医师") and k == 1 else "ordinary"
                    service.create_schedule(
                        session,
                        DEMO_ACTOR,
                        department_id=dept.id,
                        day=day,
                        period=period,
                        clinic_type=clinic,
                        practitioner_id=doc.id,
                    )
                    n_sched += 1
    _ = (rng, scale)
    return f"排班 {n_sched} 个（{len(hospitals)} 家医院，今天前 1 天至后 13 天）"
