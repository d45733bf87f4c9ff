"""API shapes of the results area."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from yilian.kit.bounds import MAX_INT, Id
from yilian.results.domain import Decision, ItemKind, NonRecognitionReason


class ItemRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    name: str
    kind: ItemKind
    validity_days: int
    price_fen: int
    unit: str
    specimen: str
    discipline: str
    modality: str
    body_part: str
    hr: bool
    loinc: str


class ItemUpdate(BaseModel):
    validity_days: int | None = Field(default=None, ge=1, le=3650)
    price_fen: int | None = Field(default=None, ge=0, le=MAX_INT)
    hr: bool | None = None


class ResultRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    patient_id: Id
    institution_id: Id
    item_code: str
    local_code: str
    kind: ItemKind
    value_text: str
    value_num: float | None
    unit: str
    reference_range: str
    abnormal_flag: str
    status: str
    observed_at: datetime
    result_date: date
    report_text: str
    study_uid: str
    channel: str
    comment: str = ""
    reported_at: datetime | None = None


class RevisionRead(BaseModel):
    """One delivery of a result: who sent what when, and whether it became the stored version."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    channel: str
    sender: str
    message_id: str
    status: str
    value_text: str
    value_num: float | None
    unit: str
    reference_range: str
    abnormal_flag: str
    comment: str
    observed_at: datetime
    reported_at: datetime | None
    received_at: datetime
    applied: bool


class IngestRead(BaseModel):
    message_id: str
    duplicate: bool
    result_ids: list[Id]
    updated_ids: list[Id] = []  # stored results whose version this message replaced (a correction)


class HrMarkUpdate(BaseModel):
    hr_mark: bool


class QaUpdate(BaseModel):
    discipline: str = Field(min_length=1, max_length=16)
    passed: bool = True
    passed_on: date
    expires_on: date


class CheckRequest(BaseModel):
    patient_id: Id
    institution_id: Id
    department_id: Id | None = None
    practitioner_id: Id | None = None
    item_code: str = Field(min_length=1, max_length=32)
    business_date: date | None = None


class CandidateRead(BaseModel):
    result: ResultRead
    institution_name: str
    qualifies: bool
    why: list[str]
    why_not: list[str]
    valid_until: date


class CheckRead(BaseModel):
    prompt_id: Id | None
    item_code: str
    item_name: str
    price_fen: int
    business_date: date
    candidates: list[CandidateRead]
    rejected: list[CandidateRead]


class DecisionCreate(BaseModel):
    prompt_id: Id
    decision: Decision
    result_id: Id | None = None
    reasons: list[NonRecognitionReason] = Field(default_factory=list)
    note: str = Field(default="", max_length=1000)


class DecisionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    prompt_id: Id
    decision: Decision
    result_id: Id | None
    reasons: str
    note: str
    fee_saved_fen: int
    decided_at: datetime
    order_placed: bool = False


class CodeMapRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    institution_id: Id
    local_code: str
    local_name: str
    item_code: str


class ImportRead(BaseModel):
    rows: int
    created: int
    updated: int
