"""CLI: the three-day window command over the 2026 National Day holiday (the calendar table, imported
from the package by ``calendar import``)."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from yilian.scheduling.cli import app


@pytest.fixture(autouse=True)
def _calendar(engine: Engine) -> None:
    result = CliRunner().invoke(app, ["calendar", "import"])
    assert result.exit_code == 0, result.output


def test_window_command_national_day() -> None:
    result = CliRunner().invoke(app, ["window", "2026-09-30"])
    assert result.exit_code == 0, result.output
    assert result.output.split() == ["2026-10-08", "workday", "2026-10-09", "workday"]


def test_window_command_holiday_clinic() -> None:
    result = CliRunner().invoke(app, ["window", "2026-09-30", "--weekend", "--holiday"])
    assert result.output.split() == ["2026-10-01", "holiday", "2026-10-02", "holiday"]
