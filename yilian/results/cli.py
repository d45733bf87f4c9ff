"""``yilian results``: MLLP listener for LIS systems, HL7 / DICOM file ingest, code-map import, indicators."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Annotated

import typer

from yilian.kit import db
from yilian.kit.auth.domain import Actor
from yilian.kit.db import unit_of_work
from yilian.kit.errors import YilianError
from yilian.results import imaging, mllp, service

NAME = "results"
app = typer.Typer(help="Results registry and mutual recognition (检查检验结果互认).", no_args_is_help=True)
SYSTEM = Actor.system("results-cli")


@app.callback()
def _group() -> None:
    """Results registry and mutual recognition (检查检验结果互认)."""


def _fail(exc: YilianError) -> None:
    typer.echo(f"error: {exc.title}: {exc.detail}", err=True)
    for line in exc.extra.get("errors", []):
        typer.echo(f"  {line}", err=True)
    raise typer.Exit(2) from exc


@app.command("mllp")
def mllp_listener(
    port: Annotated[int, typer.Option("--port", help="TCP port to listen on")] = 2575,
    host: Annotated[str, typer.Option("--host", help="address to bind")] = "127.0.0.1",
    writers: Annotated[
        int, typer.Option("--writers", min=1, max=16, help="concurrent units of work (group commit)")
    ] = mllp.WRITERS,
) -> None:
    """Listen for HL7 v2 ORU^R01 over MLLP and answer each message with ACK AA / AE / AR (after commit)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    typer.echo(f"MLLP listening on {host}:{port} (Ctrl+C to stop)")
    # no pre-ping round trip per batch: a dropped connection fails its batch, which is answered AE (resend,
    # nothing committed) and the pool replaces the connection
    db.configure(pool_pre_ping=False)
    try:
        asyncio.run(mllp.serve(host, port, writers=writers))
    except KeyboardInterrupt:
        typer.echo("stopped")


@app.command("ingest-hl7")
def ingest_hl7(
    files: Annotated[list[Path], typer.Argument(exists=True, dir_okay=False, help="ORU^R01 message files")],
) -> None:
    """Store the results of HL7 v2 message files (one message per file); each file is its own transaction."""
    failed = 0
    for path in files:
        try:
            with unit_of_work() as session:
                outcome = service.ingest_hl7(session, path.read_text(encoding="utf-8"))
            state = "duplicate" if outcome.duplicate else "stored"
            typer.echo(f"{path.name}: {state} {len(outcome.result_ids)} results")
        except YilianError as exc:
            failed += 1
            typer.echo(f"{path.name}: rejected: {exc.detail}", err=True)
    if failed:
        raise typer.Exit(2)


@app.command("ingest-dicom")
def ingest_dicom(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="a DICOM file (header is read)")],
    sender: Annotated[str, typer.Option("--sender", help="institution code of the sender")],
    report: Annotated[Path, typer.Option("--report", exists=True, dir_okay=False, help="report text file")],
) -> None:
    """Store an imaging study from a DICOM header and its report text."""
    try:
        study = imaging.read_dicom(file, report_text=report.read_text(encoding="utf-8"), sender_code=sender)
        with unit_of_work() as session:
            outcome = service.ingest_imaging(session, study)
    except YilianError as exc:
        _fail(exc)
        return
    typer.echo(f"{'duplicate' if outcome.duplicate else 'stored'}: result {outcome.result_ids}")


@app.command("import-codes")
def import_codes(
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="CSV: " + ",".join(service.CODE_MAP_COLUMNS))
    ],
) -> None:
    """Import local-code ↔ regional-code equivalences (all or nothing)."""
    try:
        with unit_of_work() as session:
            report = service.import_code_maps(session, SYSTEM, file.read_text(encoding="utf-8-sig"))
    except YilianError as exc:
        _fail(exc)
        return
    typer.echo(f"{report.rows} rows: {report.created} created, {report.updated} updated")


@app.command("indicators")
def indicators(
    group: Annotated[str, typer.Option(help="institution | department | item")] = "institution",
) -> None:
    """Print prompts, recognition rate and fees saved (last 30 days) as JSON."""
    try:
        with unit_of_work() as session:
            data = service.indicators(session, SYSTEM, group=group)
    except YilianError as exc:
        _fail(exc)
        return
    typer.echo(json.dumps(data, ensure_ascii=False, default=str, indent=2))
