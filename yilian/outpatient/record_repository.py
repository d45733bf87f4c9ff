"""Every query of outpatient records, allergies and prescriptions."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from yilian.outpatient.models import Order
from yilian.outpatient.record_models import (
    OutpatientRecord,
    OutpatientRecordVersion,
    PatientAllergy,
    Prescription,
    PrescriptionLine,
    PrescriptionReview,
    RecordTemplate,
)
from yilian.outpatient.rx_domain import PrescriptionStatus


def record_of(session: Session, encounter_id: int) -> OutpatientRecord | None:
    return session.scalar(select(OutpatientRecord).where(OutpatientRecord.encounter_id == encounter_id))


def records_of_patient(session: Session, patient_id: int) -> Sequence[OutpatientRecord]:
    return session.scalars(
        select(OutpatientRecord)
        .where(OutpatientRecord.patient_id == patient_id)
        .order_by(OutpatientRecord.business_date.desc(), OutpatientRecord.id.desc())
    ).all()


def versions_of(session: Session, record_id: int) -> Sequence[OutpatientRecordVersion]:
    return session.scalars(
        select(OutpatientRecordVersion)
        .where(OutpatientRecordVersion.record_id == record_id)
        .order_by(OutpatientRecordVersion.version)
    ).all()


def templates_for(session: Session, department_id: int | None) -> Sequence[RecordTemplate]:
    query = select(RecordTemplate).where(
        (RecordTemplate.department_id == department_id) | RecordTemplate.department_id.is_(None)
    )
    return session.scalars(query.order_by(RecordTemplate.department_id.is_(None), RecordTemplate.id)).all()


def allergies_of(session: Session, patient_id: int) -> Sequence[PatientAllergy]:
    return session.scalars(
        select(PatientAllergy).where(PatientAllergy.patient_id == patient_id).order_by(PatientAllergy.id)
    ).all()


def prescription(session: Session, prescription_id: int, *, for_update: bool = False) -> Prescription | None:
    query = select(Prescription).where(Prescription.id == prescription_id)
    return session.scalar(query.with_for_update() if for_update else query)


def prescription_of_kind(session: Session, encounter_id: int, kind: str) -> Prescription | None:
    return session.scalar(
        select(Prescription).where(Prescription.encounter_id == encounter_id, Prescription.kind == kind)
    )


def prescriptions_of(session: Session, encounter_id: int) -> Sequence[Prescription]:
    return session.scalars(
        select(Prescription).where(Prescription.encounter_id == encounter_id).order_by(Prescription.id)
    ).all()


def prescriptions_of_patient(session: Session, patient_id: int) -> Sequence[Prescription]:
    return session.scalars(
        select(Prescription)
        .where(Prescription.patient_id == patient_id, Prescription.status != PrescriptionStatus.DRAFT.value)
        .order_by(Prescription.id.desc())
    ).all()


def prescriptions_in(
    session: Session, institution_ids: Sequence[int], statuses: Sequence[str]
) -> Sequence[Prescription]:
    if not institution_ids:
        return []
    return session.scalars(
        select(Prescription)
        .where(Prescription.institution_id.in_(institution_ids), Prescription.status.in_(statuses))
        .order_by(Prescription.submitted_at, Prescription.id)
    ).all()


def lines_with_orders(
    session: Session, prescription_ids: Sequence[int]
) -> list[tuple[PrescriptionLine, Order]]:
    if not prescription_ids:
        return []
    rows = session.execute(
        select(PrescriptionLine, Order)
        .join(Order, Order.id == PrescriptionLine.order_id)
        .where(PrescriptionLine.prescription_id.in_(prescription_ids))
        .order_by(PrescriptionLine.prescription_id, PrescriptionLine.id)
    ).all()
    return [(line, order) for line, order in rows]


def line(session: Session, line_id: int) -> PrescriptionLine | None:
    return session.get(PrescriptionLine, line_id)


def line_of_order(session: Session, order_id: int) -> PrescriptionLine | None:
    return session.scalar(select(PrescriptionLine).where(PrescriptionLine.order_id == order_id))


def prescription_ids_of_orders(session: Session, order_ids: Sequence[int]) -> dict[int, Prescription]:
    if not order_ids:
        return {}
    rows = session.execute(
        select(PrescriptionLine.order_id, Prescription)
        .join(Prescription, Prescription.id == PrescriptionLine.prescription_id)
        .where(PrescriptionLine.order_id.in_(order_ids))
    ).all()
    return {order_id: p for order_id, p in rows}


def reviews_of(session: Session, prescription_id: int) -> Sequence[PrescriptionReview]:
    return session.scalars(
        select(PrescriptionReview)
        .where(PrescriptionReview.prescription_id == prescription_id)
        .order_by(PrescriptionReview.id)
    ).all()
