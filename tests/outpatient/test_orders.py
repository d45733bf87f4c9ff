"""Outpatient encounters, ICD-10 diagnoses and the order lifecycle."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.builders import (
    actor_of,
    bearer,
    make_department,
    make_institution,
    make_patient,
    make_practitioner,
    make_user,
)
from yilian.catalog import service as catalog
from yilian.catalog.errors import DiagnosisNotFound
from yilian.kit.auth.domain import Actor, Role
from yilian.kit.errors import Forbidden
from yilian.outpatient import service
from yilian.outpatient.domain import OrderStatus, check_transition
from yilian.outpatient.errors import IllegalTransition, InvalidOrder
from yilian.outpatient.schemas import EncounterCreate

ITEMS = (
    "code,kind,name,spec,unit,price_yuan,insurance_class,self_pay_ratio\n"
    "250301001000000,lab,葡萄糖测定（血糖）,,项,5.00,甲,\n"
    "XA10BAM039A001010100001,drug,盐酸二甲双胍片,0.5g*48片,盒,12.80,乙,0.1\n"
    "110200001000000,consultation,普通门诊诊察费,,次,10.00,甲,\n"
)


def _setup(session: Session) -> tuple[Actor, Actor, int, int]:
    catalog.import_items(session, ITEMS)
    catalog.import_diagnoses(session, "code,name\nE11.900,2型糖尿病不伴有并发症\nI10.x00,高血压\n")
    hospital = make_institution(session)
    dept = make_department(session, institution=hospital)
    doc = make_practitioner(session, institution=hospital, department=dept)
    doctor = actor_of(make_user(session, role=Role.DOCTOR, institution=hospital, practitioner=doc))
    nurse = actor_of(make_user(session, role=Role.NURSE, institution=hospital))
    patient = make_patient(session, institution=hospital)
    return doctor, nurse, dept.id, patient.id


def test_lifecycle_rules() -> None:
    check_transition(OrderStatus.PLACED, OrderStatus.CHARGED)
    check_transition(OrderStatus.CHARGED, OrderStatus.CANCELLED)
    for current, target in [
        (OrderStatus.PERFORMED, OrderStatus.CANCELLED),
        (OrderStatus.PLACED, OrderStatus.PERFORMED),
        (OrderStatus.CANCELLED, OrderStatus.CHARGED),
        (OrderStatus.COMPLETED, OrderStatus.PLACED),
    ]:
        with pytest.raises(IllegalTransition):
            check_transition(current, target)


def test_encounter_diagnosis_and_orders(session: Session) -> None:
    doctor, nurse, dept_id, patient_id = _setup(session)
    encounter = service.open_encounter(
        session, doctor, EncounterCreate(patient_id=patient_id, department_id=dept_id)
    )
    first = service.add_diagnosis(session, doctor, encounter.id, "E11.900")
    second = service.add_diagnosis(session, doctor, encounter.id, "I10.x00")
    assert first.is_primary and not second.is_primary and first.name.startswith("2型糖尿病")
    with pytest.raises(DiagnosisNotFound):
        service.add_diagnosis(session, doctor, encounter.id, "Z99.900")

    drug = service.place_order(session, doctor, encounter.id, "XA10BAM039A001010100001", 2)
    assert (drug.amount, drug.insurance_class, drug.self_pay_permille) == (2560, "乙", 100)
    with pytest.raises(InvalidOrder):
        service.place_order(
            session, doctor, encounter.id, "110200001000000"
        )  # a consultation fee is not an order

    lab = service.place_order(session, doctor, encounter.id, "250301001000000")
    service.mark_charged(session, lab.id)
    service.perform(session, nurse, lab.id)
    with pytest.raises(IllegalTransition):
        service.cancel(session, doctor, lab.id, "患者拒绝")
    service.mark_charged(session, drug.id)
    cancelled, refund_due = service.cancel(session, doctor, drug.id, "患者自备药品")
    assert cancelled.status == "cancelled" and refund_due is True
    read = service.encounter_read(session, encounter)
    assert [o.status for o in read.orders] == [OrderStatus.CANCELLED, OrderStatus.PERFORMED]


def test_other_institution_cannot_write(session: Session) -> None:
    doctor, _nurse, dept_id, patient_id = _setup(session)
    encounter = service.open_encounter(
        session, doctor, EncounterCreate(patient_id=patient_id, department_id=dept_id)
    )
    elsewhere = make_institution(session)
    stranger = actor_of(make_user(session, role=Role.DOCTOR, institution=elsewhere))
    with pytest.raises(Forbidden):
        service.place_order(session, stranger, encounter.id, "250301001000000")


def test_api_flow(client: TestClient, session: Session) -> None:
    doctor, _nurse, dept_id, patient_id = _setup(session)
    from yilian.registry import service as registry

    hospital = registry.get_institution(session, registry.get_department(session, dept_id).institution_id)
    user_headers = bearer(client, make_user(session, role=Role.DOCTOR, institution=hospital))
    opened = client.post(
        "/api/v1/encounters", json={"patient_id": patient_id, "department_id": dept_id}, headers=user_headers
    )
    assert opened.status_code == 201, opened.text
    eid = opened.json()["id"]
    assert (
        client.post(
            f"/api/v1/encounters/{eid}/diagnoses", json={"code": "E11.9x"}, headers=user_headers
        ).json()["code"]
        == "invalid_diagnosis_code"
    )
    order = client.post(
        f"/api/v1/encounters/{eid}/orders", json={"item_code": "250301001000000"}, headers=user_headers
    )
    assert order.status_code == 201 and order.json()["amount"] == 500
    bad = client.post(
        f"/api/v1/encounters/{eid}/orders",
        json={"item_code": "250301001000000", "quantity": 0},
        headers=user_headers,
    )
    assert bad.status_code == 422
    assert len(client.get(f"/api/v1/encounters/{eid}", headers=user_headers).json()["orders"]) == 1
