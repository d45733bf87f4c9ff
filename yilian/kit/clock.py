"""An injectable clock: UTC instants for storage, Asia/Shanghai business dates for rules."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Protocol
from zoneinfo import ZoneInfo

BUSINESS_TZ = ZoneInfo("Asia/Shanghai")


class Clock(Protocol):
    """Anything that tells the current instant."""

    def now(self) -> datetime:
        """Return the current timezone-aware instant."""
        ...


class SystemClock:
    """The real clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class FrozenClock:
    """A clock that stands still until moved; for tests and replays."""

    def __init__(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("FrozenClock needs a timezone-aware datetime")
        self._at = at

    def now(self) -> datetime:
        return self._at

    def set(self, at: datetime) -> None:
        """Move the clock to ``at``."""
        if at.tzinfo is None:
            raise ValueError("FrozenClock needs a timezone-aware datetime")
        self._at = at

    def advance(self, delta: timedelta) -> None:
        """Move the clock forward by ``delta``."""
        self._at += delta


class FileClock:
    """A clock read from a file holding an ISO-8601 instant; the system clock while the file is absent.

    For training rooms and browser tests (``YILIAN_CLOCK_FILE``): a tester moves the running server to
    a chosen instant (say, the next day) by writing the file, and back to real time by deleting it.
    """

    def __init__(self, path: Path) -> None:
        self._path = path
        self._cache: tuple[float, datetime] | None = None

    def now(self) -> datetime:
        try:
            mtime = self._path.stat().st_mtime
        except FileNotFoundError:
            return datetime.now(UTC)
        if self._cache is None or self._cache[0] != mtime:
            at = datetime.fromisoformat(self._path.read_text().strip())
            if at.tzinfo is None:
                at = at.replace(tzinfo=BUSINESS_TZ)
            self._cache = (mtime, at)
        return self._cache[1]


_clock: Clock = SystemClock()


def get_clock() -> Clock:
    """Return the process clock."""
    return _clock


def set_clock(clock: Clock) -> None:
    """Replace the process clock."""
    global _clock
    _clock = clock


@contextmanager
def use_clock(clock: Clock) -> Iterator[Clock]:
    """Use ``clock`` inside the block, then restore the previous one."""
    previous = get_clock()
    set_clock(clock)
    try:
        yield clock
    finally:
        set_clock(previous)


def utcnow() -> datetime:
    """Return the current instant in UTC."""
    return _clock.now().astimezone(UTC)


def local_now() -> datetime:
    """Return the current instant in Asia/Shanghai."""
    return _clock.now().astimezone(BUSINESS_TZ)


def business_date(at: datetime | None = None) -> date:
    """Return the Asia/Shanghai calendar date of ``at`` (default: now)."""
    instant = at if at is not None else _clock.now()
    if instant.tzinfo is None:
        raise ValueError("business_date needs a timezone-aware datetime")
    return instant.astimezone(BUSINESS_TZ).date()


def local_datetime(day: date, at: time) -> datetime:
    """Return the Asia/Shanghai instant of ``at`` on ``day``."""
    return datetime.combine(day, at, tzinfo=BUSINESS_TZ)


def age_on(birth_date: date, on: date) -> int:
    """Return the age in full years on ``on``."""
    years = on.year - birth_date.year
    if (on.month, on.day) < (birth_date.month, birth_date.day):
        years -= 1
    return years
