"""The decoction floor's rules and the day's batch plan (煎药排程), pure.

Timing rules of DOMAIN §9, each checked when its step is recorded: a soak lasts at least 30 min; 先煎
herbs boil 30 min before the rest go in; the boil after the rest are in lasts the formula class's time
(一般 20–30, 解表 / 清热 / 芳香 15–20, 补益 40–60 min); 后下 herbs go in 5–10 min before the end.

The plan puts the day's prescriptions on the machines so that each finishes before its promised time
(default 24 h after approval): earliest promise first, on the machine free soonest; a prescription
that cannot make its promise anyway is moved to the end (it does not delay the others), and is
reported as a warning. ``fcfs`` is the first-come-first-served plan for comparison."""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from yilian.catalog.herb_domain import FormulaClass
from yilian.outpatient.herbal_domain import TransitionRefused

SOAK_MIN = 30
FIRST_BOIL_MIN = 30
LATE_WINDOW = (5, 10)
PROMISE_HOURS = 24
SETUP_MIN = 15  # loading, second decoction's heating and cleaning, per run
PASTE_MIN = 240  # 膏方: three decoctions, concentrating and 收膏


def _minutes(a: datetime, b: datetime) -> float:
    return (b - a).total_seconds() / 60


def check_soak_done(soak_started: datetime, now: datetime) -> None:
    done = _minutes(soak_started, now)
    if done < SOAK_MIN:
        raise TransitionRefused(f"泡药不足 {SOAK_MIN} 分钟（已泡 {int(done)} 分钟），不能开始煎药")


def check_rest_added(started: datetime, now: datetime) -> None:
    """The rest of the herbs go in after the 先煎 herbs boiled 30 min."""
    done = _minutes(started, now)
    if done < FIRST_BOIL_MIN:
        raise TransitionRefused(
            f"先煎药须先煎 {FIRST_BOIL_MIN} 分钟（已煎 {int(done)} 分钟），暂不能下其余药"
        )


def check_finish(
    formula: FormulaClass,
    *,
    boil_from: datetime,
    now: datetime,
    late_added: datetime | None,
    has_late: bool,
    has_first: bool,
    rest_added: datetime | None,
) -> None:
    """The boil is within the formula class's time, and 后下 herbs went in 5–10 min before the end."""
    if has_first and rest_added is None:
        raise TransitionRefused("先煎药煎足 30 分钟后须记录“下其余药”")
    low, high = formula.boil_minutes
    boiled = _minutes(boil_from, now)
    if boiled < low:
        raise TransitionRefused(f"{formula.value}类方剂应煎 {low}–{high} 分钟，当前仅 {int(boiled)} 分钟")
    if boiled > high:
        raise TransitionRefused(f"{formula.value}类方剂应煎 {low}–{high} 分钟，已超时（{int(boiled)} 分钟）")
    if has_late:
        if late_added is None:
            raise TransitionRefused("后下药尚未加入")
        before = _minutes(late_added, now)
        if not LATE_WINDOW[0] <= before <= LATE_WINDOW[1]:
            raise TransitionRefused(
                f"后下药应在结束前 {LATE_WINDOW[0]}–{LATE_WINDOW[1]} 分钟加入（实际 {before:.0f} 分钟）"
            )


def machine_minutes(formula: FormulaClass, *, has_first: bool, paste: bool = False) -> int:
    """Minutes a machine is taken by one prescription: two decoctions, 先煎 first, plus setup."""
    if paste:
        return PASTE_MIN
    low, high = formula.boil_minutes
    return (FIRST_BOIL_MIN if has_first else 0) + high + low + SETUP_MIN


# ---------------------------------------------------------------- the day's plan


@dataclass(frozen=True)
class Job:
    """One prescription to decoct: ready (soaked) at ``ready`` minute, ``minutes`` on a machine, to
    finish by ``due`` minute (minutes from the plan's start)."""

    id: int
    ready: int
    minutes: int
    due: int


@dataclass(frozen=True)
class Slot:
    job_id: int
    machine: int
    start: int
    end: int
    on_time: bool


@dataclass(frozen=True)
class Plan:
    slots: list[Slot]
    late: list[int]  # the jobs that miss their promise (warnings)

    @property
    def on_time_share(self) -> float:
        return 1.0 if not self.slots else sum(s.on_time for s in self.slots) / len(self.slots)


def _place(jobs: Sequence[Job], machines: Sequence[int], defer_late: bool) -> Plan:
    free = [(0, m) for m in machines]
    heapq.heapify(free)
    slots: list[Slot] = []
    deferred: list[Job] = []
    for job in jobs:
        at, machine = free[0]
        start = max(at, job.ready)
        if defer_late and start + job.minutes > job.due:
            deferred.append(job)
            continue
        heapq.heapreplace(free, (start + job.minutes, machine))
        slots.append(Slot(job.id, machine, start, start + job.minutes, start + job.minutes <= job.due))
    for job in deferred:
        at, machine = free[0]
        start = max(at, job.ready)
        heapq.heapreplace(free, (start + job.minutes, machine))
        slots.append(Slot(job.id, machine, start, start + job.minutes, start + job.minutes <= job.due))
    return Plan(slots, [s.job_id for s in slots if not s.on_time])


def plan(jobs: Sequence[Job], machines: Sequence[int]) -> Plan:
    """Earliest promise first on the machine free soonest; hopeless jobs go last."""
    if not machines:
        return Plan([], [j.id for j in jobs])
    return _place(sorted(jobs, key=lambda j: (j.due, j.ready, j.id)), machines, defer_late=True)


def fcfs(jobs: Sequence[Job], machines: Sequence[int]) -> Plan:
    """First come (ready) first served."""
    if not machines:
        return Plan([], [j.id for j in jobs])
    return _place(sorted(jobs, key=lambda j: (j.ready, j.id)), machines, defer_late=False)


def promised(approved_at: datetime, hours: int = PROMISE_HOURS) -> datetime:
    return approved_at + timedelta(hours=hours)


def token_of(code: str) -> str:
    """The tracking token in a scanned bag label: the QR's text is the tracking address
    (``…/tcm/track/<token>``); a hand scanner or a typed code may give the bare token."""
    text = code.strip().split("?", 1)[0].rstrip("/")
    return text.rsplit("/", 1)[-1] if "/" in text else text
