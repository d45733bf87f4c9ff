"""The audit demo: claim lines of the demo's own patients over months, and one run that finds exactly the
injected violations, each on a patient whose own sex, age and scheme make it one."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.builders import make_institution, make_patient
from yilian.insurance.audit.domain import Family, default_library
from yilian.insurance.audit.models import AuditClaimLine, AuditFinding, AuditRun
from yilian.insurance.demo import seed
from yilian.registry.domain import InsuranceScheme, Sex
from yilian.registry.models import Patient


def test_demo_seed(session: Session) -> None:
    hospital = make_institution(session)
    for n, (born, sex, scheme) in enumerate(
        [
            (date(2019, 3, 1), Sex.FEMALE, InsuranceScheme.RESIDENT),
            (date(2012, 7, 9), Sex.MALE, InsuranceScheme.RESIDENT),
            (date(1990, 1, 5), Sex.FEMALE, InsuranceScheme.EMPLOYEE),
            (date(1975, 6, 2), Sex.MALE, InsuranceScheme.EMPLOYEE),
            (date(1950, 2, 8), Sex.MALE, InsuranceScheme.RESIDENT),
            (date(1948, 9, 30), Sex.FEMALE, InsuranceScheme.EMPLOYEE),
        ]
    ):
        make_patient(
            session,
            name="演示" + "甲乙丙丁戊己"[n],
            birth_date=born,
            sex=sex,
            scheme=scheme,
            institution=hospital,
        )
    summary = seed(session, seed_value=3, scale=0.1)
    assert summary.startswith("audit:")
    run = session.scalars(select(AuditRun)).one()
    assert run.lines_scanned == session.scalar(select(func.count()).select_from(AuditClaimLine))
    n_rules = len(default_library().rules)
    assert run.findings_count == 2 * n_rules
    assert session.scalar(select(func.count(func.distinct(AuditFinding.rule_id)))) == n_rules

    # the claims are the demo's patients', as they are, over months
    people = {p.mpi_id: p for p in session.scalars(select(Patient))}
    lines = list(session.scalars(select(AuditClaimLine)))
    assert {ln.patient_id for ln in lines} <= set(people)
    for ln in lines:
        assert ln.sex == ("M" if people[ln.patient_id].sex == Sex.MALE.value else "F")
        assert ln.scheme == people[ln.patient_id].insurance_scheme
    findings = list(session.scalars(select(AuditFinding)))
    assert len({(f.service_date.year, f.service_date.month) for f in findings if f.service_date}) >= 4
    families = {r.id: r.family for r in default_library().rules}
    assert any(families[f.rule_id] == Family.AGE for f in findings)
