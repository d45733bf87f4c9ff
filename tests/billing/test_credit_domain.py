"""Credit-care eligibility and the daily limit (pure)."""

from __future__ import annotations

from dataclasses import replace

from yilian.billing.domain import CreditPolicyValues, CreditStanding, credit_refusal, hold_fits

POLICY = CreditPolicyValues(
    enabled=True,
    daily_limit=100_000,
    excluded_clinic_types=frozenset({"special_needs"}),
    excluded_item_codes=frozenset(),
    suspend_after_days=10,
    reminder_days=(1, 3, 7),
)
GOOD = CreditStanding(
    real_name_verified=True, insured=True, has_signed_channel=False, unpaid_arrears=0, suspended=False
)


def test_eligible_patient() -> None:
    assert credit_refusal(POLICY, GOOD, "ordinary") is None
    assert credit_refusal(POLICY, replace(GOOD, insured=False, has_signed_channel=True), "ordinary") is None


def test_each_refusal_has_its_reason() -> None:
    cases = [
        (replace(POLICY, enabled=False), GOOD, "ordinary", "未开通"),
        (POLICY, GOOD, "special_needs", "门诊类型"),
        (POLICY, replace(GOOD, real_name_verified=False), "ordinary", "实名"),
        (POLICY, replace(GOOD, insured=False), "ordinary", "未参保"),
        (POLICY, replace(GOOD, suspended=True, unpaid_arrears=500), "ordinary", "暂停"),
        (POLICY, replace(GOOD, unpaid_arrears=1), "ordinary", "欠费"),
    ]
    for policy, standing, clinic, words in cases:
        reason = credit_refusal(policy, standing, clinic)
        assert reason is not None and words in reason


def test_daily_limit_boundary() -> None:
    assert hold_fits(POLICY, 90_000, 10_000)
    assert not hold_fits(POLICY, 90_000, 10_001)
