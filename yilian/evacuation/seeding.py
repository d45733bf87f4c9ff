"""Seeding a ward building (住院楼): generated, imported, and tied to the inpatient area's wards.

The inpatient area owns wards, rooms and beds. Every ward room of the generated building names its
ward (W01…W12) and room (101…); where the demo general hospital has no ward of that code yet, one is
created through inpatient's service (a ward per floor, its rooms of 3 beds), so each building room
is an inpatient room with real beds and the live census fills the building. Existing wards of other
codes are left alone (ties are by code; docs/evacuation.md).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from itertools import zip_longest
from typing import TypeVar

from sqlalchemy.orm import Session

from yilian.evacuation import service
from yilian.evacuation.generator import ward_building, ward_code, ward_name, ward_rooms
from yilian.evacuation.models import EvacBuilding
from yilian.inpatient import service as inpatient
from yilian.inpatient.service import RoomSpec
from yilian.kit.auth import service as auth
from yilian.kit.auth.domain import Actor
from yilian.kit.errors import YilianError


def seed_ward_building(
    session: Session,
    actor: Actor,
    *,
    institution_id: int,
    department_ids: list[int],
    floors: int = 12,
    campus_id: int | None = None,
) -> EvacBuilding:
    """Create the building's wards that are missing (departments taken in turn) and import it."""
    doc = ward_building(floors)
    have = {row.ward_code for row in inpatient.bed_census(session, institution_id)}
    for i, (code, rooms) in enumerate(sorted(ward_rooms(doc).items())):
        if code in have:
            continue
        floor = int(code[1:])
        inpatient.create_ward(
            session,
            actor,
            institution_id=institution_id,
            department_id=department_ids[i % len(department_ids)],
            code=ward_code(floor),
            name=ward_name(floor),
            floor=floor,
            building=str(doc["name"]),
            campus_id=campus_id,
            rooms=[RoomSpec(room, beds) for room, beds in rooms],
        )
    return service.import_building(session, actor, institution_id, doc, campus_id=campus_id)


T = TypeVar("T")


def spread(items: Iterable[T], key: Callable[[T], str]) -> list[T]:
    """Items taken in turn from each group (``key``), so that a first few land in every group."""
    groups: dict[str, list[T]] = defaultdict(list)
    for item in items:
        groups[key(item)].append(item)
    return [x for tier in zip_longest(*groups.values()) for x in tier if x is not None]


MOBILITY_CYCLE = ("ambulatory", "bedridden", "ambulatory", "wheelchair", "ambulatory", "life_support")


def occupy_beds(session: Session, actor: Actor, row: EvacBuilding, share: float) -> int:
    """Admit patients of the institution (without a deposit) to ``share`` of the building's free beds,
    with mobilities in a fixed cycle, so the live census has people to plan for."""
    from yilian.registry import service as registry

    census = [c for c in inpatient.bed_census(session, row.institution_id) if c.ward_code in row.wards]
    free = [c for c in census if c.admission_id is None]
    want = int(len(census) * share) - (len(census) - len(free))
    if want <= 0:
        return 0
    in_bed = inpatient.patients_in_hospital(session)  # in any hospital (the demo's census included)
    people, _ = registry.search_patients(session, actor, limit=want + 50 + len(in_bed))
    # patients who log in themselves (the demo's story family) are left out of hospital
    users, _ = auth.list_users(session, limit=10_000)
    with_login = {u.patient_id for u in users if u.patient_id}
    candidates = [p for p in people if p.id not in in_bed and p.id not in with_login]
    wards = {w.code: w for w in inpatient.wards(session, actor, row.institution_id)}
    # every ward (floor) gets its share, and within a ward every room, however few patients there are
    order = spread(spread(free, lambda c: f"{c.ward_code}/{c.room_code}"), lambda c: c.ward_code)
    admitted = 0
    people_left = iter(candidates)
    per_ward: dict[str, int] = defaultdict(int)
    for c in order:
        if admitted >= want:
            break
        bed = next(b for b in inpatient.ward_beds(session, actor, c.ward_id) if b.code == c.bed_code)
        for person in people_left:
            try:
                with session.begin_nested():
                    adm = inpatient.admit(
                        session,
                        actor,
                        patient_id=person.id,
                        department_id=wards[c.ward_code].department_id,
                        bed_id=bed.id,
                        waive_deposit=True,
                    )
            except YilianError:  # not eligible without a deposit (arrears): the next patient
                continue
            mobility = MOBILITY_CYCLE[per_ward[c.ward_code] % len(MOBILITY_CYCLE)]
            per_ward[c.ward_code] += 1
            inpatient.set_mobility(session, actor, adm.id, mobility)
            admitted += 1
            break
    return admitted
