"""``yilian catalog``: import the price catalogue and ICD-10 codes from CSV."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from yilian.catalog import service
from yilian.catalog.schemas import ImportReport
from yilian.kit.db import unit_of_work
from yilian.kit.errors import YilianError

NAME = "catalog"
app = typer.Typer(help="Reference catalogues: service items, drugs, ICD-10.", no_args_is_help=True)


@app.callback()
def _group() -> None:
    """Reference catalogues: service items, drugs, ICD-10."""


def _report(report: ImportReport) -> None:
    typer.echo(f"rows read: {report.rows}; created: {report.created}; updated: {report.updated}")
    for problem in report.rejected:
        typer.echo(f"  line {problem.line} [{problem.code}]: {problem.reason}")
    if report.rejected and not report.applied:
        typer.echo(
            f"{len(report.rejected)} rejected rows: nothing was stored (use --partial to store the good rows)"
        )


@app.command("import")
def import_file(
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="UTF-8 CSV file")],
    kind: Annotated[str, typer.Option(help="items (price catalogue) or icd10")] = "items",
    partial: Annotated[
        bool, typer.Option("--partial", help="Store the good rows even if some are rejected")
    ] = False,
) -> None:
    """Import a catalogue CSV; layout in docs/catalog.md. Exit code 1 when rows were rejected."""
    if kind not in ("items", "icd10"):
        raise typer.BadParameter("--kind must be items or icd10")
    text = path.read_text(encoding="utf-8-sig")
    try:
        with unit_of_work() as session:
            importer = service.import_items if kind == "items" else service.import_diagnoses
            report = importer(session, text, partial=partial)
    except YilianError as exc:
        typer.echo(f"error: {exc.title}: {exc.detail}", err=True)
        raise typer.Exit(2) from exc
    _report(report)
    if report.rejected:
        raise typer.Exit(1)


@app.command("load-codes")
def load_codes(
    diagnoses: Annotated[
        Path | None, typer.Option(exists=True, dir_okay=False, help="ICD-10 table: CODE NAME a line")
    ] = None,
    procedures: Annotated[
        Path | None, typer.Option(exists=True, dir_okay=False, help="ICD-9-CM-3 table: CODE NAME a line")
    ] = None,
) -> None:
    """Load the ICD-10 and ICD-9-CM-3 医保版 code tables (default: the tables shipped with yilian);
    codes already stored keep their rows, their names are updated. Exit code 1 when lines were refused."""
    refused = 0
    with unit_of_work() as session:
        for kind, path in (("diagnosis", diagnoses), ("procedure", procedures)):
            rows = None
            if path is not None:
                rows, problems = service.parse_code_table(kind, path.read_text(encoding="utf-8-sig"))  # type: ignore[arg-type]
                for p in problems:
                    typer.echo(f"  line {p.line} [{p.code}]: {p.reason}")
                refused += len(problems)
            report = service.load_code_table(session, kind, rows)  # type: ignore[arg-type]
            typer.echo(f"{kind}: {report.rows} codes; created {report.created}; updated {report.updated}")
    if refused:
        raise typer.Exit(1)
