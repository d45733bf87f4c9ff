"""Tables of outpatient care."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from yilian.kit.db import Base


class Encounter(Base):
    """One outpatient visit on one business day."""

    __tablename__ = "encounters"
    __table_args__ = (Index("ix_encounters_patient_day", "patient_id", "business_date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), index=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    practitioner_id: Mapped[int | None] = mapped_column(ForeignKey("practitioners.id"))
    registration_id: Mapped[int | None] = mapped_column(unique=True)  # scheduling's registration, when any
    clinic_type: Mapped[str] = mapped_column(String(16), default="ordinary")
    business_date: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="open")
    opened_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]


class EncounterDiagnosis(Base):
    """A diagnosis of an encounter, ICD-10 (医保版) coded; one is primary."""

    __tablename__ = "encounter_diagnoses"

    id: Mapped[int] = mapped_column(primary_key=True)
    encounter_id: Mapped[int] = mapped_column(ForeignKey("encounters.id"), index=True)
    code: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(200))
    is_primary: Mapped[bool] = mapped_column(default=False)


class Order(Base):
    """An order with a price snapshot taken from the catalogue when it was placed."""

    __tablename__ = "orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    encounter_id: Mapped[int] = mapped_column(ForeignKey("encounters.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    item_code: Mapped[str] = mapped_column(String(32))
    item_name: Mapped[str] = mapped_column(String(200))
    quantity: Mapped[int]
    unit: Mapped[str] = mapped_column(String(16))
    unit_price: Mapped[int]
    amount: Mapped[int]
    insurance_class: Mapped[str] = mapped_column(String(2))
    self_pay_permille: Mapped[int] = mapped_column(default=0)
    status: Mapped[str] = mapped_column(String(16))
    ordered_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    placed_at: Mapped[datetime]
    performed_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    cancel_reason: Mapped[str] = mapped_column(String(200), default="")


from yilian.outpatient.herbal_models import HerbalLine, HerbalPrescription  # noqa: E402  (herbal prescriptions)
from yilian.outpatient.record_models import (  # noqa: E402  (record and prescription tables)
    OutpatientRecord,
    OutpatientRecordVersion,
    PatientAllergy,
    Prescription,
    PrescriptionLine,
    PrescriptionReview,
    RecordTemplate,
)

__all__ = [
    "Encounter",
    "EncounterDiagnosis",
    "HerbalLine",
    "HerbalPrescription",
    "Order",
    "OutpatientRecord",
    "OutpatientRecordVersion",
    "PatientAllergy",
    "Prescription",
    "PrescriptionLine",
    "PrescriptionReview",
    "RecordTemplate",
]
