"""Tables of the results area: catalogue, code equivalence, qualification, policy, results, prompts,
decisions and the ingest log."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, Float, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from yilian.kit.db import Base


class ExamItem(Base):
    """A recognisable lab item or imaging exam type (regional code)."""

    __tablename__ = "results_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(60))
    kind: Mapped[str] = mapped_column(String(8))
    validity_days: Mapped[int]
    price_fen: Mapped[int]
    unit: Mapped[str] = mapped_column(String(16), default="")
    specimen: Mapped[str] = mapped_column(String(16), default="")
    discipline: Mapped[str] = mapped_column(String(16), default="")
    modality: Mapped[str] = mapped_column(String(8), default="")
    body_part: Mapped[str] = mapped_column(String(16), default="")
    hr: Mapped[bool] = mapped_column(default=True)
    loinc: Mapped[str] = mapped_column(String(16), default="")
    is_active: Mapped[bool] = mapped_column(default=True)


class CodeMap(Base):
    """An institution's local item code and the regional code it is equivalent to."""

    __tablename__ = "results_code_maps"
    __table_args__ = (UniqueConstraint("institution_id", "local_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"))
    local_code: Mapped[str] = mapped_column(String(32))
    local_name: Mapped[str] = mapped_column(String(60), default="")
    item_code: Mapped[str] = mapped_column(String(32), index=True)


class Qualification(Base):
    """An institution's recognition qualification: the HR mark."""

    __tablename__ = "results_qualifications"

    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), primary_key=True)
    hr_mark: Mapped[bool] = mapped_column(default=False)
    updated_at: Mapped[datetime]


class QaRecord(Base):
    """External quality assessment (室间质评) of one lab discipline of an institution."""

    __tablename__ = "results_qa"
    __table_args__ = (UniqueConstraint("institution_id", "discipline"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"))
    discipline: Mapped[str] = mapped_column(String(16))
    passed: Mapped[bool] = mapped_column(default=True)
    passed_on: Mapped[date] = mapped_column(Date)
    expires_on: Mapped[date] = mapped_column(Date)


class Policy(Base):
    """Recognition policy data as JSON text (one row per key)."""

    __tablename__ = "results_policy"

    key: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime]


class Result(Base):
    """One lab observation or imaging study report from an institution of the alliance."""

    __tablename__ = "results"
    __table_args__ = (
        Index("ix_results_lookup", "patient_id", "item_code", "result_date"),
        Index("ix_results_patient_observed", "patient_id", "observed_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"))
    item_code: Mapped[str] = mapped_column(String(32))
    local_code: Mapped[str] = mapped_column(String(32), default="")
    kind: Mapped[str] = mapped_column(String(8))
    value_text: Mapped[str] = mapped_column(String(200), default="")
    value_num: Mapped[float | None] = mapped_column(Float)
    unit: Mapped[str] = mapped_column(String(16), default="")
    reference_range: Mapped[str] = mapped_column(String(40), default="")
    abnormal_flag: Mapped[str] = mapped_column(String(4), default="")
    status: Mapped[str] = mapped_column(String(12))
    observed_at: Mapped[datetime]
    result_date: Mapped[date] = mapped_column(Date)
    report_text: Mapped[str] = mapped_column(Text, default="")
    study_uid: Mapped[str] = mapped_column(String(64), default="")
    channel: Mapped[str] = mapped_column(String(8))  # hl7 / fhir / dicom / demo
    source_key: Mapped[str] = mapped_column(String(160), unique=True)  # idempotency key
    received_at: Mapped[datetime]
    comment: Mapped[str] = mapped_column(Text, default="")  # comments sent with it (HL7 NTE / NOTE OBX)
    reported_at: Mapped[datetime | None]  # when the sender reported the version shown (HL7 MSH-7)


class ResultRevision(Base):
    """One delivery of an observation (who sent what when): the first report, corrections, final
    results and late or superseded ones alike; ``applied`` tells whether it became the stored version."""

    __tablename__ = "results_revisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    result_id: Mapped[int] = mapped_column(ForeignKey("results.id"), index=True)
    channel: Mapped[str] = mapped_column(String(8))
    sender: Mapped[str] = mapped_column(String(64))
    message_id: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(12))
    value_text: Mapped[str] = mapped_column(String(200), default="")
    value_num: Mapped[float | None] = mapped_column(Float)
    unit: Mapped[str] = mapped_column(String(16), default="")
    reference_range: Mapped[str] = mapped_column(String(40), default="")
    abnormal_flag: Mapped[str] = mapped_column(String(4), default="")
    comment: Mapped[str] = mapped_column(Text, default="")
    observed_at: Mapped[datetime]
    reported_at: Mapped[datetime | None]
    received_at: Mapped[datetime]
    applied: Mapped[bool]


class IngestLog(Base):
    """One received message (accepted or rejected), keyed by sender and message id for idempotency."""

    __tablename__ = "results_ingest_log"
    __table_args__ = (UniqueConstraint("channel", "sender", "message_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(8))
    sender: Mapped[str] = mapped_column(String(64))
    message_id: Mapped[str] = mapped_column(String(100))
    accepted: Mapped[bool]
    result_count: Mapped[int] = mapped_column(default=0)
    reason: Mapped[str] = mapped_column(String(300), default="")
    received_at: Mapped[datetime]


class Prompt(Base):
    """A repeat-order prompt (重复开单提醒): a check that found recognisable results."""

    __tablename__ = "results_prompts"
    __table_args__ = (Index("ix_results_prompts_inst_date", "institution_id", "business_date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    practitioner_id: Mapped[int | None] = mapped_column(ForeignKey("practitioners.id"))
    item_code: Mapped[str] = mapped_column(String(32))
    business_date: Mapped[date] = mapped_column(Date)
    candidate_ids: Mapped[str] = mapped_column(String(400))
    created_at: Mapped[datetime]


class RecognitionDecision(Base):
    """The doctor's decision on a prompt: 互认 (order not placed, fee saved) or 不互认 with reasons."""

    __tablename__ = "results_decisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    prompt_id: Mapped[int] = mapped_column(ForeignKey("results_prompts.id"), unique=True)
    decision: Mapped[str] = mapped_column(String(8))
    result_id: Mapped[int | None] = mapped_column(ForeignKey("results.id"))
    reasons: Mapped[str] = mapped_column(String(300), default="")
    note: Mapped[str] = mapped_column(String(200), default="")
    fee_saved_fen: Mapped[int] = mapped_column(default=0)
    user_id: Mapped[int | None]
    decided_at: Mapped[datetime]
