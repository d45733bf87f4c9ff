"""科室申诉: a department's doctors appeal only the findings of their own department's claim lines.

Claim lines carry the department code (科室编码); findings remember the departments of the lines
they involve (of the whole claim for claim-level families). Lines without a department (older
files) keep the old behaviour: every holder of CLAIMS_APPEAL may appeal them.
"""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.builders import SYSTEM, actor_of, make_department, make_institution, make_user
from tests.insurance.audit_helpers import DAY, line
from yilian.insurance.audit import service
from yilian.insurance.audit.batch import lines_to_arrow
from yilian.insurance.audit.domain import OPTIONAL_COLUMNS, ClaimLine, may_appeal
from yilian.insurance.audit.errors import ClaimFileInvalid, FindingNotFound
from yilian.insurance.audit.models import AuditClaimLine, AuditFinding, AuditFindingEvent
from yilian.kit.auth.domain import Actor, Role
from yilian.kit.errors import Forbidden
from yilian.registry import service as registry
from yilian.registry.domain import Sex, Title
from yilian.registry.schemas import PractitionerCreate

MALE_ONLY = "XG03BAA001"  # SEX-001 十一酸睾酮限男性 of the shipped library


def test_may_appeal_by_department() -> None:
    assert may_appeal(["NK01"], {"NK01", "WK01"})
    assert not may_appeal(["NK01"], {"WK01"})
    assert not may_appeal(["NK01"], set())
    assert may_appeal(["NK01", "WK01"], {"WK01"})  # a finding over two departments concerns both
    assert may_appeal([], {"WK01"}) and may_appeal([""], set())  # lines without a department: as before
    assert may_appeal(["NK01"], None)  # the insurance office, for every department


def test_claim_line_department_defaults_to_empty() -> None:
    """The domain's default (not the helper's): a line built without a department has none, and the
    Arrow table the batch audit reads carries the department column either way."""
    fields = {f.name: getattr(line(1, MALE_ONLY), f.name) for f in dataclasses.fields(ClaimLine)}
    del fields["department"]
    assert ClaimLine(**fields).department == ""
    assert "department" in OPTIONAL_COLUMNS
    table = lines_to_arrow([ClaimLine(**fields), line(2, MALE_ONLY, department="NK01")])
    assert table.column("department").to_pylist() == ["", "NK01"]


def _doctor(session: Session, *codes: str) -> Actor:
    """A doctor (practitioner) working in the departments of ``codes`` of a fresh hospital."""
    hospital = make_institution(session)
    depts = [make_department(session, institution=hospital, code=code) for code in codes]
    p = registry.create_practitioner(
        session,
        SYSTEM,
        PractitionerCreate(
            institution_id=hospital.id,
            code=f"DOC{depts[0].id}",
            name="王医生",
            sex=Sex.MALE,
            title=Title.ATTENDING,
            department_ids=[d.id for d in depts],
        ),
    )
    return actor_of(make_user(session, role=Role.DOCTOR, institution=hospital, practitioner=p))


def _run(session: Session, lines: list[ClaimLine]) -> dict[str, AuditFinding]:
    service.store_lines(session, lines, "test")
    office = service.office_actor()
    run = service.run_audit(session, office, date(2026, 1, 1), date(2026, 12, 31))
    rows, _ = service.list_findings(session, office, run.id, limit=100)
    return {f"{r.rule_id}:{r.claim_id}": r for r in rows}


def _lines() -> list[ClaimLine]:
    admit = DAY - timedelta(days=40)
    return [
        line(1, MALE_ONLY, claim_id="A", patient_id="PA", department="NK01"),
        line(2, MALE_ONLY, claim_id="B", patient_id="PB", department="WK01"),
        line(3, MALE_ONLY, claim_id="C", patient_id="PC"),  # an old import: no department
        # a stay of 40 days (STAY-001, a claim-level finding without lines) billed by two departments
        line(
            4,
            "110200001",
            claim_id="S",
            patient_id="PS",
            setting="inpatient",
            admit_date=admit,
            discharge_date=DAY,
            service_date=admit,
            department="NK02",
        ),
        line(
            5,
            "110200001",
            claim_id="S",
            patient_id="PS",
            setting="inpatient",
            admit_date=admit,
            discharge_date=DAY,
            service_date=DAY,
            department="WK01",
        ),
    ]


def test_findings_remember_their_departments_and_filter_by_them(session: Session) -> None:
    found = _run(session, _lines())
    assert found["SEX-001:A"].departments == ["NK01"]
    assert found["SEX-001:B"].departments == ["WK01"]
    assert found["SEX-001:C"].departments == []
    assert found["STAY-001:S"].departments == ["NK02", "WK01"]
    assert [e["department"] for e in found["SEX-001:A"].evidence["lines"]] == ["NK01"]
    office = service.office_actor()
    run_id = found["SEX-001:A"].run_id
    rows, total = service.list_findings(session, office, run_id, department="WK01")
    assert total == 2 and {r.claim_id for r in rows} == {"B", "S"}
    assert service.list_findings(session, office, run_id, department="EK01")[1] == 0


def test_a_doctor_appeals_own_department_only(session: Session) -> None:
    found = _run(session, _lines())
    nk01 = _doctor(session, "NK01")
    own = service.appeal_departments(session, nk01)
    assert own is not None and "NK01" in own and any(d.endswith("/NK01") for d in own)  # bare and qualified

    appealed = service.review(session, nk01, found["SEX-001:A"].id, "appeal", "患者为男性")
    assert appealed.status == "appealed"

    events_before = session.scalar(select(func.count()).select_from(AuditFindingEvent))
    # another department's finding of a claim file (bare code, no institution): not even shown to him
    with pytest.raises(FindingNotFound):
        service.review(session, nk01, found["SEX-001:B"].id, "appeal", "不是本科室的")
    assert found["SEX-001:B"].status == "open"
    assert session.scalar(select(func.count()).select_from(AuditFindingEvent)) == events_before

    # a line without a department: anyone with CLAIMS_APPEAL, as before
    assert service.review(session, nk01, found["SEX-001:C"].id, "appeal", "旧数据").status == "appealed"


def test_claim_level_finding_is_appealed_by_any_of_its_departments(session: Session) -> None:
    found = _run(session, _lines())
    with pytest.raises(FindingNotFound):
        service.review(session, _doctor(session, "NK01"), found["STAY-001:S"].id, "appeal", "住院天数合理")
    both = _doctor(session, "EK01", "NK02")  # a doctor of two departments, the second one concerned
    assert service.review(session, both, found["STAY-001:S"].id, "appeal", "病情需要").status == "appealed"


def test_staff_without_practitioner_and_the_office(session: Session) -> None:
    found = _run(session, _lines())
    unlinked = actor_of(make_user(session, role=Role.DOCTOR, institution=make_institution(session)))
    assert service.appeal_departments(session, unlinked) == frozenset()
    with pytest.raises(FindingNotFound):  # a department's finding is not shown to an unlinked account
        service.review(session, unlinked, found["SEX-001:A"].id, "appeal", "代科室申诉")
    assert service.review(session, unlinked, found["SEX-001:C"].id, "appeal", "旧数据").status == "appealed"
    # the insurance office records a department's (paper) appeal for any department
    office = service.office_actor()
    assert service.appeal_departments(session, office) is None
    assert (
        service.review(session, office, found["SEX-001:B"].id, "appeal", "外科书面申诉").status == "appealed"
    )


def test_appeal_still_needs_the_permission_and_a_reason(session: Session) -> None:
    found = _run(session, _lines())
    nk01 = _doctor(session, "NK01")
    with pytest.raises(service.ReasonRequired):
        service.review(session, nk01, found["SEX-001:A"].id, "appeal", "")
    nurse = actor_of(make_user(session, role=Role.NURSE, institution=make_institution(session)))
    with pytest.raises(Forbidden):
        service.review(session, nurse, found["SEX-001:C"].id, "appeal", "x")


# ---------------------------------------------------------------------------------------------------
# claim files: the department column is optional


def _write(path: Path, lines: list[ClaimLine], *, drop_department: bool = False, order: str = "*") -> None:
    con = duckdb.connect()
    con.register("t", lines_to_arrow(lines))
    cols = "* EXCLUDE (department)" if drop_department else order
    fmt = "PARQUET" if path.suffix == ".parquet" else "CSV, HEADER"
    con.sql(f"COPY (SELECT {cols} FROM t) TO '{path}' (FORMAT {fmt})")
    con.close()


def _stored(session: Session) -> dict[int, str]:
    return {r.line_id: r.department for r in session.scalars(select(AuditClaimLine))}


def test_import_without_the_department_column(session: Session, tmp_path: Path) -> None:
    path = tmp_path / "old.csv"
    _write(path, [line(11, MALE_ONLY), line(12, MALE_ONLY)], drop_department=True)
    assert "department" not in path.read_text(encoding="utf-8").splitlines()[0]
    assert service.import_claim_file(session, service.office_actor(), path) == 2
    assert _stored(session) == {11: "", 12: ""}


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_import_with_the_department_column(session: Session, tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"new{suffix}"
    # the department first: CSV columns are matched by name, not position
    _write(
        path,
        [line(21, MALE_ONLY, department="NK01"), line(22, MALE_ONLY)],
        order="department, * EXCLUDE (department)",
    )
    assert service.import_claim_file(session, service.office_actor(), path) == 2
    assert _stored(session) == {21: "NK01", 22: ""}


def test_import_refuses_an_overlong_department(session: Session, tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    _write(path, [line(31, MALE_ONLY, department="X" * 33)])
    with pytest.raises(ClaimFileInvalid) as refused:
        service.import_claim_file(session, service.office_actor(), path)
    assert "科室编码" in refused.value.detail
    assert _stored(session) == {}


def test_a_qualified_department_binds_one_hospital_only() -> None:
    from yilian.insurance.audit.domain import may_appeal

    ntgh_nk01 = frozenset({"NK01", "NTGH/NK01"})
    other_nk01 = frozenset({"NK01", "NTCH/NK01"})
    assert may_appeal(["NTGH/NK01"], ntgh_nk01)
    assert not may_appeal(["NTGH/NK01"], other_nk01)  # same code at another hospital
    assert may_appeal(["NK01"], other_nk01)  # a bare code from a claim file binds by code only
