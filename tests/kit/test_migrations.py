"""The Alembic migrations create exactly the tables the models declare (no create_all anywhere), and
carry their own data (no import of the live code)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect

from yilian.areas import load_models
from yilian.kit.db import Base


def test_migrations_match_models(engine: Engine) -> None:
    load_models()
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": False, "render_as_batch": True})
        diff = compare_metadata(context, Base.metadata)
    assert diff == [], f"models and migrations differ; add a migration: {diff}"


def test_sqlite_pragmas_or_postgres(engine: Engine) -> None:
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    assert inspect(engine).has_table("alembic_version")


MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations" / "versions"


def _yilian_imports(source: str) -> set[str]:
    """Every module of the ``yilian`` package a migration imports, at any depth of its code."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "yilian")
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "yilian":
            found.add(node.module)
    return found


@pytest.mark.parametrize("path", sorted(MIGRATIONS.glob("*.py")), ids=lambda p: p.name)
def test_migrations_are_frozen(path: Path) -> None:
    """A migration carries its own data: importing the live code (a seed list, a rule) would make the
    same revision insert different rows as the code changes. Only the column types of kit.db are shared."""
    assert _yilian_imports(path.read_text(encoding="utf-8")) <= {"yilian.kit.db"}


def test_the_frozen_check_sees_imports() -> None:
    assert _yilian_imports("def f():\n    from yilian.results.domain import SEED\n") == {
        "yilian.results.domain"
    }
    assert _yilian_imports("import yilian.kit.db\nimport sqlalchemy\n") == {"yilian.kit.db"}
    assert len(sorted(MIGRATIONS.glob("*.py"))) >= 20
