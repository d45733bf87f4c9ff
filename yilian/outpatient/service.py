"""Use cases of outpatient care: open an encounter, diagnose, place orders and move them through
their lifecycle. Charging, credit holds and refunds are billing's, which calls these functions and
listens to the events emitted here."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

from sqlalchemy import Subquery
from sqlalchemy.orm import Session

from yilian.catalog import service as catalog
from yilian.catalog.domain import ItemKind
from yilian.kit import events
from yilian.kit.access_log import record_access
from yilian.kit.auth.domain import Actor, Permission, require_permission
from yilian.kit.clock import business_date, utcnow
from yilian.kit.errors import Forbidden, found
from yilian.outpatient import repository as repo
from yilian.outpatient.domain import (
    EncounterStatus,
    OrderKind,
    OrderStatus,
    check_transition,
    line_amount,
    refundable_on_cancel,
)
from yilian.outpatient.errors import EncounterClosed, EncounterNotFound, InvalidOrder, OrderNotFound

# Encounter and Order (re-exported): the rows this service hands out, for other areas' annotations
from yilian.outpatient.models import Encounter as Encounter
from yilian.outpatient.models import EncounterDiagnosis
from yilian.outpatient.models import Order as Order
from yilian.outpatient.schemas import DiagnosisRead, EncounterCreate, EncounterRead, OrderRead
from yilian.registry import service as registry
from yilian.scheduling import service as scheduling

ACCESS_DAYS = 3  # a visit lets the institution read the patient for the three-day registration window


def open_encounter(session: Session, actor: Actor, data: EncounterCreate) -> Encounter:
    """Open an encounter at the actor's institution (from a registration when there is one)."""
    require_permission(actor, Permission.ENCOUNTER_WRITE)
    department = registry.get_department(session, data.department_id)
    if department.institution_id != actor.institution_id:
        raise Forbidden("只能在本机构的科室接诊")
    registry.find_patient(session, data.patient_id)
    clinic_type = data.clinic_type
    practitioner_id = data.practitioner_id or actor.practitioner_id
    if data.registration_id is not None:
        # 一号管三天: one encounter per registration; a return visit continues it on a later day
        registration = scheduling.registration_for_visit(
            session,
            data.registration_id,
            patient_id=data.patient_id,
            department_id=department.id,
            day=business_date(),
        )
        existing = repo.encounter_by_registration(session, registration.id)
        if existing is not None:
            return existing
        clinic_type = scheduling.clinic_type_of(session, registration.id)
        practitioner_id = practitioner_id or registration.practitioner_id
    registry.grant_institution_access(
        session,
        patient_id=data.patient_id,
        institution_id=department.institution_id,
        reason="门诊就诊",
        days=ACCESS_DAYS,
    )
    encounter = Encounter(
        patient_id=data.patient_id,
        institution_id=department.institution_id,
        department_id=department.id,
        practitioner_id=practitioner_id,
        registration_id=data.registration_id,
        clinic_type=clinic_type,
        business_date=business_date(),
        status=EncounterStatus.OPEN.value,
        opened_at=utcnow(),
    )
    session.add(encounter)
    session.flush()
    record_access(
        session,
        actor,
        action="create",
        resource=f"encounters/{encounter.id}",
        patient_id=data.patient_id,
        reason="接诊",
    )
    events.emit(
        session, "outpatient.encounter_opened", {"encounter_id": encounter.id, "patient_id": data.patient_id}
    )
    return encounter


def encounter_ids_of_institution(session: Session, institution_id: int, day: date) -> list[int]:
    """Encounters of an institution on a business day."""
    return repo.encounter_ids_of_institution(session, institution_id, day)


def open_encounters_of(session: Session, patient_id: int, institution_id: int, day: date) -> list[Encounter]:
    """A patient's open encounters at an institution on a day (so a doctor continues the same visit)."""
    return repo.open_encounters_of(session, patient_id, institution_id, day)


def find_encounter(session: Session, encounter_id: int) -> Encounter:
    """Return an encounter without an access check, for other areas' services that check access themselves."""
    return found(
        repo.get_encounter(session, encounter_id), EncounterNotFound(f"就诊记录不存在: {encounter_id}")
    )


def get_encounter(session: Session, actor: Actor, encounter_id: int) -> Encounter:
    """Return an encounter the actor may see (its patient must be readable); the read is audited."""
    encounter = found(
        repo.get_encounter(session, encounter_id), EncounterNotFound(f"就诊记录不存在: {encounter_id}")
    )
    if actor.is_staff and not actor.serves(encounter.institution_id):
        raise Forbidden("只能查看本机构的就诊记录")
    registry.get_patient(session, actor, encounter.patient_id, reason=f"查看就诊 {encounter_id}")
    return encounter


def check_order_institution(session: Session, actor: Actor, order: Order) -> None:
    """Staff act on the orders of their own institution's encounters only."""
    if not actor.serves(find_encounter(session, order.encounter_id).institution_id):
        raise Forbidden("只能处理本机构的医嘱")


def encounter_read(session: Session, encounter: Encounter) -> EncounterRead:
    """Return an encounter with its diagnoses and orders."""
    return EncounterRead(
        id=encounter.id,
        patient_id=encounter.patient_id,
        institution_id=encounter.institution_id,
        department_id=encounter.department_id,
        practitioner_id=encounter.practitioner_id,
        registration_id=encounter.registration_id,
        clinic_type=encounter.clinic_type,
        business_date=encounter.business_date,
        status=encounter.status,
        diagnoses=[DiagnosisRead.model_validate(d) for d in repo.diagnoses_of(session, encounter.id)],
        orders=[OrderRead.model_validate(o) for o in repo.orders_of(session, encounter.id)],
    )


def require_writer(actor: Actor) -> None:
    """Refuse an actor who may not write in encounters (doctors may)."""
    require_permission(actor, Permission.ENCOUNTER_WRITE)


def writable_encounter(session: Session, actor: Actor, encounter_id: int) -> Encounter:
    """Return an open encounter of the actor's institution, locked for writing."""
    return _open_encounter_for_writing(session, actor, encounter_id)


def _open_encounter_for_writing(session: Session, actor: Actor, encounter_id: int) -> Encounter:
    require_permission(actor, Permission.ENCOUNTER_WRITE)
    encounter = found(
        repo.get_encounter(session, encounter_id, for_update=True),
        EncounterNotFound(f"就诊记录不存在: {encounter_id}"),
    )
    if encounter.institution_id != actor.institution_id:
        raise Forbidden("只能在本机构的就诊中书写")
    if encounter.status != EncounterStatus.OPEN:
        raise EncounterClosed("就诊已结束，不能再开立或诊断")
    return encounter


def add_diagnosis(
    session: Session, actor: Actor, encounter_id: int, code: str, *, is_primary: bool = False
) -> EncounterDiagnosis:
    """Record an ICD-10 diagnosis from the catalogue; the first one is primary."""
    encounter = _open_encounter_for_writing(session, actor, encounter_id)
    entry = catalog.get_diagnosis(session, code)
    existing = repo.diagnoses_of(session, encounter.id)
    if any(d.code == entry.code for d in existing):
        raise InvalidOrder(f"诊断 {entry.code} 已存在")
    primary = is_primary or not existing
    if primary:
        for d in existing:
            d.is_primary = False
    diagnosis = EncounterDiagnosis(
        encounter_id=encounter.id, code=entry.code, name=entry.name, is_primary=primary
    )
    session.add(diagnosis)
    session.flush()
    return diagnosis


def place_order(
    session: Session, actor: Actor, encounter_id: int, item_code: str, quantity: int = 1
) -> Order:
    """Place an order for a catalogue item, taking a snapshot of its price and insurance class."""
    encounter = _open_encounter_for_writing(session, actor, encounter_id)
    item = catalog.get_item(session, item_code)
    try:
        kind = OrderKind(item.kind)
    except ValueError as exc:
        raise InvalidOrder(f"“{item.name}”（{ItemKind(item.kind).label}）不能作为医嘱开立") from exc
    try:
        amount = line_amount(item.price_fen, quantity)
    except ValueError as exc:
        raise InvalidOrder("数量应为 1–999") from exc
    order = Order(
        encounter_id=encounter.id,
        kind=kind.value,
        item_code=item.code,
        item_name=item.name,
        quantity=quantity,
        unit=item.unit,
        unit_price=item.price_fen,
        amount=amount,
        insurance_class=item.insurance_class,
        self_pay_permille=item.self_pay_permille,
        status=OrderStatus.PLACED.value,
        ordered_by=actor.user_id,
        placed_at=utcnow(),
    )
    session.add(order)
    session.flush()
    events.emit(
        session,
        "outpatient.order_placed",
        {
            "order_id": order.id,
            "encounter_id": encounter.id,
            "patient_id": encounter.patient_id,
            "amount": amount,
        },
    )
    return order


def find_order(session: Session, order_id: int, *, for_update: bool = False) -> Order:
    """Return an order by id, unchecked (for code that has checked access already)."""
    return found(
        repo.get_order(session, order_id, for_update=for_update), OrderNotFound(f"医嘱不存在: {order_id}")
    )


def mark_charged(session: Session, order_id: int) -> Order:
    """Move an order to 计费 (billing calls this once the charge or credit hold is recorded)."""
    order = find_order(session, order_id, for_update=True)
    check_transition(OrderStatus(order.status), OrderStatus.CHARGED)
    order.status = OrderStatus.CHARGED.value
    session.flush()
    return order


def perform(session: Session, actor: Actor, order_id: int) -> Order:
    """Record that a charged order was performed or dispensed (执行 / 发药)."""
    require_permission(actor, Permission.ORDER_PERFORM)
    order = find_order(session, order_id, for_update=True)
    check_order_institution(session, actor, order)
    check_transition(OrderStatus(order.status), OrderStatus.PERFORMED)
    order.status = OrderStatus.PERFORMED.value
    order.performed_at = utcnow()
    session.flush()
    events.emit(
        session, "outpatient.order_performed", {"order_id": order.id, "encounter_id": order.encounter_id}
    )
    return order


def complete(session: Session, order_id: int) -> Order:
    order = find_order(session, order_id, for_update=True)
    check_transition(OrderStatus(order.status), OrderStatus.COMPLETED)
    order.status = OrderStatus.COMPLETED.value
    session.flush()
    return order


def cancel(session: Session, actor: Actor, order_id: int, reason: str) -> tuple[Order, bool]:
    """Cancel an order (撤销) — by a doctor, or by a cashier refunding a charged, unperformed order (退费);
    returns the order and whether what was charged must be refunded."""
    if not (actor.has(Permission.ENCOUNTER_WRITE) or actor.has(Permission.ORDER_REFUND)):
        raise Forbidden(f"当前角色（{actor.role.label}）没有撤销医嘱或退费的权限")
    order = find_order(session, order_id, for_update=True)
    check_order_institution(session, actor, order)
    status = OrderStatus(order.status)
    if not actor.has(Permission.ENCOUNTER_WRITE) and status is not OrderStatus.CHARGED:
        raise Forbidden("收费处只能退已计费、未执行的医嘱")
    check_transition(status, OrderStatus.CANCELLED)
    refund_due = refundable_on_cancel(status)
    order.status = OrderStatus.CANCELLED.value
    order.cancelled_at = utcnow()
    order.cancel_reason = reason[:200]
    session.flush()
    events.emit(
        session,
        "outpatient.order_cancelled",
        {
            "order_id": order.id,
            "encounter_id": order.encounter_id,
            "refund_due": refund_due,
            "amount": order.amount,
        },
    )
    return order, refund_due


def close_encounter(session: Session, actor: Actor, encounter_id: int) -> Encounter:
    """End an encounter (the episode is complete); no more orders."""
    encounter = _open_encounter_for_writing(session, actor, encounter_id)
    encounter.status = EncounterStatus.CLOSED.value
    encounter.closed_at = utcnow()
    if encounter.registration_id is not None:
        scheduling.close_episode(session, encounter.registration_id)
    session.flush()
    events.emit(session, "outpatient.encounter_closed", {"encounter_id": encounter.id})
    return encounter


def open_encounter_of_doctor(
    session: Session, actor: Actor, day: date, prefer: int | None = None
) -> Encounter | None:
    """The actor's (a practitioner's) open encounter at his institution on ``day``, or continued on it:
    a visit opened on one of the two days before stays open under its three-day registration (一号管三天),
    and 接诊 today continues it. ``prefer`` (the visit the doctor last had on screen) wins when it is one of
    them, else the latest opened."""
    if actor.practitioner_id is None or actor.institution_id is None:
        return None
    return repo.latest_open_encounter_by(
        session,
        actor.practitioner_id,
        actor.institution_id,
        day,
        since=day - timedelta(days=2),
        prefer=prefer,
    )


def visit_counts(session: Session, start: date, end: date) -> list[tuple[date, int, int, int]]:
    """Bulk read for analytics: encounters (门急诊人次) by business date, institution and department."""
    return repo.visit_counts(session, start, end)


# ---------------------------------------------------------------- bulk reads for billing's settlement


def lock_encounters(session: Session, ids: Sequence[int]) -> list[tuple[int, int, int, int, int | None]]:
    """(id, patient, institution, department, registration) of the encounters ``ids``, locked for the
    caller's transaction; on PostgreSQL those another transaction holds are skipped (unchecked: for the
    end-of-day settlement, which runs as the system)."""
    return repo.lock_encounters(session, ids)


def primary_diagnosis_codes(session: Session, ids: Sequence[int]) -> dict[int, str]:
    """Encounter id → its first primary diagnosis code, for the encounters ``ids`` (one statement)."""
    return repo.primary_diagnosis_codes(session, ids)


def live_order_lines(session: Session, ids: Sequence[int]) -> list[tuple[int, int, str, int, int]]:
    """(order id, encounter id, item code, quantity, unit price) of the orders of the encounters ``ids``
    that are not cancelled, in order id order (one statement)."""
    return repo.live_order_lines(session, ids)


def encounter_places() -> Subquery:
    """A subquery of every encounter's (id, institution_id, department_id) for another area's
    repository to join in one statement, so it need not read outpatient's tables itself."""
    return repo.encounter_places()
