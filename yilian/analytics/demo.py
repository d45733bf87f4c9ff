"""Demo of analytics: the facts of the last fourteen months refreshed from the other areas' demo data
(so the dashboards and 同比 have something to show), and this month's report kept."""

from __future__ import annotations

from sqlalchemy.orm import Session

from yilian.analytics import service
from yilian.analytics.domain import Month
from yilian.kit.clock import business_date


def seed(session: Session, *, seed_value: int, scale: float) -> str:
    this = Month.of(business_date())
    row = service.refresh(session, this.shift(-13), this, trigger="demo")
    return f"analytics: {row.rows} monthly facts refreshed in {row.milliseconds} ms"
