"""HTTP API: schedule, book with idempotency key, confirm, check-in, call, problem+json on full slot."""

from __future__ import annotations

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
from yilian.kit import clock
from yilian.kit.auth.domain import Role
from yilian.scheduling import service
from yilian.scheduling.schemas import BookingRead


def test_booking_flow_over_http(
    client: TestClient, session: Session, frozen_clock: clock.FrozenClock
) -> None:
    inst = make_institution(session, level=3)
    dept = make_department(session, institution=inst)
    doc = make_practitioner(session, institution=inst, department=dept)
    pat = make_patient(session)
    other = make_patient(session, name="李四")
    admin = bearer(client, make_user(session, role=Role.ADMIN, institution=inst))
    me = bearer(client, make_user(session, role=Role.PATIENT, patient=pat))
    desk_user = make_user(session, role=Role.REGISTRAR, institution=inst)
    desk = bearer(client, desk_user)
    doctor = bearer(client, make_user(session, role=Role.DOCTOR, institution=inst, practitioner=doc))

    r = client.post(
        "/api/v1/scheduling/schedules",
        json={
            "department_id": dept.id,
            "day": "2026-05-07",
            "period": "pm",
            "practitioner_id": doc.id,
            "slice_capacity": 1,
        },
        headers=admin,
    )
    assert r.status_code == 201, r.text
    sid = r.json()["id"]
    slot_id = client.get(f"/api/v1/scheduling/schedules/{sid}", headers=me).json()["slots"][0]["id"]

    body = {"slot_id": slot_id, "patient_id": pat.id}
    r1 = client.post("/api/v1/scheduling/bookings", json=body, headers={**me, "Idempotency-Key": "abc"})
    r2 = client.post("/api/v1/scheduling/bookings", json=body, headers={**me, "Idempotency-Key": "abc"})
    assert r1.status_code == 201 and r2.json()["id"] == r1.json()["id"]
    bid = r1.json()["id"]

    full = client.post(
        "/api/v1/scheduling/bookings",
        json={"slot_id": slot_id, "patient_id": other.id, "channel": "desk"},
        headers=desk,
    )
    assert full.status_code == 409 and full.json()["title"] == "号源已满"
    assert full.headers["content-type"].startswith("application/problem+json")

    foreign = client.post(
        "/api/v1/scheduling/bookings", json={"slot_id": slot_id, "patient_id": other.id}, headers=me
    )
    assert foreign.status_code == 403

    c = client.post(
        f"/api/v1/scheduling/bookings/{bid}/confirm", json={"payment_method": "phone"}, headers=me
    )
    assert c.json()["payment_state"] == "paid" and c.json()["fee_fen"] == 1000
    q = client.post(f"/api/v1/scheduling/bookings/{bid}/check-in", json={}, headers=desk)
    assert q.status_code == 200 and q.json()["ticket_no"] == 1
    again = client.post(f"/api/v1/scheduling/bookings/{bid}/check-in", json={}, headers=me)  # self check-in
    assert again.status_code == 200 and again.json()["id"] == q.json()["id"]  # the same place, once
    place = client.get(f"/api/v1/scheduling/bookings/{bid}/queue-place", headers=me).json()
    assert (place["ticket_no"], place["ahead"], place["calling"]) == (1, 0, False)
    mine = client.get(f"/api/v1/scheduling/patients/{pat.id}/bookings", headers=me)
    assert mine.status_code == 200 and [b["id"] for b in mine.json()] == [bid]
    at_desk = client.get(f"/api/v1/scheduling/patients/{pat.id}/bookings", headers=desk)
    views = service.patient_bookings(session, actor_of(desk_user), pat.id)
    # the plain rows say what the pydantic schema said of the ORM bookings
    assert (
        mine.json()
        == at_desk.json()
        == [BookingRead.model_validate(v.booking).model_dump(mode="json") for v in views]
    )
    stranger = bearer(
        client, make_user(session, role=Role.PATIENT, patient=make_patient(session, name="郑十"))
    )
    assert client.get(f"/api/v1/scheduling/patients/{pat.id}/bookings", headers=stranger).status_code == 403
    kiosk = bearer(client, make_user(session, role=Role.KIOSK, institution=inst))
    found = client.post("/api/v1/scheduling/kiosk/lookup", json={"id_number": pat.id_number}, headers=kiosk)
    assert found.status_code == 200 and [(k["booking_id"], k["ticket_no"]) for k in found.json()] == [
        (bid, 1)
    ]
    assert (
        client.post(
            "/api/v1/scheduling/kiosk/lookup", json={"id_number": pat.id_number}, headers=me
        ).status_code
        == 403
    )
    called = client.post(f"/api/v1/scheduling/schedules/{sid}/call-next", headers=doctor)
    assert called.json()["status"] == "called" and called.json()["patient_id"] == pat.id
    place = client.get(f"/api/v1/scheduling/bookings/{bid}/queue-place", headers=me).json()
    assert place["calling"] is True
    empty = client.post(f"/api/v1/scheduling/schedules/{sid}/call-next", headers=doctor)
    assert empty.status_code == 409 and empty.json()["title"] == "当前无候诊患者"

    bad = client.patch(
        f"/api/v1/scheduling/policies/{inst.id}", json={"changes": {"hold_minutes": 0}}, headers=admin
    )
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_input"
    ok = client.patch(
        f"/api/v1/scheduling/policies/{inst.id}", json={"changes": {"release_time": "08:00"}}, headers=admin
    )
    assert ok.json()["release_time"] == "08:00"
