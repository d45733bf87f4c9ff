"""Database engine, declarative base with a naming convention, sessions and the unit of work."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import (
    ARRAY,
    JSON,
    BigInteger,
    ColumnElement,
    DateTime,
    Engine,
    Integer,
    MetaData,
    Select,
    Table,
    any_,
    create_engine,
    event,
    func,
    insert,
    literal,
    select,
    text,
)
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from yilian.kit.settings import get_settings

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware timestamp stored in UTC; SQLite's naive values come back as UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use kit.clock for timezone-aware timestamps")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base of every table; constraint names follow ``NAMING_CONVENTION``."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime(), int: BigInteger().with_variant(Integer(), "sqlite")}


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_begin(conn: Any) -> None:
    # Take the write lock at BEGIN so concurrent writers queue on busy_timeout
    # instead of failing with "database is locked" on lock upgrade.
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def build_engine(url: str, *, echo: bool = False, **kwargs: Any) -> Engine:
    """Create an engine; SQLite gets WAL, foreign keys, a busy timeout and its folder created."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, echo=echo, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        # Let SQLAlchemy, not pysqlite, emit BEGIN (the documented pysqlite recipe).
        event.listen(engine, "connect", lambda c, _r: setattr(c, "isolation_level", None))
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    settings = get_settings()
    kwargs.setdefault("pool_size", settings.db_pool_size)
    kwargs.setdefault("max_overflow", settings.db_max_overflow)
    kwargs.setdefault("pool_timeout", settings.db_pool_timeout)
    ping_idle = kwargs.pop("pool_pre_ping", True)
    engine = create_engine(url, echo=echo, **kwargs)
    if ping_idle:
        _ping_when_idle(engine)
    return engine


# A pooled connection is pinged before use only when it has been idle for this long (a busy
# connection was just used, so a ping per checkout would be one more round trip per request).
PING_AFTER_IDLE_SECONDS = 10.0


def _ping_when_idle(engine: Engine) -> None:
    """Ping a connection on checkout after ``PING_AFTER_IDLE_SECONDS`` idle in the pool (a database
    restart or a firewall drops idle connections); a dead one is replaced before the request sees it.
    A connection dropped while busy fails its request once and the pool is invalidated, as before."""

    def checkin(_dbapi: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    def checkout(dbapi: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi)
        except Exception as exc:
            raise DisconnectionError("idle connection lost") from exc

    event.listen(engine, "checkin", checkin)
    event.listen(engine, "checkout", checkout)


_lock = threading.Lock()
_engine: Engine | None = None
_factory: sessionmaker[Session] | None = None


def configure(url: str | None = None, **kwargs: Any) -> Engine:
    """(Re)bind the process-wide engine and session factory; returns the engine."""
    global _engine, _factory
    with _lock:
        if _engine is not None:
            _engine.dispose()
        settings = get_settings()
        _engine = build_engine(url or settings.database_url, echo=settings.sql_echo, **kwargs)
        _factory = sessionmaker(bind=_engine, expire_on_commit=False, autoflush=True)
        return _engine


def get_engine() -> Engine:
    """Return the process-wide engine, configuring it from settings on first use."""
    if _engine is None:
        configure()
    assert _engine is not None
    return _engine


def session_factory() -> sessionmaker[Session]:
    """Return the process-wide session factory."""
    if _factory is None:
        configure()
    assert _factory is not None
    return _factory


def is_postgres(session_or_engine: Session | Engine) -> bool:
    """Tell whether the bound database is PostgreSQL."""
    bind = session_or_engine.get_bind() if isinstance(session_or_engine, Session) else session_or_engine
    return bind.dialect.name == "postgresql"


def driver_connection(session: Session) -> psycopg.Connection[Any]:
    """The session's psycopg connection (PostgreSQL), for a statement sent without SQLAlchemy's
    execution around it (a prepared statement built once)."""
    driver = session.connection().connection.driver_connection
    assert isinstance(driver, psycopg.Connection)
    return driver


def owns_its_transaction(session: Session) -> bool:
    """Whether the session's transaction is its own top-level one on an engine connection (not a
    savepoint, not joined to a transaction its caller began on a connection), so it may be committed."""
    return (
        isinstance(session.bind, Engine)
        and not session.in_nested_transaction()
        and not session.connection().in_nested_transaction()
    )


def may_commit_alone(session: Session) -> bool:
    """Whether a statement may commit by itself here (PostgreSQL): the session owns its transaction,
    holds no unflushed objects, and nothing of its transaction has reached the server yet (the
    connection is idle), so a statement outside it is not part of a larger unit of work."""
    if not owns_its_transaction(session) or session.new or session.dirty or session.deleted:
        return False
    driver = driver_connection(session)
    return not driver.autocommit and driver.info.transaction_status == psycopg.pq.TransactionStatus.IDLE


@contextmanager
def statements_alone(driver: psycopg.Connection[Any], enabled: bool = True) -> Iterator[None]:
    """Run the block's statements each as a transaction of its own (psycopg's autocommit) when
    ``enabled`` (see ``may_commit_alone``): one statement is atomic by itself, and the server commits
    it as it answers, with no BEGIN before it and no COMMIT round trip after it. The connection is
    given back in its normal mode (the session's later statements begin a transaction as usual)."""
    if not enabled:
        yield
        return
    driver.autocommit = True
    try:
        yield
    finally:
        driver.autocommit = False


def among(session: Session, col: Any, ids: Any) -> ColumnElement[bool]:
    """``col IN ids``: on PostgreSQL one array parameter (``= ANY(:ids)``), so a chunk's 500 ids are
    neither compiled into 500 bound parameters nor split out of the statement text by the driver."""
    ids = list(ids)
    if is_postgres(session):
        return col == any_(literal(ids, ARRAY(col.type)))  # type: ignore[no-any-return]
    return col.in_(ids)  # type: ignore[no-any-return]


@contextmanager
def unit_of_work(factory: sessionmaker[Session] | None = None) -> Iterator[Session]:
    """Yield a session whose work is committed on success and rolled back on any error."""
    session = (factory or session_factory())()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def paginate(session: Session, query: Select[Any], offset: int, limit: int) -> tuple[list[Any], int]:
    """Return one page of ``query``'s scalar rows and the total number of rows it matches."""
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    rows = session.scalars(query.offset(offset).limit(limit)).all()
    return list(rows), int(total)


def reserve_ids(session: Session, table: Table, n: int) -> list[int]:
    """Reserve ``n`` primary keys of ``table`` for rows a batch writes with ``insert_rows`` (the ids are
    known before the rows, so rows that refer to each other are written once). PostgreSQL draws them
    from the table's sequence; SQLite counts on from the largest id, safe under its write lock (every
    transaction begins IMMEDIATE)."""
    if n <= 0:
        return []
    if session.get_bind().dialect.name == "postgresql":
        rows = session.execute(
            text("SELECT nextval(pg_get_serial_sequence(:t, 'id')) FROM generate_series(1, :n)"),
            {"t": table.name, "n": n},
        )
        return [int(r[0]) for r in rows]
    top = int(session.scalar(select(func.coalesce(func.max(table.c.id), 0))) or 0)
    return list(range(top + 1, top + 1 + n))


def insert_rows(session: Session, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert many rows (dicts with the same keys) in the session's transaction: ``COPY … FROM STDIN`` on
    PostgreSQL (no statement text to build or parse per row), one executemany elsewhere."""
    if not rows:
        return
    if session.get_bind().dialect.name != "postgresql":
        session.execute(insert(table), list(rows))
        return
    columns = list(rows[0])
    as_json = [isinstance(table.c[c].type, JSON) for c in columns]
    names = ", ".join(f'"{c}"' for c in columns)
    driver = session.connection().connection.driver_connection
    assert driver is not None
    with driver.cursor() as cursor, cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
        for row in rows:
            copy.write_row(
                [
                    json.dumps(row[c], ensure_ascii=False) if j and row[c] is not None else row[c]
                    for c, j in zip(columns, as_json, strict=True)
                ]
            )


def table_of(model: type[Base]) -> Table:
    """The ``Table`` of a mapped class (typed, for Core statements on it)."""
    table = model.__table__
    assert isinstance(table, Table)
    return table
