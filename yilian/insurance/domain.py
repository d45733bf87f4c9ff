"""Insurance settlement split (医保结算分割), pure: given a bill, the policy and the patient's year so
far, who pays what — insurance fund (统筹基金), personal account (个人账户), a relative's account by
mutual aid (共济), and the cash part (现金, paid by the patient or a family payer, 亲情付).

Rules (docs/domain.md §4):
1. Per line: 丙 is self-funded (自费); 乙 pays a self-paid first share (先行自付) = amount × share,
   rounded half-up to the fen; the rest of 乙 and all of 甲 are in the policy range (政策范围内).
2. The yearly deductible (起付线) not yet used is taken from the policy-range amount first.
3. The fund pays ``ratio`` of the rest (rounded half-up), limited by what is left of the yearly cap
   (封顶线); the remainder is the co-payment (共付) and the part above the cap (超封顶).
4. The patient's own share = total − fund. The personal account (if the patient chooses) pays
   first, then a relative's account by mutual aid; both only pay the in-policy own share unless the
   policy lets accounts pay self-funded items too; each at most its balance. Cash pays the rest.
All amounts are integer fen; the parts always sum exactly to the total.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from yilian.kit.money import Fen, ratio_of


class SplitError(ValueError):
    """A bill or policy the split cannot accept."""


@dataclass(frozen=True)
class SplitPolicy:
    """One row of the policy table: scheme × institution tier × visit type."""

    deductible: Fen  # yearly 起付线
    ratio: Decimal  # fund's share of the policy-range amount above the deductible
    cap: Fen  # yearly 封顶线 of the fund
    accounts_pay_self_funded: bool = False  # may accounts pay 丙 and 先行自付 parts too

    def __post_init__(self) -> None:
        if self.deductible < 0 or self.cap < 0:
            raise SplitError("起付线与封顶线不能为负")
        if not Decimal(0) <= self.ratio <= Decimal(1):
            raise SplitError("报销比例应在 0 到 1 之间")


NO_INSURANCE = SplitPolicy(deductible=0, ratio=Decimal(0), cap=0)


@dataclass(frozen=True)
class BillLine:
    """One charged line: amount in fen, insurance class and, for 乙, the self-paid first share in ‰."""

    amount: Fen
    insurance_class: str  # "甲" | "乙" | "丙"
    self_pay_permille: int = 0

    def __post_init__(self) -> None:
        if self.amount < 0:
            raise SplitError("费用金额不能为负")
        if self.insurance_class not in ("甲", "乙", "丙"):
            raise SplitError(f"未知医保类别: {self.insurance_class}")
        if not 0 <= self.self_pay_permille <= 1000:
            raise SplitError("先行自付比例应在 0–1000‰ 之间")


@dataclass(frozen=True)
class YearToDate:
    """What the patient has already used this insurance year."""

    deductible_used: Fen = 0
    fund_paid: Fen = 0

    def __post_init__(self) -> None:
        if self.deductible_used < 0 or self.fund_paid < 0:
            raise SplitError("年度累计不能为负")


@dataclass(frozen=True)
class Accounts:
    """Balances the patient may draw on for this bill."""

    personal_balance: Fen = 0  # own employee personal account, if the patient chooses to use it
    use_personal: bool = False
    mutual_aid_balance: Fen = 0  # a bound relative's employee personal account (共济), 0 if none

    def __post_init__(self) -> None:
        if self.personal_balance < 0 or self.mutual_aid_balance < 0:
            raise SplitError("账户余额不能为负")


@dataclass(frozen=True)
class Split:
    """Who pays what, and how the patient's share is made up; every amount in fen."""

    total: Fen
    self_funded: Fen  # 丙类自费
    self_pay_first: Fen  # 乙类先行自付
    deductible: Fen  # 起付线内自付
    copay: Fen  # 起付线以上的个人共付
    over_cap: Fen  # 超封顶线
    fund: Fen  # 统筹基金支付
    personal_account: Fen
    mutual_aid: Fen
    cash: Fen
    after: YearToDate

    @property
    def patient_share(self) -> Fen:
        """The patient's own share (个人负担) = everything the fund does not pay."""
        return self.total - self.fund

    def parts(self) -> dict[str, Fen]:
        """Return the payers' parts, which sum to the total."""
        return {
            "fund": self.fund,
            "personal_account": self.personal_account,
            "mutual_aid": self.mutual_aid,
            "cash": self.cash,
        }


def split_bill(
    lines: Sequence[BillLine],
    policy: SplitPolicy,
    year: YearToDate = YearToDate(),
    accounts: Accounts = Accounts(),
) -> Split:
    """Split a bill between the fund, the accounts and cash (rules in the module docstring)."""
    total = sum(line.amount for line in lines)
    self_funded = sum(line.amount for line in lines if line.insurance_class == "丙")
    self_pay_first = sum(
        ratio_of(line.amount, Decimal(line.self_pay_permille) / 1000)
        for line in lines
        if line.insurance_class == "乙"
    )
    in_policy = total - self_funded - self_pay_first

    deductible_left = max(0, policy.deductible - year.deductible_used)
    deductible = min(in_policy, deductible_left)
    above = in_policy - deductible
    fund_wanted = ratio_of(above, policy.ratio)
    cap_left = max(0, policy.cap - year.fund_paid)
    fund = min(fund_wanted, cap_left)
    over_cap = fund_wanted - fund
    copay = above - fund_wanted

    own_share = total - fund
    account_payable = (
        own_share if policy.accounts_pay_self_funded else own_share - self_funded - self_pay_first
    )
    personal = min(accounts.personal_balance, account_payable) if accounts.use_personal else 0
    mutual = min(accounts.mutual_aid_balance, account_payable - personal)
    cash = own_share - personal - mutual

    return Split(
        total=total,
        self_funded=self_funded,
        self_pay_first=self_pay_first,
        deductible=deductible,
        copay=copay,
        over_cap=over_cap,
        fund=fund,
        personal_account=personal,
        mutual_aid=mutual,
        cash=cash,
        after=YearToDate(deductible_used=year.deductible_used + deductible, fund_paid=year.fund_paid + fund),
    )
