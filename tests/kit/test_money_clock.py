"""Money in fen and the business clock (no database)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from yilian.kit.clock import FrozenClock, age_on, business_date, use_clock
from yilian.kit.masking import mask_id_number, mask_name, mask_phone
from yilian.kit.money import MoneyFormatError, allocate, parse_yuan, ratio_of, yuan


def test_yuan_formatting() -> None:
    assert yuan(0) == "¥0.00"
    assert yuan(123456) == "¥1,234.56"
    assert yuan(-5) == "-¥0.05"
    assert yuan(100, symbol=False) == "1.00"
    with pytest.raises(TypeError):
        yuan(1.5)  # type: ignore[arg-type]


def test_parse_yuan_is_exact() -> None:
    assert parse_yuan("12.34") == 1234
    assert parse_yuan("¥1,000") == 100000
    assert parse_yuan("0.1") == 10
    for bad in ("1.234", "abc", "NaN", ""):
        with pytest.raises(MoneyFormatError):
            parse_yuan(bad)


def test_ratio_rounds_half_up() -> None:
    assert ratio_of(333, "0.5") == 167
    assert ratio_of(100, "0.85") == 85
    assert ratio_of(1, "0.5") == 1


@given(
    st.integers(min_value=-(10**12), max_value=10**12),
    st.lists(st.integers(0, 10**6), min_size=1, max_size=8),
)
def test_allocate_parts_sum_to_total(total: int, weights: list[int]) -> None:
    if sum(weights) == 0:
        with pytest.raises(ValueError):
            allocate(total, weights)
        return
    parts = allocate(total, weights)
    assert sum(parts) == total
    assert len(parts) == len(weights)
    for part, weight in zip(parts, weights, strict=True):
        exact = total * weight / sum(weights)
        assert abs(part - exact) < 1 + 1e-9
        if weight == 0:
            assert part == 0


def test_business_date_is_shanghai() -> None:
    # 2026-05-06 16:30 UTC is 2026-05-07 00:30 in Shanghai.
    assert business_date(datetime(2026, 5, 6, 16, 30, tzinfo=UTC)) == date(2026, 5, 7)
    assert business_date(datetime(2026, 5, 6, 15, 59, tzinfo=UTC)) == date(2026, 5, 6)
    with use_clock(FrozenClock(datetime(2026, 10, 1, 2, 0, tzinfo=UTC))):
        assert business_date() == date(2026, 10, 1)
    with pytest.raises(ValueError):
        business_date(datetime(2026, 1, 1))
    with pytest.raises(ValueError):
        FrozenClock(datetime(2026, 1, 1))


def test_age_on_birthday_boundary() -> None:
    assert age_on(date(1956, 5, 7), date(2026, 5, 6)) == 69
    assert age_on(date(1956, 5, 7), date(2026, 5, 7)) == 70
    assert age_on(date(2000, 2, 29), date(2026, 2, 28)) == 25


def test_masking() -> None:
    assert mask_id_number("320602199001011234") == "320602********1234"
    assert mask_phone("13812345678") == "138****5678"
    assert mask_name("张三丰") == "张*丰"
    assert mask_name("李四") == "李*"
    assert mask_id_number("") == "" and mask_phone(None) == ""


def test_mask_text_in_log_lines() -> None:
    from yilian.kit.masking import mask_text

    line = 'GET /api/v1/patients?q=32060219900101123X&phone=13812345678 HTTP/1.1" 200'
    masked = mask_text(line)
    assert "32060219900101123X" not in masked and "320602********123X" in masked
    assert "13812345678" not in masked and "138****5678" in masked
    assert mask_text("order 20261122000123 total 1234") == "order 20261122000123 total 1234"
