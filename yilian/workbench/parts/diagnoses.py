"""The diagnosis list (ICD-10 医保版): principal first, added from the catalogue, removable."""

from __future__ import annotations

from nicegui import ui

from yilian.catalog import service as catalog
from yilian.kit.db import unit_of_work
from yilian.kit.errors import YilianError
from yilian.outpatient import record_service
from yilian.outpatient import service as outpatient
from yilian.web.shell import show_error
from yilian.workbench.parts.visit import Visit


class DiagnosisSection:
    """Add a diagnosis, list them (principal first) and remove one."""

    def __init__(self, visit: Visit) -> None:
        self.visit = visit
        with unit_of_work() as session:
            # the common diagnoses (every one groups under CHS-DRG); the full table starts at A00 霍乱
            options = {d.code: d.label for d in catalog.common_diagnoses(session)}
        with ui.card().classes("w-full"):
            ui.label("诊断").classes("text-h6")
            with ui.row().classes("items-end gap-2"):
                self.choice = (
                    ui.select(options, label="诊断 (ICD-10 医保版)", with_input=True)
                    .props('outlined dense data-testid="dx-select"')
                    .classes("w-96")
                )
                ui.button("添加诊断", on_click=self.add).props('outline data-testid="dx-add"')
            self.box = ui.column().classes("gap-1").props('data-testid="dx-list"')
        visit.listen(self.redraw)

    def add(self) -> None:
        if self.visit.encounter_id is None or not self.choice.value:
            ui.notify("请先接诊并选择诊断", type="warning")
            return
        try:
            with unit_of_work() as session:
                outpatient.add_diagnosis(
                    session, self.visit.actor, self.visit.encounter_id, self.choice.value
                )
        except YilianError as exc:
            show_error(exc)
            return
        self.choice.set_value(None)
        self.redraw()

    def remove(self, diagnosis_id: int) -> None:
        if self.visit.encounter_id is None:
            return
        try:
            with unit_of_work() as session:
                record_service.remove_diagnosis(
                    session, self.visit.actor, self.visit.encounter_id, diagnosis_id
                )
        except YilianError as exc:
            show_error(exc)
            return
        self.redraw()

    def redraw(self) -> None:
        self.box.clear()
        if self.visit.encounter_id is None:
            return
        with unit_of_work() as session:
            read = outpatient.encounter_read(
                session, outpatient.find_encounter(session, self.visit.encounter_id)
            )
        rows = sorted(read.diagnoses, key=lambda d: not d.is_primary)
        with self.box:
            if not rows:
                ui.label("尚未添加诊断").classes("text-grey-7 text-sm")
            for n, d in enumerate(rows, 1):
                with ui.row().classes("items-center gap-2").props('data-testid="dx-row"'):
                    ui.label(f"{n}. {d.code} {d.name}")
                    if d.is_primary:
                        ui.badge("主要诊断", color="primary")
                    ui.button(icon="close", on_click=lambda _e, i=d.id: self.remove(i)).props(
                        f'flat dense round size=sm data-testid="dx-remove-{d.code}"'
                    )
