"""Tables of the smart insurance audit: claim lines to audit, rule library versions, runs, findings and
the review trail (审核轨迹)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from yilian.kit.db import Base


class AuditClaimLine(Base):
    """One claim line to audit (imported file or, later, settled bills); layout of ``domain.ClaimLine``."""

    __tablename__ = "audit_claim_lines"
    __table_args__ = (Index("ix_audit_claim_lines_service_date", "service_date"),)

    line_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    claim_id: Mapped[str] = mapped_column(String(64), index=True)
    patient_id: Mapped[str] = mapped_column(String(64), index=True)
    sex: Mapped[str] = mapped_column(String(1))
    age: Mapped[int]
    scheme: Mapped[str] = mapped_column(String(16))
    level: Mapped[int]
    setting: Mapped[str] = mapped_column(String(16))
    diagnosis: Mapped[str] = mapped_column(String(32))
    admit_date: Mapped[date] = mapped_column(Date)
    discharge_date: Mapped[date] = mapped_column(Date)
    service_date: Mapped[date] = mapped_column(Date)
    item_code: Mapped[str] = mapped_column(String(64))
    quantity: Mapped[int]
    unit_price: Mapped[int]
    amount: Mapped[int]
    department: Mapped[str] = mapped_column(String(32), default="", server_default="")  # 科室编码
    source: Mapped[str] = mapped_column(String(100), default="")


class AuditRuleLibrary(Base):
    """A version of the rule library (规则库版本); exactly one is active."""

    __tablename__ = "audit_rule_libraries"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100), default="")
    text: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(64), default="")


class AuditRun(Base):
    """One post-event audit run (事后审核批次)."""

    __tablename__ = "audit_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[str] = mapped_column(String(16), default="running")  # running | done | failed
    date_from: Mapped[date] = mapped_column(Date)
    date_to: Mapped[date] = mapped_column(Date)
    source: Mapped[str] = mapped_column(String(200), default="")
    library_version: Mapped[str] = mapped_column(String(32))
    lines_scanned: Mapped[int] = mapped_column(default=0)
    findings_count: Mapped[int] = mapped_column(default=0)
    amount_total: Mapped[int] = mapped_column(default=0)
    progress: Mapped[int] = mapped_column(default=0)  # percent
    stats: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    started_by: Mapped[str] = mapped_column(String(64), default="")


class AuditFinding(Base):
    """One finding (审核疑点) of a run, with its review status."""

    __tablename__ = "audit_findings"
    __table_args__ = (Index("ix_audit_findings_run_status", "run_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("audit_runs.id", ondelete="CASCADE"))
    rule_id: Mapped[str] = mapped_column(String(64))
    family: Mapped[str] = mapped_column(String(16))
    severity: Mapped[str] = mapped_column(String(16))
    claim_id: Mapped[str] = mapped_column(String(64), index=True)
    patient_id: Mapped[str] = mapped_column(String(64), default="")
    service_date: Mapped[date | None] = mapped_column(Date)
    lines: Mapped[list[int]] = mapped_column(JSON, default=list)
    related: Mapped[list[str]] = mapped_column(JSON, default=list)
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    amount: Mapped[int]
    value: Mapped[str] = mapped_column(String(200), default="")
    text: Mapped[str] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(16), default="open")  # open|confirmed|dismissed|appealed
    reason: Mapped[str] = mapped_column(String(500), default="")
    updated_at: Mapped[datetime]
    department_rows: Mapped[list[AuditFindingDepartment]] = relationship(
        lazy="raise", order_by="AuditFindingDepartment.department"
    )

    @property
    def departments(self) -> list[str]:
        """Codes of the departments (科室) whose claim lines the finding involves."""
        return [d.department for d in self.department_rows]


class AuditFindingDepartment(Base):
    """A department (科室编码) whose claim lines a finding involves; it may appeal the finding."""

    __tablename__ = "audit_finding_departments"

    finding_id: Mapped[int] = mapped_column(
        ForeignKey("audit_findings.id", ondelete="CASCADE"), primary_key=True
    )
    department: Mapped[str] = mapped_column(String(32), primary_key=True, index=True)


class AuditFindingEvent(Base):
    """The review trail: who moved a finding from which status to which, and why."""

    __tablename__ = "audit_finding_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    finding_id: Mapped[int] = mapped_column(ForeignKey("audit_findings.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime]
    username: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(16))
    from_status: Mapped[str] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(500), default="")
