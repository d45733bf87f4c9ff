"""``yilian analytics``: refresh the facts, print figures, write the monthly report."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from yilian.analytics import domain, report, service
from yilian.analytics.domain import Month
from yilian.kit.auth.domain import Actor
from yilian.kit.db import unit_of_work
from yilian.kit.errors import YilianError
from yilian.registry import service as registry

NAME = "analytics"
app = typer.Typer(help="Analytics: indicator refresh, figures, monthly reports.", no_args_is_help=True)


@app.callback()
def _group() -> None:
    """Analytics: indicator refresh, figures, monthly reports."""


def _fail(exc: YilianError) -> None:
    typer.echo(f"error: {exc.title}: {exc.detail}", err=True)
    raise typer.Exit(2) from exc


def _institution(session: object, code: str | None) -> int | None:
    if not code:
        return None
    inst = registry.institution_by_code(session, code)  # type: ignore[arg-type]
    if inst is None:
        typer.echo(f"error: no institution {code}", err=True)
        raise typer.Exit(2)
    return inst.id


@app.command("refresh")
def refresh(
    first: Annotated[str, typer.Option(help="first month, YYYY-MM")],
    last: Annotated[str | None, typer.Option(help="last month, YYYY-MM (default: first)")] = None,
    engine: Annotated[str, typer.Option(help="database | spark")] = "database",
    source: Annotated[
        str | None, typer.Option("--from", help="spark: the `yilian export` tree (dir, hdfs://, s3a://)")
    ] = None,
    master: Annotated[str | None, typer.Option(help="spark: local[2] | spark://host:7077 | yarn")] = None,
    region: Annotated[str | None, typer.Option(help="spark: the city (region code) to evaluate")] = None,
    out: Annotated[str | None, typer.Option(help="spark: write the facts as Parquet here")] = None,
    load: Annotated[bool, typer.Option(help="spark: store the facts in the database (as a refresh)")] = False,
) -> None:
    """Recompute the monthly facts of a range of months (in the database, or on Spark over an export)."""
    if engine not in ("database", "spark"):
        typer.echo(f"error: unknown engine {engine!r} (database | spark)", err=True)
        raise typer.Exit(2)
    try:
        months = Month.parse(first), Month.parse(last or first)
        if engine == "spark":
            _refresh_spark(*months, source=source, master=master, region=region, out=out, load=load)
            return
        with unit_of_work() as session:
            row = service.refresh(session, *months, trigger="cli")
    except YilianError as exc:
        _fail(exc)
    typer.echo(f"refreshed {row.rows} rows in {row.milliseconds} ms")


def _refresh_spark(
    first: Month,
    last: Month,
    *,
    source: str | None,
    master: str | None,
    region: str | None,
    out: str | None,
    load: bool,
) -> None:
    """The refresh evaluated by Spark over an export (see docs/scaling.md)."""
    from yilian.analytics import spark as on_spark
    from yilian.kit.clock import business_date
    from yilian.kit.spark import session as spark_session

    if not source:
        typer.echo("error: --from is required with --engine spark", err=True)
        raise typer.Exit(2)
    started = time.perf_counter()
    spark = spark_session(master, "yilian-analytics")
    found = on_spark.regions(spark, source)
    problem = (
        f"{source} holds no `yilian export` (no institutions)"
        if not found
        else f"the export holds several cities {found}; choose one with --region"
        if region is None and len(found) > 1
        else f"no city {region} in the export ({', '.join(found)})"
        if region is not None and region not in found
        else ""
    )
    if problem:
        typer.echo(f"error: {problem}", err=True)
        raise typer.Exit(2)
    tables = on_spark.register_views(spark, source, region)
    collected = on_spark.collect(spark, first, last)
    facts, keys = service.fact_rows(collected)
    typer.echo(
        f"spark: {len(tables)} tables, {len(facts)} facts and {len(keys)} distinct keys of {first}–{last}, "
        f"{time.perf_counter() - started:.1f} s"
    )
    if out:
        on_spark.write(spark, collected, out)
        typer.echo(f"facts → {out}/analytics_facts, keys → {out}/analytics_fact_keys")
    today = business_date()
    for code, value in on_spark.city_values(collected, last, today).items():
        ind = domain.indicator(code)
        if ind.available and code in domain.HEADLINE:
            typer.echo(f"  {last} {ind.name}: {domain.display(ind, value)}")
    if load:
        with unit_of_work() as session:
            row = service.refresh(session, first, last, trigger="spark", collected=collected)
        typer.echo(f"loaded as refresh {row.id}: {row.rows} rows")


@app.command("figures")
def figures(
    month: Annotated[str, typer.Option(help="month, YYYY-MM")],
    institution: Annotated[str | None, typer.Option(help="institution code (default: the city)")] = None,
) -> None:
    """Print the month's indicators with the same month last year."""
    try:
        with unit_of_work() as session:
            m = Month.parse(month)
            figs = service.figures(
                session, Actor.system("cli"), m, m, institution_id=_institution(session, institution)
            )
    except YilianError as exc:
        _fail(exc)
    for f in figs:
        change = "" if f.change is None else f"  同比 {f.change:+.1f}%"
        typer.echo(f"{f.indicator.name}: {f.text}{change}")


@app.command("report")
def monthly_report(
    month: Annotated[str, typer.Option(help="month, YYYY-MM")],
    institution: Annotated[str | None, typer.Option(help="institution code (default: the city)")] = None,
    format: Annotated[str, typer.Option(help="pdf | xlsx")] = "pdf",
    output: Annotated[Path | None, typer.Option(help="file to write (default: the report's name)")] = None,
    keep: Annotated[bool, typer.Option(help="also keep it in the database")] = False,
) -> None:
    """Write the monthly report (refreshing the month first)."""
    try:
        with unit_of_work() as session:
            m = Month.parse(month)
            inst = _institution(session, institution)
            service.refresh(session, m, m, trigger="cli")
            name, data = report.render(session, Actor.system("cli"), m, inst, format)
            if keep:
                report.store(session, Actor.system("cli"), m, inst, format)
    except YilianError as exc:
        _fail(exc)
    path = output or Path(name)
    path.write_bytes(data)
    typer.echo(f"wrote {path} ({len(data)} bytes)")
