"""Doctor's queue with call-next and a live waiting-room display.

The display polls a cheap per-schedule version counter bumped by the ``scheduling.queue_changed``
subscriber (which runs on the outbox Dispatcher thread after commit), so a call shows without a reload.
"""

from __future__ import annotations

import threading
from typing import Any

from fastapi import Request
from fastapi.responses import RedirectResponse
from nicegui import ui
from sqlalchemy.orm import Session

from yilian.kit import events
from yilian.kit.auth.domain import Permission
from yilian.kit.clock import business_date
from yilian.kit.db import unit_of_work
from yilian.kit.errors import YilianError
from yilian.scheduling import repository as repo
from yilian.scheduling import service
from yilian.scheduling.domain import PERIOD_LABELS
from yilian.scheduling.pages.common import GROUP
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

_versions: dict[int, int] = {}
_last_call: dict[int, str] = {}
_lock = threading.Lock()


@events.subscribe("scheduling.queue_changed")
def _on_queue_changed(_session: Session, event: events.Event) -> None:
    payload = event.payload
    sid = int(payload.get("schedule_id", 0))
    with _lock:
        _versions[sid] = _versions.get(sid, 0) + 1
        if payload.get("kind") in ("called", "recalled"):
            _last_call[sid] = f"请 {payload.get('ticket_no')} 号 到 {payload.get('location') or '诊室'} 就诊"


@ui.page("/scheduling/queue")
def queue_page(request: Request) -> RedirectResponse | None:
    actor = guard(request, Permission.QUEUE_CALL)
    if isinstance(actor, RedirectResponse):
        return actor
    with frame(actor, "医生叫号"):
        with unit_of_work() as session:
            rows = (
                [
                    (s.id, f"{s.day} {PERIOD_LABELS.get(s.period, s.period)} {s.location}")
                    for s in repo.schedules(
                        session, practitioner_id=actor.practitioner_id, day=business_date()
                    )
                ]
                if actor.practitioner_id
                else []
            )
        if not rows:
            ui.label("今日没有您的排班")
            return None
        for sid, label in rows:
            with ui.card().classes("w-full"):
                ui.label(label).classes("text-lg")
                ui.link("候诊大屏", f"/scheduling/display/{sid}")
                table = ui.column().props(f'data-testid="queue-{sid}"')

                def refresh(sid: int = sid, table: ui.column = table) -> None:
                    table.clear()
                    with unit_of_work() as session, table:
                        for e in service.queue(session, sid):
                            state = {"waiting": "候诊", "called": "就诊中"}.get(e.status, e.status)
                            tag = "（复诊）" if e.is_return else ""
                            ui.label(f"{e.ticket_no} 号 {state}{tag}")

                def call(sid: int = sid, refresh: Any = refresh) -> None:
                    try:
                        with unit_of_work() as session:
                            e = service.call_next(session, actor, sid)
                            ui.notify(f"已呼叫 {e.ticket_no} 号")
                    except YilianError as exc:
                        show_error(exc)
                    refresh()

                ui.button("叫下一位", on_click=call).props(f'data-testid="call-next-{sid}"')
                refresh()
    return None


@ui.page("/scheduling/display/{schedule_id}")
def display_page(schedule_id: int) -> None:
    """Waiting-room display (候诊大屏): updates live when a patient is called."""
    ui.page_title("候诊大屏 - 医联")
    title = ui.label("候诊叫号").classes("text-3xl")
    current = ui.label(_last_call.get(schedule_id, "请耐心等候")).classes("text-5xl text-red-700")
    current.props('data-testid="display-call"')
    seen = {"v": -1}

    def poll() -> None:
        with _lock:
            v = _versions.get(schedule_id, 0)
            text = _last_call.get(schedule_id, "请耐心等候")
        if v != seen["v"]:
            seen["v"] = v
            current.set_text(text)

    ui.timer(1.0, poll)
    _ = title
