"""Pages of inpatient care: the bed office (request queue, suggestions with reasons, a live bed board),
the ward nurse's board, the doctor's inpatient list and pre-admission, the coder's discharge abstract,
the cashier's discharge settlement and the patient's phone page."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from fastapi import Request
from fastapi.responses import RedirectResponse
from nicegui import ui

from yilian.billing import service as billing
from yilian.billing.domain import Channel
from yilian.catalog import service as catalog
from yilian.inpatient import service
from yilian.inpatient.domain import (
    DISPOSITIONS,
    RELATION_KINDS,
    AdmissionSource,
    AdmissionStatus,
    BedState,
    Ranking,
    RequestStatus,
    SettlementStatus,
    Severity,
)
from yilian.inpatient.models import Admission, Bed, DischargeAbstract, InpatientSettlement, PreAdmission
from yilian.kit.auth.domain import Actor, Permission, Role
from yilian.kit.clock import BUSINESS_TZ, business_date
from yilian.kit.db import unit_of_work
from yilian.kit.errors import YilianError
from yilian.kit.money import parse_yuan, yuan
from yilian.registry import service as registry
from yilian.web import nav
from yilian.web.shell import allowed, frame, guard, show_error

GROUP = "住院服务"
for _item in (
    nav.NavItem(
        "床位调配",
        "/inpatient/beds",
        "bed",
        GROUP,
        Permission.BED_ALLOCATE,
        order=50,
        description="全院一张床：待床队列、调配建议与实时床位看板",
    ),
    nav.NavItem(
        "病区护士站",
        "/inpatient/ward",
        "local_hospital",
        GROUP,
        Permission.INPATIENT_ADT,
        roles=frozenset({Role.NURSE, Role.BED_MANAGER, Role.ADMIN}),
        order=51,
        description="本病区床位、患者、今日出入转与日费用",
    ),
    nav.NavItem(
        "住院医生",
        "/inpatient/doctor",
        "medical_services",
        GROUP,
        Permission.PREADMISSION,
        order=52,
        description="预住院登记与检查、在院患者与医嘱",
    ),
    nav.NavItem(
        "病案首页编码",
        "/inpatient/abstract",
        "assignment",
        GROUP,
        Permission.ABSTRACT_CODE,
        order=53,
        description="诊断与手术编码、质控、签发",
    ),
    nav.NavItem(
        "出院结算",
        "/inpatient/settle",
        "point_of_sale",
        GROUP,
        Permission.BILLING_CASHIER,
        order=54,
        description="医保分割、预交金退补、冲正",
    ),
    nav.NavItem(
        "床位使用指标",
        "/inpatient/indicators",
        "insights",
        GROUP,
        Permission.BED_MANAGE,
        order=55,
        description="病床使用率、周转次数、平均住院日",
    ),
    nav.NavItem(
        "我的住院",
        "/inpatient/me",
        "hotel",
        "我的",
        roles=frozenset({Role.PATIENT, Role.FAMILY}),
        order=30,
        description="住院状态、床位与每日费用",
    ),
):
    nav.register(_item)

STATE_COLOURS = {
    "free": "bg-green-2 text-green-10",
    "reserved": "bg-amber-3 text-amber-10",
    "occupied": "bg-blue-3 text-blue-10",
    "cleaning": "bg-grey-4 text-grey-9",
    "closed": "bg-grey-8 text-white",
}
CHANNELS = {c.value: c.label for c in Channel if c != Channel.INSURANCE_CREDENTIAL}


def _run(work: Callable[[Any], Any], done: str | None = None) -> Any:
    """Run ``work(session)`` in a unit of work; show the error's words on refusal."""
    try:
        with unit_of_work() as session:
            result = work(session)
    except YilianError as exc:
        show_error(exc)
        return None
    if done:
        ui.notify(done, type="positive")
    return result


def _then(*steps: Callable[[], object]) -> None:
    """Run UI steps in order (for one-line handlers)."""
    for step in steps:
        step()


def _page(request: Request, permission: Permission | None) -> Actor | RedirectResponse | None:
    actor = guard(request, permission)
    if isinstance(actor, RedirectResponse):
        return actor
    if not allowed(actor, permission):
        return None
    if actor.institution_id is None:  # e.g. the platform admin: every inpatient page is one hospital's
        with frame(actor, "住院服务"):
            ui.label(
                "当前账号不属于任何医院，住院服务页面只对医院内的职工开放。请使用所在医院的账号登录。"
            ).classes("text-negative").props('data-testid="no-institution"')
        return None
    return actor


def _names(session: Any, admissions: list[Admission]) -> dict[int, str]:
    return registry.patient_names(session, [a.patient_id for a in admissions])


# ---------------------------------------------------------------- the bed office


def bed_board(actor: Actor, state_filter: dict[str, str]) -> None:
    """The whole hospital's beds by ward, coloured by state (refreshable part)."""
    assert actor.institution_id is not None
    with unit_of_work() as session:
        wards = service.wards(session, actor, actor.institution_id)
        beds = service.institution_beds(session, actor, actor.institution_id)
        in_hospital = service.in_hospital(session, actor, actor.institution_id)
        names = _names(session, in_hospital)
        departments = {
            d.id: d.name
            for d in registry.list_departments(session, institution_id=actor.institution_id, limit=500)[0]
        }
    by_admission = {a.id: a for a in in_hospital}
    counts: dict[str, int] = {}
    for bed in beds:
        counts[bed.state] = counts.get(bed.state, 0) + 1
    with ui.row().classes("gap-3 items-center"):
        for state in BedState:
            ui.label(f"{state.label} {counts.get(state.value, 0)}").classes(
                f"q-px-sm rounded {STATE_COLOURS[state.value]}"
            )
        occupied = counts.get(BedState.OCCUPIED, 0)
        open_beds = len(beds) - counts.get(BedState.CLOSED, 0)
        ui.label(f"占用率 {occupied / open_beds:.1%}" if open_beds else "").classes("text-grey-8")
    wanted = state_filter.get("state", "")
    ward_filter = state_filter.get("ward", "")
    for ward in wards:
        if ward_filter and str(ward.id) != ward_filter:
            continue
        ward_beds = [b for b in beds if b.ward_id == ward.id and (not wanted or b.state == wanted)]
        if not ward_beds:
            continue
        with ui.card().classes("w-full q-pa-sm"):
            ui.label(f"{ward.name}（{departments.get(ward.department_id, '')}，{ward.floor} 层）").classes(
                "text-subtitle2"
            )
            with ui.row().classes("gap-1 flex-wrap"):
                for bed in ward_beds:
                    admission = by_admission.get(bed.admission_id or -1)
                    who = names.get(admission.patient_id, "") if admission else ""
                    borrowed = bed.using_department_id != bed.owner_department_id
                    text = (
                        f"{bed.code} {who}"
                        + ("（借）" if borrowed else "")
                        + (" 急" if bed.emergency_reserved else "")
                    )
                    ui.label(text).classes(f"q-px-xs rounded text-xs {STATE_COLOURS[bed.state]}").props(
                        f'data-testid="bed-{bed.id}" data-state="{bed.state}"'
                    ).tooltip(BedState(bed.state).label)


@ui.page("/inpatient/beds")
def beds_page(request: Request) -> RedirectResponse | None:
    """The bed office (床位调配): the queue, ranked suggestions with reasons, admission, the bed board."""
    actor = _page(request, Permission.BED_ALLOCATE)
    if not isinstance(actor, Actor):
        return actor
    with frame(actor, "床位调配（全院一张床）"):
        office = _BedOffice(actor)
    office.draw_queue()
    return None


class _BedOffice:
    """The bed office's parts: the request queue, the suggestions of the chosen request (with the
    admission form of a reserved bed) and the live bed board."""

    def __init__(self, actor: Actor) -> None:
        self.actor = actor
        self.filters: dict[str, str] = {"state": "", "ward": ""}
        self.selected: dict[str, int] = {}
        with ui.row().classes("w-full gap-4 no-wrap items-start"):
            with ui.column().classes("w-1/3 gap-2"):
                ui.label("待床队列").classes("text-subtitle1")
                self.queue_box = ui.column().classes("w-full gap-1")
            with ui.column().classes("w-2/3 gap-2"):
                ui.label("调配建议").classes("text-subtitle1")
                self.suggestion_box = ui.column().classes("w-full gap-1").props('data-testid="suggestions"')
        ui.separator()
        self._board_filters()

        @ui.refreshable
        def board() -> None:
            bed_board(actor, self.filters)

        self.board = board
        board()
        ui.timer(10.0, board.refresh)

    def _board_filters(self) -> None:
        actor, filters = self.actor, self.filters
        with ui.row().classes("items-end gap-2"):
            ui.label("床位看板").classes("text-subtitle1")
            with unit_of_work() as session:
                ward_options = {
                    "": "全部病区",
                    **{str(w.id): w.name for w in service.wards(session, actor, actor.institution_id or 0)},
                }
            ui.select(
                {"": "全部状态", **{s.value: s.label for s in BedState}},
                value="",
                label="状态",
                on_change=lambda e: _then(lambda: filters.update(state=e.value or ""), self.board.refresh),
            ).classes("w-32")
            ui.select(
                ward_options,
                value="",
                label="病区",
                on_change=lambda e: _then(lambda: filters.update(ward=e.value or ""), self.board.refresh),
            ).classes("w-48")

    def draw_queue(self) -> None:
        self.queue_box.clear()
        with unit_of_work() as session:
            rows = service.queue(session, self.actor, self.actor.institution_id or 0)
            names = registry.patient_names(session, [r.patient_id for r in rows])
            depts = {r.department_id: registry.get_department(session, r.department_id).name for r in rows}
        with self.queue_box:
            if not rows:
                ui.label("暂无待床患者").classes("text-grey-7")
            for r in rows:
                status = "已预约床位" if r.status == RequestStatus.ASSIGNED else "待分配"
                with (
                    ui.card()
                    .classes("w-full q-pa-sm cursor-pointer")
                    .on("click", lambda _e, rid=r.id: self.show(rid))
                    .props(f'data-testid="request-{r.id}"')
                ):
                    ui.label(
                        f"{names.get(r.patient_id, '')} · {depts[r.department_id]} · "
                        f"{Severity(r.severity).label}"
                    )
                    ui.label(f"{AdmissionSource(r.source).label} · {status} · 期望 {r.expected_on}").classes(
                        "text-xs text-grey-7"
                    )

    def show(self, request_id: int) -> None:
        actor = self.actor
        self.selected["request"] = request_id
        self.suggestion_box.clear()
        with unit_of_work() as session:
            req = service.find_request(session, request_id)
            ranking = (
                service.suggest(session, actor, request_id, limit=30)
                if req.status == RequestStatus.WAITING
                else None
            )
            reserved_bed = service.get_bed(session, req.bed_id) if req.bed_id else None
            ward_name = service.get_ward(session, reserved_bed.ward_id).name if reserved_bed else ""
        with self.suggestion_box:
            if reserved_bed is not None:
                ui.label(f"已预约：{ward_name} {reserved_bed.code} 床").classes("text-subtitle2")
                self.admit_form(request_id, reserved_bed.id)
                ui.button(
                    "取消预约",
                    on_click=lambda: _then(
                        lambda: _run(lambda s: service.release(s, actor, request_id), "已取消预约"),
                        self.refresh,
                    ),
                ).props("flat")
                return
            assert ranking is not None
            self._suggestions(ranking)

    def _suggestions(self, ranking: Ranking) -> None:
        if ranking.held_back:
            ui.label("未推荐：" + "；".join(f"{k} {v} 张" for k, v in ranking.held_back.items())).classes(
                "text-xs text-grey-7"
            )
        if not ranking.suggestions:
            ui.label("没有合适的空床").classes("text-negative")
        for i, s in enumerate(ranking.suggestions):
            with ui.card().classes("w-full q-pa-sm").props(f'data-testid="suggestion-{i}"'):
                with ui.row().classes("items-center justify-between w-full"):
                    ui.label(
                        f"{s.ward_name} {s.room_code} 室 {s.bed_code} 床 · {RELATION_KINDS[s.relation]}"
                    ).classes("text-subtitle2")
                    ui.button("分配", on_click=lambda _e, bid=s.bed_id: self.assign(bid)).props(
                        f'dense data-testid="assign-{i}"'
                    )
                for reason in s.reasons:
                    ui.label("· " + reason).classes("text-sm text-grey-8")

    def admit_form(self, request_id: int, bed_id: int) -> None:
        with ui.row().classes("items-end gap-2"):
            amount = (
                ui.input("预交金（元）", value="3000").classes("w-32").props('data-testid="deposit-amount"')
            )
            channel = ui.select(CHANNELS, value=Channel.WECHAT.value, label="渠道").classes("w-36")
            waive = ui.checkbox("免押金住院（信用就医）").props('data-testid="waive"')
            ui.button(
                "办理入院", on_click=lambda: self.admit(request_id, bed_id, amount, channel, waive)
            ).props('data-testid="admit"')

    def admit(
        self, request_id: int, bed_id: int, amount: ui.input, channel: ui.select, waive: ui.checkbox
    ) -> None:
        def work(session: Any) -> Admission:
            req = service.find_request(session, request_id)
            deposit = None
            if not waive.value:
                deposit = service.DepositIn(
                    parse_yuan(amount.value or "0"),
                    Channel(channel.value),
                    f"deposit-req-{request_id}",
                )
            return service.admit(
                session,
                self.actor,
                patient_id=req.patient_id,
                department_id=req.department_id,
                bed_id=bed_id,
                source=AdmissionSource(req.source),
                severity=Severity(req.severity),
                request_id=request_id,
                preadmission_id=req.preadmission_id,
                deposit=deposit,
                waive_deposit=bool(waive.value),
            )

        if _run(work, "已办理入院") is not None:
            self.suggestion_box.clear()
            self.refresh()

    def assign(self, bed_id: int) -> None:
        request_id = self.selected["request"]
        if _run(lambda s: service.assign(s, self.actor, request_id, bed_id), "床位已预约") is not None:
            self.refresh()
            self.show(self.selected["request"])

    def refresh(self) -> None:
        self.draw_queue()
        self.board.refresh()


# ---------------------------------------------------------------- the ward nurse's board


@ui.page("/inpatient/ward")
def ward_page(request: Request, ward_id: int | None = None) -> RedirectResponse | None:
    """The ward nurse's board: her ward's beds and patients, today's movements and the daily charges."""
    actor = _page(request, Permission.INPATIENT_ADT)
    if not isinstance(actor, Actor):
        return actor
    with unit_of_work() as session:
        wards = service.wards(session, actor, actor.institution_id or 0)
    if not wards:
        with frame(actor, "病区护士站"):
            ui.label("本机构尚未设置病区")
        return None
    state = {"ward": ward_id or wards[0].id}
    with frame(actor, "病区护士站"):
        ui.select(
            {w.id: w.name for w in wards},
            value=state["ward"],
            label="病区",
            on_change=lambda e: _then(lambda: state.update(ward=e.value), body.refresh),
        ).classes("w-64").props('data-testid="ward-select"')

        @ui.refreshable
        def body() -> None:
            _ward_board(actor, state["ward"], body.refresh)

        body()
    return None


def _ward_board(actor: Actor, ward_id: int, refresh: Callable[[], None]) -> None:
    """One ward's bed cards (patient, today's charges, discharge) and today's movements."""
    with unit_of_work() as session:
        beds = service.ward_beds(session, actor, ward_id)
        patients = service.in_hospital(session, actor, actor.institution_id or 0)
        by_bed = {a.bed_id: a for a in patients}
        names = _names(session, patients)
        bills = {
            a.id: service.bill(session, actor, a.id)
            for a in patients
            if a.bed_id in {b.id for b in beds} and actor.has(Permission.PATIENT_READ)
        }  # the bill is the patient's record: not for the bed manager (no PATIENT_READ)
        moves = service.ward_movements_today(session, actor, ward_id)
        move_names = registry.patient_names(session, [a.patient_id for _m, a in moves])
    today = business_date()

    def discharge(admission_id: int, disposition: int) -> None:
        _run(lambda s: service.discharge(s, actor, admission_id, disposition=disposition), "已办理出院")
        refresh()

    def cleaned(bed_id: int) -> None:
        _run(lambda s: service.set_bed_state(s, actor, bed_id, BedState.FREE), "床位已可用")
        refresh()

    with ui.row().classes("gap-2 flex-wrap"):
        for bed in beds:
            a = by_bed.get(bed.id)
            with (
                ui.card()
                .classes(f"w-56 q-pa-sm {STATE_COLOURS[bed.state]}")
                .props(f'data-testid="ward-bed-{bed.code}"')
            ):
                ui.label(f"{bed.code} 床 · {BedState(bed.state).label}").classes("text-subtitle2")
                if a is not None:
                    bill = bills.get(a.id)
                    _ward_patient(bed, a, names.get(a.patient_id, ""), bill, today, discharge)
                elif bed.state == BedState.CLEANING:
                    ui.button("清洁完成", on_click=lambda _e, bid=bed.id: cleaned(bid)).props("dense flat")
    ui.label("今日出入转").classes("text-subtitle1 q-mt-md")
    kinds = {"admit": "入院", "transfer": "转床/转科", "discharge": "出院"}
    if not moves:
        ui.label("今日暂无").classes("text-grey-7")
    for m, a in moves:
        at = m.at.astimezone(BUSINESS_TZ).strftime("%H:%M")
        ui.label(f"{at} {kinds.get(m.kind, m.kind)} · {move_names.get(a.patient_id, '')} · {m.reason}").props(
            'data-testid="ward-movement"'
        )


def _ward_patient(
    bed: Bed,
    a: Admission,
    name: str,
    bill: service.Bill | None,
    today: date,
    discharge: Callable[[int, int], None],
) -> None:
    """The patient part of a ward bed card: name, today's and total charges, the discharge button."""
    borrowed = "（借床）" if bed.using_department_id != bed.owner_department_id else ""
    ui.label(f"{name} · {a.number}{borrowed}")
    if bill is not None:
        day_total = sum(line.amount for line in bill.lines if line.service_date == today)
        ui.label(
            f"今日费用 {yuan(day_total)} · 累计 {yuan(bill.total)} · 预交金 {yuan(bill.deposit)}"
        ).classes("text-xs")
    with ui.row().classes("gap-1"):
        disposition = (
            ui.select({k: v for k, v in DISPOSITIONS.items()}, value=1).props("dense").classes("w-28")
        )
        ui.button(
            "出院",
            on_click=lambda _e, aid=a.id, d=disposition: discharge(aid, int(d.value)),
        ).props(f'dense flat data-testid="discharge-{bed.code}"')


# ---------------------------------------------------------------- the doctor


@ui.page("/inpatient/doctor")
def doctor_page(request: Request) -> RedirectResponse | None:
    """The doctor: register a pre-admission from a visit and order its exams; request a bed; the
    department's inpatients with their orders."""
    actor = _page(request, Permission.PREADMISSION)
    if not isinstance(actor, Actor):
        return actor
    with unit_of_work() as session:
        practitioner = (
            registry.get_practitioner(session, actor.practitioner_id) if actor.practitioner_id else None
        )
        memberships = registry.list_departments(session, institution_id=actor.institution_id, limit=500)[0]
        everything = catalog.search_items(session, limit=500)[0]
        items = [i for i in everything if i.kind in ("lab", "exam")]
    orderable = {i.code: f"{i.name}（{yuan(i.price_fen)}）" for i in everything}
    departments = {d.id: d.name for d in memberships if d.is_clinical}
    item_names = {i.code: f"{i.name}（{yuan(i.price_fen)}）" for i in items}
    with frame(actor, "住院医生工作站"):
        ui.label(f"{practitioner.name if practitioner else actor.display_name}").classes("text-grey-8")
        _PreAdmissionCard(actor, departments, item_names)
        inpatient_list(actor, departments, orderable)
    return None


class _PreAdmissionCard:
    """预住院登记: find the patient, register the pre-admission with its bed request, order its exams."""

    def __init__(self, actor: Actor, departments: dict[int, str], item_names: dict[str, str]) -> None:
        self.actor = actor
        self.item_names = item_names
        with ui.card().classes("w-full"):
            ui.label("预住院登记").classes("text-subtitle1")
            with ui.row().classes("items-end gap-2"):
                self.query = (
                    ui.input("患者姓名 / 拼音首字母 / 身份证号")
                    .classes("w-72")
                    .props('data-testid="pre-patient-query"')
                )
                ui.button("查找", on_click=self.find).props('data-testid="pre-find"')
                self.picked = ui.select({}, label="患者").classes("w-64").props('data-testid="pre-patient"')
                self.dept = (
                    ui.select(departments, value=next(iter(departments), None), label="收治科室")
                    .classes("w-48")
                    .props('data-testid="pre-dept"')
                )
                self.diagnosis = ui.input("初步诊断").classes("w-48").props('data-testid="pre-diagnosis"')
                ui.button("登记预住院", on_click=self.register).props('data-testid="pre-register"')
            self.pre_box = ui.column().classes("w-full")

    def find(self) -> None:
        picked = self.picked
        with unit_of_work() as session:
            rows, _ = registry.search_patients(session, self.actor, q=self.query.value or "", limit=20)
            picked.options = {p.id: f"{p.name}（{p.mpi_id}）" for p in rows}
            picked.value = rows[0].id if rows else None
            picked.update()

    def register(self) -> None:
        if not self.picked.value:
            ui.notify("请先选择患者", type="warning")
            return
        actor, department_id, diagnosis = self.actor, int(self.dept.value), self.diagnosis.value or ""
        patient_id = int(self.picked.value)

        def work(session: Any) -> PreAdmission:
            visit = billing.open_visit(session, actor, patient_id=patient_id, department_id=department_id)
            pre = service.register_preadmission(
                session, actor, encounter_id=visit.id, department_id=department_id, diagnosis=diagnosis
            )
            service.request_bed(
                session,
                actor,
                patient_id=pre.patient_id,
                department_id=pre.department_id,
                source=AdmissionSource.PREADMISSION,
                preadmission_id=pre.id,
                expected_on=business_date() + timedelta(days=2),
                note=diagnosis,
            )
            return pre

        pre = _run(work, "已登记预住院并提交床位申请")
        if pre is not None:
            self.draw_pre(pre.id)

    def draw_pre(self, pre_id: int) -> None:
        self.pre_box.clear()
        with self.pre_box:
            ui.label(f"预住院 #{pre_id}：可开立检查检验，入院时转入住院费用").props(
                'data-testid="pre-registered"'
            )
            with ui.row().classes("items-end gap-2"):
                item = (
                    ui.select(dict(self.item_names), label="检查检验项目", with_input=True)
                    .classes("w-80")
                    .props('data-testid="pre-item"')
                )
                ui.button("开立", on_click=lambda: self.order(pre_id, item)).props('data-testid="pre-order"')

    def order(self, pre_id: int, item: ui.select) -> None:
        if (
            _run(lambda s: service.order_preadmission(s, self.actor, pre_id, item.value), "已开立")
            is not None
        ):
            ui.label(f"已开立：{self.item_names.get(item.value, item.value)}").props(
                'data-testid="pre-ordered"'
            )


def inpatient_list(actor: Actor, departments: dict[int, str], orderable: dict[str, str]) -> None:
    """The doctor's inpatients — by default her department's (and those she attends), widened by the
    filter to the whole hospital — each with its orders and the order entry."""
    scopes = (
        dict(service.LIST_SCOPES) if actor.practitioner_id else {"hospital": service.LIST_SCOPES["hospital"]}
    )
    state = {"scope": "department" if actor.practitioner_id else "hospital"}
    with ui.row().classes("items-center gap-4"):
        ui.label("在院患者").classes("text-subtitle1")
        ui.toggle(
            scopes,
            value=state["scope"],
            on_change=lambda e: _then(lambda: state.update(scope=e.value), body.refresh),
        ).props('dense data-testid="inpatient-scope"')

    @ui.refreshable
    def body() -> None:
        with unit_of_work() as session:
            rows = service.in_hospital(session, actor, actor.institution_id or 0, scope=state["scope"])
            names = _names(session, rows)
            bills = {a.id: service.bill(session, actor, a.id) for a in rows[:50]}
        if not rows:
            ui.label("暂无在院患者").classes("text-grey-7").props('data-testid="no-inpatients"')
        elif len(rows) > 50:
            ui.label(f"共 {len(rows)} 人，显示前 50 人").classes("text-grey-7")
        for a in rows[:50]:
            with (
                ui.expansion(
                    f"{names.get(a.patient_id, '')} · {a.number} · {departments.get(a.department_id, '')}"
                    + ("（借床）" if a.borrowed else "")
                )
                .classes("w-full")
                .props(f'data-testid="inpatient-{a.number}"')
            ):
                order_form(actor, a.id, orderable, body.refresh)
                for line in bills[a.id].lines:
                    ui.label(
                        f"{line.service_date} {line.item_name} ×{line.quantity} {yuan(line.amount)}"
                    ).classes("text-sm")

    body()


def order_form(actor: Actor, admission_id: int, orderable: dict[str, str], done: Callable[[], None]) -> None:
    """Inpatient order entry with the smart insurance audit's pre-check (医保事前审核): 明确违规 is
    refused, 可疑 is shown and the doctor may go on."""
    with ui.row().classes("items-end gap-2"):
        item = ui.select(orderable, label="医嘱项目", with_input=True).classes("w-72")
        item.props('dense data-testid="ip-order-item"')
        qty = ui.number("数量", value=1, min=1, max=999, format="%d").classes("w-20").props("dense")

    def wanted() -> tuple[str, int] | None:
        if not item.value:
            ui.notify("请先选择医嘱项目", type="warning")
            return None
        return str(item.value), int(qty.value or 1)

    def place() -> None:
        chosen = wanted()
        if chosen is not None and _run(
            lambda s: service.place_order(s, actor, admission_id, *chosen), "已开立住院医嘱"
        ):
            done()

    def check() -> None:
        chosen = wanted()
        if chosen is None:
            return
        found = _run(lambda s: service.order_precheck(s, actor, admission_id, *chosen))
        if found:
            audit_dialog(found, None if service.blocking(found) else place)
        elif found is not None:
            place()

    with ui.row().classes("items-end gap-2"):
        ui.button("开立", on_click=check).props('dense data-testid="ip-order"')


def audit_dialog(findings: list[Any], go_on: Callable[[], None] | None) -> None:
    """The pre-check's findings; without ``go_on`` (a 明确违规) the order cannot be placed."""
    with ui.dialog().props("persistent") as dialog, ui.card().classes("w-[40rem] max-w-full"):
        title = "医保事前审核提醒" if go_on else "医保事前审核不通过，不能开立"
        ui.label(title).classes("text-h6 text-negative").props('data-testid="ip-audit-title"')
        for f in findings:
            with ui.row().classes("items-start gap-2 w-full no-wrap").props('data-testid="ip-audit-finding"'):
                ui.badge(f.severity_label).props(
                    "color=negative" if f.severity == "violation" else "color=warning"
                )
                ui.label(f"{f.text}（规则 {f.rule_id}，涉及金额 {yuan(f.amount)}）").classes("flex-1")
        with ui.row().classes("justify-end w-full gap-2"):
            ui.button("取消开立" if go_on else "知道了", on_click=dialog.close).props(
                'outline data-testid="ip-audit-close"'
            )
            if go_on is not None:
                ui.button("已知晓，仍然开立", on_click=lambda: _then(dialog.close, go_on)).props(
                    'color=warning data-testid="ip-audit-proceed"'
                )
    dialog.open()


# ---------------------------------------------------------------- the coder


@ui.page("/inpatient/abstract")
def abstract_page(request: Request, admission_id: int | None = None) -> RedirectResponse | None:
    """The coder's discharge abstract (病案首页): codes with search, quality problems, sign-off."""
    actor = _page(request, Permission.ABSTRACT_CODE)
    if not isinstance(actor, Actor):
        return actor
    with unit_of_work() as session:
        done = service.admissions_with_status(
            session, actor, actor.institution_id or 0, AdmissionStatus.DISCHARGED, AdmissionStatus.SETTLED
        )
        names = _names(session, done)
    options = {a.id: f"{names.get(a.patient_id, '')} · {a.number} · 出院 {a.discharged_on}" for a in done}
    state = {"admission": admission_id or (done[0].id if done else None)}
    with frame(actor, "病案首页编码"):
        ui.select(
            options,
            value=state["admission"],
            label="出院患者",
            with_input=True,
            on_change=lambda e: _then(lambda: state.update(admission=e.value), form.refresh),
        ).classes("w-96").props('data-testid="abstract-admission"')

        @ui.refreshable
        def form() -> None:
            if state["admission"] is None:
                ui.label("暂无出院患者").classes("text-grey-7")
                return
            _abstract_form(actor, int(state["admission"]), form.refresh)

        form()
    return None


def _abstract_form(actor: Actor, aid: int, refresh: Callable[[], None]) -> None:
    """One admission's abstract: the codes, the quality problems, save and sign."""
    with unit_of_work() as session:
        row, record, problems = service.read_abstract(session, actor, aid)
        dx = service.search_diagnosis_codes(session, "", limit=500)
    ui.label(
        f"住院 {record.los_days or '-'} 天 · 费用 {yuan(record.total_cost_fen)} · "
        f"{'已签发' if row.status == 'signed' else '草稿'}"
    ).props('data-testid="abstract-status"')
    fields = _abstract_fields(row, {c: f"{c} {n}" for c, n in dx})
    if problems:
        for p in problems:
            ui.label("质控：" + p).classes("text-negative text-sm").props('data-testid="abstract-problem"')
    else:
        ui.label("质控通过").classes("text-positive").props('data-testid="abstract-ok"')

    def save() -> None:
        procs = _procedures_typed(fields["procedures"].value or "")
        _run(
            lambda s: service.update_abstract(
                s,
                actor,
                aid,
                principal_diagnosis=fields["principal"].value or "",
                other_diagnoses=list(fields["others"].value or []),
                procedures=procs,
                ventilation_hours=int(fields["hours"].value or 0),
                newborn_weight_g=int(fields["weight"].value) if fields["weight"].value else None,
            ),
            "已保存",
        )
        refresh()

    def sign() -> None:
        _run(lambda s: service.sign_abstract(s, actor, aid), "病案首页已签发，DRG 将自动分组")
        refresh()

    with ui.row().classes("gap-2"):
        ui.button("保存", on_click=save).props('data-testid="abstract-save"')
        ui.button("签发", on_click=sign).props('data-testid="abstract-sign"')
        ui.link("DRG 分组预览", f"/drg/inpatient/{aid}").props('data-testid="drg-preview-link"')


def _abstract_fields(row: DischargeAbstract, dx_options: dict[str, str]) -> dict[str, Any]:
    """The abstract's inputs (principal and other diagnoses, procedures, ventilation, newborn weight)."""
    fields: dict[str, Any] = {}
    fields["principal"] = (
        ui.select(
            dx_options,
            value=row.principal_diagnosis or None,
            label="主要诊断（ICD-10 医保版）",
            with_input=True,
        )
        .classes("w-96")
        .props('data-testid="principal"')
    )
    fields["others"] = (
        ui.select(
            dx_options,
            value=list(row.other_diagnoses or []),
            label="其他诊断",
            multiple=True,
            with_input=True,
        )
        .classes("w-96")
        .props('data-testid="others"')
    )
    fields["procedures"] = ui.input(
        "手术操作（ICD-9-CM-3，逗号分隔，如 36.0601@2026-05-08）",
        value=",".join(
            f"{p['code']}@{p['date']}" if p.get("date") else p["code"] for p in row.procedures or []
        ),
    ).classes("w-96")
    with ui.row().classes("gap-4"):
        fields["hours"] = ui.number("呼吸机使用（小时）", value=row.ventilation_hours, min=0).classes("w-48")
        fields["weight"] = ui.number("新生儿出生体重（克）", value=row.newborn_weight_g, min=0).classes(
            "w-48"
        )
    return fields


def _procedures_typed(text: str) -> list[service.ProcedureIn]:
    """``36.0601@2026-05-08, 99.0400`` as the coder types it: codes with an optional date each."""
    out = []
    for part in text.split(","):
        if part.strip():
            code, _, on = part.strip().partition("@")
            out.append(service.ProcedureIn(code.strip(), date.fromisoformat(on) if on else None))
    return out


# ---------------------------------------------------------------- the cashier


@ui.page("/inpatient/settle")
def settle_page(request: Request) -> RedirectResponse | None:
    """The cashier's discharge settlement (出院结算): the split, the deposit refunded or topped up."""
    actor = _page(request, Permission.BILLING_CASHIER)
    if not isinstance(actor, Actor):
        return actor
    with frame(actor, "出院结算"):
        desk = _DischargeDesk(actor, ui.column().classes("w-full gap-2"))
    desk.draw()
    return None


class _DischargeDesk:
    """The discharge settlement desk: the discharged patients to settle and the settled ones (arrears
    to pay, a settlement to reverse)."""

    def __init__(self, actor: Actor, box: ui.column) -> None:
        self.actor = actor
        self.box = box

    def draw(self) -> None:
        actor = self.actor
        self.box.clear()
        with unit_of_work() as session:
            waiting = service.admissions_with_status(
                session, actor, actor.institution_id or 0, AdmissionStatus.DISCHARGED
            )
            settled = service.admissions_with_status(
                session, actor, actor.institution_id or 0, AdmissionStatus.SETTLED
            )[:20]
            names = _names(session, waiting + settled)
            bills = {a.id: service.bill(session, actor, a.id) for a in waiting}
            done = {a.id: service.standing_settlement_of(session, actor, a.id) for a in settled}
        with self.box:
            ui.label("待结算").classes("text-subtitle1")
            if not waiting:
                ui.label("暂无待结算的出院患者").classes("text-grey-7")
            for a in waiting:
                self._waiting_card(a, names.get(a.patient_id, ""), bills[a.id])
            ui.label("已结算").classes("text-subtitle1 q-mt-md")
            for a in settled:
                s = done.get(a.id)
                if s is not None:
                    self._settled_card(a, names.get(a.patient_id, ""), s)

    def _waiting_card(self, a: Admission, name: str, bill: service.Bill) -> None:
        with ui.card().classes("w-full q-pa-sm").props(f'data-testid="settle-{a.number}"'):
            ui.label(
                f"{name} · {a.number} · 出院 {a.discharged_on} · "
                f"费用 {yuan(bill.total)} · "
                f"预交金 {yuan(bill.deposit)}" + (" · 免押金" if a.deposit_waived else "")
            )
            with ui.row().classes("items-end gap-2"):
                channel = ui.select(CHANNELS, value=Channel.WECHAT.value, label="补缴/退款渠道").classes(
                    "w-36"
                )
                account = ui.checkbox("使用个人账户")
                ui.button(
                    "结算",
                    on_click=lambda _e, aid=a.id, c=channel, pa=account: self.settle(
                        aid, c.value, bool(pa.value)
                    ),
                ).props('data-testid="settle-button"')

    def _settled_card(self, a: Admission, name: str, s: InpatientSettlement) -> None:
        with ui.card().classes("w-full q-pa-sm").props(f'data-testid="settled-{a.number}"'):
            ui.label(
                f"{name} · {a.number} · 总费用 {yuan(s.total)} = "
                f"统筹 {yuan(s.fund)} + 个人账户 "
                f"{yuan(s.personal_account)} + 共济 {yuan(s.mutual_aid)} + 现金 {yuan(s.cash)}"
            )
            ui.label(
                f"预交金抵扣 {yuan(s.deposit_applied)} · 退预交金 {yuan(s.deposit_refunded)} · "
                f"补缴 {yuan(s.topped_up)}"
                + (f" · 欠费 {yuan(s.arrears)}" if s.status == SettlementStatus.ARREARS else "")
                + (f" · 已补缴欠费 {yuan(s.arrears)}" if s.breakdown.get("arrears_paid") else "")
            ).classes("text-sm text-grey-8")
            if s.status == SettlementStatus.ARREARS:
                ui.button(
                    "欠费补缴（现金）",
                    on_click=lambda _e, aid=a.id: _then(lambda: self.pay_arrears(aid), self.draw),
                ).props(f'flat dense color=negative data-testid="arrears-{a.number}"')
            ui.button(
                "冲正", on_click=lambda _e, aid=a.id: _then(lambda: self.reverse(aid), self.draw)
            ).props("flat dense")

    def reverse(self, admission_id: int) -> None:
        _run(lambda ss: service.reverse_settlement(ss, self.actor, admission_id, "收费处冲正"), "已冲正")

    def pay_arrears(self, admission_id: int) -> None:
        _run(
            lambda s: service.pay_arrears(
                s, self.actor, admission_id, channel=Channel.CASH, idempotency_key=f"arrears-{admission_id}"
            ),
            "欠费已缴清，先诊疗后付费资格恢复",
        )

    def settle(self, admission_id: int, channel: str, use_account: bool) -> None:
        key = f"discharge-{admission_id}-{business_date().isoformat()}"
        _run(
            lambda s: service.settle_discharge(
                s,
                self.actor,
                admission_id,
                channel=Channel(channel),
                idempotency_key=key,
                use_personal_account=use_account,
            ),
            "出院结算完成",
        )
        self.draw()


# ---------------------------------------------------------------- indicators


@ui.page("/inpatient/indicators")
def indicators_page(request: Request) -> RedirectResponse | None:
    """Bed-use indicators for a date range, per hospital, department or ward, with Excel export."""
    actor = _page(request, Permission.INPATIENT_READ)
    if not isinstance(actor, Actor):
        return actor
    today = business_date()
    with frame(actor, "床位使用指标"):
        with ui.row().classes("items-end gap-2"):
            start = ui.input("开始日期", value=(today - timedelta(days=29)).isoformat()).classes("w-36")
            end = ui.input("结束日期", value=today.isoformat()).classes("w-36")
            by = ui.select(
                {"hospital": "全院", "department": "科室", "ward": "病区"}, value="department", label="分组"
            ).classes("w-28")
            ui.button("查询", on_click=lambda: table.refresh())
            export = ui.link("导出 Excel", "#")

        @ui.refreshable
        def table() -> None:
            first, last = date.fromisoformat(start.value), date.fromisoformat(end.value)
            rows = (
                _run(
                    lambda s: service.bed_indicators(
                        s, actor, actor.institution_id or 0, first, last, by.value
                    )
                )
                or []
            )
            export.props(
                f'href="/api/v1/inpatient/indicators.xlsx?institution_id={actor.institution_id}&start={first}&end={last}&by={by.value}"'
            )
            columns = [
                {"name": str(i), "label": h, "field": str(i), "align": "left"}
                for i, h in enumerate(service.INDICATOR_HEADERS)
            ]
            data = []
            for r in rows:
                cells = service.indicator_cells(r)
                cells[4] = f"{float(cells[4]):.1%}"  # type: ignore[arg-type]
                data.append({str(i): c for i, c in enumerate(cells)})
            ui.table(columns=columns, rows=data).classes("w-full").props(
                'dense flat bordered wrap-cells data-testid="indicators"'
            )

        table()
    return None


# ---------------------------------------------------------------- the patient's phone page


@ui.page("/inpatient/me")
def my_page(request: Request) -> RedirectResponse | None:
    """The patient's (or a consenting relative's) phone page: admission status, bed and the daily bill."""
    actor = guard(request)
    if isinstance(actor, RedirectResponse):
        return actor
    with frame(actor, "我的住院"):
        with unit_of_work() as session:
            people = registry.my_patients(session, actor)
            shown = False
            for person in people:
                for a in service.my_admissions(session, actor, person.id)[:3]:
                    shown = True
                    bed = service.get_bed(session, a.bed_id) if a.bed_id else None
                    ward = service.get_ward(session, a.ward_id).name
                    bill = service.bill(session, actor, a.id)
                    status = {"admitted": "在院", "discharged": "已出院（待结算）", "settled": "已出院结算"}[
                        a.status
                    ]
                    with ui.card().classes("w-full").props('data-testid="my-admission"'):
                        ui.label(f"{person.name} · {status}").classes("text-subtitle1")
                        ui.label(f"{ward} {bed.code if bed else ''} 床 · 入院 {a.admitted_on}")
                        ui.label(
                            f"累计费用 {yuan(bill.total)} · 预交金 {yuan(bill.deposit)} · "
                            f"余额 {yuan(bill.balance)}"
                        )
                        days: dict[date, int] = {}
                        for line in bill.lines:
                            days[line.service_date] = days.get(line.service_date, 0) + line.amount
                        for day, amount in sorted(days.items(), reverse=True)[:7]:
                            ui.label(f"{day} 费用 {yuan(amount)}").classes("text-sm text-grey-8")
        if not shown:
            ui.label("暂无住院记录").classes("text-grey-7")
    return None
