"""Property: the per-claim engine and the batch engine give identical findings on random claims and
random rule parameters; plus the shipped library, its validation by line, and synthetic precision."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.insurance.audit_helpers import DAY, both, library, line
from yilian.insurance.audit import synth
from yilian.insurance.audit.batch import BatchEngine
from yilian.insurance.audit.domain import ClaimEngine, ClaimLine, default_library, parse_library

ITEMS = ["A", "B", "C", "D"]
items = st.lists(st.sampled_from(ITEMS), min_size=1, max_size=2, unique=True)


@st.composite
def rule_yaml(draw: st.DrawFn, n: int) -> str:
    family = draw(
        st.sampled_from(
            [
                "sex",
                "age",
                "indication",
                "level",
                "scheme",
                "setting",
                "quantity",
                "duplicate",
                "included",
                "exclusive",
                "companion",
                "price",
                "readmission",
                "stay",
            ]
        )
    )
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


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rules=st.lists(st.integers(0, 10**6), min_size=1, max_size=4).flatmap(
        lambda ns: st.tuples(*[rule_yaml(i) for i in range(len(ns))])
    ),
    lines=claims(),
)
def test_both_engines_identical(rules: tuple[str, ...], lines: list[ClaimLine]) -> None:
    both(library("".join(rules)), lines)


def test_shipped_library_is_valid_and_covers_every_family() -> None:
    lib = default_library()
    assert {r.family.value for r in lib.rules} == {
        "sex",
        "age",
        "indication",
        "level",
        "scheme",
        "setting",
        "quantity",
        "duplicate",
        "included",
        "exclusive",
        "companion",
        "price",
        "readmission",
        "stay",
    }
    assert len(next(r for r in lib.rules if r.family == "price").params["prices"]) >= 50


def test_validation_reports_errors_by_line() -> None:
    text = """version: "x"
rules:
  - id: A
    family: sex
    description: 好
    params: {items: [X], sex: Q}
  - id: B
    family: nonsense
  - id: A
    family: quantity
    description: 好
    params: {items: [X], per: week, max: 0}
"""
    lib, issues = parse_library(text)
    assert lib is None
    lines = [(i.line, i.message) for i in issues]
    # the message points at the parameter's own line, the family key, or the rule
    assert lines[0][0] == 6 and "sex" in lines[0][1]
    assert lines[1][0] == 8 and "nonsense" in lines[1][1]
    assert {i.line for i in issues[2:]} == {12}
    assert len(issues) == 4
    bad_yaml = parse_library("version: 1\nrules: [\n  {")
    assert bad_yaml[0] is None and bad_yaml[1][0].line >= 2


def test_synthetic_claims_precision_and_recall_are_one() -> None:
    import duckdb

    lib = default_library()
    con = duckdb.connect()
    synth.create_base_table(con, lib, 20_000, table="base")
    extra, truth = synth.injected(lib, start_line_id=20_000, copies=2)
    from yilian.insurance.audit.batch import lines_to_arrow

    con.register("extra", lines_to_arrow(extra))
    con.sql("CREATE TABLE claim_lines AS SELECT * FROM base UNION ALL SELECT * FROM extra")
    findings = BatchEngine(lib).run(con)
    assert synth.score(findings, truth) == (1.0, 1.0)
    assert len(truth.pairs) == 2 * len(lib.rules)
    # the per-claim engine finds the same on the injected claims (base is clean)
    assert ClaimEngine(lib).check_many(extra) == findings
