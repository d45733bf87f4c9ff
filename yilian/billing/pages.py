"""Pages of billing: the doctor's order entry with credit care, the patient's bill and settlement on
a phone, and the cashier's desk (settlements of the day, reconciliation)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date
from typing import Any

from fastapi import Request
from fastapi.responses import RedirectResponse
from nicegui import ui

from yilian.billing import service as payments
from yilian.billing import settlement as billing
from yilian.billing.domain import Channel
from yilian.catalog import service as catalog
from yilian.insurance import policy_service as insurance
from yilian.insurance.audit.service import FindingView
from yilian.kit.auth.domain import Actor, Permission, Role
from yilian.kit.clock import business_date
from yilian.kit.db import unit_of_work
from yilian.kit.errors import YilianError
from yilian.kit.money import yuan
from yilian.outpatient import service as outpatient
from yilian.outpatient.domain import OrderStatus
from yilian.registry import service as registry
from yilian.results import service as results
from yilian.results.domain import Decision, NonRecognitionReason
from yilian.results.service import CheckOutcome
from yilian.web import nav
from yilian.web.shell import allowed, frame, guard, show_error

nav.register(
    nav.NavItem(
        label="门诊医嘱",
        path="/clinic",
        icon="medication",
        group="诊疗",
        permission=Permission.ENCOUNTER_WRITE,
        order=20,
        description="接诊、诊断、开立检验检查与处方；符合条件的患者先诊疗后付费",
    )
)
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
        order=30,
        description="当日结算与渠道对账",
    )
)

ORDERABLE = ("lab", "exam", "drug", "treatment")


def _bill_rows(encounter_id: int) -> list[dict[str, Any]]:
    with unit_of_work() as session:
        bill = billing.running_bill(session, encounter_id, business_date())
        charges = {c.order_id: c for c in bill if c.order_id is not None}
        fees = [c for c in bill if c.booking_id is not None]
        orders = [
            o
            for o in outpatient.encounter_read(
                session, outpatient.find_encounter(session, encounter_id)
            ).orders
        ]
    return [
        {
            "id": -c.id,
            "item": "挂号费（记账挂号）",
            "quantity": 1,
            "amount": yuan(c.amount),
            "class": c.insurance_class,
            "status": "已挂号",
            "credit": "信用",
            "raw_status": "registration",
        }
        for c in fees
    ] + [
        {
            "id": o.id,
            "item": o.item_name,
            "quantity": o.quantity,
            "amount": yuan(o.amount),
            "class": o.insurance_class,
            "status": OrderStatus(o.status).label,
            "credit": "信用" if charges.get(o.id) and charges[o.id].on_credit else "需先缴费",
            "raw_status": o.status,
        }
        for o in orders
    ]


@ui.page("/clinic")
def clinic_page(request: Request) -> RedirectResponse | None:
    """Order entry: find the patient, open the visit, diagnose and order."""
    actor = guard(request, Permission.ENCOUNTER_WRITE)
    if isinstance(actor, RedirectResponse):
        return actor
    if not allowed(actor, Permission.ENCOUNTER_WRITE):
        return None
    state: dict[str, Any] = {"encounter_id": None}
    with unit_of_work() as session:
        items, _ = catalog.search_items(session, limit=200)
        item_options = {
            i.code: f"{i.name}（{yuan(i.price_fen)}/{i.unit}，{i.insurance_class}类）"
            for i in items
            if i.kind in ORDERABLE
        }
        codes, _ = catalog.search_diagnoses(session, limit=200)
        diagnosis_options = {d.code: f"{d.code} {d.name}" for d in codes}
        department_id = None
        if actor.practitioner_id:
            department_id = registry.practitioner_reads(
                session, [registry.get_practitioner(session, actor.practitioner_id)]
            )[0].primary_department_id

    with frame(actor, "门诊医嘱"):
        with ui.row().classes("items-end gap-2"):
            query = (
                ui.input("患者姓名 / 拼音首字母")
                .props('outlined dense data-testid="clinic-patient-query"')
                .classes("w-64")
            )
            ui.button("查找", on_click=lambda: find()).props('data-testid="clinic-find"')
            patient_select = (
                ui.select({}, label="患者")
                .props('outlined dense data-testid="clinic-patient"')
                .classes("w-72")
            )
            ui.button("接诊", on_click=lambda: start()).props('data-testid="clinic-start"')
        visit = ui.label("").classes("text-grey-8").props('data-testid="clinic-visit"')
        with ui.row().classes("items-end gap-2"):
            diagnosis = (
                ui.select(diagnosis_options, label="诊断 (ICD-10)", with_input=True)
                .props("outlined dense")
                .classes("w-96")
            )
            ui.button("添加诊断", on_click=lambda: diagnose()).props("outline")
        with ui.row().classes("items-end gap-2"):
            item = (
                ui.select(item_options, label="医嘱项目", with_input=True)
                .props('outlined dense data-testid="clinic-item"')
                .classes("w-[28rem]")
            )
            quantity = ui.number("数量", value=1, min=1, max=999).props("outlined dense").classes("w-24")
            ui.button("开立", on_click=lambda: order()).props('data-testid="clinic-order"')
        message = ui.label("").classes("text-sm").props('data-testid="clinic-message"')
        table = (
            ui.table(
                columns=[
                    {"name": "item", "label": "项目", "field": "item", "align": "left"},
                    {"name": "quantity", "label": "数量", "field": "quantity"},
                    {"name": "amount", "label": "金额", "field": "amount"},
                    {"name": "class", "label": "医保类别", "field": "class"},
                    {"name": "status", "label": "状态", "field": "status"},
                    {"name": "credit", "label": "支付方式", "field": "credit"},
                ],
                rows=[],
                row_key="id",
            )
            .props('dense flat bordered data-testid="clinic-orders"')
            .classes("w-full")
        )
        if actor.has(Permission.ORDER_PERFORM):
            with ui.row().classes("items-end gap-2"):
                to_perform = ui.select({}, label="执行医嘱").props("outlined dense").classes("w-72")
                ui.button("执行", on_click=lambda: perform()).props('outline data-testid="clinic-perform"')
        else:
            to_perform = None

    def refresh() -> None:
        if state["encounter_id"] is None:
            return
        rows = _bill_rows(state["encounter_id"])
        table.rows = rows
        if to_perform is not None:
            to_perform.options = {r["id"]: r["item"] for r in rows if r["raw_status"] == "charged"}
            to_perform.update()

    def find() -> None:
        try:
            with unit_of_work() as session:
                rows, _ = registry.search_patients(session, actor, q=query.value or "", limit=20)
                patient_select.options = {p.id: f"{p.name} {p.mpi_id}" for p in rows}
        except YilianError as exc:
            show_error(exc)
            return
        patient_select.update()
        if patient_select.options:
            patient_select.set_value(next(iter(patient_select.options)))

    def start() -> None:
        if not patient_select.value or department_id is None:
            ui.notify("请先选择患者（医生账号需关联科室）", type="warning")
            return
        try:
            with unit_of_work() as session:
                encounter = billing.open_visit(
                    session, actor, patient_id=int(patient_select.value), department_id=department_id
                )
                state["encounter_id"] = encounter.id
                registered = encounter.registration_id is not None
        except YilianError as exc:
            show_error(exc)
            return
        source = "（凭挂号接诊）" if registered else "（无挂号，直接接诊）"
        visit.set_text(
            f"就诊号 {state['encounter_id']} · {patient_select.options[patient_select.value]}{source}"
        )
        refresh()

    def diagnose() -> None:
        if state["encounter_id"] is None or not diagnosis.value:
            return
        try:
            with unit_of_work() as session:
                outpatient.add_diagnosis(session, actor, state["encounter_id"], diagnosis.value)
        except YilianError as exc:
            show_error(exc)
            return
        ui.notify("已添加诊断", type="positive")

    def order() -> None:
        if state["encounter_id"] is None or not item.value:
            ui.notify("请先接诊并选择项目", type="warning")
            return
        try:
            with unit_of_work() as session:
                warnings = (
                    billing.audit_precheck(
                        session, actor, state["encounter_id"], item.value, int(quantity.value or 1)
                    )
                    if actor.has(Permission.CLAIMS_PRECHECK)
                    else []
                )
        except YilianError as exc:
            show_error(exc)
            return
        if warnings:
            _audit_dialog(warnings, recognise)
            return
        recognise()

    def recognise() -> None:
        if state["encounter_id"] is None or not item.value:
            return
        try:
            with unit_of_work() as session:
                outcome = billing.recognition_check(session, actor, state["encounter_id"], item.value)
                prompt = _prompt_rows(outcome) if outcome else None
        except YilianError as exc:
            show_error(exc)
            return
        if prompt is not None and outcome is not None:
            _recognition_dialog(
                actor, outcome.prompt_id or 0, outcome.item.name, outcome.item.price_fen, prompt, place
            )
            return
        place()

    def place() -> None:
        if state["encounter_id"] is None or not item.value:
            return
        try:
            with unit_of_work() as session:
                placed, charge, reason = billing.order_with_credit(
                    session, actor, state["encounter_id"], item.value, int(quantity.value or 1)
                )
                name = placed.item_name
        except YilianError as exc:
            show_error(exc)
            return
        message.set_text(
            f"已开立 {name}：" + ("先诊疗后付费（信用）" if reason is None else f"需先缴费——{reason}")
        )
        refresh()

    def perform() -> None:
        if to_perform is None or not to_perform.value:
            return
        try:
            with unit_of_work() as session:
                outpatient.perform(session, actor, int(to_perform.value))
        except YilianError as exc:
            show_error(exc)
            return
        ui.notify("已执行", type="positive")
        refresh()

    return None


def _audit_dialog(findings: list[FindingView], go_on: Callable[[], None]) -> None:
    """The doctor-facing warning panel of the smart insurance audit (医保事前审核提醒)."""
    with ui.dialog().props("persistent") as dialog, ui.card().classes("w-[44rem]"):
        ui.label("医保事前审核提醒").classes("text-h6 text-negative")
        for f in findings:
            with ui.row().classes("items-start gap-2 w-full").props('data-testid="audit-warning"'):
                ui.badge(f.severity_label).props(
                    "color=negative" if f.severity == "violation" else "color=warning"
                )
                ui.label(f"{f.text}（规则 {f.rule_id}，涉及金额 {yuan(f.amount)}）").classes("flex-1")

        def proceed() -> None:
            dialog.close()
            go_on()

        with ui.row().classes("justify-end w-full gap-2"):
            ui.button("取消开立", on_click=dialog.close).props("outline")
            ui.button("已知晓，仍然开立", on_click=proceed).props('color=warning data-testid="audit-proceed"')
    dialog.open()


def _prompt_rows(outcome: CheckOutcome) -> list[dict[str, Any]]:
    return [
        {
            "id": c.result.id,
            "institution": c.institution_name,
            "date": c.result.result_date.isoformat(),
            "value": f"{c.result.value_text or c.result.value_num or ''} {c.result.unit}".strip(),
            "why": "；".join(c.assessment.why),
        }
        for c in outcome.candidates
    ]


def _recognition_dialog(
    actor: Actor,
    prompt_id: int,
    item_name: str,
    price: int,
    rows: list[dict[str, Any]],
    place: Callable[[], None],
) -> None:
    """The repeat-order prompt (重复开单提醒): recognise an earlier result, or order with a reason."""
    with ui.dialog().props("persistent") as dialog, ui.card().classes("w-[44rem]"):
        ui.label(f"{item_name}：患者已有可互认的结果").classes("text-h6 text-primary")
        ui.table(
            columns=[
                {"name": "institution", "label": "检查机构", "field": "institution", "align": "left"},
                {"name": "date", "label": "日期", "field": "date", "align": "left"},
                {"name": "value", "label": "结果", "field": "value", "align": "left"},
                {"name": "why", "label": "可互认依据", "field": "why", "align": "left"},
            ],
            rows=rows,
            row_key="id",
        ).props('dense flat bordered wrap-cells data-testid="recognition-candidates"').classes("w-full")
        reasons = (
            ui.select(
                {r.value: r.label for r in NonRecognitionReason}, label="不互认理由（可多选）", multiple=True
            )
            .props("outlined dense use-chips")
            .classes("w-full")
        )
        note = ui.input("补充说明（≤200 字）").props("outlined dense maxlength=200").classes("w-full")

        def recognise() -> None:
            try:
                with unit_of_work() as session:
                    results.decide(
                        session,
                        actor,
                        prompt_id=prompt_id,
                        decision=Decision.RECOGNISED,
                        result_id=int(rows[0]["id"]),
                    )
            except YilianError as exc:
                show_error(exc)
                return
            dialog.close()
            ui.notify(f"已互认，未重复开单，节省 {yuan(price)}", type="positive")

        def refuse() -> None:
            try:
                with unit_of_work() as session:
                    results.decide(
                        session,
                        actor,
                        prompt_id=prompt_id,
                        decision=Decision.NOT_RECOGNISED,
                        reasons=[NonRecognitionReason(r) for r in (reasons.value or [])],
                        note=note.value or "",
                    )
            except YilianError as exc:
                show_error(exc)
                return
            dialog.close()
            place()

        with ui.row().classes("justify-end w-full gap-2"):
            ui.button("不互认，继续开单", on_click=refuse).props('outline data-testid="recognition-refuse"')
            ui.button("互认（不开单）", on_click=recognise).props('data-testid="recognition-accept"')
    dialog.open()


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
    with unit_of_work() as session:
        done = billing.settlement_of(session, encounter_id, today)
    rows = _bill_rows(encounter_id)
    with ui.card().classes("w-full max-w-md"):
        ui.label(f"就诊 {encounter_id}").classes("text-subtitle1 text-primary")
        for row in rows:
            with ui.row().classes("justify-between w-full"):
                ui.label(f"{row['item']} ×{row['quantity']}")
                ui.label(row["amount"])
        result = ui.column().classes("w-full").props('data-testid="pay-result"')
        if done is not None:
            _show_settlement(
                result, done.fund, done.personal_account, done.mutual_aid, done.cash, done.status
            )
            return
        channel = (
            ui.select(
                {c.value: c.label for c in Channel if c is not Channel.CASH},
                value=Channel.WECHAT.value,
                label="现金部分支付方式",
            )
            .props('outlined dense data-testid="pay-channel"')
            .classes("w-full")
        )
        use_account = ui.checkbox(f"使用个人账户（余额 {yuan(balance)}）", value=False) if employee else None
        mutual = (
            ui.select(
                {0: "不使用", **dict(payers["mutual_aid"])}, value=0, label="共济支付（家人职工医保个人账户）"
            )
            .props('outlined dense data-testid="pay-mutual"')
            .classes("w-full")
        )
        family = (
            ui.select(
                {0: "本人支付", **dict(payers["family_pay"])}, value=0, label="现金部分付款人（亲情付）"
            )
            .props('outlined dense data-testid="pay-family"')
            .classes("w-full")
        )

        def settle() -> None:
            try:
                with unit_of_work() as session:
                    s = billing.settle(
                        session,
                        encounter_id=encounter_id,
                        day=today,
                        channel=Channel(channel.value),
                        idempotency_key=f"{key}-{encounter_id}",
                        use_personal_account=bool(use_account and use_account.value),
                        mutual_aid_from=int(mutual.value) or None,
                        cash_payer_id=int(family.value) or None,
                        payer_ref=f"web-{actor.username}",
                    )
                    parts = (s.fund, s.personal_account, s.mutual_aid, s.cash, s.status)
            except YilianError as exc:
                show_error(exc)
                return
            result.clear()
            _show_settlement(result, *parts)
            button.disable()

        button = ui.button("结算", on_click=settle).props('data-testid="pay-settle"').classes("w-full")


def _show_settlement(box: ui.column, fund: int, account: int, mutual: int, cash: int, status: str) -> None:
    with box:
        ui.label("已结算" if status == "settled" else "结算失败，已转欠费").classes("text-positive text-bold")
        for label, amount in (("医保统筹", fund), ("个人账户", account), ("共济", mutual), ("现金", cash)):
            with ui.row().classes("justify-between w-full"):
                ui.label(label)
                ui.label(yuan(amount)).props(f'data-testid="paid-{label}"')


@ui.page("/cashier")
def cashier_page(request: Request) -> RedirectResponse | None:
    """The cashier's desk: today's settlements at the institution and reconciliation by channel."""
    actor = guard(request, Permission.BILLING_CASHIER)
    if isinstance(actor, RedirectResponse):
        return actor
    if not allowed(actor, Permission.BILLING_CASHIER):
        return None
    today = business_date()
    with unit_of_work() as session:
        rows = []
        for s in billing.settlements_of_day(session, actor.institution_id or 0, today):
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
                    "status": {"settled": "已结算", "arrears": "欠费", "reversed": "已冲正"}[s.status],
                }
            )
        recon = {c: payments.reconcile_day(session, c, today) for c in Channel}
    with frame(actor, "收费处"):
        ui.label(f"{today.isoformat()} 结算 {len(rows)} 笔").classes("text-grey-8")
        ui.table(
            columns=[
                {"name": "patient", "label": "患者", "field": "patient", "align": "left"},
                {"name": "total", "label": "总费用", "field": "total"},
                {"name": "fund", "label": "医保统筹", "field": "fund"},
                {"name": "account", "label": "个人账户", "field": "account"},
                {"name": "mutual", "label": "共济", "field": "mutual"},
                {"name": "cash", "label": "现金", "field": "cash"},
                {"name": "channel", "label": "渠道", "field": "channel"},
                {"name": "status", "label": "状态", "field": "status"},
            ],
            rows=rows,
            row_key="id",
        ).props('dense flat bordered data-testid="cashier-settlements"').classes("w-full")
        ui.label("渠道对账（当日）").classes("text-subtitle1 text-primary")
        for channel, mismatches in recon.items():
            ui.label(f"{channel.label}：{'平账' if not mismatches else f'{len(mismatches)} 条差异'}").classes(
                "text-positive" if not mismatches else "text-negative"
            )
    return None
