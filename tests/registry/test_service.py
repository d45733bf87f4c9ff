"""Registry use cases on the database: master patient index, scope, family relations and consents."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.builders import actor_of, make_institution, make_patient, make_user
from yilian.kit.access_log import AccessAudit
from yilian.kit.auth.domain import Actor, Role
from yilian.kit.clock import utcnow
from yilian.kit.errors import Forbidden
from yilian.registry import service
from yilian.registry.domain import ConsentScope, InsuranceScheme, RelationType, Sex
from yilian.registry.errors import DuplicateRelation, InvalidConsent, InvalidRelation, PatientOutOfScope
from yilian.registry.schemas import ConsentCreate, RelationCreate

SYSTEM = Actor.system("test")


def test_search_covers_initials_full_pinyin_id_and_phone(session: Session) -> None:
    hospital = make_institution(session)
    p = make_patient(session, name="欧阳娜娜", institution=hospital, phone="13900001111", sex=Sex.FEMALE)
    registrar = actor_of(make_user(session, role=Role.REGISTRAR, institution=hospital))
    for q in ("oynn", "ouyang", "欧阳", p.id_number, "13900001111", p.mpi_id):
        rows, total = service.search_patients(session, registrar, q=q)
        assert p.id in [r.id for r in rows], q
    rows, _ = service.search_patients(session, registrar, q="zzzzq")
    assert p.id not in [r.id for r in rows]
    # the search is audited with identifiers masked
    last = session.scalars(select(AccessAudit).order_by(AccessAudit.id.desc())).first()
    assert last is not None and last.action == "search" and "13900001111" not in last.resource


def test_search_by_the_first_digits_of_an_id_number(session: Session) -> None:
    hospital = make_institution(session)
    p = make_patient(session, institution=hospital)
    other = make_patient(session, institution=hospital)
    registrar = actor_of(make_user(session, role=Role.REGISTRAR, institution=hospital))
    prefix = p.id_number[:14]
    rows, _ = service.search_patients(session, registrar, q=prefix)
    assert p.id in [r.id for r in rows]
    assert all(r.id_number.startswith(prefix) for r in rows)
    if not other.id_number.startswith(prefix):
        assert other.id not in [r.id for r in rows]
    rows, total = service.search_patients(session, registrar, q="99999999")
    assert (rows, total) == ([], 0)
    last = session.scalars(select(AccessAudit).order_by(AccessAudit.id.desc())).first()
    assert last is not None and "99999999" not in last.resource  # only the region part is logged


def test_institution_scope_and_access_grant(session: Session) -> None:
    a, b = make_institution(session), make_institution(session)
    patient = make_patient(session, institution=b)
    doctor = actor_of(make_user(session, role=Role.DOCTOR, institution=a))
    with pytest.raises(PatientOutOfScope):
        service.get_patient(session, doctor, patient.id)
    service.grant_institution_access(session, patient_id=patient.id, institution_id=a.id, reason="转诊")
    assert service.get_patient(session, doctor, patient.id).id == patient.id
    rows, _ = service.search_patients(session, doctor, q=patient.name_initials)
    assert patient.id in [r.id for r in rows]


def _family(session: Session) -> tuple[int, int, int]:
    hospital = make_institution(session)
    parent = make_patient(session, name="李建国", birth_date=date(1958, 3, 1), institution=hospital)
    child = make_patient(
        session, name="李小红", birth_date=date(1988, 6, 1), sex=Sex.FEMALE, institution=hospital
    )
    relation = service.add_relation(
        session, SYSTEM, child.id, RelationCreate(relative_id=parent.id, relation_type=RelationType.PARENT)
    )
    return parent.id, child.id, relation.id


def test_relations_are_checked_and_seen_from_both_sides(session: Session) -> None:
    parent_id, child_id, relation_id = _family(session)
    child_view = service.relation_reads(session, child_id)
    parent_view = service.relation_reads(session, parent_id)
    assert child_view[0].relation_type is RelationType.PARENT
    assert parent_view[0].relation_type is RelationType.CHILD
    with pytest.raises(DuplicateRelation):
        service.add_relation(
            session, SYSTEM, parent_id, RelationCreate(relative_id=child_id, relation_type=RelationType.CHILD)
        )
    with pytest.raises(InvalidRelation):
        service.add_relation(
            session,
            SYSTEM,
            parent_id,
            RelationCreate(relative_id=parent_id, relation_type=RelationType.SIBLING),
        )


def test_consent_needs_verified_relation_and_expires(session: Session, frozen_clock: object) -> None:
    parent_id, child_id, relation_id = _family(session)
    with pytest.raises(InvalidConsent):
        service.grant_consent(
            session,
            SYSTEM,
            ConsentCreate(relation_id=relation_id, grantor_id=child_id, scope=ConsentScope.COMPANION),
        )
    service.verify_relation(session, SYSTEM, relation_id)
    consent = service.grant_consent(
        session,
        SYSTEM,
        ConsentCreate(
            relation_id=relation_id,
            grantor_id=child_id,
            scope=ConsentScope.VIEW_RECORD,
            expires_at=utcnow() + timedelta(days=1),
        ),
    )
    assert consent.grantee_id == parent_id
    family_user = make_user(session, role=Role.FAMILY, patient=service.find_patient(session, parent_id))
    family = actor_of(family_user)
    assert service.get_patient(session, family, child_id).id == child_id
    frozen_clock.advance(timedelta(days=2))  # type: ignore[attr-defined]
    with pytest.raises(PatientOutOfScope):
        service.get_patient(session, family, child_id)


def test_revoked_consent_stops_at_once(session: Session) -> None:
    parent_id, child_id, relation_id = _family(session)
    service.verify_relation(session, SYSTEM, relation_id)
    consent = service.grant_consent(
        session,
        SYSTEM,
        ConsentCreate(relation_id=relation_id, grantor_id=child_id, scope=ConsentScope.COMPANION),
    )
    assert service.active_consent(
        session, grantor_id=child_id, grantee_id=parent_id, scope=ConsentScope.COMPANION
    )
    service.revoke_consent(session, SYSTEM, consent.id)
    assert (
        service.active_consent(
            session, grantor_id=child_id, grantee_id=parent_id, scope=ConsentScope.COMPANION
        )
        is None
    )


def test_mutual_aid_needs_employee_insurance_and_spouse_confirmation(session: Session) -> None:
    hospital = make_institution(session)
    husband = make_patient(session, name="王强", birth_date=date(1980, 1, 1), institution=hospital)
    wife = make_patient(
        session,
        name="赵丽",
        birth_date=date(1982, 1, 1),
        sex=Sex.FEMALE,
        institution=hospital,
        scheme=InsuranceScheme.RESIDENT,
    )
    relation = service.add_relation(
        session, SYSTEM, wife.id, RelationCreate(relative_id=husband.id, relation_type=RelationType.SPOUSE)
    )
    with pytest.raises(InvalidRelation):
        service.verify_relation(session, SYSTEM, relation.id)  # the spouse has not confirmed
    service.confirm_relation(session, SYSTEM, relation.id)
    service.verify_relation(session, SYSTEM, relation.id)
    # the husband (employee insurance) lets his wife use his personal account
    consent = service.grant_consent(
        session,
        SYSTEM,
        ConsentCreate(relation_id=relation.id, grantor_id=husband.id, scope=ConsentScope.MUTUAL_AID),
    )
    assert consent.grantee_id == wife.id
    # the wife is resident-insured: she has no employee account to share
    with pytest.raises(InvalidConsent):
        service.grant_consent(
            session,
            SYSTEM,
            ConsentCreate(relation_id=relation.id, grantor_id=wife.id, scope=ConsentScope.MUTUAL_AID),
        )


def test_patient_manages_only_own_family(session: Session) -> None:
    parent_id, child_id, relation_id = _family(session)
    stranger = make_patient(session, name="陈路人", institution=None)
    actor = actor_of(make_user(session, role=Role.PATIENT, patient=stranger))
    with pytest.raises(Forbidden):
        service.add_relation(
            session,
            actor,
            child_id,
            RelationCreate(relative_id=stranger.id, relation_type=RelationType.OTHER),
        )
