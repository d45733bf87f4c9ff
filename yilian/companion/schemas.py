"""Request and response bodies of the companion API."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from yilian.billing.domain import Channel
from yilian.companion.domain import Basis, VisitKind
from yilian.kit.bounds import Id


class FollowCreate(BaseModel):
    patient_id: Id = Field(description="被陪诊的患者")
    relative_id: Id = Field(description="受邀亲属（须已在档案中核验为家属）")
    visit_kind: VisitKind = Field(description="booking 门诊挂号 / admission 住院")
    visit_id: Id
    progress: bool = Field(default=True, description="进度（默认开启）")
    results: bool = Field(default=False, description="结果（需单独同意）")
    bills: bool = Field(default=False, description="费用（需单独同意）")
    basis: Basis = Basis.SELF
    evidence: str = Field(default="", max_length=200, description="代为授权的依据（无行为能力时必填）")
    expires_at: datetime | None = None


class FollowRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    patient_id: int
    relative_id: int
    relative_role: str
    visit_kind: str
    visit_id: int
    progress: bool
    results: bool
    bills: bool
    basis: str
    evidence: str
    granted_by: str
    granted_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None


class FeedItemRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    scope: str
    text: str
    created_at: datetime


class FeedRead(BaseModel):
    follow: FollowRead
    live: bool
    ended_reason: str | None
    ended_label: str | None
    items: list[FeedItemRead]


class FamilyBillRead(BaseModel):
    """A bill of today the relative may pay (亲情付); amounts in fen."""

    encounter_id: int
    total: int
    cash: int = Field(description="家属需支付的现金部分（结算前为预估）")
    settled: bool
    paid_by_relative: bool


class FamilyPay(BaseModel):
    encounter_id: Id = Field(description="要代付的就诊（患者当日的门诊费用）")
    channel: Channel = Field(description="家属的支付方式")
    idempotency_key: str = Field(min_length=8, max_length=64, description="同一键重试只付一次")


class FamilyPaymentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int = Field(description="结算单号")
    encounter_id: int
    total: int
    fund: int
    cash: int
    cash_payer_id: int | None
    status: str
