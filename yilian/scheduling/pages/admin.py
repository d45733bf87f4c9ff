"""Schedule administration (排班管理): an institution's booking policy, its weekly templates (排班模板),
generating the schedules of the coming days from them, and the holiday calendar (节假日日历)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from fastapi import Request
from fastapi.responses import RedirectResponse
from nicegui import ui

from yilian.kit.auth.domain import Actor, Permission
from yilian.kit.clock import business_date
from yilian.kit.db import unit_of_work
from yilian.kit.errors import YilianError
from yilian.kit.money import MoneyFormatError, parse_yuan, yuan
from yilian.registry import service as registry
from yilian.scheduling import service
from yilian.scheduling.domain import CLINIC_TYPE_LABELS, PERIOD_LABELS, Policy
from yilian.scheduling.pages.calendar import CalendarPanel, coming_warning, warning_banner
from yilian.scheduling.pages.common import GROUP, WEEKDAYS, Names, clinic_label
from yilian.web import nav
from yilian.web.shell import allowed, frame, guard, show_error

nav.register(
    nav.NavItem(
        "排班管理",
        "/scheduling/admin",
        "edit_calendar",
        GROUP,
        Permission.SCHEDULE_MANAGE,
        order=32,
        description="预约放号与取消规则、挂号费、一号管三天；排班模板与按模板生成排班",
    )
)

# Whole-number policy values: field → (label, unit)
NUMBERS: dict[str, tuple[str, str]] = {
    "release_days_ahead": ("提前放号天数", "天"),
    "hold_minutes": ("锁号待支付时限", "分钟"),
    "cancel_cutoff_minutes": ("就诊前不可网上取消", "分钟"),
    "max_bookings_per_patient_per_day": ("每人每日预约上限", "个"),
    "no_show_limit": ("爽约次数上限", "次"),
    "no_show_window_days": ("爽约统计周期", "天"),
    "no_show_ban_days": ("爽约暂停预约", "天"),
    "slice_minutes": ("分时段长度", "分钟"),
    "slice_capacity": ("每时段号源数", "个"),
    "three_day_days": ("一号管三天有效天数", "天"),
    "three_day_min_level": ("适用最低医院级别", "级"),
    "three_day_free_returns": ("免费复诊次数", "次"),
    "three_day_max_extension_days": ("停诊顺延最多", "天"),
    "priority_age": ("优先就诊年龄", "岁"),
    "return_after_firsts": ("每叫几位初诊插一位复诊", "位"),
    "skip_rejoin_places": ("过号后顺延", "位"),
}
SWITCHES = {
    "one_booking_per_doctor_session": "同一医生同一时段只能预约一次",
    "three_day_enabled": "启用一号管三天",
}
WEEKDAY_OPTIONS = {i: f"周{WEEKDAYS[i]}" for i in range(7)}


@ui.page("/scheduling/admin")
def admin_page(request: Request) -> RedirectResponse | None:
    """An institution's scheduling policy and weekly templates."""
    actor = guard(request, Permission.SCHEDULE_MANAGE)
    if isinstance(actor, RedirectResponse):
        return actor
    if not allowed(actor, Permission.SCHEDULE_MANAGE):
        return None
    with unit_of_work() as session:
        names = Names(session)
        if actor.institution_id is not None:
            hospitals = {actor.institution_id: names.institution(actor.institution_id)}
        else:
            rows, _ = registry.list_institutions(session, limit=200)
            hospitals = {i.id: i.name for i in rows if i.level >= 2}
    with frame(actor, "排班管理"):
        _Admin(actor, hospitals)
    return None


class _Admin:
    def __init__(self, actor: Actor, hospitals: dict[int, str]) -> None:
        self.actor = actor
        self.template_department: int | None = None  # the template list's department filter
        warning = coming_warning()
        if warning:
            warning_banner(warning, "admin-calendar-warning")
        self.hospital = (
            ui.select(hospitals, label="机构", value=next(iter(hospitals), None), on_change=self.load)
            .props('outlined dense data-testid="admin-institution"')
            .classes("w-80")
        )
        with ui.tabs().classes("w-full") as tabs:
            policy_tab = ui.tab("预约与挂号规则").props('data-testid="admin-tab-policy"')
            template_tab = ui.tab("排班模板").props('data-testid="admin-tab-templates"')
            calendar_tab = ui.tab("节假日日历").props('data-testid="admin-tab-calendar"')
        with ui.tab_panels(tabs, value=policy_tab).classes("w-full"):
            with ui.tab_panel(policy_tab):
                self.policy_box = ui.column().classes("w-full gap-3")
            with ui.tab_panel(template_tab):
                self.template_box = ui.column().classes("w-full gap-3")
            with ui.tab_panel(calendar_tab):
                CalendarPanel(actor)
        self.load()

    @property
    def institution_id(self) -> int | None:
        return int(self.hospital.value) if self.hospital.value else None

    def load(self) -> None:
        self.draw_policy()
        self.draw_templates()
        # tells a browser test (and assistive tools) whose form is on screen once it is redrawn
        self.policy_box.props(f'data-institution="{self.institution_id or ""}"')

    # -- policy ------------------------------------------------------------------------------------

    def draw_policy(self) -> None:
        self.policy_box.clear()
        if self.institution_id is None:
            return
        with unit_of_work() as session:
            policy = service.get_policy(session, self.institution_id)
        fields: dict[str, Any] = {}
        with self.policy_box:
            with ui.card().classes("w-full"):
                ui.label("放号、预约与取消").classes("text-subtitle1 text-primary")
                with ui.row().classes("gap-3 items-end flex-wrap"):
                    fields["release_time"] = (
                        ui.input("每日放号时间 (HH:MM)", value=policy.release_time)
                        .props('outlined dense data-testid="policy-release_time"')
                        .classes("w-44")
                    )
                    for name, (label, unit) in NUMBERS.items():
                        fields[name] = (
                            ui.number(f"{label}（{unit}）", value=getattr(policy, name), min=0, precision=0)
                            .props(f'outlined dense data-testid="policy-{name}"')
                            .classes("w-52")
                        )
                    fields["makeup_day_weekday"] = (
                        ui.select(
                            WEEKDAY_OPTIONS, label="调休上班日按星期几排班", value=policy.makeup_day_weekday
                        )
                        .props('outlined dense data-testid="policy-makeup_day_weekday"')
                        .classes("w-52")
                    )
                with ui.row().classes("gap-6"):
                    for name, label in SWITCHES.items():
                        fields[name] = ui.switch(label, value=bool(getattr(policy, name))).props(
                            f'data-testid="policy-{name}"'
                        )
                fields["three_day_clinic_types"] = (
                    ui.select(
                        {k: clinic_label(k) for k in CLINIC_TYPE_LABELS},
                        label="一号管三天适用号别",
                        value=list(policy.three_day_clinic_types),
                        multiple=True,
                    )
                    .props('outlined dense use-chips data-testid="policy-three_day_clinic_types"')
                    .classes("w-[32rem]")
                )
                fields["priority_groups"] = (
                    ui.input("优先就诊人群（以、分隔）", value="、".join(policy.priority_groups))
                    .props('outlined dense data-testid="policy-priority_groups"')
                    .classes("w-[32rem]")
                )
            with ui.card().classes("w-full"):
                ui.label("挂号费（元）").classes("text-subtitle1 text-primary")
                fees: dict[str, Any] = {}
                with ui.row().classes("gap-3 flex-wrap"):
                    for kind in CLINIC_TYPE_LABELS:
                        fees[kind] = (
                            ui.input(clinic_label(kind), value=yuan(policy.fees.get(kind, 0), symbol=False))
                            .props(f'outlined dense data-testid="fee-{kind}"')
                            .classes("w-36")
                        )
                ui.label("专家、特需门诊按职称加收（元）").classes("text-sm text-grey-8")
                surcharges: dict[str, Any] = {}
                with ui.row().classes("gap-3 flex-wrap"):
                    for title, fen in policy.title_surcharge.items():
                        surcharges[title] = (
                            ui.input(title, value=yuan(fen, symbol=False))
                            .props(f'outlined dense data-testid="surcharge-{title}"')
                            .classes("w-36")
                        )
                ui.label("修改只影响之后新建或生成的排班；已有排班的挂号费不变").classes(
                    "text-xs text-grey-7"
                )
            ui.button("保存规则", on_click=lambda: self.save_policy(policy, fields, fees, surcharges)).props(
                'data-testid="policy-save"'
            )

    def save_policy(
        self, old: Policy, fields: dict[str, Any], fees: dict[str, Any], surcharges: dict[str, Any]
    ) -> None:
        if self.institution_id is None:
            return
        try:
            new: dict[str, Any] = {
                "release_time": (fields["release_time"].value or "").strip(),
                "makeup_day_weekday": int(fields["makeup_day_weekday"].value),
                "three_day_clinic_types": list(fields["three_day_clinic_types"].value or []),
                "priority_groups": [
                    g.strip()
                    for g in (fields["priority_groups"].value or "").replace(",", "、").split("、")
                    if g.strip()
                ],
                "fees": {k: parse_yuan(w.value or "0") for k, w in fees.items()},
                "title_surcharge": {k: parse_yuan(w.value or "0") for k, w in surcharges.items()},
            }
            for name in NUMBERS:
                value = fields[name].value
                if value is None:
                    ui.notify(f"请填写{NUMBERS[name][0]}", type="warning")
                    return
                new[name] = int(value)
            for name in SWITCHES:
                new[name] = bool(fields[name].value)
        except MoneyFormatError:
            ui.notify("挂号费格式不正确：请填写元，至多两位小数", type="negative")
            return
        current = old.to_dict()
        changes = {k: v for k, v in new.items() if current.get(k) != v}
        if not changes:
            ui.notify("没有修改")
            return
        try:
            with unit_of_work() as session:
                service.set_policy(session, self.actor, self.institution_id, changes)
        except YilianError as exc:
            show_error(exc)
            return
        ui.notify(f"已保存 {len(changes)} 项规则", type="positive")
        self.draw_policy()

    # -- templates ---------------------------------------------------------------------------------

    def draw_templates(self) -> None:
        self.template_box.clear()
        if self.institution_id is None:
            return
        institution_id = self.institution_id
        with unit_of_work() as session:
            names = Names(session)
            rows = [
                (t, names.department(t.department_id), names.doctor(t.practitioner_id))
                for t in service.list_templates(session, institution_id)
            ]
            depts, _ = registry.list_departments(session, institution_id=institution_id)
            departments = {d.id: d.name for d in depts if d.is_clinical and d.is_active}
        with self.template_box:
            self._generate_card()
            self._template_list(rows)
            with ui.card().classes("w-full"):
                ui.label("新增或修改模板（同科室、医生、星期、时段的模板会被覆盖）").classes(
                    "text-subtitle1 text-primary"
                )
                _TemplateForm(self.actor, departments, on_saved=self.draw_templates)

    def _generate_card(self) -> None:
        """Generate the schedules of a date range from the weekly templates."""
        with ui.card().classes("w-full"):
            ui.label("按模板生成排班").classes("text-subtitle1 text-primary")
            with ui.row().classes("items-end gap-3"):
                start = (
                    ui.input("起始日期（年-月-日）", value=(business_date() + timedelta(days=1)).isoformat())
                    .props('outlined dense data-testid="generate-start"')
                    .classes("w-44")
                )
                days = (
                    ui.number("天数", value=14, min=1, max=92, precision=0)
                    .props('outlined dense data-testid="generate-days"')
                    .classes("w-28")
                )
                ui.button("生成排班", on_click=lambda: self.generate(start.value, days.value)).props(
                    'data-testid="generate"'
                )
            ui.label(
                "按节假日日历（法定节假日与调休）生成；未录入的年份按周末处理；已存在的排班不会重复生成"
            ).classes("text-xs text-grey-7")
            self.generated = ui.label("").classes("text-positive").props('data-testid="generate-result"')
            self.generate_warning = ui.column().classes("w-full")

    def _template_list(self, rows: list[tuple[Any, str, str]]) -> None:
        """The weekly templates, filtered by department."""
        with ui.card().classes("w-full"):
            with ui.row().classes("w-full items-center justify-between"):
                ui.label(f"每周排班模板（{len(rows)} 条）").classes("text-subtitle1 text-primary")
                used = {t.department_id: dept_name for t, dept_name, _ in rows}
                if self.template_department not in used:
                    self.template_department = None

                def pick(e: Any) -> None:
                    self.template_department = e.value
                    self.draw_templates()

                ui.select(
                    {None: "全部科室", **dict(sorted(used.items(), key=lambda kv: kv[1]))},
                    value=self.template_department,
                    label="按科室查看",
                    on_change=pick,
                ).props('outlined dense data-testid="template-filter"').classes("w-56")
            shown = [r for r in rows if self.template_department in (None, r[0].department_id)]
            table = ui.column().classes("w-full gap-0").props('data-testid="templates"')
            with table:
                for t, dept_name, doctor_name in sorted(
                    shown, key=lambda r: (r[1], r[0].weekday, r[0].period)
                ):
                    self._template_row(t, dept_name, doctor_name)
                if not rows:
                    ui.label("尚无模板").classes("text-grey-7")

    def _template_row(self, t: Any, dept_name: str, doctor_name: str) -> None:
        with (
            ui.row()
            .classes("items-center gap-3 w-full border-b q-py-xs")
            .props(f'data-testid="template-{t.id}"')
        ):
            ui.label(WEEKDAY_OPTIONS[t.weekday]).classes("w-10")
            ui.label(PERIOD_LABELS.get(t.period, t.period)).classes("w-10")
            ui.label(dept_name).classes("w-32")
            ui.label(doctor_name).classes("w-48")
            ui.label(clinic_label(t.clinic_type)).classes("w-20")
            slicing = (
                f"{t.slice_minutes or '默认'}分钟×{t.slice_capacity or '默认'}号"
                if t.slice_minutes or t.slice_capacity
                else "默认分时段"
            )
            ui.label(slicing).classes("w-36 text-grey-8")
            ui.label(t.location or "科室默认地点").classes("w-32 text-grey-8")
            ui.label("节假日照常" if t.on_holidays else "").classes("w-20 text-grey-8")
            ui.button(icon="delete", on_click=lambda _e, i=t.id: self.delete_template(i)).props(
                f'flat dense color=negative data-testid="template-delete-{t.id}"'
            ).tooltip("删除该模板")

    def delete_template(self, template_id: int) -> None:
        try:
            with unit_of_work() as session:
                service.delete_template(session, self.actor, template_id)
        except YilianError as exc:
            show_error(exc)
            return
        ui.notify("模板已删除", type="positive")
        self.draw_templates()

    def generate(self, start: str | None, days: float | None) -> None:
        if self.institution_id is None:
            return
        try:
            first = date.fromisoformat(start or "")
        except ValueError:
            ui.notify("起始日期格式应为 年-月-日，例如 2026-12-01", type="warning")
            return
        try:
            with unit_of_work() as session:
                result = service.generate_schedules(
                    session, self.actor, self.institution_id, start=first, days=int(days or 0)
                )
        except YilianError as exc:
            show_error(exc)
            return
        made = result.created
        text = f"已生成 {made} 个排班" if made else "没有需要新生成的排班（已存在的排班不会重复生成）"
        self.generated.set_text(f"{first.isoformat()} 起 {int(days or 0)} 天：{text}")
        ui.notify(text, type="positive")
        self.generate_warning.clear()
        if result.warning:
            with self.generate_warning:
                warning_banner(result.warning, "generate-warning")


class _TemplateForm:
    """The fields of a weekly template and its save button (同科室、医生、星期、时段 overwrite)."""

    def __init__(self, actor: Actor, departments: dict[int, str], *, on_saved: Callable[[], None]) -> None:
        self.actor = actor
        self.on_saved = on_saved
        with ui.row().classes("items-end gap-3 flex-wrap"):
            self._who_and_when(departments)
            self._how()
        self.dept.on_value_change(self.on_dept)
        ui.button("保存模板", on_click=self.save).props('data-testid="template-save"')

    def _who_and_when(self, departments: dict[int, str]) -> None:
        self.dept = (
            ui.select(departments, label="科室", with_input=True)
            .props('outlined dense data-testid="template-department"')
            .classes("w-44")
        )
        self.doctor = (
            ui.select({0: "不指定医生（普通号）"}, label="医生", value=0)
            .props('outlined dense data-testid="template-doctor"')
            .classes("w-52")
        )
        self.weekday = (
            ui.select(WEEKDAY_OPTIONS, label="星期", value=0)
            .props('outlined dense data-testid="template-weekday"')
            .classes("w-24")
        )
        self.period = (
            ui.select(PERIOD_LABELS, label="时段", value="am")
            .props('outlined dense data-testid="template-period"')
            .classes("w-24")
        )

    def _how(self) -> None:
        self.clinic = (
            ui.select({k: clinic_label(k) for k in CLINIC_TYPE_LABELS}, label="号别", value="ordinary")
            .props('outlined dense data-testid="template-clinic"')
            .classes("w-32")
        )
        self.location = ui.input("地点（空则用科室地点）").props("outlined dense").classes("w-48")
        self.minutes = (
            ui.number("分时段（分钟）", min=1, max=240, precision=0)
            .props("outlined dense clearable")
            .classes("w-36")
        )
        self.capacity = (
            ui.number("每时段号源", min=1, max=240, precision=0)
            .props("outlined dense clearable")
            .classes("w-32")
        )
        self.holidays = ui.checkbox("节假日照常开诊")

    def on_dept(self) -> None:
        options: dict[int, str] = {0: "不指定医生（普通号）"}
        if self.dept.value:
            with unit_of_work() as session:
                docs, _ = registry.list_practitioners(session, department_id=int(self.dept.value), limit=200)
                options.update({d.id: f"{d.name}（{d.title}）" for d in docs if d.is_active})
        self.doctor.set_options(options, value=0)

    def save(self) -> None:
        if not self.dept.value:
            ui.notify("请选择科室", type="warning")
            return
        try:
            with unit_of_work() as session:
                service.save_template(
                    session,
                    self.actor,
                    department_id=int(self.dept.value),
                    weekday=int(self.weekday.value),
                    period=str(self.period.value),
                    clinic_type=str(self.clinic.value),
                    practitioner_id=int(self.doctor.value) or None,
                    location=(self.location.value or "").strip(),
                    slice_minutes=int(self.minutes.value) if self.minutes.value else None,
                    slice_capacity=int(self.capacity.value) if self.capacity.value else None,
                    on_holidays=bool(self.holidays.value),
                )
        except YilianError as exc:
            show_error(exc)
            return
        ui.notify("模板已保存", type="positive")
        self.on_saved()
