"""The holiday calendar tab of schedule administration (节假日日历): a year's statutory holidays and make-up
working days, entered by the admin when the State Council publishes them, and the fall-back warning
for years not entered in full. One calendar serves every institution."""

from __future__ import annotations

from datetime import date, timedelta

from nicegui import ui

from yilian.kit.auth.domain import Actor
from yilian.kit.clock import business_date
from yilian.kit.db import unit_of_work
from yilian.kit.errors import YilianError
from yilian.scheduling import service
from yilian.scheduling.domain import DAY_KINDS, EDITABLE_KINDS
from yilian.scheduling.models import CalendarDay
from yilian.scheduling.pages.common import WEEKDAYS
from yilian.web.shell import show_error

SOURCE_LABELS = {"package": "内置数据导入", "admin": "管理员录入"}
HORIZON_DAYS = 92  # the longest generation; the admin page warns about every year it reaches


def warning_banner(text: str, testid: str) -> None:
    """An orange banner with a warning the admin must act on."""
    with ui.card().classes("w-full bg-orange-1").props(f'data-testid="{testid}"'):
        with ui.row().classes("items-start gap-2 no-wrap"):
            ui.icon("warning", color="warning").classes("text-h6")
            ui.label(text).classes("text-body2")


def coming_warning() -> str | None:
    """The fall-back warning for the days schedules may be generated for from today."""
    today = business_date()
    with unit_of_work() as session:
        return service.calendar_warning(session, today, today + timedelta(days=HORIZON_DAYS))


class CalendarPanel:
    """A year of the calendar: its state and warning, the days entered, and a form to add one."""

    def __init__(self, actor: Actor) -> None:
        self.actor = actor
        self.year = business_date().year
        self.box = ui.column().classes("w-full gap-3").props('data-testid="calendar"')
        self.draw()

    def draw(self) -> None:
        self.box.clear()
        with unit_of_work() as session:
            years = service.calendar_overview(session)
            info = service.calendar_year_info(session, self.year)
            days = service.calendar_days(session, self.year)
        with self.box:
            with ui.row().classes("items-center gap-4"):
                ui.select(
                    {y.year: f"{y.year}年" for y in years} | {self.year: f"{self.year}年"},
                    value=self.year,
                    label="年份",
                    on_change=lambda e: self.pick(int(e.value)),
                ).props('outlined dense data-testid="calendar-year"').classes("w-32")
                state = "已录入完整" if info.complete else ("未录入完整" if info.stored else "无数据")
                ui.badge(state, color="positive" if info.complete else "warning").props(
                    'data-testid="calendar-state"'
                )
                if info.source:
                    ui.label(f"来源：{SOURCE_LABELS.get(info.source, info.source)}").classes(
                        "text-grey-8 text-sm"
                    )
                ui.switch(
                    "本年安排已按国务院办公厅通知录入完整",
                    value=info.complete,
                    on_change=lambda e: self.mark_complete(bool(e.value)),
                ).props('data-testid="calendar-complete"')
            if info.warning:
                warning_banner(info.warning, "calendar-warning")
            with ui.card().classes("w-full"):
                ui.label(
                    f"{self.year}年：法定节假日 {info.holidays} 天，调休上班 {info.makeup_days} 天"
                ).classes("text-subtitle1 text-primary")
                with ui.column().classes("w-full gap-0").props('data-testid="calendar-days"'):
                    for row in days:
                        self.day_row(row)
                    if not days:
                        ui.label("本年尚无录入的节假日或调休上班日").classes("text-grey-7")
            self.draw_form()

    def day_row(self, row: CalendarDay) -> None:
        iso = row.day.isoformat()
        with (
            ui.row()
            .classes("items-center gap-3 w-full border-b q-py-xs")
            .props(f'data-testid="calendar-day-{iso}"')
        ):
            ui.label(f"{iso} 周{WEEKDAYS[row.day.weekday()]}").classes("w-40")
            ui.badge(DAY_KINDS[row.kind], color="negative" if row.kind == "holiday" else "primary")
            ui.label(row.name).classes("w-48")
            ui.label(SOURCE_LABELS.get(row.source, row.source)).classes("w-28 text-grey-8")
            ui.button(icon="delete", on_click=lambda _e, d=row.day: self.remove(d)).props(
                f'flat dense color=negative data-testid="calendar-remove-{iso}"'
            ).tooltip("删除该日（恢复为普通工作日或周末）")

    def draw_form(self) -> None:
        with ui.card().classes("w-full"):
            ui.label("录入法定节假日或调休上班日").classes("text-subtitle1 text-primary")
            with ui.row().classes("items-end gap-3 flex-wrap"):
                day = (
                    ui.input("日期（年-月-日）", value=f"{self.year}-01-01")
                    .props('outlined dense data-testid="calendar-new-day"')
                    .classes("w-44")
                )
                kind = (
                    ui.select({k: DAY_KINDS[k] for k in EDITABLE_KINDS}, label="类型", value="holiday")
                    .props('outlined dense data-testid="calendar-new-kind"')
                    .classes("w-36")
                )
                name = (
                    ui.input("节日（例如 元旦）")
                    .props('outlined dense maxlength=40 data-testid="calendar-new-name"')
                    .classes("w-48")
                )
                ui.button(
                    "保存", on_click=lambda: self.save(day.value, str(kind.value), name.value or "")
                ).props('data-testid="calendar-save"')
            ui.label(
                "节假日全国统一，所有机构共用；已生成的排班不会自动停诊，如需休诊请在排班中停诊"
            ).classes("text-xs text-grey-7")

    def pick(self, year: int) -> None:
        self.year = year
        self.draw()

    def save(self, text: str | None, kind: str, name: str) -> None:
        try:
            day = date.fromisoformat((text or "").strip())
        except ValueError:
            ui.notify("日期格式应为 年-月-日，例如 2027-01-01", type="warning")
            return
        try:
            with unit_of_work() as session:
                service.set_calendar_day(session, self.actor, day=day, kind=kind, name=name)
                existing = service.open_schedules_on(session, day)
        except YilianError as exc:
            show_error(exc)
            return
        ui.notify(f"已保存 {day.isoformat()} {DAY_KINDS[kind]}", type="positive")
        if existing:
            ui.notify(f"该日已生成 {existing} 个排班，不会自动停诊", type="warning")
        self.year = day.year
        self.draw()

    def remove(self, day: date) -> None:
        try:
            with unit_of_work() as session:
                service.remove_calendar_day(session, self.actor, day)
        except YilianError as exc:
            show_error(exc)
            return
        ui.notify(f"已删除 {day.isoformat()}", type="positive")
        self.draw()

    def mark_complete(self, complete: bool) -> None:
        try:
            with unit_of_work() as session:
                service.set_calendar_year_complete(session, self.actor, self.year, complete)
        except YilianError as exc:
            show_error(exc)
            return
        self.draw()
