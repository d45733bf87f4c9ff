"""The coder's live DRG preview of an inpatient discharge abstract (linked from the coding page)."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import RedirectResponse
from nicegui import ui

from yilian.drg import inpatient_cases
from yilian.kit.auth.domain import Actor, Permission
from yilian.kit.db import unit_of_work
from yilian.kit.errors import YilianError
from yilian.kit.money import yuan
from yilian.web.shell import allowed, frame, guard, show_error


def _line(label: str, priced: inpatient_cases.Priced) -> str:
    r = priced.result
    weight = f"{priced.weight:.4f}" if priced.weight is not None else "—"
    return f"{label}：{r.drg} {r.drg_name} · 权重 {weight} · 预计支付 {yuan(priced.payment_fen)}"


@ui.page("/drg/inpatient/{admission_id}")
def inpatient_preview_page(request: Request, admission_id: int) -> RedirectResponse | None:
    """Group, weight and expected payment of the abstract now, and without each secondary diagnosis."""
    actor = guard(request, Permission.ABSTRACT_CODE)
    if isinstance(actor, RedirectResponse):
        return actor
    if not isinstance(actor, Actor) or not allowed(actor, Permission.ABSTRACT_CODE):
        return None
    with frame(actor, "DRG 分组预览"):
        try:
            with unit_of_work() as session:
                found = inpatient_cases.preview(session, actor, admission_id)
        except YilianError as exc:
            show_error(exc)
            return None
        ui.label(f"分组方案 {found.scheme}").classes("text-grey-7")
        ui.label(_line("当前分组", found.current)).classes("text-subtitle1").props(
            'data-testid="drg-preview"'
        )
        ui.label(found.current.result.explanation).classes("text-sm text-grey-8")
        for code, priced in found.without:
            ui.label(_line(f"去掉次要诊断 {code}", priced)).classes("text-sm").props(
                'data-testid="drg-without"'
            )
        ui.link("返回病案首页", f"/inpatient/abstract?admission_id={admission_id}")
    return None
