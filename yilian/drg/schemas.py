"""Request and response bodies of the DRG API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from yilian.kit.bounds import MAX_BIG, MAX_INT


class RecordIn(BaseModel):
    """One discharge record (病案首页 fields the grouper uses). Codes: ICD-10 医保版 / ICD-9-CM-3."""

    principal_dx: str = Field(max_length=40, description="主要诊断编码")
    other_dx: list[str] = Field(default_factory=list, max_length=60, description="其他诊断编码")
    procedures: list[str] = Field(
        default_factory=list, max_length=60, description="手术操作编码，主要手术在前"
    )
    sex: int = Field(0, ge=-MAX_INT, le=MAX_INT, description="1 男，2 女，0/9 未知")
    age_years: int | None = Field(None, ge=-MAX_INT, le=MAX_INT)
    age_days: int | None = Field(None, ge=-MAX_INT, le=MAX_INT, description="年龄（天），新生儿/婴儿必填")
    birth_weight_g: int | None = Field(None, ge=-MAX_INT, le=MAX_INT, description="新生儿出生体重（克）")
    admission_date: date | None = None
    discharge_date: date | None = None
    los_days: int | None = Field(None, ge=-MAX_INT, le=MAX_INT)
    disposition: str = Field("", max_length=8, description="离院方式")
    ventilation_hours: int | None = Field(None, ge=-MAX_INT, le=MAX_INT)
    department: str = Field("", max_length=100)
    total_cost_fen: int | None = Field(None, ge=-MAX_BIG, le=MAX_BIG)


class GroupRequest(BaseModel):
    scheme: str = Field("chs-1.1", max_length=32)
    record: RecordIn | None = None
    records: list[RecordIn] | None = Field(None, max_length=5000)


class GroupOut(BaseModel):
    status: str
    drg: str
    drg_name: str
    mdc: str | None
    adrg: str | None
    severity: str
    trigger: str | None
    excluded: list[str]
    reason: str | None
    scheme: str
    explanation: list[str]
    principal_procedure: str | None = Field(
        None, description="作为主要手术的编码（首位不是手术室手术而其后有手术室手术时，取第一个手术室手术）"
    )
    unknown_codes: list[str] = Field(default_factory=list, description="不在医保版编码表中的编码（仅报告）")


class GroupResponse(BaseModel):
    results: list[GroupOut]


class SchemeOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    name: str
    imported_at: datetime
    counts: dict[str, Any]
    notes: list[Any]


class BatchOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    institution_level: str
    uploaded_at: datetime
    uploaded_by: str
    rows: int
    grouped: int
    ungroupable: int
    ambiguous: int


class UnitOut(BaseModel):
    unit: str
    cases: int
    total_weight: float
    cmi: float
    cost_index: float
    time_index: float
    cost_fen: int
    payment_fen: int
    profit_fen: int
    high_outliers: int
    low_outliers: int


class AnalysisOut(BaseModel):
    batch: BatchOut
    departments: list[UnitOut]
    doctors: list[UnitOut]
    losing_drgs: list[dict[str, Any]]
