"""API shapes of the outpatient record, allergies and prescriptions."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

RECORD_FIELDS = ("chief_complaint", "present_illness", "past_history", "physical_exam", "advice")
RECORD_LABELS = {
    "chief_complaint": "主诉",
    "present_illness": "现病史",
    "past_history": "既往史",
    "physical_exam": "体格检查",
    "advice": "处理意见",
}


class RecordUpdate(BaseModel):
    chief_complaint: str | None = Field(default=None, max_length=500)
    present_illness: str | None = Field(default=None, max_length=4000)
    past_history: str | None = Field(default=None, max_length=2000)
    physical_exam: str | None = Field(default=None, max_length=2000)
    advice: str | None = Field(default=None, max_length=2000)
    weight_kg: Decimal | None = Field(default=None, gt=0, le=500)
    pregnancy: str | None = Field(default=None, pattern="^(|pregnant|lactating)$")


class AmendRequest(RecordUpdate):
    reason: str = Field(min_length=1, max_length=200)


class RecordVersionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    version: int
    content: dict[str, object]
    signer_name: str
    signed_at: datetime
    reason: str


class RecordRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    encounter_id: int
    patient_id: int
    business_date: date
    chief_complaint: str
    present_illness: str
    past_history: str
    physical_exam: str
    advice: str
    weight_kg: Decimal | None
    pregnancy: str
    version: int
    signer_name: str
    signed_at: datetime | None


class TemplateRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    department_id: int | None
    name: str
    content: dict[str, str]


class AllergyCreate(BaseModel):
    substance: str = Field(min_length=1, max_length=60, description="成分、类别或药物组，如 青霉素类")
    reaction: str = Field(default="", max_length=100)


class AllergyRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    patient_id: int
    substance: str
    reaction: str
    recorded_at: datetime


class LineCreate(BaseModel):
    item_code: str = Field(min_length=10, max_length=32)
    dose: Decimal = Field(description="每次剂量，如 0.5")
    dose_unit: str = Field(min_length=1, max_length=8, description="剂量单位，如 g、mg、片、ml、单位")
    frequency: str = Field(
        min_length=1, max_length=8, description="频次：qd bid tid qid qn q8h q12h qw biw st prn"
    )
    route: str = Field(default="po", min_length=1, max_length=8)
    days: int = Field(ge=1, le=90)


class PrescriptionCreate(BaseModel):
    kind: str = Field(default="normal", pattern="^(normal|emergency|paediatric|narcotic|psych2)$")
    long_term: bool = False
    lines: list[LineCreate] = Field(default_factory=list, max_length=5)


class SubmitRequest(BaseModel):
    note: str = Field(default="", max_length=300, description="退回后不修改时的用药理由")


class ReviewRequest(BaseModel):
    verdict: str = Field(pattern="^(pass|return)$")
    reason: str = Field(default="", max_length=300)


class FindingRead(BaseModel):
    rule: str
    severity: str
    category: str
    message: str
    lines: list[int]


class LineRead(BaseModel):
    id: int
    order_id: int
    item_code: str
    name: str
    dose: Decimal
    dose_unit: str
    frequency: str
    frequency_label: str
    route: str
    route_label: str
    days: int
    quantity: int
    unit: str
    amount: int
    order_status: str
    quantity_rule: str
    instructions: str


class ReviewRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    verdict: str
    reason: str
    reviewer_name: str
    institution_id: int
    reviewed_at: datetime


class PrescriptionRead(BaseModel):
    id: int
    encounter_id: int
    patient_id: int
    institution_id: int
    kind: str
    kind_label: str
    colour: str
    corner_mark: str
    long_term: bool
    status: str
    status_label: str
    doctor_name: str
    doctor_note: str
    return_reason: str
    findings: list[FindingRead]
    lines: list[LineRead]
    reviews: list[ReviewRead]
    total: int
    created_at: datetime


class ReviewSubject(BaseModel):
    """What a pharmacist sees to review a prescription — not the full patient record (least privilege)."""

    prescription: PrescriptionRead
    patient_name: str
    sex: str
    age_years: int
    weight_kg: Decimal | None
    pregnancy: str
    allergies: list[str]
    diagnoses: list[str]
    institution_name: str
