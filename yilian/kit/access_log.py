"""Access-audit log: who read or changed which patient's data, when and why."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ForeignKey, Index, String, Table, func, insert, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from yilian.kit.auth.domain import Actor
from yilian.kit.clock import utcnow
from yilian.kit.db import Base

ACTION_LABELS = {
    "read": "查看",
    "search": "检索",
    "create": "新建",
    "update": "修改",
    "export": "导出",
    "login": "登录",
    "login_failed": "登录失败",
    "logout": "退出",
    "user_update": "修改账号",
    "book": "预约",
    "audit_run": "医保审核",
    "audit_precheck": "事前审核",
    "audit_findings": "查看审核疑点",
    "audit_finding": "处理审核疑点",
    "audit_export": "导出审核疑点",
    "review": "审核处方",
    "refer": "转诊",
}

RESOURCE_LABELS = {
    "admissions": "住院记录",
    "audit_finding": "审核疑点",
    "audit_run": "审核批次",
    "auth": "登录接口",
    "bed-requests": "住院申请",
    "booking": "预约挂号",
    "bookings": "预约挂号",
    "claim": "医保结算单",
    "companion": "云伴诊",
    "consents": "授权同意",
    "credit-dashboard": "信用就医看板",
    "credit_policies": "信用就医政策",
    "drg_batch": "DRG 病案批次",
    "encounters": "就诊",
    "herbal_prescriptions": "中药处方",
    "inpatient-indicators": "住院指标",
    "inpatient-policies": "住院政策",
    "insurance_policies": "医保政策",
    "kiosk": "自助机",
    "orders": "医嘱",
    "patients": "患者",
    "prescriptions": "处方",
    "reading": "共享诊断阅片",
    "readings": "共享诊断阅片",
    "referral": "转诊单",
    "referrals": "转诊单",
    "relations": "亲属关系",
    "results": "检查检验结果",
    "settlements": "结算",
    "users": "账号",
    "ward-relations": "病区借床关系",
    "web": "网页",
}
_RESOURCE_SPLIT = re.compile(r"[/:?]")

# the query of a list read (``admissions?status=discharged,settled``) on the audit page
QUERY_KEY_LABELS = {
    "code": "项目",
    "institution": "机构",
    "patient": "患者",
    "scope": "范围",
    "status": "状态",
    "ward": "病区",
}
QUERY_VALUE_LABELS = {
    "admitted": "在院",
    "department": "本科室",
    "discharged": "已出院待结算",
    "hospital": "全院",
    "mine": "本人",
    "settled": "已出院结算",
}


def resource_label(resource: str) -> str:
    """The resource in Chinese for the audit page: ``booking/12`` reads 预约挂号 12."""
    head, *rest = _RESOURCE_SPLIT.split(resource, maxsplit=1)
    label = RESOURCE_LABELS.get(head)
    if label is None:
        return resource
    if not (rest and rest[0]):
        return label
    if "?" in resource and "=" in rest[0]:
        return f"{label} {_query_label(rest[0])}"
    return f"{label} {rest[0]}"


def _query_label(query: str) -> str:
    """``status=discharged,settled&ward=`` reads 状态=已出院待结算、已出院结算 (empty values left out)."""
    parts = []
    for pair in query.split("&"):
        key, _, value = pair.partition("=")
        if value:
            words = "、".join(QUERY_VALUE_LABELS.get(v, v) for v in value.split(","))
            parts.append(f"{QUERY_KEY_LABELS.get(key, key)}={words}")
    return " ".join(parts)


class AccessAudit(Base):
    """One access to patient data (or a security event), never updated or deleted."""

    __tablename__ = "access_audit"
    __table_args__ = (Index("ix_access_audit_patient_at", "patient_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    username: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(32))
    institution_id: Mapped[int | None]
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patients.id"))
    action: Mapped[str] = mapped_column(String(32))
    resource: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(String(200), default="")
    channel: Mapped[str] = mapped_column(String(16), default="api")
    ip: Mapped[str | None] = mapped_column(String(64))


def record_access(
    session: Session,
    actor: Actor,
    *,
    action: str,
    resource: str,
    patient_id: int | None = None,
    reason: str = "",
    channel: str | None = None,
) -> None:
    """Write one access-audit row in the caller's transaction: one INSERT sent at once (no ORM object),
    committed with the caller's work. Pending changes are flushed first, as before (a read has none)."""
    session.flush()
    session.execute(
        _INSERT,
        access_values(actor, action=action, reason=reason, channel=channel)
        | {"patient_id": patient_id, "resource": resource[:200]},
    )


_INSERT = insert(cast(Table, AccessAudit.__table__))


def access_values(
    actor: Actor, *, action: str, reason: str = "", channel: str | None = None
) -> dict[str, Any]:
    """The columns of an access-audit row but its ``resource`` and ``patient_id``: what a statement that
    writes the row itself (e.g. folded into the statement making the change) binds."""
    return {
        "at": utcnow(),
        "user_id": actor.user_id,
        "username": actor.username,
        "role": actor.role.value,
        "institution_id": actor.institution_id,
        "action": action,
        "reason": reason[:200],
        "channel": channel or actor.channel,
        "ip": actor.ip,
    }


def list_access(
    session: Session,
    *,
    patient_id: int | None = None,
    user_id: int | None = None,
    action: str | None = None,
    offset: int = 0,
    limit: int = 50,
) -> tuple[list[AccessAudit], int]:
    """Return a page of audit rows, newest first, and the total count."""
    query = select(AccessAudit)
    if patient_id is not None:
        query = query.where(AccessAudit.patient_id == patient_id)
    if user_id is not None:
        query = query.where(AccessAudit.user_id == user_id)
    if action:
        query = query.where(AccessAudit.action == action)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(AccessAudit.id.desc()).offset(offset).limit(limit)).all()
    return list(rows), int(total)


def audit_row_dict(row: AccessAudit) -> dict[str, Any]:
    """Return a plain dict of an audit row, for APIs and pages."""
    return {
        "id": row.id,
        "at": row.at.isoformat(),
        "user_id": row.user_id,
        "username": row.username,
        "role": row.role,
        "institution_id": row.institution_id,
        "patient_id": row.patient_id,
        "action": row.action,
        "action_label": ACTION_LABELS.get(row.action, row.action),
        "resource": row.resource,
        "resource_label": resource_label(row.resource),
        "reason": row.reason,
        "channel": row.channel,
        "ip": row.ip,
    }
