"""Doctor's queue with call-next and a live waiting-room display.

Both poll the schedule's queue version (a column bumped in SQL by every queue change, in the same
transaction), so a call or a check-in shows without a reload, whichever server process made it.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import Request
from fastapi.responses import RedirectResponse
from nicegui import ui

from yilian.kit.auth.domain import Actor, Permission
from yilian.kit.clock import business_date
from yilian.kit.db import unit_of_work
from yilian.kit.errors import YilianError
from yilian.scheduling import service
from yilian.scheduling.domain import PERIOD_LABELS, ScheduleStatus
from yilian.scheduling.pages.common import GROUP, day_label
from yilian.web import nav
from yilian.web.shell import frame, guard, show_error

nav.register(
    nav.NavItem(
        "医生叫号",
        "/scheduling/queue",
        "record_voice_over",
        GROUP,
        Permission.QUEUE_CALL,
        order=30,
        description="本人今日排班的候诊队列与叫号",
    )
)

TAGS = {"is_return": "复诊", "priority": "优先"}


def _tags(line: service.QueueLine) -> str:
    tags = [label for attr, label in TAGS.items() if getattr(line, attr)]
    return f"（{'、'.join(tags)}）" if tags else ""


def _call_text(screen: service.QueueScreen) -> str:
    if screen.calling is None:
        return "请耐心等候"
    return (
        f"请 {screen.calling.ticket_no} 号 {screen.calling.masked_name} 到 {screen.location or '诊室'} 就诊"
    )


@ui.page("/scheduling/queue")
def queue_page(request: Request) -> RedirectResponse | None:
    """The doctor's queues of today: the patient called now (recall, skip, 接诊), those waiting in calling
    order, and 叫下一位. Redraws when the queue changes (a check-in at the desk shows without a reload)."""
    actor = guard(request, Permission.QUEUE_CALL)
    if isinstance(actor, RedirectResponse):
        return actor
    with frame(actor, "医生叫号"):
        with unit_of_work() as session:
            rows = (
                [
                    (s.id, f"{s.day} {PERIOD_LABELS.get(s.period, s.period)} {s.location}")
                    for s in service.find_schedules(
                        session, practitioner_id=actor.practitioner_id, day=business_date()
                    )
                ]
                if actor.practitioner_id
                else []
            )
        if not rows:
            ui.label("今日没有您的排班")
            if actor.practitioner_id:
                with unit_of_work() as session:
                    today = business_date()
                    upcoming = service.find_schedules(
                        session,
                        practitioner_id=actor.practitioner_id,
                        days=(today + timedelta(days=1), today + timedelta(days=30)),
                        status=ScheduleStatus.OPEN.value,
                    )
                    nxt = upcoming[0] if upcoming else None
                    text = (
                        f"下一次出诊：{day_label(nxt.day)} {PERIOD_LABELS.get(nxt.period, nxt.period)} "
                        f"{nxt.location}"
                        if nxt
                        else "未来 30 天没有排班"
                    )
                ui.label(text).classes("text-grey-8").props('data-testid="queue-next-clinic"')
            return None
        for sid, label in rows:
            _QueueCard(actor, sid, label)
    return None


class _QueueCard:
    def __init__(self, actor: Actor, schedule_id: int, label: str) -> None:
        self.actor = actor
        self.sid = schedule_id
        self.seen = -1
        with ui.card().classes("w-full max-w-3xl"):
            with ui.row().classes("w-full items-center justify-between"):
                ui.label(label).classes("text-lg")
                ui.link("打开候诊大屏", f"/scheduling/display/{schedule_id}", new_tab=True)
            self.current = ui.column().classes("w-full").props(f'data-testid="queue-current-{schedule_id}"')
            with ui.row().classes("gap-2"):
                ui.button("叫下一位", on_click=self.call).props(f'data-testid="call-next-{schedule_id}"')
            ui.label("候诊（按叫号顺序）").classes("text-subtitle2 text-grey-8 q-mt-sm")
            self.table = ui.column().classes("w-full gap-1").props(f'data-testid="queue-{schedule_id}"')
        self.refresh()
        ui.timer(1.0, self.poll)

    def poll(self) -> None:
        with unit_of_work() as session:
            version = service.queue_version(session, self.sid)
        if version != self.seen:
            self.refresh()

    def refresh(self) -> None:
        with unit_of_work() as session:
            screen = service.queue_screen(session, self.sid)
        self.seen = screen.version
        self.current.clear()
        with self.current:
            if screen.calling is None:
                ui.label("当前无就诊患者").classes("text-grey-7")
            else:
                c = screen.calling
                with ui.row().classes("w-full items-center gap-3"):
                    ui.label(f"{c.ticket_no} 号 {c.name} 就诊中{_tags(c)}").classes("text-h6 text-primary")
                    if c.calls > 1:
                        ui.badge(f"已呼 {c.calls} 次", color="orange")
                    ui.button("重呼", on_click=lambda _e, i=c.entry_id: self.act(service.recall, i)).props(
                        f'dense outline data-testid="recall-{c.entry_id}"'
                    )
                    ui.button("过号", on_click=lambda _e, i=c.entry_id: self.act(service.skip, i)).props(
                        f'dense outline color=warning data-testid="skip-{c.entry_id}"'
                    )
                    ui.link("接诊 → 门诊医嘱", f"/clinic?patient_id={c.patient_id}").props(
                        f'data-testid="open-visit-{c.entry_id}"'
                    )
        self.table.clear()
        with self.table:
            if not screen.waiting:
                ui.label("暂无候诊患者").classes("text-grey-7")
            for n, w in enumerate(screen.waiting, start=1):
                ui.label(f"{n}. {w.ticket_no} 号 {w.name} 候诊{_tags(w)}")

    def call(self) -> None:
        try:
            with unit_of_work() as session:
                e = service.call_next(session, self.actor, self.sid)
                ticket = e.ticket_no
        except YilianError as exc:
            show_error(exc)
        else:
            ui.notify(f"已呼叫 {ticket} 号")
        self.refresh()

    def act(self, operation: Any, entry_id: int) -> None:
        try:
            with unit_of_work() as session:
                operation(session, self.actor, entry_id)
        except YilianError as exc:
            show_error(exc)
        self.refresh()


@ui.page("/scheduling/display/{schedule_id}")
def display_page(schedule_id: int) -> None:
    """Waiting-room display (候诊大屏, no login: names masked): the current call in large type and the
    next patients; it polls the schedule's queue version each second and redraws when it changes."""
    ui.page_title("候诊大屏 - 医联")
    ui.query("body").classes("bg-grey-2")
    with unit_of_work() as session:
        try:
            sched = service.get_schedule(session, schedule_id)
        except YilianError:
            ui.label("该诊室排班不存在").classes("text-h4 q-pa-xl")
            return
        heading = f"{sched.location or '诊室'} · {PERIOD_LABELS.get(sched.period, sched.period)}候诊"
    with ui.column().classes("w-full items-center q-pa-lg gap-6"):
        ui.label(heading).classes("text-h3 text-primary")
        current = (
            ui.label("").classes("text-5xl text-red-700 text-weight-bold").props('data-testid="display-call"')
        )
        ui.label("请以下患者做好准备").classes("text-h5 text-grey-8")
        upcoming = ui.row().classes("gap-6 justify-center").props('data-testid="display-next"')
    seen = {"v": -1}

    def poll() -> None:
        with unit_of_work() as session:
            if service.queue_version(session, schedule_id) == seen["v"]:
                return
            screen = service.queue_screen(session, schedule_id)
        seen["v"] = screen.version
        current.set_text(_call_text(screen))
        upcoming.clear()
        with upcoming:
            for w in screen.waiting[:6]:
                ui.label(f"{w.ticket_no} 号 {w.masked_name}").classes("text-h4")
            if not screen.waiting:
                ui.label("—").classes("text-h4 text-grey-6")

    poll()
    ui.timer(1.0, poll)
