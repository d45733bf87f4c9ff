"""Least privilege: the pharmacist, the bed manager and the security officer of the patient's own
hospital do not open the full patient record (API, FHIR, results, bills); the pharmacist and the bed
manager find patients of their institution in a masked list, the security officer not at all."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.builders import bearer, make_institution, make_patient, make_user
from yilian.kit.auth.domain import ROLE_PERMISSIONS, Permission, Role


def test_roles_without_the_full_record() -> None:
    for role in (Role.PHARMACIST, Role.BED_MANAGER, Role.SECURITY_OFFICER):
        assert Permission.PATIENT_READ not in ROLE_PERMISSIONS[role], role
    assert Permission.PATIENT_SEARCH not in ROLE_PERMISSIONS[Role.SECURITY_OFFICER]


def test_pharmacist_bed_manager_and_security_do_not_open_the_record(
    client: TestClient, session: Session
) -> None:
    hospital = make_institution(session)
    patient = make_patient(session, name="张三", institution=hospital)
    nurse = bearer(client, make_user(session, role=Role.NURSE, institution=hospital))
    assert (
        client.get(f"/api/v1/patients/{patient.id}", headers=nurse).json()["id_number"] == patient.id_number
    )
    for role in (Role.PHARMACIST, Role.BED_MANAGER, Role.SECURITY_OFFICER):
        h = bearer(client, make_user(session, role=role, institution=hospital))
        for path in (
            f"/api/v1/patients/{patient.id}",
            f"/fhir/Patient/{patient.mpi_id}",
            f"/api/v1/results/patients/{patient.id}",
            f"/api/v1/patients/{patient.id}/relations",
            f"/api/v1/patients/{patient.id}/consents",
            f"/api/v1/scheduling/patients/{patient.id}/bookings",
            f"/api/v1/billing/patients/{patient.id}/arrears",
        ):
            r = client.get(path, headers=h)
            assert r.status_code == 403, (role, path, r.text)
            assert patient.id_number not in r.text and patient.phone not in r.text
        found = client.get("/api/v1/patients", params={"q": "张三"}, headers=h)
        if role is Role.SECURITY_OFFICER:
            assert found.status_code == 403
            continue
        items = found.json()["items"]
        assert [p["id"] for p in items] == [patient.id], role  # found in a masked list, own hospital only
        assert patient.id_number not in found.text and patient.phone not in found.text
