"""Drug knowledge: frequencies, routes, unit conversion and the quantity to dispense (pure)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.catalog.drugs import METFORMIN
from yilian.catalog.drug_domain import (
    DrugFacts,
    dispense_quantity,
    frequency,
    how_to_take,
    parse_dose,
    route_label,
)
from yilian.catalog.errors import InvalidDose

SYRUP = DrugFacts("X1", "氨溴索口服溶液", "solution", Decimal(3), "mg", "ml", Decimal(100), "瓶")
INSULIN = DrugFacts("X2", "甘精胰岛素注射液", "injection", Decimal(100), "单位", "ml", Decimal(3), "支")


def test_tablets_in_strength_unit() -> None:
    q = dispense_quantity(METFORMIN, Decimal("0.5"), "g", frequency("tid"), 14)
    assert (q.packages, q.per_dose_form_units, q.total_form_units) == (1, 1, 42)
    assert q.rule == "每次 0.5g ÷ 0.5g/片 = 1片；每日3次 × 14天 = 42片；每盒48片 → 42 ÷ 48 向上取整 = 1盒"


def test_converted_unit_and_rounding_up() -> None:
    q = dispense_quantity(METFORMIN, Decimal(1000), "mg", frequency("bid"), 30)  # 2 片 × 2 × 30 = 120
    assert (q.per_dose_form_units, q.total_form_units, q.packages) == (2, 120, 3)  # 120 / 48 = 2.5 → 3


def test_dose_in_form_units_and_half_tablets() -> None:
    assert dispense_quantity(METFORMIN, Decimal(1), "片", frequency("qd"), 7).packages == 1
    q = dispense_quantity(METFORMIN, Decimal("0.25"), "g", frequency("tid"), 7)
    assert q.per_dose_form_units == Decimal("0.5") and q.total_form_units == Decimal("10.5")


def test_liquid_in_ml_and_in_mg() -> None:
    by_volume = dispense_quantity(SYRUP, Decimal(10), "ml", frequency("tid"), 7)  # 210 ml → 3 瓶
    assert by_volume.packages == 3
    by_mass = dispense_quantity(SYRUP, Decimal(30), "mg", frequency("tid"), 7)  # 30 mg = 10 ml
    assert by_mass.total_form_units == 210 and by_mass.packages == 3


def test_units_of_insulin() -> None:
    q = dispense_quantity(INSULIN, Decimal(10), "单位", frequency("qd"), 30)  # 300 单位 = 3 ml = 1 支
    assert (q.total_form_units, q.packages) == (3, 1)
    assert dispense_quantity(INSULIN, Decimal(20), "IU", frequency("qd"), 30).packages == 2


def test_single_dose_and_weekly() -> None:
    assert dispense_quantity(METFORMIN, Decimal(1), "g", frequency("st"), 1).total_form_units == 2
    weekly = dispense_quantity(METFORMIN, Decimal("0.5"), "g", frequency("qw"), 14)
    assert weekly.total_form_units == 2 and weekly.packages == 1


def test_bad_input_refused() -> None:
    for bad in ("0", "-1", "abc", "NaN"):
        with pytest.raises(InvalidDose):
            parse_dose(bad)
    with pytest.raises(InvalidDose, match="未知的给药频次"):
        frequency("tds")
    with pytest.raises(InvalidDose):
        route_label("nasal-ish")
    with pytest.raises(InvalidDose, match="不相容"):
        dispense_quantity(METFORMIN, Decimal(5), "ml", frequency("tid"), 7)
    with pytest.raises(InvalidDose):
        dispense_quantity(METFORMIN, Decimal(1), "g", frequency("tid"), 0)


def test_label_text() -> None:
    text = how_to_take(METFORMIN, Decimal("0.5"), "g", "tid", "po", 14)
    assert text == "口服，每日3次，每次0.5g，连用14天；餐中或餐后服用"
