"""A scratch PostgreSQL database for one benchmark run: created under a fresh name, dropped at the end.

Every benchmark that measures PostgreSQL works in a database of its own on the given server, so a run
never touches the server's other databases and two runs never meet. The database is dropped when the
``with`` block ends (its open connections are terminated first), however the run ends, unless the
caller keeps it (``keep=True``) or measures again on one kept before (``reuse=<name>``).

    with scratch_database(BASE, "yilian_rush") as url:
        engine = db.build_engine(url.render_as_string(hide_password=False))
        ...
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url


@contextmanager
def scratch_database(
    server_url: str | URL, prefix: str, *, keep: bool = False, reuse: str | None = None
) -> Iterator[URL]:
    """Yield the URL of a new database ``<prefix>_<random hex>`` on the server of ``server_url``
    (or of the existing database ``reuse``); drop it at the end unless ``keep`` or ``reuse``."""
    base = make_url(server_url)
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    name = reuse or f"{prefix}_{secrets.token_hex(3)}"
    try:
        if reuse is None:
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield base.set(database=name)
    finally:
        if reuse is None and not keep:
            with admin.connect() as conn:
                conn.execute(
                    text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"),
                    {"n": name},
                )
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()
