"""Use cases of prescriptions (处方): write lines with dose, frequency, route and days (the quantity is
computed), check them as the doctor writes (前置审方, the system's review), submit them to the pharmacist,
record the pharmacist's verdict (pass, or return with a reason until the doctor changes or justifies it)
and mark them dispensed. A line is a drug order; charging it is billing's (the workbench composes both)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from yilian.catalog import drug_service as drugs
from yilian.catalog.drug_domain import (
    DispenseQuantity,
    DrugFacts,
    dispense_quantity,
    frequency,
    how_to_take,
    parse_dose,
    route_label,
)
from yilian.catalog.errors import InvalidDose
from yilian.kit import events
from yilian.kit.access_log import record_access
from yilian.kit.auth.domain import Actor, Permission
from yilian.kit.clock import age_on, utcnow
from yilian.kit.errors import Forbidden, found
from yilian.outpatient import record_repository as repo
from yilian.outpatient import repository as encounters
from yilian.outpatient import service as outpatient
from yilian.outpatient.domain import EncounterStatus, OrderStatus
from yilian.outpatient.errors import (
    InvalidPrescription,
    NoOpenVisit,
    PrescriptionLineNotFound,
    PrescriptionLocked,
    PrescriptionNotFound,
)
from yilian.outpatient.models import Order
from yilian.outpatient.record_models import (
    Prescription as Prescription,
)  # re-exported for other areas' annotations
from yilian.outpatient.record_models import PrescriptionLine, PrescriptionReview
from yilian.outpatient.record_schemas import (
    FindingRead,
    LineCreate,
    LineRead,
    PrescriptionRead,
    ReviewRead,
    ReviewSubject,
)
from yilian.outpatient.record_service import allergies
from yilian.outpatient.rx_domain import (
    MAX_DRUGS,
    Finding,
    PatientFacts,
    PrescriptionKind,
    PrescriptionStatus,
    RxLine,
    review,
)
from yilian.registry import service as registry

EDITABLE = (PrescriptionStatus.DRAFT.value, PrescriptionStatus.RETURNED.value)
DONE = (OrderStatus.CANCELLED.value,)


def _kind(kind: str) -> PrescriptionKind:
    try:
        return PrescriptionKind(kind)
    except ValueError as exc:
        raise InvalidPrescription(f"未知的处方类别: {kind}") from exc


def find_prescription(session: Session, prescription_id: int, *, for_update: bool = False) -> Prescription:
    return found(
        repo.prescription(session, prescription_id, for_update=for_update),
        PrescriptionNotFound(f"处方不存在: {prescription_id}"),
    )


def _writable(session: Session, actor: Actor, encounter_id: int) -> None:
    encounter = outpatient.find_encounter(session, encounter_id)
    if encounter.status != EncounterStatus.OPEN:
        raise NoOpenVisit("患者没有进行中的就诊，不能开处方")
    outpatient.writable_encounter(session, actor, encounter_id)


def draft_prescription(
    session: Session, actor: Actor, encounter_id: int, kind: str, *, long_term: bool = False
) -> Prescription:
    """The encounter's prescription of ``kind`` (one per kind per visit), created when first written."""
    _writable(session, actor, encounter_id)
    k = _kind(kind)
    found = repo.prescription_of_kind(session, encounter_id, k.value)
    if found is not None:
        if found.status not in EDITABLE:
            raise PrescriptionLocked(
                f"本次就诊的{k.label}已{PrescriptionStatus(found.status).label}，不能再修改"
            )
        found.long_term = long_term or found.long_term
        return found
    encounter = outpatient.find_encounter(session, encounter_id)
    prescription = Prescription(
        encounter_id=encounter.id,
        patient_id=encounter.patient_id,
        institution_id=encounter.institution_id,
        kind=k.value,
        long_term=long_term and k is PrescriptionKind.NORMAL,
        status=PrescriptionStatus.DRAFT.value,
        findings=[],
        written_by=actor.user_id,
        doctor_name=actor.display_name or actor.username,
        created_at=utcnow(),
    )
    session.add(prescription)
    session.flush()
    return prescription


def _checked_line(facts: DrugFacts, data: LineCreate) -> DispenseQuantity:
    dose = parse_dose(data.dose)
    freq = frequency(data.frequency)
    route_label(data.route)
    quantity = dispense_quantity(facts, dose, data.dose_unit, freq, data.days)
    if facts.absolute_max_single is not None and quantity.per_dose_strength > facts.absolute_max_single:
        raise InvalidDose(
            f"{facts.name}单次剂量超过绝对上限 {facts.absolute_max_single.normalize()}{facts.strength_unit}，"
            "请核对剂量单位"
        )
    if quantity.packages > 999:
        raise InvalidDose("发药数量超过 999，请核对剂量与天数")
    return quantity


def add_line(
    session: Session, actor: Actor, encounter_id: int, kind: str, data: LineCreate, *, long_term: bool = False
) -> tuple[PrescriptionLine, Order]:
    """Add a drug line: the quantity in packages from dose × frequency × days; the line's order is placed
    (the caller charges it). Bad input stores nothing."""
    prescription = draft_prescription(session, actor, encounter_id, kind, long_term=long_term)
    facts = drugs.get_drug_facts(session, data.item_code)
    quantity = _checked_line(facts, data)
    current = [
        line for line, order in repo.lines_with_orders(session, [prescription.id]) if order.status not in DONE
    ]
    if len(current) >= MAX_DRUGS:
        raise InvalidPrescription(f"每张处方不超过 {MAX_DRUGS} 种药品，请另开处方")
    if any(line.item_code == facts.item_code for line in current):
        raise InvalidPrescription(f"{facts.name}已在处方中（一药一行）")
    order = outpatient.place_order(session, actor, encounter_id, facts.item_code, quantity.packages)
    line = PrescriptionLine(
        prescription_id=prescription.id,
        order_id=order.id,
        item_code=facts.item_code,
        dose=parse_dose(data.dose),
        dose_unit=data.dose_unit,
        frequency=frequency(data.frequency).code,
        route=data.route.strip().lower(),
        days=data.days,
        quantity_rule=quantity.rule[:300],
        instructions=how_to_take(
            facts, parse_dose(data.dose), data.dose_unit, data.frequency, data.route, data.days
        )[:200],
    )
    session.add(line)
    prescription.revised = True
    session.flush()
    refresh_findings(session, prescription)
    return line, order


def remove_line(session: Session, actor: Actor, line_id: int) -> int:
    """Take a line off an editable prescription; returns its order id (the caller cancels the charge)."""
    line = found(repo.line(session, line_id), PrescriptionLineNotFound(f"处方行不存在: {line_id}"))
    prescription = find_prescription(session, line.prescription_id, for_update=True)
    _writable(session, actor, prescription.encounter_id)
    if prescription.status not in EDITABLE:
        raise PrescriptionLocked(f"处方{PrescriptionStatus(prescription.status).label}，不能删除药品")
    order_id = line.order_id
    session.delete(line)
    prescription.revised = True
    session.flush()
    refresh_findings(session, prescription)
    return order_id


def patient_facts(session: Session, encounter_id: int) -> PatientFacts:
    """Age, weight, pregnancy and allergies of the encounter's patient, as review needs them."""
    encounter = outpatient.find_encounter(session, encounter_id)
    patient = registry.find_patient(session, encounter.patient_id)
    record = repo.record_of(session, encounter_id)
    return PatientFacts(
        age_years=age_on(patient.birth_date, encounter.business_date),
        weight_kg=record.weight_kg if record else None,
        allergies=tuple(allergies(session, patient.id)),
        pregnant=bool(record and record.pregnancy == "pregnant"),
        lactating=bool(record and record.pregnancy == "lactating"),
    )


def _rx_lines(session: Session, prescription_ids: Sequence[int]) -> dict[int, list[RxLine]]:
    rows = [
        (line, order)
        for line, order in repo.lines_with_orders(session, prescription_ids)
        if order.status not in DONE
    ]
    facts = drugs.drug_facts(session, [line.item_code for line, _ in rows])
    out: dict[int, list[RxLine]] = {pid: [] for pid in prescription_ids}
    for line, _order in rows:
        out[line.prescription_id].append(
            RxLine(facts[line.item_code], line.dose, line.dose_unit, line.frequency, line.route, line.days)
        )
    return out


def check(
    session: Session,
    encounter_id: int,
    kind: str,
    *,
    long_term: bool = False,
    candidate: LineCreate | None = None,
) -> list[Finding]:
    """The system's review of the encounter's prescription of ``kind`` — with a candidate line not yet
    added when given (the live warnings while the doctor writes)."""
    k = _kind(kind)
    others = list(repo.prescriptions_of(session, encounter_id))
    lines_by = _rx_lines(session, [p.id for p in others])
    mine = next((p for p in others if p.kind == k.value), None)
    lines = list(lines_by.get(mine.id, [])) if mine else []
    if candidate is not None:
        facts = drugs.get_drug_facts(session, candidate.item_code)
        _checked_line(facts, candidate)
        lines.append(
            RxLine(
                facts,
                parse_dose(candidate.dose),
                candidate.dose_unit,
                candidate.frequency,
                candidate.route,
                candidate.days,
            )
        )
    other_lines = [x for p in others if p is not mine for x in lines_by[p.id]]
    pairs = drugs.interactions_among(session, drugs.facts_names([x.facts for x in [*lines, *other_lines]]))
    return review(
        lines,
        patient_facts(session, encounter_id),
        k,
        pairs,
        long_term=long_term or bool(mine and mine.long_term),
        other_lines=other_lines,
    )


def refresh_findings(session: Session, prescription: Prescription) -> list[Finding]:
    found = check(session, prescription.encounter_id, prescription.kind, long_term=prescription.long_term)
    prescription.findings = [f.as_dict() for f in found]
    session.flush()
    return found


def submit(session: Session, actor: Actor, prescription_id: int, note: str = "") -> Prescription:
    """Send a prescription to the pharmacist (待审方); a returned one must be changed or justified."""
    prescription = find_prescription(session, prescription_id, for_update=True)
    _writable(session, actor, prescription.encounter_id)
    if prescription.status not in EDITABLE:
        raise PrescriptionLocked(f"处方{PrescriptionStatus(prescription.status).label}，不能提交")
    if not [1 for _l, o in repo.lines_with_orders(session, [prescription.id]) if o.status not in DONE]:
        raise InvalidPrescription("处方中没有药品")
    if (
        prescription.status == PrescriptionStatus.RETURNED.value
        and not prescription.revised
        and not note.strip()
    ):
        raise InvalidPrescription("处方被药师退回：请修改处方，或填写用药理由后再提交")
    refresh_findings(session, prescription)
    prescription.status = PrescriptionStatus.PENDING.value
    prescription.doctor_note = note.strip()[:300]
    prescription.submitted_at = utcnow()
    session.flush()
    events.emit(
        session,
        "outpatient.prescription_submitted",
        {"prescription_id": prescription.id, "institution_id": prescription.institution_id},
    )
    return prescription


def record_review(
    session: Session, actor: Actor, prescription_id: int, *, verdict: str, reason: str, institution_id: int
) -> Prescription:
    """Record a pharmacist's verdict (pharmacy checks who may review which institution's prescriptions)."""
    if not actor.has(Permission.PRESCRIPTION_REVIEW):
        raise Forbidden(f"当前角色（{actor.role.label}）不能审方")
    prescription = find_prescription(session, prescription_id, for_update=True)
    if prescription.status != PrescriptionStatus.PENDING.value:
        raise PrescriptionLocked(f"处方{PrescriptionStatus(prescription.status).label}，不在待审状态")
    if verdict not in ("pass", "return"):
        raise InvalidPrescription("审方结论应为 通过 或 退回")
    if verdict == "return" and not reason.strip():
        raise InvalidPrescription("退回处方须填写理由")
    now = utcnow()
    session.add(
        PrescriptionReview(
            prescription_id=prescription.id,
            verdict=verdict,
            reason=reason.strip()[:300],
            reviewer_id=actor.user_id,
            reviewer_name=actor.display_name or actor.username,
            institution_id=institution_id,
            findings=list(prescription.findings),
            reviewed_at=now,
        )
    )
    prescription.reviewed_at = now
    if verdict == "pass":
        prescription.status = PrescriptionStatus.PASSED.value
    else:
        prescription.status = PrescriptionStatus.RETURNED.value
        prescription.return_reason = reason.strip()[:300]
        prescription.revised = False
    session.flush()
    events.emit(
        session,
        "outpatient.prescription_reviewed",
        {"prescription_id": prescription.id, "verdict": verdict, "encounter_id": prescription.encounter_id},
    )
    return prescription


def in_status(
    session: Session, institution_ids: Sequence[int], statuses: Sequence[str]
) -> Sequence[Prescription]:
    """Prescriptions of some institutions in some statuses, oldest submitted first (the queues)."""
    return repo.prescriptions_in(session, institution_ids, statuses)


def orders_awaiting_review(session: Session, order_ids: Sequence[int]) -> set[int]:
    """Those of ``order_ids`` that belong to a prescription not yet passed (they may not be paid)."""
    passed = (PrescriptionStatus.PASSED.value, PrescriptionStatus.DISPENSED.value)
    return {
        oid
        for oid, p in repo.prescription_ids_of_orders(session, order_ids).items()
        if p.status not in passed
    }


def prescription_of_order(session: Session, order_id: int) -> Prescription | None:
    return repo.prescription_ids_of_orders(session, [order_id]).get(order_id)


def lines_of(session: Session, prescription_id: int) -> list[tuple[PrescriptionLine, Order]]:
    return repo.lines_with_orders(session, [prescription_id])


def mark_dispensed(session: Session, actor: Actor, prescription_id: int) -> Prescription:
    """Record the dispensing (发药): each live line's order performed, the prescription dispensed."""
    prescription = find_prescription(session, prescription_id, for_update=True)
    if prescription.status != PrescriptionStatus.PASSED.value:
        raise PrescriptionLocked("处方未通过审方，不能发药")
    for _line, order in repo.lines_with_orders(session, [prescription.id]):
        if order.status not in DONE:
            outpatient.perform(session, actor, order.id)
    prescription.status = PrescriptionStatus.DISPENSED.value
    prescription.dispensed_at = utcnow()
    session.flush()
    return prescription


def prescription_read(session: Session, prescription: Prescription) -> PrescriptionRead:
    """A prescription with its lines (drug, how to take, quantity and rule), findings and verdicts."""
    rows = repo.lines_with_orders(session, [prescription.id])
    lines = [
        LineRead(
            id=line.id,
            order_id=order.id,
            item_code=line.item_code,
            name=order.item_name,
            dose=line.dose,
            dose_unit=line.dose_unit,
            frequency=line.frequency,
            frequency_label=frequency(line.frequency).label,
            route=line.route,
            route_label=route_label(line.route),
            days=line.days,
            quantity=order.quantity,
            unit=order.unit,
            amount=order.amount,
            order_status=order.status,
            quantity_rule=line.quantity_rule,
            instructions=line.instructions,
        )
        for line, order in rows
    ]
    kind = PrescriptionKind(prescription.kind)
    return PrescriptionRead(
        id=prescription.id,
        encounter_id=prescription.encounter_id,
        patient_id=prescription.patient_id,
        institution_id=prescription.institution_id,
        kind=kind.value,
        kind_label=kind.label,
        colour=kind.colour,
        corner_mark=kind.corner_mark,
        long_term=prescription.long_term,
        status=prescription.status,
        status_label=PrescriptionStatus(prescription.status).label,
        doctor_name=prescription.doctor_name,
        doctor_note=prescription.doctor_note,
        return_reason=prescription.return_reason,
        findings=[FindingRead.model_validate(f) for f in prescription.findings],
        lines=lines,
        reviews=[ReviewRead.model_validate(r) for r in repo.reviews_of(session, prescription.id)],
        total=sum(x.amount for x in lines if x.order_status not in DONE),
        created_at=prescription.created_at,
    )


def prescriptions_of_encounter(session: Session, encounter_id: int) -> list[PrescriptionRead]:
    return [prescription_read(session, p) for p in repo.prescriptions_of(session, encounter_id)]


def review_subject(
    session: Session, actor: Actor, prescription_id: int, *, reason: str = "审方"
) -> ReviewSubject:
    """What the pharmacist needs to review or dispense one prescription — the prescription, the patient's
    name, sex, age, weight, pregnancy, allergies and the visit's diagnoses; not the full record. The read
    is audited; pharmacy has checked that the actor's institution reviews this prescription's."""
    if not (actor.has(Permission.PRESCRIPTION_REVIEW) or actor.has(Permission.PHARMACY_DISPENSE)):
        raise Forbidden(f"当前角色（{actor.role.label}）不能查看处方")
    prescription = find_prescription(session, prescription_id)
    patient = registry.find_patient(session, prescription.patient_id)
    facts = patient_facts(session, prescription.encounter_id)
    record = repo.record_of(session, prescription.encounter_id)
    record_access(
        session,
        actor,
        action="read",
        resource=f"prescriptions/{prescription.id}",
        patient_id=patient.id,
        reason=reason,
    )
    return ReviewSubject(
        prescription=prescription_read(session, prescription),
        patient_name=patient.name,
        sex=patient.sex,
        age_years=facts.age_years,
        weight_kg=facts.weight_kg,
        pregnancy=record.pregnancy if record else "",
        allergies=list(facts.allergies),
        diagnoses=[f"{d.code} {d.name}" for d in encounters.diagnoses_of(session, prescription.encounter_id)],
        institution_name=registry.get_institution(session, prescription.institution_id).name,
    )


def patient_prescriptions(session: Session, actor: Actor, patient_id: int) -> list[PrescriptionRead]:
    """A patient's submitted prescriptions, newest first (the phone page: what to take and how)."""
    registry.get_patient(session, actor, patient_id, reason="查看处方")
    return [prescription_read(session, p) for p in repo.prescriptions_of_patient(session, patient_id)]
