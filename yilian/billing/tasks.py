"""Scheduled jobs of billing: the automatic end-of-day settlement (23:00 Asia/Shanghai) and arrears
reminders. The settlement runs set-based in chunks (``billing.service.batch``), a transaction per chunk,
so a crash loses at most the chunks in flight and a rerun settles exactly the ones left (the standing
encounter-day settlement and the payment idempotency key make a repeat a no-op)."""

from __future__ import annotations

import logging
from datetime import date, datetime, time

from sqlalchemy.orm import Session, sessionmaker

from yilian.billing import service as billing
from yilian.billing.service import (
    DEFAULT_CHUNK,
    SettleDayReport,
    pending_encounters,
    settle_day_batch,
    settle_one,
)
from yilian.kit import events, jobs
from yilian.kit.db import is_postgres

log = logging.getLogger("yilian.billing")

__all__ = ["SettleDayReport", "pending_encounters", "send_reminders", "settle_day", "settle_one"]


def settle_day(
    factory: sessionmaker[Session],
    day: date,
    *,
    chunk: int = DEFAULT_CHUNK,
    stop_after: int | None = None,
    workers: int = 1,
) -> SettleDayReport:
    """Settle every encounter of ``day`` still open through the patient's signed channel (cash via the
    channel; without a signed channel, or when the debit fails, the cash part becomes arrears).

    Set-based (``billing.service.batch``): ``chunk`` encounters per transaction, ``workers`` workers
    sharing the day on PostgreSQL. A crash loses only the chunks in flight, and a rerun finds exactly
    the encounters left. ``stop_after`` stops (as if killed, without committing the chunk in flight)
    before the chunk that would take it past that many encounters.
    """
    return settle_day_batch(factory, day, workers=workers, chunk=chunk, stop_after=stop_after)


def send_reminders(session: Session, today: date) -> int:
    """Emit an arrears reminder on each policy reminder day (default day 1, 3, 7); returns how many."""
    sent = 0
    for arrear in billing.open_arrears(session):
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
SETTLE_WORKERS = 2  # on PostgreSQL: workers sharing the day (FOR UPDATE SKIP LOCKED)
REMIND_AT = time(9, 0)


@jobs.job("billing.settle_day", daily_at=SETTLE_AT, description="23:00 日终自动结算（先诊疗后付费）")
def _settle_day_job(factory: sessionmaker[Session], now: datetime) -> str:
    bind = factory.kw.get("bind")
    workers = SETTLE_WORKERS if bind is not None and is_postgres(bind) else 1
    report = settle_day(factory, now.date(), workers=workers)
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
