"""The visit in progress and the bar that finds a patient and opens (or resumes) the visit."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from nicegui import app, ui

from yilian.billing import service as billing
from yilian.kit.auth.domain import Actor
from yilian.kit.db import unit_of_work
from yilian.kit.errors import YilianError
from yilian.kit.money import yuan
from yilian.outpatient import record_service
from yilian.registry import service as registry
from yilian.web.shell import show_error
from yilian.workbench import service as workbench

LAST_VISIT = "clinic_last_visit"


@dataclass
class Visit:
    """The doctor's open visit on this screen; parts listen to its changes."""

    actor: Actor
    department_id: int | None
    encounter_id: int | None = None
    patient_id: int | None = None
    label: str = ""
    listeners: list[Callable[[], None]] = field(default_factory=list)

    def listen(self, redraw: Callable[[], None]) -> None:
        self.listeners.append(redraw)

    def changed(self) -> None:
        for redraw in self.listeners:
            redraw()

    def open(self, encounter_id: int, patient_id: int, label: str) -> None:
        self.encounter_id, self.patient_id, self.label = encounter_id, patient_id, label
        # a reload (or another tab of this browser) comes back to this visit, not to another open one
        app.storage.user[LAST_VISIT] = encounter_id
        self.changed()


class VisitBar:
    """Find the patient, 接诊, and show the visit, its credit line and the patient's allergies."""

    def __init__(self, visit: Visit, preset: dict[int, str]) -> None:
        self.visit = visit
        with ui.row().classes("items-end gap-2"):
            self.query = (
                ui.input("患者姓名 / 拼音首字母")
                .props('outlined dense data-testid="clinic-patient-query"')
                .classes("w-64")
            )
            ui.button("查找", on_click=self.find).props('data-testid="clinic-find"')
            self.patient = (
                ui.select(preset, label="患者", value=next(iter(preset), None))
                .props('outlined dense data-testid="clinic-patient"')
                .classes("w-72")
            )
            ui.button("接诊", on_click=self.start).props('data-testid="clinic-start"')
        self.title = ui.label("").classes("text-grey-8").props('data-testid="clinic-visit"')
        self.credit = ui.label("").classes("text-sm").props('data-testid="clinic-credit"')
        self.allergy_box = ui.row().classes("items-center gap-2")
        visit.listen(self.redraw)

    def find(self) -> None:
        try:
            with unit_of_work() as session:
                rows, _ = registry.search_patients(
                    session, self.visit.actor, q=self.query.value or "", limit=20
                )
                self.patient.options = {p.id: f"{p.name} {p.mpi_id}" for p in rows}
        except YilianError as exc:
            show_error(exc)
            return
        self.patient.update()
        if self.patient.options:
            self.patient.set_value(next(iter(self.patient.options)))

    def start(self) -> None:
        if not self.patient.value or self.visit.department_id is None:
            ui.notify("请先选择患者（医生账号需关联科室）", type="warning")
            return
        try:
            with unit_of_work() as session:
                encounter = billing.open_visit(
                    session,
                    self.visit.actor,
                    patient_id=int(self.patient.value),
                    department_id=self.visit.department_id,
                )
                registered = encounter.registration_id is not None
                eid, pid = encounter.id, encounter.patient_id
        except YilianError as exc:
            show_error(exc)
            return
        source = "（凭挂号接诊）" if registered else "（无挂号，直接接诊）"
        self.visit.open(eid, pid, f"就诊号 {eid} · {self.patient.options[self.patient.value]}{source}")

    def resume(self) -> None:
        """Show the doctor's open visit of today again (after a reload)."""
        with unit_of_work() as session:
            last = app.storage.user.get(LAST_VISIT)
            encounter = workbench.resume_visit(
                session, self.visit.actor, last if isinstance(last, int) else None
            )
            if encounter is None:
                return
            p = registry.find_patient(session, encounter.patient_id)
            label = f"就诊号 {encounter.id} · {p.name} {p.mpi_id}（继续就诊）"
            eid, pid = encounter.id, p.id
        self.visit.open(eid, pid, label)

    def redraw(self) -> None:
        self.title.set_text(self.visit.label)
        if self.visit.encounter_id is None or self.visit.patient_id is None:
            return
        with unit_of_work() as session:
            status = billing.credit_status(session, self.visit.encounter_id)
            allergies = record_service.allergies(session, self.visit.patient_id)
        if status.refusal:
            self.credit.set_text(f"不可先诊疗后付费：{status.refusal}（医嘱须先缴费后执行）")
            self.credit.classes(replace="text-sm text-negative")
        else:
            self.credit.set_text(
                f"先诊疗后付费：今日信用额度剩余 {yuan(status.left)}"
                f"（已用 {yuan(status.held)} / 每日 {yuan(status.daily_limit)}）"
            )
            self.credit.classes(replace="text-sm text-positive")
        self._allergies(allergies)

    def _allergies(self, allergies: list[str]) -> None:
        self.allergy_box.clear()
        with self.allergy_box:
            ui.label("过敏史：").classes("text-sm text-grey-8")
            if not allergies:
                ui.label("无").classes("text-sm").props('data-testid="clinic-allergies"')
            for a in allergies:
                ui.badge(a, color="negative").props('data-testid="clinic-allergies"')
            substance = ui.input("新增过敏（如 青霉素类）").props("outlined dense").classes("w-48")
            ui.button("记录", on_click=lambda: self.add_allergy(substance.value or "")).props(
                'flat dense data-testid="clinic-allergy-add"'
            )

    def add_allergy(self, substance: str) -> None:
        if self.visit.patient_id is None:
            return
        try:
            with unit_of_work() as session:
                record_service.add_allergy(session, self.visit.actor, self.visit.patient_id, substance)
        except YilianError as exc:
            show_error(exc)
            return
        self.visit.changed()
