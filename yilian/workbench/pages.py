"""The doctor's outpatient workstation (门诊医生工作站) at /clinic: the visit, the record, the diagnoses,
the prescriptions with live review warnings, other orders and the bill — each a named part."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import RedirectResponse
from nicegui import ui

from yilian.kit.auth.domain import Actor, Permission
from yilian.kit.db import unit_of_work
from yilian.kit.errors import YilianError
from yilian.registry import service as registry
from yilian.web import nav
from yilian.web.shell import allowed, frame, guard
from yilian.workbench.parts.diagnoses import DiagnosisSection
from yilian.workbench.parts.orders import OrderSection
from yilian.workbench.parts.prescription import PrescriptionEditor
from yilian.workbench.parts.record import RecordSection
from yilian.workbench.parts.visit import Visit, VisitBar

nav.register(
    nav.NavItem(
        label="门诊医生工作站",
        path="/clinic",
        icon="medication",
        group="诊疗",
        permission=Permission.ENCOUNTER_WRITE,
        order=20,
        description="接诊、门诊病历、诊断、处方（前置审方）、检验检查；符合条件的患者先诊疗后付费",
    )
)


def _doctor_context(actor: Actor, wanted: str) -> tuple[int | None, dict[int, str]]:
    """The doctor's department and the patient called from the queue, if any."""
    preset: dict[int, str] = {}
    with unit_of_work() as session:
        if wanted.isdigit():  # from the doctor's queue: the patient being called
            try:
                p = registry.get_patient(session, actor, int(wanted), reason="叫号接诊")
                preset = {p.id: f"{p.name} {p.mpi_id}"}
            except YilianError:
                preset = {}
        department_id = None
        if actor.practitioner_id:
            department_id = registry.practitioner_reads(
                session, [registry.get_practitioner(session, actor.practitioner_id)]
            )[0].primary_department_id
    return department_id, preset


@ui.page("/clinic")
def clinic_page(request: Request) -> RedirectResponse | None:
    """The workstation: a visit bar, then the record, diagnoses, prescriptions and orders."""
    actor = guard(request, Permission.ENCOUNTER_WRITE)
    if isinstance(actor, RedirectResponse):
        return actor
    if not allowed(actor, Permission.ENCOUNTER_WRITE):
        return None
    department_id, preset = _doctor_context(actor, request.query_params.get("patient_id", ""))
    visit = Visit(actor=actor, department_id=department_id)
    with frame(actor, "门诊医生工作站"):
        bar = VisitBar(visit, preset)
        with ui.row().classes("w-full gap-4 items-start no-wrap"):
            with ui.column().classes("w-1/2 gap-4"):
                RecordSection(visit)
                DiagnosisSection(visit)
            with ui.column().classes("w-1/2 gap-4"):
                PrescriptionEditor(visit)
                OrderSection(visit)
    if not preset:
        bar.resume()
    return None
