"""The prescription editor (处方): choose kind and drug, write dose, unit, frequency, route and days; the
quantity to dispense and its rule show as you type, and so do the review warnings (前置审方, beside the
smart audit's); the visit's prescriptions are listed in their paper colour, lines removable, submitted
to the pharmacist (with a justification after a return)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from nicegui import ui

from yilian.catalog import drug_service
from yilian.catalog import service as catalog
from yilian.catalog.drug_domain import (
    FREQUENCIES,
    ROUTES,
    DrugFacts,
    dispense_quantity,
    frequency,
    parse_dose,
)
from yilian.kit.db import unit_of_work
from yilian.kit.errors import YilianError
from yilian.kit.money import yuan
from yilian.outpatient import rx_service
from yilian.outpatient.record_schemas import LineCreate, PrescriptionRead
from yilian.outpatient.rx_domain import PrescriptionKind, Severity
from yilian.web.shell import show_error
from yilian.workbench import service as workbench
from yilian.workbench.parts.visit import Visit

_SAME = {"g": ("g", "mg"), "mg": ("mg", "g"), "μg": ("μg", "mg"), "ml": ("ml",), "单位": ("单位",)}


def units_of(facts: DrugFacts) -> list[str]:
    """The dose units a drug may be written in: its strength unit and kin, then its form unit."""
    return list(dict.fromkeys([*_SAME.get(facts.strength_unit, (facts.strength_unit,)), facts.form_unit]))


def warnings_box(box: ui.column, findings: list[Any]) -> None:
    """Draw review findings (serious in red, cautions in amber) into ``box``."""
    box.clear()
    with box:
        for f in findings:
            serious = f.severity == Severity.SERIOUS.value or f.severity is Severity.SERIOUS
            with ui.row().classes("items-start gap-2").props('data-testid="rx-warning"'):
                ui.badge("严重" if serious else "提示", color="negative" if serious else "warning")
                ui.label(f"[{f.category}] {f.message}").classes("text-sm")


class PrescriptionEditor:
    """Write a line with live quantity and warnings, and list the visit's prescriptions."""

    def __init__(self, visit: Visit) -> None:
        self.visit = visit
        with unit_of_work() as session:
            items, _ = catalog.search_items(session, kind="drug", limit=200)
            self.facts = drug_service.drug_facts(session, [i.code for i in items])
        drugs = {
            c: f"{f.name}（{f.strength_text()}，每{f.package_unit}{f.package_size.normalize()}{f.form_unit}）"
            for c, f in self.facts.items()
        }
        with ui.card().classes("w-full"):
            ui.label("处方").classes("text-h6")
            with ui.row().classes("items-end gap-2"):
                self.kind = ui.select(
                    {k.value: k.label for k in PrescriptionKind}, value="normal", label="处方类别"
                )
                self.kind.props('outlined dense data-testid="rx-kind"').classes("w-36")
                self.long_term = ui.checkbox("长期处方（慢病，≤12周）").props('data-testid="rx-long-term"')
                self.drug = ui.select(drugs, label="药品", with_input=True, on_change=self.drug_chosen)
                self.drug.props('outlined dense data-testid="rx-drug"').classes("w-[26rem]")
            with ui.row().classes("items-end gap-2"):
                self.dose = ui.input("每次剂量", on_change=self.preview).props(
                    'outlined dense data-testid="rx-dose"'
                )
                self.dose.classes("w-24")
                self.unit = ui.select([], label="单位", on_change=self.preview).props(
                    'outlined dense data-testid="rx-unit"'
                )
                self.unit.classes("w-24")
                freq = {f.code: f"{f.code} {f.label}" for f in FREQUENCIES.values()}
                self.freq = ui.select(freq, label="频次", on_change=self.preview).props(
                    'outlined dense data-testid="rx-frequency"'
                )
                self.freq.classes("w-40")
                route = {k: f"{k} {v}" for k, v in ROUTES.items()}
                self.route = ui.select(route, value="po", label="途径").props(
                    'outlined dense data-testid="rx-route"'
                )
                self.route.classes("w-32")
                self.days = ui.number("天数", value=7, min=1, max=90, on_change=self.preview).props(
                    'outlined dense data-testid="rx-days"'
                )
                self.days.classes("w-20")
                ui.button("加入处方", on_click=self.add).props('data-testid="rx-add"')
            self.quantity = ui.label("").classes("text-sm text-grey-8").props('data-testid="rx-quantity"')
            self.warnings = ui.column().classes("gap-1").props('data-testid="rx-warnings"')
            self.list = ui.column().classes("w-full gap-2")
        visit.listen(self.redraw)

    def drug_chosen(self) -> None:
        facts = self.facts.get(self.drug.value or "")
        if facts is None:
            return
        self.unit.set_options(units_of(facts), value=facts.strength_unit)
        if facts.default_dose is not None:
            self.dose.set_value(format(facts.default_dose.normalize(), "f"))
        if facts.default_frequency:
            self.freq.set_value(facts.default_frequency)
        self.route.set_value(facts.default_route)
        self.preview()

    def candidate(self) -> LineCreate | None:
        if not (
            self.drug.value and self.dose.value and self.unit.value and self.freq.value and self.days.value
        ):
            return None
        try:
            dose = parse_dose(self.dose.value)
        except YilianError:
            return None
        return LineCreate(
            item_code=self.drug.value,
            dose=dose,
            dose_unit=self.unit.value,
            frequency=self.freq.value,
            route=self.route.value or "po",
            days=int(self.days.value),
        )

    def preview(self) -> None:
        line = self.candidate()
        if line is None or self.visit.encounter_id is None:
            self.quantity.set_text("")
            return
        facts = self.facts[line.item_code]
        try:
            q = dispense_quantity(
                facts, Decimal(line.dose), line.dose_unit, frequency(line.frequency), line.days
            )
            self.quantity.set_text(f"发药数量 {q.packages}{facts.package_unit}：{q.rule}")
            with unit_of_work() as session:
                found = workbench.live_check(
                    session, self.visit.actor, self.visit.encounter_id, self.kind.value, line
                )
        except YilianError as exc:
            self.quantity.set_text(f"{exc.title}：{exc.detail}")
            return
        warnings_box(self.warnings, found)

    def add(self) -> None:
        line = self.candidate()
        if self.visit.encounter_id is None or line is None:
            ui.notify("请先接诊，并填写药品、剂量、单位、频次与天数", type="warning")
            return
        try:
            with unit_of_work() as session:
                done = workbench.prescribe(
                    session,
                    self.visit.actor,
                    self.visit.encounter_id,
                    self.kind.value,
                    line,
                    long_term=bool(self.long_term.value),
                )
        except YilianError as exc:
            show_error(exc)
            return
        paid = "先诊疗后付费（信用）" if done.on_credit else f"需先缴费——{done.credit_refusal}"
        ui.notify(f"已加入 {done.name} ×{done.quantity}{done.unit}：{paid}", type="positive")
        self.drug.set_value(None)
        self.warnings.clear()
        self.quantity.set_text("")
        self.visit.changed()

    def remove(self, line_id: int) -> None:
        try:
            with unit_of_work() as session:
                workbench.unprescribe(session, self.visit.actor, line_id)
        except YilianError as exc:
            show_error(exc)
            return
        self.visit.changed()

    def submit(self, prescription_id: int, note: str) -> None:
        try:
            with unit_of_work() as session:
                rx_service.submit(session, self.visit.actor, prescription_id, note)
        except YilianError as exc:
            show_error(exc)
            return
        ui.notify("已提交药师审方", type="positive")
        self.visit.changed()

    def redraw(self) -> None:
        self.list.clear()
        if self.visit.encounter_id is None:
            return
        with unit_of_work() as session:
            prescriptions = rx_service.prescriptions_of_encounter(session, self.visit.encounter_id)
        if any(p.long_term for p in prescriptions):
            self.long_term.set_value(True)  # a long prescription stays one after a reload
        with self.list:
            for p in prescriptions:
                prescription_card(p, self.remove, self.submit)


def prescription_card(p: PrescriptionRead, remove: Any, submit: Any) -> None:
    """One prescription on its paper colour, with its lines, findings, verdicts and the submit form."""
    editable = p.status in ("draft", "returned")
    with ui.card().classes("w-full").style(f"background:{p.colour}").props(f'data-testid="rx-card-{p.kind}"'):
        with ui.row().classes("items-center gap-2 w-full"):
            ui.label(p.kind_label).classes("text-subtitle1 font-medium")
            if p.corner_mark:
                ui.badge(p.corner_mark, color="accent")
            ui.label(p.status_label).props('data-testid="rx-status"').classes("text-sm text-primary")
            ui.space()
            ui.label(f"合计 {yuan(p.total)}").classes("text-sm")
        if p.return_reason and p.status == "returned":
            ui.label(f"药师退回：{p.return_reason}").classes("text-negative text-sm").props(
                'data-testid="rx-returned"'
            )
        for x in p.lines:
            if x.order_status == "cancelled":
                continue
            with ui.row().classes("items-center gap-2 w-full").props('data-testid="rx-line"'):
                ui.label(
                    f"{x.name}  {x.dose.normalize()}{x.dose_unit} {x.frequency} {x.route_label} ×{x.days}天"
                ).classes("font-medium")
                ui.label(f"共 {x.quantity}{x.unit}（{yuan(x.amount)}）").classes("text-sm")
                ui.label(x.quantity_rule).classes("text-xs text-grey-7")
                if editable:
                    ui.button(icon="delete", on_click=lambda _e, i=x.id: remove(i)).props(
                        f'flat dense round size=sm data-testid="rx-remove-{x.item_code}"'
                    )
        box = ui.column().classes("gap-1")
        warnings_box(box, list(p.findings))
        if editable and p.lines:
            with ui.row().classes("items-end gap-2"):
                note = (
                    ui.input("用药理由（退回后不修改时填写）")
                    .props('outlined dense data-testid="rx-note"')
                    .classes("w-72")
                )
                ui.button("提交审方", on_click=lambda: submit(p.id, note.value or "")).props(
                    'color=primary data-testid="rx-submit"'
                )
