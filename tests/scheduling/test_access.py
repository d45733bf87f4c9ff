"""Scheduling routes are scoped: a patient reaches only their own bookings, staff only their own
institution's bookings, queues and schedules (with the right permission); a GET of a policy never writes."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.builders import (
    bearer,
    make_department,
    make_institution,
    make_patient,
    make_practitioner,
    make_user,
)
from yilian.kit import clock
from yilian.kit.access_log import AccessAudit
from yilian.kit.auth.domain import Role
from yilian.registry.domain import InstitutionCategory
from yilian.scheduling.models import Booking, QueueEntry, SchedulingPolicy

API = "/api/v1/scheduling"


def test_bookings_and_queues_of_another_institution_are_refused(
    client: TestClient, session: Session, frozen_clock: clock.FrozenClock
) -> None:
    hospital = make_institution(session, level=3)
    community = make_institution(session, category=InstitutionCategory.COMMUNITY_CENTRE, level=1)
    dept = make_department(session, institution=hospital)
    doc = make_practitioner(session, institution=hospital, department=dept)
    pat = make_patient(session)
    admin = bearer(client, make_user(session, role=Role.ADMIN))
    desk = bearer(client, make_user(session, role=Role.REGISTRAR, institution=hospital))
    doctor = bearer(client, make_user(session, role=Role.DOCTOR, institution=hospital, practitioner=doc))
    sched = client.post(
        f"{API}/schedules",
        json={"department_id": dept.id, "day": "2026-05-07", "period": "pm", "practitioner_id": doc.id},
        headers=admin,
    ).json()
    slot_id = client.get(f"{API}/schedules/{sched['id']}", headers=desk).json()["slots"][0]["id"]
    made = client.post(
        f"{API}/bookings", json={"slot_id": slot_id, "patient_id": pat.id, "channel": "desk"}, headers=desk
    )
    bid = made.json()["id"]
    paid = client.post(f"{API}/bookings/{bid}/confirm", json={"payment_method": "desk"}, headers=desk)
    assert paid.json()["payment_state"] == "paid"
    assert client.post(f"{API}/bookings/{bid}/check-in", json={}, headers=desk).status_code == 200

    outsiders = {
        "社区医生": make_user(session, role=Role.DOCTOR, institution=community),
        "外院挂号员": make_user(session, role=Role.REGISTRAR, institution=community),
        "本院保卫科": make_user(session, role=Role.SECURITY_OFFICER, institution=hospital),
        "本院药师": make_user(session, role=Role.PHARMACIST, institution=hospital),
        "其他患者": make_user(session, role=Role.PATIENT, patient=make_patient(session, name="李四")),
    }
    headers = {who: bearer(client, user) for who, user in outsiders.items()}
    audits = session.scalar(select(func.count()).select_from(AccessAudit))
    for who, h in headers.items():
        for method, path, body in (
            ("GET", f"{API}/bookings/{bid}", None),
            ("GET", f"{API}/bookings/{bid}/queue-place", None),
            ("POST", f"{API}/bookings/{bid}/cancel", {}),
            ("POST", f"{API}/bookings/{bid}/check-in", {}),
            ("GET", f"{API}/schedules/{sched['id']}/queue", None),
            ("POST", f"{API}/schedules/{sched['id']}/call-next", {}),
            ("POST", f"{API}/schedules/{sched['id']}/stop", {"reason": "x"}),
        ):
            r = client.request(method, path, json=body, headers=h)
            assert r.status_code == 403, (who, method, path, r.text)
            assert r.headers["content-type"].startswith("application/problem+json")
            assert r.json()["title"] == "没有权限"
    # nothing changed: still confirmed and paid, nobody called, no read was audited for the refusals
    b = session.get(Booking, bid)
    assert b is not None
    session.refresh(b)
    assert (b.status, b.payment_state) == ("confirmed", "paid")
    assert session.scalars(select(QueueEntry.status).where(QueueEntry.booking_id == bid)).all() == ["waiting"]
    assert session.scalar(select(func.count()).select_from(AccessAudit)) == audits

    indicators = f"{API}/indicators?institution_id={hospital.id}&start=2026-05-01&end=2026-05-07"
    for who in ("社区医生", "其他患者"):
        assert client.get(indicators, headers=headers[who]).status_code == 403
    assert client.get(indicators, headers=desk).json()["bookings"] == 1
    # the institution's own staff may: the doctor calls, the desk reads and cancels
    assert client.get(f"{API}/schedules/{sched['id']}/queue", headers=doctor).status_code == 200
    called = client.post(f"{API}/schedules/{sched['id']}/call-next", headers=doctor)
    assert called.status_code == 200 and called.json()["booking_id"] == bid
    assert client.get(f"{API}/bookings/{bid}", headers=desk).status_code == 200
    # a doctor reads the booking but may not cancel it (a desk's task)
    assert client.get(f"{API}/bookings/{bid}", headers=doctor).status_code == 200
    assert client.post(f"{API}/bookings/{bid}/cancel", headers=doctor).status_code == 403
    cancelled = client.post(f"{API}/bookings/{bid}/cancel", headers=desk)
    assert cancelled.status_code == 200 and cancelled.json()["payment_state"] == "refund_due"


def test_a_patient_reads_and_cancels_only_own_bookings(
    client: TestClient, session: Session, frozen_clock: clock.FrozenClock
) -> None:
    hospital = make_institution(session, level=3)
    dept = make_department(session, institution=hospital)
    pat = make_patient(session)
    me = bearer(client, make_user(session, role=Role.PATIENT, patient=pat))
    admin = bearer(client, make_user(session, role=Role.ADMIN))
    sched = client.post(
        f"{API}/schedules",
        json={"department_id": dept.id, "day": "2026-05-08", "period": "am"},
        headers=admin,
    ).json()
    slot_id = client.get(f"{API}/schedules/{sched['id']}", headers=me).json()["slots"][0]["id"]
    bid = client.post(f"{API}/bookings", json={"slot_id": slot_id, "patient_id": pat.id}, headers=me).json()[
        "id"
    ]
    assert client.get(f"{API}/bookings/{bid}", headers=me).status_code == 200
    family = bearer(client, make_user(session, role=Role.FAMILY, patient=make_patient(session, name="王五")))
    assert client.get(f"{API}/bookings/{bid}", headers=family).status_code == 403
    assert client.post(f"{API}/bookings/{bid}/cancel", headers=family).status_code == 403
    assert client.post(f"{API}/bookings/{bid}/cancel", headers=me).json()["status"] == "cancelled"


def test_reading_a_policy_never_writes(client: TestClient, session: Session) -> None:
    hospital = make_institution(session)
    reader = bearer(client, make_user(session, role=Role.REGISTRAR, institution=hospital))
    admin = bearer(client, make_user(session, role=Role.ADMIN))
    rows = select(func.count()).select_from(SchedulingPolicy)
    before = session.scalar(rows)
    got = client.get(f"{API}/policies/{hospital.id}", headers=reader)
    assert got.status_code == 200 and got.json()["release_days_ahead"] >= 1
    assert session.scalar(rows) == before
    missing = client.get(f"{API}/policies/{2**31 - 1}", headers=reader)
    assert missing.status_code == 404 and missing.json()["title"]
    huge = client.get(f"{API}/policies/{2**64}", headers=reader)
    assert huge.status_code == 422 and huge.json()["title"] == "请求数据格式错误"
    unknown = client.patch(
        f"{API}/policies/{2**31 - 1}", json={"changes": {"hold_minutes": 20}}, headers=admin
    )
    assert unknown.status_code == 404 and session.scalar(rows) == before
    saved = client.patch(
        f"{API}/policies/{hospital.id}", json={"changes": {"hold_minutes": 20}}, headers=admin
    )
    assert saved.status_code == 200 and saved.json()["hold_minutes"] == 20
    assert session.scalar(rows) == before + 1
