"""Look-ups and updates of settlement policies, insurance years and personal accounts."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from yilian.insurance.domain import NO_INSURANCE, SplitPolicy, YearToDate
from yilian.insurance.policies import InsurancePolicy, InsuranceYear, PersonalAccount
from yilian.kit.errors import NotFound


class PolicyNotFound(NotFound):
    code = "insurance_policy_not_found"
    title = "未配置医保待遇政策"


def tier_of(level: int) -> str:
    """Return the institution tier of a level (3 → tertiary, 2 → secondary, else primary/基层)."""
    return {3: "tertiary", 2: "secondary"}.get(level, "primary")


def policy_for(
    session: Session, *, region_code: str, scheme: str, level: int, visit_type: str, year: int
) -> SplitPolicy:
    """Return the split policy of a scheme at an institution level; self-pay patients get none."""
    if scheme == "self_pay":
        return NO_INSURANCE
    row = session.scalar(
        select(InsurancePolicy).where(
            InsurancePolicy.region_code == region_code,
            InsurancePolicy.scheme == scheme,
            InsurancePolicy.tier == tier_of(level),
            InsurancePolicy.visit_type == visit_type,
            InsurancePolicy.year == year,
        )
    )
    if row is None:
        raise PolicyNotFound(f"{region_code} {scheme} {tier_of(level)} {visit_type} {year} 年无医保待遇政策")
    return SplitPolicy(
        deductible=row.deductible,
        ratio=Decimal(row.ratio_permille) / 1000,
        cap=row.cap,
        accounts_pay_self_funded=row.accounts_pay_self_funded,
    )


def set_policy(
    session: Session,
    *,
    region_code: str,
    scheme: str,
    tier: str,
    visit_type: str,
    year: int,
    deductible: int,
    ratio_permille: int,
    cap: int,
    accounts_pay_self_funded: bool = False,
) -> InsurancePolicy:
    """Create or replace one policy row."""
    SplitPolicy(deductible=deductible, ratio=Decimal(ratio_permille) / 1000, cap=cap)  # validates
    row = session.scalar(
        select(InsurancePolicy).where(
            InsurancePolicy.region_code == region_code,
            InsurancePolicy.scheme == scheme,
            InsurancePolicy.tier == tier,
            InsurancePolicy.visit_type == visit_type,
            InsurancePolicy.year == year,
        )
    )
    if row is None:
        row = InsurancePolicy(
            region_code=region_code, scheme=scheme, tier=tier, visit_type=visit_type, year=year
        )
        session.add(row)
    row.deductible, row.ratio_permille, row.cap = deductible, ratio_permille, cap
    row.accounts_pay_self_funded = accounts_pay_self_funded
    session.flush()
    return row


def year_to_date(session: Session, patient_id: int, year: int, visit_type: str) -> YearToDate:
    row = session.scalar(
        select(InsuranceYear).where(
            InsuranceYear.patient_id == patient_id,
            InsuranceYear.year == year,
            InsuranceYear.visit_type == visit_type,
        )
    )
    return YearToDate(row.deductible_used, row.fund_paid) if row else YearToDate()


def record_year(session: Session, patient_id: int, year: int, visit_type: str, after: YearToDate) -> None:
    """Store the year-to-date use after a settlement."""
    row = session.scalar(
        select(InsuranceYear).where(
            InsuranceYear.patient_id == patient_id,
            InsuranceYear.year == year,
            InsuranceYear.visit_type == visit_type,
        )
    )
    if row is None:
        row = InsuranceYear(patient_id=patient_id, year=year, visit_type=visit_type)
        session.add(row)
    row.deductible_used, row.fund_paid = after.deductible_used, after.fund_paid
    session.flush()


def account_balance(session: Session, patient_id: int) -> int:
    row = session.get(PersonalAccount, patient_id)
    return row.balance if row else 0


def set_account_balance(session: Session, patient_id: int, balance: int) -> None:
    row = session.get(PersonalAccount, patient_id)
    if row is None:
        session.add(PersonalAccount(patient_id=patient_id, balance=balance))
    else:
        row.balance = balance
    session.flush()


def debit_account(session: Session, patient_id: int, amount: int) -> None:
    """Take ``amount`` from a personal account; refuses to go below zero (conditional UPDATE)."""
    if amount == 0:
        return
    result = session.execute(
        update(PersonalAccount)
        .where(PersonalAccount.patient_id == patient_id, PersonalAccount.balance >= amount)
        .values(balance=PersonalAccount.balance - amount)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise ValueError("personal account balance too low")


def credit_account(session: Session, patient_id: int, amount: int) -> None:
    """Give ``amount`` back to a personal account (a reversed settlement)."""
    if amount == 0:
        return
    session.execute(
        update(PersonalAccount)
        .where(PersonalAccount.patient_id == patient_id)
        .values(balance=PersonalAccount.balance + amount)
    )
