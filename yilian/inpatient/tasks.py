"""Scheduled jobs of inpatient care: the nightly bed and nursing charges (床位费、护理费). Each admission
is charged in its own savepoint and every line has a unique key per admission and day, so a second
run (or two servers at once) charges nothing twice and a crashed run is finished by the next."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time

from sqlalchemy.orm import Session, sessionmaker

from yilian.inpatient import service
from yilian.kit import jobs
from yilian.kit.errors import YilianError


@dataclass
class ChargeDayReport:
    day: date
    admissions: int = 0
    lines: int = 0
    errors: list[str] = field(default_factory=list)


def charge_day(factory: sessionmaker[Session], day: date, *, chunk: int = 200) -> ChargeDayReport:
    """Charge ``day``'s bed and nursing fees of every admission in hospital at the end of that day."""
    report = ChargeDayReport(day=day)
    with factory() as session:
        todo = service.admissions_to_charge(session, day)
    for start in range(0, len(todo), chunk):
        with factory() as session:
            for admission_id in todo[start : start + chunk]:
                try:
                    with session.begin_nested():
                        report.lines += service.charge_day(session, admission_id, day)
                except YilianError as exc:
                    report.errors.append(f"admission {admission_id}: {exc.title}：{exc.detail}")
                    continue
                report.admissions += 1
            session.commit()
    return report


CHARGE_AT = time(23, 30)


@jobs.job("inpatient.daily_charges", daily_at=CHARGE_AT, description="23:30 住院床位费、护理费日计费")
def _daily_charges_job(factory: sessionmaker[Session], now: datetime) -> str:
    report = charge_day(factory, now.date())
    return (
        f"{now.date().isoformat()} 在院 {report.admissions} 人，新计费 {report.lines} 条，"
        f"错误 {len(report.errors)} 条"
    )
