"""Tables of inpatient care."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from yilian.kit.db import Base


class InpatientPolicy(Base):
    """An institution's inpatient policy values (docs/domain.md §8); defaults until configured."""

    __tablename__ = "inpatient_policies"

    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), primary_key=True)
    preadmission_days: Mapped[int] = mapped_column(default=5)
    preadmission_days_approved: Mapped[int] = mapped_column(default=7)
    emergency_reserve: Mapped[int] = mapped_column(default=2)  # beds per high-emergency department
    severe_stays_in_specialty: Mapped[bool] = mapped_column(default=True)
    mild_may_use_other_wards: Mapped[bool] = mapped_column(default=True)
    bed_item_code: Mapped[str] = mapped_column(String(32), default="")
    nursing_item_code: Mapped[str] = mapped_column(String(32), default="")
    minimum_deposit: Mapped[int] = mapped_column(default=200_000)


class ReferenceStamp(Base):
    """A fresh random token per change of an institution's wards, rooms or relation table: the bed
    office's in-process cache of those tables is valid while the token it was loaded under is current
    (read with the request, so checking costs no round trip; a rolled-back change never reuses one)."""

    __tablename__ = "inpatient_reference_stamps"

    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), primary_key=True)
    stamp: Mapped[str] = mapped_column(String(32))


class Ward(Base):
    """A ward (病区) on a campus and floor, owned by a department."""

    __tablename__ = "wards"
    __table_args__ = (UniqueConstraint("institution_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), index=True)
    campus_id: Mapped[int | None] = mapped_column(ForeignKey("campuses.id"))
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(60))
    building: Mapped[str] = mapped_column(String(40), default="")
    floor: Mapped[int] = mapped_column(default=1)
    is_active: Mapped[bool] = mapped_column(default=True)


class Room(Base):
    """A room of a ward: its sex (\"\" = decided by its occupants) and isolation kind."""

    __tablename__ = "ward_rooms"
    __table_args__ = (UniqueConstraint("ward_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ward_id: Mapped[int] = mapped_column(ForeignKey("wards.id"))
    code: Mapped[str] = mapped_column(String(16))
    sex: Mapped[str] = mapped_column(String(1), default="")
    kind: Mapped[str] = mapped_column(String(20), default="")  # "" | isolation | negative_pressure


class Bed(Base):
    """A bed of the hospital's one pool; its state changes only by conditional UPDATE."""

    __tablename__ = "beds"
    __table_args__ = (
        UniqueConstraint("ward_id", "code"),
        Index("ix_beds_institution_state", "institution_id", "state"),
        Index("ix_beds_room", "room_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"))
    ward_id: Mapped[int] = mapped_column(ForeignKey("wards.id"))
    room_id: Mapped[int] = mapped_column(ForeignKey("ward_rooms.id"))
    code: Mapped[str] = mapped_column(String(16))
    owner_department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    using_department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))  # 借床 when ≠ owner
    monitored: Mapped[bool] = mapped_column(default=False)
    emergency_reserved: Mapped[bool] = mapped_column(default=False)
    state: Mapped[str] = mapped_column(String(12), default="free")
    request_id: Mapped[int | None] = mapped_column()  # the request the bed is reserved for
    admission_id: Mapped[int | None] = mapped_column()  # the admission lying in it
    occupant_sex: Mapped[str] = mapped_column(String(1), default="")
    occupant_isolation: Mapped[str] = mapped_column(String(12), default="")
    version: Mapped[int] = mapped_column(default=0)
    changed_at: Mapped[datetime]


class BedEvent(Base):
    """The history of a bed's states (who, when, why)."""

    __tablename__ = "bed_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    bed_id: Mapped[int] = mapped_column(ForeignKey("beds.id"), index=True)
    at: Mapped[datetime]
    from_state: Mapped[str] = mapped_column(String(12))
    to_state: Mapped[str] = mapped_column(String(12))
    admission_id: Mapped[int | None] = mapped_column()
    username: Mapped[str] = mapped_column(String(64), default="")
    reason: Mapped[str] = mapped_column(String(200), default="")


class WardRelation(Base):
    """A ward a department may borrow beds in, as the administrator ranks it (相关专科 / 邻近病区)."""

    __tablename__ = "ward_relations"
    __table_args__ = (UniqueConstraint("department_id", "ward_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)
    ward_id: Mapped[int] = mapped_column(ForeignKey("wards.id"))
    kind: Mapped[str] = mapped_column(String(12))  # related | nearby
    rank: Mapped[int] = mapped_column(default=1)


class PreAdmission(Base):
    """A planned admission registered from an outpatient visit (预住院)."""

    __tablename__ = "preadmissions"

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), index=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    encounter_id: Mapped[int] = mapped_column(ForeignKey("encounters.id"))
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    registered_on: Mapped[date] = mapped_column(Date)
    extension_approved: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(String(12), default="open")  # open | admitted | cancelled
    diagnosis: Mapped[str] = mapped_column(String(200), default="")
    created_by: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime]


class PreAdmissionOrder(Base):
    """An outpatient order placed on a pre-admission; ``moved`` once its charge joined the inpatient bill."""

    __tablename__ = "preadmission_orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    preadmission_id: Mapped[int] = mapped_column(ForeignKey("preadmissions.id"), index=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), unique=True)
    moved: Mapped[bool] = mapped_column(default=False)


class BedRequest(Base):
    """A patient waiting for a bed (待床), handled by the bed office."""

    __tablename__ = "bed_requests"
    __table_args__ = (Index("ix_bed_requests_institution_status", "institution_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    severity: Mapped[str] = mapped_column(String(12), default="mild")
    isolation: Mapped[str] = mapped_column(String(12), default="none")
    source: Mapped[str] = mapped_column(String(16), default="clinic")
    emergency: Mapped[bool] = mapped_column(default=False)
    expected_on: Mapped[date] = mapped_column(Date)
    preadmission_id: Mapped[int | None] = mapped_column(ForeignKey("preadmissions.id"))
    status: Mapped[str] = mapped_column(
        String(12), default="waiting"
    )  # waiting | assigned | admitted | cancelled
    bed_id: Mapped[int | None] = mapped_column(ForeignKey("beds.id"))
    note: Mapped[str] = mapped_column(String(200), default="")
    requested_at: Mapped[datetime]
    assigned_at: Mapped[datetime | None]
    assigned_by: Mapped[str] = mapped_column(String(64), default="")


class Admission(Base):
    """One inpatient stay; ``in_hospital`` is unique, so a patient is never admitted twice at once."""

    __tablename__ = "admissions"
    __table_args__ = (
        Index("ix_admissions_institution_dates", "institution_id", "admitted_on", "discharged_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)  # 住院号
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    in_hospital: Mapped[int | None] = mapped_column(unique=True)  # = patient_id while in hospital
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    ward_id: Mapped[int] = mapped_column(ForeignKey("wards.id"))
    bed_id: Mapped[int | None] = mapped_column(ForeignKey("beds.id"))
    practitioner_id: Mapped[int | None] = mapped_column(ForeignKey("practitioners.id"))
    request_id: Mapped[int | None] = mapped_column(ForeignKey("bed_requests.id"))
    preadmission_id: Mapped[int | None] = mapped_column(ForeignKey("preadmissions.id"))
    source: Mapped[str] = mapped_column(String(16))
    severity: Mapped[str] = mapped_column(String(12), default="mild")
    isolation: Mapped[str] = mapped_column(String(12), default="none")
    borrowed: Mapped[bool] = mapped_column(default=False)  # placed in a bed of another department
    status: Mapped[str] = mapped_column(String(12))  # admitted | discharged | settled
    deposit_waived: Mapped[bool] = mapped_column(default=False)  # 免押金住院 (credit care)
    # how the patient can move in an evacuation, set by the nurse (ambulatory | wheelchair |
    # bedridden | life_support)
    mobility: Mapped[str] = mapped_column(String(16), default="ambulatory", server_default="ambulatory")
    admitted_on: Mapped[date] = mapped_column(Date)
    admitted_at: Mapped[datetime]
    discharged_on: Mapped[date | None] = mapped_column(Date)
    discharged_at: Mapped[datetime | None]
    disposition: Mapped[int | None] = mapped_column()
    wait_hours: Mapped[float | None] = mapped_column()
    saved_days: Mapped[int] = mapped_column(
        default=0
    )  # pre-admission: days between registration and admission


class Movement(Base):
    """An admission's movements: admitted, transferred (bed / ward / department), discharged."""

    __tablename__ = "admission_movements"

    id: Mapped[int] = mapped_column(primary_key=True)
    admission_id: Mapped[int] = mapped_column(ForeignKey("admissions.id"), index=True)
    kind: Mapped[str] = mapped_column(String(12))  # admit | transfer | discharge
    from_bed_id: Mapped[int | None] = mapped_column(ForeignKey("beds.id"))
    to_bed_id: Mapped[int | None] = mapped_column(ForeignKey("beds.id"))
    from_department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    to_department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    at: Mapped[datetime]
    username: Mapped[str] = mapped_column(String(64), default="")
    reason: Mapped[str] = mapped_column(String(200), default="")


class Deposit(Base):
    """A deposit (预交金) paid, topped up or refunded through billing's channels."""

    __tablename__ = "inpatient_deposits"

    id: Mapped[int] = mapped_column(primary_key=True)
    admission_id: Mapped[int] = mapped_column(ForeignKey("admissions.id"), index=True)
    kind: Mapped[str] = mapped_column(String(8))  # pay | refund
    amount: Mapped[int]
    channel: Mapped[str] = mapped_column(String(32))
    idempotency_key: Mapped[str] = mapped_column(String(100), unique=True)
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"))
    refund_id: Mapped[int | None] = mapped_column(ForeignKey("refunds.id"))
    created_at: Mapped[datetime]


class InpatientCharge(Base):
    """One line of an admission's bill; ``key`` makes the nightly bed and nursing charges once a day."""

    __tablename__ = "inpatient_charges"
    __table_args__ = (Index("ix_inpatient_charges_admission", "admission_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    admission_id: Mapped[int] = mapped_column(ForeignKey("admissions.id"))
    key: Mapped[str | None] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # bed | nursing | order | preadmission
    service_date: Mapped[date] = mapped_column(Date)
    item_code: Mapped[str] = mapped_column(String(32))
    item_name: Mapped[str] = mapped_column(String(200))
    quantity: Mapped[int] = mapped_column(default=1)
    unit_price: Mapped[int]
    amount: Mapped[int]
    insurance_class: Mapped[str] = mapped_column(String(2))
    self_pay_permille: Mapped[int] = mapped_column(default=0)
    source_order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"), unique=True)
    status: Mapped[str] = mapped_column(String(12), default="open")  # open | settled | void
    settlement_id: Mapped[int | None] = mapped_column(ForeignKey("inpatient_settlements.id"))
    created_at: Mapped[datetime]


class InpatientSettlement(Base):
    """The discharge settlement of an admission (one standing per admission, attempts after reversal)."""

    __tablename__ = "inpatient_settlements"
    __table_args__ = (UniqueConstraint("admission_id", "attempt"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    admission_id: Mapped[int] = mapped_column(ForeignKey("admissions.id"))
    attempt: Mapped[int] = mapped_column(default=1)
    total: Mapped[int]
    fund: Mapped[int]
    personal_account: Mapped[int]
    mutual_aid: Mapped[int]
    mutual_aid_from: Mapped[int | None] = mapped_column(ForeignKey("patients.id"))
    cash: Mapped[int]  # the patient's cash part
    deposit_applied: Mapped[int]  # of the cash part, paid from the deposit
    deposit_refunded: Mapped[int]
    topped_up: Mapped[int]  # cash paid at the counter beyond the deposit
    arrears: Mapped[int] = mapped_column(default=0)  # credit patients: left to pay after discharge
    status: Mapped[str] = mapped_column(String(12))  # settled | arrears | reversed
    breakdown: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime]
    reversed_at: Mapped[datetime | None]


class DischargeAbstract(Base):
    """The discharge abstract (病案首页): diagnoses (ICD-10 医保版) and procedures (ICD-9-CM-3 医保版)."""

    __tablename__ = "discharge_abstracts"

    id: Mapped[int] = mapped_column(primary_key=True)
    admission_id: Mapped[int] = mapped_column(ForeignKey("admissions.id"), unique=True)
    principal_diagnosis: Mapped[str] = mapped_column(String(16), default="")
    other_diagnoses: Mapped[list[str]] = mapped_column(JSON, default=list)
    procedures: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)  # {code, date}
    ventilation_hours: Mapped[int] = mapped_column(default=0)
    newborn_weight_g: Mapped[int | None] = mapped_column()
    status: Mapped[str] = mapped_column(String(12), default="draft")  # draft | signed
    signed_by: Mapped[str] = mapped_column(String(64), default="")
    signed_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]


class AbstractChange(Base):
    """Every change to an abstract: who, when, what before and after."""

    __tablename__ = "discharge_abstract_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    abstract_id: Mapped[int] = mapped_column(ForeignKey("discharge_abstracts.id"), index=True)
    at: Mapped[datetime]
    username: Mapped[str] = mapped_column(String(64))
    field: Mapped[str] = mapped_column(String(32))
    before: Mapped[str] = mapped_column(String(500), default="")
    after: Mapped[str] = mapped_column(String(500), default="")
