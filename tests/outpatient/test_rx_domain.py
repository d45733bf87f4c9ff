"""Prescription kinds, their day limits and each review rule (pure)."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from tests.catalog.drugs import METFORMIN
from yilian.catalog.drug_domain import Controlled, DrugFacts, InteractionPair
from yilian.outpatient.rx_domain import (
    REVIEW_RULES,
    PatientFacts,
    PrescriptionKind,
    RxLine,
    Severity,
    max_days,
    review,
)

ADULT = PatientFacts(age_years=56, weight_kg=Decimal(70))
METFORMIN_K = replace(
    METFORMIN,
    ingredients=("二甲双胍",),
    drug_class="双胍类降糖药",
    max_single=Decimal(1),
    max_daily=Decimal("2.55"),
    absolute_max_single=Decimal(3),
    frequencies=("qd", "bid", "tid"),
    pregnancy="B",
)
CIMETIDINE = DrugFacts(
    "XA02BAX001",
    "西咪替丁片",
    "tablet",
    Decimal("0.2"),
    "g",
    "片",
    Decimal(24),
    "盒",
    ingredients=("西咪替丁",),
    drug_class="H2受体拮抗剂",
)
AMOXICILLIN = DrugFacts(
    "XJ01CAA040",
    "阿莫西林胶囊",
    "capsule",
    Decimal("0.25"),
    "g",
    "粒",
    Decimal(24),
    "盒",
    ingredients=("阿莫西林",),
    drug_class="青霉素类抗生素",
    allergy_groups=("青霉素类",),
    max_daily_per_kg=Decimal("0.09"),
    pregnancy="B",
    lactation="caution",
)
WARFARIN = DrugFacts(
    "X3",
    "华法林钠片",
    "tablet",
    Decimal("2.5"),
    "mg",
    "片",
    Decimal(60),
    "瓶",
    ingredients=("华法林",),
    pregnancy="X",
    lactation="avoid",
)
MORPHINE_INJ = DrugFacts(
    "X4",
    "盐酸吗啡注射液",
    "injection",
    Decimal(10),
    "mg",
    "ml",
    Decimal(1),
    "支",
    controlled=Controlled.NARCOTIC,
)
MORPHINE_SR = replace(
    MORPHINE_INJ, form="tablet", form_unit="片", controlled_release=True, name="硫酸吗啡缓释片"
)
PAIRS = [
    InteractionPair("二甲双胍", "西咪替丁", "serious", "西咪替丁减少二甲双胍经肾排泄，增加乳酸酸中毒风险")
]


def line(facts: DrugFacts, dose: str = "0.5", unit: str = "g", freq: str = "tid", days: int = 7) -> RxLine:
    return RxLine(facts, Decimal(dose), unit, freq, "po", days)


def codes(findings: list) -> list[str]:  # type: ignore[type-arg]
    return [f.rule for f in findings]


def test_kind_limits() -> None:
    assert max_days(PrescriptionKind.NORMAL) == 7
    assert max_days(PrescriptionKind.NORMAL, long_term=True) == 84
    assert max_days(PrescriptionKind.EMERGENCY) == 3
    assert max_days(PrescriptionKind.PAEDIATRIC) == 7
    assert max_days(PrescriptionKind.PSYCH2) == 7
    assert max_days(PrescriptionKind.NARCOTIC, MORPHINE_INJ) == 1
    assert max_days(PrescriptionKind.NARCOTIC, MORPHINE_SR) == 7
    assert max_days(PrescriptionKind.NARCOTIC, METFORMIN_K) == 3
    assert PrescriptionKind.NARCOTIC.colour == "#fde2e2" and PrescriptionKind.PSYCH2.corner_mark == "精二"


def test_clean_prescription_has_no_findings() -> None:
    assert review([line(METFORMIN_K)], ADULT, PrescriptionKind.NORMAL) == []


def test_days_over_the_kind_limit() -> None:
    found = review([line(METFORMIN_K, days=14)], ADULT, PrescriptionKind.NORMAL)
    assert codes(found) == ["days"] and found[0].message == "普通处方限 7 天，盐酸二甲双胍片开了 14 天"
    assert review([line(METFORMIN_K, days=14)], ADULT, PrescriptionKind.NORMAL, long_term=True) == []
    assert codes(review([line(METFORMIN_K, days=4)], ADULT, PrescriptionKind.EMERGENCY)) == ["days"]


def test_single_and_daily_dose() -> None:
    assert codes(review([line(METFORMIN_K, dose="1.5")], ADULT, PrescriptionKind.NORMAL)) == [
        "dose_single",
        "dose_daily",
    ]
    found = review([line(METFORMIN_K, dose="1", freq="tid")], ADULT, PrescriptionKind.NORMAL)
    assert codes(found) == ["dose_daily"] and "日剂量 3g 超过最大日剂量 2.55g" in found[0].message


def test_weight_and_age_for_children() -> None:
    child = PatientFacts(age_years=6, weight_kg=Decimal(20))
    found = review([line(AMOXICILLIN, dose="0.75", freq="tid")], child, PrescriptionKind.PAEDIATRIC)
    assert codes(found) == ["dose_weight"] and "1.8g（0.09g/kg × 20kg）" in found[0].message
    young = replace(METFORMIN_K, min_age_years=10)
    assert "age" in codes(review([line(young)], child, PrescriptionKind.PAEDIATRIC))
    assert codes(review([line(METFORMIN_K)], child, PrescriptionKind.NORMAL)) == ["paediatric_kind"]


def test_frequency_not_recommended() -> None:
    found = review([line(METFORMIN_K, dose="0.5", freq="qid")], ADULT, PrescriptionKind.NORMAL)
    assert codes(found) == ["frequency"] and found[0].severity is Severity.CAUTION


def test_allergy_by_ingredient_or_group() -> None:
    allergic = replace(ADULT, allergies=("青霉素类",))
    found = review([line(AMOXICILLIN, dose="0.5")], allergic, PrescriptionKind.NORMAL)
    assert (
        codes(found) == ["allergy"]
        and found[0].message == "患者对“青霉素类”过敏，阿莫西林胶囊含该成分或属该类"
    )
    assert codes(
        review([line(METFORMIN_K)], replace(ADULT, allergies=("二甲双胍",)), PrescriptionKind.NORMAL)
    ) == ["allergy"]


def test_duplicate_therapy() -> None:
    other = replace(METFORMIN_K, item_code="X9", name="盐酸二甲双胍缓释片")
    assert codes(review([line(METFORMIN_K), line(other)], ADULT, PrescriptionKind.NORMAL)) == [
        "duplicate_ingredient"
    ]
    same_class = replace(METFORMIN_K, item_code="X8", name="苯乙双胍片", ingredients=("苯乙双胍",))
    found = review([line(METFORMIN_K), line(same_class)], ADULT, PrescriptionKind.NORMAL)
    assert codes(found) == ["duplicate_class"] and found[0].lines == (0, 1)


def test_interaction_in_any_order_and_across_prescriptions() -> None:
    for lines in (
        [line(METFORMIN_K), line(CIMETIDINE, dose="0.2")],
        [line(CIMETIDINE, dose="0.2"), line(METFORMIN_K)],
    ):
        found = review(lines, ADULT, PrescriptionKind.NORMAL, PAIRS)
        assert codes(found) == ["interaction"] and "乳酸酸中毒" in found[0].message
    across = review(
        [line(CIMETIDINE, dose="0.2", days=3)],
        ADULT,
        PrescriptionKind.EMERGENCY,
        PAIRS,
        other_lines=[line(METFORMIN_K)],
    )
    assert codes(across) == ["interaction"]


def test_pregnancy_and_lactation() -> None:
    assert codes(
        review([line(WARFARIN, "2.5", "mg", "qd")], replace(ADULT, pregnant=True), PrescriptionKind.NORMAL)
    ) == ["pregnancy"]
    assert codes(
        review([line(WARFARIN, "2.5", "mg", "qd")], replace(ADULT, lactating=True), PrescriptionKind.NORMAL)
    ) == ["lactation"]
    assert review([line(METFORMIN_K)], replace(ADULT, pregnant=True), PrescriptionKind.NORMAL) == []


def test_controlled_drugs_need_their_kind_and_limits() -> None:
    found = review([line(MORPHINE_INJ, "10", "mg", "st", 1)], ADULT, PrescriptionKind.NORMAL)
    assert codes(found) == ["controlled_kind"] and "须开具麻醉/精一处方" in found[0].message
    assert codes(review([line(MORPHINE_INJ, "10", "mg", "st", 2)], ADULT, PrescriptionKind.NARCOTIC)) == [
        "days"
    ]
    assert review([line(MORPHINE_SR, "10", "mg", "q12h", 7)], ADULT, PrescriptionKind.NARCOTIC) == []


def test_at_most_five_drugs_and_rules_are_data() -> None:
    many = [
        line(replace(METFORMIN_K, item_code=f"X{i}", ingredients=(f"i{i}",), drug_class=f"c{i}"))
        for i in range(6)
    ]
    assert codes(review(many, ADULT, PrescriptionKind.NORMAL)) == ["too_many"]
    assert all(r.message and r.category for r in REVIEW_RULES.values())
    assert REVIEW_RULES["interaction"].severity is Severity.SERIOUS
