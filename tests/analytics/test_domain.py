"""The indicator registry's arithmetic against values computed by hand."""

from __future__ import annotations

from datetime import date

import pytest

from yilian.analytics import domain
from yilian.analytics.domain import INDICATORS, Month
from yilian.analytics.errors import InvalidPeriod, UnknownIndicator


def test_every_indicator_is_documented_and_well_formed() -> None:
    codes = [i.code for i in INDICATORS]
    assert len(codes) == len(set(codes))
    known = set(domain.MEASURES) | set(domain.DISTINCT_MEASURES) | {"drg_balance_fen"}
    with open("docs/indicators.md", encoding="utf-8") as f:
        doc = f.read()
    for i in INDICATORS:
        assert i.topic in domain.TOPICS
        assert i.name in doc and f"`{i.code}`" in doc
        if i.available:
            assert i.numerator in known, i.code
            assert i.denominator in known | {None, "results_decided", "open_beds"}, i.code
        assert i.grains and i.unit and i.formula and i.source
    assert not [i.code for i in INDICATORS if not i.available]  # every figure of the seeds is wired in
    assert "not yet available" not in doc
    # every figure the issue lists
    assert {
        "visits",
        "credit_visits",
        "credit_beneficiaries",
        "return_visits",
        "fees_waived",
        "results_recognised",
        "results_fee_saved",
        "audit_findings",
        "audit_recovered",
        "cmi",
        "drg_balance",
        "bed_occupancy",
        "bed_turnover",
        "average_stay",
        "preadmission_days_saved",
        "referrals_up",
        "referrals_down",
        "expert_sitting_days",
        "grassroots_share",
        "decoction_on_time",
    } <= {i.code for i in INDICATORS}


def test_bed_indicators_from_measures() -> None:
    # 30 days, 10 open beds: 300 open bed-days; 240 occupied → 80%; 12 discharges over 10 beds → 1.2
    # turnover; 96 discharged bed-days over 12 discharges → 8 days
    sums = {"open_bed_days": 300, "occupied_bed_days": 240, "discharges": 12, "discharged_bed_days": 96}
    assert domain.value(domain.indicator("bed_occupancy"), sums, 30) == 80.0
    assert domain.value(domain.indicator("bed_turnover"), sums, 30) == 1.2
    assert domain.value(domain.indicator("average_stay"), sums, 30) == 8.0


def test_cmi_rates_and_balance() -> None:
    sums = {
        "drg_cases": 4,
        "drg_weight_e4": 43_000,  # weights 0.8 + 1.0 + 1.2 + 1.3 = 4.3
        "drg_payment_fen": 1_000_000,
        "drg_cost_fen": 1_200_000,
        "results_recognised": 3,
        "results_not_recognised": 1,
        "grassroots_visits": 13,
        "visits": 20,
        "decoctions_finished": 8,
        "decoctions_on_time": 7,
    }
    assert domain.value(domain.indicator("cmi"), sums, 31) == 1.075
    assert domain.value(domain.indicator("drg_balance"), sums, 31) == -200_000
    assert domain.value(domain.indicator("recognition_rate"), sums, 31) == 75.0
    assert domain.value(domain.indicator("grassroots_share"), sums, 31) == 65.0
    assert domain.value(domain.indicator("decoction_on_time"), sums, 31) == 87.5


def test_missing_denominators_and_plain_counts() -> None:
    assert domain.value(domain.indicator("cmi"), {}, 30) is None
    assert domain.value(domain.indicator("bed_turnover"), {"discharges": 3}, 30) is None
    assert domain.value(domain.indicator("referrals_up"), {"referrals_up": 5}, 30) == 5
    assert domain.value(domain.indicator("expert_sitting_days"), {}, 30) == 0
    assert domain.display(domain.indicator("referrals_down"), 1234) == "1,234 人次"
    assert domain.display(domain.indicator("expert_sitting_days"), 9) == "9 天"
    assert domain.display(domain.indicator("credit_amount"), 123456) == "1,234.56 元"
    assert domain.display(domain.indicator("bed_occupancy"), 80.0) == "80.0%"


def test_change_against_last_year() -> None:
    assert domain.change(120, 100) == 20.0
    assert domain.change(80.0, 100.0) == -20.0
    assert domain.change(5, 0) is None
    assert domain.change(None, 5) is None


def test_months() -> None:
    m = Month.parse("2026-10")
    assert (m.first, m.last, m.days) == (date(2026, 10, 1), date(2026, 10, 31), 31)
    assert str(m.shift(3)) == "2027-01"
    assert str(m.shift(-10)) == "2025-12"
    assert domain.same_period_last_year(m, m.shift(2)) == (Month(2025, 10), Month(2025, 12))
    assert len(domain.months_between(Month(2026, 1), Month(2026, 12))) == 12
    for bad in ("2026-13", "2026/10", "26-10", ""):
        with pytest.raises(InvalidPeriod):
            Month.parse(bad)
    with pytest.raises(InvalidPeriod):
        domain.months_between(Month(2026, 5), Month(2026, 4))
    with pytest.raises(UnknownIndicator):
        domain.indicator("nope")
