"""The patient's phone page of outpatient care: signed records (门诊病历) with diagnoses, prescriptions
and how to take each drug, and the printable A5 record."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import RedirectResponse
from nicegui import ui

from yilian.kit.auth.domain import Role
from yilian.kit.db import unit_of_work
from yilian.outpatient import record_service, rx_service
from yilian.outpatient.domain import OrderStatus
from yilian.outpatient.record_schemas import PrescriptionRead
from yilian.web import nav
from yilian.web.shell import frame, guard

nav.register(
    nav.NavItem(
        label="病历与用药",
        path="/my/visits",
        icon="description",
        group="患者服务",
        roles=frozenset({Role.PATIENT}),
        order=7,
        description="门诊病历、诊断、处方与用法用量",
    )
)


def medicine_card(p: PrescriptionRead) -> None:
    """A prescription as the patient reads it: each drug, how much, how to take it."""
    with ui.card().classes("w-full").style(f"background:{p.colour}").props('data-testid="my-prescription"'):
        with ui.row().classes("items-center gap-2"):
            ui.label(p.kind_label).classes("font-medium")
            ui.label(p.status_label).classes("text-sm text-primary").props(
                'data-testid="my-prescription-status"'
            )
        for x in p.lines:
            if x.order_status == OrderStatus.CANCELLED:
                continue
            ui.label(f"{x.name} ×{x.quantity}{x.unit}").classes("font-medium")
            ui.label(x.instructions).classes("text-sm").props('data-testid="my-how-to-take"')


@ui.page("/my/visits")
def my_visits_page(request: Request) -> RedirectResponse | None:
    """The patient's records and prescriptions, newest first."""
    actor = guard(request)
    if isinstance(actor, RedirectResponse):
        return actor
    with frame(actor, "病历与用药"):
        if actor.patient_id is None:
            ui.label("仅患者账号可查看").classes("text-grey-7")
            return None
        with unit_of_work() as session:
            records = record_service.patient_records(session, actor, actor.patient_id)
            prescriptions = rx_service.patient_prescriptions(session, actor, actor.patient_id)
            diagnoses = record_service.diagnoses_of_records(session, records)
        by_visit: dict[int, list[PrescriptionRead]] = {}
        for p in prescriptions:
            by_visit.setdefault(p.encounter_id, []).append(p)
        if not records and not prescriptions:
            ui.label("暂无门诊病历").classes("text-grey-7")
        for r in records:
            with ui.card().classes("w-full max-w-md").props('data-testid="my-record"'):
                ui.label(f"{r.business_date} 门诊病历（第{r.version}版）").classes(
                    "text-subtitle1 text-primary"
                )
                ui.label(f"主诉：{r.chief_complaint}").classes("text-sm")
                ds = "；".join(
                    f"{d.name}" for d in sorted(diagnoses[r.encounter_id], key=lambda d: not d.is_primary)
                )
                ui.label(f"诊断：{ds or '—'}").classes("text-sm")
                ui.label(f"医嘱：{r.advice or '—'}").classes("text-sm")
                for p in by_visit.pop(r.encounter_id, []):
                    medicine_card(p)
                ui.link(
                    "查看/打印病历（PDF）", f"/api/v1/encounters/{r.encounter_id}/record.pdf", new_tab=True
                )
        for rest in by_visit.values():
            for p in rest:
                medicine_card(p)
    return None
