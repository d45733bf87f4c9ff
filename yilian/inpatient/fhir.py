"""FHIR R4 views of inpatient care: an admission as an Encounter of class IMP, wards and beds as
Locations (bed partOf ward); validated with fhir.resources (R4B models, wire-compatible with R4)."""

from __future__ import annotations

from typing import Any

from fhir.resources.R4B.encounter import Encounter as FhirEncounter
from fhir.resources.R4B.location import Location as FhirLocation

from yilian.inpatient.domain import DISPOSITIONS, AdmissionStatus, BedState
from yilian.inpatient.models import Admission, Bed, Ward

ADMISSION_SYSTEM = "https://yilian.dev/fhir/sid/admission-number"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
PHYSICAL_TYPE = "http://terminology.hl7.org/CodeSystem/location-physical-type"
BED_STATUS = "http://terminology.hl7.org/CodeSystem/v2-0116"
DISCHARGE_SYSTEM = "https://yilian.dev/fhir/CodeSystem/discharge-disposition"
_BED_STATUS = {
    "free": "U",
    "reserved": "I",
    "occupied": "O",
    "cleaning": "H",
    "closed": "C",
}  # HL7 v2 table 0116


def encounter_resource(a: Admission, *, mpi_id: str, ward: Ward, bed: Bed | None) -> dict[str, Any]:
    """An admission as a FHIR Encounter (class IMP, inpatient encounter)."""
    status = "in-progress" if a.status == AdmissionStatus.ADMITTED else "finished"
    period: dict[str, str] = {"start": a.admitted_at.isoformat()}
    if a.discharged_at is not None:
        period["end"] = a.discharged_at.isoformat()
    locations = [{"location": {"reference": f"Location/ward-{ward.id}", "display": ward.name}}]
    if bed is not None:
        locations.append(
            {"location": {"reference": f"Location/bed-{bed.id}", "display": f"{ward.name} {bed.code} 床"}}
        )
    body: dict[str, Any] = {
        "resourceType": "Encounter",
        "id": f"ip-{a.id}",
        "identifier": [{"system": ADMISSION_SYSTEM, "value": a.number}],
        "status": status,
        "class": {"system": ACT_CODE, "code": "IMP", "display": "inpatient encounter"},
        "subject": {"reference": f"Patient/{mpi_id}"},
        "serviceProvider": {"reference": f"Organization/{a.institution_id}"},
        "period": period,
        "location": locations,
    }
    if a.disposition is not None:
        body["hospitalization"] = {
            "dischargeDisposition": {
                "coding": [
                    {
                        "system": DISCHARGE_SYSTEM,
                        "code": str(a.disposition),
                        "display": DISPOSITIONS[a.disposition],
                    }
                ]
            }
        }
    return FhirEncounter.model_validate(body).model_dump(mode="json", by_alias=True, exclude_none=True)


def ward_resource(ward: Ward) -> dict[str, Any]:
    return FhirLocation.model_validate(
        {
            "resourceType": "Location",
            "id": f"ward-{ward.id}",
            "status": "active" if ward.is_active else "inactive",
            "name": ward.name,
            "mode": "instance",
            "physicalType": {"coding": [{"system": PHYSICAL_TYPE, "code": "wa", "display": "Ward"}]},
            "managingOrganization": {"reference": f"Organization/{ward.institution_id}"},
        }
    ).model_dump(mode="json", by_alias=True, exclude_none=True)


def bed_resource(bed: Bed, ward: Ward) -> dict[str, Any]:
    return FhirLocation.model_validate(
        {
            "resourceType": "Location",
            "id": f"bed-{bed.id}",
            "status": "inactive" if bed.state == BedState.CLOSED else "active",
            "operationalStatus": {
                "system": BED_STATUS,
                "code": _BED_STATUS[bed.state],
                "display": BedState(bed.state).label,
            },
            "name": f"{ward.name} {bed.code} 床",
            "mode": "instance",
            "physicalType": {"coding": [{"system": PHYSICAL_TYPE, "code": "bd", "display": "Bed"}]},
            "partOf": {"reference": f"Location/ward-{ward.id}"},
            "managingOrganization": {"reference": f"Organization/{bed.institution_id}"},
        }
    ).model_dump(mode="json", by_alias=True, exclude_none=True)
