"""Property: the per-claim engine and the batch engine give identical findings on random claims and
random rule parameters; plus the shipped library, its validation by line, and synthetic precision."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.insurance.audit_helpers import both, library, synthetic_claims
from tests.insurance.audit_strategies import claims, rule_yaml
from yilian.insurance.audit import synth
from yilian.insurance.audit.batch import BatchEngine
from yilian.insurance.audit.domain import ClaimEngine, ClaimLine, default_library, parse_library


@pytest.mark.slow  # 150 random libraries × claims through both engines
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
    extra, truth = synthetic_claims(con, lib, 20_000)
    findings = BatchEngine(lib).run(con)
    assert synth.score(findings, truth) == (1.0, 1.0)
    assert len(truth.pairs) == 2 * len(lib.rules)
    # the per-claim engine finds the same on the injected claims (base is clean)
    assert ClaimEngine(lib).check_many(extra) == findings
