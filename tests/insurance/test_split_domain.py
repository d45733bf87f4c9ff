"""Insurance settlement split: worked bills checked by hand in fen, and properties over random bills."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from yilian.insurance.domain import (
    NO_INSURANCE,
    Accounts,
    BillLine,
    SplitError,
    SplitPolicy,
    YearToDate,
    split_bill,
)

# Example policy rows (test values in the shape of a city's table; the product seeds its own).
EMPLOYEE_T3 = SplitPolicy(deductible=80_000, ratio=Decimal("0.60"), cap=400_000)  # 职工 · 三级 · 普通门诊
EMPLOYEE_T2 = SplitPolicy(deductible=80_000, ratio=Decimal("0.70"), cap=400_000)  # 职工 · 二级
EMPLOYEE_T1 = SplitPolicy(deductible=30_000, ratio=Decimal("0.80"), cap=400_000)  # 职工 · 基层
RESIDENT_T3 = SplitPolicy(deductible=50_000, ratio=Decimal("0.50"), cap=150_000)  # 居民 · 三级
RESIDENT_T1 = SplitPolicy(deductible=10_000, ratio=Decimal("0.65"), cap=150_000)  # 居民 · 基层

A = lambda fen: BillLine(fen, "甲")  # noqa: E731
C = lambda fen: BillLine(fen, "丙")  # noqa: E731


def B(fen: int, permille: int = 100) -> BillLine:
    return BillLine(fen, "乙", permille)


def _check(split: object, **expected: int) -> None:
    for key, value in expected.items():
        assert getattr(split, key) == value, (key, getattr(split, key), value)
    parts = split.parts()  # type: ignore[attr-defined]
    assert sum(parts.values()) == split.total  # type: ignore[attr-defined]


def test_1_employee_tertiary_new_year_deductible_then_ratio() -> None:
    s = split_bill([A(100_000)], EMPLOYEE_T3)
    _check(s, total=100_000, deductible=80_000, fund=12_000, copay=8_000, cash=88_000, personal_account=0)
    assert s.after == YearToDate(deductible_used=80_000, fund_paid=12_000)


def test_2_employee_tertiary_mixed_classes_with_personal_account() -> None:
    s = split_bill(
        [A(20_000), B(30_000), C(5_000)],
        EMPLOYEE_T3,
        YearToDate(deductible_used=80_000),
        Accounts(personal_balance=10_000, use_personal=True),
    )
    # 乙 先行自付 3,000; policy range 47,000 all above the used deductible: fund 60 % = 28,200
    _check(
        s,
        total=55_000,
        self_funded=5_000,
        self_pay_first=3_000,
        deductible=0,
        fund=28_200,
        copay=18_800,
        personal_account=10_000,
        mutual_aid=0,
        cash=16_800,
    )


def test_3_employee_secondary_deductible_partly_used() -> None:
    s = split_bill([A(30_000)], EMPLOYEE_T2, YearToDate(deductible_used=70_000))
    _check(s, deductible=10_000, fund=14_000, copay=6_000, cash=16_000)
    assert s.after == YearToDate(deductible_used=80_000, fund_paid=14_000)


def test_4_employee_grassroots_cap_reached_mid_bill() -> None:
    s = split_bill([A(50_000)], EMPLOYEE_T1, YearToDate(deductible_used=30_000, fund_paid=395_000))
    _check(s, fund=5_000, over_cap=35_000, copay=10_000, cash=45_000)
    assert s.after.fund_paid == 400_000


def test_5_cap_already_used_up() -> None:
    s = split_bill([A(12_345)], EMPLOYEE_T1, YearToDate(deductible_used=30_000, fund_paid=400_000))
    _check(s, fund=0, over_cap=9_876, copay=2_469, cash=12_345)


def test_6_resident_tertiary_within_deductible() -> None:
    s = split_bill([A(12_000)], RESIDENT_T3)
    _check(s, deductible=12_000, fund=0, cash=12_000)
    assert s.after.deductible_used == 12_000


def test_7_resident_child_with_mutual_aid_from_a_parent() -> None:
    # the child is resident-insured (no personal account); the father's employee account pays by 共济
    s = split_bill(
        [B(8_000), A(4_000)],
        RESIDENT_T1,
        YearToDate(deductible_used=10_000),
        Accounts(mutual_aid_balance=100_000),
    )
    # 先行自付 800; policy range 11,200; fund 65 % = 7,280; co-payment 3,920 from the father's account
    _check(s, total=12_000, self_pay_first=800, fund=7_280, copay=3_920, mutual_aid=3_920, cash=800)


def test_8_family_payer_pays_the_cash_part_after_a_short_account() -> None:
    # an elderly patient's own account covers part; the rest is cash, paid by a child through 亲情付
    s = split_bill(
        [A(60_000), C(2_000)],
        EMPLOYEE_T3,
        YearToDate(deductible_used=80_000),
        Accounts(personal_balance=5_000, use_personal=True),
    )
    _check(s, fund=36_000, copay=24_000, personal_account=5_000, cash=21_000, self_funded=2_000)


def test_9_self_pay_patient_pays_everything() -> None:
    s = split_bill([A(10_000), B(5_000), C(1_000)], NO_INSURANCE)
    _check(s, fund=0, cash=16_000, personal_account=0)


def test_10_rounding_half_up_per_line_and_on_the_fund() -> None:
    s = split_bill([B(15)], SplitPolicy(deductible=0, ratio=Decimal("0.5"), cap=100), YearToDate())
    # 乙 15 fen × 10 % = 1.5 → 2 fen; policy range 13; fund 6.5 → 7
    _check(s, self_pay_first=2, fund=7, copay=6, cash=8)


def test_11_accounts_may_pay_self_funded_when_policy_says_so() -> None:
    policy = SplitPolicy(deductible=0, ratio=Decimal("0.70"), cap=400_000, accounts_pay_self_funded=True)
    s = split_bill(
        [C(3_000), A(10_000)], policy, accounts=Accounts(personal_balance=100_000, use_personal=True)
    )
    _check(s, fund=7_000, personal_account=6_000, cash=0)


def test_12_personal_then_mutual_aid_then_cash() -> None:
    s = split_bill(
        [A(10_000)],
        SplitPolicy(deductible=0, ratio=Decimal("0.50"), cap=400_000),
        accounts=Accounts(personal_balance=1_000, use_personal=True, mutual_aid_balance=2_000),
    )
    _check(s, fund=5_000, personal_account=1_000, mutual_aid=2_000, cash=2_000)


def test_personal_account_unused_unless_chosen() -> None:
    s = split_bill(
        [A(10_000)], EMPLOYEE_T1, YearToDate(deductible_used=30_000), Accounts(personal_balance=99_999)
    )
    _check(s, personal_account=0, cash=2_000)


@pytest.mark.parametrize(
    "make",
    [
        lambda: BillLine(-1, "甲"),
        lambda: BillLine(100, "丁"),
        lambda: BillLine(100, "乙", 1001),
        lambda: SplitPolicy(deductible=-1, ratio=Decimal("0.5"), cap=0),
        lambda: SplitPolicy(deductible=0, ratio=Decimal("1.5"), cap=0),
        lambda: Accounts(personal_balance=-5),
        lambda: YearToDate(fund_paid=-1),
    ],
)
def test_bad_input_refused(make: object) -> None:
    with pytest.raises(SplitError):
        make()  # type: ignore[operator]


lines = st.lists(
    st.builds(
        BillLine,
        st.integers(0, 2_000_000),
        st.sampled_from(["甲", "乙", "丙"]),
        st.integers(0, 1000),
    ).map(lambda b: b if b.insurance_class == "乙" else BillLine(b.amount, b.insurance_class)),
    max_size=30,
)
policies = st.builds(
    SplitPolicy,
    st.integers(0, 300_000),
    st.decimals(min_value=0, max_value=1, places=3),
    st.integers(0, 2_000_000),
    st.booleans(),
)
years = st.builds(YearToDate, st.integers(0, 400_000), st.integers(0, 3_000_000))
accounts = st.builds(Accounts, st.integers(0, 1_000_000), st.booleans(), st.integers(0, 1_000_000))


@settings(max_examples=400, deadline=None)
@given(lines, policies, years, accounts)
def test_parts_sum_to_total_and_stay_within_limits(
    bill: list[BillLine], policy: SplitPolicy, year: YearToDate, acct: Accounts
) -> None:
    s = split_bill(bill, policy, year, acct)
    assert s.total == sum(b.amount for b in bill)
    assert sum(s.parts().values()) == s.total
    assert all(v >= 0 for v in (*s.parts().values(), s.deductible, s.copay, s.over_cap, s.self_pay_first))
    assert s.self_funded + s.self_pay_first + s.deductible + s.copay + s.over_cap == s.patient_share
    assert s.personal_account <= (acct.personal_balance if acct.use_personal else 0)
    assert s.mutual_aid <= acct.mutual_aid_balance
    assert s.fund <= max(0, policy.cap - year.fund_paid)
    in_policy = s.total - s.self_funded - s.self_pay_first
    assert s.fund <= in_policy * policy.ratio + Decimal("0.5")
    assert s.after.deductible_used <= max(policy.deductible, year.deductible_used)
    if not policy.accounts_pay_self_funded:
        assert s.cash >= s.self_funded + s.self_pay_first
