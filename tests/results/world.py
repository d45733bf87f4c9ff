"""The results tests' world: a small alliance with qualified labs and one patient; an HL7 lab result."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import Session

from tests.builders import SYSTEM, make_institution, make_patient, make_practitioner
from yilian.registry import service as registry
from yilian.registry.domain import Grade
from yilian.registry.models import Institution, Patient, Practitioner
from yilian.results import service


@dataclass
class World:
    tertiary: Institution  # 三级甲等, in the alliance
    county: Institution  # 二级甲等, in the alliance
    outside_low: Institution  # 二级乙等, outside the alliance
    unqualified: Institution  # 二级甲等 in the alliance, no QA
    patient: Patient
    doctor: Practitioner


def hl7_time(d: date, hhmm: str = "0800") -> str:
    return d.strftime("%Y%m%d") + hhmm + "00"


def make_world(session: Session) -> World:
    """The alliance in ``session``: four labs (three with passed QA and the mutual-recognition mark),
    a patient, a doctor."""
    alliance = registry.create_alliance(session, code="T-ALL", name="测试医联体", region_code="320600")
    tertiary = make_institution(
        session, name="测试总医院", code="TGH", level=3, grade=Grade.A, alliance_id=alliance.id
    )
    county = make_institution(
        session, name="测试县医院", code="TCO", level=2, grade=Grade.A, alliance_id=alliance.id
    )
    outside = make_institution(session, name="外地二乙医院", code="TOUT", level=2, grade=Grade.B)
    unqualified = make_institution(
        session, name="未质评医院", code="TUNQ", level=2, grade=Grade.A, alliance_id=alliance.id
    )
    for inst in (tertiary, county, outside):
        for discipline in ("临床化学", "临床免疫", "临床血液"):
            service.set_qa(
                session,
                SYSTEM,
                institution_id=inst.id,
                discipline=discipline,
                passed=True,
                passed_on=date(2026, 1, 10),
                expires_on=date(2026, 12, 31),
            )
        service.set_hr_mark(session, SYSTEM, inst.id, True)
    patient = make_patient(session, name="王血糖", institution=tertiary)
    doctor = make_practitioner(session, institution=tertiary)
    return World(tertiary, county, outside, unqualified, patient, doctor)


TODAY = date(2026, 5, 7)  # frozen_clock's business date


def lab_result(
    session: Session,
    world: World,
    *,
    sender: str,
    control: str,
    day: date,
    code: str = "GLU",
    value: str = "5.6",
    status: str = "F",
) -> int:
    text = "\r".join(
        [
            f"MSH|^~\\&|LIS|{sender}|YILIAN|REGION|{day:%Y%m%d}090000||ORU^R01^ORU_R01|{control}|P|2.5",
            f"PID|1||{world.patient.id_number}^^^^NNCHN||王^血糖",
            f"OBR|1||{control}-F|{code}|||{day:%Y%m%d}080000",
            f"OBX|1|NM|{code}^项目^L||{value}|mmol/L|3.9-6.1||||{status}|||{day:%Y%m%d}080000",
        ]
    )
    return service.ingest_hl7(session, text).result_ids[0]
