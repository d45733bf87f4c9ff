"""The ``yilian`` command line."""

from __future__ import annotations

from sqlalchemy import Engine
from typer.testing import CliRunner

from yilian.cli import app

runner = CliRunner()


def test_help_names_every_command() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("serve", "db", "demo", "user"):
        assert command in result.output


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


def test_user_create_admin(engine: Engine) -> None:
    result = runner.invoke(
        app, ["user", "create", "--username", "cli_admin", "--role", "admin", "--password", "Strong#Pass1"]
    )
    assert result.exit_code == 0, result.output
    assert "cli_admin created" in result.output
    again = runner.invoke(
        app, ["user", "create", "--username", "cli_admin", "--role", "admin", "--password", "Strong#Pass1"]
    )
    assert again.exit_code == 2 and "用户名已存在" in again.output
