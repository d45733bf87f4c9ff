"""Herbal review rules: 十八反 / 十九畏 in any order, max dose, toxic over limit, pregnancy, duplicates."""

from __future__ import annotations

import json
from importlib import resources

import pytest

from yilian.catalog.herb_domain import (
    FormulaClass,
    Herb,
    RxHerb,
    Severity,
    blocking,
    herbs_from_rows,
    review,
)

HERBS = {
    h.name: h
    for h in herbs_from_rows(
        json.loads(
            (resources.files("yilian.catalog") / "data" / "demo_herbs.json").read_text(encoding="utf-8")
        )
    )
}


def rx(*pairs: tuple[str, int]) -> list[RxHerb]:
    return [RxHerb(HERBS[name], grams) for name, grams in pairs]


@pytest.mark.parametrize("order", [("甘草", "海藻"), ("海藻", "甘草")])
def test_eighteen_incompatibilities_in_either_order(order: tuple[str, str]) -> None:
    findings = review(rx((order[0], 6), ("茯苓", 10), (order[1], 9)), pregnant=False)
    assert [(f.rule, f.severity) for f in findings] == [("十八反", Severity.BLOCK)]
    assert findings[0].message == "十八反：甘草 与 海藻 不宜同用"


@pytest.mark.parametrize(
    ("a", "b", "rule"),
    [
        ("附子", "半夏", "十八反"),
        ("川贝母", "附子", "十八反"),
        ("丹参", "甘草", None),
        ("丁香", "郁金", "十九畏"),
        ("赤石脂", "肉桂", "十九畏"),
        ("人参", "黄芪", None),
    ],
)
def test_pairs(a: str, b: str, rule: str | None) -> None:
    findings = [f for f in review(rx((a, 3), (b, 3)), pregnant=False) if f.rule in ("十八反", "十九畏")]
    assert [f.rule for f in findings] == ([rule] if rule else [])


def test_max_dose_and_toxic_limit() -> None:
    findings = review(rx(("黄芪", 61), ("细辛", 4), ("甘草", 15)), pregnant=False)
    assert [f.rule for f in findings] == ["超最大剂量", "毒性药超量"]
    assert findings[0].message == "黄芪 61 g 超过最大日剂量 60 g"
    assert findings[1].message == "毒性药 细辛 4 g 超过限量 3 g"
    assert review(rx(("黄芪", 60), ("细辛", 3)), pregnant=False) == []


def test_pregnancy_only_for_a_pregnant_patient() -> None:
    lines = rx(("桃仁", 9), ("川芎", 6), ("当归", 9))
    assert review(lines, pregnant=False) == []
    findings = review(lines, pregnant=True)
    assert [(f.rule, f.severity) for f in findings] == [
        ("妊娠禁忌", Severity.BLOCK),
        ("妊娠慎用", Severity.WARN),
    ]
    assert len(blocking(findings)) == 1


def test_duplicate_herb() -> None:
    findings = review(rx(("茯苓", 10), ("白术", 9), ("茯苓", 12)), pregnant=False)
    assert [f.message for f in findings] == ["重复开具：茯苓"]


def test_formula_classes_set_boil_times() -> None:
    assert FormulaClass.GENERAL.boil_minutes == (20, 30)
    assert FormulaClass.EXTERIOR.boil_minutes == FormulaClass.HEAT.boil_minutes == (15, 20)
    assert FormulaClass.AROMATIC.boil_minutes == (15, 20)
    assert FormulaClass.TONIC.boil_minutes == (40, 60)


def test_custom_herb_without_catalogue() -> None:
    h = Herb("X1", "某药", 10, 1, 5, 5, toxic=True)
    assert [f.rule for f in review([RxHerb(h, 6)], pregnant=False)] == ["毒性药超量"]
