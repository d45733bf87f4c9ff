"""Use cases of the shared TCM pharmacy (共享中药房, DOMAIN §9).

A clinic doctor writes a herbal prescription on a visit (its herbs and fee charged through billing:
credit care and payers apply); the central pharmacists review it (the rules of ``herb_domain``),
approve it, return it to the doctor with a reason, or approve it over a 禁忌 finding with the doctor's
double signature (双签); the floor moves it step by step — each step with operator, machine and time,
checked against its timing rule; a machine is bound by a conditional UPDATE (two operators starting
the same machine: one wins) and freed on finish; the day's plan puts waiting prescriptions on
machines to meet their promised times; the courier hands it over and the patient signs by scanning.
Cancelling before dispensing cancels its orders so billing refunds exactly."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from yilian.billing import service as billing
from yilian.catalog import herb_service
from yilian.catalog.herb_domain import FormulaClass, Handling, RxHerb, blocking, review
from yilian.kit.access_log import record_access
from yilian.kit.auth.domain import Actor, Permission, require_staff_permission
from yilian.kit.clock import utcnow
from yilian.kit.errors import Conflict, Forbidden, InvalidInput, NotFound
from yilian.kit.masking import mask_name
from yilian.outpatient import herbal_service as herbal
from yilian.outpatient import service as encounters
from yilian.outpatient.herbal_domain import (
    CANCELLABLE,
    MAIN_LINE,
    HerbalKind,
    HerbalState,
    TransitionRefused,
    check_volume,
)
from yilian.pharmacy import decoction_domain as rules
from yilian.pharmacy import decoction_repository as repo
from yilian.pharmacy.decoction_models import DecoctionMachine, DecoctionRun, DecoctionStep
from yilian.pharmacy.service import reviewed_institutions
from yilian.registry import service as registry

S = HerbalState


class MachineBusy(Conflict):
    code = "decoction_machine_busy"
    title = "煎药机正在使用"


class MachineNotFound(NotFound):
    code = "decoction_machine_not_found"
    title = "煎药机不存在"


class InvalidStep(InvalidInput):
    code = "invalid_decoction_step"
    title = "操作不合法"


def _scoped(
    session: Session, actor: Actor, prescription_id: int, permission: Permission
) -> herbal.HerbalPrescription:
    institution_id = require_staff_permission(actor, permission)
    p = herbal.get(session, prescription_id)
    if p.institution_id not in reviewed_institutions(session, institution_id):
        raise Forbidden("该处方不由本中药房审核或煎制")
    return p


def _trace(
    session: Session,
    actor: Actor,
    p: herbal.HerbalPrescription,
    left: HerbalState,
    *,
    at: datetime,
    machine: str = "",
    note: str = "",
    **detail: object,
) -> DecoctionStep:
    step = DecoctionStep(
        prescription_id=p.id,
        from_state=left.value,
        to_state=p.status,
        operator_id=actor.user_id,
        operator_name=actor.display_name or actor.username,
        machine_code=machine,
        at=at,
        note=note[:200],
        detail=dict(detail),
    )
    session.add(step)
    session.flush()
    return step


# ---------------------------------------------------------------- the doctor


def findings_of(session: Session, body: herbal.HerbalInput) -> list[dict[str, object]]:
    """The review findings of a prescription being written (the doctor's live warnings)."""
    herbs = herb_service.herbs_by_code(session, [x.herb_code for x in body.lines])
    return [
        {"rule": f.rule, "severity": f.severity.value, "message": f.message}
        for f in review([RxHerb(herbs[x.herb_code], x.grams) for x in body.lines], pregnant=body.pregnant)
    ]


def _with_findings(session: Session, body: herbal.HerbalInput) -> herbal.HerbalInput:
    return herbal.HerbalInput(**{**body.__dict__, "extra": {"findings": findings_of(session, body)}})


def _charge(session: Session, actor: Actor, orders: Sequence[object]) -> list[str]:
    reasons = []
    for order in orders:
        _charge_row, reason = billing.charge_order(session, actor, order)  # type: ignore[arg-type]
        if reason:
            reasons.append(reason)
    return reasons


def prescribe(
    session: Session, actor: Actor, encounter_id: int, body: herbal.HerbalInput
) -> tuple[herbal.HerbalPrescription, list[str]]:
    """Write a herbal prescription and charge it; returns it and why credit was not used (if so)."""
    encounters.writable_encounter(session, actor, encounter_id)  # who may write, before what is written
    herbs = herb_service.herbs_by_code(session, [x.herb_code for x in body.lines])
    p, orders = herbal.write(session, actor, encounter_id, _with_findings(session, body), herbs)
    return p, sorted(set(_charge(session, actor, orders)))


def _own(session: Session, actor: Actor, prescription_id: int) -> herbal.HerbalPrescription:
    """A prescription the actor (a doctor of its institution) may revise or cancel."""
    p = herbal.get(session, prescription_id)
    if not actor.has(Permission.ENCOUNTER_WRITE) or not actor.serves(p.institution_id):
        raise Forbidden("只有开方机构的医生可以修改或取消该处方")
    return p


def _void_orders(session: Session, actor: Actor, p: herbal.HerbalPrescription, reason: str) -> int:
    for order_id in herbal.order_ids_of(session, p):
        billing.cancel_order(session, actor, order_id, reason)
    return p.amount


def revise(
    session: Session, actor: Actor, prescription_id: int, body: herbal.HerbalInput
) -> herbal.HerbalPrescription:
    """The doctor fixes a returned prescription: old orders cancelled (refunded exactly), new ones charged."""
    p = _own(session, actor, prescription_id)
    if p.status != S.RETURNED.value:
        raise TransitionRefused(f"处方“{p.status}”，只有被退回的处方可以修改")
    herbs = herb_service.herbs_by_code(session, [x.herb_code for x in body.lines])
    herbal.validate(body, herbs)
    _void_orders(session, actor, p, "中药处方退回修改")
    left = HerbalState(p.status)
    orders = herbal.revise(session, actor, p, _with_findings(session, body), herbs)
    _charge(session, actor, orders)
    _trace(session, actor, p, left, at=utcnow(), note=f"医生修改后重新提交（第 {p.version} 版）")
    return p


def cancel(session: Session, actor: Actor, prescription_id: int, reason: str) -> int:
    """Cancel a prescription before dispensing; its orders are cancelled and billing refunds exactly.
    Returns the amount taken off the bill (fen)."""
    p = _own(session, actor, prescription_id)
    if not reason.strip():
        raise InvalidStep("请填写取消原因")
    if HerbalState(p.status) not in CANCELLABLE:
        raise TransitionRefused(f"处方已“{p.status}”，不能取消")
    amount = _void_orders(session, actor, p, f"取消中药处方：{reason.strip()}")
    left = herbal.move(session, p, S.CANCELLED)
    _trace(session, actor, p, left, at=utcnow(), note=reason.strip())
    return amount


# ---------------------------------------------------------------- review (审方)


def review_desk(session: Session, actor: Actor) -> list[herbal.HerbalPrescription]:
    institution_id = require_staff_permission(actor, Permission.PRESCRIPTION_REVIEW)
    return herbal.in_states(session, reviewed_institutions(session, institution_id), [S.PENDING_REVIEW])


def decide(
    session: Session,
    actor: Actor,
    prescription_id: int,
    verdict: str,
    *,
    reason: str = "",
    cosigner: str = "",
    promise_hours: int = rules.PROMISE_HOURS,
) -> herbal.HerbalPrescription:
    """approve, return (with a reason), or override (approve over 禁忌 findings with the doctor's 双签)."""
    p = _scoped(session, actor, prescription_id, Permission.PRESCRIPTION_REVIEW)
    record_access(
        session, actor, action="review", resource=f"herbal_prescriptions/{p.id}", patient_id=p.patient_id
    )
    lines = herbal.lines_of(session, p.id)
    herbs = herb_service.herbs_by_code(session, [x.herb_code for x in lines])
    findings = review([RxHerb(herbs[x.herb_code], x.grams) for x in lines], pregnant=p.pregnant)
    now = utcnow()
    if verdict == "return":
        if not reason.strip():
            raise InvalidStep("退回处方须写明原因")
        left = herbal.move(
            session, p, S.RETURNED, review_reason=reason.strip()[:200], reviewed_by=actor.user_id
        )
        _trace(
            session,
            actor,
            p,
            left,
            at=now,
            note=reason.strip(),
            findings=[f.message for f in findings],
            rules=sorted({f.rule for f in findings}),
        )
        return p
    if verdict not in ("approve", "override"):
        raise InvalidStep("审方结论应为 approve、return 或 override")
    blocks = blocking(findings)
    cosigned_by = None
    if blocks and verdict == "approve":
        raise TransitionRefused(
            f"存在禁忌：{'；'.join(f.message for f in blocks)}。请退回医生或经医生双签后通过"
        )
    if verdict == "override":
        doctor = repo.user_by_username(session, cosigner.strip())
        if doctor is None or doctor.id != p.doctor_id:
            raise InvalidStep("双签须由开方医生本人签名")
        if not reason.strip():
            raise InvalidStep("双签通过须写明理由")
        cosigned_by = doctor.id
    left = herbal.move(
        session,
        p,
        S.TO_DISPENSE,
        at=now,
        reviewed_by=actor.user_id,
        cosigned_by=cosigned_by,
        approved_at=now,
        promised_at=now + timedelta(hours=promise_hours),
        review_reason=reason.strip()[:200],
    )
    _trace(
        session,
        actor,
        p,
        left,
        at=now,
        note=("医生双签通过：" + reason.strip()) if cosigned_by else "审方通过",
        findings=[f.message for f in findings],
    )
    return p


# ---------------------------------------------------------------- the floor


def _run(session: Session, p: herbal.HerbalPrescription) -> DecoctionRun:
    run = repo.run_of(session, p.id)
    if run is None:
        run = DecoctionRun(prescription_id=p.id)
        session.add(run)
        session.flush()
    return run


def _handlings(session: Session, p: herbal.HerbalPrescription) -> set[str]:
    return {x.handling for x in herbal.lines_of(session, p.id)}


def machine_by_code(session: Session, institution_id: int, code: str) -> DecoctionMachine:
    m = repo.machine_at(session, institution_id, code.strip())
    if m is None or not m.is_active:
        raise MachineNotFound(f"煎药机不存在：{code}")
    return m


def add_machine(session: Session, institution_id: int, code: str, name: str) -> DecoctionMachine:
    found = repo.machine_with_code(session, code)
    if found is not None:
        return found
    m = DecoctionMachine(institution_id=institution_id, code=code, name=name)
    session.add(m)
    session.flush()
    return m


def machines(session: Session, institution_id: int) -> list[DecoctionMachine]:
    return repo.active_machines(session, institution_id)


def _bind(session: Session, machine: DecoctionMachine, p: herbal.HerbalPrescription, at: datetime) -> None:
    """Take a free machine with a conditional UPDATE: of two operators, one wins."""
    if not repo.bind_machine(session, machine.id, p.id, at):
        raise MachineBusy(f"煎药机 {machine.code} 正在煎制其他处方")
    session.refresh(machine)


def _free(session: Session, machine_id: int | None) -> None:
    if machine_id is not None:
        repo.free_machine(session, machine_id)


ACTIONS = (
    "dispense",
    "check",
    "soak",
    "decoct",
    "add_rest",
    "add_late",
    "finish",
    "pack",
    "label",
    "qc_pass",
    "qc_rework",
    "qc_scrap",
    "dispatch",
    "sign",
)


@dataclass(frozen=True)
class StepInput:
    action: str
    machine: str = ""
    volume_ml: int | None = None
    reason: str = ""
    courier: str = ""
    token: str = ""


def step(session: Session, actor: Actor, prescription_id: int, body: StepInput) -> herbal.HerbalPrescription:
    """Record one step on the floor (now), checked against its state and timing rules."""
    p = _scoped(session, actor, prescription_id, Permission.PRESCRIPTION_REVIEW)
    institution_id = actor.institution_id or 0
    now = utcnow()
    run = _run(session, p)
    handlings = _handlings(session, p)
    a = body.action
    machine_code = ""
    note = ""
    if a == "dispense":
        left = herbal.move(session, p, S.TO_CHECK, at=now)
        run.dispensed_by = actor.user_id
    elif a == "check":
        if run.dispensed_by == actor.user_id:
            raise InvalidStep("调配与复核须由两人分别完成（双人核对）")
        left = herbal.move(session, p, S.TO_SOAK if p.decoct else S.TO_PACK, at=now)
    elif a == "soak":
        left = herbal.move(session, p, S.SOAKING, at=now)
        run.soak_started_at = now
    elif a == "decoct":
        if p.status == S.SOAKING.value and run.soak_started_at is not None:
            rules.check_soak_done(run.soak_started_at, now)
            left = herbal.move(session, p, S.TO_DECOCT, at=now)
            _trace(session, actor, p, left, at=now, note="泡药完成")
        machine = machine_by_code(session, institution_id, body.machine)
        herbal.check_transition_of(p, S.DECOCTING)
        _bind(session, machine, p, now)
        left = herbal.move(session, p, S.DECOCTING, at=now)
        run.machine_id, run.decoct_started_at = machine.id, now
        run.rest_added_at = run.late_added_at = run.finished_at = None
        machine_code = machine.code
        note = "先煎药先下" if Handling.FIRST.value in handlings else ""
    elif a in ("add_rest", "add_late"):
        if p.status != S.DECOCTING.value or run.decoct_started_at is None:
            raise TransitionRefused(f"处方“{p.status}”，不在煎药中")
        if a == "add_rest":
            if Handling.FIRST.value not in handlings:
                raise InvalidStep("该处方没有先煎药")
            rules.check_rest_added(run.decoct_started_at, now)
            run.rest_added_at = now
            note = "先煎 30 分钟后下其余药"
        else:
            if Handling.LATE.value not in handlings:
                raise InvalidStep("该处方没有后下药")
            run.late_added_at = now
            note = "加入后下药"
        session.flush()
        _trace(session, actor, p, S(p.status), at=now, note=note, machine=_code(session, run))
        return p
    elif a == "finish":
        if p.status != S.DECOCTING.value or run.decoct_started_at is None:
            raise TransitionRefused(f"处方“{p.status}”，不在煎药中")
        if body.volume_ml is None:
            raise InvalidStep("请填写煎出量（ml/剂）")
        if p.kind != HerbalKind.PASTE.value:
            check_volume(body.volume_ml, child=p.child)
            has_first = Handling.FIRST.value in handlings
            rules.check_finish(
                FormulaClass(p.formula_class),
                boil_from=run.rest_added_at or run.decoct_started_at,
                now=now,
                late_added=run.late_added_at,
                has_late=Handling.LATE.value in handlings,
                has_first=has_first,
                rest_added=run.rest_added_at,
            )
        machine_code = _code(session, run)
        left = herbal.move(session, p, S.TO_PACK, at=now)
        run.finished_at, run.volume_ml = now, body.volume_ml
        _free(session, run.machine_id)
        note = f"煎出 {body.volume_ml} ml/剂"
    elif a == "pack":
        left = herbal.move(session, p, S.TO_LABEL, at=now)
    elif a == "label":
        left = herbal.move(session, p, S.TO_QC, at=now)
    elif a == "qc_pass":
        left = herbal.move(session, p, S.TO_DELIVER, at=now)
        note = "质检合格"
    elif a in ("qc_rework", "qc_scrap"):
        if not body.reason.strip():
            raise InvalidStep("质检不合格须写明原因")
        left = herbal.move(session, p, S.TO_DECOCT if a == "qc_rework" else S.SCRAPPED, at=now)
        if a == "qc_rework":
            run.reworks += 1
        note = ("返工重煎：" if a == "qc_rework" else "报废：") + body.reason.strip()
    elif a == "dispatch":
        if not body.courier.strip():
            raise InvalidStep("请填写配送员")
        left = herbal.move(session, p, S.DELIVERING, at=now)
        run.courier = body.courier.strip()[:40]
        note = f"交配送员 {run.courier}"
    elif a == "sign":
        if body.token != p.track_token:
            raise InvalidStep("签收码不符")
        left = herbal.move(session, p, S.SIGNED, at=now)
        run.signed_at = now
        note = "患者扫码签收"
    else:
        raise InvalidStep(f"未知操作：{a}")
    session.flush()
    _trace(session, actor, p, left, at=now, machine=machine_code, note=note)
    return p


def _code(session: Session, run: DecoctionRun) -> str:
    if run.machine_id is None:
        return ""
    m = session.get(DecoctionMachine, run.machine_id)
    return m.code if m else ""


def steps_of(session: Session, prescription_id: int) -> list[DecoctionStep]:
    return repo.steps_of(session, prescription_id)


# ---------------------------------------------------------------- board, plan, tracking, label


@dataclass(frozen=True)
class BoardCard:
    id: int
    patient: str
    clinic: str
    state: str
    machine: str
    promised_at: datetime | None
    since: datetime


def board(session: Session, actor: Actor) -> list[BoardCard]:
    """Every prescription on the floor (approved, not yet signed), by state, with its machine."""
    institution_id = require_staff_permission(actor, Permission.PRESCRIPTION_REVIEW)
    live = [s for s in MAIN_LINE if s not in (S.SIGNED,)]
    cards = []
    names: dict[int, str] = {}
    for p in herbal.in_states(session, reviewed_institutions(session, institution_id), live):
        run = repo.run_of(session, p.id)
        if p.institution_id not in names:
            names[p.institution_id] = registry.get_institution(session, p.institution_id).name
        cards.append(
            BoardCard(
                p.id,
                mask_name(registry.find_patient(session, p.patient_id).name),
                names[p.institution_id],
                p.status,
                _code(session, run) if run and p.status == S.DECOCTING.value else "",
                p.promised_at,
                p.updated_at,
            )
        )
    return cards


def day_plan(session: Session, actor: Actor, *, now: datetime | None = None) -> rules.Plan:
    """Waiting prescriptions (approved, not yet decocting) on this floor's machines; minutes from now."""
    institution_id = require_staff_permission(actor, Permission.PRESCRIPTION_REVIEW)
    now = now or utcnow()
    waiting = herbal.in_states(
        session,
        reviewed_institutions(session, institution_id),
        [S.TO_DISPENSE, S.TO_CHECK, S.TO_SOAK, S.SOAKING, S.TO_DECOCT],
    )
    ahead = {S.TO_DISPENSE.value: 60, S.TO_CHECK.value: 45, S.TO_SOAK.value: 30, S.SOAKING.value: 15}
    jobs = []
    for p in waiting:
        if not p.decoct:
            continue
        promised = p.promised_at or rules.promised(p.created_at)
        jobs.append(
            rules.Job(
                p.id,
                ahead.get(p.status, 0),
                rules.machine_minutes(
                    FormulaClass(p.formula_class),
                    has_first=Handling.FIRST.value in _handlings(session, p),
                    paste=p.kind == HerbalKind.PASTE.value,
                ),
                int((promised - now).total_seconds() // 60) - 120,
            )
        )
    return rules.plan(jobs, [m.id for m in machines(session, institution_id)])


@dataclass(frozen=True)
class Tracking:
    prescription_id: int
    patient: str
    clinic: str
    kind: str
    doses: int
    state: str
    promised_at: datetime | None
    steps: list[tuple[str, datetime, str]]  # state reached, when, note
    can_sign: bool = False  # out for delivery to her door: she confirms by scanning


def track(session: Session, token: str) -> Tracking:
    """The patient's phone page (by the QR code's token): her prescription's state and each step's time.
    The token is the credential; names are masked."""
    p = herbal.by_token(session, token)
    steps = [(s.to_state, s.at, s.note) for s in steps_of(session, p.id)]
    return Tracking(
        p.id,
        mask_name(registry.find_patient(session, p.patient_id).name),
        registry.get_institution(session, p.institution_id).name,
        p.kind,
        p.doses,
        p.status,
        p.promised_at,
        [(S.PENDING_REVIEW.value, p.created_at, "医生开方"), *steps],
        p.status == S.DELIVERING.value and _receipt(session, p) is None,
    )


@dataclass(frozen=True)
class Label:
    prescription_id: int
    patient: str
    clinic: str
    doses: int
    bags: int
    bag_ml: int
    usage: str
    qr_text: str


def label(session: Session, actor: Actor, prescription_id: int, *, base_url: str = "") -> Label:
    """The bag label: patient masked, prescription, doses, how to take, and the tracking QR's text."""
    p = _scoped(session, actor, prescription_id, Permission.PRESCRIPTION_REVIEW)
    usage = p.instructions or f"每日 1 剂，每剂 {p.bags_per_dose} 袋，分早晚温服"
    return Label(
        p.id,
        mask_name(registry.find_patient(session, p.patient_id).name),
        registry.get_institution(session, p.institution_id).name,
        p.doses,
        p.doses * p.bags_per_dose,
        p.bag_ml,
        usage,
        f"{base_url}/tcm/track/{p.track_token}",
    )


# ---------------------------------------------------------------- delivery: hand-over and receipt by scan

SCAN_ACTIONS = ("handover", "receive", "sign")
SCAN_LABELS = {"handover": "交配送员", "receive": "接收入站", "sign": "交患者签收"}


@dataclass(frozen=True)
class Bag:
    """A scanned bag as the station sees it: masked patient, prescription, where it is, what comes next."""

    prescription_id: int
    patient: str
    clinic: str
    state: str
    doses: int
    bags: int
    courier: str
    received_at: datetime | None  # taken in by the receiving clinic
    actions: list[str]  # what the scanning actor may record now
    steps: list[tuple[str, datetime, str, str]]  # state, when, who, note


class BagNotFound(NotFound):
    code = "decoction_bag_not_found"
    title = "药袋标签码无效"


def _bag_of(session: Session, code: str) -> herbal.HerbalPrescription:
    token = rules.token_of(code)
    try:
        return herbal.by_token(session, token[:32])
    except herbal.HerbalNotFound:
        raise BagNotFound("标签码无效：请扫描药袋标签上的二维码") from None


def _receipt(session: Session, p: herbal.HerbalPrescription) -> DecoctionStep | None:
    """The receiving clinic's scan of the bag, if there was one."""
    return repo.latest_receipt(session, p.id)


def _may_pharmacy(session: Session, actor: Actor, p: herbal.HerbalPrescription) -> bool:
    if not actor.has(Permission.PRESCRIPTION_REVIEW) or actor.institution_id is None:
        return False
    return p.institution_id in reviewed_institutions(session, actor.institution_id)


def _may_clinic(actor: Actor, p: herbal.HerbalPrescription) -> bool:
    """Staff of the prescribing clinic who hand out medicines (护士、医生、药师 of that institution)."""
    return actor.is_staff and actor.has(Permission.ORDER_PERFORM) and actor.institution_id == p.institution_id


def _actions(session: Session, actor: Actor, p: herbal.HerbalPrescription) -> list[str]:
    if p.status == S.TO_DELIVER.value and _may_pharmacy(session, actor, p):
        return ["handover"]
    if p.status == S.DELIVERING.value and _may_clinic(actor, p):
        return ["sign"] if _receipt(session, p) is not None else ["receive"]
    return []


def scan_bag(session: Session, actor: Actor, code: str) -> Bag:
    """Look up a scanned bag (the pharmacy's dispatch desk or the receiving clinic); audited."""
    p = _bag_of(session, code)
    if not (_may_pharmacy(session, actor, p) or _may_clinic(actor, p)):
        raise Forbidden("该药袋不属于本机构的交接范围")
    run = _run(session, p)
    receipt = _receipt(session, p)
    record_access(
        session,
        actor,
        action="read",
        resource=f"herbal_prescriptions/{p.id}/bag",
        patient_id=p.patient_id,
        reason="扫码查看药袋",
    )
    return Bag(
        p.id,
        mask_name(registry.find_patient(session, p.patient_id).name),
        registry.get_institution(session, p.institution_id).name,
        p.status,
        p.doses,
        p.doses * p.bags_per_dose,
        run.courier,
        receipt.at if receipt is not None else None,
        _actions(session, actor, p),
        [(s.to_state, s.at, s.operator_name, s.note) for s in steps_of(session, p.id)],
    )


def scan(
    session: Session, actor: Actor, code: str, action: str, *, courier: str = ""
) -> herbal.HerbalPrescription:
    """Record a hand-over by scanning the bag's label: the pharmacy hands it to a courier (待配送 →
    配送中), the receiving clinic takes it in from the courier, the clinic hands it to the patient
    (配送中 → 已签收). Each scan is a traced step (who, where, when, the courier)."""
    if action not in SCAN_ACTIONS:
        raise InvalidStep(f"未知交接操作：{action}")
    p = _bag_of(session, code)
    allowed_now = _actions(session, actor, p)
    if action not in allowed_now:
        if not (_may_pharmacy(session, actor, p) or _may_clinic(actor, p)):
            raise Forbidden("该药袋不属于本机构的交接范围")
        raise TransitionRefused(
            f"药袋处于“{p.status}”，不能{SCAN_LABELS[action]}"
            + ("（须先由接收机构扫码入站）" if action == "sign" else "")
        )
    now = utcnow()
    run = _run(session, p)
    place = registry.get_institution(session, actor.institution_id or p.institution_id).name
    if action == "handover":
        if not courier.strip():
            raise InvalidStep("请填写配送员")
        left = herbal.move(session, p, S.DELIVERING, at=now)
        run.courier = courier.strip()[:40]
        note = f"扫码交接：{place} → 配送员 {run.courier}"
    elif action == "receive":
        left = S(p.status)
        note = f"扫码接收：配送员 {run.courier} → {place}"
    else:
        left = herbal.move(session, p, S.SIGNED, at=now)
        run.signed_at = now
        note = f"扫码签收：{place} 交患者本人"
    session.flush()
    _trace(session, actor, p, left, at=now, note=note, scan=action, place=place, courier=run.courier)
    return p


def sign_by_patient(session: Session, token: str) -> herbal.HerbalPrescription:
    """Delivered to the door: the patient scans the bag's QR and confirms on her phone (the token is
    the credential, as for tracking). A bag taken in by a clinic is signed there instead."""
    p = herbal.by_token(session, token)
    if p.status != S.DELIVERING.value:
        raise TransitionRefused(f"药袋处于“{p.status}”，不能签收")
    if _receipt(session, p) is not None:
        raise TransitionRefused("药袋已送达接收机构，请到该机构取药签收")
    now = utcnow()
    run = _run(session, p)
    left = herbal.move(session, p, S.SIGNED, at=now)
    run.signed_at = now
    session.flush()
    session.add(
        DecoctionStep(
            prescription_id=p.id,
            from_state=left.value,
            to_state=p.status,
            operator_id=None,
            operator_name="患者本人",
            machine_code="",
            at=now,
            note=f"扫码签收：配送员 {run.courier} 送货上门",
            detail={"scan": "sign", "place": "home", "courier": run.courier},
        )
    )
    session.flush()
    return p


def finished_decoctions(
    session: Session, start: datetime, end: datetime
) -> list[tuple[datetime, datetime | None, int]]:
    """Bulk read for analytics: (finished at, promised at, institution) of the decoctions finished in
    [start, end)."""
    rows = repo.finished_runs(session, herbal.promises(), start, end)
    return [(finished, promised, inst) for finished, promised, inst in rows if finished is not None]
