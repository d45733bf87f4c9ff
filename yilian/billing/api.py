"""HTTP API of billing: channel callbacks and reconciliation."""

from __future__ import annotations

from dataclasses import asdict
from datetime import timedelta
from typing import Annotated

from fastapi import Header, Request

from yilian.billing import service as billing
from yilian.billing.domain import Channel, ChargeStatus, CreditPolicyValues
from yilian.billing.errors import InvalidPayment
from yilian.billing.schemas import (
    ArrearPay,
    ArrearRead,
    ArrearsBucketRead,
    CancelOrder,
    ChargeRead,
    CreditDashboardRead,
    CreditOrderCreate,
    CreditOrderRead,
    CreditPolicyRead,
    CreditPolicyUpdate,
    MismatchRead,
    OpenArrearRead,
    ReconciliationRead,
    RunningBill,
    SettlementRead,
    SettleRequest,
    VisitCreate,
)
from yilian.kit.auth.deps import AreaRouter, CurrentActor, SessionDep, require
from yilian.kit.auth.domain import Actor, Permission
from yilian.kit.bounds import DayQuery, IdPath, IdQuery, OptionalDayQuery
from yilian.kit.clock import business_date
from yilian.kit.errors import Forbidden
from yilian.outpatient import service as outpatient
from yilian.outpatient.schemas import EncounterRead
from yilian.registry import service as registry

router = AreaRouter(prefix="/api/v1/billing", tags=["收费与对账"])


@router.post("/channels/{channel}/callback", summary="支付渠道回调（签名校验）")
async def channel_callback(channel: Channel, request: Request, session: SessionDep) -> dict[str, str]:
    """Receive a channel's signed notification (form or JSON); unsigned or forged ones are refused."""
    if request.headers.get("content-type", "").startswith("application/json"):
        body = await request.json()
    else:
        body = dict(await request.form())
    if not isinstance(body, dict):
        raise InvalidPayment("回调内容应为键值对")
    fields = {str(k): str(v) for k, v in body.items()}
    billing.handle_callback(session, channel, fields)
    return {"return_code": "SUCCESS"}


@router.get("/reconciliation", response_model=ReconciliationRead, summary="渠道日对账")
def reconciliation(
    session: SessionDep,
    _actor: Annotated[Actor, require(Permission.BILLING_RECONCILE)],
    day: DayQuery,
    channel: Channel,
) -> ReconciliationRead:
    """List the differences between our ledger and the channel's statement for a business day."""
    rows = billing.reconcile_day(session, channel, day)
    return ReconciliationRead(
        channel=channel,
        date=day.isoformat(),
        mismatches=[MismatchRead(**m.__dict__, label=m.label) for m in rows],
    )


@router.post(
    "/visits", response_model=EncounterRead, summary="接诊：凭当日有效挂号开始或继续就诊（含记账挂号费）"
)
def open_visit(body: VisitCreate, session: SessionDep, actor: CurrentActor) -> EncounterRead:
    encounter = billing.open_visit(
        session, actor, patient_id=body.patient_id, department_id=body.department_id
    )
    return outpatient.encounter_read(session, encounter)


@router.post(
    "/encounters/{encounter_id}/orders",
    response_model=CreditOrderRead,
    status_code=201,
    summary="开立医嘱并计费（先诊疗后付费）",
)
def order_with_credit(
    encounter_id: IdPath, body: CreditOrderCreate, session: SessionDep, actor: CurrentActor
) -> CreditOrderRead:
    """Place an order and charge it on credit when the patient is eligible; else it must be paid first."""
    order, charge, reason = billing.order_with_credit(
        session, actor, encounter_id, body.item_code, body.quantity
    )
    return CreditOrderRead(
        order_id=order.id,
        order_status=order.status,
        charge=ChargeRead.model_validate(charge),
        credit_refused_reason=reason,
    )


@router.get("/encounters/{encounter_id}/bill", response_model=RunningBill, summary="当日费用清单")
def running_bill(
    encounter_id: IdPath, session: SessionDep, actor: CurrentActor, day: OptionalDayQuery = None
) -> RunningBill:
    """The encounter-day's running bill, for the patient, family payer, doctor or cashier."""
    billing.check_bill_access(session, actor, encounter_id)
    when = day or business_date()
    charges = billing.running_bill(session, encounter_id, when)
    done = billing.settlement_of(session, encounter_id, when)
    return RunningBill(
        encounter_id=encounter_id,
        charges=[ChargeRead.model_validate(c) for c in charges],
        total=sum(c.amount for c in charges),
        held_on_credit=sum(c.hold for c in charges if c.status == ChargeStatus.OPEN),
        settlement=SettlementRead.model_validate(done) if done else None,
    )


@router.post("/encounters/{encounter_id}/settle", response_model=SettlementRead, summary="结算（一日一结）")
def settle(
    encounter_id: IdPath, body: SettleRequest, session: SessionDep, actor: CurrentActor
) -> SettlementRead:
    """Settle the encounter's day once; a retry with the same key returns the same settlement."""
    billing.check_bill_access(session, actor, encounter_id)
    done = billing.settle(
        session,
        encounter_id=encounter_id,
        day=business_date(),
        channel=body.channel,
        idempotency_key=body.idempotency_key,
        use_personal_account=body.use_personal_account,
        mutual_aid_from=body.mutual_aid_from,
        cash_payer_id=body.cash_payer_id,
        payer_ref=body.payer_ref,
    )
    return SettlementRead.model_validate(done)


@router.post(
    "/orders/{order_id}/cancel",
    response_model=SettlementRead | None,
    summary="撤销医嘱（已结算则冲正并重新结算）",
)
def cancel_order(
    order_id: IdPath, body: CancelOrder, session: SessionDep, actor: CurrentActor
) -> SettlementRead | None:
    """Cancel an unperformed order; if its day was settled, the difference is refunded by re-settling."""
    done = billing.cancel_order(session, actor, order_id, body.reason)
    return SettlementRead.model_validate(done) if done else None


@router.post("/settlements/{settlement_id}/reverse", response_model=SettlementRead, summary="冲正结算")
def reverse(
    settlement_id: IdPath,
    body: CancelOrder,
    session: SessionDep,
    _actor: Annotated[Actor, require(Permission.BILLING_CASHIER)],
) -> SettlementRead:
    """Reverse a settlement: cash refunded, accounts restored, charges reopened for a new settlement."""
    if not _actor.serves(billing.institution_of_settlement(session, settlement_id)):
        raise Forbidden("只能冲正本机构的结算")
    return SettlementRead.model_validate(billing.reverse(session, settlement_id, reason=body.reason))


@router.get("/patients/{patient_id}/arrears", response_model=list[ArrearRead], summary="患者未结清的欠费")
def arrears(patient_id: IdPath, session: SessionDep, actor: CurrentActor) -> list[ArrearRead]:
    """The patient's own unpaid arrears, or a patient's for staff who may read the patient."""
    if actor.patient_id != patient_id:
        registry.get_patient(session, actor, patient_id, reason="查看欠费")
    return [ArrearRead.model_validate(a) for a in billing.arrears_of(session, patient_id)]


@router.post("/arrears/{arrear_id}/pay", response_model=ArrearRead, summary="欠费补缴（恢复信用就医）")
def pay_arrear(
    arrear_id: IdPath,
    body: ArrearPay,
    session: SessionDep,
    actor: CurrentActor,
    idempotency_key: Annotated[str, Header(min_length=8, max_length=64)],
) -> ArrearRead:
    """The patient pays on the phone, or a cashier at the counter; a retry with the same key pays once."""
    owner = billing.arrear_owner(session, arrear_id)
    if actor.patient_id is not None:
        if actor.patient_id != owner:
            raise Forbidden("只能补缴本人的欠费")
        paid = billing.pay_arrear(
            session,
            arrear_id,
            channel=body.channel,
            idempotency_key=idempotency_key,
            payer_ref=body.payer_ref,
        )
    else:
        paid = billing.pay_arrear_at_counter(
            session, actor, arrear_id, channel=body.channel, idempotency_key=idempotency_key
        )
    return ArrearRead.model_validate(paid)


def _policy_read(institution_id: int, p: CreditPolicyValues) -> CreditPolicyRead:
    return CreditPolicyRead(
        institution_id=institution_id,
        enabled=p.enabled,
        daily_limit=p.daily_limit,
        excluded_clinic_types=sorted(p.excluded_clinic_types),
        excluded_item_codes=sorted(p.excluded_item_codes),
        suspend_after_days=p.suspend_after_days,
        reminder_days=sorted(p.reminder_days),
    )


@router.get("/credit-policies/{institution_id}", response_model=CreditPolicyRead, summary="先诊疗后付费政策")
def get_credit_policy(institution_id: IdPath, session: SessionDep, actor: CurrentActor) -> CreditPolicyRead:
    """The institution's credit policy (the defaults until one is set), for its cashiers and admins."""
    return _policy_read(institution_id, billing.credit_policy_for(session, actor, institution_id))


@router.put(
    "/credit-policies/{institution_id}", response_model=CreditPolicyRead, summary="修改先诊疗后付费政策"
)
def put_credit_policy(
    institution_id: IdPath,
    body: CreditPolicyUpdate,
    session: SessionDep,
    actor: Annotated[Actor, require(Permission.BILLING_POLICY)],
) -> CreditPolicyRead:
    """Change the fields given; every problem is reported and nothing is stored when one is wrong."""
    values = body.model_dump(exclude_none=True)
    return _policy_read(institution_id, billing.set_credit_policy(session, actor, institution_id, **values))


@router.get("/credit-dashboard", response_model=CreditDashboardRead, summary="信用就医看板")
def credit_dashboard(
    session: SessionDep,
    actor: CurrentActor,
    institution_id: IdQuery,
    start: OptionalDayQuery = None,
    end: OptionalDayQuery = None,
) -> CreditDashboardRead:
    """Credit visits, beneficiaries, amounts, how they were settled, arrears by age (default: 30 days)."""
    last = end or business_date()
    first = start or last - timedelta(days=29)
    d = billing.credit_dashboard(session, actor, institution_id, first, last)
    return CreditDashboardRead(
        **{k: v for k, v in asdict(d).items() if k not in ("start", "end", "buckets", "open_arrears")},
        start=d.start.isoformat(),
        end=d.end.isoformat(),
        buckets=[ArrearsBucketRead(**asdict(b)) for b in d.buckets],
        open_arrears=[
            OpenArrearRead(
                **{k: v for k, v in asdict(a).items() if k not in ("opened_on", "reminders_sent")},
                opened_on=a.opened_on.isoformat(),
                reminders_sent=list(a.reminders_sent),
            )
            for a in d.open_arrears
        ],
    )
