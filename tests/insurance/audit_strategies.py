"""Hypothesis strategies for the audit tests: random rule libraries and random claims."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import strategies as st

from tests.insurance.audit_helpers import DAY, line
from yilian.insurance.audit.domain import ClaimLine, Family

ITEMS = ["A", "B", "C", "D"]


items = st.lists(st.sampled_from(ITEMS), min_size=1, max_size=2, unique=True)


@st.composite
def rule_yaml(draw: st.DrawFn, n: int) -> str:
    family = draw(st.sampled_from([f.value for f in Family]))
    its = draw(items)
    params = {
        "sex": f"{{items: {its}, sex: {draw(st.sampled_from(['M', 'F']))}}}",
        "age": f"{{items: {its}, min_age: {draw(st.integers(0, 20))}, max_age: {draw(st.integers(20, 80))}}}",
        "indication": f"{{items: {its}, prefixes: [{draw(st.sampled_from(['E1', 'J', 'K35']))}]}}",
        "level": f"{{items: {its}, min_level: {draw(st.integers(1, 3))}}}",
        "scheme": f"{{items: {its}, schemes: [{draw(st.sampled_from(['employee', 'resident']))}]}}",
        "setting": f"{{items: {its}, settings: [{draw(st.sampled_from(['inpatient', 'outpatient']))}]}}",
        "quantity": f"{{items: {its}, per: {draw(st.sampled_from(['day', 'visit', 'stay']))}, "
        f"max: {draw(st.integers(1, 4))}}}",
        "duplicate": f"{{items: {its}, period_days: {draw(st.integers(1, 10))}}}",
        "included": "{main: [A], sub: [B, C]}",
        "exclusive": "{a: [A, D], b: [B]}",
        "companion": f"{{items: [{its[0]}], requires: [{'C' if its[0] != 'C' else 'D'}]}}",
        "price": f"{{prices: {{A: {draw(st.integers(500, 1500))}, B: {draw(st.integers(500, 1500))}}}}}",
        "readmission": f"{{days: {draw(st.integers(0, 15))}, match_chars: {draw(st.integers(1, 3))}}}",
        "stay": f"{{max_days: {draw(st.integers(1, 6))}}}",
    }[family]
    eff = draw(st.sampled_from(["", ", effective_from: 2026-05-12", ", effective_to: 2026-05-14"]))
    return f"  - {{id: R{n}, family: {family}, description: 随机规则, params: {params}{eff}}}\n"


@st.composite
def claims(draw: st.DrawFn) -> list[ClaimLine]:
    out: list[ClaimLine] = []
    n_claims = draw(st.integers(1, 5))
    for c in range(n_claims):
        inpatient = draw(st.booleans())
        admit = DAY + timedelta(days=draw(st.integers(0, 20)))
        stay = draw(st.integers(0, 8)) if inpatient else 0
        claim = {
            "claim_id": f"C{c}",
            "patient_id": f"P{draw(st.integers(0, 1))}",
            "sex": draw(st.sampled_from(["M", "F"])),
            "age": draw(st.integers(0, 90)),
            "scheme": draw(st.sampled_from(["employee", "resident", "self_pay"])),
            "level": draw(st.integers(1, 3)),
            "setting": "inpatient" if inpatient else "outpatient",
            "diagnosis": draw(st.sampled_from(["E11.9", "E10.1", "J18.0", "J06.9", "K35.8"])),
            "admit_date": admit,
            "discharge_date": admit + timedelta(days=stay),
        }
        for _ in range(draw(st.integers(1, 6))):
            out.append(
                line(
                    len(out) + 1,
                    draw(st.sampled_from(ITEMS)),
                    service_date=admit + timedelta(days=draw(st.integers(0, stay))),
                    quantity=draw(st.integers(1, 3)),
                    unit_price=draw(st.integers(400, 1600)),
                    **claim,
                )
            )
    return out
