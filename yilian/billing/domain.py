"""Pure rules of billing's payment layer: channels, payment states and signed gateway messages.

Gateway messages (callbacks, statements) are signed with HMAC-SHA256 over the canonical form
``k1=v1&k2=v2`` of their fields sorted by name (the ``sign`` field excluded), as Chinese payment
gateways do; a message whose signature does not verify is refused.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from yilian.kit.money import Fen


class Channel(StrEnum):
    WECHAT = "wechat"
    ALIPAY = "alipay"
    UNIONPAY = "unionpay"
    CASH = "cash"
    INSURANCE_CREDENTIAL = "insurance_credential"  # 医保电子凭证 (脱卡付 / 一码支付)

    @property
    def label(self) -> str:
        return {
            "wechat": "微信支付",
            "alipay": "支付宝",
            "unionpay": "银联",
            "cash": "现金",
            "insurance_credential": "医保电子凭证（脱卡付）",
        }[self.value]


class PaymentStatus(StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"

    @property
    def label(self) -> str:
        return {"pending": "处理中", "succeeded": "已支付", "failed": "失败"}[self.value]


# ---------------------------------------------------------------- statuses (stored as their plain values)


class ChargeStatus(StrEnum):
    """A charge is open on the day's bill until its settlement; a cancelled order's charge is void, and
    a pre-admission test's charge moves to the inpatient bill (预住院)."""

    OPEN = "open"
    SETTLED = "settled"
    VOID = "void"
    MOVED = "moved"

    @property
    def label(self) -> str:
        # a moved charge has shown its plain value on the running bill so far
        return {"open": "待结算", "settled": "已结算", "void": "已作废"}.get(self.value, self.value)


class SettlementStatus(StrEnum):
    """A settlement stands settled, or in arrears when the 23:00 debit failed, until it is reversed (冲正)."""

    SETTLED = "settled"
    ARREARS = "arrears"
    REVERSED = "reversed"

    @property
    def label(self) -> str:
        return {"settled": "已结算", "arrears": "欠费", "reversed": "已冲正"}[self.value]


class SettlementMode(StrEnum):
    """Who settled: the patient (kiosk, phone or the cashier's counter) or the 23:00 automatic debit."""

    SELF = "self"
    AUTO = "auto"

    @property
    def label(self) -> str:
        return {"self": "患者/窗口", "auto": "自动代扣"}[self.value]


class SettleOutcome(StrEnum):
    """What the 23:00 job did with one encounter-day."""

    SETTLED = "settled"
    ARREARS = "arrears"
    SKIPPED = "skipped"  # settled meanwhile by the patient or another worker


def canonical(fields: Mapping[str, object]) -> str:
    """Return a message's canonical string: sorted ``k=v`` pairs joined by ``&``, empty values left out."""
    return "&".join(f"{k}={fields[k]}" for k in sorted(fields) if k != "sign" and fields[k] not in (None, ""))


def sign(secret: str, fields: Mapping[str, object]) -> str:
    """Return the upper-case hex HMAC-SHA256 signature of a message."""
    return hmac.new(secret.encode(), canonical(fields).encode(), hashlib.sha256).hexdigest().upper()


def verify(secret: str, fields: Mapping[str, object]) -> bool:
    """Tell whether a message carries a valid signature (constant-time comparison)."""
    given = str(fields.get("sign") or "")
    return bool(given) and hmac.compare_digest(given, sign(secret, fields))


@dataclass(frozen=True)
class StatementLine:
    """One transaction in a channel's daily statement (对账单)."""

    trade_no: str  # the channel's transaction number
    out_trade_no: str  # our payment number
    kind: str  # "pay" | "refund"
    amount: Fen


@dataclass(frozen=True)
class Mismatch:
    """A difference found by reconciliation (对账差异)."""

    out_trade_no: str
    kind: str
    reason: str  # "missing_at_channel" | "missing_here" | "amount_differs"
    ours: Fen | None
    theirs: Fen | None

    @property
    def label(self) -> str:
        return {
            "missing_at_channel": "本院有、渠道无（长款）",
            "missing_here": "渠道有、本院无（短款）",
            "amount_differs": "金额不一致",
        }[self.reason]


def reconcile(ours: list[StatementLine], theirs: list[StatementLine]) -> list[Mismatch]:
    """Compare our ledger with a channel's statement for one day; returns every difference."""
    mine = {(s.out_trade_no, s.kind): s for s in ours}
    other = {(s.out_trade_no, s.kind): s for s in theirs}
    out: list[Mismatch] = []
    for key in sorted(set(mine) | set(other)):
        a, b = mine.get(key), other.get(key)
        if b is None and a is not None:
            out.append(Mismatch(key[0], key[1], "missing_at_channel", a.amount, None))
        elif a is None and b is not None:
            out.append(Mismatch(key[0], key[1], "missing_here", None, b.amount))
        elif a is not None and b is not None and a.amount != b.amount:
            out.append(Mismatch(key[0], key[1], "amount_differs", a.amount, b.amount))
    return out


# ---------------------------------------------------------------- credit care (先诊疗后付费)


@dataclass(frozen=True)
class CreditPolicyValues:
    """An institution's credit-care policy (docs/domain.md §2); every number is configurable."""

    enabled: bool
    daily_limit: Fen  # the patient's own share the credit line covers per day
    excluded_clinic_types: frozenset[str]
    excluded_item_codes: frozenset[str]  # e.g. 特需 services, cosmetic care, deposits
    suspend_after_days: int  # arrears unpaid this many natural days suspend credit
    reminder_days: tuple[int, ...]


@dataclass(frozen=True)
class CreditStanding:
    """What the eligibility check needs to know about a patient."""

    real_name_verified: bool
    insured: bool
    has_signed_channel: bool
    unpaid_arrears: Fen
    suspended: bool


def credit_refusal(policy: CreditPolicyValues, standing: CreditStanding, clinic_type: str) -> str | None:
    """Return why credit care is refused (Chinese, for people), or None when the patient is eligible."""
    if not policy.enabled:
        return "本机构未开通先诊疗后付费"
    if clinic_type in policy.excluded_clinic_types:
        return "该门诊类型不适用先诊疗后付费"
    if not standing.real_name_verified:
        return "患者未完成实名认证"
    if not (standing.insured or standing.has_signed_channel):
        return "患者未参保且未签约支付渠道"
    if standing.suspended:
        return "患者因欠费已暂停信用就医，结清欠费后恢复"
    if standing.unpaid_arrears > 0:
        return "患者有未结清的欠费"
    return None


def hold_fits(policy: CreditPolicyValues, held_today: Fen, amount: Fen) -> bool:
    """Tell whether a new credit hold of ``amount`` stays within the daily limit."""
    return held_today + amount <= policy.daily_limit


# ---------------------------------------------------------------- credit policy checks and the dashboard

MAX_DAILY_LIMIT: Fen = 10_000_000  # ¥100,000: far above any published scheme (¥1,000–¥3,000)
MAX_SUSPEND_DAYS = 90


def credit_policy_problems(values: CreditPolicyValues, known_clinic_types: frozenset[str]) -> list[str]:
    """Return what is wrong with a credit policy (Chinese, for people); empty when it may be saved."""
    problems: list[str] = []
    if not 0 < values.daily_limit <= MAX_DAILY_LIMIT:
        problems.append(f"每日信用额度应在 0.01 至 {MAX_DAILY_LIMIT // 100:,} 元之间")
    unknown = sorted(values.excluded_clinic_types - known_clinic_types)
    if unknown:
        problems.append(f"未知的门诊类型：{'、'.join(unknown)}")
    if any(not code.strip() or len(code) > 40 for code in values.excluded_item_codes):
        problems.append("排除项目编码不能为空，且不超过 40 个字符")
    if len(values.excluded_item_codes) > 500:
        problems.append("排除项目最多 500 个")
    if not 1 <= values.suspend_after_days <= MAX_SUSPEND_DAYS:
        problems.append(f"欠费暂停天数应在 1 至 {MAX_SUSPEND_DAYS} 天之间")
    days = values.reminder_days
    if len(set(days)) != len(days):
        problems.append("催缴提醒日不能重复")
    if len(days) > 10:
        problems.append("催缴提醒日最多 10 个")
    if any(not 1 <= d <= values.suspend_after_days for d in days):
        problems.append(f"催缴提醒日应在第 1 至第 {values.suspend_after_days} 天之间（暂停之前或当天）")
    return problems


@dataclass(frozen=True)
class AgeBucket:
    """An age range of open arrears in natural days since the debit failed; ``upper`` None = no end."""

    label: str
    lower: int
    upper: int | None
    suspended: bool = False

    def holds(self, age: int) -> bool:
        return age >= self.lower and (self.upper is None or age <= self.upper)


def arrears_age_buckets(suspend_after_days: int) -> list[AgeBucket]:
    """Return the dashboard's age buckets: 1–3, 4–7, 8–(N−1) days and ≥ N days (credit suspended, the
    same test as ``standing``); an arrear opened today (age 0) counts in the first bucket."""
    n = suspend_after_days
    edges = [e for e in (3, 7) if e < n - 1] + ([n - 1] if n > 1 else [])
    buckets: list[AgeBucket] = []
    lower = 0
    for edge in edges:
        shown = max(lower, 1)
        label = f"{shown} 天" if shown == edge else f"{shown}–{edge} 天"
        buckets.append(AgeBucket(label, lower, edge))
        lower = edge + 1
    buckets.append(AgeBucket(f"≥{n} 天（已暂停信用）", n, None, suspended=True))
    return buckets


@dataclass(frozen=True)
class BucketTotal:
    label: str
    count: int
    amount: Fen
    suspended: bool


@dataclass(frozen=True)
class OpenArrear:
    """One unpaid arrear as the dashboard lists it."""

    arrear_id: int
    patient_id: int
    patient_name: str
    mpi_id: str
    opened_on: date
    age_days: int
    amount: Fen
    reminders_sent: tuple[int, ...]
    suspended: bool


@dataclass(frozen=True)
class CreditDashboard:
    """Credit care at one institution over a date range (flows) and today (open arrears)."""

    institution_id: int
    start: date
    end: date
    credit_visits: int  # encounters with at least one charge on credit in the range
    beneficiaries: int  # distinct patients among them
    credit_amount: Fen  # the patients' own shares held on credit in the range
    open_holds: Fen  # of which not settled yet
    settled_by_patient: int  # credit encounter-days the patient settled (kiosk, phone, counter)
    settled_automatically: int  # settled by the 23:00 debit
    arrears_opened: int  # 23:00 debits that failed in the range
    arrears_open_count: int
    arrears_open_amount: Fen
    buckets: tuple[BucketTotal, ...]
    recovered_count: int  # arrears paid in the range
    recovered_amount: Fen
    open_arrears: tuple[OpenArrear, ...]
