"""The demo's hook (``yilian demo``): the general hospital's ward building (yilian.evacuation.seeding)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from yilian.evacuation.seeding import occupy_beds, seed_ward_building
from yilian.kit.auth.domain import Actor


def seed(session: Session, *, seed_value: int, scale: float) -> str:
    """The demo's hook: the general hospital's ward building, a quarter of its beds occupied."""
    del seed_value
    from yilian.registry import service as registry

    inst = registry.institution_by_code(session, "NTGH")
    if inst is None:
        return "evacuation: no general hospital (NTGH); no ward building"
    actor = Actor.system("demo")
    depts, _ = registry.list_departments(session, institution_id=inst.id)
    row = seed_ward_building(session, actor, institution_id=inst.id, department_ids=[d.id for d in depts[:6]])
    admitted = occupy_beds(session, actor, row, min(0.6, 0.25 * max(scale, 0.4) / 0.4))
    return f"evacuation: ward building {row.name} ({len(row.wards)} wards, {admitted} patients in its beds)"
