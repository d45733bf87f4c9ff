"""Credit care (先诊疗后付费) and the one settlement per encounter-day.

Ordering: billing places the order through outpatient, estimates the patient's own share of it with
the insurance split, and holds that share on the credit line if the patient is eligible and the
daily limit allows; otherwise the order waits to be paid before it is performed.

Settlement: all open charges of an encounter-day are split once — insurance fund, personal account,
a relative's account by mutual aid (共济, with the relative's consent), and cash through a channel,
paid by the patient or a family payer (亲情付). A retry returns the same settlement. At 23:00 the
day job settles what is left through each patient's signed channel; a failed debit becomes arrears.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import date, time, timedelta
from typing import Any

from sqlalchemy.orm import Session

from yilian.billing import repository as repo
from yilian.billing.domain import (
    BucketTotal,
    Channel,
    ChargeStatus,
    CreditDashboard,
    CreditPolicyValues,
    CreditStanding,
    OpenArrear,
    PaymentStatus,
    SettlementMode,
    SettlementStatus,
    arrears_age_buckets,
    credit_policy_problems,
    credit_refusal,
    hold_fits,
)
from yilian.billing.errors import (
    InvalidCreditPolicy,
    NothingToSettle,
    SettlementRefused,
)
from yilian.billing.models import Arrear, Charge, CreditPolicy, PaymentAgreement, Settlement
from yilian.billing.service import payments
from yilian.catalog import service as catalog
from yilian.insurance import policy_service as insurance
from yilian.insurance.audit import service as audit
from yilian.insurance.audit.domain import ClaimLine
from yilian.insurance.audit.service import FindingView
from yilian.insurance.domain import Accounts, BillLine, Split, YearToDate, split_bill
from yilian.kit import events
from yilian.kit.access_log import record_access
from yilian.kit.auth.domain import Actor, Permission
from yilian.kit.clock import age_on, business_date, local_datetime, utcnow
from yilian.kit.errors import Forbidden, InvalidInput, found
from yilian.outpatient import rx_service
from yilian.outpatient import service as outpatient
from yilian.outpatient.domain import OrderStatus
from yilian.outpatient.schemas import EncounterCreate
from yilian.registry import service as registry
from yilian.registry.domain import ConsentScope
from yilian.results import service as results
from yilian.results.service import CheckOutcome
from yilian.scheduling import service as scheduling
from yilian.scheduling.domain import CLINIC_TYPE_LABELS

VISIT_TYPE = "outpatient"
# Claim-line ids of the platform's own orders live above imported claim files' ids (audit_claim_lines
# is keyed by line id across every source).
ORDER_LINE_BASE = 10**15
DEFAULT_POLICY = CreditPolicyValues(
    enabled=True,
    daily_limit=100_000,
    excluded_clinic_types=frozenset({"special"}),  # 特需门诊 (scheduling.domain.ClinicType.SPECIAL)
    excluded_item_codes=frozenset(),
    suspend_after_days=10,
    reminder_days=(1, 3, 7),
)


def credit_policy(session: Session, institution_id: int) -> CreditPolicyValues:
    """Return an institution's credit policy (the defaults until one is configured)."""
    row = session.get(CreditPolicy, institution_id)
    if row is None:
        return DEFAULT_POLICY
    return CreditPolicyValues(
        enabled=row.enabled,
        daily_limit=row.daily_limit,
        excluded_clinic_types=frozenset(row.excluded_clinic_types or ()),
        excluded_item_codes=frozenset(row.excluded_item_codes or ()),
        suspend_after_days=row.suspend_after_days,
        reminder_days=tuple(row.reminder_days or ()),
    )


# Arrears kept by areas above billing (the inpatient discharge settlement of a patient admitted
# without deposit) count for the credit standing exactly as billing's own: each registered source
# returns a patient's unpaid arrears as (amount in fen, the day they were opened).
ArrearsSource = Callable[[Session, int], list[tuple[int, date]]]
_ARREARS_SOURCES: dict[str, ArrearsSource] = {}


def register_arrears_source(name: str, source: ArrearsSource) -> None:
    """Let an area above billing add its unpaid arrears to the credit standing (先诊疗后付费 and
    免押金住院 are suspended by them the same way); registering a name again replaces it."""
    _ARREARS_SOURCES[name] = source


def other_arrears(session: Session, patient_id: int) -> list[tuple[int, date]]:
    """The patient's unpaid arrears kept outside billing's table, from every registered source."""
    return [item for source in _ARREARS_SOURCES.values() for item in source(session, patient_id)]


def _unpaid_arrears(session: Session, patient_id: int) -> list[Arrear]:
    return list(repo.unpaid_arrears_of(session, patient_id))


def standing(session: Session, patient_id: int, policy: CreditPolicyValues, today: date) -> CreditStanding:
    """Return what credit eligibility depends on; suspension is derived from arrears' age."""
    patient = registry.find_patient(session, patient_id)
    arrears = [(a.amount, a.opened_on) for a in _unpaid_arrears(session, patient_id)]
    arrears += other_arrears(session, patient_id)
    signed = repo.signed_agreement_id(session, patient_id)
    return CreditStanding(
        real_name_verified=patient.real_name_verified,
        insured=patient.insurance_scheme != "self_pay",
        has_signed_channel=signed is not None,
        unpaid_arrears=sum(amount for amount, _opened in arrears),
        suspended=any((today - opened).days >= policy.suspend_after_days for _amount, opened in arrears),
    )


def refusal_of(
    session: Session, patient_id: int, policy: CreditPolicyValues, clinic_type: str, today: date
) -> str | None:
    """Why the patient may not be treated on credit under ``policy`` today (Chinese), or None."""
    return credit_refusal(policy, standing(session, patient_id, policy, today), clinic_type)


def _require_family_payer(session: Session, patient_id: int, payer_id: int | None) -> None:
    """A relative may pay the patient's cash part (亲情付) only with the patient's consent."""
    if payer_id is None or payer_id == patient_id:
        return
    consent = registry.active_consent(
        session, grantor_id=patient_id, grantee_id=payer_id, scope=ConsentScope.FAMILY_PAY
    )
    if consent is None:
        raise SettlementRefused("该亲属未获得亲情付授权")


def institution_of_settlement(session: Session, settlement_id: int) -> int:
    """Return the institution where a settlement's encounter took place."""
    settlement = found(
        session.get(Settlement, settlement_id), SettlementRefused(f"结算不存在: {settlement_id}")
    )
    return outpatient.find_encounter(session, settlement.encounter_id).institution_id


def sign_agreement(
    session: Session,
    *,
    patient_id: int,
    channel: Channel,
    payer_ref: str,
    payer_patient_id: int | None = None,
) -> PaymentAgreement:
    """Sign a channel for automatic debits; a relative may pay (亲情付, with the patient's consent)."""
    _require_family_payer(session, patient_id, payer_patient_id)
    row = PaymentAgreement(
        patient_id=patient_id,
        payer_patient_id=payer_patient_id,
        channel=channel.value,
        payer_ref=payer_ref,
        signed_at=utcnow(),
    )
    session.add(row)
    session.flush()
    return row


def _split_for(
    session: Session,
    patient_id: int,
    institution_id: int,
    lines: list[BillLine],
    accounts: Accounts,
    day: date,
) -> tuple[registry.Patient, Split]:
    patient = registry.find_patient(session, patient_id)
    institution = registry.get_institution(session, institution_id)
    policy = insurance.policy_for(
        session,
        region_code=patient.insured_region or institution.region_code[:4] + "00",
        scheme=patient.insurance_scheme,
        level=institution.level,
        visit_type=VISIT_TYPE,
        year=day.year,
    )
    ytd = insurance.year_to_date(session, patient_id, day.year, VISIT_TYPE)
    return patient, split_bill(lines, policy, ytd, accounts)


def held_today(session: Session, patient_id: int, day: date) -> int:
    """The patient's open credit holds of ``day`` (fen), across the alliance."""
    return repo.open_hold_of_day(session, patient_id, day)


@dataclass(frozen=True)
class CreditStatus:
    """What the doctor sees beside the orders: may the patient be treated on credit, and how much is left."""

    refusal: str | None
    daily_limit: int
    held: int

    @property
    def left(self) -> int:
        return 0 if self.refusal else max(0, self.daily_limit - self.held)


def credit_status(session: Session, encounter_id: int) -> CreditStatus:
    encounter = outpatient.find_encounter(session, encounter_id)
    today = business_date()
    policy = credit_policy(session, encounter.institution_id)
    refusal = refusal_of(session, encounter.patient_id, policy, encounter.clinic_type, today)
    return CreditStatus(refusal, policy.daily_limit, held_today(session, encounter.patient_id, today))


def order_with_credit(
    session: Session, actor: Actor, encounter_id: int, item_code: str, quantity: int = 1
) -> tuple[outpatient.Order, Charge, str | None]:
    """Place an order and charge it: on credit when eligible and within the limit, else to be paid first.

    Returns the order, its charge and, when credit was not used, the reason (Chinese).
    """
    order = outpatient.place_order(session, actor, encounter_id, item_code, quantity)
    charge, reason = charge_order(session, actor, order)
    return order, charge, reason


def charge_order(session: Session, actor: Actor, order: outpatient.Order) -> tuple[Charge, str | None]:
    """Charge a placed order: on credit when eligible and within the limit, else to be paid first;
    returns the charge and, when credit was not used, the reason (Chinese)."""
    encounter_id = order.encounter_id
    encounter = outpatient.get_encounter(session, actor, encounter_id)
    today = business_date()
    policy = credit_policy(session, encounter.institution_id)
    line = BillLine(order.amount, order.insurance_class, order.self_pay_permille)
    _patient, estimate = _split_for(
        session, encounter.patient_id, encounter.institution_id, [line], Accounts(), today
    )
    reason = refusal_of(session, encounter.patient_id, policy, encounter.clinic_type, today)
    if reason is None and order.item_code in policy.excluded_item_codes:
        reason = "该项目不适用先诊疗后付费，请先缴费"
    held = held_today(session, encounter.patient_id, today)
    if reason is None and not hold_fits(policy, int(held), estimate.patient_share):
        reason = f"超出当日信用额度（{policy.daily_limit // 100} 元），请先缴费后执行"
    on_credit = reason is None
    charge = Charge(
        order_id=order.id,
        encounter_id=encounter.id,
        patient_id=encounter.patient_id,
        business_date=today,
        amount=order.amount,
        hold=estimate.patient_share if on_credit else 0,
        insurance_class=order.insurance_class,
        self_pay_permille=order.self_pay_permille,
        on_credit=on_credit,
        status=ChargeStatus.OPEN.value,
        created_at=utcnow(),
    )
    session.add(charge)
    session.flush()
    if on_credit:
        outpatient.mark_charged(session, order.id)
    return charge, reason


# ---------------------------------------------------------------- registration fee on credit (记账挂号)

REGISTRATION_FEE_CLASS = "甲"  # 诊察费 is a class-甲 service item


def ensure_registration_charge(session: Session, encounter_id: int) -> Charge | None:
    """Put a credit registration's fee on its encounter's bill for the registration day (idempotent)."""
    encounter = outpatient.find_encounter(session, encounter_id)
    if encounter.registration_id is None:
        return None
    booking = scheduling.find_booking(session, encounter.registration_id)
    if booking.payment_state != "credit" or booking.fee_fen <= 0:
        return None
    existing = repo.charge_of_booking(session, booking.id)
    if existing is not None:
        return existing
    charge = Charge(
        order_id=None,
        booking_id=booking.id,
        encounter_id=encounter.id,
        patient_id=encounter.patient_id,
        business_date=booking.day,
        amount=booking.fee_fen,
        hold=booking.fee_fen,
        insurance_class=REGISTRATION_FEE_CLASS,
        self_pay_permille=0,
        on_credit=True,
        status=ChargeStatus.OPEN.value,
        created_at=utcnow(),
    )
    session.add(charge)
    session.flush()
    return charge


def open_visit(
    session: Session, actor: Actor, *, patient_id: int, department_id: int
) -> outpatient.Encounter:
    """The doctor starts (or continues) a visit: from the patient's registration valid today in the
    department when there is one (一号管三天 included), with a credit registration fee on the bill."""
    today = business_date()
    department = registry.get_department(session, department_id)
    if not actor.has(Permission.ENCOUNTER_WRITE) or department.institution_id != actor.institution_id:
        raise Forbidden("只能由本机构的医生在本机构的科室接诊")
    for encounter in outpatient.open_encounters_of(session, patient_id, department.institution_id, today):
        if encounter.department_id == department_id:
            return encounter
    registration = scheduling.active_registration(session, patient_id, department_id, today)
    encounter = outpatient.open_encounter(
        session,
        actor,
        EncounterCreate(
            patient_id=patient_id,
            department_id=department_id,
            registration_id=registration.id if registration is not None else None,
        ),
    )
    ensure_registration_charge(session, encounter.id)
    return encounter


@events.subscribe("outpatient.encounter_opened")
def _charge_registration_fee(session: Session, event: events.Event) -> None:
    """An encounter opened through the outpatient API still gets its credit registration fee."""
    ensure_registration_charge(session, int(event.payload["encounter_id"]))


def running_bill(session: Session, encounter_id: int, day: date) -> list[Charge]:
    """Return the encounter-day's charges (the patient's running bill)."""
    return list(repo.charges_of_day(session, encounter_id, day))


def estimate(session: Session, encounter_id: int, day: date) -> Split | None:
    """What settling the encounter-day now would take (total, the fund's part, the patient's own share),
    before any account is chosen; None when nothing is open. Stores nothing."""
    charges = [c for c in running_bill(session, encounter_id, day) if c.status == ChargeStatus.OPEN]
    if not charges:
        return None
    institution_id = outpatient.find_encounter(session, encounter_id).institution_id
    lines = [BillLine(c.amount, c.insurance_class, c.self_pay_permille) for c in charges]
    return _split_for(session, charges[0].patient_id, institution_id, lines, Accounts(), day)[1]


def settle(
    session: Session,
    *,
    encounter_id: int,
    day: date,
    channel: Channel,
    idempotency_key: str,
    use_personal_account: bool = False,
    mutual_aid_from: int | None = None,
    cash_payer_id: int | None = None,
    payer_ref: str = "",
    mode: SettlementMode | str = SettlementMode.SELF,
) -> Settlement:
    """Settle the open charges of an encounter-day. A second call with nothing new open returns the
    standing settlement (nothing is paid twice); charges added after a settlement on the same day (a
    prescription written after the patient paid for a test) are settled by a further attempt (补充结算);
    after a reversal (冲正) the next call settles again as a new attempt. ``mode``: a ``SettlementMode``
    or its value."""
    mode = SettlementMode(mode)
    existing = settlement_of(session, encounter_id, day)
    if existing is None:
        ensure_registration_charge(session, encounter_id)
    attempt = 1 + repo.last_attempt(session, encounter_id, day)
    charges = list(repo.open_charges_of_day(session, encounter_id, day, for_update=True))
    unreviewed = rx_service.orders_awaiting_review(
        session, [c.order_id for c in charges if c.order_id is not None]
    )
    charges = [
        c for c in charges if c.order_id not in unreviewed
    ]  # 先审方后缴费: a prescription pays once passed
    if not charges and existing is not None:
        return existing  # a retry, or nothing new since the standing settlement
    if not charges:
        if unreviewed:
            raise NothingToSettle("处方尚待药师审核，审方通过后才能缴费")
        raise NothingToSettle("该次就诊当日没有待结算的费用")
    patient_id = charges[0].patient_id
    institution_id = outpatient.find_encounter(session, encounter_id).institution_id
    personal_balance = insurance.account_balance(session, patient_id) if use_personal_account else 0
    mutual_balance = 0
    if mutual_aid_from is not None:
        if (
            registry.active_consent(
                session, grantor_id=mutual_aid_from, grantee_id=patient_id, scope=ConsentScope.MUTUAL_AID
            )
            is None
        ):
            raise SettlementRefused("该亲属未授权共济支付")
        mutual_balance = insurance.account_balance(session, mutual_aid_from)
    _require_family_payer(session, patient_id, cash_payer_id)
    lines = [BillLine(c.amount, c.insurance_class, c.self_pay_permille) for c in charges]
    _patient, split = _split_for(
        session,
        patient_id,
        institution_id,
        lines,
        Accounts(
            personal_balance=personal_balance,
            use_personal=use_personal_account,
            mutual_aid_balance=mutual_balance,
        ),
        day,
    )
    settlement = Settlement(
        encounter_id=encounter_id,
        patient_id=patient_id,
        business_date=day,
        attempt=attempt,
        total=split.total,
        fund=split.fund,
        personal_account=split.personal_account,
        mutual_aid=split.mutual_aid,
        mutual_aid_from=mutual_aid_from if split.mutual_aid else None,
        cash=split.cash,
        cash_channel=channel.value if split.cash else "",
        cash_payer_id=cash_payer_id,
        mode=mode.value,
        status=SettlementStatus.SETTLED.value,
        breakdown={k: v for k, v in asdict(split).items() if k != "after"},
        options={
            "channel": channel.value,
            "use_personal_account": use_personal_account,
            "mutual_aid_from": mutual_aid_from,
            "cash_payer_id": cash_payer_id,
            "payer_ref": payer_ref,
        },
        created_at=utcnow(),
    )
    session.add(settlement)
    session.flush()
    insurance.debit_account(session, patient_id, split.personal_account)
    if mutual_aid_from is not None:
        insurance.debit_account(session, mutual_aid_from, split.mutual_aid)
    insurance.record_year(session, patient_id, day.year, VISIT_TYPE, split.after)
    if split.cash:
        payment = payments.pay(
            session,
            reference=f"settlement:{settlement.id}",
            amount=split.cash,
            channel=channel,
            idempotency_key=idempotency_key,
            patient_id=patient_id,
            payer_patient_id=cash_payer_id,
            payer_ref=payer_ref,
        )
        settlement.payment_id = payment.id
        if mode == SettlementMode.SELF:
            payments.require_succeeded(payment)  # the patient is told; the 23:00 debit opens arrears
        if payment.status != PaymentStatus.SUCCEEDED:
            settlement.status = SettlementStatus.ARREARS.value
            session.add(
                Arrear(
                    settlement_id=settlement.id,
                    patient_id=patient_id,
                    amount=split.cash,
                    opened_on=day,
                    reminders_sent=[],
                )
            )
            events.emit(session, "billing.arrears_opened", {"patient_id": patient_id, "amount": split.cash})
    for charge in charges:
        charge.status = ChargeStatus.SETTLED.value
        charge.settlement_id = settlement.id
        if (
            charge.order_id is not None
            and not charge.on_credit
            and outpatient.find_order(session, charge.order_id).status == OrderStatus.PLACED
        ):
            outpatient.mark_charged(session, charge.order_id)  # paid now: it may be performed
    session.flush()
    # the settled bill goes to the post-event audit (事后审核) store
    settled_orders = {c.order_id for c in charges if c.order_id is not None}  # a visit may span settlements
    audit.store_lines(
        session,
        _claim_lines(session, encounter_id, only_orders=settled_orders),
        source=f"settlement:{settlement.id}",
    )
    events.emit(
        session,
        "billing.settled",
        {"settlement_id": settlement.id, "encounter_id": encounter_id, "status": settlement.status},
    )
    return settlement


def settlement_of(session: Session, encounter_id: int, day: date) -> Settlement | None:
    """Return the encounter-day's latest standing (not reversed) settlement, if any (a day may have a
    further settlement for charges added after the first)."""
    return repo.standing_settlement(session, encounter_id, day)


def reverse(session: Session, settlement_id: int, *, reason: str) -> Settlement:
    """Reverse a settlement (冲正): refund its cash, give back the accounts and the year's use, and
    reopen its charges so they can be settled again. Reversing twice changes nothing."""
    s = found(
        session.get(Settlement, settlement_id, with_for_update=True),
        SettlementRefused(f"结算不存在: {settlement_id}"),
    )
    if s.status == SettlementStatus.REVERSED:
        return s
    if s.status == SettlementStatus.ARREARS:
        raise SettlementRefused("欠费结算请先缴清，不能冲正")
    if s.payment_id is not None and s.cash:
        payments.refund(
            session, payment_id=s.payment_id, amount=s.cash, idempotency_key=f"reverse:{s.id}", reason=reason
        )
    insurance.credit_account(session, s.patient_id, s.personal_account)
    if s.mutual_aid_from is not None:
        insurance.credit_account(session, s.mutual_aid_from, s.mutual_aid)
    ytd = insurance.year_to_date(session, s.patient_id, s.business_date.year, VISIT_TYPE)
    insurance.record_year(
        session,
        s.patient_id,
        s.business_date.year,
        VISIT_TYPE,
        YearToDate(
            deductible_used=ytd.deductible_used - int(s.breakdown.get("deductible", 0)),
            fund_paid=ytd.fund_paid - s.fund,
        ),
    )
    for charge in repo.charges_of_settlement(session, s.id):
        charge.status, charge.settlement_id = ChargeStatus.OPEN.value, None
    audit.withdraw_lines(session, f"settlement:{s.id}")  # a reversed bill is not audited
    s.status, s.reversed_at = SettlementStatus.REVERSED.value, utcnow()
    session.flush()
    events.emit(session, "billing.settlement_reversed", {"settlement_id": s.id, "reason": reason[:100]})
    return s


def cancel_order(session: Session, actor: Actor, order_id: int, reason: str) -> Settlement | None:
    """Cancel an order (撤销). If it was charged but not performed and its day was already settled,
    reverse that settlement and settle the rest again with the same choices, so the difference is
    refunded. Returns the new settlement, if one was made."""
    order, _refund_due = outpatient.cancel(session, actor, order_id, reason)
    charge = repo.charge_of_order(session, order.id)
    if charge is None:
        return None
    return _take_off_bill(session, charge, ChargeStatus.VOID, f"撤销医嘱 {order.item_name}：{reason}")


def withdraw_charge(session: Session, order_id: int, reason: str) -> tuple[Charge | None, Settlement | None]:
    """Take an order's charge off its outpatient bill because another bill takes it over (pre-admission
    tests moving into the inpatient bill, 预住院): like a cancelled order, a settled day is reversed and
    the rest settled again the same way, so the patient gets the difference back. The order itself
    stands. Returns the charge (status ``moved``; None when the order has none or it already moved)
    and the new settlement, if one was made."""
    charge = repo.charge_of_order(session, order_id, for_update=True)
    if charge is None or charge.status in (ChargeStatus.MOVED, ChargeStatus.VOID):
        return None, None
    return charge, _take_off_bill(session, charge, ChargeStatus.MOVED, reason)


def _take_off_bill(session: Session, charge: Charge, status: ChargeStatus, reason: str) -> Settlement | None:
    """Mark a charge ``status``; when its day was settled, reverse and re-settle the rest."""
    settled_id = charge.settlement_id
    if settled_id is None:
        charge.status = status.value
        session.flush()
        return None
    old = reverse(session, settled_id, reason=reason)
    charge.status = status.value
    session.flush()
    remaining = repo.any_open_charge(session, old.encounter_id, old.business_date)
    if remaining is None:
        return None
    opts = old.options or {}
    return settle(
        session,
        encounter_id=old.encounter_id,
        day=old.business_date,
        channel=Channel(opts.get("channel", Channel.CASH.value)),
        idempotency_key=f"resettle:{old.id}",
        use_personal_account=bool(opts.get("use_personal_account")),
        mutual_aid_from=opts.get("mutual_aid_from"),
        cash_payer_id=opts.get("cash_payer_id"),
        payer_ref=str(opts.get("payer_ref", "")),
        mode=old.mode,
    )


def check_bill_access(session: Session, actor: Actor, encounter_id: int) -> None:
    """The patient, a family member with the 费用 or 亲情付 consent, or staff who may read the patient."""
    encounter = outpatient.find_encounter(session, encounter_id)
    if actor.patient_id is not None and actor.patient_id != encounter.patient_id:
        for scope in (ConsentScope.COMPANION_BILLS, ConsentScope.FAMILY_PAY):
            if registry.active_consent(
                session, grantor_id=encounter.patient_id, grantee_id=actor.patient_id, scope=scope
            ):
                return
        raise Forbidden("没有查看该账单的授权")
    if actor.is_staff and not actor.serves(encounter.institution_id):
        raise Forbidden("只能查看本机构的账单")
    registry.get_patient(session, actor, encounter.patient_id, reason=f"查看账单 {encounter_id}")


def encounters_with_charges(session: Session, patient_id: int, day: date) -> list[int]:
    """Encounters of a patient with charges on ``day``."""
    return repo.charged_encounters(session, patient_id, day)


def settlements_of_day(session: Session, institution_id: int, day: date) -> list[Settlement]:
    """An institution's settlements of a day, newest first (the cashier's list)."""
    encounter_ids = outpatient.encounter_ids_of_institution(session, institution_id, day)
    if not encounter_ids:
        return []
    return list(repo.settlements_of_encounters(session, encounter_ids, day))


def payers_for(session: Session, patient_id: int) -> dict[str, list[tuple[int, str]]]:
    """Relatives who may pay for the patient: by mutual aid (共济) and as family payer (亲情付)."""
    out: dict[str, list[tuple[int, str]]] = {"mutual_aid": [], "family_pay": []}
    for rel in registry.relation_reads(session, patient_id):
        if registry.active_consent(
            session, grantor_id=rel.relative_id, grantee_id=patient_id, scope=ConsentScope.MUTUAL_AID
        ):
            out["mutual_aid"].append((rel.relative_id, f"{rel.relative_name}（{rel.relation_label}）"))
        if registry.active_consent(
            session, grantor_id=patient_id, grantee_id=rel.relative_id, scope=ConsentScope.FAMILY_PAY
        ):
            out["family_pay"].append((rel.relative_id, f"{rel.relative_name}（{rel.relation_label}）"))
    return out


def pay_arrear(
    session: Session, arrear_id: int, *, channel: Channel, idempotency_key: str, payer_ref: str = ""
) -> Arrear:
    """Pay an arrear (欠费补缴); credit is restored at once because suspension derives from unpaid arrears."""
    arrear = found(
        session.get(Arrear, arrear_id, with_for_update=True),
        SettlementRefused(f"欠费记录不存在: {arrear_id}"),
    )
    if arrear.paid_at is not None:
        return arrear
    payment = payments.pay(
        session,
        reference=f"arrear:{arrear.id}",
        amount=arrear.amount,
        channel=channel,
        idempotency_key=idempotency_key,
        patient_id=arrear.patient_id,
        payer_ref=payer_ref,
    )
    payments.require_succeeded(payment)
    arrear.paid_at, arrear.payment_id = utcnow(), payment.id
    settled = session.get(Settlement, arrear.settlement_id)
    if settled is not None:
        settled.status = SettlementStatus.SETTLED.value
    session.flush()
    events.emit(session, "billing.arrears_paid", {"arrear_id": arrear.id, "patient_id": arrear.patient_id})
    return arrear


def open_arrears(session: Session) -> list[Arrear]:
    """Every unpaid arrear, oldest first."""
    return list(repo.unpaid_arrears(session))


def arrear_owner(session: Session, arrear_id: int) -> int:
    arrear = found(session.get(Arrear, arrear_id), SettlementRefused(f"欠费记录不存在: {arrear_id}"))
    return arrear.patient_id


def arrears_of(session: Session, patient_id: int) -> list[Arrear]:
    """A patient's unpaid arrears."""
    return _unpaid_arrears(session, patient_id)


def recognition_check(
    session: Session, actor: Actor, encounter_id: int, item_code: str
) -> CheckOutcome | None:
    """Before a lab or exam order: the earlier results that can stand in for it (重复开单提醒), or None
    when the item is not recognisable (no regional equivalent) or nothing qualifies."""
    encounter = outpatient.find_encounter(session, encounter_id)
    regional = results.regional_item_for(session, encounter.institution_id, item_code)
    if regional is None:
        return None
    outcome = results.check_recognition(
        session,
        actor,
        patient_id=encounter.patient_id,
        institution_id=encounter.institution_id,
        item_code=regional,
        department_id=encounter.department_id,
        practitioner_id=encounter.practitioner_id,
    )
    return outcome if outcome.candidates else None


@dataclass(frozen=True)
class BillOf:
    """What every claim line of an outpatient visit's bill shares (for the post-event audit store)."""

    encounter_id: int
    mpi_id: str
    sex: str
    birth_date: date
    scheme: str
    level: int
    diagnosis: str
    department: str  # qualified by the institution's code
    day: date

    def line(self, line_id: int, code: str, qty: int, price: int) -> ClaimLine:
        return ClaimLine(
            line_id=line_id,
            claim_id=f"E{self.encounter_id}",
            patient_id=self.mpi_id,
            sex="M" if self.sex == "1" else "F",
            age=age_on(self.birth_date, self.day),
            scheme=self.scheme,
            level=max(1, self.level),
            setting="outpatient",
            diagnosis=self.diagnosis,
            admit_date=self.day,
            discharge_date=self.day,
            service_date=self.day,
            item_code=code,
            quantity=qty,
            unit_price=price,
            amount=price * qty,
            department=self.department,
        )


def _claim_lines(
    session: Session,
    encounter_id: int,
    extra: tuple[str, int, int] | None = None,
    only_orders: set[int] | None = None,
) -> list[ClaimLine]:
    """The visit's bill as claim lines for the insurance audit (orders not cancelled; ``extra`` is an
    order being placed, given as line 0; ``only_orders`` keeps the orders of one settlement)."""
    encounter = outpatient.find_encounter(session, encounter_id)
    patient = registry.find_patient(session, encounter.patient_id)
    institution = registry.get_institution(session, encounter.institution_id)
    visit = outpatient.encounter_read(session, encounter)
    primary = next((d.code for d in visit.diagnoses if d.is_primary), "")
    department = audit.qualified_department(
        institution.code, registry.get_department(session, encounter.department_id).code
    )
    bill = BillOf(
        encounter.id,
        patient.mpi_id,
        patient.sex,
        patient.birth_date,
        patient.insurance_scheme,
        institution.level,
        primary,
        department,
        encounter.business_date,
    )
    line = bill.line

    lines = [
        line(ORDER_LINE_BASE + o.id, o.item_code, o.quantity, o.unit_price)
        for o in visit.orders
        if o.status != OrderStatus.CANCELLED and (only_orders is None or o.id in only_orders)
    ]
    if extra is not None:
        lines.append(line(0, *extra))
    return lines


def audit_precheck(
    session: Session, actor: Actor, encounter_id: int, item_code: str, quantity: int = 1
) -> list[FindingView]:
    """Before an order is placed (事前): the smart insurance audit of the visit's bill with the new line.

    Returns the findings that involve the new line (shown as warnings in order entry)."""
    item = catalog.get_item(session, item_code)
    lines = _claim_lines(session, encounter_id, (item.code, quantity, item.price_fen))
    return [f for f in audit.precheck_for(session, actor, lines) if 0 in f.lines]


# ---------------------------------------------------------------- credit policy and dashboard, the counter

CREDIT_POLICY_FIELDS = (
    "enabled",
    "daily_limit",
    "excluded_clinic_types",
    "excluded_item_codes",
    "suspend_after_days",
    "reminder_days",
)


def _require_institution_scope(actor: Actor, institution_id: int, what: str) -> None:
    """Staff see their own institution; holders of the policy permission (administrators) see any."""
    if actor.has(Permission.BILLING_POLICY):
        return
    if not actor.has(Permission.BILLING_CASHIER):
        raise Forbidden(f"当前角色（{actor.role.label}）不能查看{what}")
    if actor.institution_id != institution_id:
        raise Forbidden(f"只能查看本机构的{what}")


def credit_policy_for(session: Session, actor: Actor, institution_id: int) -> CreditPolicyValues:
    """Return an institution's credit policy to staff who may see it."""
    _require_institution_scope(actor, institution_id, "先诊疗后付费政策")
    registry.get_institution(session, institution_id)
    return credit_policy(session, institution_id)


def _checked_policy_values(current: CreditPolicyValues, values: dict[str, Any]) -> CreditPolicyValues:
    unknown = sorted(set(values) - set(CREDIT_POLICY_FIELDS))
    if unknown:
        raise InvalidCreditPolicy(f"未知的政策字段：{'、'.join(unknown)}")
    merged = {**asdict(current), **values}

    def ints(name: str) -> list[int]:
        raw = merged[name]
        if not isinstance(raw, list | tuple | set | frozenset) or any(
            isinstance(v, bool) or not isinstance(v, int) for v in raw
        ):
            raise InvalidCreditPolicy(f"{name} 应为整数列表")
        return list(raw)

    def strings(name: str) -> list[str]:
        raw = merged[name]
        if not isinstance(raw, list | tuple | set | frozenset) or any(not isinstance(v, str) for v in raw):
            raise InvalidCreditPolicy(f"{name} 应为字符串列表")
        return [v.strip() for v in raw]

    def integer(name: str) -> int:
        raw = merged[name]
        if isinstance(raw, bool) or not isinstance(raw, int):
            raise InvalidCreditPolicy(f"{name} 应为整数")
        return raw

    if not isinstance(merged["enabled"], bool):
        raise InvalidCreditPolicy("enabled 应为 true 或 false")
    return CreditPolicyValues(
        enabled=merged["enabled"],
        daily_limit=integer("daily_limit"),
        excluded_clinic_types=frozenset(strings("excluded_clinic_types")),
        excluded_item_codes=frozenset(strings("excluded_item_codes")),
        suspend_after_days=integer("suspend_after_days"),
        reminder_days=tuple(ints("reminder_days")),
    )


def set_credit_policy(
    session: Session, actor: Actor, institution_id: int, **values: Any
) -> CreditPolicyValues:
    """Change an institution's credit policy (fields not given keep their value); refused with every
    problem listed when a value is not acceptable, and then nothing is stored. Audited."""
    if not actor.has(Permission.BILLING_POLICY):
        raise Forbidden(f"当前角色（{actor.role.label}）不能修改先诊疗后付费政策")
    institution = registry.get_institution(session, institution_id)
    current = credit_policy(session, institution_id)
    new = _checked_policy_values(current, values)
    problems = credit_policy_problems(new, frozenset(CLINIC_TYPE_LABELS))
    missing = sorted(
        set(new.excluded_item_codes) - set(catalog.items_by_code(session, list(new.excluded_item_codes)))
    )
    if missing:
        problems.append(f"收费项目不存在：{'、'.join(missing)}")
    if problems:
        raise InvalidCreditPolicy("；".join(problems))
    row = session.get(CreditPolicy, institution_id)
    if row is None:
        row = CreditPolicy(institution_id=institution_id)
        session.add(row)
    row.enabled = new.enabled
    row.daily_limit = new.daily_limit
    row.excluded_clinic_types = sorted(new.excluded_clinic_types)
    row.excluded_item_codes = sorted(new.excluded_item_codes)
    row.suspend_after_days = new.suspend_after_days
    row.reminder_days = sorted(new.reminder_days)
    session.flush()
    changed = [name for name in CREDIT_POLICY_FIELDS if getattr(current, name) != getattr(new, name)]
    record_access(
        session,
        actor,
        action="update",
        resource=f"credit_policies/{institution_id}",
        reason=f"{institution.name} 先诊疗后付费政策：{'、'.join(changed) or '无变化'}",
    )
    events.emit(
        session, "billing.credit_policy_changed", {"institution_id": institution_id, "changed": changed}
    )
    return credit_policy(session, institution_id)


def credit_dashboard(
    session: Session, actor: Actor, institution_id: int, start: date, end: date
) -> CreditDashboard:
    """Credit care at an institution: visits, beneficiaries and amounts on credit in ``[start, end]``,
    how they were settled, arrears recovered in the range, and the arrears open today by age."""
    _require_institution_scope(actor, institution_id, "信用就医看板")
    if end < start:
        raise InvalidInput("结束日期不能早于开始日期")
    if (end - start).days > 366:
        raise InvalidInput("查询区间最长一年")
    registry.get_institution(session, institution_id)
    policy = credit_policy(session, institution_id)
    places = outpatient.encounter_places()
    visits, patients, held, still_open = repo.credit_charge_totals(
        session, places, institution_id, start, end
    )
    counts = repo.credit_settlement_counts(session, places, institution_id, start, end)
    today = business_date()
    buckets = arrears_age_buckets(policy.suspend_after_days)
    totals = {b.label: [0, 0] for b in buckets}
    open_rows: list[OpenArrear] = []
    for arrear in repo.open_arrears_of_institution(session, places, institution_id):
        age = max(0, (today - arrear.opened_on).days)
        bucket = next(b for b in buckets if b.holds(age))
        totals[bucket.label][0] += 1
        totals[bucket.label][1] += arrear.amount
        patient = registry.find_patient(session, arrear.patient_id)
        open_rows.append(
            OpenArrear(
                arrear_id=arrear.id,
                patient_id=patient.id,
                patient_name=patient.name,
                mpi_id=patient.mpi_id,
                opened_on=arrear.opened_on,
                age_days=age,
                amount=arrear.amount,
                reminders_sent=tuple(arrear.reminders_sent or ()),
                suspended=bucket.suspended,
            )
        )
    recovered, recovered_amount = repo.recovered_arrears(
        session,
        places,
        institution_id,
        local_datetime(start, time.min),
        local_datetime(end + timedelta(days=1), time.min),
    )
    record_access(
        session,
        actor,
        action="read",
        resource=f"credit-dashboard/{institution_id}",
        reason=f"信用就医看板 {start.isoformat()}–{end.isoformat()}，欠费 {len(open_rows)} 人次",
    )
    return CreditDashboard(
        institution_id=institution_id,
        start=start,
        end=end,
        credit_visits=visits,
        beneficiaries=patients,
        credit_amount=held,
        open_holds=still_open,
        settled_by_patient=counts.get((SettlementMode.SELF, False), 0)
        + counts.get((SettlementMode.SELF, True), 0),
        settled_automatically=counts.get((SettlementMode.AUTO, False), 0),
        arrears_opened=counts.get((SettlementMode.AUTO, True), 0),
        arrears_open_count=len(open_rows),
        arrears_open_amount=sum(r.amount for r in open_rows),
        buckets=tuple(
            BucketTotal(b.label, totals[b.label][0], totals[b.label][1], b.suspended) for b in buckets
        ),
        recovered_count=recovered,
        recovered_amount=recovered_amount,
        open_arrears=tuple(open_rows),
    )


def _require_counter(session: Session, actor: Actor, institution_id: int) -> None:
    if not actor.has(Permission.BILLING_CASHIER):
        raise Forbidden(f"当前角色（{actor.role.label}）不能在收费窗口办理")
    if actor.institution_id is not None and actor.institution_id != institution_id:
        raise Forbidden("只能办理本机构的结算")


def counter_days(session: Session, actor: Actor, patient_id: int) -> list[tuple[int, date]]:
    """The (encounter, day) pairs a cashier may settle or refund for a patient at the actor's
    institution: days with open charges and today's visits, oldest first. The read is audited."""
    registry.get_patient(session, actor, patient_id, reason="收费窗口查看费用")
    today = business_date()
    days = set(repo.open_charge_days(session, patient_id))
    days |= {(e, today) for e in encounters_with_charges(session, patient_id, today)}
    days |= {
        (s.encounter_id, s.business_date) for s in repo.settlements_of_patient(session, patient_id, today)
    }
    mine = [
        (e, d)
        for e, d in days
        if actor.institution_id is None
        or outpatient.find_encounter(session, e).institution_id == actor.institution_id
    ]
    return sorted(mine, key=lambda p: (p[1], p[0]))


def reverse_at_counter(session: Session, actor: Actor, settlement_id: int, reason: str) -> Settlement:
    """A cashier reverses (冲正) a settlement of the actor's institution, with a reason."""
    if not reason.strip():
        raise SettlementRefused("冲正必须填写原因")
    _require_counter(session, actor, institution_of_settlement(session, settlement_id))
    done = reverse(
        session, settlement_id, reason=f"{actor.display_name or actor.username} 冲正：{reason.strip()}"
    )
    record_access(
        session,
        actor,
        action="update",
        resource=f"settlements/{settlement_id}",
        patient_id=done.patient_id,
        reason=f"冲正：{reason.strip()}",
    )
    return done


@dataclass(frozen=True)
class CounterRefund:
    """A refund at the counter: the order cancelled, the old and new settlement, and what came back."""

    order_id: int
    item_name: str
    old_settlement_id: int
    new_settlement_id: int | None
    refunded_cash: int  # back through the payment channel
    refunded_accounts: int  # back to the personal and mutual-aid accounts
    refunded_fund: int  # returned to the insurance fund


def refund_unperformed_order(session: Session, actor: Actor, order_id: int, reason: str) -> CounterRefund:
    """A cashier refunds a settled order that was not performed (退费): the order is cancelled, the
    day's settlement reversed and the rest settled again the same way (``cancel_order``), so the
    patient gets back the difference. Only charged, unperformed orders of a settled day qualify."""
    if not reason.strip():
        raise SettlementRefused("退费必须填写原因")
    order = outpatient.find_order(session, order_id)
    encounter = outpatient.find_encounter(session, order.encounter_id)
    _require_counter(session, actor, encounter.institution_id)
    if order.status != OrderStatus.CHARGED:
        raise SettlementRefused("只能退未执行的已计费医嘱（已执行或已撤销的不能退费）")
    charge = repo.charge_of_order(session, order.id)
    if charge is None or charge.settlement_id is None:
        raise SettlementRefused("该医嘱所在的就诊日尚未结算，无需退费；请由医生撤销医嘱")
    old = session.get(Settlement, charge.settlement_id)
    assert old is not None
    parts_before = (old.cash, old.personal_account + old.mutual_aid, old.fund)
    new = cancel_order(session, actor, order.id, f"收费处退费：{reason.strip()}")  # ORDER_REFUND
    after = (new.cash, new.personal_account + new.mutual_aid, new.fund) if new else (0, 0, 0)
    record_access(
        session,
        actor,
        action="update",
        resource=f"orders/{order.id}",
        patient_id=encounter.patient_id,
        reason=f"收费处退费：{reason.strip()}",
    )
    return CounterRefund(
        order_id=order.id,
        item_name=order.item_name,
        old_settlement_id=old.id,
        new_settlement_id=new.id if new else None,
        refunded_cash=parts_before[0] - after[0],
        refunded_accounts=parts_before[1] - after[1],
        refunded_fund=parts_before[2] - after[2],
    )


def pay_arrear_at_counter(
    session: Session, actor: Actor, arrear_id: int, *, channel: Channel, idempotency_key: str
) -> Arrear:
    """A cashier takes the payment of an arrear (欠费补缴) at the counter; credit is restored."""
    arrear = found(session.get(Arrear, arrear_id), SettlementRefused(f"欠费记录不存在: {arrear_id}"))
    _require_counter(session, actor, institution_of_settlement(session, arrear.settlement_id))
    return pay_arrear(
        session,
        arrear_id,
        channel=channel,
        idempotency_key=idempotency_key,
        payer_ref=f"counter-{actor.username}",
    )


def settlement_history(session: Session, patient_id: int, encounter_id: int, day: date) -> list[Settlement]:
    """Every settlement attempt of an encounter-day (reversed ones included), oldest first."""
    return [
        s
        for s in reversed(repo.settlements_of_patient(session, patient_id, day))
        if s.encounter_id == encounter_id and s.business_date == day
    ]


@dataclass(frozen=True)
class BillRow:
    """One line of a visit's running bill as the doctor and the patient see it."""

    id: int  # the order's id; a registration fee's charge id negated
    item: str
    quantity: int
    amount: int
    insurance_class: str
    status: str  # Chinese label
    on_credit: bool
    raw_status: str


def bill_rows(session: Session, encounter_id: int) -> list[BillRow]:
    """The visit's running bill of today: the credit registration fee and every order with its charge."""
    bill = running_bill(session, encounter_id, business_date())
    charges = {c.order_id: c for c in bill if c.order_id is not None}
    fees = [c for c in bill if c.booking_id is not None]
    orders = outpatient.encounter_read(session, outpatient.find_encounter(session, encounter_id)).orders
    return [
        BillRow(-c.id, "挂号费（记账挂号）", 1, c.amount, c.insurance_class, "已挂号", True, "registration")
        for c in fees
    ] + [
        BillRow(
            o.id,
            o.item_name,
            o.quantity,
            o.amount,
            o.insurance_class,
            OrderStatus(o.status).label,
            bool(charges.get(o.id) and charges[o.id].on_credit),
            o.status,
        )
        for o in orders
    ]


def credit_encounters(session: Session, start: date, end: date) -> list[tuple[date, int, int, int, int, int]]:
    """Bulk read for analytics: encounters on credit (先诊疗后付费) by day, institution and department,
    with the patient and the amount held."""
    return repo.credit_encounters(session, outpatient.encounter_places(), start, end)
