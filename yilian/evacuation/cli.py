"""``yilian evacuation``: seed the demo ward building, import a building document, plan a drill."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from yilian.evacuation import service
from yilian.evacuation.seeding import occupy_beds, seed_ward_building
from yilian.kit.auth.domain import Actor
from yilian.kit.db import unit_of_work
from yilian.kit.errors import YilianError
from yilian.registry import service as registry

NAME = "evacuation"
app = typer.Typer(help="Fire evacuation: buildings, drills, plans.", no_args_is_help=True)


@app.callback()
def _group() -> None:
    """Fire evacuation: buildings, drills, plans."""


def _fail(exc: YilianError) -> None:
    typer.echo(f"error: {exc.title}: {exc.detail}", err=True)
    raise typer.Exit(2) from exc


@app.command("demo")
def demo(
    institution: Annotated[str, typer.Option(help="institution code")] = "NTGH",
    floors: Annotated[int, typer.Option(help="floors of the ward building")] = 12,
    occupancy: Annotated[float, typer.Option(help="share of beds to fill with the demo's patients")] = 0.6,
) -> None:
    """Create the demo ward building (住院楼) with its wards and fill part of its beds."""
    actor = Actor.system("evacuation demo")
    try:
        with unit_of_work() as session:
            inst = registry.institution_by_code(session, institution)
            if inst is None:
                typer.echo(f"error: no institution {institution}", err=True)
                raise typer.Exit(2)
            depts, _ = registry.list_departments(session, institution_id=inst.id)
            row = seed_ward_building(
                session,
                actor,
                institution_id=inst.id,
                department_ids=[d.id for d in depts[:6]],
                floors=floors,
            )
            admitted = occupy_beds(session, actor, row, occupancy)
            typer.echo(f"building {row.code} (id {row.id}): {len(row.wards)} wards, {admitted} admitted")
    except YilianError as exc:
        _fail(exc)


@app.command("import")
def import_building(
    path: Annotated[Path, typer.Argument(help="the building document (JSON)")],
    institution: Annotated[str, typer.Option(help="institution code")] = "NTGH",
) -> None:
    """Import (or replace) a building document; prints every problem when it is refused."""
    actor = Actor.system("evacuation import")
    try:
        with unit_of_work() as session:
            inst = registry.institution_by_code(session, institution)
            if inst is None:
                typer.echo(f"error: no institution {institution}", err=True)
                raise typer.Exit(2)
            row = service.import_building(session, actor, inst.id, json.loads(path.read_text("utf-8")))
            typer.echo(f"imported {row.code} (id {row.id}, version {row.version})")
    except YilianError as exc:
        for problem in exc.extra.get("problems", []):
            typer.echo(f"  {problem}", err=True)
        _fail(exc)
