"""Scheduled jobs of analytics: the incremental refresh (this month and the last) every 15 minutes, and
on the 1st of each month at 02:00 the full refresh of the month just ended and its reports (the city's
and each institution's, PDF and Excel) kept in ``analytics_reports``."""

from __future__ import annotations

from datetime import datetime, time

from sqlalchemy.orm import Session, sessionmaker

from yilian.analytics import report, service
from yilian.analytics.domain import Month
from yilian.kit import jobs
from yilian.kit.auth.domain import Actor
from yilian.registry import service as registry

REFRESH_EVERY = 15 * 60
REPORT_AT = time(2, 0)


@jobs.job(
    "analytics.refresh", every_seconds=REFRESH_EVERY, description="每 15 分钟增量刷新统计指标（本月与上月）"
)
def _refresh_job(factory: sessionmaker[Session], now: datetime) -> str:
    with factory() as session:
        row = service.refresh_recent(session, trigger="job")
        session.commit()
    return f"刷新 {row.rows} 行，用时 {row.milliseconds} 毫秒"


def monthly_reports(factory: sessionmaker[Session], month: Month) -> int:
    """Refresh ``month`` and keep its reports (city and every institution, PDF and Excel)."""
    actor = Actor.system("analytics")
    with factory() as session:
        service.refresh(session, month, month, trigger="job")
        session.commit()
        ids: list[int | None] = [None, *(i.id for i in registry.list_institutions(session, limit=10_000)[0])]
    stored = 0
    for institution_id in ids:
        with factory() as session:
            for fmt in report.FORMATS:
                report.store(session, actor, month, institution_id, fmt)
                stored += 1
            session.commit()
    return stored


@jobs.job("analytics.monthly_report", daily_at=REPORT_AT, description="每月 1 日 02:00 生成上月统计月报")
def _monthly_job(factory: sessionmaker[Session], now: datetime) -> str:
    if now.day != 1:
        return "非每月 1 日，无需生成月报"
    month = Month.of(now.date()).shift(-1)
    return f"{month.label}月报已生成 {monthly_reports(factory, month)} 份"
