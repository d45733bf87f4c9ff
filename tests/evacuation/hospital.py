"""A general hospital with the generated ward building, its wards created through inpatient's
service, and patients admitted to part of its beds with mobilities set by the nurse."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from tests.builders import actor_of, make_department, make_institution, make_patient, make_user
from yilian.evacuation.models import EvacBuilding
from yilian.evacuation.seeding import seed_ward_building
from yilian.inpatient import service as inpatient
from yilian.kit.auth.domain import Actor, Role
from yilian.registry.models import Institution

MOBILITY_CYCLE = ["ambulatory", "bedridden", "wheelchair", "ambulatory", "life_support", "bedridden"]


@dataclass
class Hospital:
    hospital: Institution
    building: EvacBuilding
    admin: Actor
    security: Actor
    nurse: Actor
    admitted: int


def admit_floor(session: Session, nurse: Actor, institution_id: int, ward: str, every: int = 1) -> int:
    """Admit a patient to every ``every``-th bed of a ward, the nurse setting mobilities in a cycle."""
    beds = [r for r in inpatient.bed_census(session, institution_id) if r.ward_code == ward]
    wards = {w.code: w for w in inpatient.wards(session, nurse, institution_id)}
    n = 0
    for i, row in enumerate(beds):
        if i % every:
            continue
        person = make_patient(
            session,
            name="患者" + "甲乙丙丁戊己庚辛壬癸"[i % 10] + "甲乙丙丁戊己庚辛壬癸"[i // 10 % 10],
            institution=session.get(Institution, institution_id),
        )
        bed = next(b for b in inpatient.ward_beds(session, nurse, row.ward_id) if b.code == row.bed_code)
        adm = inpatient.admit(
            session,
            nurse,
            patient_id=person.id,
            department_id=wards[ward].department_id,
            bed_id=bed.id,
            waive_deposit=True,
        )
        inpatient.set_mobility(session, nurse, adm.id, MOBILITY_CYCLE[(i // every) % len(MOBILITY_CYCLE)])
        n += 1
    return n


def make_hospital(
    session: Session, floors: int = 8, admit_wards: tuple[str, ...] = ("W06", "W07")
) -> Hospital:
    hospital = make_institution(session, name="南通市第一人民医院")
    depts = [
        make_department(session, institution=hospital, name=n) for n in ("心血管内科", "呼吸内科", "神经内科")
    ]
    admin = actor_of(make_user(session, role=Role.ADMIN, institution=hospital))
    security = actor_of(make_user(session, role=Role.SECURITY_OFFICER, institution=hospital))
    nurse = actor_of(make_user(session, role=Role.NURSE, institution=hospital))
    building = seed_ward_building(
        session, admin, institution_id=hospital.id, department_ids=[d.id for d in depts], floors=floors
    )
    admitted = sum(admit_floor(session, nurse, hospital.id, w, every=2) for w in admit_wards)
    return Hospital(hospital, building, admin, security, nurse, admitted)
