"""``yilian drg``: import a CHS-DRG scheme and its policy file, group a CSV of discharge records."""

from __future__ import annotations

import csv
import sys
from pathlib import Path
from typing import Annotated

import typer

from yilian.drg import domain, importer, service
from yilian.kit.db import unit_of_work
from yilian.kit.errors import YilianError

NAME = "drg"
app = typer.Typer(help="CHS-DRG grouping: schemes, weights, batch grouping.", no_args_is_help=True)

OUT_COLUMNS = domain.OUT_COLUMNS


@app.callback()
def _group() -> None:
    """CHS-DRG grouping: schemes, weights, batch grouping."""


def _fail(exc: YilianError) -> None:
    typer.echo(f"error: {exc.title}: {exc.detail}", err=True)
    raise typer.Exit(2) from exc


@app.command("import-scheme")
def import_scheme(
    directory: Annotated[
        Path | None,
        typer.Argument(
            exists=True,
            file_okay=False,
            help="folder with 1_MDC.txt … 7_CCE.txt (plain or .gz) and or_procedures.txt; "
            "omitted: the CHS-DRG 1.1 tables shipped with yilian",
        ),
    ] = None,
    version: Annotated[str, typer.Option("--version", help="scheme code, e.g. chs-1.1")] = "chs-1.1",
    name: Annotated[str, typer.Option(help="display name")] = "",
    replace: Annotated[bool, typer.Option("--replace", help="replace a scheme with the same code")] = False,
    or_list: Annotated[
        Path | None,
        typer.Option(
            "--or-list",
            exists=True,
            dir_okay=False,
            help="operating-room procedure list (CODE [name] a line)",
        ),
    ] = None,
) -> None:
    """Import a scheme's tables in their published text layout (a city's local version, a later
    national version); prints what could not be interpreted. Without a folder: the shipped CHS-DRG 1.1."""
    try:
        texts = importer.read_texts(directory if directory is not None else importer.packaged_dir())
    except FileNotFoundError as exc:
        typer.echo(f"error: missing file {exc}", err=True)
        raise typer.Exit(2) from exc
    if or_list is not None:
        texts[importer.OR_FILE] = or_list.read_text(encoding="utf-8-sig")
    if directory is None and not name and version == importer.PACKAGED_VERSION:
        name = importer.PACKAGED_NAME
    try:
        with unit_of_work() as session:
            row, report = service.import_scheme(session, version, texts, name=name, replace=replace)
            code = row.code
    except YilianError as exc:
        _fail(exc)
        return
    typer.echo(f"scheme {code} imported: " + ", ".join(f"{k}={v}" for k, v in report.counts.items()))
    for note in report.notes:
        typer.echo(f"  note: {note}")


@app.command("import-policy")
def import_policy(
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="policy CSV (docs/drg.md)")],
    scheme: Annotated[str, typer.Option(help="scheme code")] = "chs-1.1",
) -> None:
    """Import weights (RW), mean cost and stay, base rates and outlier thresholds (all or nothing)."""
    try:
        with unit_of_work() as session:
            report = service.import_policy(session, scheme, path.read_text(encoding="utf-8-sig"))
    except YilianError as exc:
        _fail(exc)
        return
    typer.echo(f"weights: {report.weights}; base rates: {report.base_rates}; thresholds: {report.thresholds}")


@app.command("group")
def group(
    input: Annotated[Path, typer.Option("--input", exists=True, dir_okay=False, help="CSV of records")],
    scheme: Annotated[str, typer.Option(help="scheme code")] = "chs-1.1",
    output: Annotated[Path, typer.Option("--output", help="CSV to write ('-' = stdout)")] = Path("-"),
) -> None:
    """Group every row; writes the input columns plus group_mdc, group_adrg, group_drg, group_status,
    group_explanation, principal_dx_name, principal_procedure_name (the procedure taken as principal)
    and unknown_codes (codes not in the 医保版 tables: reported, never dropped). A row that cannot be
    read gets group_status=error and its reason."""
    try:
        with unit_of_work() as session:
            g = service.grouper(session, scheme)
    except YilianError as exc:
        _fail(exc)
        return
    with input.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        fields = list(reader.fieldnames or []) + [
            c for c in OUT_COLUMNS if c not in (reader.fieldnames or [])
        ]
        sink = sys.stdout if str(output) == "-" else output.open("w", encoding="utf-8", newline="")
        counts: dict[str, int] = {}
        try:
            writer = csv.DictWriter(sink, fieldnames=fields)
            writer.writeheader()
            for row in reader:
                extra = domain.group_row(g, row)
                counts[extra["group_status"]] = counts.get(extra["group_status"], 0) + 1
                writer.writerow({**row, **extra})
        finally:
            if sink is not sys.stdout:
                sink.close()
    typer.echo(", ".join(f"{k}: {v}" for k, v in sorted(counts.items())), err=True)
    if counts.get("error"):
        raise typer.Exit(1)


@app.command("schemes")
def schemes() -> None:
    """List the imported schemes."""
    with unit_of_work() as session:
        for s in service.list_schemes(session):
            typer.echo(f"{s.code}\t{s.name}\t{s.imported_at:%Y-%m-%d %H:%M}\t{s.counts}")
