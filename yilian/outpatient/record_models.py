"""Tables of the outpatient record (门诊病历), its signed versions, department templates, the patient's
allergies, and prescriptions (处方) with their lines and review verdicts (审方)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from yilian.kit.db import Base


class OutpatientRecord(Base):
    """The doctor's record of one encounter; fields change freely until signed, then by amendment."""

    __tablename__ = "outpatient_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    encounter_id: Mapped[int] = mapped_column(ForeignKey("encounters.id"), unique=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    business_date: Mapped[date] = mapped_column(Date)
    chief_complaint: Mapped[str] = mapped_column(Text, default="")
    present_illness: Mapped[str] = mapped_column(Text, default="")
    past_history: Mapped[str] = mapped_column(Text, default="")
    physical_exam: Mapped[str] = mapped_column(Text, default="")
    advice: Mapped[str] = mapped_column(Text, default="")
    weight_kg: Mapped[Decimal | None] = mapped_column(Numeric(5, 1))
    pregnancy: Mapped[str] = mapped_column(String(16), default="")  # pregnant, lactating or ""
    template_id: Mapped[int | None] = mapped_column(ForeignKey("record_templates.id"))
    version: Mapped[int] = mapped_column(default=0)  # 0 until signed
    signed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    signer_name: Mapped[str] = mapped_column(String(40), default="")
    signed_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]


class OutpatientRecordVersion(Base):
    """A signed version of a record: the first signature, then each amendment with its reason."""

    __tablename__ = "outpatient_record_versions"
    __table_args__ = (UniqueConstraint("record_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("outpatient_records.id"), index=True)
    version: Mapped[int]
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    signed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    signer_name: Mapped[str] = mapped_column(String(40))
    signed_at: Mapped[datetime]
    reason: Mapped[str] = mapped_column(String(200), default="")


class RecordTemplate(Base):
    """A record template of a department (or of every department when ``department_id`` is empty)."""

    __tablename__ = "record_templates"

    id: Mapped[int] = mapped_column(primary_key=True)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"), index=True)
    name: Mapped[str] = mapped_column(String(60))
    content: Mapped[dict[str, Any]] = mapped_column(JSON)


class PatientAllergy(Base):
    """An allergy kept on the patient (an ingredient, a class or a group such as 青霉素类)."""

    __tablename__ = "patient_allergies"
    __table_args__ = (UniqueConstraint("patient_id", "substance"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    substance: Mapped[str] = mapped_column(String(60))
    reaction: Mapped[str] = mapped_column(String(100), default="")
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime]


class Prescription(Base):
    """A prescription: one per kind per encounter, an order group whose lines are drug orders."""

    __tablename__ = "prescriptions"
    __table_args__ = (UniqueConstraint("encounter_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    encounter_id: Mapped[int] = mapped_column(ForeignKey("encounters.id"), index=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    long_term: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(String(16), index=True)
    findings: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    doctor_note: Mapped[str] = mapped_column(String(300), default="")  # the justification on resubmitting
    return_reason: Mapped[str] = mapped_column(String(300), default="")
    revised: Mapped[bool] = mapped_column(default=False)  # lines changed since the last return
    written_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    doctor_name: Mapped[str] = mapped_column(String(40), default="")
    created_at: Mapped[datetime]
    submitted_at: Mapped[datetime | None]
    reviewed_at: Mapped[datetime | None]
    dispensed_at: Mapped[datetime | None]


class PrescriptionLine(Base):
    """One drug on a prescription: its order (charged through billing) and how to take it."""

    __tablename__ = "prescription_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    prescription_id: Mapped[int] = mapped_column(ForeignKey("prescriptions.id"), index=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), unique=True)
    item_code: Mapped[str] = mapped_column(String(32))
    dose: Mapped[Decimal] = mapped_column(Numeric(12, 4))
    dose_unit: Mapped[str] = mapped_column(String(8))
    frequency: Mapped[str] = mapped_column(String(8))
    route: Mapped[str] = mapped_column(String(8))
    days: Mapped[int]
    quantity_rule: Mapped[str] = mapped_column(String(300))
    instructions: Mapped[str] = mapped_column(String(200))


class PrescriptionReview(Base):
    """A pharmacist's verdict on a prescription (pass or return with a reason), kept as history."""

    __tablename__ = "prescription_reviews"

    id: Mapped[int] = mapped_column(primary_key=True)
    prescription_id: Mapped[int] = mapped_column(ForeignKey("prescriptions.id"), index=True)
    verdict: Mapped[str] = mapped_column(String(8))  # pass, return
    reason: Mapped[str] = mapped_column(String(300), default="")
    reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reviewer_name: Mapped[str] = mapped_column(String(40))
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"))
    findings: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    reviewed_at: Mapped[datetime]
