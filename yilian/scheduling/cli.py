"""``yilian scheduling``: policies, schedule generation, the holiday calendar, three-day window check,
stopping a clinic."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import date, timedelta
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
                else service.institution_policy(session, institution_id)
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
    """Print the return-visit days of the three-day validity (一号管三天) under the holiday calendar."""
    first = date.fromisoformat(first_day)
    policy = domain.Policy(three_day_days=days)
    with unit_of_work() as session:
        last = first + timedelta(days=policy.three_day_max_extension_days)
        calendar = service.holiday_calendar(session, first, last)
    opening = domain.WeeklyOpening(calendar, weekend_clinic=weekend, holiday_clinic=holiday)
    out = domain.three_day_window(policy, first, opening.is_open)
    for d in out:
        typer.echo(f"{d.isoformat()} {calendar.kind(d)}")
    warning = domain.calendar_warning(calendar.unknown_years(first, out[-1] if out else first))
    if warning:
        typer.echo(f"注意：{warning}", err=True)


@app.command("generate")
def generate(
    days: Annotated[int, typer.Option(help="how many days from --start")] = 14,
    start: Annotated[str | None, typer.Option(help="first day, YYYY-MM-DD (default: today)")] = None,
    institution_id: Annotated[
        list[int] | None, typer.Option("--institution", help="institution id (default: all)")
    ] = None,
) -> None:
    """Make schedules out of the weekly templates (排班模板) on the holiday calendar; idempotent, so it
    can run every day before the release time. A year without calendar data falls back to weekends and
    is named in a warning."""
    first = date.fromisoformat(start) if start else business_date()
    warning: str | None = None
    try:
        with unit_of_work() as session:
            ids = institution_id or service.institutions_with_templates(session)
            for inst in ids:
                result = service.generate_schedules(session, SYSTEM, inst, start=first, days=days)
                typer.echo(f"机构 {inst}: 新生成排班 {result.created} 个")
                warning = warning or result.warning
    except YilianError as exc:
        _fail(exc)
    if warning:
        typer.echo(f"注意：{warning}", err=True)


calendar_app = typer.Typer(
    help="The holiday calendar (节假日日历): statutory holidays and make-up working days per year.",
    no_args_is_help=True,
)
app.add_typer(calendar_app, name="calendar")


@calendar_app.command("import")
def calendar_import() -> None:
    """Import the years the chinesecalendar package covers that the table does not hold (idempotent;
    years already stored, e.g. entered by the admin, are left alone)."""
    with unit_of_work() as session:
        years = service.seed_holiday_calendar(session)
    typer.echo(f"已导入 {years[0]}–{years[-1]} 年（{len(years)} 年）" if years else "没有需要导入的年份")


@calendar_app.command("show")
def calendar_show(
    year: Annotated[int | None, typer.Argument(help="year (default: list the years)")] = None,
) -> None:
    """List the years of the calendar, or one year's holidays and make-up working days."""
    try:
        with unit_of_work() as session:
            if year is None:
                for info in service.calendar_overview(session):
                    state = "已录入完整" if info.complete else ("未录入完整" if info.stored else "无数据")
                    typer.echo(
                        f"{info.year} {state} 节假日 {info.holidays} 天 调休上班 {info.makeup_days} 天"
                        + (f" 来源 {info.source}" if info.source else "")
                    )
                return
            info = service.calendar_year_info(session, year)
            for row in service.calendar_days(session, year):
                typer.echo(f"{row.day.isoformat()} {row.kind} {row.name}")
    except YilianError as exc:
        _fail(exc)
        return
    if info.warning:
        typer.echo(f"注意：{info.warning}", err=True)


@calendar_app.command("set")
def calendar_set(
    day: Annotated[str, typer.Argument(help="YYYY-MM-DD")],
    kind: Annotated[str, typer.Option(help="holiday (法定节假日) or makeup (调休上班)")] = "holiday",
    name: Annotated[str, typer.Option(help="the festival, e.g. 元旦")] = "",
) -> None:
    """Enter a statutory holiday or a make-up working day."""
    try:
        with unit_of_work() as session:
            row = service.set_calendar_day(session, SYSTEM, day=date.fromisoformat(day), kind=kind, name=name)
            existing = service.open_schedules_on(session, row.day)
    except YilianError as exc:
        _fail(exc)
        return
    typer.echo(f"{row.day.isoformat()} {domain.DAY_KINDS[row.kind]} {row.name}")
    if existing:
        typer.echo(f"注意：该日已生成 {existing} 个排班，不会自动停诊", err=True)


@calendar_app.command("remove")
def calendar_remove(day: Annotated[str, typer.Argument(help="YYYY-MM-DD")]) -> None:
    """Remove a holiday or make-up working day (the date becomes an ordinary day)."""
    try:
        with unit_of_work() as session:
            service.remove_calendar_day(session, SYSTEM, date.fromisoformat(day))
    except YilianError as exc:
        _fail(exc)
        return
    typer.echo(f"已删除 {day}")


@calendar_app.command("complete")
def calendar_complete(
    year: int,
    undo: Annotated[bool, typer.Option("--undo", help="mark the year as not yet complete")] = False,
) -> None:
    """Mark a year's arrangement as entered in full (the fall-back warning goes away)."""
    try:
        with unit_of_work() as session:
            info = service.set_calendar_year_complete(session, SYSTEM, year, not undo)
    except YilianError as exc:
        _fail(exc)
        return
    typer.echo(f"{info.year} {'已录入完整' if info.complete else '未录入完整'}")


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
