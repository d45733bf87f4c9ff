"""The ``yilian`` command: serve the platform, migrate the database, seed the demo, manage users.

Areas add their own sub-commands in ``<area>/cli.py`` (a Typer app named ``app`` and a ``NAME``).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Annotated

import typer

from yilian.areas import area_modules
from yilian.kit import db
from yilian.kit.masking import install_log_masking
from yilian.kit.settings import get_settings

app = typer.Typer(
    help="yilian (医联): regional smart-healthcare platform. Run `yilian COMMAND --help` for details.",
    no_args_is_help=True,
    add_completion=False,
)
db_app = typer.Typer(help="Database schema: migrations.", no_args_is_help=True)
user_app = typer.Typer(help="User accounts.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(user_app, name="user")
jobs_app = typer.Typer(help="Scheduled jobs the server runs (定时任务).", no_args_is_help=True)
app.add_typer(jobs_app, name="jobs")


@jobs_app.command("list")
def jobs_list(limit: Annotated[int, typer.Option(help="how many recent runs")] = 20) -> None:
    """The scheduled jobs and their recent runs."""
    from yilian.kit import jobs
    from yilian.kit.clock import BUSINESS_TZ
    from yilian.kit.db import unit_of_work

    area_modules("tasks")
    for j in jobs.registered():
        when = f"每 {j.every_seconds} 秒" if j.every_seconds else f"每日 {j.daily_at:%H:%M}"
        typer.echo(f"{j.name:28} {when:12} {j.description}")
    with unit_of_work() as session:
        for run in jobs.recent_runs(session, limit):
            state = "失败" if run.failed else ("完成" if run.finished_at else "运行中")
            typer.echo(
                f"{run.started_at.astimezone(BUSINESS_TZ):%Y-%m-%d %H:%M:%S} "
                f"{run.job:28} {run.period:12} {state} {run.outcome}"
            )


@jobs_app.command("run-due")
def jobs_run_due() -> None:
    """Run the jobs that are due now and not yet run for their period (what the server does by itself)."""
    from yilian.kit import jobs

    area_modules("tasks")
    ran = jobs.run_due(db.session_factory())
    typer.echo("已运行: " + ("、".join(ran) if ran else "无到期任务"))


@db_app.command("upgrade")
def db_upgrade(
    revision: Annotated[
        str, typer.Argument(help="Target revision; 'heads' = latest of every area.")
    ] = "heads",
) -> None:
    """Apply the Alembic migrations to the database in YILIAN_DATABASE_URL (default ./var/yilian.db),
    then import reference data that lives outside the migrations (the holiday calendar's years)."""
    from yilian.kit.migrate import upgrade
    from yilian.scheduling import service as scheduling

    engine = db.get_engine()
    upgrade(engine, revision)
    typer.echo(f"database migrated to {revision}: {engine.url.render_as_string(hide_password=True)}")
    if revision == "heads":
        with db.unit_of_work() as session:
            years = scheduling.seed_holiday_calendar(session)
        if years:
            typer.echo(f"holiday calendar: imported {years[0]}–{years[-1]} from chinesecalendar")


@app.command()
def backup(
    file: Annotated[Path, typer.Argument(help="The backup file to write (refused if it exists).")],
    database: Annotated[str | None, typer.Option(help="Database URL (default: YILIAN_DATABASE_URL).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing backup file.")] = False,
) -> None:
    """Back up the database while the server runs: SQLite online backup API, PostgreSQL pg_dump."""
    _backup_step("backup", file, database, force)


@app.command()
def restore(
    file: Annotated[Path, typer.Argument(help="A file written by `yilian backup`.")],
    database: Annotated[
        str | None, typer.Option(help="Database URL to restore into (default: YILIAN_DATABASE_URL).")
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Replace a database that already holds tables (server stopped).")
    ] = False,
) -> None:
    """Restore a backup into a new, empty database (or, with --force, over an existing one); then run
    `yilian db upgrade` when the backup is older than this version."""
    _backup_step("restore", file, database, force)


def _backup_step(what: str, file: Path, database: str | None, force: bool) -> None:
    from yilian.kit import backup as kb

    step = kb.backup if what == "backup" else kb.restore
    try:
        typer.echo(step(database or get_settings().database_url, file, force=force).message)
    except kb.BackupError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc


@app.command()
def demo(
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same alliance.")] = 20261122,
    patients: Annotated[int, typer.Option(min=10, help="Number of patients to create.")] = 2000,
    if_empty: Annotated[
        bool, typer.Option("--if-empty", help="Do nothing when the database has data.")
    ] = False,
) -> None:
    """Seed the synthetic demo alliance (institutions, departments, practitioners, patients, users)."""
    from yilian.demo.alliance import DEMO_PASSWORD, has_data
    from yilian.demo.alliance import seed as seed_demo

    with db.unit_of_work() as session:
        if has_data(session):
            if if_empty:
                typer.echo("database already has data; demo not seeded")
                _print_demo_accounts(DEMO_PASSWORD)
                return
            typer.echo("the database already has data; use a fresh database for the demo", err=True)
            raise typer.Exit(1)
        started = time.perf_counter()
        summary = seed_demo(session, seed_value=seed, patients=patients)
    typer.echo(
        f"demo alliance seeded in {time.perf_counter() - started:.1f}s: {summary.institutions} institutions, "
        f"{summary.departments} departments, {summary.practitioners} practitioners, "
        f"{summary.patients} patients, "
        f"{summary.relations} family relations, {summary.consents} consents"
    )
    for line in summary.extras:
        typer.echo(line)
    typer.echo(summary.credentials_text())


def _print_demo_accounts(password: str) -> None:
    from yilian.kit.auth import service as auth
    from yilian.kit.auth.domain import Role

    with db.unit_of_work() as session:
        users = auth.every_user(session)
        typer.echo(f"accounts (demo password: {password}):")
        for u in users:
            typer.echo(f"  {u.username:<12} {Role(u.role).label}")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
    workers: Annotated[int, typer.Option(help="Worker processes (PostgreSQL only).")] = 1,
) -> None:
    """Serve the web UI and the API (http://127.0.0.1:8000 by default)."""
    import uvicorn

    settings = get_settings()
    host = host or settings.host
    port = port or settings.port
    typer.echo(f"yilian serving on http://{host}:{port}  (API docs: http://{host}:{port}/api/docs)")
    log_config = dict(uvicorn.config.LOGGING_CONFIG)
    log_config["filters"] = {"masking": {"()": "yilian.kit.masking.MaskingFilter"}}
    log_config["handlers"] = {
        name: {**handler, "filters": ["masking"]} for name, handler in log_config["handlers"].items()
    }
    uvicorn.run(
        "yilian.app:create_app",
        log_config=log_config,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
        proxy_headers=True,
    )


@user_app.command("create")
def user_create(
    username: Annotated[str, typer.Option(help="Login name: lower-case letters, digits, _ . -")],
    role: Annotated[
        str,
        typer.Option(
            help="patient, family, doctor, nurse, registrar, cashier, pharmacist, "
            "insurance_officer, bed_manager, security_officer or admin"
        ),
    ],
    display_name: Annotated[str, typer.Option(help="Name shown in the UI.")] = "",
    institution: Annotated[str | None, typer.Option(help="Institution code, required for staff.")] = None,
    patient_id: Annotated[
        int | None, typer.Option(help="Patient record id, for patient/family accounts.")
    ] = None,
    password: Annotated[
        str,
        typer.Option(
            prompt=True, hide_input=True, confirmation_prompt=True, help="Password (asked if omitted)."
        ),
    ] = "",
) -> None:
    """Create a user account."""
    from yilian.kit.auth import service as auth
    from yilian.kit.errors import YilianError
    from yilian.registry import service as registry

    try:
        with db.unit_of_work() as session:
            institution_id = None
            if institution:
                inst = registry.institution_by_code(session, institution)
                if inst is None:
                    raise typer.BadParameter(f"unknown institution code {institution!r} (机构不存在)")
                institution_id = inst.id
            user = auth.create_user(
                session,
                username=username,
                password=password,
                role=role,
                display_name=display_name or username,
                institution_id=institution_id,
                patient_id=patient_id,
            )
            typer.echo(f"user {user.username} created (id {user.id}, role {user.role})")
    except YilianError as exc:
        typer.echo(f"error: {exc.title}: {exc.detail}", err=True)
        raise typer.Exit(2) from exc


@app.command("export")
def export_cmd(
    out: Annotated[Path, typer.Argument(help="target directory (one Parquet dataset per table)")],
    to: Annotated[str, typer.Option("--to", help="format: parquet")] = "parquet",
    region: Annotated[str, typer.Option(help="行政区划 code of this city (partition value)")] = "000000",
) -> None:
    """Export claim lines, discharges and the DRG tables as Parquet partitioned by month and region,
    for a provincial Spark/Hadoop platform (see docs/scaling.md)."""
    from yilian.kit.db import unit_of_work
    from yilian.kit.export import export_parquet

    if to != "parquet":
        typer.echo(f"error: unknown format {to!r} (parquet)", err=True)
        raise typer.Exit(2)
    area_modules("models")
    with unit_of_work() as session:
        counts = export_parquet(session, out, region)
    for name, n in counts.items():
        typer.echo(f"{name}: {n} rows → {out / name}")


def _add_area_commands() -> None:
    for module in area_modules("cli"):
        app.add_typer(module.app, name=module.NAME)


def main() -> None:
    """Entry point of the ``yilian`` console script."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    install_log_masking()
    _add_area_commands()
    app()
