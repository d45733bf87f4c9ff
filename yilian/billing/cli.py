"""``yilian billing``: daily reconciliation per channel."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

import typer

from yilian.billing import service as billing
from yilian.billing.domain import Channel
from yilian.kit.clock import business_date
from yilian.kit.db import unit_of_work

NAME = "billing"
app = typer.Typer(help="Billing: payments, refunds and reconciliation.", no_args_is_help=True)


@app.callback()
def _group() -> None:
    """Billing: payments, refunds and reconciliation."""


@app.command()
def reconcile(
    day: Annotated[
        str | None, typer.Option("--date", help="Business date YYYY-MM-DD (default: yesterday)")
    ] = None,
    channel: Annotated[list[Channel] | None, typer.Option(help="Channel(s); default: all")] = None,
) -> None:
    """Compare our payments and refunds with each channel's statement; exit 1 when they differ."""
    try:
        when = date.fromisoformat(day) if day else date.fromordinal(business_date().toordinal() - 1)
    except ValueError as exc:
        raise typer.BadParameter("--date must be YYYY-MM-DD") from exc
    found = 0
    with unit_of_work() as session:
        for ch in channel or list(Channel):
            rows = billing.reconcile_day(session, ch, when)
            found += len(rows)
            typer.echo(f"{when} {ch.label}: {'平账' if not rows else f'{len(rows)} 条差异'}")
            for m in rows:
                typer.echo(f"  {m.out_trade_no} {m.kind} {m.label}: 本院 {m.ours} 分 / 渠道 {m.theirs} 分")
    typer.echo(f"checked at {datetime.now():%Y-%m-%d %H:%M}")
    if found:
        raise typer.Exit(1)


@app.command("settle-day")
def settle_day_command(
    day: Annotated[
        str | None, typer.Option("--date", help="Business date YYYY-MM-DD (default: today)")
    ] = None,
) -> None:
    """Settle every encounter of the day still open (run at 23:00 Asia/Shanghai); safe to rerun."""
    from yilian.billing.tasks import settle_day
    from yilian.kit.db import session_factory

    when = date.fromisoformat(day) if day else business_date()
    report = settle_day(session_factory(), when)
    typer.echo(
        f"{when}: settled {report.settled}, arrears {report.arrears}, already settled {report.skipped}, "
        f"errors {len(report.errors)}"
    )
    for line in report.errors:
        typer.echo(f"  {line}")
    if report.errors:
        raise typer.Exit(1)


@app.command()
def reminders(
    day: Annotated[
        str | None, typer.Option("--date", help="Business date YYYY-MM-DD (default: today)")
    ] = None,
) -> None:
    """Send the day's arrears reminders (day 1, 3 and 7 by default)."""
    from yilian.billing.tasks import send_reminders

    when = date.fromisoformat(day) if day else business_date()
    with unit_of_work() as session:
        typer.echo(f"{when}: {send_reminders(session, when)} reminders")
