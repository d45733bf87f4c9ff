"""FHIR R4 view of a referral (转诊单) as a ServiceRequest, validated with fhir.resources (R4B models,
wire-compatible with R4 for ServiceRequest): the patient by MPI id, the requester and performer
organisations and doctors, the diagnosis (ICD-10 医保版), the reason and summary as notes, the parent
up-referral of a down-referral in ``basedOn`` and the attached results in ``supportingInfo``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fhir.resources.R4B.servicerequest import ServiceRequest

from yilian.alliance.domain import Direction, ReferralKind, State
from yilian.alliance.models import Referral
from yilian.outpatient.fhir import ICD10_SYSTEM

REFERRAL_SYSTEM = "https://yilian.dev/fhir/sid/referral"
KIND_SYSTEM = "https://yilian.dev/fhir/CodeSystem/referral-kind"
SNOMED = "http://snomed.info/sct"
REFERRAL_CODE = "3457005"  # SNOMED CT: Patient referral

FHIR_STATUS = {
    State.REQUESTED: "active",
    State.ACCEPTED: "active",
    State.BOOKED: "active",
    State.ARRIVED: "active",
    State.RETURNED: "completed",
    State.CLOSED: "completed",
    State.REFUSED: "revoked",
}


def _at(value: datetime) -> str:
    from datetime import UTC  # noqa: PLC0415

    return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()


def service_request(
    r: Referral,
    *,
    mpi_id: str,
    department: str,
    attached: list[tuple[str, int]],  # ("Observation" | "DiagnosticReport", result id)
) -> dict[str, Any]:
    """A referral as a validated FHIR ServiceRequest (JSON-ready dict)."""
    kind = ReferralKind(r.kind)
    state = State(r.state)
    requester = (
        {"reference": f"Practitioner/{r.from_practitioner_id}"}
        if r.from_practitioner_id
        else {"reference": f"Organization/{r.from_institution_id}"}
    )
    performer = [{"reference": f"Organization/{r.to_institution_id}"}]
    if r.to_practitioner_id:
        performer.append({"reference": f"Practitioner/{r.to_practitioner_id}"})
    notes = [{"text": f"转诊原因：{r.reason}"}]
    if r.summary:
        notes.append({"text": f"病情摘要：{r.summary}"})
    if r.care_plan:
        notes.append({"text": f"康复/随访方案：{r.care_plan}；随访日期：{r.follow_up_dates or '—'}"})
    if r.refuse_reason:
        notes.append({"text": f"拒绝原因：{r.refuse_reason}"})
    reason: dict[str, Any] = {"text": r.diagnosis}
    if r.diagnosis_code:
        reason["coding"] = [{"system": ICD10_SYSTEM, "code": r.diagnosis_code, "display": r.diagnosis}]
    body: dict[str, Any] = {
        "resourceType": "ServiceRequest",
        "id": str(r.id),
        "identifier": [{"system": REFERRAL_SYSTEM, "value": str(r.id)}],
        "status": FHIR_STATUS[state],
        "intent": "order",
        "category": [
            {
                "coding": [{"system": SNOMED, "code": REFERRAL_CODE, "display": "Patient referral"}],
                "text": f"双向转诊（{Direction(r.direction).label}）",
            }
        ],
        "code": {
            "coding": [{"system": KIND_SYSTEM, "code": kind.value, "display": kind.label}],
            "text": kind.label,
        },
        "subject": {"reference": f"Patient/{mpi_id}"},
        "authoredOn": _at(r.requested_at),
        "requester": requester,
        "performer": performer,
        "reasonCode": [reason],
        "note": notes,
        "supportingInfo": [{"reference": f"{t}/{i}"} for t, i in attached],
    }
    if department:
        body["performerType"] = {"text": department}
    if r.parent_id:
        body["basedOn"] = [{"reference": f"ServiceRequest/{r.parent_id}"}]
    if r.booked_day:
        body["occurrenceDateTime"] = r.booked_day.isoformat()
    body["extension"] = [
        {"url": "https://yilian.dev/fhir/StructureDefinition/referral-state", "valueString": state.label}
    ]
    resource = ServiceRequest.model_validate(body)
    return resource.model_dump(mode="json", exclude_none=True)
