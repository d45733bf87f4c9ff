"""``yilian audit``: validate the rule library, generate synthetic claims, run a post-event audit."""

from __future__ import annotations

import json
import time
from datetime import date, datetime
from pathlib import Path
from typing import Annotated

import duckdb
import typer

import yilian.kit.auth.models  # noqa: F401  (the access audit refers to users)
from yilian.insurance.audit import service, synth
from yilian.insurance.audit.batch import lines_to_arrow
from yilian.insurance.audit.domain import DEFAULT_LIBRARY, parse_library
from yilian.insurance.audit.service import office_actor as cli_actor
from yilian.kit.db import unit_of_work
from yilian.kit.errors import YilianError

app = typer.Typer(help="Smart insurance audit (医保智能审核).", no_args_is_help=True)
rules_app = typer.Typer(help="The rule library.", no_args_is_help=True)
app.add_typer(rules_app, name="rules")


def _fail(exc: YilianError) -> None:
    typer.echo(f"error: {exc.title}: {exc.detail}", err=True)
    raise typer.Exit(2) from exc


@rules_app.command("validate")
def validate(
    path: Annotated[
        Path, typer.Argument(help="library YAML (default: the shipped library)")
    ] = DEFAULT_LIBRARY,
) -> None:
    """Check a rule library; prints every error with its line number."""
    if not path.is_file():
        typer.echo(f"{path}: file not found", err=True)
        raise typer.Exit(2)
    lib, issues = parse_library(path.read_text(encoding="utf-8"), path.parent)
    for issue in issues:
        typer.echo(f"{path}:{issue.line}: {issue.message}")
    if lib is None:
        typer.echo(f"{len(issues)} error(s)", err=True)
        raise typer.Exit(1)
    families = sorted({r.family.value for r in lib.rules})
    typer.echo(f"ok: version {lib.version}, {len(lib.rules)} rules, families: {', '.join(families)}")


def _day(text: str) -> date:
    return datetime.strptime(text, "%Y-%m-%d").date()


@app.command("synth")
def synth_cmd(
    out: Annotated[Path, typer.Option(help="output file (.parquet or .csv)")] = Path("claims.parquet"),
    lines: Annotated[int, typer.Option(min=0, help="clean base lines")] = 1_000_000,
    copies: Annotated[int, typer.Option(min=1, help="injected violating claims per rule")] = 3,
    seed: Annotated[int, typer.Option()] = 1,
) -> None:
    """Write synthetic claim lines with violations of every rule injected;
    the truth goes to <out>.truth.json."""
    lib = parse_library(DEFAULT_LIBRARY.read_text(encoding="utf-8"), DEFAULT_LIBRARY.parent)[0]
    assert lib is not None
    con = duckdb.connect()
    synth.create_base_table(con, lib, lines, seed=seed, table="base")
    extra, truth = synth.injected(lib, start_line_id=lines + 1, copies=copies)
    con.register("extra", lines_to_arrow(extra))
    fmt = "PARQUET" if out.suffix.lower() == ".parquet" else "CSV, HEADER"
    target = str(out).replace("'", "''")
    con.execute(
        f"COPY (SELECT * FROM base UNION ALL SELECT * FROM extra) TO '{target}' (FORMAT {fmt})"
    ).fetchall()
    truth_path = out.with_suffix(".truth.json")
    truth_path.write_text(json.dumps(sorted(truth.pairs), ensure_ascii=False), encoding="utf-8")
    typer.echo(f"{lines + len(extra)} lines → {out}; {len(truth.pairs)} injected violations → {truth_path}")


@app.command("import")
def import_cmd(path: Annotated[Path, typer.Argument(help="claims file (.csv / .parquet)")]) -> None:
    """Store the lines of a claims file for later runs."""
    try:
        with unit_of_work() as session:
            n = service.import_claim_file(session, cli_actor(), path)
    except YilianError as exc:
        _fail(exc)
    typer.echo(f"stored {n} new lines from {path}")


@app.command("run")
def run_cmd(
    date_from: Annotated[str | None, typer.Option("--from", help="first service date YYYY-MM-DD")] = None,
    date_to: Annotated[str | None, typer.Option("--to", help="last service date YYYY-MM-DD")] = None,
    engine: Annotated[str, typer.Option(help="duckdb (this machine) or spark")] = "duckdb",
    claims: Annotated[
        str | None, typer.Option(help="spark: claim lines as Parquet (path, hdfs://…, s3a://…)")
    ] = None,
    master: Annotated[str | None, typer.Option(help="spark: local[2], spark://host:7077, yarn")] = None,
    out: Annotated[str, typer.Option(help="spark: findings Parquet")] = "findings.parquet",
    load: Annotated[bool, typer.Option("--load/--no-load", help="spark: store for review")] = False,
    file: Annotated[list[Path] | None, typer.Option("--file", help="claims file(s) to audit as well")] = None,
    stored: Annotated[bool, typer.Option("--stored/--no-stored", help="include stored claim lines")] = True,
    truth: Annotated[Path | None, typer.Option(help="truth file of `audit synth` to score against")] = None,
    export: Annotated[Path | None, typer.Option(help="write the findings to this .xlsx")] = None,
) -> None:
    """Post-event audit (事后审核) of the period; findings are stored as one audit run.
    With --engine spark the claims Parquet is audited on Spark and the findings written as Parquet."""
    started = time.perf_counter()
    if engine == "spark":
        _run_spark(claims, master, out, load, date_from, date_to)
        return
    if engine != "duckdb":
        typer.echo(f"error: unknown engine {engine!r} (duckdb, spark)", err=True)
        raise typer.Exit(2)
    if date_from is None or date_to is None:
        typer.echo("error: --from and --to are required", err=True)
        raise typer.Exit(2)
    try:
        with unit_of_work() as session:
            actor = cli_actor()
            run = service.run_audit(
                session, actor, _day(date_from), _day(date_to), files=file or [], include_stored=stored
            )
            typer.echo(
                f"run {run.id}: {run.lines_scanned} lines, {run.findings_count} findings, "
                f"{run.amount_total / 100:.2f} yuan, library {run.library_version}, "
                f"{time.perf_counter() - started:.1f} s"
            )
            for family, n in sorted(run.stats.get("by_family", {}).items()):
                typer.echo(f"  {family}: {n}")
            if truth is not None:
                pairs = {tuple(p) for p in json.loads(truth.read_text(encoding="utf-8"))}
                found = {
                    (f.rule_id, f.claim_id)
                    for f in service.list_findings(session, actor, run.id, limit=10**9)[0]
                }
                hit = len(found & pairs)
                precision = hit / len(found) if found else 1.0
                recall = hit / len(pairs) if pairs else 1.0
                run.stats = {**run.stats, "precision": precision, "recall": recall}
                typer.echo(f"precision {precision:.4f}, recall {recall:.4f} against {len(pairs)} injected")
            if export is not None:
                export.write_bytes(service.export_xlsx(session, actor, run.id))
                typer.echo(f"exported → {export}")
    except YilianError as exc:
        _fail(exc)
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc


def _run_spark(
    claims: str | None, master: str | None, out: str, load: bool, date_from: str | None, date_to: str | None
) -> None:
    from pyspark.sql import functions as F

    from yilian.insurance.audit.batch import FINDING_SCHEMA, LINE_SCHEMA
    from yilian.insurance.audit.spark import SparkAuditEngine, claims_frame, collect_arrow
    from yilian.kit.spark import session as spark_session

    if not claims:
        typer.echo("error: --claims is required with --engine spark", err=True)
        raise typer.Exit(2)
    started = time.perf_counter()
    with unit_of_work() as session:
        library = service.active_library(session)
    spark = spark_session(master, "yilian-audit")
    df = claims_frame(spark, claims)
    if date_from:
        df = df.where(F.col("service_date") >= _day(date_from))
    if date_to:
        df = df.where(F.col("service_date") <= _day(date_to))
    found = SparkAuditEngine(library).run(spark, df).cache()
    found.write.mode("overwrite").parquet(out)
    n_found = found.count()
    scanned = df.count()
    typer.echo(
        f"spark: {scanned} lines, {n_found} findings → {out}; library {library.version}, "
        f"{time.perf_counter() - started:.1f} s"
    )
    if load:
        flagged = df.join(found.select("claim_id").distinct(), "claim_id", "left_semi")
        try:
            with unit_of_work() as session:
                run = service.load_external_run(
                    session,
                    cli_actor(),
                    library,
                    collect_arrow(found, FINDING_SCHEMA),
                    collect_arrow(flagged.select(*LINE_SCHEMA.names), LINE_SCHEMA),
                    date_from=_day(date_from) if date_from else date.min,
                    date_to=_day(date_to) if date_to else date.max,
                    lines_scanned=scanned,
                    source=f"Spark {claims}",
                )
                typer.echo(f"run {run.id}: {run.findings_count} findings stored for review")
        except YilianError as exc:
            _fail(exc)
