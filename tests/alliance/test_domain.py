"""Pure rules of alliance work: the referral state machine, the reserve split, care plans, sitting days."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from yilian.alliance import domain
from yilian.alliance.domain import Direction, ReferralKind, State


def test_state_machine_follows_the_referral_path() -> None:
    assert domain.can_move(State.REQUESTED, State.ACCEPTED)
    assert domain.can_move(State.REQUESTED, State.REFUSED)
    assert domain.can_move(State.ACCEPTED, State.BOOKED)
    assert domain.can_move(State.BOOKED, State.ARRIVED)
    assert domain.can_move(State.ARRIVED, State.RETURNED)
    assert not domain.can_move(State.REFUSED, State.ACCEPTED)
    assert not domain.can_move(State.REQUESTED, State.BOOKED)
    assert all(not domain.TRANSITIONS[s] for s in State if s.final)
    assert "已拒绝" in domain.refusal_text(State.REFUSED, State.ACCEPTED)


def test_every_state_and_kind_has_a_chinese_label() -> None:
    assert [s.label for s in State] == ["申请", "已接收", "已拒绝", "已预约", "已到诊", "已转回", "已结束"]
    assert ReferralKind.OUTPATIENT.direction is Direction.UP
    assert ReferralKind.CHRONIC.direction is Direction.DOWN


@pytest.mark.parametrize(
    ("capacities", "percent", "expected"),
    [
        ([20], 20, [4]),
        ([5, 5, 5, 5], 20, [1, 1, 1, 1]),
        ([3, 3, 3], 20, [1, 1, 0]),  # 9 × 20 % = 1.8 → 2
        ([2, 2], 0, [0, 0]),
        ([1, 1], 100, [1, 1]),
        ([], 20, []),
    ],
)
def test_reserve_split(capacities: list[int], percent: int, expected: list[int]) -> None:
    assert domain.reserve_split(capacities, percent) == expected


@given(st.lists(st.integers(0, 50), max_size=12), st.integers(0, 100))
def test_reserve_split_never_exceeds_a_slot_or_the_share(capacities: list[int], percent: int) -> None:
    split = domain.reserve_split(capacities, percent)
    assert all(0 <= n <= cap for n, cap in zip(split, capacities, strict=True))
    assert sum(split) == min((sum(capacities) * percent + 50) // 100, sum(capacities))


def test_release_and_deadlines() -> None:
    start = datetime(2026, 5, 11, 0, 0, tzinfo=UTC)
    assert domain.release_at(start, 24) == datetime(2026, 5, 10, 0, 0, tzinfo=UTC)
    asked = datetime(2026, 5, 7, 1, 0, tzinfo=UTC)
    assert domain.remind_at(asked, domain.DEFAULT_POLICY) == datetime(2026, 5, 7, 13, 0, tzinfo=UTC)
    assert domain.answer_due(asked, domain.DEFAULT_POLICY) == datetime(2026, 5, 8, 1, 0, tzinfo=UTC)


def test_down_referral_needs_a_care_plan_with_dates() -> None:
    today = date(2026, 5, 7)
    assert domain.check_care_plan(ReferralKind.OUTPATIENT, "", [], today) is None
    assert "方案" in (
        domain.check_care_plan(ReferralKind.REHABILITATION, "", [date(2026, 6, 1)], today) or ""
    )
    assert "随访日期" in (domain.check_care_plan(ReferralKind.CHRONIC, "每月复查血糖", [], today) or "")
    assert "早于" in (
        domain.check_care_plan(ReferralKind.CHRONIC, "每月复查血糖", [date(2026, 5, 1)], today) or ""
    )
    assert domain.check_care_plan(ReferralKind.CHRONIC, "每月复查血糖", [date(2026, 6, 7)], today) is None


def test_sitting_days_of_a_posting() -> None:
    days = domain.sitting_days(date(2026, 5, 1), date(2026, 5, 31), {0, 3})
    assert len(days) == 8 and all(d.weekday() in (0, 3) for d in days)
