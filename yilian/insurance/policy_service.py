"""Look-ups and updates of settlement policies, insurance years and personal accounts."""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import Decimal

from sqlalchemy.orm import Session

from yilian.insurance import policy_repository as repo
from yilian.insurance.domain import (
    NO_INSURANCE,
    Accounts,
    BillLine,
    Split,
    SplitPolicy,
    YearToDate,
    split_bill,
)
from yilian.insurance.policy_models import InsurancePolicy, InsuranceYear, PersonalAccount
from yilian.kit import events
from yilian.kit.access_log import record_access
from yilian.kit.auth.domain import Actor, Permission
from yilian.kit.errors import Forbidden, InvalidInput, NotFound


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
    row = repo.policy(
        session, region_code=region_code, scheme=scheme, tier=tier_of(level), visit_type=visit_type, year=year
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
    row = repo.policy(
        session, region_code=region_code, scheme=scheme, tier=tier, visit_type=visit_type, year=year
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


# one row of a region's published table: scheme, tier, deductible (分), fund ratio (‰), yearly cap (分)
PolicyRow = tuple[str, str, int, int, int]


def set_policy_table(
    session: Session, rows: Sequence[PolicyRow], *, region_code: str, visit_type: str, year: int
) -> int:
    """Create or replace a year's table of one visit type (门诊 or 住院) row by row; return the row count."""
    for scheme, tier, deductible, ratio_permille, cap in rows:
        set_policy(
            session,
            region_code=region_code,
            scheme=scheme,
            tier=tier,
            visit_type=visit_type,
            year=year,
            deductible=deductible,
            ratio_permille=ratio_permille,
            cap=cap,
        )
    return len(rows)


def year_to_date(session: Session, patient_id: int, year: int, visit_type: str) -> YearToDate:
    row = repo.year_row(session, patient_id, year, visit_type)
    return YearToDate(row.deductible_used, row.fund_paid) if row else YearToDate()


def record_year(session: Session, patient_id: int, year: int, visit_type: str, after: YearToDate) -> None:
    """Store the year-to-date use after a settlement."""
    row = repo.year_row(session, patient_id, year, visit_type)
    if row is None:
        row = InsuranceYear(patient_id=patient_id, year=year, visit_type=visit_type)
        session.add(row)
    row.deductible_used, row.fund_paid = after.deductible_used, after.fund_paid
    session.flush()


def lock_years(
    session: Session, patient_ids: Sequence[int], year: int, visit_type: str
) -> dict[int, YearToDate]:
    """Return (and on PostgreSQL lock, in patient order) the year-to-date use of many patients, creating
    the missing rows: a batch settlement holds them until its commit, so two workers settling encounters
    of the same patient take turns and each sees the other's committed use."""
    ids = sorted(set(patient_ids))
    if not ids:
        return {}
    have = repo.patients_with_year(session, ids, year, visit_type)
    missing = [
        {"patient_id": p, "year": year, "visit_type": visit_type, "deductible_used": 0, "fund_paid": 0}
        for p in ids
        if p not in have
    ]
    if missing:
        repo.add_years(session, missing)
    return {p: YearToDate(d, f) for p, d, f in repo.years_locked(session, ids, year, visit_type)}


def store_years(session: Session, year: int, visit_type: str, after: dict[int, YearToDate]) -> None:
    """Store many patients' year-to-date use after a batch settlement (rows locked by ``lock_years``)."""
    if not after:
        return
    repo.update_years(
        session,
        year,
        visit_type,
        [{"pid": p, "d": y.deductible_used, "f": y.fund_paid} for p, y in after.items()],
    )


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
    if not repo.debit(session, patient_id, amount):
        raise ValueError("personal account balance too low")


def credit_account(session: Session, patient_id: int, amount: int) -> None:
    """Give ``amount`` back to a personal account (a reversed settlement)."""
    if amount == 0:
        return
    repo.credit(session, patient_id, amount)


# ---------------------------------------------------------------- the insurance office's policy tables

SCHEME_LABELS = {"employee": "职工医保", "resident": "居民医保"}
TIER_LABELS = {"tertiary": "三级医院", "secondary": "二级医院", "primary": "基层医疗机构"}
VISIT_TYPE_LABELS = {"outpatient": "普通门诊", "chronic": "门诊慢特病", "inpatient": "住院"}
MAX_AMOUNT = 100_000_000_00  # ¥100 million: a typing slip, not a policy


class InvalidPolicy(InvalidInput):
    code = "invalid_insurance_policy"
    title = "医保待遇政策不合法"


def policy_problems(
    *,
    region_code: str,
    scheme: str,
    tier: str,
    visit_type: str,
    year: int,
    deductible: int,
    ratio_permille: int,
    cap: int,
) -> list[str]:
    """Return what is wrong with a policy row (Chinese, for people); empty when it may be saved."""
    problems: list[str] = []
    if not re.fullmatch(r"\d{6}", region_code or ""):
        problems.append("统筹区划代码应为 6 位数字")
    if scheme not in SCHEME_LABELS:
        problems.append(f"险种应为 {'/'.join(SCHEME_LABELS.values())}")
    if tier not in TIER_LABELS:
        problems.append(f"机构级别应为 {'/'.join(TIER_LABELS.values())}")
    if visit_type not in VISIT_TYPE_LABELS:
        problems.append(f"就诊类型应为 {'/'.join(VISIT_TYPE_LABELS.values())}")
    if not 2000 <= year <= 2100:
        problems.append("年度应在 2000–2100 之间")
    if not 0 <= deductible <= MAX_AMOUNT:
        problems.append("起付线不能为负，且不超过 1 亿元")
    if not 0 <= cap <= MAX_AMOUNT:
        problems.append("封顶线不能为负，且不超过 1 亿元")
    if not 0 <= ratio_permille <= 1000:
        problems.append("报销比例应在 0–1000‰（0–100%）之间")
    return problems


def list_policies(
    session: Session,
    actor: Actor,
    *,
    region_code: str | None = None,
    scheme: str | None = None,
    tier: str | None = None,
    visit_type: str | None = None,
    year: int | None = None,
) -> list[InsurancePolicy]:
    """Return the policy rows matching the filters (None = any), in table order."""
    _require_policy_office(actor)
    where = [
        column == value
        for column, value in (
            (InsurancePolicy.region_code, region_code),
            (InsurancePolicy.scheme, scheme),
            (InsurancePolicy.tier, tier),
            (InsurancePolicy.visit_type, visit_type),
            (InsurancePolicy.year, year),
        )
        if value is not None and value != ""
    ]
    order = {"tertiary": 0, "secondary": 1, "primary": 2}
    rows = repo.policies(session, where)
    return sorted(
        rows,
        key=lambda r: (-r.year, r.region_code, r.visit_type, r.scheme, order.get(r.tier, 9)),
    )


def save_policy(
    session: Session,
    actor: Actor,
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
    """The insurance office creates or changes one policy row; every problem is listed and nothing is
    stored when a value is not acceptable. Audited, and announced as ``insurance.policy_changed``."""
    _require_policy_office(actor)
    problems = policy_problems(
        region_code=region_code,
        scheme=scheme,
        tier=tier,
        visit_type=visit_type,
        year=year,
        deductible=deductible,
        ratio_permille=ratio_permille,
        cap=cap,
    )
    if problems:
        raise InvalidPolicy("；".join(problems))
    row = set_policy(
        session,
        region_code=region_code,
        scheme=scheme,
        tier=tier,
        visit_type=visit_type,
        year=year,
        deductible=deductible,
        ratio_permille=ratio_permille,
        cap=cap,
        accounts_pay_self_funded=accounts_pay_self_funded,
    )
    label = (
        f"{region_code} {year} {SCHEME_LABELS[scheme]} {TIER_LABELS[tier]} {VISIT_TYPE_LABELS[visit_type]}"
    )
    record_access(
        session,
        actor,
        action="update",
        resource=f"insurance_policies/{row.id}",
        reason=f"{label}：起付线 {deductible} 分，比例 {ratio_permille}‰，封顶线 {cap} 分",
    )
    events.emit(session, "insurance.policy_changed", {"policy_id": row.id, "year": year})
    return row


def _require_policy_office(actor: Actor) -> None:
    if not actor.has(Permission.INSURANCE_POLICY):
        raise Forbidden(f"当前角色（{actor.role.label}）不能维护医保待遇政策")


def trial_split(
    session: Session,
    actor: Actor,
    *,
    region_code: str,
    scheme: str,
    tier: str,
    visit_type: str,
    year: int,
    lines: Sequence[BillLine],
    year_so_far: YearToDate = YearToDate(),
    accounts: Accounts = Accounts(),
) -> Split:
    """Split a trial bill (试算) with the stored policy row of the key; nothing is stored."""
    _require_policy_office(actor)
    row = repo.policy(
        session, region_code=region_code, scheme=scheme, tier=tier, visit_type=visit_type, year=year
    )
    if row is None:
        raise PolicyNotFound(f"{region_code} {year} 年无该险种、级别与就诊类型的待遇政策")
    policy = SplitPolicy(
        deductible=row.deductible,
        ratio=Decimal(row.ratio_permille) / 1000,
        cap=row.cap,
        accounts_pay_self_funded=row.accounts_pay_self_funded,
    )
    return split_bill(lines, policy, year_so_far, accounts)
