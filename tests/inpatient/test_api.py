"""The inpatient API end to end over HTTP, and its refusals: each a problem+json with a Chinese title,
nothing stored."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.builders import bearer, make_user
from tests.inpatient.helpers import Pool, beds_of, patient
from yilian.billing.models import Payment
from yilian.inpatient.models import Admission, Bed, BedEvent, Deposit
from yilian.kit.auth.domain import Role

BASE = "/api/v1/inpatient"


def _headers(client: TestClient, session: Session, pool: Pool, role: Role) -> dict[str, str]:
    user = make_user(session, role=role, institution=pool.hospital)
    session.commit()
    return bearer(client, user)


def _counts(session: Session) -> tuple[int, ...]:
    return tuple(
        int(session.scalar(select(func.count()).select_from(t)) or 0)
        for t in (Admission, Deposit, Payment, BedEvent)
    )


def _problem(response: Any, status: int, title: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["title"] == title


def _admit(
    client: TestClient, headers: dict[str, str], pool: Pool, patient_id: int, bed_id: int, key: str
) -> Any:
    return client.post(
        f"{BASE}/admissions",
        headers=headers,
        json={
            "patient_id": patient_id,
            "department_id": pool.cardiology.id,
            "bed_id": bed_id,
            "deposit": {"amount": 300000, "channel": "wechat", "idempotency_key": key},
        },
    )


def test_bed_office_admission_transfer_discharge_over_http(
    client: TestClient, session: Session, pool: Pool
) -> None:
    person = patient(session, pool, name="王芳")
    session.commit()
    office = _headers(client, session, pool, Role.BED_MANAGER)
    nurse = _headers(client, session, pool, Role.NURSE)
    r = client.post(
        f"{BASE}/bed-requests",
        headers=nurse,
        json={"patient_id": person.id, "department_id": pool.cardiology.id, "severity": "mild"},
    )
    assert r.status_code == 201, r.text
    request_id = r.json()["id"]
    queue = client.get(f"{BASE}/bed-requests", headers=office, params={"institution_id": pool.hospital.id})
    assert [q["id"] for q in queue.json()] == [request_id]
    ranking = client.get(f"{BASE}/bed-requests/{request_id}/suggestions", headers=office).json()
    first = ranking["suggestions"][0]
    assert first["reasons"][0] == "本专科病区（心内科一病区）"
    r = client.post(
        f"{BASE}/bed-requests/{request_id}/assign", headers=office, json={"bed_id": first["bed_id"]}
    )
    assert r.status_code == 200 and r.json()["status"] == "assigned"
    r = client.post(
        f"{BASE}/admissions",
        headers=nurse,
        json={
            "patient_id": person.id,
            "department_id": pool.cardiology.id,
            "bed_id": first["bed_id"],
            "request_id": request_id,
            "deposit": {"amount": 300000, "channel": "wechat", "idempotency_key": "dep-http-1"},
        },
    )
    assert r.status_code == 201, r.text
    admission = r.json()
    bill = client.get(f"{BASE}/admissions/{admission['id']}/bill", headers=nurse).json()
    assert bill["deposit"] == 300000 and bill["total"] == 0
    free = next(b for b in beds_of(session, pool.cardio_ward) if b.state == "free" and b.code == "02")
    r = client.post(
        f"{BASE}/admissions/{admission['id']}/transfer", headers=nurse, json={"to_bed_id": free.id}
    )
    assert r.status_code == 200, r.text
    assert r.json()["bed_id"] == free.id
    history = client.get(f"{BASE}/beds/{first['bed_id']}/history", headers=nurse).json()
    assert [h["to_state"] for h in history] == ["reserved", "occupied", "cleaning"]
    r = client.post(f"{BASE}/admissions/{admission['id']}/discharge", headers=nurse, json={"disposition": 1})
    assert r.status_code == 200 and r.json()["status"] == "discharged"


def test_refusals_are_problems_and_store_nothing(client: TestClient, session: Session, pool: Pool) -> None:
    first, second = patient(session, pool, name="赵一"), patient(session, pool, name="钱二")
    session.commit()
    nurse = _headers(client, session, pool, Role.NURSE)
    bed_a, bed_b = [b.id for b in beds_of(session, pool.cardio_ward)[:2]]
    admitted = _admit(client, nurse, pool, first.id, bed_a, "dep-a").json()
    other = _admit(client, nurse, pool, second.id, bed_b, "dep-b").json()
    before = _counts(session)

    # unknown bed, unknown ward
    _problem(_admit(client, nurse, pool, first.id, 99_999_999, "dep-x"), 404, "床位不存在")
    _problem(client.get(f"{BASE}/wards/99999999/beds", headers=nurse), 404, "病区不存在")
    # a patient already in hospital
    spare = next(b.id for b in beds_of(session, pool.cardio_ward) if b.state == "free" and b.code == "05")
    _problem(_admit(client, nurse, pool, first.id, spare, "dep-y"), 409, "患者已在院，不能重复入院")
    # a transfer to an occupied bed
    r = client.post(f"{BASE}/admissions/{admitted['id']}/transfer", headers=nurse, json={"to_bed_id": bed_b})
    _problem(r, 409, "床位已被占用或已分配")
    # a deposit key used again with another amount
    r = client.post(
        f"{BASE}/admissions/{admitted['id']}/deposits",
        headers=nurse,
        json={"amount": 100, "channel": "wechat", "idempotency_key": "dep-a"},
    )
    _problem(r, 409, "幂等键已用于另一笔不同的请求")
    # the same key and amount again is the first deposit, not a second one
    r = client.post(
        f"{BASE}/admissions/{admitted['id']}/deposits",
        headers=nurse,
        json={"amount": 300000, "channel": "wechat", "idempotency_key": "dep-a"},
    )
    assert r.status_code == 201
    # a discharge dated before the admission, and discharging twice (not in hospital)
    r = client.post(
        f"{BASE}/admissions/{other['id']}/discharge",
        headers=nurse,
        json={"disposition": 1, "discharged_on": "2000-01-01"},
    )
    _problem(r, 400, "住院数据不合法")
    _problem(
        client.post(f"{BASE}/admissions/{other['id']}/discharge", headers=nurse, json={"disposition": 9}),
        400,
        "住院数据不合法",
    )
    assert _counts(session) == before
    assert (
        client.post(
            f"{BASE}/admissions/{other['id']}/discharge", headers=nurse, json={"disposition": 1}
        ).status_code
        == 200
    )
    r = client.post(f"{BASE}/admissions/{other['id']}/discharge", headers=nurse, json={"disposition": 1})
    _problem(r, 409, "患者未入院或已出院")
    _problem(
        client.post(f"{BASE}/admissions/99999999/discharge", headers=nurse, json={"disposition": 1}),
        404,
        "住院记录不存在",
    )
    assert session.get(Bed, bed_b) is not None
    # the bed office's pages are not the nurse's
    _problem(
        client.get(f"{BASE}/bed-requests", headers=nurse, params={"institution_id": pool.hospital.id}),
        403,
        "没有权限",
    )


def test_inpatient_order_pre_check_over_http(client: TestClient, session: Session, pool: Pool) -> None:
    person = patient(session, pool, name="孙三")
    session.commit()
    nurse = _headers(client, session, pool, Role.NURSE)
    doctor = _headers(client, session, pool, Role.DOCTOR)
    bed = beds_of(session, pool.cardio_ward)[0].id
    admission = _admit(client, nurse, pool, person.id, bed, "dep-pc").json()
    orders = f"{BASE}/admissions/{admission['id']}/orders"
    check = client.post(f"{orders}/precheck", headers=doctor, json={"item_code": "220302001000000"}).json()
    assert [(f["rule_id"], f["severity_label"]) for f in check] == [("CAT-SEX-002", "明确违规")]
    r = client.post(orders, headers=doctor, json={"item_code": "220302001000000"})
    _problem(r, 409, "医保事前审核不通过，医嘱未开立")
    assert "产科超声检查限女性" in r.json()["detail"]
    bill = client.get(f"{BASE}/admissions/{admission['id']}/bill", headers=nurse).json()
    assert bill["lines"] == []
    r = client.post(orders, headers=doctor, json={"item_code": "XJ05ABA001A001010100001"})
    assert r.status_code == 201, r.text
    assert [w["rule_id"] for w in r.json()["warnings"]] == ["CAT-AGE-001"]


def test_fhir_encounter_and_locations(client: TestClient, session: Session, pool: Pool) -> None:
    from fhir.resources.R4B.encounter import Encounter
    from fhir.resources.R4B.location import Location

    person = patient(session, pool, name="孙丽")
    session.commit()
    nurse = _headers(client, session, pool, Role.NURSE)
    bed = beds_of(session, pool.cardio_ward)[0]
    admission = _admit(client, nurse, pool, person.id, bed.id, "dep-fhir").json()
    r = client.get(f"/fhir/Encounter/ip-{admission['id']}", headers=nurse)
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/fhir+json")
    encounter = Encounter.model_validate(r.json())
    assert encounter.class_fhir.code == "IMP" and encounter.status == "in-progress"  # type: ignore[union-attr]
    assert r.json()["location"][1]["location"]["reference"] == f"Location/bed-{bed.id}"
    client.post(f"{BASE}/admissions/{admission['id']}/discharge", headers=nurse, json={"disposition": 2})
    done = client.get(f"/fhir/Encounter/ip-{admission['id']}", headers=nurse).json()
    assert (
        done["status"] == "finished"
        and done["hospitalization"]["dischargeDisposition"]["coding"][0]["code"] == "2"
    )
    location = Location.model_validate(client.get(f"/fhir/Location/bed-{bed.id}", headers=nurse).json())
    assert location.partOf.reference == f"Location/ward-{pool.cardio_ward.id}"  # type: ignore[union-attr]
    assert location.operationalStatus.code == "H"  # type: ignore[union-attr]  # 待清洁 after discharge
    ward = client.get(f"/fhir/Location/ward-{pool.cardio_ward.id}", headers=nurse).json()
    assert ward["name"] == "心内科一病区"
    missing = client.get("/fhir/Encounter/ip-99999999", headers=nurse)
    assert missing.status_code == 404 and missing.json()["resourceType"] == "OperationOutcome"
