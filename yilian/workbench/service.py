"""Flows of the doctor's outpatient workstation that span areas: prescribe a drug (outpatient places
the line's order, billing charges it, on credit when eligible), take a line off (billing cancels its
charge), check a line before it is added (live review warnings), and resume the open visit."""

from __future__ import annotations

from sqlalchemy.orm import Session

from yilian.billing import service as billing
from yilian.kit.auth.domain import Actor
from yilian.kit.clock import business_date
from yilian.kit.errors import Forbidden
from yilian.outpatient import rx_service
from yilian.outpatient import service as outpatient
from yilian.outpatient.record_schemas import LineCreate
from yilian.outpatient.rx_domain import Finding
from yilian.workbench.schemas import PrescribedRead


def prescribe(
    session: Session, actor: Actor, encounter_id: int, kind: str, data: LineCreate, *, long_term: bool = False
) -> PrescribedRead:
    """Add a drug to the visit's prescription of ``kind`` and charge it through billing."""
    line, order = rx_service.add_line(session, actor, encounter_id, kind, data, long_term=long_term)
    charge, reason = billing.charge_order(session, actor, order)
    return PrescribedRead(
        line_id=line.id,
        order_id=order.id,
        name=order.item_name,
        quantity=order.quantity,
        unit=order.unit,
        rule=line.quantity_rule,
        on_credit=charge.on_credit,
        credit_refusal=reason,
    )


def unprescribe(session: Session, actor: Actor, line_id: int) -> None:
    """Take a drug off an editable prescription; its order is cancelled and its charge voided."""
    order_id = rx_service.remove_line(session, actor, line_id)
    billing.cancel_order(session, actor, order_id, "医生删除处方药品")


def live_check(
    session: Session, actor: Actor, encounter_id: int, kind: str, candidate: LineCreate | None = None
) -> list[Finding]:
    """The review warnings the doctor sees while writing (the candidate line included). It runs on every
    change of the editor, so it checks that the doctor writes in this visit (his institution's) instead of
    auditing a patient read each time; the visit itself was opened with an audited read."""
    outpatient.require_writer(actor)
    if outpatient.find_encounter(session, encounter_id).institution_id != actor.institution_id:
        raise Forbidden("只能在本机构的就诊中开处方")
    return rx_service.check(session, encounter_id, kind, candidate=candidate)


def resume_visit(session: Session, actor: Actor, last: int | None = None) -> outpatient.Encounter | None:
    """The doctor's open visit of today at his institution, shown again after a reload: ``last`` (the
    visit he last had on screen) while it is still open, else his latest opened."""
    if actor.institution_id is None:
        return None
    return outpatient.open_encounter_of_doctor(session, actor, business_date(), prefer=last)
