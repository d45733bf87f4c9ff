"""Orders other than drugs (检验 / 检查 / 治疗) with the smart audit's warnings and the repeat-order prompt
(重复开单提醒, mutual recognition), the visit's running bill, and performing charged orders."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nicegui import ui
from sqlalchemy.orm import Session

from yilian.billing import service as billing
from yilian.billing.pages import bill_rows  # the same bill rows the patient's phone shows
from yilian.catalog import service as catalog
from yilian.insurance.audit.service import FindingView
from yilian.kit.auth.domain import Actor, Permission
from yilian.kit.db import unit_of_work
from yilian.kit.errors import YilianError
from yilian.kit.money import yuan
from yilian.outpatient import service as outpatient
from yilian.results import service as results
from yilian.results.domain import Decision, NonRecognitionReason
from yilian.results.service import CheckOutcome
from yilian.web.shell import show_error
from yilian.workbench.parts.visit import Visit

ORDERABLE = ("lab", "exam", "treatment")  # drugs are prescribed in the prescription editor


def item_options(session: Session, q: str) -> dict[str, str]:
    """Orderable catalogue items matching a code, a name or pinyin initials (all when ``q`` is empty)."""
    items, _ = catalog.search_items(session, q=q, limit=200)
    return {
        i.code: f"{i.name}（{yuan(i.price_fen)}/{i.unit}，{i.insurance_class}类）"
        for i in items
        if i.kind in ORDERABLE
    }


class OrderSection:
    """Search and order an item (audit warnings, then the recognition prompt), the bill, and perform."""

    def __init__(self, visit: Visit) -> None:
        self.visit = visit
        with unit_of_work() as session:
            options = item_options(session, "")
        with ui.card().classes("w-full"):
            ui.label("检验 / 检查 / 治疗").classes("text-h6")
            with ui.row().classes("items-end gap-2"):
                ui.input(
                    "项目检索：编码 / 名称 / 拼音首字母", on_change=lambda e: self.search(e.value)
                ).props('outlined dense clearable debounce=300 data-testid="clinic-item-query"').classes(
                    "w-72"
                )
                self.item = ui.select(options, label="医嘱项目", with_input=True)
                self.item.props('outlined dense data-testid="clinic-item"').classes("w-[28rem]")
                self.quantity = (
                    ui.number("数量", value=1, min=1, max=999).props("outlined dense").classes("w-24")
                )
                ui.button("开立", on_click=self.order).props('data-testid="clinic-order"')
            self.message = ui.label("").classes("text-sm").props('data-testid="clinic-message"')
            self.table = ui.table(columns=_COLUMNS, rows=[], row_key="id")
            self.table.props('dense flat bordered data-testid="clinic-orders"').classes("w-full")
            self.to_perform: ui.select | None = None
            if visit.actor.has(Permission.ORDER_PERFORM):
                with ui.row().classes("items-end gap-2"):
                    self.to_perform = ui.select({}, label="执行医嘱").props("outlined dense").classes("w-72")
                    ui.button("执行", on_click=self.perform).props('outline data-testid="clinic-perform"')
        visit.listen(self.redraw)

    def search(self, text: str | None) -> None:
        with unit_of_work() as session:
            options = item_options(session, (text or "").strip())
        self.item.set_options(options, value=next(iter(options), None) if text else None)

    def redraw(self) -> None:
        if self.visit.encounter_id is None:
            return
        rows = bill_rows(self.visit.encounter_id)
        self.table.rows = rows
        if self.to_perform is not None:
            self.to_perform.options = {r["id"]: r["item"] for r in rows if r["raw_status"] == "charged"}
            self.to_perform.update()

    def _ready(self) -> tuple[int, str] | None:
        if self.visit.encounter_id is None or not self.item.value:
            ui.notify("请先接诊并选择项目", type="warning")
            return None
        return self.visit.encounter_id, str(self.item.value)

    def order(self) -> None:
        ready = self._ready()
        if ready is None:
            return
        actor = self.visit.actor
        try:
            with unit_of_work() as session:
                warnings = (
                    billing.audit_precheck(session, actor, ready[0], ready[1], int(self.quantity.value or 1))
                    if actor.has(Permission.CLAIMS_PRECHECK)
                    else []
                )
        except YilianError as exc:
            show_error(exc)
            return
        if warnings:
            audit_dialog(warnings, self.recognise)
            return
        self.recognise()

    def recognise(self) -> None:
        ready = self._ready()
        if ready is None:
            return
        try:
            with unit_of_work() as session:
                outcome = billing.recognition_check(session, self.visit.actor, ready[0], ready[1])
                prompt = prompt_rows(outcome) if outcome else None
        except YilianError as exc:
            show_error(exc)
            return
        if prompt is not None and outcome is not None:
            recognition_dialog(
                self.visit.actor,
                outcome.prompt_id or 0,
                outcome.item.name,
                outcome.item.price_fen,
                prompt,
                self.place,
            )
            return
        self.place()

    def place(self) -> None:
        ready = self._ready()
        if ready is None:
            return
        try:
            with unit_of_work() as session:
                placed, _charge, reason = billing.order_with_credit(
                    session, self.visit.actor, ready[0], ready[1], int(self.quantity.value or 1)
                )
                name = placed.item_name
        except YilianError as exc:
            show_error(exc)
            return
        self.message.set_text(
            f"已开立 {name}：" + ("先诊疗后付费（信用）" if reason is None else f"需先缴费——{reason}")
        )
        self.visit.changed()

    def perform(self) -> None:
        if self.to_perform is None or not self.to_perform.value:
            return
        try:
            with unit_of_work() as session:
                outpatient.perform(session, self.visit.actor, int(self.to_perform.value))
        except YilianError as exc:
            show_error(exc)
            return
        ui.notify("已执行", type="positive")
        self.visit.changed()


_COLUMNS = [
    {"name": "item", "label": "项目", "field": "item", "align": "left"},
    {"name": "quantity", "label": "数量", "field": "quantity"},
    {"name": "amount", "label": "金额", "field": "amount"},
    {"name": "class", "label": "医保类别", "field": "class"},
    {"name": "status", "label": "状态", "field": "status"},
    {"name": "credit", "label": "支付方式", "field": "credit"},
]


def audit_dialog(findings: list[FindingView], go_on: Callable[[], None]) -> None:
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


def prompt_rows(outcome: CheckOutcome) -> list[dict[str, Any]]:
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


def recognition_dialog(
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
