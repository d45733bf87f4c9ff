"""FHIR R4 views of outpatient data — Condition (an encounter's diagnosis, ICD-10 医保版) and
AllergyIntolerance (an allergy kept on the patient) — validated with fhir.resources (R4B models)."""

from __future__ import annotations

from typing import Any

from fhir.resources.R4B.allergyintolerance import AllergyIntolerance
from fhir.resources.R4B.condition import Condition

from yilian.outpatient.models import Encounter, EncounterDiagnosis
from yilian.outpatient.record_models import PatientAllergy

ICD10_SYSTEM = "https://yilian.dev/fhir/sid/icd-10-nhsa"  # ICD-10 医保版 (NHSA national edition)
CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
ALLERGY_CLINICAL = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical"


def condition_resource(d: EncounterDiagnosis, encounter: Encounter, mpi_id: str) -> dict[str, Any]:
    """A diagnosis as a FHIR Condition (an encounter diagnosis; the principal one ranked first)."""
    resource = Condition.model_validate(
        {
            "resourceType": "Condition",
            "id": str(d.id),
            "clinicalStatus": {"coding": [{"system": CLINICAL, "code": "active"}]},
            "verificationStatus": {"coding": [{"system": VERIFICATION, "code": "confirmed"}]},
            "category": [
                {
                    "coding": [{"system": CATEGORY, "code": "encounter-diagnosis"}],
                    "text": "主要诊断" if d.is_primary else "其他诊断",
                }
            ],
            "code": {"coding": [{"system": ICD10_SYSTEM, "code": d.code, "display": d.name}], "text": d.name},
            "subject": {"reference": f"Patient/{mpi_id}"},
            "encounter": {"reference": f"Encounter/{encounter.id}"},
            "recordedDate": encounter.opened_at.isoformat(),
        }
    )
    return resource.model_dump(mode="json", exclude_none=True)


def allergy_resource(a: PatientAllergy, mpi_id: str) -> dict[str, Any]:
    """An allergy as a FHIR AllergyIntolerance (substance as text: an ingredient, class or group)."""
    resource = AllergyIntolerance.model_validate(
        {
            "resourceType": "AllergyIntolerance",
            "id": str(a.id),
            "clinicalStatus": {"coding": [{"system": ALLERGY_CLINICAL, "code": "active"}]},
            "category": ["medication"],
            "code": {"text": a.substance},
            "patient": {"reference": f"Patient/{mpi_id}"},
            "recordedDate": a.recorded_at.isoformat(),
            "reaction": [{"manifestation": [{"text": a.reaction}]}] if a.reaction else [],
        }
    )
    return resource.model_dump(mode="json", exclude_none=True)
