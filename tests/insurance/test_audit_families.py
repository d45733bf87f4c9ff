"""One test per rule family, positive and negative, on both engines (``both`` checks they agree)."""

from __future__ import annotations

from datetime import timedelta

from tests.insurance.audit_helpers import DAY, both, library, line
from yilian.insurance.audit.domain import Finding


def rule(family: str, params: str, extra: str = "") -> str:
    return f"  - {{id: R1, family: {family}, description: 测试规则, params: {params}{extra}}}\n"


def test_sex() -> None:
    lib = library(rule("sex", "{items: [A], sex: M}"))
    assert both(lib, [line(1, "A", sex="F")]) == [Finding("R1", "C1", (1,), (), 1000, "F")]
    assert both(lib, [line(1, "A", sex="M"), line(2, "B", sex="F")]) == []


def test_age_children() -> None:
    lib = library(rule("age", "{items: [A], min_age: 0, max_age: 14}"))
    assert both(lib, [line(1, "A", age=15)]) == [Finding("R1", "C1", (1,), (), 1000, "15")]
    assert both(lib, [line(1, "A", age=14), line(2, "A", age=0, claim_id="C2", patient_id="P2")]) == []


def test_indication() -> None:
    lib = library(rule("indication", "{items: [A], prefixes: [E10, E11]}"))
    assert both(lib, [line(1, "A", diagnosis="I10")]) == [Finding("R1", "C1", (1,), (), 1000, "I10")]
    assert both(lib, [line(1, "A", diagnosis="E11.900")]) == []


def test_institution_level() -> None:
    lib = library(rule("level", "{items: [A], min_level: 2}"))
    assert both(lib, [line(1, "A", level=1)]) == [Finding("R1", "C1", (1,), (), 1000, "1")]
    assert both(lib, [line(1, "A", level=2)]) == []


def test_scheme() -> None:
    lib = library(rule("scheme", "{items: [A], schemes: [employee]}"))
    assert both(lib, [line(1, "A", scheme="resident")]) == [Finding("R1", "C1", (1,), (), 1000, "resident")]
    assert both(lib, [line(1, "A", scheme="employee")]) == []


def test_care_setting() -> None:
    lib = library(rule("setting", "{items: [A], settings: [inpatient]}"))
    assert both(lib, [line(1, "A")]) == [Finding("R1", "C1", (1,), (), 1000, "outpatient")]
    assert both(lib, [line(1, "A", setting="inpatient")]) == []


def test_quantity_per_day_visit_and_stay() -> None:
    per_day = library(rule("quantity", "{items: [A], per: day, max: 3}"))
    two_days = [line(1, "A", quantity=2), line(2, "A", quantity=2, service_date=DAY + timedelta(days=1))]
    assert both(per_day, two_days) == []
    same_day = [line(1, "A", quantity=2), line(2, "A", quantity=2, unit_price=500)]
    # 4 given, 3 allowed: the excess share of the amount, 3000 × 1 // 4
    assert both(per_day, same_day) == [Finding("R1", "C1", (1, 2), (), 750, "4")]
    per_visit = library(rule("quantity", "{items: [A], per: visit, max: 3}"))
    assert both(per_visit, two_days) == [Finding("R1", "C1", (1, 2), (), 1000, "4")]
    per_stay = library(rule("quantity", "{items: [A, B], per: stay, max: 2}"))
    assert both(per_stay, [line(1, "A"), line(2, "B"), line(3, "B", claim_id="C2")]) == []
    assert both(per_stay, [line(1, "A"), line(2, "B"), line(3, "B")]) == [
        Finding("R1", "C1", (1, 2, 3), (), 1000, "3")
    ]


def test_duplicate_in_period_across_claims() -> None:
    lib = library(rule("duplicate", "{items: [A], period_days: 30}"))
    later = DAY + timedelta(days=29)
    lines = [
        line(1, "A"),
        line(2, "A", claim_id="C2", service_date=later, admit_date=later, discharge_date=later),
    ]
    assert both(lib, lines) == [Finding("R1", "C2", (1, 2), (), 1000, "29")]
    apart = DAY + timedelta(days=30)
    ok = [
        line(1, "A"),
        line(2, "A", claim_id="C2", service_date=apart),
        line(3, "A", patient_id="P2", claim_id="C3"),
    ]
    assert both(lib, ok) == []


def test_included_sub_item() -> None:
    lib = library(rule("included", "{main: [M], sub: [S1, S2]}"))
    lines = [line(1, "M"), line(2, "S1", unit_price=300), line(3, "S2", service_date=DAY + timedelta(days=1))]
    assert both(lib, lines) == [Finding("R1", "C1", (1, 2), (), 300, "S1")]
    assert both(lib, [line(1, "S1"), line(2, "S2")]) == []


def test_mutually_exclusive_on_one_day() -> None:
    lib = library(rule("exclusive", "{a: [A], b: [B]}"))
    assert both(lib, [line(1, "A"), line(2, "B", unit_price=700)]) == [
        Finding("R1", "C1", (1, 2), (), 700, "2")
    ]
    assert both(lib, [line(1, "A"), line(2, "B", service_date=DAY + timedelta(days=1))]) == []


def test_missing_companion() -> None:
    lib = library(rule("companion", "{items: [ANES], requires: [OP1, OP2]}"))
    assert both(lib, [line(1, "ANES")]) == [Finding("R1", "C1", (1,), (), 1000, "ANES")]
    assert both(lib, [line(1, "ANES"), line(2, "OP2", service_date=DAY + timedelta(days=2))]) == []


def test_price_above_catalogue() -> None:
    lib = library(rule("price", "{prices: {A: 1000, B: 500}}"))
    assert both(lib, [line(1, "A", unit_price=1200, quantity=3)]) == [
        Finding("R1", "C1", (1,), (), 600, "1200")
    ]
    assert (
        both(lib, [line(1, "A", unit_price=1000), line(2, "B", unit_price=400), line(3, "Z", unit_price=9)])
        == []
    )


def test_readmission_same_diagnosis_within_15_days() -> None:
    lib = library(rule("readmission", "{days: 15, match_chars: 3}"))
    out = DAY + timedelta(days=5)

    def stay(n: int, claim: str, admit_offset: int, diagnosis: str) -> list:
        admit = out + timedelta(days=admit_offset)
        return [
            line(
                n,
                "BED",
                claim_id=claim,
                setting="inpatient",
                diagnosis=diagnosis,
                admit_date=admit,
                discharge_date=admit + timedelta(days=3),
                service_date=admit,
            )
        ]

    first = [line(1, "BED", setting="inpatient", diagnosis="J18.0", discharge_date=out)]
    assert both(lib, first + stay(2, "C2", 15, "J18.9")) == [Finding("R1", "C2", (), ("C1",), 1000, "15")]
    assert both(lib, first + stay(2, "C2", 16, "J18.9")) == []
    assert both(lib, first + stay(2, "C2", 3, "K35.8")) == []


def test_length_of_stay() -> None:
    lib = library(rule("stay", "{max_days: 14, prefixes: [K35]}"))
    long = [line(1, "BED", setting="inpatient", diagnosis="K35.8", discharge_date=DAY + timedelta(days=15))]
    assert both(lib, long) == [Finding("R1", "C1", (), (), 0, "15")]
    assert (
        both(
            lib,
            [line(1, "BED", setting="inpatient", diagnosis="J18.0", discharge_date=DAY + timedelta(days=15))],
        )
        == []
    )
    assert (
        both(
            lib,
            [line(1, "BED", setting="inpatient", diagnosis="K35.8", discharge_date=DAY + timedelta(days=14))],
        )
        == []
    )


def test_effective_dates_and_stages() -> None:
    lib = library(rule("sex", "{items: [A], sex: M}", ", effective_from: 2026-06-01, stages: [post]"))
    assert both(lib, [line(1, "A", sex="F")]) == []
    later = DAY + timedelta(days=30)
    assert both(lib, [line(1, "A", sex="F", service_date=later)]) == [
        Finding("R1", "C1", (1,), (), 1000, "F")
    ]
    from yilian.insurance.audit.domain import ClaimEngine, Stage

    assert ClaimEngine(lib, Stage.PRE).check([line(1, "A", sex="F", service_date=later)]) == []
