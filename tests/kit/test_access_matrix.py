"""The enumerated access test: every route of the app's OpenAPI document, called by each demo role of
ANOTHER institution and by an unrelated patient and family account, with real tokens of real users.

Hospital A owns every record below (patient, booking, queue, encounter, order, bill, result, audit
finding, ...). The outsiders work at hospital B (or are patients of no relation to A's patient).
``MATRIX`` says, route by route, which outsiders get through (any answer but 401/403 and no server
error); every other outsider must be refused with 403 or 404. A route of the app that is missing from
``MATRIX`` fails the test: add a line for it (who of another institution may call it, and a body that
passes validation, so the refusal proven is the access check and not a 422).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.billing.world import ITEMS, seed_policies
from tests.builders import (
    SYSTEM,
    actor_of,
    bearer,
    make_department,
    make_institution,
    make_patient,
    make_practitioner,
    make_user,
)
from yilian.billing import service as billing
from yilian.billing.channels import Channel
from yilian.catalog import service as catalog
from yilian.insurance.audit import service as audit
from yilian.insurance.audit.domain import ClaimLine
from yilian.kit import clock
from yilian.kit.auth.domain import Role
from yilian.outpatient import service as outpatient
from yilian.outpatient.schemas import EncounterCreate
from yilian.registry import service as registry
from yilian.registry.domain import InstitutionCategory
from yilian.registry.schemas import ConsentCreate, RelationCreate
from yilian.results import service as results
from yilian.scheduling import service as scheduling

# ------------------------------------------------------------------------------------------ who calls

OUTSIDERS = (
    "registrar",
    "doctor",
    "nurse",
    "cashier",
    "pharmacist",
    "insurance",
    "bedmgr",
    "security",
    "kiosk",
    "patient",
    "family",
)
ROLE_OF = {
    "registrar": Role.REGISTRAR,
    "doctor": Role.DOCTOR,
    "nurse": Role.NURSE,
    "cashier": Role.CASHIER,
    "pharmacist": Role.PHARMACIST,
    "insurance": Role.INSURANCE_OFFICER,
    "bedmgr": Role.BED_MANAGER,
    "security": Role.SECURITY_OFFICER,
    "kiosk": Role.KIOSK,
    "patient": Role.PATIENT,
    "family": Role.FAMILY,
}

NOBODY: frozenset[str] = frozenset()
EVERYONE = frozenset(OUTSIDERS)
STAFF = frozenset(OUTSIDERS) - {"kiosk", "patient", "family"}
REGISTRY_READERS = STAFF  # the alliance's institutions, departments, doctors, catalogue
PATIENT_FINDERS = STAFF - {"security"}  # a masked, scoped patient list (empty for another institution)
SCHEDULE_READERS = STAFF - {"security"} | {"patient", "family"}  # the public timetable
CLINICIANS = frozenset({"doctor"})
INSURANCE_OFFICE = frozenset({"insurance"})
PUBLIC = None  # no login needed (the login itself, health check, payment callbacks): no 5xx only

REFUSAL_TYPES = ("application/problem+json", "application/fhir+json")  # FHIR routes: an OperationOutcome
MISSING = 2**31 - 1  # an id that exists nowhere (for records the matrix does not build)
NO_HERBAL = {"prescription_id": MISSING}  # the matrix builds no herbal prescription


@dataclass(frozen=True)
class Rule:
    """Who of another institution gets through, and what to send."""

    allowed: frozenset[str] | None
    body: Any = None
    files: dict[str, tuple[str, bytes, str]] | None = None
    params: dict[str, Any] = field(default_factory=dict)  # path parameters other than the world's
    query: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    empty: bool = False  # those who get through see nothing of A's (an empty list)


def rule(allowed: frozenset[str] | None, body: Any = None, **kw: Any) -> Rule:
    return Rule(allowed, body, **kw)


POLICY_KEY = {
    "region_code": "320600",
    "scheme": "employee",
    "tier": "tertiary",
    "visit_type": "outpatient",
    "year": 2026,
}
CSV = ("x.csv", b"code,name\n", "text/csv")

MATRIX: dict[str, Rule] = {
    # --- analytics: aggregates for the commission and the administrator only
    "GET /api/v1/analytics/indicators": rule(NOBODY),
    "GET /api/v1/analytics/figures": rule(NOBODY),
    "GET /api/v1/analytics/breakdown": rule(NOBODY, query={"indicator": "visits"}),
    "GET /api/v1/analytics/report": rule(NOBODY, query={"month": "2026-10"}),
    "POST /api/v1/analytics/refresh": rule(NOBODY),
    # --- kit: login, users, access log
    "POST /api/v1/auth/token": rule(PUBLIC, {"username": "nobody", "password": "Wrong-2026"}),
    "POST /api/v1/auth/logout": rule(EVERYONE),  # one's own session (called last, then logged in again)
    "GET /api/v1/auth/me": rule(EVERYONE),
    "GET /api/v1/users": rule(NOBODY),
    "POST /api/v1/users": rule(
        NOBODY,
        {
            "username": "intruder1",
            "password": "Intr@2026",
            "role": "doctor",
            "display_name": "x",
            "institution_id": "{institution_id}",
        },
    ),
    "GET /api/v1/audit/access": rule(NOBODY),
    "GET /healthz": rule(PUBLIC),
    # --- registry: the alliance's shared directory is readable by its staff; records of A are not
    "GET /api/v1/alliances": rule(REGISTRY_READERS),
    "GET /api/v1/institutions": rule(REGISTRY_READERS),
    "POST /api/v1/institutions": rule(
        NOBODY,
        {
            "code": "INTRUDE",
            "name": "冒名医院",
            "category": "general_hospital",
            "level": 3,
            "grade": "甲",
            "region_code": "320602",
        },
    ),
    "GET /api/v1/institutions/{institution_id}": rule(REGISTRY_READERS),
    "PATCH /api/v1/institutions/{institution_id}": rule(NOBODY, {"name": "改名"}),
    "GET /api/v1/institutions/{institution_id}/campuses": rule(REGISTRY_READERS),
    "POST /api/v1/campuses": rule(
        NOBODY, {"institution_id": "{institution_id}", "code": "C9", "name": "新院区"}
    ),
    "GET /api/v1/departments": rule(REGISTRY_READERS),
    "POST /api/v1/departments": rule(
        NOBODY, {"institution_id": "{institution_id}", "code": "X9", "name": "新科室"}
    ),
    "GET /api/v1/practitioners": rule(REGISTRY_READERS),
    "POST /api/v1/practitioners": rule(
        NOBODY,
        {
            "institution_id": "{institution_id}",
            "code": "X9",
            "name": "冒名",
            "sex": "M",
            "title": "主治医师",
            "department_ids": ["{department_id}"],
        },
    ),
    "GET /api/v1/practitioners/{practitioner_id}": rule(REGISTRY_READERS),
    "GET /fhir/Organization/{institution_id}": rule(REGISTRY_READERS),
    "GET /fhir/Practitioner/{practitioner_id}": rule(REGISTRY_READERS),
    # patients: the registrar works on the alliance's master patient index (PATIENT_ALLIANCE); nobody
    # else of another institution opens A's patient
    "GET /api/v1/patients": rule(PATIENT_FINDERS, query={"q": "矩阵"}),
    "POST /api/v1/patients": rule(
        frozenset({"registrar"}), {"name": "新患者", "id_number": "{new_id_number}", "phone": "13900000000"}
    ),
    "GET /api/v1/patients/{patient_id}": rule(frozenset({"registrar"})),
    "PATCH /api/v1/patients/{patient_id}": rule(frozenset({"registrar"}), {"address": "南通市崇川区"}),
    "GET /api/v1/patients/{patient_id}/relations": rule(frozenset({"registrar"})),
    "POST /api/v1/patients/{patient_id}/relations": rule(
        frozenset({"registrar"}), {"relative_id": "{relative_id}", "relation_type": "sibling"}
    ),
    "POST /api/v1/relations/{relation_id}/confirm": rule(frozenset({"registrar"})),
    "POST /api/v1/relations/{relation_id}/verify": rule(frozenset({"registrar"})),
    "GET /api/v1/patients/{patient_id}/consents": rule(frozenset({"registrar"})),
    "POST /api/v1/consents": rule(
        frozenset({"registrar"}),
        {"relation_id": "{relation_id}", "grantor_id": "{patient_id}", "scope": "view_record"},
    ),
    "POST /api/v1/consents/{consent_id}/revoke": rule(frozenset({"registrar"})),
    "GET /fhir/Patient/{mpi_id}": rule(frozenset({"registrar"})),
    "GET /fhir/Patient": rule(PATIENT_FINDERS, query={"name": "矩阵"}),
    # --- catalog: shared reference data
    "GET /api/v1/catalog/items": rule(REGISTRY_READERS),
    "GET /api/v1/catalog/items/{code}": rule(REGISTRY_READERS, params={"code": "250301001000000"}),
    "GET /api/v1/catalog/diagnoses": rule(REGISTRY_READERS),
    "POST /api/v1/catalog/items/import": rule(NOBODY, files={"file": CSV}),
    "POST /api/v1/catalog/diagnoses/import": rule(NOBODY, files={"file": CSV}),
    # --- scheduling: the timetable is public; bookings, queues and A's schedule office are A's
    "GET /api/v1/scheduling/policies/{institution_id}": rule(SCHEDULE_READERS),
    "PATCH /api/v1/scheduling/policies/{institution_id}": rule(NOBODY, {"changes": {"hold_minutes": 5}}),
    "GET /api/v1/scheduling/institutions/{institution_id}/templates": rule(SCHEDULE_READERS),
    "PUT /api/v1/scheduling/templates": rule(
        NOBODY, {"department_id": "{department_id}", "weekday": 2, "period": "am"}
    ),
    "DELETE /api/v1/scheduling/templates/{template_id}": rule(NOBODY),
    "POST /api/v1/scheduling/institutions/{institution_id}/generate": rule(
        NOBODY, {"start": "2026-05-11", "days": 1}
    ),
    "GET /api/v1/scheduling/payment-methods": rule(SCHEDULE_READERS),
    "GET /api/v1/scheduling/indicators": rule(
        NOBODY, query={"institution_id": "{institution_id}", "start": "2026-05-01", "end": "2026-05-07"}
    ),
    "GET /api/v1/scheduling/schedules": rule(SCHEDULE_READERS, query={"institution_id": "{institution_id}"}),
    "POST /api/v1/scheduling/schedules": rule(
        NOBODY, {"department_id": "{department_id}", "day": "2026-05-09", "period": "pm"}
    ),
    "GET /api/v1/scheduling/schedules/{schedule_id}": rule(SCHEDULE_READERS),
    "POST /api/v1/scheduling/schedules/{schedule_id}/stop": rule(NOBODY, {"reason": "越权停诊"}),
    # an outsider patient books for themself (allowed: patients book anywhere) — here for A's patient: no
    "POST /api/v1/scheduling/bookings": rule(NOBODY, {"slot_id": "{slot_id}", "patient_id": "{patient_id}"}),
    "GET /api/v1/scheduling/bookings/{booking_id}": rule(NOBODY),
    "POST /api/v1/scheduling/bookings/{booking_id}/confirm": rule(NOBODY, {"payment_method": "desk"}),
    "POST /api/v1/scheduling/bookings/{booking_id}/cancel": rule(NOBODY),
    "POST /api/v1/scheduling/bookings/{booking_id}/check-in": rule(NOBODY, {}),
    "POST /api/v1/scheduling/bookings/{booking_id}/return-visit": rule(
        NOBODY, {"schedule_id": "{schedule_id}"}
    ),
    "GET /api/v1/scheduling/schedules/{schedule_id}/queue": rule(NOBODY),
    "POST /api/v1/scheduling/schedules/{schedule_id}/call-next": rule(NOBODY),
    "POST /api/v1/scheduling/queue/{entry_id}/recall": rule(NOBODY),
    "POST /api/v1/scheduling/queue/{entry_id}/skip": rule(NOBODY),
    "GET /api/v1/scheduling/patients/{patient_id}/bookings": rule(frozenset({"registrar"}), empty=True),
    "GET /api/v1/scheduling/bookings/{booking_id}/queue-place": rule(NOBODY),
    "POST /api/v1/scheduling/kiosk/lookup": rule(
        frozenset({"kiosk"}), {"id_number": "{id_number}"}
    ),  # own hospital's only: []
    # --- results: the patient's results only for those who may read the patient
    "GET /api/v1/results/items": rule(EVERYONE),  # the recognition catalogue
    "PATCH /api/v1/results/items/{code}": rule(NOBODY, {"validity_days": 30}, params={"code": "GLU"}),
    "GET /api/v1/results/reasons": rule(EVERYONE),
    "GET /api/v1/results/code-maps": rule(NOBODY),
    "POST /api/v1/results/code-maps/import": rule(NOBODY, files={"file": CSV}),
    "GET /api/v1/results/qualifications": rule(NOBODY),
    "PUT /api/v1/results/qualifications/{institution_id}/hr": rule(NOBODY, {"hr_mark": False}),
    "PUT /api/v1/results/qualifications/{institution_id}/qa": rule(
        NOBODY,
        {"discipline": "临床化学", "passed": False, "passed_on": "2026-01-01", "expires_on": "2026-12-31"},
    ),
    "GET /api/v1/results/policy": rule(EVERYONE),
    "PUT /api/v1/results/policy": rule(NOBODY, {}),
    "POST /api/v1/results/hl7": rule(
        NOBODY, "MSH|^~\\&|LIS|X|YILIAN|REGION|20260507090000||ORU^R01|Z1|P|2.5"
    ),
    "POST /api/v1/results/imaging/dicom": rule(
        NOBODY,
        files={"file": ("x.dcm", b"\0" * 200, "application/dicom")},
        query={"report_text": "x", "sender_code": "X"},
    ),
    "GET /api/v1/results/patients/{patient_id}": rule(NOBODY),
    "GET /api/v1/results/{result_id}": rule(NOBODY),
    "POST /api/v1/results/recognition/check": rule(
        NOBODY, {"patient_id": "{patient_id}", "institution_id": "{institution_id}", "item_code": "GLU"}
    ),
    "POST /api/v1/results/recognition/decisions": rule(
        NOBODY, {"prompt_id": "{missing}", "decision": "互认"}
    ),
    "GET /api/v1/results/recognition/indicators": rule(frozenset({"doctor", "insurance"})),  # own scope
    "POST /fhir": rule(NOBODY, {"resourceType": "Bundle", "type": "collection", "entry": []}),
    "GET /fhir/Observation/{result_id}": rule(NOBODY),
    "GET /fhir/Observation": rule(NOBODY, query={"patient": "{mpi_id}"}),
    "GET /fhir/ImagingStudy/{result_id}": rule(NOBODY),
    "GET /fhir/DiagnosticReport/{result_id}": rule(NOBODY),
    "GET /fhir/DiagnosticReport": rule(NOBODY, query={"patient": "{mpi_id}"}),
    # --- insurance audit: the rule library and runs are the alliance's; findings are scoped
    "POST /api/v1/audit/precheck": rule(frozenset({"doctor", "insurance"}), "{precheck}"),
    "GET /api/v1/audit/rules": rule(INSURANCE_OFFICE),
    "POST /api/v1/audit/rules": rule(
        INSURANCE_OFFICE, {"text": "version: 1\nrules: []\n"}
    ),  # refused as invalid
    "GET /api/v1/audit/rules/versions": rule(INSURANCE_OFFICE),
    "POST /api/v1/audit/rules/validate": rule(INSURANCE_OFFICE, {"text": "version: 1\n"}),
    "POST /api/v1/audit/claim-lines": rule(INSURANCE_OFFICE, {"source": "x", "lines": []}),
    "POST /api/v1/audit/runs": rule(INSURANCE_OFFICE, {"date_from": "2020-01-01", "date_to": "2020-01-02"}),
    "GET /api/v1/audit/runs": rule(INSURANCE_OFFICE),
    "GET /api/v1/audit/runs/{run_id}": rule(INSURANCE_OFFICE),
    "GET /api/v1/audit/runs/{run_id}/findings": rule(frozenset({"doctor", "insurance"})),  # B's: none of A's
    "GET /api/v1/audit/runs/{run_id}/export.xlsx": rule(INSURANCE_OFFICE),
    "GET /api/v1/audit/findings/{finding_id}": rule(NOBODY),
    "POST /api/v1/audit/findings/{finding_id}/review": rule(NOBODY, {"action": "appeal", "reason": "越权"}),
    # insurance policy tables are regional (the city's), kept by any insurance office
    "GET /api/v1/insurance/policies": rule(INSURANCE_OFFICE),
    "PUT /api/v1/insurance/policies": rule(
        INSURANCE_OFFICE, {**POLICY_KEY, "deductible": 80000, "ratio_permille": 600, "cap": 400000}
    ),
    "POST /api/v1/insurance/policies/trial-split": rule(
        INSURANCE_OFFICE,
        {**POLICY_KEY, "lines": []},
    ),
    # --- outpatient and billing: A's encounters, orders and bills
    "POST /api/v1/encounters": rule(
        NOBODY, {"patient_id": "{patient_id}", "department_id": "{department_id}"}
    ),
    "GET /api/v1/encounters/{encounter_id}": rule(NOBODY),
    "POST /api/v1/encounters/{encounter_id}/diagnoses": rule(NOBODY, {"code": "E11.900"}),
    "POST /api/v1/encounters/{encounter_id}/orders": rule(NOBODY, {"item_code": "250301001000000"}),
    "POST /api/v1/orders/{order_id}/perform": rule(NOBODY),
    "POST /api/v1/orders/{order_id}/cancel": rule(NOBODY, {"reason": "越权退费"}),
    "POST /api/v1/billing/channels/{channel}/callback": rule(PUBLIC, {}, params={"channel": "wechat"}),
    # the alliance's merchant account: one statement per channel and day, reconciled by any cashier
    "GET /api/v1/billing/reconciliation": rule(
        frozenset({"cashier"}), query={"day": "2026-05-07", "channel": "wechat"}
    ),
    "POST /api/v1/billing/visits": rule(
        NOBODY, {"patient_id": "{patient_id}", "department_id": "{department_id}"}
    ),
    "POST /api/v1/billing/encounters/{encounter_id}/orders": rule(NOBODY, {"item_code": "250301001000000"}),
    "GET /api/v1/billing/encounters/{encounter_id}/bill": rule(NOBODY),
    "POST /api/v1/billing/encounters/{encounter_id}/settle": rule(
        NOBODY, {"channel": "wechat", "idempotency_key": "matrix-1"}
    ),
    "POST /api/v1/billing/orders/{order_id}/cancel": rule(NOBODY, {"reason": "越权退费"}),
    "POST /api/v1/billing/settlements/{settlement_id}/reverse": rule(NOBODY, {"reason": "越权冲正"}),
    "GET /api/v1/billing/patients/{patient_id}/arrears": rule(frozenset({"registrar"})),  # one credit line
    "POST /api/v1/billing/arrears/{arrear_id}/pay": rule(
        NOBODY, {"channel": "alipay"}, headers={"Idempotency-Key": "matrix-pay"}
    ),
    "GET /api/v1/billing/credit-policies/{institution_id}": rule(NOBODY),
    "PUT /api/v1/billing/credit-policies/{institution_id}": rule(NOBODY, {"enabled": False}),
    "GET /api/v1/billing/credit-dashboard": rule(NOBODY, query={"institution_id": "{institution_id}"}),
    # --- DRG: grouping is a tool; analyses belong to the insurance office
    "GET /api/v1/drg/schemes": rule(frozenset({"doctor", "insurance"})),
    "POST /api/v1/drg/group": rule(frozenset({"doctor", "insurance"}), {"records": []}),
    "POST /api/v1/drg/policy": rule(NOBODY, files={"file": CSV}),
    "GET /api/v1/drg/batches": rule(INSURANCE_OFFICE),
    "POST /api/v1/drg/batches": rule(INSURANCE_OFFICE, files={"file": CSV}),
    "GET /api/v1/drg/batches/{batch_id}/analysis": rule(INSURANCE_OFFICE),  # none exists: 404 after the check
    "GET /api/v1/drg/batches/{batch_id}/export.xlsx": rule(INSURANCE_OFFICE),
    # --- pharmacy: the shared TCM pharmacy (共享中药房); A's herbal prescriptions are refused (404 for
    # ids B cannot see); the herb catalogue is public knowledge; B's pharmacists see their own empty desk
    "GET /api/v1/tcm/herbs": rule(EVERYONE),
    "POST /api/v1/tcm/check": rule(frozenset({"doctor", "pharmacist"}), {"lines": []}),
    "POST /api/v1/tcm/encounters/{encounter_id}/herbal": rule(
        NOBODY, {"lines": [{"herb_code": "X", "grams": 1}]}
    ),
    "GET /api/v1/tcm/herbal/{prescription_id}": rule(NOBODY, params=NO_HERBAL),
    "PUT /api/v1/tcm/herbal/{prescription_id}": rule(NOBODY, {"lines": []}, params=NO_HERBAL),
    "POST /api/v1/tcm/herbal/{prescription_id}/cancel": rule(NOBODY, {"reason": "x"}, params=NO_HERBAL),
    "GET /api/v1/tcm/herbal/{prescription_id}/steps": rule(NOBODY, params=NO_HERBAL),
    "GET /api/v1/tcm/reviews": rule(frozenset({"pharmacist"}), empty=True),
    "POST /api/v1/tcm/reviews/{prescription_id}": rule(NOBODY, {"verdict": "approve"}, params=NO_HERBAL),
    "POST /api/v1/tcm/floor/{prescription_id}/steps": rule(NOBODY, {"action": "dispense"}, params=NO_HERBAL),
    "GET /api/v1/tcm/floor": rule(frozenset({"pharmacist"})),
    "GET /api/v1/tcm/floor/plan": rule(frozenset({"pharmacist"})),
    "GET /api/v1/tcm/floor/{prescription_id}/label": rule(NOBODY, params=NO_HERBAL),
    "GET /api/v1/tcm/track/{token}": rule(PUBLIC, params={"token": "not-a-token"}),
    "GET /api/v1/tcm/indicators": rule(
        frozenset({"pharmacist"}), query={"start": "2026-05-01", "end": "2026-05-07"}
    ),  # their own pharmacy's
    "GET /api/v1/tcm/indicators.xlsx": rule(
        frozenset({"pharmacist"}), query={"start": "2026-05-01", "end": "2026-05-07"}
    ),
    "POST /api/v1/tcm/track/{token}/sign": rule(PUBLIC, params={"token": "not-a-token"}),
    "POST /api/v1/tcm/scan/lookup": rule(NOBODY, {"code": "not-a-token", "action": "receive"}),
    "POST /api/v1/tcm/scan": rule(NOBODY, {"code": "not-a-token", "action": "handover", "courier": "李师傅"}),
    # --- kit: user accounts are the platform admin's
    "PATCH /api/v1/users/{user_id}": rule(NOBODY, {"display_name": "改名"}),
    # --- catalog and the working calendar: shared reference data; the calendar is kept by the admin
    "GET /api/v1/catalog/procedures": rule(REGISTRY_READERS),
    "GET /api/v1/scheduling/calendar": rule(SCHEDULE_READERS),
    "GET /api/v1/scheduling/calendar/{year}": rule(SCHEDULE_READERS),
    "PUT /api/v1/scheduling/calendar/{year}": rule(NOBODY, files={"file": CSV}),
    "PUT /api/v1/scheduling/calendar/days/{day}": rule(NOBODY, {"kind": "holiday", "name": "越权"}),
    "DELETE /api/v1/scheduling/calendar/days/{day}": rule(NOBODY),
    # --- outpatient: A's records, allergies, prescriptions (none readable by another institution)
    "GET /api/v1/results/{result_id}/history": rule(NOBODY),
    "GET /api/v1/encounters/{encounter_id}/record": rule(NOBODY),
    "PUT /api/v1/encounters/{encounter_id}/record": rule(NOBODY, {"fields": {"chief_complaint": "越权"}}),
    "POST /api/v1/encounters/{encounter_id}/record/sign": rule(NOBODY),
    "POST /api/v1/encounters/{encounter_id}/record/amend": rule(NOBODY, {"reason": "越权"}),
    "GET /api/v1/encounters/{encounter_id}/record/versions": rule(NOBODY),
    "POST /api/v1/encounters/{encounter_id}/record/template/{template_id}": rule(NOBODY),
    "DELETE /api/v1/encounters/{encounter_id}/diagnoses/{diagnosis_id}": rule(NOBODY),
    "GET /api/v1/patients/{patient_id}/allergies": rule(frozenset({"registrar"})),
    "POST /api/v1/patients/{patient_id}/allergies": rule(NOBODY, {"substance": "青霉素"}),
    "GET /api/v1/encounters/{encounter_id}/prescriptions": rule(NOBODY),
    "POST /api/v1/prescriptions/{prescription_id}/submit": rule(NOBODY, {"note": ""}),
    "GET /api/v1/patients/{patient_id}/prescriptions": rule(frozenset({"registrar"})),
    "GET /api/v1/encounters/{encounter_id}/record.pdf": rule(NOBODY),
    "GET /fhir/Condition/{diagnosis_id}": rule(NOBODY),
    "GET /fhir/AllergyIntolerance/{allergy_id}": rule(NOBODY),
    # --- workbench: the doctor's prescription lines on A's encounter
    "POST /api/v1/encounters/{encounter_id}/prescriptions/{kind}/lines": rule(
        NOBODY,
        {"item_code": "250301001000000", "dose": "1", "dose_unit": "片", "frequency": "qd", "days": 1},
        params={"kind": "normal"},
    ),
    "DELETE /api/v1/prescription-lines/{line_id}": rule(NOBODY),
    "POST /api/v1/encounters/{encounter_id}/prescriptions/{kind}/check": rule(
        NOBODY,
        {"item_code": "250301001000000", "dose": "1", "dose_unit": "片", "frequency": "qd", "days": 1},
        params={"kind": "normal"},
    ),
    # --- inpatient: A's wards, beds, admissions; lists are scoped to one's own hospital
    "POST /api/v1/inpatient/wards": rule(
        NOBODY,
        {
            "institution_id": "{institution_id}",
            "department_id": "{department_id}",
            "code": "W9",
            "name": "越权病区",
            "floor": 1,
        },
    ),
    "GET /api/v1/inpatient/wards": rule(NOBODY, query={"institution_id": "{institution_id}"}),
    "GET /api/v1/inpatient/wards/{ward_id}/beds": rule(NOBODY),
    "GET /api/v1/inpatient/beds/{bed_id}": rule(NOBODY),
    "GET /api/v1/inpatient/beds/{bed_id}/history": rule(NOBODY),
    "POST /api/v1/inpatient/beds/{bed_id}/state": rule(NOBODY, {"state": "closed", "reason": "越权"}),
    "PUT /api/v1/inpatient/ward-relations": rule(
        NOBODY, {"ward_id": "{ward_id}", "department_id": "{department_id}", "kind": "related"}
    ),
    "POST /api/v1/inpatient/bed-requests": rule(
        NOBODY, {"patient_id": "{patient_id}", "department_id": "{department_id}"}
    ),
    "GET /api/v1/inpatient/bed-requests": rule(NOBODY, query={"institution_id": "{institution_id}"}),
    "GET /api/v1/inpatient/bed-requests/{request_id}/suggestions": rule(NOBODY),
    "POST /api/v1/inpatient/bed-requests/{request_id}/assign": rule(NOBODY, {"bed_id": "{bed_id}"}),
    "POST /api/v1/inpatient/bed-requests/{request_id}/release": rule(NOBODY),
    "POST /api/v1/inpatient/admissions": rule(
        NOBODY, {"patient_id": "{patient_id}", "department_id": "{department_id}", "bed_id": "{bed_id}"}
    ),
    "GET /api/v1/inpatient/admissions": rule(NOBODY, query={"institution_id": "{institution_id}"}),
    "GET /api/v1/inpatient/admissions/{admission_id}": rule(NOBODY),
    "POST /api/v1/inpatient/admissions/{admission_id}/deposits": rule(
        NOBODY, {"amount": 100000, "channel": "wechat", "idempotency_key": "matrix-dep"}
    ),
    "POST /api/v1/inpatient/admissions/{admission_id}/transfer": rule(NOBODY, {"to_bed_id": "{bed_id}"}),
    "POST /api/v1/inpatient/admissions/{admission_id}/discharge": rule(NOBODY, {"disposition": 1}),
    "POST /api/v1/inpatient/admissions/{admission_id}/orders": rule(NOBODY, {"item_code": "250301001000000"}),
    "POST /api/v1/inpatient/admissions/{admission_id}/orders/precheck": rule(
        NOBODY, {"item_code": "250301001000000"}
    ),
    "GET /api/v1/inpatient/admissions/{admission_id}/bill": rule(NOBODY),
    "POST /api/v1/inpatient/preadmissions": rule(
        NOBODY, {"encounter_id": "{encounter_id}", "department_id": "{department_id}"}
    ),
    "POST /api/v1/inpatient/preadmissions/{preadmission_id}/orders": rule(
        NOBODY, {"item_code": "250301001000000"}
    ),
    "POST /api/v1/inpatient/preadmissions/{preadmission_id}/approve-extension": rule(NOBODY),
    "POST /api/v1/inpatient/admissions/{admission_id}/settlement": rule(
        NOBODY, {"channel": "wechat", "idempotency_key": "matrix-ip"}
    ),
    "POST /api/v1/inpatient/admissions/{admission_id}/arrears/pay": rule(
        NOBODY, {"channel": "wechat", "idempotency_key": "matrix-ip-arrears"}
    ),
    "POST /api/v1/inpatient/admissions/{admission_id}/settlement/reverse": rule(
        NOBODY, {"reason": "越权冲正"}
    ),
    "GET /api/v1/inpatient/admissions/{admission_id}/abstract": rule(NOBODY),
    "PATCH /api/v1/inpatient/admissions/{admission_id}/abstract": rule(NOBODY, {"main_diagnosis": "E11.900"}),
    "POST /api/v1/inpatient/admissions/{admission_id}/abstract/sign": rule(NOBODY),
    "GET /api/v1/inpatient/admissions/{admission_id}/abstract/changes": rule(NOBODY),
    "GET /api/v1/inpatient/diagnosis-codes": rule(
        frozenset({"doctor", "insurance"}), query={"q": "E11"}
    ),  # coders'
    "GET /api/v1/inpatient/procedure-codes": rule(
        frozenset({"doctor", "insurance"}), query={"q": "36"}
    ),  # coders'
    "GET /api/v1/inpatient/indicators": rule(
        NOBODY, query={"institution_id": "{institution_id}", "start": "2026-05-01", "end": "2026-05-07"}
    ),
    "GET /api/v1/inpatient/indicators.xlsx": rule(
        NOBODY, query={"institution_id": "{institution_id}", "start": "2026-05-01", "end": "2026-05-07"}
    ),
    "GET /fhir/Encounter/ip-{admission_id}": rule(NOBODY),
    "GET /fhir/Location/ward-{ward_id}": rule(NOBODY),
    "GET /fhir/Location/bed-{bed_id}": rule(NOBODY),
    # --- pharmacy: A's review queue, window, stock
    "GET /api/v1/pharmacy/reviews": rule(frozenset({"pharmacist"}), empty=True),  # own hospital's queue
    "GET /api/v1/pharmacy/reviews/{prescription_id}": rule(NOBODY),
    "POST /api/v1/pharmacy/reviews/{prescription_id}": rule(NOBODY, {"verdict": "pass"}),
    "GET /api/v1/pharmacy/window": rule(frozenset({"pharmacist"}), empty=True),  # own hospital's window
    "POST /api/v1/pharmacy/window/{prescription_id}/call": rule(NOBODY, {"window": 1}),
    "POST /api/v1/pharmacy/window/{prescription_id}/dispense": rule(NOBODY, {"checker": "x"}),
    "GET /api/v1/pharmacy/window/{prescription_id}/labels": rule(NOBODY),
    "POST /api/v1/pharmacy/returns/{order_id}": rule(NOBODY, {"reason": "越权退药"}),
    "GET /api/v1/pharmacy/stock": rule(NOBODY, query={"institution_id": "{institution_id}"}),
    "POST /api/v1/pharmacy/stock": rule(
        NOBODY, {"item_code": "250301001000000", "batch_no": "B1", "expiry": "2027-01-01", "quantity": 1}
    ),
    # --- companion (云伴诊): A's patient's follows; one's own list of visits to follow is empty here
    "GET /api/v1/companion/following": rule(EVERYONE, empty=True),
    "GET /api/v1/companion/patients/{patient_id}/follows": rule(
        frozenset({"registrar"}), empty=True
    ),  # alliance MPI
    "POST /api/v1/companion/follows": rule(
        frozenset({"registrar"}),  # the desk records a patient's consent for the alliance's MPI
        {
            "patient_id": "{patient_id}",
            "relative_id": "{patient_id}",
            "visit_kind": "booking",
            "visit_id": "{booking_id}",
        },
    ),
    "POST /api/v1/companion/follows/{follow_id}/revoke": rule(NOBODY, params={"follow_id": MISSING}),
    "GET /api/v1/companion/follows/{follow_id}/feed": rule(NOBODY, params={"follow_id": MISSING}),
    "GET /api/v1/companion/follows/{follow_id}/stream": rule(NOBODY, params={"follow_id": MISSING}),
    "GET /api/v1/companion/follows/{follow_id}/bills": rule(NOBODY, params={"follow_id": MISSING}),
    "POST /api/v1/companion/follows/{follow_id}/family-pay": rule(
        NOBODY,
        params={"follow_id": MISSING},
        body={"encounter_id": MISSING, "channel": "wechat", "idempotency_key": "matrix-family-pay"},
    ),
    # --- alliance (双向转诊): the structure is the alliance's own; A's referrals (the matrix builds none)
    "GET /api/v1/alliance/networks": rule(STAFF),
    "POST /api/v1/alliance/networks": rule(
        NOBODY, {"name": "越权医联体", "kind": "city", "lead_institution_id": "{institution_id}"}
    ),
    "PUT /api/v1/alliance/networks/{network_id}": rule(
        NOBODY,
        {"name": "越权改名", "kind": "city", "lead_institution_id": "{institution_id}"},
        params={"network_id": MISSING},
    ),
    "PUT /api/v1/alliance/pairings/{pairing_id}": rule(
        NOBODY, {"start": "2026-05-01", "end": "2026-12-31"}, params={"pairing_id": MISSING}
    ),
    "GET /api/v1/alliance/networks/{network_id}/members": rule(NOBODY, params={"network_id": MISSING}),
    "POST /api/v1/alliance/networks/{network_id}/members": rule(
        NOBODY, {"institution_id": "{institution_id}"}, params={"network_id": MISSING}
    ),
    "GET /api/v1/alliance/networks/{network_id}/pairings": rule(NOBODY, params={"network_id": MISSING}),
    "POST /api/v1/alliance/networks/{network_id}/pairings": rule(
        NOBODY,
        {
            "senior_institution_id": "{institution_id}",
            "member_institution_id": "{institution_id}",
            "start": "2026-05-01",
            "end": "2026-12-31",
        },
        params={"network_id": MISSING},
    ),
    "GET /api/v1/alliance/departments/{department_id}/reserve-policy": rule(STAFF),
    "PUT /api/v1/alliance/departments/{department_id}/reserve-policy": rule(
        NOBODY, {"reserve_percent": 50, "release_hours": 12}
    ),
    "POST /api/v1/alliance/reserve/run": rule(NOBODY, query={"start": "2026-05-07", "end": "2026-05-08"}),
    "POST /api/v1/alliance/referrals": rule(
        NOBODY,
        {
            "patient_id": "{patient_id}",
            "kind": "outpatient",
            "to_institution_id": "{institution_id}",
            "to_department_id": "{department_id}",
            "diagnosis": "2型糖尿病",
            "reason": "越权转诊",
        },
    ),
    "GET /api/v1/alliance/referrals": rule(
        frozenset({"doctor", "registrar"}), empty=True
    ),  # own institution's
    "GET /api/v1/alliance/referrals/{referral_id}": rule(NOBODY, params={"referral_id": MISSING}),
    "GET /api/v1/alliance/referrals/{referral_id}/letter.pdf": rule(NOBODY, params={"referral_id": MISSING}),
    "GET /fhir/ServiceRequest/{referral_id}": rule(NOBODY, params={"referral_id": MISSING}),
    "POST /api/v1/alliance/referrals/{referral_id}/accept": rule(NOBODY, {}, params={"referral_id": MISSING}),
    "POST /api/v1/alliance/referrals/{referral_id}/refuse": rule(
        NOBODY, {"reason": "越权拒绝"}, params={"referral_id": MISSING}
    ),
    "GET /api/v1/alliance/referrals/{referral_id}/slots": rule(NOBODY, params={"referral_id": MISSING}),
    "POST /api/v1/alliance/referrals/{referral_id}/book": rule(
        NOBODY, {"slot_id": "{slot_id}"}, params={"referral_id": MISSING}
    ),
    "POST /api/v1/alliance/referrals/{referral_id}/bed-request": rule(
        NOBODY, {"department_id": 1}, params={"referral_id": MISSING}
    ),
    "POST /api/v1/alliance/referrals/{referral_id}/arrive": rule(NOBODY, params={"referral_id": MISSING}),
    "POST /api/v1/alliance/referrals/{referral_id}/refer-back": rule(
        NOBODY,
        {"kind": "chronic", "care_plan": "每月复查", "follow_up_dates": ["2026-06-01"]},
        params={"referral_id": MISSING},
    ),
    "POST /api/v1/alliance/referrals/{referral_id}/close": rule(NOBODY, {}, params={"referral_id": MISSING}),
    "GET /api/v1/alliance/patients/{patient_id}/referrals": rule(
        frozenset({"registrar"}), empty=True
    ),  # alliance MPI
    "POST /api/v1/alliance/networks/{network_id}/postings": rule(
        NOBODY,
        {
            "practitioner_id": "{practitioner_id}",
            "member_institution_id": "{institution_id}",
            "member_department_id": "{department_id}",
            "start": "2026-05-11",
            "end": "2026-05-31",
            "weekdays": [0],
        },
        params={"network_id": MISSING},
    ),
    "GET /api/v1/alliance/networks/{network_id}/postings": rule(NOBODY, params={"network_id": MISSING}),
    "GET /api/v1/alliance/postings/{posting_id}/sittings": rule(NOBODY, params={"posting_id": MISSING}),
    "PUT /api/v1/alliance/sittings/{sitting_id}": rule(
        NOBODY, {"arrived": True, "patients_seen": 3}, params={"sitting_id": MISSING}
    ),
    "GET /api/v1/alliance/networks/{network_id}/indicators": rule(
        NOBODY, params={"network_id": MISSING}, query={"start": "2026-05-01", "end": "2026-05-31"}
    ),
    "GET /api/v1/alliance/networks/{network_id}/indicators.xlsx": rule(
        NOBODY, params={"network_id": MISSING}, query={"start": "2026-05-01", "end": "2026-05-31"}
    ),
    "GET /api/v1/alliance/networks/{network_id}/sitting-counts": rule(
        NOBODY, params={"network_id": MISSING}, query={"start": "2026-05-01", "end": "2026-05-31"}
    ),
    "POST /api/v1/alliance/readings": rule(NOBODY, {"result_id": "{result_id}"}),
    "GET /api/v1/alliance/readings": rule(CLINICIANS, empty=True),  # own centre's worklist
    "POST /api/v1/alliance/readings/{reading_id}/claim": rule(NOBODY, params={"reading_id": MISSING}),
    "POST /api/v1/alliance/readings/{reading_id}/report": rule(
        NOBODY, {"findings": "越权报告", "conclusion": "无"}, params={"reading_id": MISSING}
    ),
    "POST /api/v1/alliance/readings/{reading_id}/verify": rule(NOBODY, params={"reading_id": MISSING}),
    # --- evacuation: A's buildings and events (the matrix builds none: an outsider gets 403/404)
    "GET /api/v1/evacuation/buildings": rule(NOBODY, query={"institution_id": "{institution_id}"}),
    "POST /api/v1/evacuation/buildings": rule(NOBODY, {"institution_id": "{institution_id}", "document": {}}),
    "GET /api/v1/evacuation/buildings/{building_id}/document": rule(NOBODY, params={"building_id": MISSING}),
    "GET /api/v1/evacuation/buildings/{building_id}/wards/{ward}/plan.pdf": rule(
        NOBODY, params={"building_id": MISSING, "ward": "W01"}
    ),
    "POST /api/v1/evacuation/buildings/{building_id}/events": rule(
        NOBODY, {"kind": "drill"}, params={"building_id": MISSING}
    ),
    "GET /api/v1/evacuation/events/{event_id}/plan": rule(NOBODY, params={"event_id": MISSING}),
    "POST /api/v1/evacuation/events/{event_id}/hazards": rule(
        NOBODY, {"kind": "fire", "target": "X"}, params={"event_id": MISSING}
    ),
    "POST /api/v1/evacuation/events/{event_id}/close": rule(NOBODY, params={"event_id": MISSING}),
    "PUT /api/v1/evacuation/admissions/{admission_id}/mobility": rule(
        NOBODY, {"mobility": "bedridden"}, params={"admission_id": MISSING}
    ),
    "POST /api/v1/evacuation/events/{event_id}/replays": rule(
        NOBODY, {"floor": 6}, params={"event_id": MISSING}
    ),
    "GET /api/v1/evacuation/events/{event_id}/replays": rule(NOBODY, params={"event_id": MISSING}),
    "GET /api/v1/evacuation/replays/{replay_id}": rule(NOBODY, params={"replay_id": MISSING}),
}


def app_routes(app: FastAPI) -> list[str]:
    """``METHOD /path`` of every operation in the app's OpenAPI document."""
    return [f"{m.upper()} {path}" for path, ops in app.openapi()["paths"].items() for m in ops]


def test_every_route_has_a_rule(api_app: FastAPI) -> None:
    routes = app_routes(api_app)
    missing = [r for r in routes if r not in MATRIX]
    assert not missing, (
        "routes without an access rule in tests/kit/test_access_matrix.py MATRIX — add a line for each, "
        "saying which roles of another institution may call it (and a valid body):\n  " + "\n  ".join(missing)
    )
    stale = sorted(set(MATRIX) - set(routes))
    assert not stale, f"MATRIX lists routes the app no longer has: {stale}"


# ------------------------------------------------------------------------------------------ the world


def _fill(value: Any, ids: dict[str, Any]) -> Any:
    """Put the world's ids into ``{name}`` placeholders (a whole placeholder keeps the id's type)."""
    if isinstance(value, str):
        whole = re.fullmatch(r"\{(\w+)\}", value)
        if whole and whole.group(1) in ids:
            return ids[whole.group(1)]
        return value.format(**ids) if "{" in value and "|" not in value else value
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, ids) for v in value]
    return value


def _world(session: Session) -> dict[str, Any]:
    """Hospital A with one of each record; returns the ids the paths and bodies use."""
    catalog.import_items(session, ITEMS)
    catalog.import_diagnoses(session, "code,name\nE11.900,2型糖尿病不伴有并发症\n")
    seed_policies(session)
    a = make_institution(session, code="MTXA", name="矩阵医院")
    dept = make_department(session, institution=a, code="NK01")
    doc = make_practitioner(session, institution=a, department=dept)
    doctor = actor_of(make_user(session, role=Role.DOCTOR, institution=a, practitioner=doc))
    desk = actor_of(make_user(session, role=Role.REGISTRAR, institution=a))
    patient = make_patient(session, name="矩阵患者", institution=a)
    relative = make_patient(session, name="矩阵家属", institution=a)
    relation = registry.add_relation(
        session, SYSTEM, patient.id, RelationCreate(relative_id=relative.id, relation_type="sibling")
    )
    registry.verify_relation(session, SYSTEM, relation.id)
    consent = registry.grant_consent(
        session, SYSTEM, ConsentCreate(relation_id=relation.id, grantor_id=patient.id, scope="view_record")
    )
    template = scheduling.save_template(session, SYSTEM, department_id=dept.id, weekday=0, period="am")
    sched = scheduling.create_schedule(
        session, SYSTEM, department_id=dept.id, day=date(2026, 5, 7), period="pm", practitioner_id=doc.id
    )
    slot = scheduling.slots(session, sched.id)[0]
    booking = scheduling.book(session, desk, slot_id=slot.id, patient_id=patient.id, channel="desk")
    scheduling.confirm(session, desk, booking.id)
    scheduling.check_in(session, desk, booking.id)
    entry = scheduling.call_next(session, doctor, sched.id)
    encounter = outpatient.open_encounter(
        session, doctor, EncounterCreate(patient_id=patient.id, department_id=dept.id)
    )
    order, _charge, _ = billing.order_with_credit(session, doctor, encounter.id, "250301001000000")
    billing.order_with_credit(session, doctor, encounter.id, "250301003000000")
    settled = billing.settle(
        session,
        encounter_id=encounter.id,
        day=clock.business_date(),
        channel=Channel.WECHAT,
        idempotency_key="matrix-auto",
        payer_ref="u-declined",
        mode="auto",
    )
    arrears = billing.arrears_of(session, patient.id)
    hl7 = "\r".join(
        [
            "MSH|^~\\&|LIS|MTXA|YILIAN|REGION|20260507090000||ORU^R01^ORU_R01|MTX1|P|2.5",
            f"PID|1||{patient.id_number}^^^^NNCHN||矩阵^患者",
            "OBR|1||MTX1-F|GLU|||20260507080000",
            "OBX|1|NM|GLU^血糖^L||5.6|mmol/L|3.9-6.1||||F|||20260507080000",
        ]
    )
    result_id = results.ingest_hl7(session, hl7).result_ids[0]
    audit.store_lines(
        session,
        [
            ClaimLine(
                line_id=990001,
                claim_id="MTX-C1",
                patient_id="MTX-P",
                sex="F",
                age=40,
                scheme="employee",
                level=3,
                setting="outpatient",
                diagnosis="J06.9",
                admit_date=date(2026, 5, 7),
                discharge_date=date(2026, 5, 7),
                service_date=date(2026, 5, 7),
                item_code="XG03BAA001",  # SEX-001: for men only
                quantity=1,
                unit_price=6000,
                amount=6000,
                department=audit.qualified_department("MTXA", "NK01"),
            )
        ],
        "matrix",
    )
    run = audit.run_audit(session, SYSTEM, date(2026, 5, 1), date(2026, 5, 31))
    (finding,), _ = audit.list_findings(session, SYSTEM, run.id, claim_id="MTX-C1")
    session.flush()
    return {
        "institution_id": a.id,
        "department_id": dept.id,
        "practitioner_id": doc.id,
        "patient_id": patient.id,
        "relative_id": relative.id,
        "id_number": patient.id_number,
        "mpi_id": patient.mpi_id,
        "relation_id": relation.id,
        "consent_id": consent.id,
        "template_id": template.id,
        "schedule_id": sched.id,
        "slot_id": slot.id,
        "booking_id": booking.id,
        "entry_id": entry.id,
        "encounter_id": encounter.id,
        "order_id": order.id,
        "settlement_id": settled.id,
        "arrear_id": arrears[0].id if arrears else MISSING,
        "result_id": result_id,
        "run_id": run.id,
        "finding_id": finding.id,
        "batch_id": MISSING,
        "user_id": doctor.user_id or MISSING,
        "year": 2026,
        "day": "2026-10-01",
        "diagnosis_id": MISSING,
        "allergy_id": MISSING,
        "prescription_id": MISSING,
        "line_id": MISSING,
        "ward_id": MISSING,
        "bed_id": MISSING,
        "request_id": MISSING,
        "admission_id": MISSING,
        "preadmission_id": MISSING,
        "missing": MISSING,
        "new_id_number": "110101199003070011",
        "precheck": {
            "patient_dtos": [
                {
                    "patn_id": "MTX-P",
                    "gend": "2",
                    "brdy": "1986-01-01",
                    "curr_mdtrt_id": "M1",
                    "fsi_encounter_dtos": [
                        {
                            "mdtrt_id": "M1",
                            "medins_lv": 3,
                            "med_mdtrt_type": "1",
                            "adm_date": "2026-05-07",
                            "dscg_main_dise_codg": "J06.900",
                            "fsi_order_dtos": [
                                {"rx_id": "R1", "hilist_code": "250101001", "cnt": 1, "pric": 100}
                            ],
                        }
                    ],
                }
            ]
        },
    }


def _outsiders(session: Session, client: TestClient) -> dict[str, dict[str, str]]:
    """Each role at hospital B (a community centre), and a patient and a family account unrelated to A's
    patient: logged in over HTTP."""
    b = make_institution(session, code="MTXB", category=InstitutionCategory.COMMUNITY_CENTRE, level=1)
    dept_b = make_department(session, institution=b, code="NK01")
    users = {}
    for name in OUTSIDERS:
        role = ROLE_OF[name]
        if role in (Role.PATIENT, Role.FAMILY):
            users[name] = make_user(session, role=role, patient=make_patient(session, name=f"路人{name}"))
        elif role is Role.DOCTOR:
            doc = make_practitioner(session, institution=b, department=dept_b)
            users[name] = make_user(session, role=role, institution=b, practitioner=doc)
        else:
            users[name] = make_user(session, role=role, institution=b)
    return {name: bearer(client, user) for name, user in users.items()}


def _call(client: TestClient, route: str, r: Rule, ids: dict[str, Any], headers: dict[str, str]) -> Any:
    method, template = route.split(" ", 1)
    path = template.format(**{**ids, **r.params})
    query = _fill(r.query, ids)
    headers = {**headers, **r.headers}
    if r.files:
        return client.request(method, path, files=r.files, params=query, headers=headers)
    body = _fill(r.body, ids)
    if isinstance(body, str):
        return client.request(method, path, content=body.encode(), params=query, headers=headers)
    return client.request(method, path, json=body, params=query, headers=headers)


def test_outsiders_are_refused_route_by_route(
    client: TestClient, session: Session, api_app: FastAPI, frozen_clock: clock.FrozenClock
) -> None:
    ids = _world(session)
    headers = _outsiders(session, client)
    routes = sorted(app_routes(api_app), key=lambda r: r == "POST /api/v1/auth/logout")  # logout last
    problems: list[str] = []
    calls = 0
    for route in routes:
        r = MATRIX.get(route)
        if r is None:
            continue  # reported by test_every_route_has_a_rule
        for who in OUTSIDERS:
            response = _call(client, route, r, ids, headers[who])
            calls += 1
            status = response.status_code
            if status >= 500 and (route, status) != ("GET /healthz", 503):  # 503: the probe's own answer
                problems.append(f"{route} as {who}: server error {status}")
            elif r.allowed is None:
                continue
            elif who in r.allowed:
                if status in (401, 403):
                    problems.append(
                        f"{route} as {who}: expected to get through, got {status} {response.text[:120]}"
                    )
            elif status not in (403, 404):
                problems.append(
                    f"{route} as {who} of another institution: expected 403/404, got {status} {response.text[:160]}"
                )
            elif not response.headers["content-type"].startswith(REFUSAL_TYPES):
                problems.append(f"{route} as {who}: refusal is not problem+json")
    assert calls == len(MATRIX) * len(OUTSIDERS)
    assert not problems, f"{len(problems)} of {calls} calls broke the access matrix:\n  " + "\n  ".join(
        problems
    )
