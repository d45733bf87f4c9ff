"""The demo alliance: the required shape, valid people, and the same alliance for the same seed."""

from __future__ import annotations

import re

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from yilian.demo.alliance import seed
from yilian.kit.auth.domain import Role
from yilian.kit.auth.models import User
from yilian.registry.domain import InstitutionCategory, parse_id_number
from yilian.registry.models import Campus, Department, FamilyRelation, Institution, Patient, Practitioner


def _snapshot(session: Session) -> list[tuple[str, str, str]]:
    return [
        tuple(r)
        for r in session.execute(
            select(Patient.name, Patient.id_number, Patient.phone).order_by(Patient.id_number)
        )
    ]


def test_demo_shape_and_determinism(session: Session) -> None:
    summary = seed(session, seed_value=7, patients=120)
    count = lambda model: session.scalar(select(func.count()).select_from(model))  # noqa: E731
    categories = [InstitutionCategory(c) for c in session.scalars(select(Institution.category))]
    assert categories.count(InstitutionCategory.COMMUNITY_CENTRE) == 3
    assert categories.count(InstitutionCategory.VILLAGE_CLINIC) == 2
    general = session.scalar(select(Institution).where(Institution.code == "NTGH"))
    assert general is not None and (general.level, general.grade) == (3, "甲")
    assert (
        session.scalar(select(func.count()).select_from(Campus).where(Campus.institution_id == general.id))
        == 2
    )
    assert count(Department) >= 20 and count(Practitioner) >= 60
    # the households asked for, and the hospitals' inpatients of the go-live take-over (在院患者接管)
    taken_over = sum(
        int(m.group(1))
        for line in summary.extras
        if (m := re.search(r"(\d+) patients in hospital taken over", line))
    )
    assert summary.patients == 120 and taken_over > 0
    assert count(Patient) == summary.patients + taken_over
    assert count(FamilyRelation) > 0
    for _name, id_number, _phone in _snapshot(session):
        parse_id_number(id_number)
    roles = {Role(r) for r in session.scalars(select(User.role))}
    assert roles == set(Role), "one demo user per role"
    first = _snapshot(session)
    session.rollback()

    seed(session, seed_value=7, patients=120)
    assert _snapshot(session) == first


def test_demo_patient_is_a_girl_whose_father_follows_her(session: Session) -> None:
    """The README's story: the demo patient is a child (a girl under 14) and the family user her father."""
    from yilian.kit.clock import business_date
    from yilian.registry.domain import RelationType, Sex

    seed(session, seed_value=20261122, patients=200)
    users = {
        u.username: u for u in session.scalars(select(User).where(User.username.in_(["patient", "family"])))
    }
    child = session.get(Patient, users["patient"].patient_id)
    father = session.get(Patient, users["family"].patient_id)
    assert child is not None and father is not None
    assert child.sex == Sex.FEMALE.value and business_date().year - child.birth_date.year < 14
    assert father.sex == Sex.MALE.value
    relation = session.scalar(
        select(FamilyRelation).where(
            FamilyRelation.patient_id == child.id, FamilyRelation.relative_id == father.id
        )
    )
    assert relation is not None and relation.relation_type == RelationType.PARENT.value
