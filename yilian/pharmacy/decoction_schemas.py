"""API shapes of the shared TCM pharmacy (共享中药房)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from yilian.kit.bounds import Int
from yilian.outpatient.herbal_service import HerbalInput, LineInput


class HerbRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    name: str
    price_fen: int
    usual_min_g: int
    usual_max_g: int
    max_g: int
    toxic: bool
    pregnancy: str
    handling: str


class HerbLineIn(BaseModel):
    herb_code: str = Field(max_length=32)
    grams: Int  # checked by the service (a negative weight is refused in Chinese)


class HerbalCreate(BaseModel):
    lines: list[HerbLineIn] = Field(max_length=60)
    doses: Int = 7
    kind: str = "汤剂"
    formula_class: str = "一般"
    decoct: bool = True
    bag_ml: Int = 200
    bags_per_dose: Int = 2
    child: bool = False
    pregnant: bool = False
    instructions: str = Field(default="", max_length=200)

    def to_input(self) -> HerbalInput:
        data = self.model_dump()
        data["lines"] = [LineInput(x.herb_code, x.grams) for x in self.lines]
        return HerbalInput(**data)


class FindingOut(BaseModel):
    rule: str
    severity: str
    message: str


class HerbalLineRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    herb_code: str
    herb_name: str
    grams: int
    handling: str


class HerbalRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    encounter_id: int
    institution_id: int
    patient_id: int
    doctor_name: str
    kind: str
    formula_class: str
    doses: int
    decoct: bool
    bag_ml: int
    bags_per_dose: int
    child: bool
    pregnant: bool
    instructions: str
    status: str
    version: int
    amount: int
    findings: list[FindingOut]
    review_reason: str
    track_token: str
    created_at: datetime
    approved_at: datetime | None
    promised_at: datetime | None
    lines: list[HerbalLineRead] = []
    credit_refusals: list[str] = []


class ReviewDecision(BaseModel):
    verdict: str = Field(pattern="^(approve|return|override)$")
    reason: str = Field(default="", max_length=200)
    cosigner: str = Field(default="", max_length=64, description="双签医生用户名")


class CancelRequest(BaseModel):
    reason: str = Field(default="", max_length=200)


class StepRequest(BaseModel):
    action: str = Field(max_length=16)
    machine: str = Field(default="", max_length=16)
    volume_ml: Int | None = None
    reason: str = Field(default="", max_length=200)
    courier: str = Field(default="", max_length=40)
    token: str = Field(default="", max_length=32)


class StepRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    from_state: str
    to_state: str
    operator_name: str
    machine_code: str
    at: datetime
    note: str


class BoardCardRead(BaseModel):
    id: int
    patient: str
    clinic: str
    state: str
    machine: str
    promised_at: datetime | None
    since: datetime


class MachineRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    name: str
    prescription_id: int | None
    bound_at: datetime | None


class BoardRead(BaseModel):
    cards: list[BoardCardRead]
    machines: list[MachineRead]


class PlanSlotRead(BaseModel):
    job_id: int
    machine: int
    start: int
    end: int
    on_time: bool


class PlanRead(BaseModel):
    slots: list[PlanSlotRead]
    late: list[int]
    on_time_share: float


class TrackStep(BaseModel):
    state: str
    at: datetime
    note: str


class TrackRead(BaseModel):
    prescription_id: int
    patient: str
    clinic: str
    kind: str
    doses: int
    state: str
    promised_at: datetime | None
    steps: list[TrackStep]
    can_sign: bool = Field(default=False, description="送货上门：可由患者扫码确认签收")


class LabelRead(BaseModel):
    prescription_id: int
    patient: str
    clinic: str
    doses: int
    bags: int
    bag_ml: int
    usage: str
    qr_text: str


class ScanRequest(BaseModel):
    """A scan of the bag's label (the QR's text or the bare code) and the hand-over it records."""

    code: str = Field(min_length=1, max_length=300, description="药袋标签二维码内容")
    action: str = Field(max_length=16, description="handover 交配送员 / receive 接收入站 / sign 交患者签收")
    courier: str = Field(default="", max_length=40, description="配送员（交配送员时必填）")


class BagStep(BaseModel):
    state: str
    at: datetime
    operator: str
    note: str


class BagRead(BaseModel):
    prescription_id: int
    patient: str
    clinic: str
    state: str
    doses: int
    bags: int
    courier: str
    received_at: datetime | None
    actions: list[str]
    steps: list[BagStep]
