"""The ``yilian`` command line."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from sqlalchemy import Engine, delete
from typer.testing import CliRunner

from yilian.cli import app
from yilian.kit.auth.models import User

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[2]


def _listed_commands(help_text: str) -> set[str]:
    """The command names in the first column of the help's Commands box (not words in descriptions)."""
    box = help_text[help_text.index("Commands") :]
    return {m.group(1) for m in re.finditer(r"^│ ([a-z][a-z-]*)\s{2,}", box, flags=re.MULTILINE)}


CORE_COMMANDS = {"backup", "restore", "demo", "serve", "export", "db", "user", "jobs"}
AREA_COMMANDS = {
    "catalog",
    "scheduling",
    "results",
    "audit",
    "billing",
    "inpatient",
    "drg",
    "evacuation",
    "analytics",
}


def test_help_names_every_command() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    assert set(typer.main.get_command(app).commands) == CORE_COMMANDS  # type: ignore[attr-defined]
    assert _listed_commands(result.output) == CORE_COMMANDS


@pytest.mark.slow  # a fresh interpreter imports every area (~5 s, more under load)
def test_the_console_script_adds_each_area_s_commands() -> None:
    """``yilian --help`` as installed: the core commands and one per area with a ``cli`` module."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "100"}
    result = subprocess.run(
        [sys.executable, "-m", "yilian", "--help"], capture_output=True, text=True, env=env, check=True
    )
    assert _listed_commands(result.stdout) == CORE_COMMANDS | AREA_COMMANDS


def test_user_create_refuses_unknown_role_and_institution(engine: Engine) -> None:
    result = runner.invoke(
        app, ["user", "create", "--username", "cli_bad", "--role", "wizard", "--password", "Abc12345"]
    )
    assert result.exit_code == 2 and "未知角色" in result.output
    result = runner.invoke(
        app,
        [
            "user",
            "create",
            "--username",
            "cli_bad2",
            "--role",
            "doctor",
            "--institution",
            "NOPE",
            "--password",
            "Abc12345",
        ],
    )
    assert result.exit_code != 0 and "unknown institution" in result.output


@pytest.fixture
def cli_admin_removed(engine: Engine) -> Iterator[str]:
    """The username the test creates through the CLI (which commits), deleted again afterwards."""
    yield "cli_admin"
    with engine.begin() as conn:
        conn.execute(delete(User).where(User.username == "cli_admin"))


def test_user_create_admin(cli_admin_removed: str) -> None:
    result = runner.invoke(
        app, ["user", "create", "--username", "cli_admin", "--role", "admin", "--password", "Strong#Pass1"]
    )
    assert result.exit_code == 0, result.output
    assert "cli_admin created" in result.output
    again = runner.invoke(
        app, ["user", "create", "--username", "cli_admin", "--role", "admin", "--password", "Strong#Pass1"]
    )
    assert again.exit_code == 2 and "用户名已存在" in again.output
