"""The bed office's suggestions: order and reasons of each rule, assign / release by conditional
UPDATE, borrowed beds returned on discharge, bed states with history."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from tests.builders import actor_of, make_user
from tests.inpatient.helpers import Pool, admit_to, beds_of, deposit, fill, patient
from yilian.inpatient import service as svc
from yilian.inpatient.domain import AdmissionSource, BedState, Isolation, Severity
from yilian.inpatient.errors import BedNotSuitable, BedTaken, RequestAlreadyHandled
from yilian.inpatient.service import RoomSpec
from yilian.kit.auth.domain import Role
from yilian.registry.domain import Sex


def _request(session: Session, pool: Pool, **kw: object) -> svc.BedRequest:
    sex = kw.pop("sex", Sex.MALE)
    department = kw.pop("department", pool.cardiology)
    person = patient(session, pool, sex=sex)  # type: ignore[arg-type]
    return svc.request_bed(session, pool.doctor, patient_id=person.id, department_id=department.id, **kw)  # type: ignore[attr-defined,arg-type]


def test_own_specialty_first_then_related_then_nearby(session: Session, pool: Pool) -> None:
    request = _request(session, pool)
    ranking = svc.suggest(session, pool.bedmgr, request.id)
    first = ranking.suggestions[0]
    assert first.ward_id == pool.cardio_ward.id and not first.borrowed
    assert first.reasons[0] == "本专科病区（心内科一病区）"
    assert "男病房" in first.reasons
    # the female room of the own ward is held back for a man
    assert ranking.held_back["病房性别不符"] == 2
    wards = [s.ward_id for s in ranking.suggestions]
    assert wards.index(pool.resp_ward.id) < wards.index(pool.neuro_ward.id)

    fill(session, pool, pool.cardio_ward, pool.cardiology)
    ranking = svc.suggest(session, pool.bedmgr, request.id)
    first = ranking.suggestions[0]
    assert first.ward_id == pool.resp_ward.id and first.borrowed and first.relation == "related"
    assert "相关专科病区（呼吸科一病区）" in first.reasons[0] and "出院后归还" in first.reasons[0]
    nearby = [s for s in ranking.suggestions if s.ward_id == pool.neuro_ward.id]
    assert nearby and nearby[0].reasons[0].startswith("邻近病区（神经内科一病区）")
    # wards without a relation come last for a mild patient
    assert ranking.suggestions[-1].relation == "other"


def test_severe_patient_stays_in_specialty(session: Session, pool: Pool) -> None:
    fill(session, pool, pool.cardio_ward, pool.cardiology)
    request = _request(session, pool, severity=Severity.SEVERE)
    ranking = svc.suggest(session, pool.bedmgr, request.id)
    assert ranking.suggestions == ()
    assert ranking.held_back["重症患者须收治在本专科病区"] >= 5
    resp_bed = beds_of(session, pool.resp_ward)[0]
    with pytest.raises(BedNotSuitable, match="重症患者须收治在本专科病区"):
        svc.assign(session, pool.bedmgr, request.id, resp_bed.id)


def test_critical_patient_gets_the_monitored_bed_first(session: Session, pool: Pool) -> None:
    request = _request(session, pool, severity=Severity.CRITICAL)
    first = svc.suggest(session, pool.bedmgr, request.id).suggestions[0]
    assert "监护床位，适合危重患者" in first.reasons


def test_emergency_reserve_is_held_back_for_emergencies(session: Session, pool: Pool) -> None:
    planned = _request(session, pool, department=pool.emergency)
    ranking = svc.suggest(session, pool.bedmgr, planned.id)
    own = [s for s in ranking.suggestions if s.ward_id == pool.er_ward.id]
    assert len(own) == 2  # 4 beds, 2 reserved
    assert ranking.held_back["应急预留床位，仅用于急诊收治"] == 2
    reserved = [b for b in beds_of(session, pool.er_ward) if b.emergency_reserved]
    with pytest.raises(BedNotSuitable, match="应急预留床位"):
        svc.assign(session, pool.bedmgr, planned.id, reserved[0].id)

    urgent = _request(session, pool, department=pool.emergency, source=AdmissionSource.EMERGENCY)
    ranking = svc.suggest(session, pool.bedmgr, urgent.id)
    own = [s for s in ranking.suggestions if s.ward_id == pool.er_ward.id]
    assert len(own) == 4
    assert any("启用应急预留床位" in r for s in own for r in s.reasons)
    # ordinary beds are still given before the reserve
    assert not own[0].reasons[-1].startswith("急诊收治")


def test_infection_separation(session: Session, pool: Pool) -> None:
    airborne = _request(session, pool, department=pool.infection, isolation=Isolation.AIRBORNE)
    ranking = svc.suggest(session, pool.bedmgr, airborne.id)
    assert [s.room_code for s in ranking.suggestions] == ["201"]
    assert "空气隔离：负压病房" in ranking.suggestions[0].reasons

    iso_beds = [b for b in beds_of(session, pool.iso_ward) if b.code in ("02", "03")]
    admit_to(session, pool, iso_beds[0], pool.infection, isolation=Isolation.CONTACT)
    plain = _request(session, pool, department=pool.infection)
    ranking = svc.suggest(session, pool.bedmgr, plain.id)
    assert iso_beds[1].id not in [s.bed_id for s in ranking.suggestions]
    assert ranking.held_back["感染隔离：同室已有需隔离的患者"] == 1
    assert ranking.held_back["负压病房留给空气隔离患者"] == 1
    with pytest.raises(BedNotSuitable, match="感染隔离"):
        svc.assign(session, pool.bedmgr, plain.id, iso_beds[1].id)
    contact = _request(session, pool, department=pool.infection, isolation=Isolation.CONTACT)
    assert iso_beds[1].id in [s.bed_id for s in svc.suggest(session, pool.bedmgr, contact.id).suggestions]


def test_sex_of_the_room_follows_its_occupants(session: Session, pool: Pool) -> None:
    bed_a, bed_b = beds_of(session, pool.resp_ward)[:2]  # room 601, no fixed sex
    admit_to(session, pool, bed_a, pool.respiratory, sex=Sex.FEMALE)
    man = _request(session, pool, department=pool.respiratory)
    ranking = svc.suggest(session, pool.bedmgr, man.id)
    assert bed_b.id not in [s.bed_id for s in ranking.suggestions]
    assert ranking.held_back["病房性别不符"] >= 1
    woman = _request(session, pool, department=pool.respiratory, sex=Sex.FEMALE)
    top = svc.suggest(session, pool.bedmgr, woman.id).suggestions
    assert bed_b.id in [s.bed_id for s in top]
    assert any("女病房" in r for s in top if s.bed_id == bed_b.id for r in s.reasons)


def test_assign_release_and_history(session: Session, pool: Pool) -> None:
    request = _request(session, pool)
    other = _request(session, pool)
    bed = svc.suggest(session, pool.bedmgr, request.id).suggestions[0]
    svc.assign(session, pool.bedmgr, request.id, bed.bed_id)
    assert svc.get_bed(session, bed.bed_id).state == "reserved"
    with pytest.raises(BedTaken):
        svc.assign(session, pool.bedmgr, other.id, bed.bed_id)
    with pytest.raises(RequestAlreadyHandled):
        svc.assign(session, pool.bedmgr, request.id, bed.bed_id)
    # the reserved bed is not suggested again
    assert bed.bed_id not in [s.bed_id for s in svc.suggest(session, pool.bedmgr, other.id).suggestions]
    svc.release(session, pool.bedmgr, request.id, "患者改期")
    assert svc.get_bed(session, bed.bed_id).state == "free"
    assert svc.find_request(session, request.id).status == "waiting"
    svc.set_bed_state(session, pool.bedmgr, bed.bed_id, BedState.CLOSED, "维修")
    with pytest.raises(BedTaken):
        svc.assign(session, pool.bedmgr, request.id, bed.bed_id)
    history = [(e.from_state, e.to_state) for e in svc.repo.bed_history(session, bed.bed_id)]
    assert history == [("free", "reserved"), ("reserved", "free"), ("free", "closed")]


def test_borrowed_bed_returns_to_its_owner_on_discharge(session: Session, pool: Pool) -> None:
    fill(session, pool, pool.cardio_ward, pool.cardiology)
    request = _request(session, pool)
    first = svc.suggest(session, pool.bedmgr, request.id).suggestions[0]
    svc.assign(session, pool.bedmgr, request.id, first.bed_id)
    bed = svc.get_bed(session, first.bed_id)
    assert bed.using_department_id == pool.cardiology.id and bed.owner_department_id == pool.respiratory.id
    admission = svc.admit(
        session,
        pool.nurse,
        patient_id=request.patient_id,
        department_id=pool.cardiology.id,
        bed_id=first.bed_id,
        request_id=request.id,
        deposit=deposit(),
    )
    assert admission.borrowed and svc.find_request(session, request.id).status == "admitted"
    assert svc.get_bed(session, first.bed_id).state == "occupied"
    svc.discharge(session, pool.nurse, admission.id, disposition=1)
    bed = svc.get_bed(session, first.bed_id)
    assert bed.state == "cleaning" and bed.using_department_id == pool.respiratory.id
    assert bed.admission_id is None and bed.occupant_sex == ""


def test_reference_cache_follows_every_change(session: Session, pool: Pool) -> None:
    """The wards, rooms and relation table are cached by the institution's stamp: a relation changed,
    a ward added, or a change rolled back is seen by the very next suggestion."""
    fill(session, pool, pool.cardio_ward, pool.cardiology)
    request = _request(session, pool)

    def order() -> list[int]:
        seen: list[int] = []
        for s in svc.suggest(session, pool.bedmgr, request.id, limit=20).suggestions:
            if s.ward_id not in seen:
                seen.append(s.ward_id)
        return seen

    assert order()[:2] == [pool.resp_ward.id, pool.neuro_ward.id]
    admin = actor_of(make_user(session, role=Role.ADMIN, institution=pool.hospital))
    svc.set_relation(
        session, admin, department_id=pool.cardiology.id, ward_id=pool.neuro_ward.id, kind="related", rank=1
    )
    svc.set_relation(
        session, admin, department_id=pool.cardiology.id, ward_id=pool.resp_ward.id, kind="nearby", rank=2
    )
    assert order()[:2] == [pool.neuro_ward.id, pool.resp_ward.id]

    def new_ward(code: str) -> svc.Ward:
        return svc.create_ward(
            session,
            admin,
            institution_id=pool.hospital.id,
            department_id=pool.cardiology.id,
            code=code,
            name=f"心内科{code}病区",
            floor=7,
            rooms=[RoomSpec("701", 2)],
        )

    savepoint = session.begin_nested()
    dropped = new_ward("W-XN2")
    assert order()[0] == dropped.id  # own specialty again, seen at once
    savepoint.rollback()
    assert dropped.id not in order()  # the rolled-back ward is not served from the cache
    kept = new_ward("W-XN3")
    first = svc.suggest(session, pool.bedmgr, request.id).suggestions[0]
    assert first.ward_id == kept.id and first.reasons[0] == "本专科病区（心内科W-XN3病区）"
