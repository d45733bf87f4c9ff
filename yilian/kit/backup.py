"""Backup and restore of the whole database (``yilian backup FILE`` / ``yilian restore FILE``).

SQLite: SQLite's online backup API copies the database in one step under one read transaction, so the
copy is a consistent snapshot while the server keeps writing (WAL readers never block writers); the copy
is checked (``PRAGMA integrity_check``) and written as a single self-contained file (journal mode
DELETE). A restore copies the file back with the same API. PostgreSQL: ``pg_dump --format=custom``
(a consistent snapshot by itself) and ``pg_restore`` into an empty database, run when the client
programs are installed; docs/operations.md gives the same commands for doing it by hand.

Nothing is overwritten silently: an existing backup file or a database that already holds tables is
refused unless ``force`` is given, and a forced SQLite restore first copies the database it replaces
to ``<database>.pre-restore-<UTC time>``.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, MetaData, Table, create_engine, inspect, select
from sqlalchemy.engine import URL, make_url


class BackupError(Exception):
    """A backup or restore that was refused or failed; the message says why and what to do."""


@dataclass(frozen=True)
class TableDigest:
    """A table's row count and a SHA-256 over its rows in primary-key order."""

    rows: int
    sha256: str


@dataclass(frozen=True)
class Outcome:
    """What a backup or restore did, in one line for the operator."""

    path: Path
    message: str


def table_digests(engine: Engine) -> dict[str, TableDigest]:
    """Row count and checksum of every table (for comparing a restored database with its source)."""
    metadata = MetaData()
    out: dict[str, TableDigest] = {}
    with engine.connect() as conn:
        for name in sorted(inspect(conn).get_table_names()):
            table = Table(name, metadata, autoload_with=conn)
            order = list(table.primary_key.columns) or list(table.columns)
            digest = hashlib.sha256()
            rows = 0
            for row in conn.execute(select(table).order_by(*order)):
                digest.update(repr(tuple(row)).encode())
                rows += 1
            out[name] = TableDigest(rows, digest.hexdigest())
    return out


def _refuse_existing_file(path: Path, force: bool) -> None:
    if path.exists() and not force:
        raise BackupError(f"{path} already exists; choose another file or pass --force to overwrite it")


def _sqlite_path(url: URL) -> Path:
    if not url.database or url.database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up or restored")
    return Path(url.database)


def _user_tables(conn: sqlite3.Connection) -> list[str]:
    rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
    return [r[0] for r in rows]


def _check_sqlite_copy(conn: sqlite3.Connection, what: str) -> None:
    result = conn.execute("PRAGMA integrity_check").fetchone()
    if not result or result[0] != "ok":
        raise BackupError(f"{what} failed the integrity check: {result[0] if result else 'no answer'}")
    if "alembic_version" not in _user_tables(conn):
        raise BackupError(f"{what} is not a yilian database (no alembic_version table)")


def _copy_sqlite(source: Path, target: Path) -> None:
    """Copy ``source`` into ``target`` with the online backup API, in one step (one snapshot)."""
    src = sqlite3.connect(source, timeout=30)
    try:
        dst = sqlite3.connect(target, timeout=30)
        try:
            src.backup(dst)  # pages=-1: the whole database under one read transaction
        finally:
            dst.close()
    finally:
        src.close()


def backup_sqlite(url: URL, dest: Path, force: bool) -> Outcome:
    source = _sqlite_path(url)
    if not source.exists():
        raise BackupError(f"no database at {source}")
    _refuse_existing_file(dest, force)
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = dest.with_name(f".{dest.name}.partial-{os.getpid()}")
    partial.unlink(missing_ok=True)
    try:
        _copy_sqlite(source, partial)
        conn = sqlite3.connect(partial)
        try:
            conn.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
            _check_sqlite_copy(conn, "the backup")
            tables = _user_tables(conn)
        finally:
            conn.close()
        os.replace(partial, dest)
    finally:
        partial.unlink(missing_ok=True)
    return Outcome(dest, f"backed up {source} to {dest} ({len(tables)} tables, {dest.stat().st_size} bytes)")


def restore_sqlite(url: URL, src: Path, force: bool) -> Outcome:
    target = _sqlite_path(url)
    if not src.is_file():
        raise BackupError(f"no backup file at {src}")
    check = sqlite3.connect(f"file:{src}?mode=ro", uri=True)
    try:
        _check_sqlite_copy(check, f"the backup {src}")
    finally:
        check.close()
    kept = ""
    if target.exists():
        existing = sqlite3.connect(target, timeout=30)
        try:
            tables = _user_tables(existing)
        finally:
            existing.close()
        if tables and not force:
            raise BackupError(
                f"the database {target} already holds {len(tables)} tables; restore into a new database "
                "(set YILIAN_DATABASE_URL or --database), or stop the server and pass --force to replace it"
            )
        if tables:
            aside = target.with_name(f"{target.name}.pre-restore-{datetime.now(UTC):%Y%m%dT%H%M%SZ}")
            _copy_sqlite(target, aside)
            kept = f"; the replaced database was kept as {aside}"
    target.parent.mkdir(parents=True, exist_ok=True)
    _copy_sqlite(src, target)
    conn = sqlite3.connect(target, timeout=30)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        _check_sqlite_copy(conn, "the restored database")
    finally:
        conn.close()
    return Outcome(target, f"restored {src} into {target}{kept}")


# ---------------------------------------------------------------- PostgreSQL


def pg_connection(url: URL) -> tuple[str, dict[str, str]]:
    """The libpq URL (without the password) and environment for pg_dump / pg_restore."""
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    plain = url.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def pg_commands(url: URL, file: Path) -> tuple[list[str], list[str]]:
    """The pg_dump and pg_restore command lines (as documented in docs/operations.md)."""
    conninfo, _ = pg_connection(url)
    dump = ["pg_dump", "--format=custom", "--no-owner", "--no-privileges", "--file", str(file), conninfo]
    restore = [
        "pg_restore",
        "--no-owner",
        "--no-privileges",
        "--exit-on-error",
        "--single-transaction",
        "--dbname",
        conninfo,
        str(file),
    ]
    return dump, restore


def _run(command: list[str], env: dict[str, str]) -> None:
    if shutil.which(command[0]) is None:
        raise BackupError(
            f"{command[0]} is not installed; install the PostgreSQL client programs of the server's "
            f"version or run by hand: {' '.join(command)}"
        )
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BackupError(f"{command[0]} failed ({done.returncode}): {done.stderr.strip()}")


def backup_postgres(url: URL, dest: Path, force: bool) -> Outcome:
    _refuse_existing_file(dest, force)
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = dest.with_name(f".{dest.name}.partial-{os.getpid()}")
    dump, _ = pg_commands(url, partial)
    _, env = pg_connection(url)
    try:
        _run(dump, env)
        os.replace(partial, dest)
    finally:
        partial.unlink(missing_ok=True)
    return Outcome(dest, f"backed up {url.database} to {dest} with pg_dump ({dest.stat().st_size} bytes)")


def restore_postgres(url: URL, src: Path, force: bool) -> Outcome:
    if not src.is_file():
        raise BackupError(f"no backup file at {src}")
    engine = create_engine(url)
    try:
        tables = inspect(engine).get_table_names()
    finally:
        engine.dispose()
    _, restore = pg_commands(url, src)
    if tables and not force:
        raise BackupError(
            f"the database {url.database} already holds {len(tables)} tables; restore into a new, empty "
            "database (createdb, then YILIAN_DATABASE_URL or --database), or pass --force to drop and "
            "replace its objects"
        )
    if tables:
        restore.insert(1, "--clean")
        restore.insert(2, "--if-exists")
    _, env = pg_connection(url)
    _run(restore, env)
    return Outcome(src, f"restored {src} into {url.database} with pg_restore")


Step = Callable[[URL, Path, bool], Outcome]
STEPS: dict[str, tuple[Step, Step]] = {
    "sqlite": (backup_sqlite, restore_sqlite),
    "postgresql": (backup_postgres, restore_postgres),
}


def _step(database_url: str, path: Path, force: bool, index: int) -> Outcome:
    url = make_url(database_url)
    what = ("backup", "restore")[index]
    steps = STEPS.get(url.get_backend_name())
    if steps is None:
        raise BackupError(f"no {what} for {url.get_backend_name()} databases")
    try:
        return steps[index](url, path, force)
    except sqlite3.Error as exc:
        raise BackupError(f"SQLite refused the {what} ({path}): {exc}") from exc


def backup(database_url: str, dest: Path, *, force: bool = False) -> Outcome:
    """Back the database up to ``dest`` (refused when ``dest`` exists, unless ``force``)."""
    return _step(database_url, dest, force, 0)


def restore(database_url: str, src: Path, *, force: bool = False) -> Outcome:
    """Restore the backup ``src`` into the database (refused when it holds tables, unless ``force``)."""
    return _step(database_url, src, force, 1)
