"""Registry over HTTP: search, create, read, bad input as problem+json with nothing stored."""

from __future__ import annotations

from datetime import date

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.builders import bearer, make_institution, make_patient, make_user
from yilian.kit.access_log import AccessAudit
from yilian.kit.auth.domain import Role
from yilian.kit.auth.models import AuthSession
from yilian.registry.domain import Sex, make_id_number
from yilian.registry.models import Patient


def _count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def _new_patient_body(**overrides: object) -> dict[str, object]:
    body: dict[str, object] = {
        "name": "王小明",
        "id_number": make_id_number("320602", date(1990, 3, 8), 17, Sex.MALE),
        "phone": "13912345678",
        "insurance_scheme": "employee",
        "insured_region": "320600",
    }
    body.update(overrides)
    return body


def test_registrar_creates_reads_and_searches_by_pinyin(client: TestClient, session: Session) -> None:
    hospital = make_institution(session)
    registrar = make_user(session, role=Role.REGISTRAR, institution=hospital)
    headers = bearer(client, registrar)

    created = client.post("/api/v1/patients", json=_new_patient_body(), headers=headers)
    assert created.status_code == 201, created.text
    patient = created.json()
    assert patient["sex"] == "1" and patient["birth_date"] == "1990-03-08"
    assert patient["mpi_id"].startswith("YL")
    assert patient["home_institution_id"] == hospital.id

    found = client.get("/api/v1/patients", params={"q": "wxm"}, headers=headers).json()
    assert [p["id"] for p in found["items"]] == [patient["id"]]
    assert (
        found["items"][0]["id_number_masked"]
        == patient["id_number"][:6] + "********" + patient["id_number"][-4:]
    )
    assert found["items"][0]["phone_masked"] == "139****5678"
    assert "id_number" not in found["items"][0]

    by_chars = client.get("/api/v1/patients", params={"q": "小明"}, headers=headers).json()
    assert by_chars["total"] == 1

    before = _count(session, AccessAudit)
    read = client.get(f"/api/v1/patients/{patient['id']}", headers=headers)
    assert read.status_code == 200
    row = session.scalars(select(AccessAudit).order_by(AccessAudit.id.desc())).first()
    assert _count(session, AccessAudit) == before + 1
    assert row is not None and row.patient_id == patient["id"] and row.action == "read"
    assert row.username == registrar.username


def _assert_problem(response: object, status: int, code: str) -> dict[str, object]:
    assert response.status_code == status, response.text  # type: ignore[attr-defined]
    assert response.headers["content-type"].startswith("application/problem+json")  # type: ignore[attr-defined]
    body = response.json()  # type: ignore[attr-defined]
    assert body["code"] == code and body["status"] == status
    assert body["title"] and any("\u4e00" <= ch <= "\u9fff" for ch in body["title"])
    return body  # type: ignore[no-any-return]


def test_bad_input_is_refused_and_stores_nothing(client: TestClient, session: Session) -> None:
    hospital = make_institution(session)
    headers = bearer(client, make_user(session, role=Role.REGISTRAR, institution=hospital))
    good_id = make_id_number("320602", date(1990, 3, 8), 17, Sex.MALE)
    bad_check = good_id[:-1] + ("0" if good_id[-1] != "0" else "1")
    patients_before = _count(session, Patient)

    _assert_problem(
        client.post("/api/v1/patients", json=_new_patient_body(id_number=bad_check), headers=headers),
        400,
        "invalid_id_number",
    )
    _assert_problem(
        client.post("/api/v1/patients", json=_new_patient_body(birth_date="1990-03-09"), headers=headers),
        400,
        "id_birth_date_mismatch",
    )
    _assert_problem(
        client.post("/api/v1/patients", json=_new_patient_body(sex="2"), headers=headers),
        400,
        "id_sex_mismatch",
    )
    _assert_problem(
        client.post("/api/v1/patients", json=_new_patient_body(phone="12345678901"), headers=headers),
        400,
        "invalid_phone",
    )
    _assert_problem(
        client.post("/api/v1/patients", json=_new_patient_body(home_institution_id=999999), headers=headers),
        400,
        "unknown_institution",
    )
    assert _count(session, Patient) == patients_before

    assert client.post("/api/v1/patients", json=_new_patient_body(), headers=headers).status_code == 201
    dup = _assert_problem(
        client.post("/api/v1/patients", json=_new_patient_body(name="王大明"), headers=headers),
        409,
        "duplicate_patient",
    )
    assert "已建档" in str(dup["detail"])
    assert _count(session, Patient) == patients_before + 1


def test_missing_permission_and_scope(client: TestClient, session: Session) -> None:
    a, b = make_institution(session), make_institution(session)
    doctor_a = make_user(session, role=Role.DOCTOR, institution=a)
    patient_b = make_patient(session, institution=b)
    headers = bearer(client, doctor_a)
    _assert_problem(
        client.post("/api/v1/patients", json=_new_patient_body(), headers=headers), 403, "forbidden"
    )
    _assert_problem(
        client.get(f"/api/v1/patients/{patient_b.id}", headers=headers), 403, "patient_out_of_scope"
    )
    assert client.get("/api/v1/patients", params={"q": "zs"}, headers=headers).json()["total"] == 0
    security = make_user(session, role=Role.SECURITY_OFFICER, institution=a)
    _assert_problem(client.get("/api/v1/audit/access", headers=bearer(client, security)), 403, "forbidden")


def test_wrong_password_and_expired_token(client: TestClient, session: Session, frozen_clock: object) -> None:
    from datetime import timedelta

    hospital = make_institution(session)
    user = make_user(session, role=Role.NURSE, institution=hospital)
    sessions_before = _count(session, AuthSession)
    _assert_problem(
        client.post("/api/v1/auth/token", json={"username": user.username, "password": "nope-Wrong1"}),
        401,
        "invalid_credentials",
    )
    assert _count(session, AuthSession) == sessions_before

    headers = bearer(client, user)
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 200
    frozen_clock.advance(timedelta(hours=13))  # type: ignore[attr-defined]
    _assert_problem(client.get("/api/v1/auth/me", headers=headers), 401, "token_expired")
    _assert_problem(client.get("/api/v1/patients"), 401, "unauthorized")
    _assert_problem(
        client.get("/api/v1/patients", headers={"Authorization": "Bearer forged"}), 401, "unauthorized"
    )


def test_login_attempts_are_rate_limited(client: TestClient, session: Session) -> None:
    hospital = make_institution(session)
    user = make_user(session, role=Role.CASHIER, institution=hospital)
    for _ in range(5):
        client.post("/api/v1/auth/token", json={"username": user.username, "password": "Wrong-pass1"})
    body = _assert_problem(
        client.post("/api/v1/auth/token", json={"username": user.username, "password": "Test@2026"}),
        429,
        "too_many_requests",
    )
    assert "分钟" in str(body["detail"])


def test_payload_shape_errors_are_422_problems(client: TestClient, session: Session) -> None:
    hospital = make_institution(session)
    headers = bearer(client, make_user(session, role=Role.REGISTRAR, institution=hospital))
    body = _assert_problem(
        client.post("/api/v1/patients", json={"name": "王"}, headers=headers), 422, "validation_error"
    )
    assert any(e["field"] == "id_number" for e in body["errors"])  # type: ignore[union-attr]
