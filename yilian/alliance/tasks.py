"""Scheduled jobs of alliance work: every 10 minutes the referral share of the coming two weeks'
specialist clinics is kept (idempotent, once per slot) and the unused reserved places whose cut-off
has come are given back to the public; referrals unanswered after 12 h are reminded (once each)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from yilian.alliance import service
from yilian.kit import jobs

RESERVE_DAYS = 14


@jobs.job("alliance.reserve", every_seconds=600, description="每 10 分钟预留转诊号源并按截止时间放号")
def _reserve_job(factory: sessionmaker[Session], now: datetime) -> str:
    with factory() as session:
        day = now.date()
        run = service.reserve_places(session, start=day, end=day + timedelta(days=RESERVE_DAYS - 1))
        released = service.release_due(session)
        session.commit()
    return f"预留转诊号 {run.reserved_places} 个，放给公众 {released} 个"


@jobs.job("alliance.remind", every_seconds=600, description="每 10 分钟提醒超过 12 小时未答复的转诊")
def _remind_job(factory: sessionmaker[Session], _now: datetime) -> str:
    with factory() as session:
        reminded, overdue = service.remind_and_flag(session)
        session.commit()
    return f"提醒 {reminded} 张，超时未答复 {overdue} 张"
