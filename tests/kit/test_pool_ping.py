"""Pooled connections are pinged on checkout only after being idle; a dead idle one is replaced."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from tests.dbutil import fresh_database, is_postgres_run
from yilian.kit import db


def _kill(raw: object, url: str) -> None:
    """End the server side of a pooled connection, as a database restart would."""
    import psycopg

    pid = raw.info.backend_pid  # type: ignore[attr-defined]
    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))


@pytest.mark.skipif(
    not is_postgres_run(), reason="a connection lost by its server: PostgreSQL (SQLite is a file)"
)
@pytest.mark.parametrize("idle_ping", [True, False])
def test_an_idle_connection_that_died_is_replaced_before_use(
    idle_ping: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    with fresh_database("ping") as url:
        if idle_ping:
            monkeypatch.setattr(db, "PING_AFTER_IDLE_SECONDS", 0.0)  # every checkout counts as idle
        engine = db.build_engine(url, pool_size=1, max_overflow=0)
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
                raw = conn.connection.driver_connection
            _kill(raw, url)  # back in the pool, then lost (database restart, firewall)
            with engine.connect() as conn:  # the same pooled connection, dead
                if idle_ping:
                    assert conn.execute(text("SELECT 1")).scalar() == 1  # pinged, found dead, replaced
                else:
                    with pytest.raises(
                        OperationalError
                    ):  # a connection used within the idle time is not pinged
                        conn.execute(text("SELECT 1"))
        finally:
            engine.dispose()
