"""Payloads of the audit API, including the NHSA-3101-style pre-check (明细审核事前事中分析服务)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from yilian.kit.bounds import MAX_INT, Id


class OrderDto(BaseModel):
    """One order / fee line (fsi_order_dtos)."""

    rx_id: str = Field(max_length=64, description="处方（医嘱）明细标识")
    hilist_code: str = Field(max_length=64, description="医保目录编码")
    hilist_name: str = Field("", max_length=200)
    cnt: int = Field(ge=1, le=MAX_INT, description="数量")
    pric: int = Field(ge=0, le=MAX_INT, description="单价（分）")
    sumamt: int | None = Field(None, ge=0, le=MAX_INT, description="明细总额（分），缺省为 数量×单价")
    drord_begn_date: str | None = Field(None, description="医嘱开始/费用发生日期 yyyy-MM-dd[ HH:mm:ss]")


class EncounterDto(BaseModel):
    """One encounter (fsi_encounter_dtos)."""

    mdtrt_id: str = Field(max_length=64, description="就诊标识")
    medins_id: str = Field("", max_length=64)
    medins_lv: int = Field(ge=1, le=3, description="医疗机构等级 1/2/3")
    med_mdtrt_type: Literal["1", "2"] = Field(description="就诊类型 1 门诊 2 住院")
    insutype: str = Field("310", max_length=8, description="险种 310 职工 / 390 居民 / 其他 自费")
    adm_date: str = Field(description="入院（就诊）日期 yyyy-MM-dd[ HH:mm:ss]")
    dscg_date: str | None = Field(None, description="出院日期，门诊可缺省")
    dscg_main_dise_codg: str = Field(max_length=32, description="主要诊断编码 ICD-10")
    fsi_order_dtos: list[OrderDto] = Field(default_factory=list, max_length=2000)


class PatientDto(BaseModel):
    patn_id: str = Field(max_length=64)
    patn_name: str = Field("", max_length=50)
    gend: Literal["1", "2"] = Field(description="性别 1 男 2 女")
    brdy: date = Field(description="出生日期")
    curr_mdtrt_id: str = Field(max_length=64, description="本次就诊标识")
    fsi_encounter_dtos: list[EncounterDto] = Field(min_length=1, max_length=200)


class PrecheckRequest(BaseModel):
    """3101-style request: scenario, patient, encounters, lines."""

    syscode: str = Field("HIS", max_length=32)
    task_id: str = Field("", max_length=64)
    trig_scen: str = Field(
        "2",
        max_length=2,
        description="触发场景：1-5 事前（挂号、收费登记、医嘱执行），6-9 事中（预结算、结算）",
    )
    patient_dtos: list[PatientDto] = Field(min_length=1, max_length=1)


class JudgeDetail(BaseModel):
    jr_detl_id: str
    patn_id: str
    mdtrt_id: str
    rx_id: str
    hilist_code: str
    vola_amt: int


class JudgeResult(BaseModel):
    jr_id: str
    rule_id: str
    rule_name: str
    vola_cont: str = Field(description="违规内容")
    patn_id: str
    mdtrt_id: str
    vola_amt: int = Field(description="违规金额（分）")
    sev_deg: str = Field(description="严重程度 1 明确违规 2 可疑")
    sev_deg_name: str
    stage: str
    vola_evid: dict[str, Any] = Field(description="违规依据：涉及明细、取值、关联就诊")
    judge_result_detail_dtos: list[JudgeDetail]


class PrecheckResponse(BaseModel):
    task_id: str
    stage: str
    result_dtos: list[JudgeResult]


class RulesText(BaseModel):
    text: str = Field(max_length=2_000_000)


class RuleIssueRead(BaseModel):
    line: int
    message: str


class ValidationRead(BaseModel):
    valid: bool
    version: str | None
    rules: int
    issues: list[RuleIssueRead]


class LibraryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    version: str
    name: str
    active: bool
    created_at: datetime | None = None
    created_by: str = ""


class RuleSummary(BaseModel):
    id: str
    family: str
    family_label: str
    description: str
    severity: str
    stages: list[str]
    effective_from: date
    effective_to: date
    items: int


class ActiveLibraryRead(BaseModel):
    version: str
    name: str
    text: str
    rules: list[RuleSummary]


class ClaimLineIn(BaseModel):
    line_id: Id = Field(ge=1)
    claim_id: str = Field(max_length=64)
    patient_id: str = Field(max_length=64)
    sex: Literal["M", "F"]
    age: int = Field(ge=0, le=150)
    scheme: Literal["employee", "resident", "self_pay"]
    level: int = Field(ge=1, le=3)
    setting: Literal["outpatient", "inpatient"]
    diagnosis: str = Field(max_length=32)
    admit_date: date
    discharge_date: date
    service_date: date
    item_code: str = Field(max_length=64)
    quantity: int = Field(ge=1, le=MAX_INT)
    unit_price: int = Field(ge=0, le=MAX_INT)
    amount: int = Field(ge=0, le=MAX_INT)
    department: str = Field("", max_length=32, description="科室编码（开单科室），可空")


class ClaimLinesIn(BaseModel):
    source: str = Field("api", max_length=100)
    lines: list[ClaimLineIn] = Field(min_length=1, max_length=50_000)


class RunCreate(BaseModel):
    date_from: date
    date_to: date


class RunRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    status: str
    date_from: date
    date_to: date
    source: str
    library_version: str
    lines_scanned: int
    findings_count: int
    amount_total: int
    progress: int
    stats: dict[str, Any]
    started_at: datetime
    finished_at: datetime | None
    started_by: str


class FindingRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    run_id: Id
    rule_id: str
    family: str
    severity: str
    claim_id: str
    patient_id: str
    service_date: date | None
    lines: list[int]
    related: list[str]
    departments: list[str] = Field(description="疑点明细所属科室编码；该科室医生可申诉")
    amount: int
    value: str
    text: str
    status: str
    reason: str


class EventRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    at: datetime
    username: str
    action: str
    from_status: str
    to_status: str
    reason: str


class FindingDetail(FindingRead):
    evidence: dict[str, Any]
    trail: list[EventRead]


class ReviewIn(BaseModel):
    action: Literal["confirm", "dismiss", "appeal"]
    reason: str = Field("", max_length=500)
