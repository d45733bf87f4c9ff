"""Settlement policy tables (医保待遇政策) and the patient's insurance year, for the split.

A policy row per scheme (职工 / 居民), institution tier (三级 / 二级 / 基层) and visit type
(普通门诊 / 门诊慢特病 / 住院): deductible, ratio, cap. The patient's year-to-date use and the
employee personal account balance live beside them. Billing reads these through
``yilian.insurance.policy_service``.
"""

from __future__ import annotations

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from yilian.kit.db import Base


class InsurancePolicy(Base):
    __tablename__ = "insurance_policies"
    __table_args__ = (UniqueConstraint("region_code", "scheme", "tier", "visit_type", "year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    region_code: Mapped[str] = mapped_column(String(6))
    scheme: Mapped[str] = mapped_column(String(16))  # employee | resident
    tier: Mapped[str] = mapped_column(String(16))  # tertiary | secondary | primary
    visit_type: Mapped[str] = mapped_column(String(16))  # outpatient | chronic | inpatient
    year: Mapped[int]
    deductible: Mapped[int]
    ratio_permille: Mapped[int]
    cap: Mapped[int]
    accounts_pay_self_funded: Mapped[bool] = mapped_column(default=False)


class InsuranceYear(Base):
    """What a patient has used in an insurance year (deductible, fund payments)."""

    __tablename__ = "insurance_years"
    __table_args__ = (UniqueConstraint("patient_id", "year", "visit_type"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    year: Mapped[int]
    visit_type: Mapped[str] = mapped_column(String(16))
    deductible_used: Mapped[int] = mapped_column(default=0)
    fund_paid: Mapped[int] = mapped_column(default=0)


class PersonalAccount(Base):
    """An employee's personal account (个人账户) balance, as the insurance platform reports it."""

    __tablename__ = "personal_accounts"

    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), primary_key=True)
    balance: Mapped[int] = mapped_column(default=0)
