"""Schemathesis over the whole API (the app's own OpenAPI document), as the administrator and as a
registrar, on a seeded database of its own: no server error and no response that breaks its declared
schema. Bounded and reproducible: ``EXAMPLES`` cases per operation, derandomized (a fixed seed).

Every failure is collected (operation, check, the request as curl) so that one run lists them all.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from tests.dbutil import fresh_database, is_postgres_run
from yilian.demo.alliance import DEMO_PASSWORD, seed
from yilian.kit import db
from yilian.kit.migrate import upgrade

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        is_postgres_run() and not os.environ.get("YILIAN_FUZZ_ON_POSTGRES"),
        reason="the fuzz run is CI's SQLite pass (YILIAN_FUZZ_ON_POSTGRES=1 runs it on PostgreSQL too)",
    ),
]

EXAMPLES = int(os.environ.get("YILIAN_FUZZ_EXAMPLES", "25"))  # 25 in CI; fewer for a quick look
# the session's own token would end the run (the login itself is fuzzed); a Server-Sent Events stream
# never ends by itself (tests/companion drive it with a real client)
SKIPPED = {"POST /api/v1/auth/logout", "GET /api/v1/companion/follows/{follow_id}/stream"}


@dataclass
class FuzzReport:
    operations: int = 0
    cases: int = 0
    failures: dict[str, str] = field(default_factory=dict)  # "METHOD path: check" -> first example

    def summary(self) -> str:
        lines = [f"{self.operations} operations, {self.cases} cases, {len(self.failures)} failing"]
        lines += [f"- {key}\n    {example}" for key, example in sorted(self.failures.items())]
        return "\n".join(lines)


def fuzz(app: FastAPI, token: str, *, examples: int = EXAMPLES) -> FuzzReport:
    """Run every operation of ``app``'s OpenAPI document ``examples`` times with ``token``."""
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", app)
    headers = {"Authorization": f"Bearer {token}"}
    report = FuzzReport()
    for result in schema.get_all_operations():
        operation = result.ok()
        label = f"{operation.method.upper()} {operation.path}"
        if label not in SKIPPED:
            report.operations += 1
            _fuzz_operation(operation, label, headers, examples, report)
    return report


def _fuzz_operation(
    operation: Any, label: str, headers: dict[str, str], examples: int, report: FuzzReport
) -> None:
    """Call one operation ``examples`` times; record each kind of failure once, with its example."""

    @settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate],
    )
    @given(case=operation.as_strategy())
    def run(case: Any) -> None:
        report.cases += 1
        try:
            response = case.call(headers=headers)
        except Exception as exc:  # the app raised: a server error (500)
            key = f"{label}: server error ({type(exc).__name__}: {str(exc)[:80]})"
            report.failures.setdefault(key, case.as_curl_command()[:400])
            return
        try:
            case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])
        except (Exception, BaseExceptionGroup) as exc:  # failed checks: the first example of each kind
            for failure in getattr(exc, "exceptions", [exc]):
                kind = getattr(failure, "title", type(failure).__name__)
                key = f"{label}: {kind} ({response.status_code})"
                report.failures.setdefault(
                    key, f"{case.as_curl_command()[:400]}\n    → {response.text[:300]}"
                )

    run()


@pytest.fixture(scope="module")
def fuzz_app() -> Iterator[FastAPI]:
    """The app on a database of its own (the demo alliance), given back to the other tests after."""
    saved = db._engine, db._factory
    with fresh_database("fuzz") as url:
        engine = db.configure(url)
        try:
            upgrade(engine)
            with db.unit_of_work() as session:
                seed(session, seed_value=11, patients=30)
            from yilian.app import create_app

            yield create_app(with_ui=False, dispatcher=False)
        finally:
            engine.dispose()
            db._engine, db._factory = saved


def _token(app: FastAPI, username: str) -> str:
    with TestClient(app) as client:
        answer = client.post("/api/v1/auth/token", json={"username": username, "password": DEMO_PASSWORD})
        assert answer.status_code == 200, answer.text
        return str(answer.json()["access_token"])


@pytest.mark.parametrize("username", ["admin", "registrar"])
def test_no_server_error_and_no_schema_violation(fuzz_app: FastAPI, username: str) -> None:
    report = fuzz(fuzz_app, _token(fuzz_app, username))
    print(f"\nfuzz as {username}: {report.summary()}")
    assert report.operations >= 100 and report.cases >= report.operations * 5
    assert not report.failures, report.summary()
