"""Pages of two-way referral (双向转诊): the doctor's referral form and list (/alliance/referrals), the lead
hospital's referral desk (/alliance/desk) and the patient's phone page (/alliance/my)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

from fastapi import Request
from fastapi.responses import RedirectResponse
from nicegui import ui
from sqlalchemy.orm import Session

from yilian.alliance import service
from yilian.alliance.domain import PERIOD_LABELS, ReferralKind, State
from yilian.alliance.schemas import BedBody, ReferBackBody, ReferralCreate
from yilian.kit.auth.domain import Actor, Permission, Role
from yilian.kit.clock import BUSINESS_TZ, business_date
from yilian.kit.db import unit_of_work
from yilian.kit.errors import YilianError
from yilian.registry import service as registry
from yilian.web import nav
from yilian.web.shell import allowed, frame, guard, show_error

GROUP = "医联体"
nav.register(
    nav.NavItem(
        "双向转诊",
        "/alliance/referrals",
        "swap_vert",
        GROUP,
        Permission.REFERRAL_WRITE,
        order=60,
        description="上转专科门诊或住院、下转康复与慢病随访，查看转诊单进度",
    )
)
nav.register(
    nav.NavItem(
        "转诊服务台",
        "/alliance/desk",
        "support_agent",
        GROUP,
        Permission.REFERRAL_DESK,
        order=61,
        description="接收或拒绝转诊，预约转诊预留号源，登记到诊",
    )
)
nav.register(
    nav.NavItem(
        "我的转诊",
        "/alliance/my",
        "swap_vert",
        "患者服务",
        roles=frozenset({Role.PATIENT}),
        order=8,
        description="转诊进度、预约时间地点与回社区后的随访方案",
    )
)

STATE_COLORS = {
    "requested": "orange",
    "accepted": "blue",
    "refused": "grey",
    "booked": "teal",
    "arrived": "green",
    "returned": "purple",
    "closed": "grey",
}


def _when(at: object) -> str:
    return at.astimezone(BUSINESS_TZ).strftime("%m-%d %H:%M") if at else "—"  # type: ignore[attr-defined]


def _act(fn: Callable[[Session], object], done: str, redraw: Callable[[], None]) -> None:
    """Run ``fn(session)`` in one unit of work; tell the outcome and redraw."""
    try:
        with unit_of_work() as session:
            fn(session)
    except YilianError as exc:
        show_error(exc)
        return
    ui.notify(done, type="positive")
    redraw()


def _badge(v: service.ReferralView) -> None:
    ui.badge(v.state_label, color=STATE_COLORS[v.referral.state]).props(
        f'data-testid="state-{v.referral.id}"'
    )
    if v.overdue:
        ui.badge("超时未答复", color="negative")


def _summary(v: service.ReferralView) -> None:
    r = v.referral
    ui.label(f"{v.direction_label} · {v.kind_label} · {v.patient}").classes("text-subtitle2")
    ui.label(f"{v.from_institution} → {v.to_institution} {v.to_department}").classes("text-caption")
    ui.label(f"诊断：{r.diagnosis}　原因：{r.reason}").classes("text-caption text-grey-8")
    if v.appointment:
        ui.label(f"预约：{v.appointment}" + (f"（{v.to_doctor}）" if v.to_doctor else "")).classes(
            "text-caption text-teal-8"
        )
    if r.refuse_reason:
        ui.label(f"拒绝原因：{r.refuse_reason}").classes("text-caption text-negative")
    if r.care_plan:
        dates = "、".join(r.follow_up_dates.split(",")) if r.follow_up_dates else ""
        ui.label(f"康复/随访方案：{r.care_plan}" + (f"（随访 {dates}）" if dates else "")).classes(
            "text-caption text-purple-8"
        ).props(f'data-testid="care-plan-{r.id}"')
    with ui.row().classes("items-center gap-3"):
        ui.label(f"申请 {_when(r.requested_at)} · 单号 {r.id}").classes("text-caption text-grey-6")
        ui.link("打印转诊单（PDF）", f"/api/v1/alliance/referrals/{r.id}/letter.pdf", new_tab=True).classes(
            "text-caption"
        ).props(f'data-testid="letter-{r.id}"')


# ---------------------------------------------------------------- the doctor's page


@ui.page("/alliance/referrals")
def referrals_page(request: Request) -> RedirectResponse | None:
    actor = guard(request, Permission.REFERRAL_WRITE)
    if isinstance(actor, RedirectResponse):
        return actor
    if not allowed(actor, Permission.REFERRAL_WRITE):
        return None
    with frame(actor, "双向转诊"):
        top = ui.column().classes("w-full")
        lists = _DoctorLists(actor)
        with top:
            _ReferralForm(actor, lists.draw)
    return None


class _ReferralForm:
    """The referral form: find the patient, choose where and why; a down-referral needs a care plan."""

    def __init__(self, actor: Actor, on_done: Callable[[], None]) -> None:
        self.actor, self.on_done = actor, on_done
        with unit_of_work() as session:
            self.targets = service.referral_targets(session, actor)
        with (
            ui.expansion("发起转诊", icon="add")
            .classes("w-full max-w-3xl bg-grey-1")
            .props('data-testid="referral-form"')
        ):
            if not self.targets:
                ui.label("本机构尚未加入医联体").classes("text-grey-7")
                return
            with ui.row().classes("w-full items-end gap-2"):
                self.q = (
                    ui.input("患者（姓名、身份证号或主索引号）").classes("grow").props('data-testid="ref-q"')
                )
                ui.button("查找", on_click=self.find).props('data-testid="ref-find"')
            self.patient = ui.select({}, label="患者").classes("w-full").props('data-testid="ref-patient"')
            self.kind = (
                ui.select(
                    {k.value: f"{k.direction.label} · {k.label}" for k in ReferralKind},
                    value=ReferralKind.OUTPATIENT.value,
                    label="转诊类型",
                    on_change=self.kind_changed,
                )
                .classes("w-full")
                .props('data-testid="ref-kind"')
            )
            self.target = (
                ui.select(
                    {t[0]: t[1] + ("（牵头医院）" if t[2] else "") for t in self.targets},
                    value=self.targets[0][0],
                    label="接收机构",
                    on_change=self.target_changed,
                )
                .classes("w-full")
                .props('data-testid="ref-target"')
            )
            self.dept = ui.select({}, label="接收科室").classes("w-full").props('data-testid="ref-dept"')
            self.diagnosis = ui.input("初步诊断").classes("w-full").props('data-testid="ref-diagnosis"')
            self.reason = ui.input("转诊原因").classes("w-full").props('data-testid="ref-reason"')
            self.summary = ui.textarea("病情摘要").classes("w-full").props('data-testid="ref-summary"')
            self.plan_box = ui.column().classes("w-full")
            with self.plan_box:
                self.care_plan = ui.textarea("康复/随访方案（下转必填）").classes("w-full")
                self.follow_up = ui.input(
                    "随访日期", value=(business_date() + timedelta(days=14)).isoformat()
                )
            ui.button("提交转诊", on_click=self.submit).props('data-testid="ref-submit"')
        self.target_changed()
        self.kind_changed()

    def find(self) -> None:
        try:
            with unit_of_work() as session:
                rows, _ = registry.search_patients(session, self.actor, q=self.q.value or "", limit=20)
        except YilianError as exc:
            show_error(exc)
            return
        self.patient.options = {p.id: f"{p.name}（{p.mpi_id}）" for p in rows}
        self.patient.value = rows[0].id if rows else None
        self.patient.update()
        if not rows:
            ui.notify("未找到本机构可见的患者", type="warning")

    def target_changed(self) -> None:
        with unit_of_work() as session:
            depts = service.clinical_departments(session, int(self.target.value))
        self.dept.options = {0: "（不指定）"} | dict(depts)
        self.dept.value = depts[0][0] if depts else 0
        self.dept.update()

    def kind_changed(self) -> None:
        self.plan_box.set_visibility(ReferralKind(self.kind.value).direction.value == "down")

    def submit(self) -> None:
        if not self.patient.value:
            ui.notify("请先查找并选择患者", type="warning")
            return
        try:
            dates = [
                date.fromisoformat(d.strip()) for d in (self.follow_up.value or "").split(",") if d.strip()
            ]
        except ValueError:
            ui.notify("随访日期格式应为 2026-06-01", type="warning")
            return
        kind = ReferralKind(self.kind.value)
        try:
            data = ReferralCreate(
                patient_id=int(self.patient.value),
                kind=kind,
                to_institution_id=int(self.target.value),
                to_department_id=int(self.dept.value) or None if self.dept.value else None,
                diagnosis=self.diagnosis.value or "",
                reason=self.reason.value or "",
                summary=self.summary.value or "",
                care_plan=self.care_plan.value if kind.direction.value == "down" else "",
                follow_up_dates=dates if kind.direction.value == "down" else [],
            )
        except ValueError:
            ui.notify("请填写诊断和转诊原因", type="warning")
            return
        _act(lambda s: service.create_referral(s, self.actor, data), "转诊单已提交", self.on_done)


def two_lists(
    first: tuple[str, str, str, str], second: tuple[str, str, str, str]
) -> tuple[ui.column, ui.column]:
    """Two tabs, each holding a list column; each tab given as (name, label, tab test id, list test id)."""
    with ui.tabs().classes("w-full") as tabs:
        for name, label, tab_id, _list_id in (first, second):
            ui.tab(name, label=label).props(f'data-testid="{tab_id}"')
    columns = []
    with ui.tab_panels(tabs, value=first[0]).classes("w-full"):
        for name, _label, _tab_id, list_id in (first, second):
            with ui.tab_panel(name):
                columns.append(ui.column().classes("w-full gap-2").props(f'data-testid="{list_id}"'))
    return columns[0], columns[1]


class _DoctorLists:
    """The doctor's referrals: those sent from and those received at the institution, with actions."""

    def __init__(self, actor: Actor) -> None:
        self.actor = actor
        self.received, self.sent = two_lists(
            ("received", "转入本院", "tab-received", "received-list"),
            ("sent", "本院转出", "tab-sent", "sent-list"),
        )
        self.draw()

    def draw(self) -> None:
        with unit_of_work() as session:
            got = service.referral_views(
                session, service.list_referrals(session, self.actor, side="received")
            )
            out = service.referral_views(session, service.list_referrals(session, self.actor, side="sent"))
        for box, rows, actions in ((self.received, got, True), (self.sent, out, False)):
            box.clear()
            with box:
                if not rows:
                    ui.label("暂无转诊单").classes("text-grey-7")
                for v in rows:
                    with ui.card().classes("w-full").props(f'data-testid="referral-{v.referral.id}"'):
                        _badge(v)
                        _summary(v)
                        if actions:
                            self.actions(v)

    def actions(self, v: service.ReferralView) -> None:
        r, a = v.referral, self.actor
        state = State(r.state)
        with ui.row().classes("gap-2"):
            if state is State.REQUESTED:
                ui.button(
                    "接收", on_click=lambda: _act(lambda s: service.accept(s, a, r.id), "已接收", self.draw)
                ).props(f'data-testid="accept-{r.id}" dense')
            if state in (State.ACCEPTED, State.BOOKED):
                ui.button(
                    "已到诊",
                    on_click=lambda: _act(
                        lambda s: service.mark_arrived(s, a, r.id), "已登记到诊", self.draw
                    ),
                ).props(f'data-testid="arrive-{r.id}" dense')
            if state is State.ARRIVED and r.direction == "up":
                ui.button("转回基层", on_click=lambda: _refer_back_dialog(a, r.id, self.draw)).props(
                    f'data-testid="refer-back-{r.id}" dense'
                )
            if state in (State.ACCEPTED, State.BOOKED, State.ARRIVED):
                ui.button(
                    "结束",
                    on_click=lambda: _act(lambda s: service.close(s, a, r.id), "转诊已结束", self.draw),
                ).props(f'data-testid="close-{r.id}" dense flat')


def _refer_back_dialog(actor: Actor, referral_id: int, redraw: Callable[[], None]) -> None:
    """The specialist's down-referral with its care plan and follow-up dates."""
    with ui.dialog() as dialog, ui.card().classes("w-full max-w-lg"):
        ui.label("转回基层（下转）").classes("text-subtitle1")
        kind = ui.select(
            {ReferralKind.CHRONIC.value: "慢病随访", ReferralKind.REHABILITATION.value: "康复治疗"},
            value=ReferralKind.CHRONIC.value,
            label="下转类型",
        ).classes("w-full")
        summary = ui.textarea("诊疗经过").classes("w-full").props('data-testid="back-summary"')
        plan = ui.textarea("康复/随访方案").classes("w-full").props('data-testid="back-plan"')
        first = ui.input("随访日期", value=(business_date() + timedelta(days=14)).isoformat()).props(
            'data-testid="back-date"'
        )

        def submit() -> None:
            try:
                body = ReferBackBody(
                    kind=ReferralKind(kind.value),
                    summary=summary.value or "",
                    care_plan=plan.value or " ",
                    follow_up_dates=[date.fromisoformat(first.value.strip())] if first.value else [],
                )
            except ValueError:
                ui.notify("随访日期格式应为 2026-06-01", type="warning")
                return
            dialog.close()
            _act(lambda s: service.refer_back(s, actor, referral_id, body), "已转回基层", redraw)

        with ui.row():
            ui.button("提交", on_click=submit).props('data-testid="back-submit"')
            ui.button("取消", on_click=dialog.close).props("flat")
    dialog.open()


# ---------------------------------------------------------------- the referral desk


@ui.page("/alliance/desk")
def desk_page(request: Request) -> RedirectResponse | None:
    actor = guard(request, Permission.REFERRAL_DESK)
    if isinstance(actor, RedirectResponse):
        return actor
    if not allowed(actor, Permission.REFERRAL_DESK):
        return None
    with frame(actor, "转诊服务台"):
        ui.label("上转患者：接收后优先预约转诊预留号源（就诊前 24 小时未用则放给公众）").classes(
            "text-caption text-grey-7"
        )
        _Desk(actor)
    return None


class _Desk:
    """Referrals received by the desk's hospital that still need the desk."""

    def __init__(self, actor: Actor) -> None:
        self.actor = actor
        self.box = ui.column().classes("w-full gap-2").props('data-testid="desk-list"')
        self.draw()

    def draw(self) -> None:
        wanted = [State.REQUESTED.value, State.ACCEPTED.value, State.BOOKED.value]
        with unit_of_work() as session:
            rows = service.referral_views(
                session, service.list_referrals(session, self.actor, side="received", states=wanted)
            )
        self.box.clear()
        with self.box:
            if not rows:
                ui.label("暂无待处理的转诊").classes("text-grey-7")
            for v in rows:
                with ui.card().classes("w-full").props(f'data-testid="desk-{v.referral.id}"'):
                    _badge(v)
                    _summary(v)
                    self.actions(v)

    def actions(self, v: service.ReferralView) -> None:
        r, a = v.referral, self.actor
        state = State(r.state)
        with ui.row().classes("w-full items-end gap-2"):
            if state is State.REQUESTED:
                ui.button(
                    "接收", on_click=lambda: _act(lambda s: service.accept(s, a, r.id), "已接收", self.draw)
                ).props(f'data-testid="desk-accept-{r.id}" dense')
                reason = ui.input("拒绝原因").props(f'data-testid="desk-reason-{r.id}" dense')
                ui.button(
                    "拒绝",
                    on_click=lambda: _act(
                        lambda s: service.refuse(s, a, r.id, reason.value or ""), "已拒绝", self.draw
                    ),
                ).props(f'data-testid="desk-refuse-{r.id}" dense flat color=negative')
            if state is State.ACCEPTED and r.kind == ReferralKind.OUTPATIENT.value:
                self.booking(r.id)
            if state is State.ACCEPTED and r.kind == ReferralKind.ADMISSION.value:
                self.bed(r.id, r.to_institution_id, r.to_department_id)
            if state is State.BOOKED:
                ui.button(
                    "登记到诊",
                    on_click=lambda: _act(
                        lambda s: service.mark_arrived(s, a, r.id), "已登记到诊", self.draw
                    ),
                ).props(f'data-testid="desk-arrive-{r.id}" dense')

    def booking(self, referral_id: int) -> None:
        with unit_of_work() as session:
            options = _slot_options(session, self.actor, referral_id)
        if not options:
            ui.label("该科室近期没有可预约的号源").classes("text-caption text-grey-7")
            return
        pick = ui.select(options, value=next(iter(options)), label="号源").classes("min-w-[260px]")
        pick.props(f'data-testid="desk-slot-{referral_id}"')
        ui.button(
            "预约",
            on_click=lambda: _act(
                lambda s: service.book(s, self.actor, referral_id, int(pick.value)), "已预约", self.draw
            ),
        ).props(f'data-testid="desk-book-{referral_id}" dense')

    def bed(self, referral_id: int, institution_id: int, department_id: int | None) -> None:
        """An admission referral: ask the bed office for a bed in a department on a day."""
        with unit_of_work() as session:
            depts = dict(service.clinical_departments(session, institution_id))
        dept = ui.select(depts, value=department_id, label="收治科室").classes("min-w-[200px]")
        dept.props(f'data-testid="desk-bed-dept-{referral_id}"')
        day = ui.input("预计入院", value=business_date().isoformat()).props(
            f'type=date dense data-testid="desk-bed-day-{referral_id}"'
        )
        severe = ui.checkbox("重症").props(f'data-testid="desk-bed-severe-{referral_id}"')

        def send(s: Session) -> object:
            body = BedBody(
                department_id=dept.value,
                expected_on=date.fromisoformat(day.value) if day.value else None,
                severe=bool(severe.value),
            )
            return service.request_bed(s, self.actor, referral_id, body)

        ui.button("申请床位", on_click=lambda: _act(send, "已向住院服务中心申请床位", self.draw)).props(
            f'data-testid="desk-bed-{referral_id}" dense'
        )


def _slot_options(session: Session, actor: Actor, referral_id: int) -> dict[int, str]:
    """Slots with places, reserved ones first: id → "05-11 上午 08:00 预留余 3"."""
    rows = []
    for sched, slots in service.bookable_slots(session, actor, referral_id):
        for slot, reserved in slots:
            free = slot.capacity - slot.booked
            if reserved <= 0 and free <= 0:
                continue
            tag = f"转诊预留余 {reserved}" if reserved > 0 else f"公众余 {free}"
            when = f"{sched.day.strftime('%m-%d')} {PERIOD_LABELS.get(sched.period, '')}"
            label = f"{when} {slot.start.strftime('%H:%M')} {tag}"
            rows.append((reserved <= 0, sched.day, slot.start, slot.id, label))
    return {slot_id: label for *_k, slot_id, label in sorted(rows)[:40]}


# ---------------------------------------------------------------- the patient's phone page


@ui.page("/alliance/my")
def my_page(request: Request) -> RedirectResponse | None:
    actor = guard(request)
    if isinstance(actor, RedirectResponse):
        return actor
    with frame(actor, "我的转诊"):
        if actor.patient_id is None:
            ui.label("仅患者账号可查看本人转诊").classes("text-grey-7")
            return None
        with unit_of_work() as session:
            rows = service.referral_views(
                session, service.patient_referrals(session, actor, actor.patient_id)
            )
        with ui.column().classes("w-full max-w-md gap-3").props('data-testid="my-referrals"'):
            if not rows:
                ui.label("暂无转诊记录").classes("text-grey-7")
            for v in rows:
                with ui.card().classes("w-full").props(f'data-testid="my-referral-{v.referral.id}"'):
                    _badge(v)
                    _summary(v)
    return None


# the dashboard, sitting calendar and reading worklist; the administrator's alliances, pairings and postings
from yilian.alliance import admin_pages, work_pages  # noqa: E402, F401
