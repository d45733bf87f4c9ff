"""``yilian scheduling``: policies, three-day window check, stopping a clinic."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import date
from typing import Annotated

import typer

from yilian.kit.auth.domain import Actor
from yilian.kit.clock import business_date
from yilian.kit.db import unit_of_work
from yilian.kit.errors import YilianError
from yilian.scheduling import domain, service

NAME = "scheduling"
app = typer.Typer(help="Schedules, booking and queues (排班、预约挂号、候诊叫号).", no_args_is_help=True)
SYSTEM = Actor.system("scheduling-cli")


@app.callback()
def _group() -> None:
    """Schedules, booking and queues (排班、预约挂号、候诊叫号)."""


def _fail(exc: YilianError) -> None:
    typer.echo(f"error: {exc.title}: {exc.detail}", err=True)
    raise typer.Exit(2) from exc


@app.command("policy")
def policy(
    institution_id: int,
    set_: Annotated[
        list[str] | None, typer.Option("--set", help="key=JSON value, e.g. release_time='\"08:00\"'")
    ] = None,
) -> None:
    """Show (or change with --set) an institution's scheduling policy."""
    changes: dict[str, object] = {}
    for item in set_ or []:
        key, _, raw = item.partition("=")
        try:
            changes[key] = json.loads(raw)
        except json.JSONDecodeError:
            changes[key] = raw
    try:
        with unit_of_work() as session:
            p = (
                service.set_policy(session, SYSTEM, institution_id, changes)
                if changes
                else service.get_policy(session, institution_id)
            )
            typer.echo(json.dumps(p.to_dict(), ensure_ascii=False, indent=2))
    except YilianError as exc:
        _fail(exc)


@app.command("window")
def window(
    first_day: Annotated[str, typer.Argument(help="first-visit day, YYYY-MM-DD")],
    weekend: Annotated[bool, typer.Option(help="department runs weekend clinics")] = False,
    holiday: Annotated[bool, typer.Option(help="department runs holiday clinics")] = False,
    days: Annotated[int, typer.Option(help="window length (policy three_day_days)")] = 3,
) -> None:
    """Print the return-visit days of the three-day validity (一号管三天) under the Chinese calendar."""
    opening = domain.WeeklyOpening(weekend_clinic=weekend, holiday_clinic=holiday)
    out = domain.three_day_window(
        domain.Policy(three_day_days=days), date.fromisoformat(first_day), opening.is_open
    )
    for d in out:
        typer.echo(f"{d.isoformat()} {domain.day_kind(d)}")


@app.command("generate")
def generate(
    days: Annotated[int, typer.Option(help="how many days from --start")] = 14,
    start: Annotated[str | None, typer.Option(help="first day, YYYY-MM-DD (default: today)")] = None,
    institution_id: Annotated[
        list[int] | None, typer.Option("--institution", help="institution id (default: all)")
    ] = None,
) -> None:
    """Make schedules out of the weekly templates (排班模板) on the Chinese calendar; idempotent, so it
    can run every day before the release time."""
    first = date.fromisoformat(start) if start else business_date()
    try:
        with unit_of_work() as session:
            ids = institution_id or service.institutions_with_templates(session)
            for inst in ids:
                n = service.generate_schedules(session, SYSTEM, inst, start=first, days=days)
                typer.echo(f"机构 {inst}: 新生成排班 {n} 个")
    except YilianError as exc:
        _fail(exc)


@app.command("indicators")
def indicators(
    institution_id: int,
    start: Annotated[str, typer.Option(help="first clinic day, YYYY-MM-DD")],
    end: Annotated[str, typer.Option(help="last clinic day, YYYY-MM-DD")],
) -> None:
    """Booking indicators: registrations, online share, no-shows, 一号管三天 return visits and fees waived."""
    try:
        with unit_of_work() as session:
            result = service.indicators(
                session, institution_id, date.fromisoformat(start), date.fromisoformat(end)
            )
    except YilianError as exc:
        _fail(exc)
        return
    typer.echo(json.dumps(asdict(result), ensure_ascii=False, indent=2))


@app.command("expire-holds")
def expire_holds() -> None:
    """Release the places of bookings held but not paid within the hold time (锁号超时); run every minute
    (booking also releases stale holds of a full slot and of the booking patient on its own)."""
    try:
        with unit_of_work() as session:
            n = service.expire_holds(session, limit=100_000)
    except YilianError as exc:
        _fail(exc)
        return
    typer.echo(f"释放超时锁号 {n} 个")


@app.command("no-shows")
def no_shows(
    day: Annotated[str | None, typer.Option("--date", help="clinic day, YYYY-MM-DD (default: today)")] = None,
) -> None:
    """爽约: mark the confirmed bookings of a day that were never checked in (the server does it at 21:00)."""
    try:
        with unit_of_work() as session:
            n = service.mark_no_shows(session, date.fromisoformat(day) if day else business_date())
    except YilianError as exc:
        _fail(exc)
        return
    typer.echo(f"记爽约 {n} 个")


@app.command("stop")
def stop(schedule_id: int, reason: Annotated[str, typer.Option(help="停诊原因")] = "") -> None:
    """停诊: cancel a clinic's bookings, mark paid fees refund-due and notify the patients."""
    try:
        with unit_of_work() as session:
            n = service.stop_clinic(session, SYSTEM, schedule_id, reason)
        typer.echo(f"已停诊，取消预约 {n} 个")
    except YilianError as exc:
        _fail(exc)
