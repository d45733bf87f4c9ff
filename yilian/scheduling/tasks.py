"""Scheduled jobs of scheduling, run by the server (``kit.jobs``): unpaid holds are released every
minute (锁号超时), and each morning before the 07:00 release the schedules of the next two weeks are made
from the weekly templates on the holiday calendar table (idempotent; the same as ``yilian scheduling
generate``). A year the calendar does not hold yet falls back to weekends, and the job's outcome (``yilian
jobs list``) carries the warning, so the job keeps running into years the package does not cover."""

from __future__ import annotations

from datetime import datetime, time

from sqlalchemy.orm import Session, sessionmaker

from yilian.kit import jobs
from yilian.kit.auth.domain import Actor
from yilian.scheduling import service

JOB_ACTOR = Actor.system("scheduling-jobs")
GENERATE_AT = time(6, 0)
NO_SHOW_AT = time(21, 0)
GENERATE_DAYS = 14


@jobs.job("scheduling.expire_holds", every_seconds=60, description="每分钟释放超时未支付的锁号")
def _expire_holds_job(factory: sessionmaker[Session], _now: datetime) -> str:
    with factory() as session:
        released = service.expire_holds(session, limit=10_000)
        session.commit()
    return f"释放超时锁号 {released} 个"


@jobs.job("scheduling.generate", daily_at=GENERATE_AT, description="06:00 按排班模板生成未来两周排班")
def _generate_job(factory: sessionmaker[Session], now: datetime) -> str:
    made = 0
    warning: str | None = None
    with factory() as session:
        for institution_id in service.institutions_with_templates(session):
            result = service.generate_schedules(
                session, JOB_ACTOR, institution_id, start=now.date(), days=GENERATE_DAYS
            )
            made += result.created
            warning = warning or result.warning
        session.commit()
    return f"新生成排班 {made} 个" + (f"；注意：{warning}" if warning else "")


@jobs.job("scheduling.no_shows", daily_at=NO_SHOW_AT, description="21:00 当日未签到的挂号记为爽约")
def _no_show_job(factory: sessionmaker[Session], now: datetime) -> str:
    with factory() as session:
        marked = service.mark_no_shows(session, now.date())
        session.commit()
    return f"{now.date().isoformat()} 记爽约 {marked} 个"
