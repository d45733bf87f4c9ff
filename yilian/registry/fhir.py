"""FHIR R4 views of the registry (Patient, Organization, Practitioner), validated with fhir.resources
(R4B models, wire-compatible with R4 for these resources)."""

from __future__ import annotations

from typing import Any

from fhir.resources.R4B.operationoutcome import OperationOutcome
from fhir.resources.R4B.organization import Organization
from fhir.resources.R4B.patient import Patient as FhirPatient
from fhir.resources.R4B.practitioner import Practitioner as FhirPractitioner

from yilian.kit.errors import YilianError
from yilian.registry.models import Institution, Patient, Practitioner
from yilian.registry.schemas import InstitutionRead

FHIR_JSON = "application/fhir+json"
RESIDENT_ID_SYSTEM = "https://yilian.dev/fhir/sid/cn-resident-id"
MPI_SYSTEM = "https://yilian.dev/fhir/sid/mpi"
INSTITUTION_SYSTEM = "https://yilian.dev/fhir/sid/institution-code"
PRACTITIONER_SYSTEM = "https://yilian.dev/fhir/sid/practitioner-code"
_GENDER = {"1": "male", "2": "female"}
_ISSUE = {400: "invalid", 401: "login", 403: "forbidden", 404: "not-found", 409: "conflict"}


def _split_name(name: str) -> dict[str, Any]:
    compound = (
        "欧阳",
        "司马",
        "诸葛",
        "上官",
        "东方",
        "皇甫",
        "尉迟",
        "公孙",
        "慕容",
        "长孙",
        "宇文",
        "司徒",
    )
    family = name[:2] if name[:2] in compound else name[:1]
    return {"text": name, "family": family, "given": [name[len(family) :]] if name[len(family) :] else []}


def patient_resource(p: Patient) -> dict[str, Any]:
    """Return a FHIR Patient of a master-index record, built as the plain dict fhir.resources gives back
    after validation (``validated_patient``; the test ``tests/registry/test_fhir.py`` checks they are equal)
    — no pydantic model on the read path (issue 16)."""
    name = {"use": "official", **_split_name(p.name)}
    if not name["given"]:
        del name["given"]
    body: dict[str, Any] = {
        "resourceType": "Patient",
        "id": p.mpi_id,
        "identifier": [
            {"use": "official", "system": RESIDENT_ID_SYSTEM, "value": p.id_number},
            {"use": "usual", "system": MPI_SYSTEM, "value": p.mpi_id},
        ],
        "active": not p.is_deceased,
        "name": [name],
    }
    if p.phone:
        body["telecom"] = [{"system": "phone", "value": p.phone, "use": "mobile"}]
    body["gender"] = _GENDER.get(p.sex, "unknown")
    body["birthDate"] = p.birth_date.isoformat()
    if p.address:
        body["address"] = [{"text": p.address}]
    if p.home_institution_id:
        body["managingOrganization"] = {"reference": f"Organization/{p.home_institution_id}"}
    return body


def validated_patient(resource: dict[str, Any]) -> dict[str, Any]:
    """A Patient resource validated by fhir.resources and dumped back."""
    return FhirPatient.model_validate(resource).model_dump(mode="json", exclude_none=True)  # type: ignore[no-any-return]


def organization_resource(inst: Institution, read: InstitutionRead) -> dict[str, Any]:
    """Return a FHIR Organization of an institution."""
    resource = Organization.model_validate(
        {
            "resourceType": "Organization",
            "id": str(inst.id),
            "identifier": [{"system": INSTITUTION_SYSTEM, "value": inst.code}],
            "active": inst.is_active,
            "type": [{"text": read.category_label}, {"text": read.rank_label}],
            "name": inst.name,
            "alias": [inst.short_name] if inst.short_name and inst.short_name != inst.name else [],
            "telecom": [{"system": "phone", "value": inst.phone}] if inst.phone else [],
            "address": [{"text": inst.address}] if inst.address else [],
            "partOf": {"reference": f"Organization/{inst.parent_id}"} if inst.parent_id else None,
        }
    )
    return resource.model_dump(mode="json", exclude_none=True)


def practitioner_resource(p: Practitioner) -> dict[str, Any]:
    """Return a FHIR Practitioner."""
    resource = FhirPractitioner.model_validate(
        {
            "resourceType": "Practitioner",
            "id": str(p.id),
            "identifier": [{"system": PRACTITIONER_SYSTEM, "value": f"{p.institution_id}:{p.code}"}],
            "active": p.is_active,
            "name": [_split_name(p.name)],
            "gender": _GENDER.get(p.sex, "unknown"),
            "qualification": [{"code": {"text": p.title}}],
        }
    )
    return resource.model_dump(mode="json", exclude_none=True)


def bundle(resources: list[dict[str, Any]], total: int) -> dict[str, Any]:
    """Return a FHIR searchset Bundle."""
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": total,
        "entry": [{"resource": r, "search": {"mode": "match"}} for r in resources],
    }


def outcome(exc: YilianError) -> dict[str, Any]:
    """Return a FHIR OperationOutcome for an error (Chinese text, the English code in diagnostics)."""
    resource = OperationOutcome.model_validate(
        {
            "resourceType": "OperationOutcome",
            "issue": [
                {
                    "severity": "error",
                    "code": _ISSUE.get(exc.status, "processing"),
                    "details": {"text": f"{exc.title}：{exc.detail}"},
                    "diagnostics": exc.code,
                }
            ],
        }
    )
    return resource.model_dump(mode="json", exclude_none=True)
