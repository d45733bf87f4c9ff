"""Scheduled jobs (定时任务) run by the server itself: the 23:00 end-of-day settlement, arrears
reminders, releasing unpaid booking holds, generating schedules before the 07:00 release.

An area registers a job in its ``tasks`` module with :func:`job`: either every N seconds, or daily at a
local (Asia/Shanghai) time. The :class:`JobRunner` thread started by the app looks each few seconds at
which jobs are due and runs each *period* of a job once across every server process: a run is claimed
by inserting ``(job, period)`` into ``job_runs`` (a unique key), and only the process whose insert
succeeds runs it. A daily job whose time has passed when the server starts runs then (catch-up for
that day). The outcome, or the error, is kept on the row; the same work can always be started by hand
from the CLI (the jobs are resumable and idempotent).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from sqlalchemy import String, Text, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from yilian.kit.clock import local_now, utcnow
from yilian.kit.db import Base

log = logging.getLogger("yilian.jobs")

JobFunction = Callable[[sessionmaker[Session], datetime], str]
"""Runs the job for the local instant it became due; returns a one-line summary (Chinese)."""


class JobRun(Base):
    """One period of a scheduled job, claimed by the process that runs it."""

    __tablename__ = "job_runs"

    job: Mapped[str] = mapped_column(String(64), primary_key=True)
    period: Mapped[str] = mapped_column(String(32), primary_key=True)
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    outcome: Mapped[str] = mapped_column(Text, default="")
    failed: Mapped[bool] = mapped_column(default=False)


@dataclass(frozen=True)
class Job:
    name: str
    function: JobFunction
    every_seconds: int | None = None
    daily_at: time | None = None
    description: str = ""

    def period(self, now: datetime) -> str | None:
        """The period due at local instant ``now`` (its key), or None when nothing is due yet."""
        if self.every_seconds is not None:
            return str(int(now.timestamp()) // self.every_seconds)
        assert self.daily_at is not None
        return now.date().isoformat() if now.time() >= self.daily_at else None


_jobs: dict[str, Job] = {}


def job(
    name: str, *, every_seconds: int | None = None, daily_at: time | None = None, description: str = ""
) -> Callable[[JobFunction], JobFunction]:
    """Register a scheduled job (exactly one of ``every_seconds`` and ``daily_at``)."""
    if (every_seconds is None) == (daily_at is None):
        raise ValueError("a job runs either every N seconds or daily at a time")

    def register(function: JobFunction) -> JobFunction:
        _jobs[name] = Job(name, function, every_seconds, daily_at, description)
        return function

    return register


def registered() -> list[Job]:
    return sorted(_jobs.values(), key=lambda j: j.name)


def _claim(factory: sessionmaker[Session], name: str, period: str) -> bool:
    with factory() as session:
        if session.get(JobRun, (name, period)) is not None:
            return False
        session.add(JobRun(job=name, period=period, started_at=utcnow(), outcome="", failed=False))
        try:
            session.commit()
        except IntegrityError:
            return False  # another process claimed it first
    return True


KEEP_PERIODIC_RUNS = timedelta(days=2)


def _finish(factory: sessionmaker[Session], j: Job, period: str, outcome: str, failed: bool) -> None:
    with factory() as session:
        row = session.get(JobRun, (j.name, period))
        if row is not None:
            row.finished_at, row.outcome, row.failed = utcnow(), outcome[:2000], failed
        if j.every_seconds is not None:  # a row a minute: keep two days of them
            session.execute(
                delete(JobRun).where(JobRun.job == j.name, JobRun.started_at < utcnow() - KEEP_PERIODIC_RUNS)
            )
        session.commit()


def run_due(factory: sessionmaker[Session], now: datetime | None = None) -> list[str]:
    """Run every job whose current period has not run yet; returns the names run (for tests and logs)."""
    at = now or local_now()
    ran: list[str] = []
    for j in registered():
        period = j.period(at)
        if period is None or not _claim(factory, j.name, period):
            continue
        try:
            outcome, failed = j.function(factory, at), False
        except Exception as exc:  # a failing job must not stop the others; it is recorded
            log.exception("job %s (%s) failed", j.name, period)
            outcome, failed = f"{type(exc).__name__}: {exc}", True
        _finish(factory, j, period, outcome, failed)
        ran.append(j.name)
    return ran


def recent_runs(session: Session, limit: int = 50) -> list[JobRun]:
    return list(session.scalars(select(JobRun).order_by(JobRun.started_at.desc()).limit(limit)))


class JobRunner:
    """The background thread that runs due jobs every ``interval`` seconds."""

    def __init__(self, factory: sessionmaker[Session], interval: float = 5.0) -> None:
        self.factory = factory
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="yilian-jobs", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                run_due(self.factory)
            except Exception:
                log.exception("job runner round failed; trying again")
            self._stop.wait(self.interval)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
