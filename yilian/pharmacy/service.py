"""Use cases of the pharmacy: the pharmacist's review queue (审方) — the prescriptions of his institution
and of alliance members without a pharmacist whose lead hospital it is (医共体审方) — and the window:
call, dispense after a second check (双人核对) taking stock first-to-expire first-out (FEFO) with a
conditional UPDATE per batch, print labels, return undispensed drugs (退药, the charge reversed exactly
by billing). Verdicts and the dispensed state are recorded through outpatient's service."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time

from sqlalchemy.orm import Session

from yilian.billing import service as billing
from yilian.kit.auth.domain import Actor, Permission, require_staff_permission
from yilian.kit.clock import business_date, local_datetime, utcnow
from yilian.kit.masking import mask_name
from yilian.outpatient import rx_service
from yilian.outpatient.domain import OrderStatus
from yilian.outpatient.record_schemas import ReviewSubject
from yilian.outpatient.rx_domain import PrescriptionStatus, still_valid
from yilian.pharmacy import repository as repo
from yilian.pharmacy.domain import WindowStatus
from yilian.pharmacy.errors import (
    AlreadyDispensed,
    InvalidCheck,
    InvalidReturn,
    InvalidStock,
    NotPaid,
    NotReviewed,
    NotYourQueue,
    OutOfStock,
    PharmacyNotFound,
    PrescriptionExpired,
)
from yilian.pharmacy.models import Dispensation, DispensedBatch, DrugReturn, Pharmacy, StockBatch
from yilian.registry import service as registry

LIVE = (
    OrderStatus.PLACED.value,
    OrderStatus.CHARGED.value,
    OrderStatus.PERFORMED.value,
    OrderStatus.COMPLETED.value,
)


def reviewed_institutions(session: Session, institution_id: int) -> list[int]:
    """The institutions whose prescriptions the pharmacists of ``institution_id`` review: its own, and
    each alliance member without a pharmacist whose lead hospital it is — the member's parent, or, for
    a member without one, the alliance's highest-ranked institution with pharmacists (医共体审方)."""
    me = registry.get_institution(session, institution_id)
    if me.alliance_id is None:
        return [institution_id]
    members, _ = registry.list_institutions(session, alliance_id=me.alliance_id, limit=1000)
    staffed = repo.institutions_with_pharmacists(session, [m.id for m in members])
    heads = sorted((m for m in members if m.id in staffed), key=lambda m: (-m.level, m.id))
    top = heads[0].id if heads else None
    led = [m.id for m in members if m.id not in staffed and (m.parent_id or top) == institution_id]
    return [institution_id, *[i for i in led if i != institution_id]]


def _check_scope(session: Session, institution_id: int, prescription: rx_service.Prescription) -> None:
    if prescription.institution_id not in reviewed_institutions(session, institution_id):
        raise NotYourQueue("该处方不由本机构药师审核")


def review_queue(session: Session, actor: Actor) -> list[ReviewSubject]:
    """Prescriptions waiting for this pharmacist's review, oldest first."""
    institution_id = require_staff_permission(actor, Permission.PRESCRIPTION_REVIEW)
    pending = rx_service.in_status(
        session, reviewed_institutions(session, institution_id), [PrescriptionStatus.PENDING.value]
    )
    return [rx_service.review_subject(session, actor, p.id, reason="审方队列") for p in pending]


def review_subject(session: Session, actor: Actor, prescription_id: int) -> ReviewSubject:
    """One prescription with what review needs (not the full patient record)."""
    institution_id = require_staff_permission(actor, Permission.PRESCRIPTION_REVIEW)
    _check_scope(session, institution_id, rx_service.find_prescription(session, prescription_id))
    return rx_service.review_subject(session, actor, prescription_id)


def decide(
    session: Session, actor: Actor, prescription_id: int, verdict: str, reason: str = ""
) -> rx_service.Prescription:
    """Pass a prescription, or return it to the doctor with a reason."""
    institution_id = require_staff_permission(actor, Permission.PRESCRIPTION_REVIEW)
    _check_scope(session, institution_id, rx_service.find_prescription(session, prescription_id))
    return rx_service.record_review(
        session, actor, prescription_id, verdict=verdict, reason=reason, institution_id=institution_id
    )


# ---------------------------------------------------------------- stock


def pharmacy_for(session: Session, institution_id: int) -> Pharmacy:
    found = repo.pharmacy_of(session, institution_id)
    if found is None:
        raise PharmacyNotFound("本机构没有门诊药房")
    return found


def open_pharmacy(
    session: Session, institution_id: int, *, code: str, name: str, windows: int = 2
) -> Pharmacy:
    """The institution's outpatient pharmacy, created when missing."""
    found = repo.pharmacy_of(session, institution_id)
    if found is not None:
        return found
    pharmacy = Pharmacy(institution_id=institution_id, code=code, name=name, windows=windows)
    session.add(pharmacy)
    session.flush()
    return pharmacy


def receive(
    session: Session, pharmacy_id: int, *, item_code: str, batch_no: str, expiry: date, quantity: int
) -> StockBatch:
    """Put packages of a batch into stock (入库), adding to the batch when it is already there."""
    if quantity <= 0:
        raise InvalidStock("入库数量必须大于 0")
    if not batch_no.strip():
        raise InvalidStock("批号不能为空")
    found = repo.batch(session, pharmacy_id, item_code, batch_no.strip())
    if found is not None:
        if found.expiry != expiry:
            raise InvalidStock("同一批号的有效期不一致")
        found.quantity += quantity
        session.flush()
        return found
    stock_batch = StockBatch(
        pharmacy_id=pharmacy_id,
        item_code=item_code,
        batch_no=batch_no.strip(),
        expiry=expiry,
        quantity=quantity,
        received_at=utcnow(),
    )
    session.add(stock_batch)
    session.flush()
    return stock_batch


def stock_of(session: Session, pharmacy_id: int) -> list[StockBatch]:
    return list(repo.stock(session, pharmacy_id))


# ---------------------------------------------------------------- the window


@dataclass(frozen=True)
class WindowRow:
    prescription_id: int
    patient: str  # masked, for the call screen
    kind_label: str
    drugs: str
    paid: bool
    status: str  # a WindowStatus value
    window: int | None


def window_queue(session: Session, actor: Actor) -> list[WindowRow]:
    """Passed prescriptions of the actor's institution: paid or on credit ones ready, others waiting."""
    institution_id = require_staff_permission(actor, Permission.PHARMACY_DISPENSE)
    found = rx_service.in_status(
        session, [institution_id], [PrescriptionStatus.PASSED.value, PrescriptionStatus.DISPENSED.value]
    )
    found = [p for p in found if p.status == PrescriptionStatus.PASSED.value or _today(p)]
    calls = repo.dispensations_of(session, [p.id for p in found])
    names = registry.patient_names(session, [p.patient_id for p in found])
    rows = []
    for p in found:
        view = rx_service.prescription_read(session, p)
        live = [x for x in view.lines if x.order_status in LIVE]
        d = calls.get(p.id)
        rows.append(
            WindowRow(
                prescription_id=p.id,
                patient=mask_name(names.get(p.patient_id, "")),
                kind_label=view.kind_label,
                drugs="、".join(f"{x.name}×{x.quantity}{x.unit}" for x in live),
                paid=all(x.order_status != OrderStatus.PLACED for x in live),
                status=WindowStatus.DISPENSED.value
                if p.status == PrescriptionStatus.DISPENSED
                else (d.status if d else WindowStatus.WAITING.value),
                window=d.window if d else None,
            )
        )
    return rows


def _today(p: rx_service.Prescription) -> bool:
    return p.dispensed_at is not None and business_date(p.dispensed_at) == business_date()


def _ready(session: Session, actor: Actor, prescription_id: int) -> tuple[int, rx_service.Prescription]:
    institution_id = require_staff_permission(actor, Permission.PHARMACY_DISPENSE)
    prescription = rx_service.find_prescription(session, prescription_id, for_update=True)
    if prescription.institution_id != institution_id:
        raise NotYourQueue("只能调配本机构的处方")
    if prescription.status == PrescriptionStatus.DISPENSED.value:
        raise AlreadyDispensed("处方已发药")
    if prescription.status != PrescriptionStatus.PASSED.value:
        raise NotReviewed(f"处方{PrescriptionStatus(prescription.status).label}，审方通过后才能发药")
    if not still_valid(business_date(prescription.created_at), business_date()):
        raise PrescriptionExpired(f"处方开具于 {business_date(prescription.created_at)}，仅当日有效")
    if any(o.status == OrderStatus.PLACED for _l, o in rx_service.lines_of(session, prescription.id)):
        raise NotPaid("处方尚未缴费（也未记入先诊疗后付费），请先缴费")
    return institution_id, prescription


def call(session: Session, actor: Actor, prescription_id: int, window: int) -> Dispensation:
    """Call the patient to a window (叫号); calling again moves the call to this window."""
    institution_id, prescription = _ready(session, actor, prescription_id)
    pharmacy = pharmacy_for(session, institution_id)
    if not 1 <= window <= pharmacy.windows:
        raise InvalidCheck(f"窗口号应为 1–{pharmacy.windows}")
    found = repo.dispensation_of(session, prescription.id)
    if found is None:
        found = Dispensation(
            prescription_id=prescription.id,
            pharmacy_id=pharmacy.id,
            window=window,
            status=WindowStatus.CALLED.value,
            called_at=utcnow(),
        )
        session.add(found)
    else:
        found.window, found.called_at = window, utcnow()
    session.flush()
    return found


def _checker(session: Session, actor: Actor, institution_id: int, username: str) -> tuple[int, str]:
    user = repo.pharmacist(session, username.strip())
    if user is None or user.role != "pharmacist" or user.institution_id != institution_id:
        raise InvalidCheck("核对人须为本机构的另一位药师")
    if user.id == actor.user_id:
        raise InvalidCheck("调配与核对须由两位药师分别完成（双人核对）")
    return user.id, user.display_name or user.username


def _take_from(session: Session, stock_batch: StockBatch, need: int) -> int:
    """Take up to ``need`` packages from a batch; when another window took some meanwhile, read the
    batch again and take what is left. Returns how many were taken."""
    for _attempt in range(3):
        amount = min(need, stock_batch.quantity)
        if amount <= 0:
            return 0
        if repo.take(session, stock_batch.id, amount):
            session.expire(stock_batch)
            return amount
        session.refresh(stock_batch)
    return 0


def dispense(
    session: Session, actor: Actor, prescription_id: int, *, checker: str, window: int = 1
) -> Dispensation:
    """Dispense a reviewed, paid (or on credit) prescription after a second pharmacist's check: each
    line's packages come from unexpired batches, first to expire first; a batch another window emptied
    meanwhile is skipped; not enough stock refuses the whole prescription."""
    institution_id, prescription = _ready(session, actor, prescription_id)
    checker_id, checker_name = _checker(session, actor, institution_id, checker)
    pharmacy = pharmacy_for(session, institution_id)
    dispensation = repo.dispensation_of(session, prescription.id) or call(
        session, actor, prescription.id, window
    )
    today = business_date()
    for line, order in rx_service.lines_of(session, prescription.id):
        if order.status not in LIVE:
            continue
        need = order.quantity
        for stock_batch in repo.batches_fefo(session, pharmacy.id, line.item_code, today):
            if need == 0:
                break
            amount = _take_from(session, stock_batch, need)
            if amount:
                session.add(
                    DispensedBatch(
                        dispensation_id=dispensation.id,
                        order_id=order.id,
                        batch_id=stock_batch.id,
                        quantity=amount,
                    )
                )
                need -= amount
        if need:
            raise OutOfStock(f"{order.item_name}库存不足（还差 {need}{order.unit}），无法发药")
    if not repo.finish(session, dispensation.id):
        raise AlreadyDispensed("处方已由其他窗口发药")
    session.expire(dispensation)
    dispensation.dispensed_by, dispensation.dispenser_name = (
        actor.user_id,
        actor.display_name or actor.username,
    )
    dispensation.checked_by, dispensation.checker_name = checker_id, checker_name
    dispensation.dispensed_at = utcnow()
    rx_service.mark_dispensed(session, actor, prescription.id)
    session.flush()
    return dispensation


@dataclass(frozen=True)
class Label:
    """A drug label: who, what, how much, how to take it, and the batch."""

    patient: str
    name: str
    quantity: str
    instructions: str
    batches: str


def labels(session: Session, actor: Actor, prescription_id: int) -> list[Label]:
    """The labels of a dispensed (or ready) prescription, one per drug."""
    institution_id = require_staff_permission(actor, Permission.PHARMACY_DISPENSE)
    if rx_service.find_prescription(session, prescription_id).institution_id != institution_id:
        raise NotYourQueue("只能打印本机构处方的标签")
    subject = rx_service.review_subject(session, actor, prescription_id, reason="打印用药标签")
    dispensation = repo.dispensation_of(session, prescription_id)
    taken: dict[int, list[str]] = {}
    if dispensation is not None:
        for d, b in repo.taken_batches(session, dispensation.id):
            taken.setdefault(d.order_id, []).append(f"批号 {b.batch_no} 有效期至 {b.expiry.isoformat()}")
    return [
        Label(
            patient=subject.patient_name,
            name=x.name,
            quantity=f"{x.quantity}{x.unit}",
            instructions=x.instructions,
            batches="；".join(taken.get(x.order_id, [])),
        )
        for x in subject.prescription.lines
        if x.order_status in LIVE
    ]


def return_undispensed(session: Session, actor: Actor, order_id: int, reason: str) -> DrugReturn:
    """Return a drug that was not dispensed (退药): its order is cancelled and billing reverses the
    charge exactly (a settled day is reversed and the rest settled again the same way)."""
    institution_id = require_staff_permission(actor, Permission.PHARMACY_DISPENSE)
    if not reason.strip():
        raise InvalidReturn("退药须填写原因")
    prescription = rx_service.prescription_of_order(session, order_id)
    if prescription is None:  # not one of this hospital's prescribed drugs: nothing to say about it
        raise PharmacyNotFound("没有此处方药品医嘱")
    if prescription.institution_id != institution_id:
        raise NotYourQueue("只能办理本机构处方的退药")
    order = next(o for _l, o in rx_service.lines_of(session, prescription.id) if o.id == order_id)
    if order.status != OrderStatus.CHARGED:
        raise InvalidReturn("只能退已计费、未发出的药品")
    billing.cancel_order(session, actor, order_id, f"药房退药：{reason.strip()}")
    done = DrugReturn(
        order_id=order_id,
        prescription_id=prescription.id,
        amount=order.amount,
        reason=reason.strip()[:200],
        returned_by=actor.user_id,
        returned_at=utcnow(),
    )
    session.add(done)
    session.flush()
    return done


def call_screen(session: Session, institution_id: int) -> list[tuple[int, str, str]]:
    """Today's called, not yet dispensed patients at the pharmacy's windows: (window, masked name, status)."""
    pharmacy = repo.pharmacy_of(session, institution_id)
    if pharmacy is None:
        return []
    since = local_datetime(business_date(), time(0, 0))
    calls = repo.called_today(session, pharmacy.id, since)
    prescriptions = {
        d.prescription_id: rx_service.find_prescription(session, d.prescription_id) for d in calls
    }
    names = registry.patient_names(session, [p.patient_id for p in prescriptions.values()])
    return [
        (d.window, mask_name(names.get(prescriptions[d.prescription_id].patient_id, "")), d.status)
        for d in calls
        if d.status == WindowStatus.CALLED
    ]
