"""``yilian inpatient``: the bed-use indicators (with Excel export) and the nightly charges by hand."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from yilian.inpatient import service, tasks
from yilian.kit.auth.domain import Actor
from yilian.kit.clock import business_date
from yilian.kit.db import session_factory, unit_of_work
from yilian.kit.errors import YilianError
from yilian.registry import service as registry

NAME = "inpatient"
app = typer.Typer(help="Inpatient care: bed-use indicators, nightly charges.", no_args_is_help=True)


@app.callback()
def _group() -> None:
    """Inpatient care: bed-use indicators, nightly charges."""


def _fail(exc: YilianError) -> None:
    typer.echo(f"error: {exc.title}: {exc.detail}", err=True)
    raise typer.Exit(2) from exc


@app.command("indicators")
def indicators(
    institution: Annotated[str, typer.Argument(help="institution code")],
    start: Annotated[str, typer.Option(help="first day, YYYY-MM-DD")],
    end: Annotated[str, typer.Option(help="last day, YYYY-MM-DD")],
    by: Annotated[str, typer.Option(help="hospital | department | ward")] = "hospital",
    xlsx: Annotated[Path | None, typer.Option(help="also write an Excel workbook here")] = None,
) -> None:
    """Print occupancy, turnover, average length of stay and the rest for a date range."""
    try:
        with unit_of_work() as session:
            found = registry.institution_by_code(session, institution)
            if found is None:
                typer.echo(f"error: 机构不存在: {institution}", err=True)
                raise typer.Exit(2)
            first, last = date.fromisoformat(start), date.fromisoformat(end)
            rows = service.bed_indicators(session, Actor.system("cli"), found.id, first, last, by)
            typer.echo("\t".join(service.INDICATOR_HEADERS))
            for row in rows:
                typer.echo("\t".join(str(c) for c in service.indicator_cells(row)))
            if xlsx is not None:
                xlsx.write_bytes(service.indicators_xlsx(rows, first, last))
                typer.echo(f"written {xlsx}")
    except YilianError as exc:
        _fail(exc)


@app.command("charge-day")
def charge_day(day: Annotated[str, typer.Option(help="YYYY-MM-DD, default today")] = "") -> None:
    """Charge a day's bed and nursing fees (what the 23:30 job does; running it again charges nothing)."""
    report = tasks.charge_day(session_factory(), date.fromisoformat(day) if day else business_date())
    errors = len(report.errors)
    typer.echo(
        f"{report.day.isoformat()}: {report.admissions} admissions, {report.lines} lines, {errors} errors"
    )
