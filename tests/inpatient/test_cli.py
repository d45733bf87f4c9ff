"""``yilian inpatient`` on the shared test database (nothing committed by these tests): an unknown
institution is refused; the nightly charges by hand report what they did."""

from __future__ import annotations

from typer.testing import CliRunner

from yilian.inpatient import cli


def test_cli_refuses_unknown_institution_and_charges_a_day(engine: object) -> None:
    runner = CliRunner()
    bad = runner.invoke(cli.app, ["indicators", "NOPE", "--start", "2026-01-01", "--end", "2026-12-31"])
    assert bad.exit_code == 2 and "机构不存在" in bad.output
    done = runner.invoke(cli.app, ["charge-day", "--day", "2026-05-07"])
    assert done.exit_code == 0 and done.output.startswith("2026-05-07: ")
