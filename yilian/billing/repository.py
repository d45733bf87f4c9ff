"""Every query of billing: payments, credit care, the one settlement per encounter-day and the set-based
23:00 settlement. Statuses are compared and written as their domain enum's values."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Row, Subquery, bindparam, case, func, select, text, update
from sqlalchemy.orm import Session

from yilian.billing.domain import ChargeStatus, PaymentStatus, SettlementStatus
from yilian.billing.models import (
    Arrear,
    Charge,
    GatewayTransaction,
    Payment,
    PaymentAgreement,
    Refund,
    Settlement,
)
from yilian.kit.db import among, insert_rows, is_postgres, reserve_ids, table_of

SETTLEMENTS = table_of(Settlement)
CHARGES = table_of(Charge)
PAYMENTS = table_of(Payment)
ARREARS = table_of(Arrear)


def payment_by_key(session: Session, key: str) -> Payment | None:
    return session.scalar(select(Payment).where(Payment.idempotency_key == key))


def payment_by_trade_no(session: Session, out_trade_no: str) -> Payment | None:
    return session.scalar(select(Payment).where(Payment.out_trade_no == out_trade_no))


def get_payment(session: Session, payment_id: int) -> Payment | None:
    return session.get(Payment, payment_id)


def refund_by_key(session: Session, key: str) -> Refund | None:
    return session.scalar(select(Refund).where(Refund.idempotency_key == key))


def refunded_total(session: Session, payment_id: int) -> int:
    return int(
        session.scalar(
            select(func.coalesce(func.sum(Refund.amount), 0)).where(
                Refund.payment_id == payment_id, Refund.status == PaymentStatus.SUCCEEDED.value
            )
        )
        or 0
    )


def succeeded_payments(session: Session, channel: str, day: date) -> Sequence[Payment]:
    return session.scalars(
        select(Payment).where(
            Payment.channel == channel,
            Payment.business_date == day,
            Payment.status == PaymentStatus.SUCCEEDED.value,
        )
    ).all()


def succeeded_refunds(session: Session, channel: str, day: date) -> Sequence[tuple[Refund, str]]:
    rows = session.execute(
        select(Refund, Payment.out_trade_no)
        .join(Payment, Payment.id == Refund.payment_id)
        .where(
            Payment.channel == channel,
            Refund.business_date == day,
            Refund.status == PaymentStatus.SUCCEEDED.value,
        )
    ).all()
    return [(r, t) for r, t in rows]


def gateway_day(session: Session, channel: str, day: date) -> Sequence[GatewayTransaction]:
    return session.scalars(
        select(GatewayTransaction).where(
            GatewayTransaction.channel == channel, GatewayTransaction.business_date == day
        )
    ).all()


# ---------------------------------------------------------------- credit dashboard (先诊疗后付费看板)
# Reporting reads join billing's rows to their encounter only for the institution and department:
# ``places`` is outpatient's ``encounter_places()`` subquery (id, institution_id, department_id), so the
# read stays one statement without billing reading outpatient's tables; writes never touch them.


def credit_charge_totals(
    session: Session, places: Subquery, institution_id: int, start: date, end: date
) -> tuple[int, int, int, int]:
    """Return (encounters, patients, held, still open) of the charges on credit in a date range."""
    row = session.execute(
        select(
            func.count(func.distinct(Charge.encounter_id)),
            func.count(func.distinct(Charge.patient_id)),
            func.coalesce(func.sum(Charge.hold), 0),
            func.coalesce(
                func.sum(case((Charge.status == ChargeStatus.OPEN.value, Charge.hold), else_=0)), 0
            ),
        )
        .join(places, places.c.id == Charge.encounter_id)
        .where(
            places.c.institution_id == institution_id,
            Charge.on_credit.is_(True),
            Charge.status != ChargeStatus.VOID.value,
            Charge.business_date.between(start, end),
        )
    ).one()
    return int(row[0]), int(row[1]), int(row[2]), int(row[3])


def credit_settlement_counts(
    session: Session, places: Subquery, institution_id: int, start: date, end: date
) -> dict[tuple[str, bool], int]:
    """Count standing settlements of credit encounter-days by (mode, whether the debit became arrears)."""
    credit_settled = select(Charge.settlement_id).where(
        Charge.on_credit.is_(True), Charge.settlement_id.is_not(None)
    )
    went_to_arrears = Arrear.id.is_not(None)
    rows = session.execute(
        select(Settlement.mode, went_to_arrears, func.count(Settlement.id))
        .join(places, places.c.id == Settlement.encounter_id)
        .outerjoin(Arrear, Arrear.settlement_id == Settlement.id)
        .where(
            places.c.institution_id == institution_id,
            Settlement.business_date.between(start, end),
            Settlement.status != SettlementStatus.REVERSED.value,
            Settlement.id.in_(credit_settled),
        )
        .group_by(Settlement.mode, went_to_arrears)
    ).all()
    return {(str(mode), bool(arrears)): int(n) for mode, arrears, n in rows}


def open_arrears_of_institution(session: Session, places: Subquery, institution_id: int) -> Sequence[Arrear]:
    """Unpaid arrears of an institution's settlements, oldest first."""
    return session.scalars(
        select(Arrear)
        .join(Settlement, Settlement.id == Arrear.settlement_id)
        .join(places, places.c.id == Settlement.encounter_id)
        .where(places.c.institution_id == institution_id, Arrear.paid_at.is_(None))
        .order_by(Arrear.opened_on, Arrear.id)
    ).all()


def recovered_arrears(
    session: Session, places: Subquery, institution_id: int, since: datetime, until: datetime
) -> tuple[int, int]:
    """Return (count, amount) of an institution's arrears paid in ``[since, until)``."""
    row = session.execute(
        select(func.count(Arrear.id), func.coalesce(func.sum(Arrear.amount), 0))
        .join(Settlement, Settlement.id == Arrear.settlement_id)
        .join(places, places.c.id == Settlement.encounter_id)
        .where(
            places.c.institution_id == institution_id,
            Arrear.paid_at.is_not(None),
            Arrear.paid_at >= since,
            Arrear.paid_at < until,
        )
    ).one()
    return int(row[0]), int(row[1])


def settlements_of_patient(session: Session, patient_id: int, since: date) -> Sequence[Settlement]:
    """A patient's settlements since a day, newest first (the counter's reversal list)."""
    return session.scalars(
        select(Settlement)
        .where(Settlement.patient_id == patient_id, Settlement.business_date >= since)
        .order_by(Settlement.id.desc())
    ).all()


def open_charge_days(session: Session, patient_id: int) -> list[tuple[int, date]]:
    """The (encounter, day) pairs of a patient with open charges, oldest first."""
    rows = session.execute(
        select(Charge.encounter_id, Charge.business_date)
        .where(Charge.patient_id == patient_id, Charge.status == ChargeStatus.OPEN.value)
        .distinct()
        .order_by(Charge.business_date, Charge.encounter_id)
    ).all()
    return [(int(e), d) for e, d in rows]


def credit_encounters(
    session: Session, places: Subquery, start: date, end: date
) -> list[tuple[date, int, int, int, int, int]]:
    """(business date, institution, department, encounter, patient, held) of the charges on credit in
    [start, end], one row per encounter and day (analytics)."""
    q = (
        select(
            Charge.business_date,
            places.c.institution_id,
            places.c.department_id,
            Charge.encounter_id,
            Charge.patient_id,
            func.coalesce(func.sum(Charge.hold), 0),
        )
        .join(places, places.c.id == Charge.encounter_id)
        .where(
            Charge.on_credit.is_(True),
            Charge.status != ChargeStatus.VOID.value,
            Charge.business_date.between(start, end),
        )
        .group_by(
            Charge.business_date,
            places.c.institution_id,
            places.c.department_id,
            Charge.encounter_id,
            Charge.patient_id,
        )
    )
    return [(r[0], int(r[1]), int(r[2]), int(r[3]), int(r[4]), int(r[5])) for r in session.execute(q)]


# ---------------------------------------------------------------- settlement (一日一结) and credit care


def unpaid_arrears_of(session: Session, patient_id: int) -> Sequence[Arrear]:
    return session.scalars(
        select(Arrear).where(Arrear.patient_id == patient_id, Arrear.paid_at.is_(None))
    ).all()


def unpaid_arrears(session: Session) -> Sequence[Arrear]:
    """Every unpaid arrear, oldest first."""
    return session.scalars(
        select(Arrear).where(Arrear.paid_at.is_(None)).order_by(Arrear.opened_on, Arrear.id)
    ).all()


def signed_agreement_id(session: Session, patient_id: int) -> int | None:
    """One of the patient's signed (not revoked) channel agreements, if any."""
    return session.scalar(
        select(PaymentAgreement.id).where(
            PaymentAgreement.patient_id == patient_id, PaymentAgreement.revoked_at.is_(None)
        )
    )


def open_hold_of_day(session: Session, patient_id: int, day: date) -> int:
    """The patient's open credit holds of ``day`` (fen)."""
    return int(
        session.scalar(
            select(func.coalesce(func.sum(Charge.hold), 0)).where(
                Charge.patient_id == patient_id,
                Charge.business_date == day,
                Charge.status == ChargeStatus.OPEN.value,
            )
        )
        or 0
    )


def charge_of_booking(session: Session, booking_id: int) -> Charge | None:
    return session.scalar(select(Charge).where(Charge.booking_id == booking_id))


def charge_of_order(session: Session, order_id: int, *, for_update: bool = False) -> Charge | None:
    query = select(Charge).where(Charge.order_id == order_id)
    if for_update:
        query = query.with_for_update()
    return session.scalar(query)


def charges_of_day(session: Session, encounter_id: int, day: date) -> Sequence[Charge]:
    """The encounter-day's charges in id order (the running bill)."""
    return session.scalars(
        select(Charge)
        .where(Charge.encounter_id == encounter_id, Charge.business_date == day)
        .order_by(Charge.id)
    ).all()


def open_charges_of_day(
    session: Session, encounter_id: int, day: date, *, for_update: bool = False
) -> Sequence[Charge]:
    query = select(Charge).where(
        Charge.encounter_id == encounter_id,
        Charge.business_date == day,
        Charge.status == ChargeStatus.OPEN.value,
    )
    if for_update:
        query = query.with_for_update()
    return session.scalars(query).all()


def any_open_charge(session: Session, encounter_id: int, day: date) -> int | None:
    """The id of one open charge of the encounter-day, if any is left."""
    return session.scalar(
        select(Charge.id).where(
            Charge.encounter_id == encounter_id,
            Charge.business_date == day,
            Charge.status == ChargeStatus.OPEN.value,
        )
    )


def charges_of_settlement(session: Session, settlement_id: int) -> Sequence[Charge]:
    return session.scalars(select(Charge).where(Charge.settlement_id == settlement_id)).all()


def charged_encounters(session: Session, patient_id: int, day: date) -> list[int]:
    """The patient's encounters with charges on ``day``, in id order."""
    return sorted(
        set(
            session.scalars(
                select(Charge.encounter_id).where(
                    Charge.patient_id == patient_id, Charge.business_date == day
                )
            )
        )
    )


def last_attempt(session: Session, encounter_id: int, day: date) -> int:
    """The highest settlement attempt of the encounter-day so far (0 when none)."""
    return int(
        session.scalar(
            select(func.coalesce(func.max(Settlement.attempt), 0)).where(
                Settlement.encounter_id == encounter_id, Settlement.business_date == day
            )
        )
        or 0
    )


def standing_settlement(session: Session, encounter_id: int, day: date) -> Settlement | None:
    """The encounter-day's latest settlement not reversed, if any."""
    return session.scalar(
        select(Settlement)
        .where(
            Settlement.encounter_id == encounter_id,
            Settlement.business_date == day,
            Settlement.status != SettlementStatus.REVERSED.value,
        )
        .order_by(Settlement.attempt.desc())
        .limit(1)
    )


def settlements_of_encounters(
    session: Session, encounter_ids: Sequence[int], day: date
) -> Sequence[Settlement]:
    """The settlements of ``day`` of the encounters, newest first."""
    return session.scalars(
        select(Settlement)
        .where(Settlement.encounter_id.in_(encounter_ids), Settlement.business_date == day)
        .order_by(Settlement.id.desc())
    ).all()


def newest_agreement(session: Session, patient_id: int) -> PaymentAgreement | None:
    """The patient's newest signed (not revoked) channel agreement, if any."""
    return session.scalar(
        select(PaymentAgreement)
        .where(PaymentAgreement.patient_id == patient_id, PaymentAgreement.revoked_at.is_(None))
        .order_by(PaymentAgreement.id.desc())
    )


# ---------------------------------------------------------------- the 23:00 settlement (日终批量结算)


def encounters_open_on(session: Session, day: date) -> list[int]:
    """The encounters with open charges on ``day``, in id order."""
    return sorted(
        set(
            session.scalars(
                select(Charge.encounter_id).where(
                    Charge.business_date == day, Charge.status == ChargeStatus.OPEN.value
                )
            )
        )
    )


def patient_of_open_day(session: Session, encounter_id: int, day: date) -> int | None:
    """The patient of the encounter-day's open charges; None when none is open, or (on PostgreSQL)
    when another worker holds them (``SKIP LOCKED``)."""
    query = select(Charge.patient_id).where(
        Charge.encounter_id == encounter_id,
        Charge.business_date == day,
        Charge.status == ChargeStatus.OPEN.value,
    )
    if is_postgres(session):
        query = query.with_for_update(skip_locked=True)
    return session.scalar(query.limit(1))


def still_open_encounters(session: Session, day: date, encounter_ids: Sequence[int]) -> Sequence[int]:
    """Those of ``encounter_ids`` that still have open charges on ``day``."""
    return session.scalars(
        select(Charge.encounter_id)
        .where(
            among(session, Charge.encounter_id, encounter_ids),
            Charge.business_date == day,
            Charge.status == ChargeStatus.OPEN.value,
        )
        .distinct()
    ).all()


def open_charge_lines(
    session: Session, day: date, encounter_ids: Sequence[int]
) -> Sequence[Row[int, int, int, str, int, bool, int | None]]:
    """(id, encounter, amount, insurance class, self-pay ‰, on credit, order) of the encounters' open
    charges of ``day`` in id order; on PostgreSQL locked ``FOR UPDATE`` (waits for a patient settling
    one of these very visits, and then sees the charges settled)."""
    query = (
        select(
            Charge.id,
            Charge.encounter_id,
            Charge.amount,
            Charge.insurance_class,
            Charge.self_pay_permille,
            Charge.on_credit,
            Charge.order_id,
        )
        .where(
            among(session, Charge.encounter_id, encounter_ids),
            Charge.business_date == day,
            Charge.status == ChargeStatus.OPEN.value,
        )
        .order_by(Charge.id)
    )
    if is_postgres(session):
        query = query.with_for_update()
    return session.execute(query).all()


def standing_statuses(session: Session, day: date, encounter_ids: Sequence[int]) -> dict[int, str]:
    """The status of each encounter's standing (not reversed) settlement of ``day``."""
    return {
        e: s
        for e, s in session.execute(
            select(Settlement.encounter_id, Settlement.status).where(
                among(session, Settlement.encounter_id, encounter_ids),
                Settlement.business_date == day,
                Settlement.status != SettlementStatus.REVERSED.value,
            )
        )
    }


def agreements_of(session: Session, patient_ids: Iterable[int]) -> Sequence[Row[int, str, str, int | None]]:
    """(patient, channel, payer ref, paying relative) of the patients' signed agreements, oldest first
    (so that, read into a dict, the newest wins)."""
    return session.execute(
        select(
            PaymentAgreement.patient_id,
            PaymentAgreement.channel,
            PaymentAgreement.payer_ref,
            PaymentAgreement.payer_patient_id,
        )
        .where(
            among(session, PaymentAgreement.patient_id, patient_ids), PaymentAgreement.revoked_at.is_(None)
        )
        .order_by(PaymentAgreement.id)
    ).all()


def used_idempotency_keys(session: Session, keys: Sequence[str]) -> set[str]:
    """Those of ``keys`` some payment already carries."""
    return set(
        session.scalars(select(Payment.idempotency_key).where(among(session, Payment.idempotency_key, keys)))
    )


def last_attempts(session: Session, day: date, encounter_ids: Sequence[int]) -> dict[int, int]:
    """The highest attempt of each encounter-day so far (a reversed settlement is followed by the next)."""
    return {
        e: int(a)
        for e, a in session.execute(
            select(Settlement.encounter_id, func.max(Settlement.attempt))
            .where(among(session, Settlement.encounter_id, encounter_ids), Settlement.business_date == day)
            .group_by(Settlement.encounter_id)
        )
    }


def reserve_settlement_ids(session: Session, n: int) -> list[int]:
    return reserve_ids(session, SETTLEMENTS, n)


def reserve_payment_ids(session: Session, n: int) -> list[int]:
    return reserve_ids(session, PAYMENTS, n)


def insert_settled_chunk(
    session: Session,
    payments: list[dict[str, Any]],
    settlements: list[dict[str, Any]],
    arrears: list[dict[str, Any]],
) -> None:
    """Write a chunk's payments, settlements and arrears with multi-row inserts (ids reserved)."""
    insert_rows(session, PAYMENTS, payments)
    insert_rows(session, SETTLEMENTS, settlements)
    insert_rows(session, ARREARS, arrears)


def mark_charges_settled(session: Session, pairs: list[tuple[int, int]]) -> None:
    """The charges read and locked by the chunk, each to its encounter's new settlement: on PostgreSQL
    one UPDATE joined to ``unnest`` of two array parameters (a VALUES list of 2,500 pairs cost more to
    compile and parse than the update itself), an executemany on SQLite (which plans the join poorly)."""
    if not pairs:
        return
    if is_postgres(session):
        session.execute(
            text(
                "UPDATE charges SET status = :settled, settlement_id = given.sid "
                "FROM unnest(CAST(:cids AS BIGINT[]), CAST(:sids AS BIGINT[])) AS given(cid, sid) "
                "WHERE charges.id = given.cid"
            ),
            {
                "settled": ChargeStatus.SETTLED.value,
                "cids": [c for c, _s in pairs],
                "sids": [s for _c, s in pairs],
            },
        )
        return
    session.execute(
        update(CHARGES)
        .where(CHARGES.c.id == bindparam("cid"))
        .values(status=ChargeStatus.SETTLED.value, settlement_id=bindparam("sid")),
        [{"cid": c, "sid": s} for c, s in pairs],
    )
