"""Small helpers of the inpatient tests, and the hospital with a bed pool they run in: cardiology
(心内科) with its own small ward, a related respiratory ward (呼吸科), a nearby neurology ward, an
emergency department with reserved beds, an isolation ward; the catalogue's bed, nursing and exam
items; outpatient and 住院 policies."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from sqlalchemy.orm import Session

from tests.billing.world import seed_policies
from tests.builders import (
    actor_of,
    make_department,
    make_institution,
    make_patient,
    make_practitioner,
    make_user,
)
from yilian.billing.domain import Channel
from yilian.catalog import service as catalog
from yilian.inpatient import service as svc
from yilian.inpatient.domain import AdmissionSource, Isolation, Severity
from yilian.inpatient.models import Admission, Bed, Ward
from yilian.inpatient.service import RoomSpec
from yilian.insurance import policy_service as insurance
from yilian.kit.auth.domain import Actor, Role
from yilian.registry.domain import Sex
from yilian.registry.models import Department, Institution, Patient

ITEMS = (
    "code,kind,name,spec,unit,price_yuan,insurance_class,self_pay_ratio\n"
    "110900001000000,treatment,床位费（普通病房）,,日,50.00,甲,\n"
    "120100003000000,treatment,二级护理,,日,26.00,甲,\n"
    "210300001000000,exam,胸部CT平扫,,次,240.00,乙,0.1\n"
    "250301001000000,lab,葡萄糖测定（血糖）,,项,5.00,甲,\n"
    "XA10BAM039A001010100001,drug,盐酸二甲双胍片,0.5g*48片,盒,12.80,乙,0.1\n"
    "340200009000000,treatment,医疗美容咨询,,次,300.00,丙,\n"
    "220302001000000,exam,产科超声检查,,次,120.00,乙,0.1\n"
    "XJ05ABA001A001010100001,drug,奥司他韦胶囊（儿童）,30mg*10粒,盒,58.00,乙,0.1\n"
)


def seed_inpatient_policies(session: Session, year: int = 2026) -> None:
    """住院 rows: deductible per admission, ratio, yearly cap (test values)."""
    insurance.set_policy_table(
        session,
        [
            ("employee", "tertiary", 90_000, 850, 40_000_000),
            ("employee", "secondary", 60_000, 900, 40_000_000),
            ("resident", "tertiary", 120_000, 700, 25_000_000),
            ("resident", "secondary", 80_000, 750, 25_000_000),
        ],
        region_code="320600",
        visit_type="inpatient",
        year=year,
    )


@dataclass
class Pool:
    hospital: Institution
    cardiology: Department
    respiratory: Department
    neurology: Department
    emergency: Department
    infection: Department
    cardio_ward: Ward
    resp_ward: Ward
    neuro_ward: Ward
    er_ward: Ward
    iso_ward: Ward
    bedmgr: Actor
    nurse: Actor
    doctor: Actor
    cashier: Actor
    coder: Actor


def beds_of(session: Session, ward: Ward) -> list[Bed]:
    return [b for b in svc.repo.beds_of_institution(session, ward.institution_id, ward.id)]


def make_pool(session: Session) -> Pool:
    """A hospital with the bed pool of the module docstring, its catalogue items, policies and staff."""
    catalog.import_items(session, ITEMS)
    seed_policies(session)
    seed_inpatient_policies(session)
    hospital = make_institution(session, name="南通市第一人民医院")
    cardiology = make_department(session, institution=hospital, name="心血管内科")
    respiratory = make_department(session, institution=hospital, name="呼吸内科")
    neurology = make_department(session, institution=hospital, name="神经内科")
    emergency = make_department(session, institution=hospital, name="急诊科")
    infection = make_department(session, institution=hospital, name="感染科")
    admin = actor_of(make_user(session, role=Role.ADMIN, institution=hospital))
    cardio_ward = svc.create_ward(
        session,
        admin,
        institution_id=hospital.id,
        department_id=cardiology.id,
        code="W-XN1",
        name="心内科一病区",
        floor=5,
        rooms=[RoomSpec("501", 2, sex="M"), RoomSpec("502", 2, sex="F"), RoomSpec("503", 1, monitored=True)],
    )
    resp_ward = svc.create_ward(
        session,
        admin,
        institution_id=hospital.id,
        department_id=respiratory.id,
        code="W-HX1",
        name="呼吸科一病区",
        floor=6,
        rooms=[RoomSpec("601", 2), RoomSpec("602", 2)],
    )
    neuro_ward = svc.create_ward(
        session,
        admin,
        institution_id=hospital.id,
        department_id=neurology.id,
        code="W-SN1",
        name="神经内科一病区",
        floor=5,
        rooms=[RoomSpec("511", 2)],
    )
    er_ward = svc.create_ward(
        session,
        admin,
        institution_id=hospital.id,
        department_id=emergency.id,
        code="W-JZ1",
        name="急诊病区",
        floor=1,
        rooms=[RoomSpec("101", 4)],
        emergency_reserved=2,
    )
    iso_ward = svc.create_ward(
        session,
        admin,
        institution_id=hospital.id,
        department_id=infection.id,
        code="W-GR1",
        name="感染科病区",
        floor=2,
        rooms=[RoomSpec("201", 1, kind="negative_pressure"), RoomSpec("202", 2, kind="isolation")],
    )
    svc.set_relation(
        session, admin, department_id=cardiology.id, ward_id=resp_ward.id, kind="related", rank=1
    )
    svc.set_relation(
        session, admin, department_id=cardiology.id, ward_id=neuro_ward.id, kind="nearby", rank=2
    )
    practitioner = make_practitioner(session, institution=hospital, department=cardiology, name="王医生")
    return Pool(
        hospital=hospital,
        cardiology=cardiology,
        respiratory=respiratory,
        neurology=neurology,
        emergency=emergency,
        infection=infection,
        cardio_ward=cardio_ward,
        resp_ward=resp_ward,
        neuro_ward=neuro_ward,
        er_ward=er_ward,
        iso_ward=iso_ward,
        bedmgr=actor_of(make_user(session, role=Role.BED_MANAGER, institution=hospital)),
        nurse=actor_of(make_user(session, role=Role.NURSE, institution=hospital)),
        doctor=actor_of(
            make_user(session, role=Role.DOCTOR, institution=hospital, practitioner=practitioner)
        ),
        cashier=actor_of(make_user(session, role=Role.CASHIER, institution=hospital)),
        coder=actor_of(make_user(session, role=Role.INSURANCE_OFFICER, institution=hospital)),
    )


_keys = itertools.count(1)


def deposit(amount: int = 300_000) -> svc.DepositIn:
    return svc.DepositIn(amount=amount, channel=Channel.WECHAT, idempotency_key=f"dep-{next(_keys)}")


def patient(session: Session, pool: Pool, *, name: str = "张三", sex: Sex = Sex.MALE) -> Patient:
    return make_patient(session, name=name, sex=sex, institution=pool.hospital)


def admit_to(
    session: Session,
    pool: Pool,
    bed: Bed,
    department: Department,
    *,
    sex: Sex = Sex.MALE,
    isolation: Isolation = Isolation.NONE,
    severity: Severity = Severity.MILD,
    source: AdmissionSource = AdmissionSource.CLINIC,
    who: Patient | None = None,
) -> Admission:
    person = who or patient(session, pool, sex=sex)
    return svc.admit(
        session,
        pool.nurse,
        patient_id=person.id,
        department_id=department.id,
        bed_id=bed.id,
        source=source,
        isolation=isolation,
        severity=severity,
        deposit=deposit(),
    )


def fill(session: Session, pool: Pool, ward: Ward, department: Department) -> None:
    """Occupy every free bed of a ward with patients of the room's sex."""
    for bed in beds_of(session, ward):
        if bed.state != "free" or bed.emergency_reserved:
            continue
        room = session.get(svc.Room, bed.room_id)
        assert room is not None
        admit_to(session, pool, bed, department, sex=Sex.FEMALE if room.sex == "F" else Sex.MALE)
