"""Small helpers of the inpatient tests."""

from __future__ import annotations

import itertools

from sqlalchemy.orm import Session

from tests.builders import make_patient
from tests.inpatient.conftest import Pool, beds_of
from yilian.billing.domain import Channel
from yilian.inpatient import service as svc
from yilian.inpatient.domain import AdmissionSource, Isolation, Severity
from yilian.inpatient.models import Admission, Bed, Ward
from yilian.registry.domain import Sex
from yilian.registry.models import Department, Patient

_keys = itertools.count(1)


def deposit(amount: int = 300_000) -> svc.DepositIn:
    return svc.DepositIn(amount=amount, channel=Channel.WECHAT, idempotency_key=f"dep-{next(_keys)}")


def patient(session: Session, pool: Pool, *, name: str = "张三", sex: Sex = Sex.MALE) -> Patient:
    return make_patient(session, name=name, sex=sex, institution=pool.hospital)


def admit_to(
    session: Session,
    pool: Pool,
    bed: Bed,
    department: Department,
    *,
    sex: Sex = Sex.MALE,
    isolation: Isolation = Isolation.NONE,
    severity: Severity = Severity.MILD,
    source: AdmissionSource = AdmissionSource.CLINIC,
    who: Patient | None = None,
) -> Admission:
    person = who or patient(session, pool, sex=sex)
    return svc.admit(
        session,
        pool.nurse,
        patient_id=person.id,
        department_id=department.id,
        bed_id=bed.id,
        source=source,
        isolation=isolation,
        severity=severity,
        deposit=deposit(),
    )


def fill(session: Session, pool: Pool, ward: Ward, department: Department) -> None:
    """Occupy every free bed of a ward with patients of the room's sex."""
    for bed in beds_of(session, ward):
        if bed.state != "free" or bed.emergency_reserved:
            continue
        room = session.get(svc.Room, bed.room_id)
        assert room is not None
        admit_to(session, pool, bed, department, sex=Sex.FEMALE if room.sex == "F" else Sex.MALE)
