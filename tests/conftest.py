"""Shared fixtures: a migrated test database (SQLite or PostgreSQL), a session per test rolled back
afterwards, an API client bound to that session, a frozen clock and typed builders."""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient
from hypothesis import settings
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from tests.dbutil import fresh_database, is_postgres_run, test_base_url
from yilian.kit import clock, db
from yilian.kit.auth.deps import get_db
from yilian.kit.migrate import upgrade

# Shared machines are loaded and noisy: a property test is judged on its answers, never on its speed.
settings.register_profile("yilian", deadline=None)
settings.load_profile("yilian")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every browser test carries the ``e2e`` marker (``make test-unit`` deselects them with ``slow``);
    with ``YILIAN_TEST_SHUFFLE=<seed>`` the tests run in an order shuffled by that seed (no plugin needed),
    to show that no test leans on another having run first."""
    for item in items:
        if item.path.parent.name == "e2e" and item.path.parent.parent.name == "tests":
            item.add_marker(pytest.mark.e2e)
    seed = os.environ.get("YILIAN_TEST_SHUFFLE")
    if seed:
        random.Random(seed).shuffle(items)


def pytest_report_header(config: pytest.Config) -> list[str]:
    lines = [f"yilian test database: {'PostgreSQL' if is_postgres_run() else 'SQLite'} ({test_base_url()})"]
    if seed := os.environ.get("YILIAN_TEST_SHUFFLE"):
        lines.append(f"yilian test order: shuffled with seed {seed!r} (YILIAN_TEST_SHUFFLE)")
    return lines


@pytest.fixture(scope="session")
def engine() -> Iterator[Engine]:
    """A fresh database for the run, migrated with Alembic, also bound as the process-wide engine."""
    with fresh_database("unit") as url:
        eng = db.configure(url)
        upgrade(eng)
        yield eng
        eng.dispose()


@pytest.fixture
def factory() -> Iterator[sessionmaker[Session]]:
    """A session factory on a fresh, migrated database of its own, for tests that commit for real
    (jobs, calendars): nothing is rolled back, the database is dropped afterwards."""
    with fresh_database("jobs") as url:
        eng = db.build_engine(url)
        try:
            upgrade(eng)
            yield sessionmaker(bind=eng, expire_on_commit=False)
        finally:
            eng.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session inside a transaction that is rolled back after the test; commits become savepoints."""
    connection = engine.connect()
    transaction = connection.begin()
    s = Session(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
    try:
        yield s
    finally:
        s.close()
        transaction.rollback()
        connection.close()


@pytest.fixture(scope="session")
def api_app(engine: Engine) -> FastAPI:
    from yilian.app import create_app

    return create_app(with_ui=False, dispatcher=False)


@pytest.fixture
def client(api_app: FastAPI, session: Session) -> Iterator[TestClient]:
    """An HTTP client whose requests use the test's session (so the test's rollback undoes them)."""

    def _db(request: Request) -> Session:
        request.state.db_session = session
        request.state.db_owned = False
        return session

    api_app.dependency_overrides[get_db] = _db
    with TestClient(api_app, raise_server_exceptions=False) as c:
        yield c
    api_app.dependency_overrides.pop(get_db, None)


@pytest.fixture
def frozen_clock() -> Iterator[clock.FrozenClock]:
    """The process clock frozen at 2026-05-07 09:00 Asia/Shanghai (01:00 UTC); move it with .set/.advance."""
    fc = clock.FrozenClock(datetime(2026, 5, 7, 1, 0, tzinfo=UTC))
    with clock.use_clock(fc):
        yield fc
