"""A small world for prescribing, review and dispensing tests: the demo catalogue and drug knowledge,
a hospital with a doctor, two pharmacists and a stocked pharmacy, and a patient in an open visit."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from importlib import resources

from sqlalchemy.orm import Session

from tests.billing.world import seed_policies
from tests.builders import (
    actor_of,
    make_department,
    make_institution,
    make_patient,
    make_practitioner,
    make_user,
)
from yilian.catalog import drug_service
from yilian.catalog import service as catalog
from yilian.kit.auth.domain import Actor, Role
from yilian.kit.auth.models import User
from yilian.outpatient import service as outpatient
from yilian.outpatient.record_schemas import LineCreate
from yilian.outpatient.schemas import EncounterCreate
from yilian.pharmacy import service as pharmacy
from yilian.registry.models import Department, Institution

METFORMIN = "XA10BAM039A001010100001"  # 0.5 g × 48 片 per 盒, ¥12.80
CIMETIDINE = "XA02BAX001A001010100001"  # interacts with metformin
AMOXICILLIN = "XJ01CAA040A001010100001"


@dataclass
class RxWorld:
    hospital: Institution
    department: Department
    doctor: Actor
    pharmacist: Actor
    checker: User
    pharmacy_id: int
    patient_id: int
    encounter_id: int


def load_catalogue(session: Session) -> None:
    data = resources.files("yilian.catalog") / "data"
    catalog.import_items(session, (data / "demo_items.csv").read_text(encoding="utf-8"))
    wanted = {"E11.900", "I10.x00", "Z99.900", "J06.900", "K29.700"}  # the codes these tests diagnose
    catalog.load_code_table(
        session, "diagnosis", [r for r in catalog.shipped_table_rows("diagnosis") if r[0] in wanted]
    )
    drug_service.import_knowledge(session, json.loads((data / "demo_drugs.json").read_text(encoding="utf-8")))


def make_rx_world(session: Session, *, stock: int = 10) -> RxWorld:
    load_catalogue(session)
    seed_policies(session)
    hospital = make_institution(session)
    department = make_department(session, institution=hospital)
    practitioner = make_practitioner(session, institution=hospital, department=department)
    doctor = actor_of(make_user(session, role=Role.DOCTOR, institution=hospital, practitioner=practitioner))
    pharmacist = actor_of(make_user(session, role=Role.PHARMACIST, institution=hospital))
    checker = make_user(session, role=Role.PHARMACIST, institution=hospital)
    store = pharmacy.open_pharmacy(session, hospital.id, code=f"PH{hospital.id}", name="门诊西药房")
    for code in (METFORMIN, CIMETIDINE, AMOXICILLIN):
        pharmacy.receive(
            session, store.id, item_code=code, batch_no="B-LATE", expiry=date(2028, 6, 30), quantity=stock
        )
    patient = make_patient(session, institution=hospital)
    encounter = outpatient.open_encounter(
        session, doctor, EncounterCreate(patient_id=patient.id, department_id=department.id)
    )
    return RxWorld(hospital, department, doctor, pharmacist, checker, store.id, patient.id, encounter.id)


def metformin_line(**changes: object) -> LineCreate:
    values: dict[str, object] = {
        "item_code": METFORMIN,
        "dose": "0.5",
        "dose_unit": "g",
        "frequency": "tid",
        "route": "po",
        "days": 14,
    }
    values.update(changes)
    return LineCreate.model_validate(values)


def cimetidine_line() -> LineCreate:
    return LineCreate(item_code=CIMETIDINE, dose="0.2", dose_unit="g", frequency="bid", route="po", days=7)  # type: ignore[arg-type]
