"""The audit demo seeds claim lines and one run that finds exactly the injected violations."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from yilian.insurance.audit.domain import default_library
from yilian.insurance.audit.models import AuditClaimLine, AuditFinding, AuditRun
from yilian.insurance.demo import seed


def test_demo_seed(session: Session) -> None:
    summary = seed(session, seed_value=3, scale=0.1)
    assert summary.startswith("audit:")
    run = session.scalars(select(AuditRun)).one()
    assert run.lines_scanned == session.scalar(select(func.count()).select_from(AuditClaimLine))
    n_rules = len(default_library().rules)
    assert run.findings_count == 2 * n_rules
    assert session.scalar(select(func.count(func.distinct(AuditFinding.rule_id)))) == n_rules
