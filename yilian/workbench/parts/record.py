"""The outpatient record (门诊病历) part: fill from a template, write, sign, amend with a reason, see the
versions and print the A5 PDF."""

from __future__ import annotations

from decimal import Decimal

from nicegui import ui

from yilian.kit.db import unit_of_work
from yilian.kit.errors import YilianError
from yilian.outpatient import record_service
from yilian.outpatient.record_schemas import RECORD_FIELDS, RECORD_LABELS, RecordUpdate
from yilian.web.shell import show_error
from yilian.workbench.parts.visit import Visit

PREGNANCY = {"": "非孕期/哺乳期", "pregnant": "妊娠期", "lactating": "哺乳期"}


class RecordSection:
    """The record's fields with template, save, sign, amend, versions and print."""

    def __init__(self, visit: Visit) -> None:
        self.visit = visit
        self.version = 0
        with ui.card().classes("w-full"):
            with ui.row().classes("items-center gap-2 w-full"):
                ui.label("门诊病历").classes("text-h6")
                self.status = ui.label("").classes("text-sm text-grey-7").props('data-testid="record-status"')
                ui.space()
                self.template = ui.select({}, label="病历模板").props(
                    'outlined dense data-testid="record-template"'
                )
                self.template.classes("w-48")
                ui.button("套用模板", on_click=self.apply_template).props(
                    'outline data-testid="record-apply"'
                )
            self.fields = {
                key: ui.textarea(RECORD_LABELS[key])
                .props(f'outlined dense autogrow data-testid="record-{key}"')
                .classes("w-full")
                for key in RECORD_FIELDS
            }
            with ui.row().classes("items-end gap-2"):
                self.weight = ui.number("体重kg", min=1, max=500).props(
                    'outlined dense data-testid="record-weight"'
                )
                self.pregnancy = ui.select(PREGNANCY, value="", label="妊娠/哺乳").props("outlined dense")
                self.pregnancy.classes("w-40")
                ui.button("保存", on_click=self.save).props('data-testid="record-save"')
                ui.button("签名", on_click=self.sign).props('color=positive data-testid="record-sign"')
                self.reason = (
                    ui.input("修订理由").props('outlined dense data-testid="record-reason"').classes("w-48")
                )
                ui.button("修订", on_click=self.amend).props('outline data-testid="record-amend"')
                ui.button("版本", on_click=self.show_versions).props("flat")
                self.print_link = ui.link("打印门诊病历（A5 PDF）", "#", new_tab=True).props(
                    'data-testid="record-print"'
                )
        visit.listen(self.redraw)

    def _data(self) -> RecordUpdate:
        weight = self.weight.value
        return RecordUpdate(
            **{key: box.value or "" for key, box in self.fields.items()},
            weight_kg=Decimal(str(weight)) if weight else None,
            pregnancy=self.pregnancy.value or "",
        )

    def redraw(self) -> None:
        eid = self.visit.encounter_id
        if eid is None:
            return
        with unit_of_work() as session:
            record = record_service.record_for(session, self.visit.actor, eid)
            department_id = self.visit.department_id
            templates = {t.id: t.name for t in record_service.templates_for(session, department_id)}
            values = {key: getattr(record, key) for key in RECORD_FIELDS}
            weight, pregnancy, self.version = record.weight_kg, record.pregnancy, record.version
            signer, signed_at = record.signer_name, record.signed_at
        keep = self.template.value if self.template.value in templates else next(iter(templates), None)
        self.template.set_options(templates, value=keep)
        for key, box in self.fields.items():
            box.set_value(values[key])
        self.weight.set_value(float(weight) if weight is not None else None)
        self.pregnancy.set_value(pregnancy)
        self.status.set_text(
            f"已签名 第{self.version}版 · {signer} {signed_at:%m-%d %H:%M}"
            if self.version and signed_at
            else "未签名"
        )
        self.print_link.props(f'href="/api/v1/encounters/{eid}/record.pdf"')

    def _run(self, action: str) -> bool:
        eid = self.visit.encounter_id
        if eid is None:
            ui.notify("请先接诊", type="warning")
            return False
        try:
            with unit_of_work() as session:
                if action == "template":
                    record_service.apply_template(
                        session, self.visit.actor, eid, int(self.template.value or 0)
                    )
                elif action == "save":
                    record_service.save_record(session, self.visit.actor, eid, self._data())
                elif action == "sign":
                    if not self.version:
                        record_service.save_record(session, self.visit.actor, eid, self._data())
                    record_service.sign(session, self.visit.actor, eid)
                else:
                    record_service.amend(
                        session, self.visit.actor, eid, self._data(), self.reason.value or ""
                    )
        except YilianError as exc:
            show_error(exc)
            return False
        self.redraw()
        return True

    def apply_template(self) -> None:
        self._run("template")

    def save(self) -> None:
        if self._run("save"):
            ui.notify("病历已保存", type="positive")

    def sign(self) -> None:
        if self._run("sign"):
            ui.notify("病历已签名", type="positive")

    def amend(self) -> None:
        if self._run("amend"):
            self.reason.set_value("")
            ui.notify("已修订并保留历史版本", type="positive")

    def show_versions(self) -> None:
        if self.visit.encounter_id is None:
            return
        with unit_of_work() as session:
            versions = record_service.versions(session, self.visit.actor, self.visit.encounter_id)
            rows = [
                {
                    "version": v.version,
                    "who": v.signer_name,
                    "at": f"{v.signed_at:%Y-%m-%d %H:%M}",
                    "reason": v.reason or "首次签名",
                    "complaint": str(v.content.get("chief_complaint", "")),
                    "advice": str(v.content.get("advice", "")),
                }
                for v in versions
            ]
        versions_dialog(rows)


def versions_dialog(rows: list[dict[str, object]]) -> None:
    """The signed versions of a record, oldest first."""
    with ui.dialog() as dialog, ui.card().classes("w-[44rem]"):
        ui.label("病历版本").classes("text-h6")
        ui.table(
            columns=[
                {"name": "version", "label": "版本", "field": "version"},
                {"name": "who", "label": "签名医师", "field": "who"},
                {"name": "at", "label": "时间", "field": "at"},
                {"name": "reason", "label": "修订理由", "field": "reason", "align": "left"},
                {"name": "complaint", "label": "主诉", "field": "complaint", "align": "left"},
                {"name": "advice", "label": "处理意见", "field": "advice", "align": "left"},
            ],
            rows=rows,
            row_key="version",
        ).props('dense flat bordered wrap-cells data-testid="record-versions"').classes("w-full")
        ui.button("关闭", on_click=dialog.close).props("flat")
    dialog.open()
