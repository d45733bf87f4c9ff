"""The platform's own discharges in DRG: the coder's live preview of an admission's discharge abstract
(group, weight, expected payment, and what changes without each secondary diagnosis), and — when the
abstract is signed off (``inpatient.abstract_signed``) — the admission grouped with the scheme and
stored as a case of the month's batch of the hospital's own discharges, so the DRG department
analysis counts it (cost = the admission's bill). drg reads inpatient through its service only."""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal

from sqlalchemy.orm import Session

from yilian.drg import domain, repository, service
from yilian.drg.domain import DischargeRecord, GroupResult, GroupStatus
from yilian.drg.errors import SchemeNotFound
from yilian.drg.models import DrgBatch, DrgCase, DrgScheme
from yilian.inpatient import service as inpatient
from yilian.inpatient.domain import AbstractRecord
from yilian.kit import events
from yilian.kit.auth.domain import Actor
from yilian.kit.clock import utcnow
from yilian.registry import service as registry

LEVELS = {3: "三级", 2: "二级"}


def record_of(abstract: AbstractRecord) -> DischargeRecord:
    """The grouper's record of an inpatient discharge abstract."""
    return DischargeRecord(
        principal_dx=abstract.principal_dx,
        other_dx=abstract.other_dx,
        procedures=abstract.procedures,
        sex=abstract.sex,
        age_years=abstract.age_years,
        age_days=abstract.age_days if abstract.age_years < 1 else None,
        birth_weight_g=abstract.birth_weight_g,
        admission_date=abstract.admission_date,
        discharge_date=abstract.discharge_date,
        los_days=abstract.los_days,
        disposition=abstract.disposition,
        ventilation_hours=abstract.ventilation_hours or None,
        department=abstract.department,
        total_cost_fen=abstract.total_cost_fen,
    )


def _scheme(session: Session) -> DrgScheme:
    schemes = list(service.list_schemes(session))
    if not schemes:
        raise SchemeNotFound("尚未导入 DRG 分组方案")
    return schemes[-1]


@dataclass(frozen=True)
class Priced:
    result: GroupResult
    weight: Decimal | None
    payment_fen: int


@dataclass(frozen=True)
class Preview:
    scheme: str
    current: Priced
    without: tuple[tuple[str, Priced], ...]  # each secondary diagnosis removed in turn


def _price(session: Session, scheme: DrgScheme, record: DischargeRecord, level: str) -> Priced:
    result = service.grouper(session, scheme.code).group(record)
    policy = service.policies(session, scheme).get(result.drg)
    rate = repository.base_rate(session, scheme.id, level)
    weight = policy.weight if policy else None
    payment = domain.expected_payment_fen(weight, rate.rate_fen) if weight is not None and rate else 0
    return Priced(result, weight, payment)


def preview(session: Session, actor: Actor, admission_id: int) -> Preview:
    """The live DRG preview of an admission's abstract as the coder has it now."""
    _row, abstract, _problems = inpatient.read_abstract(session, actor, admission_id)
    scheme = _scheme(session)
    level = LEVELS.get(registry.get_institution(session, abstract.institution_id).level, "三级")
    record = record_of(abstract)
    without = tuple(
        (
            code,
            _price(
                session,
                scheme,
                replace(record, other_dx=tuple(c for c in record.other_dx if c != code)),
                level,
            ),
        )
        for code in record.other_dx
    )
    return Preview(scheme.code, _price(session, scheme, record, level), without)


def store_signed(session: Session, admission_id: int) -> DrgCase | None:
    """Group a signed abstract into this month's batch of the hospital's discharges (idempotent)."""
    abstract = inpatient.abstract_record(session, admission_id)
    if not abstract.signed or abstract.discharge_date is None:
        return None
    try:
        scheme = _scheme(session)
    except SchemeNotFound:
        return None
    institution = registry.get_institution(session, abstract.institution_id)
    level = LEVELS.get(institution.level, "三级")
    number = f"ZY-{admission_id}"
    name = f"{institution.short_name or institution.name} 本院出院病案 {abstract.discharge_date:%Y-%m}"
    batch = repository.batch_by_name(session, scheme.id, name)
    if batch is None:
        batch = DrgBatch(
            scheme_id=scheme.id,
            name=name,
            institution_level=level,
            uploaded_at=utcnow(),
            uploaded_by="inpatient",
        )
        session.add(batch)
        session.flush()
    existing = repository.case_by_record_no(session, batch.id, number)
    if existing is not None:
        return existing
    record = record_of(abstract)
    priced = _price(session, scheme, record, level)
    policy = service.policies(session, scheme).get(priced.result.drg)
    rate = repository.base_rate(session, scheme.id, level)
    row = service._case_row(batch.id, record, number, "", priced.result, policy, rate.rate_fen if rate else 0)  # noqa: SLF001
    case = DrgCase(**row)
    session.add(case)
    batch.rows += 1
    if priced.result.status == GroupStatus.GROUPED:
        batch.grouped += 1
    elif priced.result.status == GroupStatus.AMBIGUOUS:
        batch.ambiguous += 1
    else:
        batch.ungroupable += 1
    session.flush()
    return case


@events.subscribe("inpatient.abstract_signed")
def _group_signed(session: Session, event: events.Event) -> None:
    store_signed(session, int(event.payload["admission_id"]))
