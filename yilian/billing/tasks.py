"""Scheduled jobs of billing: the automatic end-of-day settlement (23:00 Asia/Shanghai) and arrears
reminders. Each encounter is settled in its own transaction, so a crash loses at most the one in
flight and a rerun settles exactly the ones left (the unique encounter-day settlement and the
payment idempotency key make a repeat a no-op)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, time

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from yilian.billing import settlement as billing
from yilian.billing.domain import Channel
from yilian.billing.models import Arrear, Charge, PaymentAgreement
from yilian.kit import events, jobs
from yilian.kit.db import is_postgres
from yilian.kit.errors import YilianError

log = logging.getLogger("yilian.billing")


@dataclass
class SettleDayReport:
    day: date
    settled: int = 0
    arrears: int = 0
    skipped: int = 0
    errors: list[str] = field(default_factory=list)


def pending_encounters(session: Session, day: date) -> list[int]:
    """Encounters with open charges on ``day``."""
    return sorted(
        set(
            session.scalars(
                select(Charge.encounter_id).where(Charge.business_date == day, Charge.status == "open")
            )
        )
    )


def settle_day(
    factory: sessionmaker[Session], day: date, *, chunk: int = 50, stop_after: int | None = None
) -> SettleDayReport:
    """Settle every encounter of ``day`` still open through the patient's signed channel (cash via the
    channel; without a signed channel, or when the debit fails, the cash part becomes arrears).

    Encounters are settled ``chunk`` at a time, each inside its own savepoint, and each chunk is
    committed: a crash loses only the chunk in flight, and a rerun finds exactly the encounters left.
    ``stop_after`` stops (as if killed, without committing the current chunk) after that many encounters.
    """
    report = SettleDayReport(day=day)
    with factory() as session:
        todo = pending_encounters(session, day)
    processed = 0
    for start in range(0, len(todo), chunk):
        settled = arrears = skipped = 0
        with factory() as session:
            for encounter_id in todo[start : start + chunk]:
                if stop_after is not None and processed >= stop_after:
                    session.rollback()
                    return report  # killed: the current chunk is lost, nothing half-written
                processed += 1
                try:
                    with session.begin_nested():
                        outcome = settle_one(session, encounter_id, day)
                except YilianError as exc:
                    report.errors.append(f"encounter {encounter_id}: {exc.title}：{exc.detail}")
                    continue
                if outcome == "skipped":
                    skipped += 1
                elif outcome == "arrears":
                    arrears += 1
                else:
                    settled += 1
            session.commit()
        report.settled += settled
        report.arrears += arrears
        report.skipped += skipped
    return report


def settle_one(session: Session, encounter_id: int, day: date) -> str:
    """The 23:00 settlement of one encounter-day through the patient's signed channel (or arrears)."""
    query = select(Charge.patient_id).where(
        Charge.encounter_id == encounter_id, Charge.business_date == day, Charge.status == "open"
    )
    if is_postgres(session):
        query = query.with_for_update(skip_locked=True)
    patient_id = session.scalar(query.limit(1))
    if patient_id is None:
        return "skipped"  # settled meanwhile by the patient or another worker
    agreement = session.scalar(
        select(PaymentAgreement)
        .where(PaymentAgreement.patient_id == patient_id, PaymentAgreement.revoked_at.is_(None))
        .order_by(PaymentAgreement.id.desc())
    )
    result = billing.settle(
        session,
        encounter_id=encounter_id,
        day=day,
        channel=Channel(agreement.channel) if agreement else Channel.CASH,
        payer_ref=agreement.payer_ref if agreement else "no-agreement-declined",
        cash_payer_id=agreement.payer_patient_id if agreement else None,
        idempotency_key=f"auto-settle:{encounter_id}:{day.isoformat()}",
        mode="auto",
    )
    return "arrears" if result.status == "arrears" else "settled"


def send_reminders(session: Session, today: date) -> int:
    """Emit an arrears reminder on each policy reminder day (default day 1, 3, 7); returns how many."""
    sent = 0
    for arrear in session.scalars(select(Arrear).where(Arrear.paid_at.is_(None))):
        policy = billing.credit_policy(
            session, billing.institution_of_settlement(session, arrear.settlement_id)
        )
        age = (today - arrear.opened_on).days
        if age in policy.reminder_days and age not in (arrear.reminders_sent or []):
            arrear.reminders_sent = [*(arrear.reminders_sent or []), age]
            events.emit(
                session,
                "billing.arrears_reminder",
                {"arrear_id": arrear.id, "patient_id": arrear.patient_id, "day": age},
            )
            sent += 1
    session.flush()
    return sent


# ---------------------------------------------------------------- run by the server (kit.jobs)

SETTLE_AT = time(23, 0)
REMIND_AT = time(9, 0)


@jobs.job("billing.settle_day", daily_at=SETTLE_AT, description="23:00 日终自动结算（先诊疗后付费）")
def _settle_day_job(factory: sessionmaker[Session], now: datetime) -> str:
    report = settle_day(factory, now.date())
    return (
        f"{now.date().isoformat()} 自动结算 {report.settled} 笔，转欠费 {report.arrears} 笔，"
        f"已由患者结算 {report.skipped} 笔，错误 {len(report.errors)} 笔"
    )


@jobs.job("billing.reminders", daily_at=REMIND_AT, description="09:00 欠费催缴提醒（第 1、3、7 天）")
def _reminders_job(factory: sessionmaker[Session], now: datetime) -> str:
    with factory() as session:
        sent = send_reminders(session, now.date())
        session.commit()
    return f"催缴提醒 {sent} 条"
