"""FHIR R4 views of the registry: Patient read and search (access-checked and audited), Organization."""

from __future__ import annotations

from fastapi.testclient import TestClient
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.organization import Organization
from fhir.resources.R4B.patient import Patient as FhirPatient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.builders import bearer, make_institution, make_patient, make_user
from yilian.kit.access_log import AccessAudit
from yilian.kit.auth.domain import Role
from yilian.registry.fhir import RESIDENT_ID_SYSTEM


def test_patient_read_and_search(client: TestClient, session: Session) -> None:
    hospital = make_institution(session, name="南通测试医院")
    patient = make_patient(session, name="欧阳明月", institution=hospital)
    headers = bearer(client, make_user(session, role=Role.DOCTOR, institution=hospital))

    response = client.get(f"/fhir/Patient/{patient.mpi_id}", headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/fhir+json")
    resource = FhirPatient.model_validate(response.json())
    assert resource.name[0].family == "欧阳" and resource.name[0].given == ["明月"]
    assert resource.gender == "male" and str(resource.birthDate) == "1980-05-17"
    assert {i.system: i.value for i in resource.identifier}[RESIDENT_ID_SYSTEM] == patient.id_number
    audit = session.scalars(select(AccessAudit).order_by(AccessAudit.id.desc())).first()
    assert audit is not None and audit.patient_id == patient.id and audit.reason == "FHIR Patient read"

    found = client.get(
        "/fhir/Patient", params={"identifier": f"{RESIDENT_ID_SYSTEM}|{patient.id_number}"}, headers=headers
    )
    bundle = Bundle.model_validate(found.json())
    assert bundle.total == 1 and bundle.entry[0].resource.id == patient.mpi_id

    org = Organization.model_validate(client.get(f"/fhir/Organization/{hospital.id}", headers=headers).json())
    assert org.name == "南通测试医院"


def test_out_of_scope_and_unknown_give_operation_outcome(client: TestClient, session: Session) -> None:
    a, b = make_institution(session), make_institution(session)
    other = make_patient(session, institution=b)
    headers = bearer(client, make_user(session, role=Role.NURSE, institution=a))
    denied = client.get(f"/fhir/Patient/{other.mpi_id}", headers=headers)
    assert denied.status_code == 403
    assert denied.json()["resourceType"] == "OperationOutcome"
    assert denied.json()["issue"][0]["code"] == "forbidden"
    missing = client.get("/fhir/Patient/YL9999999999", headers=headers)
    assert missing.status_code == 404 and missing.json()["issue"][0]["diagnostics"] == "patient_not_found"


def test_patient_resource_is_what_fhir_resources_validates(session: Session) -> None:
    """The Patient is built as a plain dict on the read path (no pydantic model); it must be exactly what
    fhir.resources gives back after validating it — with and without phone, address, home institution,
    a compound family name, a family name alone, deceased."""
    from yilian.registry.fhir import patient_resource, validated_patient

    hospital = make_institution(session)
    plain = make_patient(session, name="欧阳明月", institution=hospital)
    bare = make_patient(session, name="王五")
    bare.name, bare.phone, bare.address, bare.is_deceased = "王", "", "江苏省南通市崇川区", True
    session.flush()
    for patient in (plain, bare):
        body = patient_resource(patient)
        assert body == validated_patient(body)
    assert "telecom" not in patient_resource(bare) and "managingOrganization" not in patient_resource(bare)
    assert patient_resource(bare)["active"] is False and patient_resource(bare)["address"] == [
        {"text": "江苏省南通市崇川区"}
    ]
