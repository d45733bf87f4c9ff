"""Test databases: a temporary SQLite file, or a fresh PostgreSQL database per test run.

``YILIAN_TEST_DATABASE_URL`` selects the server; for PostgreSQL a new database with a random name
is created on that server (so parallel runs never meet) and dropped afterwards.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

TEST_URL_ENV = "YILIAN_TEST_DATABASE_URL"


def test_base_url() -> str:
    return os.environ.get(TEST_URL_ENV, "").strip() or "sqlite://"


def is_postgres_run() -> bool:
    return make_url(test_base_url()).get_backend_name() == "postgresql"


@contextmanager
def fresh_database(label: str = "t") -> Iterator[str]:
    """Yield the URL of a new, empty database, removed afterwards."""
    base = make_url(test_base_url())
    if base.get_backend_name() == "postgresql":
        name = f"yilian_{label}_{os.getpid()}_{secrets.token_hex(3)}"
        admin = create_engine(base, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield base.set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                conn.execute(
                    text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"),
                    {"n": name},
                )
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            admin.dispose()
    else:
        with tempfile.TemporaryDirectory(prefix="yilian-test-") as tmp:
            yield f"sqlite:///{Path(tmp) / f'{label}.db'}"
