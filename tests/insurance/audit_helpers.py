"""Builders for claim lines in audit tests."""

from __future__ import annotations

from datetime import date
from typing import Any

import duckdb

from yilian.insurance.audit import synth
from yilian.insurance.audit.batch import BatchEngine, lines_to_arrow
from yilian.insurance.audit.domain import ClaimEngine, ClaimLine, Finding, RuleLibrary, parse_library

DAY = date(2026, 5, 10)


def line(line_id: int, item: str, **kw: Any) -> ClaimLine:
    fields: dict[str, Any] = {
        "line_id": line_id,
        "claim_id": "C1",
        "patient_id": "P1",
        "sex": "F",
        "age": 40,
        "scheme": "employee",
        "level": 3,
        "setting": "outpatient",
        "diagnosis": "J06.9",
        "admit_date": DAY,
        "discharge_date": DAY,
        "service_date": DAY,
        "item_code": item,
        "quantity": 1,
        "unit_price": 1000,
    }
    fields.update(kw)
    fields.setdefault("amount", fields["quantity"] * fields["unit_price"])
    return ClaimLine(**fields)


def library(yaml_rules: str) -> RuleLibrary:
    lib, issues = parse_library('version: "t"\nrules:\n' + yaml_rules)
    assert lib is not None, issues
    return lib


def both(lib: RuleLibrary, lines: list[ClaimLine]) -> list[Finding]:
    """Findings of both engines; asserts they agree."""
    per_claim = ClaimEngine(lib).check_many(lines)
    batch = BatchEngine(lib, stage=None).audit_lines(lines)
    assert per_claim == batch
    return batch


def synthetic_claims(
    con: duckdb.DuckDBPyConnection, lib: RuleLibrary, base_lines: int, copies: int = 2
) -> tuple[list[ClaimLine], synth.Truth]:
    """Table ``claim_lines``: clean synthetic lines plus a violation of every rule injected."""
    synth.create_base_table(con, lib, base_lines, table="base")
    extra, truth = synth.injected(lib, start_line_id=base_lines + 1, copies=copies)
    con.register("extra", lines_to_arrow(extra))
    con.sql("CREATE TABLE claim_lines AS SELECT * FROM base UNION ALL SELECT * FROM extra")
    return extra, truth
