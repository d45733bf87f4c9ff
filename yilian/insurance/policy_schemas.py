"""API shapes of the insurance policy tables (医保待遇政策) and the trial split (试算)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from yilian.kit.bounds import MAX_BIG, Year


class PolicyKey(BaseModel):
    region_code: str = Field(description="统筹区划代码（6 位）")
    scheme: str = Field(description="employee 职工 / resident 居民")
    tier: str = Field(description="tertiary 三级 / secondary 二级 / primary 基层")
    visit_type: str = Field(description="outpatient 普通门诊 / chronic 门诊慢特病 / inpatient 住院")
    year: Year


class PolicyUpdate(PolicyKey):
    """One policy row to create or replace; amounts in fen, ratio in ‰."""

    deductible: int = Field(ge=-MAX_BIG, le=MAX_BIG, description="年度起付线（分）")
    ratio_permille: int = Field(ge=-MAX_BIG, le=MAX_BIG, description="统筹基金支付比例（‰）")
    cap: int = Field(ge=-MAX_BIG, le=MAX_BIG, description="年度封顶线（分）")
    accounts_pay_self_funded: bool = Field(
        False, description="个人账户与共济账户可支付乙类先行自付和丙类自费部分"
    )


class PolicyRead(PolicyUpdate):
    model_config = {"from_attributes": True}

    id: int
    scheme_label: str
    tier_label: str
    visit_type_label: str


class TrialLine(BaseModel):
    amount: int = Field(ge=0, le=100_000_000_00, description="金额（分）")
    insurance_class: Literal["甲", "乙", "丙"]
    self_pay_permille: int = Field(0, ge=0, le=1000, description="乙类先行自付比例（‰）")


class TrialSplitRequest(PolicyKey):
    lines: list[TrialLine] = Field(min_length=1, max_length=200)
    deductible_used: int = Field(0, ge=0, le=MAX_BIG, description="本年度已用起付线（分）")
    fund_paid: int = Field(0, ge=0, le=MAX_BIG, description="本年度统筹已支付（分）")
    personal_balance: int = Field(0, ge=0, le=MAX_BIG, description="个人账户余额（分）")
    use_personal_account: bool = False
    mutual_aid_balance: int = Field(0, ge=0, le=MAX_BIG, description="共济账户余额（分）")


class TrialSplitRead(BaseModel):
    total: int
    self_funded: int
    self_pay_first: int
    deductible: int
    copay: int
    over_cap: int
    fund: int
    personal_account: int
    mutual_aid: int
    cash: int
    patient_share: int
