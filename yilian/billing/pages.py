"""Pages of billing: the patient's bill and settlement on a phone, and the cashier's desk (settlements of
the day, reconciliation). The doctor's order entry moved to the workbench (/clinic)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from fastapi import Request
from fastapi.responses import RedirectResponse
from nicegui import ui

from yilian.billing import service as billing
from yilian.billing.domain import Channel, ChargeStatus, SettlementMode, SettlementStatus
from yilian.catalog import service as catalog
from yilian.insurance import policy_service as insurance
from yilian.kit.auth.domain import Actor, Permission, Role
from yilian.kit.clock import business_date
from yilian.kit.db import unit_of_work
from yilian.kit.errors import YilianError
from yilian.kit.money import MoneyFormatError, parse_yuan, yuan
from yilian.outpatient import service as outpatient
from yilian.outpatient.domain import OrderStatus
from yilian.registry import service as registry
from yilian.scheduling.domain import CLINIC_TYPE_LABELS
from yilian.web import nav
from yilian.web.components import data_table, money_cell
from yilian.web.shell import allowed, frame, guard, show_error

nav.register(
    nav.NavItem(
        label="我的账单",
        path="/pay",
        icon="payments",
        group="患者服务",
        roles=frozenset({Role.PATIENT}),
        order=6,
        description="查看当日费用，一次结算：医保、个人账户、共济、亲情付",
    )
)
nav.register(
    nav.NavItem(
        label="收费处",
        path="/cashier",
        icon="point_of_sale",
        group="收费",
        permission=Permission.BILLING_CASHIER,
        order=35,  # after the scheduling entries (30–32): the menu groups neighbouring entries
        description="窗口结算、退费、冲正、欠费补缴，当日结算与渠道对账",
    )
)


def bill_rows(encounter_id: int) -> list[dict[str, Any]]:
    """The visit's running bill as table rows (amounts in yuan)."""
    with unit_of_work() as session:
        rows = billing.bill_rows(session, encounter_id)
    return [
        {
            "id": r.id,
            "item": r.item,
            "quantity": r.quantity,
            "amount": yuan(r.amount),
            "class": r.insurance_class,
            "status": r.status,
            "credit": "信用" if r.on_credit else "需先缴费",
            "raw_status": r.raw_status,
        }
        for r in rows
    ]


@ui.page("/pay")
def pay_page(request: Request) -> RedirectResponse | None:
    """The patient's bill of the day on a phone, and one settlement with every way of paying."""
    actor = guard(request)
    if isinstance(actor, RedirectResponse):
        return actor
    if actor.patient_id is None:
        with frame(actor, "我的账单"):
            ui.label("仅患者账号可结算").classes("text-grey-7")
        return None
    patient_id = actor.patient_id
    today = business_date()
    key = f"web-{uuid.uuid4().hex}"  # one idempotency key per page: a double tap pays once
    with unit_of_work() as session:
        encounter_ids = billing.encounters_with_charges(session, patient_id, today)
        payers = billing.payers_for(session, patient_id)
        patient = registry.find_patient(session, patient_id)
        employee = patient.insurance_scheme == "employee"
        balance = insurance.account_balance(session, patient_id)
    with frame(actor, "我的账单"):
        if not encounter_ids:
            ui.label("今天没有待结算的费用").classes("text-grey-7").props('data-testid="pay-empty"')
        for encounter_id in encounter_ids:
            _settle_card(actor, encounter_id, today, key, payers, employee, balance)
    return None


def _settle_card(
    actor: Actor,
    encounter_id: int,
    today: date,
    key: str,
    payers: dict[str, list[tuple[int, str]]],
    employee: bool,
    balance: int,
) -> None:
    """One encounter-day on the patient's phone: the bill, the estimate, a settlement already made and
    (while something is open) the ways to pay."""
    with unit_of_work() as session:
        done = billing.settlement_of(session, encounter_id, today)
    rows = bill_rows(encounter_id)
    with ui.card().classes("w-full max-w-md"):
        ui.label(f"就诊 {encounter_id}").classes("text-subtitle1 text-primary")
        for row in rows:
            with ui.row().classes("justify-between w-full"):
                ui.label(f"{row['item']} ×{row['quantity']}")
                ui.label(row["amount"])
        with unit_of_work() as session:  # open charges, also those added after a settlement today
            guess = billing.estimate(session, encounter_id, today)
        estimate_box = ui.column().classes("w-full gap-0 q-py-xs").props('data-testid="pay-estimate"')
        if guess is not None:  # what 结算 will take, before the patient taps it
            with estimate_box:
                _estimate_lines(guess.total, guess.fund, guess.patient_share)
        result = ui.column().classes("w-full").props('data-testid="pay-result"')
        if done is not None:
            _show_settlement(
                result, done.fund, done.personal_account, done.mutual_aid, done.cash, done.status
            )
            if guess is None:
                return
            ui.label("结算后新增的费用待缴（补充结算）").classes("text-warning text-bold").props(
                'data-testid="pay-more"'
            )
        _PhonePayment(
            actor,
            encounter_id,
            today,
            f"{key}-{encounter_id}",
            payers,
            employee,
            balance,
            result,
            estimate_box,
        )


def _estimate_lines(total: int, fund: int, patient_share: int) -> None:
    with ui.row().classes("justify-between w-full text-subtitle1"):
        ui.label("合计")
        ui.label(money_cell(total))
    with ui.row().classes("justify-between w-full text-grey-8"):
        ui.label("医保统筹（预估）")
        ui.label(money_cell(fund))
    with ui.row().classes("justify-between w-full text-grey-8"):
        ui.label("个人负担（预估）")
        ui.label(money_cell(patient_share))


class _PhonePayment:
    """The ways to pay an encounter-day (channel, personal account, 共济, 亲情付) and the 结算 button."""

    def __init__(
        self,
        actor: Actor,
        encounter_id: int,
        today: date,
        idempotency_key: str,
        payers: dict[str, list[tuple[int, str]]],
        employee: bool,
        balance: int,
        result: ui.column,
        estimate_box: ui.column,
    ) -> None:
        self.actor, self.encounter_id, self.today, self.key = actor, encounter_id, today, idempotency_key
        self.result, self.estimate_box = result, estimate_box
        self.channel = (
            ui.select(
                {c.value: c.label for c in Channel if c is not Channel.CASH},  # a phone takes no cash
                value=Channel.WECHAT.value,
                label="自付部分支付方式",
            )
            .props('outlined dense data-testid="pay-channel"')
            .classes("w-full")
        )
        self.use_account = (
            ui.checkbox(f"使用个人账户（余额 {yuan(balance)}）", value=False) if employee else None
        )
        self.mutual = (
            ui.select(
                {0: "不使用", **dict(payers["mutual_aid"])}, value=0, label="共济支付（家人职工医保个人账户）"
            )
            .props('outlined dense data-testid="pay-mutual"')
            .classes("w-full")
        )
        self.family = (
            ui.select(
                {0: "本人支付", **dict(payers["family_pay"])}, value=0, label="现金部分付款人（亲情付）"
            )
            .props('outlined dense data-testid="pay-family"')
            .classes("w-full")
        )
        self.button = (
            ui.button("结算", on_click=self.settle).props('data-testid="pay-settle"').classes("w-full")
        )

    def settle(self) -> None:
        try:
            with unit_of_work() as session:
                s = billing.settle(
                    session,
                    encounter_id=self.encounter_id,
                    day=self.today,
                    channel=Channel(self.channel.value),
                    idempotency_key=self.key,
                    use_personal_account=bool(self.use_account and self.use_account.value),
                    mutual_aid_from=int(self.mutual.value) or None,
                    cash_payer_id=int(self.family.value) or None,
                    payer_ref=f"web-{self.actor.username}",
                )
                parts = (s.fund, s.personal_account, s.mutual_aid, s.cash, s.status)
        except YilianError as exc:
            show_error(exc)
            return
        self.result.clear()
        _show_settlement(self.result, *parts)
        self.button.disable()
        self.estimate_box.set_visibility(False)


def _show_settlement(box: ui.column, fund: int, account: int, mutual: int, cash: int, status: str) -> None:
    with box:
        ui.label("已结算" if status == SettlementStatus.SETTLED else "结算失败，已转欠费").classes(
            "text-positive text-bold"
        )
        for label, amount in (("医保统筹", fund), ("个人账户", account), ("共济", mutual), ("现金", cash)):
            with ui.row().classes("justify-between w-full"):
                ui.label(label)
                ui.label(yuan(amount)).props(f'data-testid="paid-{label}"')


def _settlement_rows(institution_id: int, day: date) -> list[dict[str, Any]]:
    with unit_of_work() as session:
        rows = []
        for s in billing.settlements_of_day(session, institution_id, day):
            patient = registry.find_patient(session, s.patient_id)
            rows.append(
                {
                    "id": s.id,
                    "patient": patient.name,
                    "total": yuan(s.total),
                    "fund": yuan(s.fund),
                    "account": yuan(s.personal_account),
                    "mutual": yuan(s.mutual_aid),
                    "cash": yuan(s.cash),
                    "channel": Channel(s.cash_channel).label if s.cash_channel else "",
                    "mode": SettlementMode(s.mode).label,
                    "status": SettlementStatus(s.status).label,
                }
            )
    return rows


def _day_rows(encounter_id: int, day: date) -> list[dict[str, Any]]:
    """The lines of an encounter-day's bill as the counter shows them."""
    rows = []
    with unit_of_work() as session:
        for c in billing.running_bill(session, encounter_id, day):
            if c.order_id is not None:
                o = outpatient.find_order(session, c.order_id)
                item, quantity, status = o.item_name, o.quantity, OrderStatus(o.status).label
                raw = o.status
            else:
                item, quantity, status, raw = "挂号费（记账挂号）", 1, "已挂号", "registration"
            rows.append(
                {
                    "id": c.id,
                    "order_id": c.order_id,
                    "item": item,
                    "quantity": quantity,
                    "amount": yuan(c.amount),
                    "class": c.insurance_class,
                    "credit": "信用" if c.on_credit else "先缴费",
                    "status": status,
                    "charge": ChargeStatus(c.status).label,
                    "raw_status": raw,
                    "raw_charge": c.status,
                }
            )
    return rows


SETTLEMENT_COLUMNS: list[dict[str, Any]] = [
    {"name": "patient", "label": "患者", "field": "patient", "align": "left"},
    {"name": "total", "label": "总费用", "field": "total"},
    {"name": "fund", "label": "医保统筹", "field": "fund"},
    {"name": "account", "label": "个人账户", "field": "account"},
    {"name": "mutual", "label": "共济", "field": "mutual"},
    {"name": "cash", "label": "现金", "field": "cash"},
    {"name": "channel", "label": "渠道", "field": "channel"},
    {"name": "mode", "label": "方式", "field": "mode"},
    {"name": "status", "label": "状态", "field": "status"},
]


@ui.page("/cashier")
def cashier_page(request: Request) -> RedirectResponse | None:
    """The cashier's desk: find a patient, settle the day at the counter (every way of paying), refund
    an unperformed order, reverse (冲正) a settlement, take an arrear; today's settlements and the
    reconciliation by channel."""
    actor = guard(request, Permission.BILLING_CASHIER)
    if isinstance(actor, RedirectResponse):
        return actor
    if not allowed(actor, Permission.BILLING_CASHIER):
        return None
    today = business_date()
    institution_id = actor.institution_id or 0
    with frame(actor, "收费处"):
        counter = _Counter(actor, today)

        @ui.refreshable
        def day_list() -> None:
            _day_list(institution_id, today)

        day_list()
        counter.day_list = day_list.refresh
    return None


def _day_list(institution_id: int, today: date) -> None:
    """Today's settlements and the reconciliation of each channel."""
    rows = _settlement_rows(institution_id, today)
    ui.label(f"{today.isoformat()} 结算 {len(rows)} 笔").classes("text-grey-8")
    data_table(
        SETTLEMENT_COLUMNS,
        rows,
        row_key="id",
        testid="cashier-settlements",
        props="dense flat bordered",
    )
    with unit_of_work() as session:
        recon = {c: billing.reconcile_day(session, c, today) for c in Channel}
    ui.label("渠道对账（当日）").classes("text-subtitle1 text-primary")
    with ui.row().classes("gap-4"):
        for channel, mismatches in recon.items():
            ui.label(f"{channel.label}：{'平账' if not mismatches else f'{len(mismatches)} 条差异'}").classes(
                "text-positive" if not mismatches else "text-negative"
            )


class _Counter:
    """窗口结算: find a patient, then the counter panel of the chosen one."""

    def __init__(self, actor: Actor, today: date) -> None:
        self.actor, self.today = actor, today
        self.patient_id: int | None = None
        self.day_list: Callable[[], object] = lambda: None  # redraws today's settlements
        with ui.card().classes("w-full"):
            ui.label("窗口结算").classes("text-subtitle1 text-primary")
            with ui.row().classes("items-end gap-2"):
                self.query = (
                    ui.input("患者姓名 / 拼音首字母 / 手机号 / 主索引号")
                    .props('outlined dense data-testid="cashier-query"')
                    .classes("w-80")
                )
                ui.button("查找", on_click=self.find).props('data-testid="cashier-find"')
                self.patient_select = (
                    ui.select({}, label="患者", on_change=lambda e: self.choose(e.value))
                    .props('outlined dense data-testid="cashier-patient"')
                    .classes("w-72")
                )
            self.panel = ui.column().classes("w-full gap-3").props('data-testid="cashier-panel"')

    def find(self) -> None:
        select = self.patient_select
        try:
            with unit_of_work() as session:
                rows, _ = registry.search_patients(session, self.actor, q=self.query.value or "", limit=20)
                select.options = {p.id: f"{p.name} {p.mpi_id}" for p in rows}
        except YilianError as exc:
            show_error(exc)
            return
        select.update()
        if not select.options:
            ui.notify("未找到患者", type="warning")
            return
        select.set_value(next(iter(select.options)))

    def choose(self, patient_id: int | None) -> None:
        self.patient_id = patient_id
        self.draw()

    def changed(self) -> None:
        self.draw()
        self.day_list()

    def draw(self) -> None:
        self.panel.clear()
        if not self.patient_id:
            return
        try:
            _counter_panel(self.actor, self.panel, int(self.patient_id), self.today, self.changed)
        except YilianError as exc:
            show_error(exc)


def _counter_panel(
    actor: Actor, panel: ui.column, patient_id: int, today: date, changed: Callable[[], None]
) -> None:
    """One patient at the counter: each encounter-day with its bill, settlement, refund and reversal,
    then the patient's unpaid arrears."""
    with unit_of_work() as session:
        days = billing.counter_days(session, actor, patient_id)
        payers = billing.payers_for(session, patient_id)
        patient = registry.find_patient(session, patient_id)
        employee = patient.insurance_scheme == "employee"
        balance = insurance.account_balance(session, patient_id)
        arrears = [(a.id, a.amount, a.opened_on) for a in billing.arrears_of(session, patient_id)]
        done = {(e, d): billing.settlement_of(session, e, d) for e, d in days}
        history = {(e, d): billing.settlement_history(session, patient_id, e, d) for e, d in days}
        departments = {
            e: registry.get_department(session, outpatient.find_encounter(session, e).department_id).name
            for e, _d in days
        }
    with panel:
        ui.label(f"{patient.name}（{patient.mpi_id}）").classes("text-subtitle1")
        if not days:
            ui.label("该患者在本机构没有待结算或今日的费用").classes("text-grey-7").props(
                'data-testid="cashier-nothing"'
            )
        for encounter_id, day in days:
            rows = _day_rows(encounter_id, day)
            standing = done[(encounter_id, day)]
            with ui.card().classes("w-full").props(f'data-testid="cashier-day-{encounter_id}"'):
                ui.label(f"就诊 {encounter_id} · {departments[encounter_id]} · {day.isoformat()}").classes(
                    "text-primary"
                )
                ui.table(
                    columns=[
                        {"name": "item", "label": "项目", "field": "item", "align": "left"},
                        {"name": "quantity", "label": "数量", "field": "quantity"},
                        {"name": "amount", "label": "金额", "field": "amount"},
                        {"name": "class", "label": "医保类别", "field": "class"},
                        {"name": "credit", "label": "记账方式", "field": "credit"},
                        {"name": "status", "label": "医嘱状态", "field": "status"},
                        {"name": "charge", "label": "费用状态", "field": "charge"},
                    ],
                    rows=rows,
                    row_key="id",
                ).props('dense flat bordered data-testid="cashier-bill"').classes("w-full")
                for s in history[(encounter_id, day)]:
                    if s.status == SettlementStatus.REVERSED:
                        ui.label(
                            f"第 {s.attempt} 次结算 {yuan(s.total)} 已冲正（现金 {yuan(s.cash)} 已退回）"
                        ).classes("text-grey-7 text-sm")
                if standing is not None:
                    _settled_box(actor, standing, rows, changed)
                if any(r["raw_charge"] == ChargeStatus.OPEN for r in rows):  # also added after a settlement
                    _settle_box(actor, encounter_id, day, payers, employee, balance, changed)
        if arrears:
            ui.label("未结清欠费").classes("text-subtitle1 text-negative")
            for arrear_id, amount, opened_on in arrears:
                _arrear_row(actor, arrear_id, amount, opened_on, today, changed)


def _settled_box(actor: Actor, s: Any, rows: list[dict[str, Any]], changed: Callable[[], None]) -> None:
    state_label = "已结算" if s.status == SettlementStatus.SETTLED else "自动扣款失败，已转欠费"
    with ui.column().classes("w-full gap-1").props('data-testid="cashier-settled"'):
        ui.label(f"{state_label}（第 {s.attempt} 次结算，{SettlementMode(s.mode).label}）").classes(
            "text-positive text-bold" if s.status == SettlementStatus.SETTLED else "text-negative text-bold"
        )
        with ui.row().classes("gap-6"):
            for label, amount in (
                ("总费用", s.total),
                ("医保统筹", s.fund),
                ("个人账户", s.personal_account),
                ("共济", s.mutual_aid),
                ("现金", s.cash),
            ):
                with ui.column().classes("gap-0"):
                    ui.label(label).classes("text-xs text-grey-7")
                    ui.label(yuan(amount)).props(f'data-testid="counter-{label}"')
        if s.cash_channel:
            ui.label(f"现金部分：{Channel(s.cash_channel).label}").classes("text-sm text-grey-8")
    refundable = {
        r["order_id"]: r["item"] for r in rows if r["raw_status"] == OrderStatus.CHARGED and r["order_id"]
    }
    with ui.row().classes("items-end gap-2"):
        if s.status == SettlementStatus.SETTLED:
            ui.button("冲正", on_click=lambda: _reverse_dialog(actor, s.id, s.total, changed)).props(
                'outline color=negative data-testid="cashier-reverse"'
            )
        if refundable and s.status == SettlementStatus.SETTLED:
            target = (
                ui.select(refundable, label="退费（未执行的医嘱）")
                .props('outlined dense data-testid="cashier-refund-order"')
                .classes("w-72")
            )
            ui.button(
                "退费",
                on_click=lambda: (
                    _refund_dialog(actor, int(target.value), refundable, changed)
                    if target.value
                    else ui.notify("请选择要退费的医嘱", type="warning")
                ),
            ).props('outline data-testid="cashier-refund"')


def _settle_box(
    actor: Actor,
    encounter_id: int,
    day: date,
    payers: dict[str, list[tuple[int, str]]],
    employee: bool,
    balance: int,
    changed: Callable[[], None],
) -> None:
    with ui.row().classes("items-end gap-2 w-full"):
        channel = (
            ui.select({c.value: c.label for c in Channel}, value=Channel.CASH.value, label="现金部分支付方式")
            .props('outlined dense data-testid="cashier-channel"')
            .classes("w-56")
        )
        use_account = (
            ui.checkbox(f"使用个人账户（余额 {yuan(balance)}）", value=False).props(
                'data-testid="cashier-account"'
            )
            if employee
            else None
        )
        mutual = (
            ui.select({0: "不使用", **dict(payers["mutual_aid"])}, value=0, label="共济支付（亲属个人账户）")
            .props('outlined dense data-testid="cashier-mutual"')
            .classes("w-60")
        )
        family = (
            ui.select({0: "本人支付", **dict(payers["family_pay"])}, value=0, label="现金付款人（亲情付）")
            .props('outlined dense data-testid="cashier-family"')
            .classes("w-52")
        )

        def settle() -> None:
            try:
                with unit_of_work() as session:
                    billing.settle(
                        session,
                        encounter_id=encounter_id,
                        day=day,
                        channel=Channel(channel.value),
                        idempotency_key=f"counter-{uuid.uuid4().hex}",  # one key per click
                        use_personal_account=bool(use_account and use_account.value),
                        mutual_aid_from=int(mutual.value) or None,
                        cash_payer_id=int(family.value) or None,
                        payer_ref=f"counter-{actor.username}",
                    )
            except YilianError as exc:
                show_error(exc)
                return
            ui.notify("结算成功", type="positive")
            changed()

        ui.button("结算", on_click=settle).props('data-testid="cashier-settle"')


def _reverse_dialog(actor: Actor, settlement_id: int, total: int, changed: Callable[[], None]) -> None:
    """Ask for a reason and a confirmation before a reversal (冲正)."""
    with ui.dialog().props("persistent") as dialog, ui.card().classes("w-[32rem]"):
        ui.label("确认冲正").classes("text-h6 text-negative")
        ui.label(
            f"将冲正该笔结算（总费用 {yuan(total)}）：现金原路退回，个人账户与共济账户退回，"
            "医保年度累计冲回，费用恢复为待结算。"
        ).classes("text-sm")
        reason = (
            ui.input("冲正原因（必填）")
            .props('outlined dense maxlength=100 data-testid="cashier-reverse-reason"')
            .classes("w-full")
        )

        def confirm() -> None:
            if not (reason.value or "").strip():
                ui.notify("请填写冲正原因", type="warning")
                return
            try:
                with unit_of_work() as session:
                    done = billing.reverse_at_counter(session, actor, settlement_id, reason.value)
                    cash = done.cash
            except YilianError as exc:
                show_error(exc)
                return
            dialog.close()
            ui.notify(f"已冲正，现金 {yuan(cash)} 原路退回", type="positive")
            changed()

        with ui.row().classes("justify-end w-full gap-2"):
            ui.button("取消", on_click=dialog.close).props("outline")
            ui.button("确认冲正", on_click=confirm).props(
                'color=negative data-testid="cashier-reverse-confirm"'
            )
    dialog.open()


def _refund_dialog(actor: Actor, order_id: int, names: dict[Any, str], changed: Callable[[], None]) -> None:
    """Refund an unperformed order after settlement: cancel it and settle the rest again."""
    with ui.dialog().props("persistent") as dialog, ui.card().classes("w-[32rem]"):
        ui.label(f"退费：{names.get(order_id, order_id)}").classes("text-h6")
        ui.label("撤销该医嘱，原结算冲正后其余费用按原方式重新结算，差额退回。").classes("text-sm")
        reason = (
            ui.input("退费原因（必填）")
            .props('outlined dense maxlength=100 data-testid="cashier-refund-reason"')
            .classes("w-full")
        )

        def confirm() -> None:
            try:
                with unit_of_work() as session:
                    r = billing.refund_unperformed_order(session, actor, order_id, reason.value or "")
            except YilianError as exc:
                show_error(exc)
                return
            dialog.close()
            ui.notify(
                f"已退费 {r.item_name}：现金退回 {yuan(r.refunded_cash)}，"
                f"账户退回 {yuan(r.refunded_accounts)}，医保基金冲回 {yuan(r.refunded_fund)}",
                type="positive",
                timeout=8000,
            )
            changed()

        with ui.row().classes("justify-end w-full gap-2"):
            ui.button("取消", on_click=dialog.close).props("outline")
            ui.button("确认退费", on_click=confirm).props(
                'color=negative data-testid="cashier-refund-confirm"'
            )
    dialog.open()


def _arrear_row(
    actor: Actor, arrear_id: int, amount: int, opened_on: date, today: date, changed: Callable[[], None]
) -> None:
    with ui.row().classes("items-end gap-2").props(f'data-testid="cashier-arrear-{arrear_id}"'):
        ui.label(f"{opened_on.isoformat()} 欠费 {yuan(amount)}（已 {(today - opened_on).days} 天）")
        channel = (
            ui.select({c.value: c.label for c in Channel}, value=Channel.CASH.value, label="补缴方式")
            .props("outlined dense")
            .classes("w-48")
        )

        def pay() -> None:
            try:
                with unit_of_work() as session:
                    billing.pay_arrear_at_counter(
                        session,
                        actor,
                        arrear_id,
                        channel=Channel(channel.value),
                        idempotency_key=f"counter-arrear-{uuid.uuid4().hex}",
                    )
            except YilianError as exc:
                show_error(exc)
                return
            ui.notify(f"欠费 {yuan(amount)} 已补缴，信用就医已恢复", type="positive")
            changed()

        ui.button("补缴", on_click=pay).props('data-testid="cashier-pay-arrear"')


nav.register(
    nav.NavItem(
        label="信用就医看板",
        path="/billing/credit",
        icon="credit_score",
        group="收费",
        permission=Permission.BILLING_CASHIER,
        order=36,
        description="先诊疗后付费：信用就诊、受益患者、自动结算、欠费账龄与回收；机构信用政策",
    )
)


@ui.page("/billing/credit")
def credit_page(request: Request) -> RedirectResponse | None:
    """The credit dashboard of an institution (admins choose it) over a date range, and its policy."""
    actor = guard(request, Permission.BILLING_CASHIER)
    if isinstance(actor, RedirectResponse):
        return actor
    if not allowed(actor, Permission.BILLING_CASHIER):
        return None
    today = business_date()
    may_edit = actor.has(Permission.BILLING_POLICY)
    with unit_of_work() as session:
        if may_edit:
            institutions, _ = registry.list_institutions(session, limit=200)
            choices = {i.id: i.name for i in institutions}
        else:
            own = (
                registry.get_institution(session, actor.institution_id or 0) if actor.institution_id else None
            )
            choices = {own.id: own.name} if own else {}
        items, _ = catalog.search_items(session, limit=500)
        item_options = {i.code: f"{i.name}（{i.code}）" for i in items}
    with frame(actor, "信用就医看板"):
        if not choices:
            ui.label("当前账号未关联机构").classes("text-grey-7")
            return None
        with ui.row().classes("items-end gap-2"):
            institution = (
                ui.select(choices, value=actor.institution_id or next(iter(choices)), label="机构")
                .props('outlined dense data-testid="credit-institution"')
                .classes("w-72")
            )
            if not may_edit:
                institution.disable()
            start = (
                ui.input("开始日期", value=(today - timedelta(days=29)).isoformat())
                .props('outlined dense type=date data-testid="credit-start"')
                .classes("w-44")
            )
            end = (
                ui.input("结束日期", value=today.isoformat())
                .props('outlined dense type=date data-testid="credit-end"')
                .classes("w-44")
            )
            ui.button("查询", on_click=lambda: board.refresh()).props('data-testid="credit-query"')

        @ui.refreshable
        def board() -> None:
            try:
                first, last = date.fromisoformat(start.value), date.fromisoformat(end.value)
            except (TypeError, ValueError):
                ui.label("请输入有效的日期").classes("text-negative")
                return
            try:
                with unit_of_work() as session:
                    d = billing.credit_dashboard(session, actor, int(institution.value), first, last)
            except YilianError as exc:
                show_error(exc)
                return
            _dashboard(d)

        board()

        @ui.refreshable
        def policy_box() -> None:
            try:
                with unit_of_work() as session:
                    p = billing.credit_policy_for(session, actor, int(institution.value))
            except YilianError as exc:
                show_error(exc)
                return
            _policy_card(actor, int(institution.value), p, item_options, may_edit, policy_box.refresh)

        policy_box()
        institution.on_value_change(lambda: (board.refresh(), policy_box.refresh()))
    return None


def _stat(label: str, value: str, testid: str, tone: str = "text-grey-9") -> None:
    with ui.card().classes("w-44 q-pa-sm"):
        ui.label(label).classes("text-xs text-grey-7")
        ui.label(value).classes(f"text-h6 {tone}").props(f'data-testid="{testid}"')


def _dashboard(d: Any) -> None:
    ui.label(f"{d.start.isoformat()} 至 {d.end.isoformat()}（欠费为截至今日未结清）").classes("text-grey-8")
    with ui.row().classes("gap-3 flex-wrap"):
        _stat("信用就诊人次", str(d.credit_visits), "credit-visits")
        _stat("受益患者", str(d.beneficiaries), "credit-beneficiaries")
        _stat("信用额度占用", yuan(d.credit_amount), "credit-amount")
        _stat("其中尚未结算", yuan(d.open_holds), "credit-open-holds")
        _stat("患者自行结算", str(d.settled_by_patient), "credit-settled-self")
        _stat("23:00 自动结算", str(d.settled_automatically), "credit-settled-auto")
        _stat("自动扣款失败", str(d.arrears_opened), "credit-arrears-opened", "text-negative")
    with ui.row().classes("gap-3 flex-wrap"):
        _stat("未结清欠费笔数", str(d.arrears_open_count), "credit-arrears-count", "text-negative")
        _stat("未结清欠费金额", yuan(d.arrears_open_amount), "credit-arrears-amount", "text-negative")
        _stat("期间回收笔数", str(d.recovered_count), "credit-recovered-count", "text-positive")
        _stat("期间回收金额", yuan(d.recovered_amount), "credit-recovered-amount", "text-positive")
    with ui.row().classes("w-full gap-4 items-start"):
        with ui.card().classes("w-[28rem]"):
            ui.label("欠费账龄").classes("text-subtitle1 text-primary")
            ui.table(
                columns=[
                    {"name": "label", "label": "账龄", "field": "label", "align": "left"},
                    {"name": "count", "label": "笔数", "field": "count"},
                    {"name": "amount", "label": "金额", "field": "amount"},
                ],
                rows=[{"label": b.label, "count": b.count, "amount": yuan(b.amount)} for b in d.buckets],
                row_key="label",
            ).props('dense flat bordered data-testid="credit-buckets"').classes("w-full")
        with ui.card().classes("flex-1 min-w-[24rem]"):
            ui.echart(
                {
                    "tooltip": {},
                    "animation": False,
                    "xAxis": {
                        "type": "category",
                        "data": [b.label for b in d.buckets],
                        "axisLabel": {"interval": 0},
                    },
                    "yAxis": {"type": "value", "name": "金额（元）"},
                    "series": [
                        {
                            "type": "bar",
                            "data": [
                                {
                                    "value": b.amount / 100,
                                    "itemStyle": {"color": "#c62828" if b.suspended else "#0f6e8c"},
                                }
                                for b in d.buckets
                            ],
                        }
                    ],
                    "grid": {"left": 60, "right": 20, "top": 40, "bottom": 30},
                }
            ).classes("w-full h-52")
    ui.label("未结清欠费明细").classes("text-subtitle1 text-primary")
    ui.table(
        columns=[
            {"name": "patient", "label": "患者", "field": "patient", "align": "left"},
            {"name": "mpi", "label": "主索引号", "field": "mpi", "align": "left"},
            {"name": "opened", "label": "欠费日期", "field": "opened"},
            {"name": "days", "label": "欠费天数", "field": "days"},
            {"name": "amount", "label": "金额", "field": "amount"},
            {"name": "reminders", "label": "已发提醒", "field": "reminders", "align": "left"},
            {"name": "state", "label": "信用状态", "field": "state"},
        ],
        rows=[
            {
                "id": a.arrear_id,
                "patient": a.patient_name,
                "mpi": a.mpi_id,
                "opened": a.opened_on.isoformat(),
                "days": a.age_days,
                "amount": yuan(a.amount),
                "reminders": "、".join(f"第 {x} 天" for x in a.reminders_sent) or "—",
                "state": "已暂停" if a.suspended else "催缴中",
            }
            for a in d.open_arrears
        ],
        row_key="id",
        pagination=20,
    ).props('dense flat bordered data-testid="credit-arrears"').classes("w-full")


def _policy_card(
    actor: Actor,
    institution_id: int,
    p: Any,
    item_options: dict[str, str],
    may_edit: bool,
    saved: Callable[[], None],
) -> None:
    """The institution's credit policy (先诊疗后付费): read-only, or a form for those who may edit it."""
    clinic_labels = {k: f"{v}门诊" for k, v in CLINIC_TYPE_LABELS.items()}
    with ui.card().classes("w-full").props('data-testid="credit-policy"'):
        ui.label("本机构先诊疗后付费政策").classes("text-subtitle1 text-primary")
        if not may_edit:
            _policy_facts(p, clinic_labels, item_options)
            return
        _PolicyForm(actor, institution_id, p, clinic_labels, item_options, saved)


def _policy_facts(p: Any, clinic_labels: dict[str, str], item_options: dict[str, str]) -> None:
    for label, value in (
        ("状态", "已开通" if p.enabled else "未开通"),
        ("每人每日信用额度", money_cell(p.daily_limit)),
        (
            "不适用门诊类型",
            "、".join(clinic_labels.get(c, c) for c in sorted(p.excluded_clinic_types)) or "无",
        ),
        (
            "不适用项目",
            "、".join(item_options.get(c, c) for c in sorted(p.excluded_item_codes)) or "无",
        ),
        ("欠费暂停信用", f"满 {p.suspend_after_days} 天"),
        ("催缴提醒", "、".join(f"第 {d} 天" for d in sorted(p.reminder_days)) or "不提醒"),
    ):
        with ui.row().classes("gap-2"):
            ui.label(f"{label}：").classes("text-grey-7 w-40")
            ui.label(value)
    ui.label("仅系统管理员可修改").classes("text-xs text-grey-6")


class _PolicyForm:
    """The credit policy's inputs and 保存政策."""

    def __init__(
        self,
        actor: Actor,
        institution_id: int,
        p: Any,
        clinic_labels: dict[str, str],
        item_options: dict[str, str],
        saved: Callable[[], None],
    ) -> None:
        self.actor, self.institution_id, self.saved = actor, institution_id, saved
        with ui.row().classes("items-end gap-3 flex-wrap"):
            self.enabled = ui.switch("开通先诊疗后付费", value=p.enabled).props(
                'data-testid="policy-enabled"'
            )
            self.limit = (
                ui.input("每人每日信用额度（元）", value=yuan(p.daily_limit, symbol=False).replace(",", ""))
                .props('outlined dense data-testid="policy-limit"')
                .classes("w-48")
            )
            self.suspend = (
                ui.number("欠费满几天暂停信用", value=p.suspend_after_days, min=1, max=90, precision=0)
                .props('outlined dense data-testid="policy-suspend"')
                .classes("w-44")
            )
            self.reminders = (
                ui.input("催缴提醒日（逗号分隔）", value=",".join(str(x) for x in sorted(p.reminder_days)))
                .props('outlined dense data-testid="policy-reminders"')
                .classes("w-48")
            )
        with ui.row().classes("items-end gap-3 w-full"):
            self.clinics = (
                ui.select(
                    clinic_labels,
                    value=sorted(c for c in p.excluded_clinic_types if c in clinic_labels),
                    label="不适用的门诊类型",
                    multiple=True,
                )
                .props("outlined dense use-chips")
                .classes("w-80")
            )
            self.items = (
                ui.select(
                    {**{c: c for c in p.excluded_item_codes}, **item_options},
                    value=sorted(p.excluded_item_codes),
                    label="不适用的收费项目",
                    multiple=True,
                    with_input=True,
                )
                .props("outlined dense use-chips")
                .classes("flex-1")
            )
        ui.button("保存政策", on_click=self.save).props('data-testid="policy-save"')

    def save(self) -> None:
        try:
            daily = parse_yuan(self.limit.value or "")
            days = [int(x) for x in (self.reminders.value or "").replace("，", ",").split(",") if x.strip()]
        except (MoneyFormatError, ValueError):
            ui.notify("额度应为金额（元），提醒日应为逗号分隔的整数", type="warning")
            return
        try:
            with unit_of_work() as session:
                billing.set_credit_policy(
                    session,
                    self.actor,
                    self.institution_id,
                    enabled=bool(self.enabled.value),
                    daily_limit=daily,
                    suspend_after_days=int(self.suspend.value or 0),
                    reminder_days=days,
                    excluded_clinic_types=list(self.clinics.value or []),
                    excluded_item_codes=list(self.items.value or []),
                )
        except YilianError as exc:
            show_error(exc)
            return
        ui.notify("信用政策已保存", type="positive")
        self.saved()
