"""A SQLAlchemy dialect whose "database" is a SparkSession: the areas' own SQLAlchemy queries run on
Spark SQL unchanged, over temporary views named like the tables (registered from an export).

Why: a query written once in an area's repository (a GROUP BY by day, institution and department) is
the definition of a figure; compiling that same statement to Spark SQL gives the province the same
figure on its cluster without a second copy of the query. The dialect is read-only (no DML, no DDL;
commit and rollback do nothing) and small: Spark SQL understands the generic SQL SQLAlchemy writes,
except the spellings handled here —

* identifiers quoted with backticks;
* ``LIMIT``/``OFFSET`` written as numbers (Spark takes no parameter there);
* the few SQLite functions the areas use where they cannot use PostgreSQL's date arithmetic (the
  repositories choose by ``dialect.name``; this dialect is neither): ``julianday(d)`` becomes
  ``unix_date(d)`` (a difference of whole days either way), ``date(d, '-1 day')`` becomes
  ``date_add(d, -1)``, and the scalar ``max(a, b)`` / ``min(a, b)`` become ``greatest`` / ``least``.

Bound values go to Spark as named parameter markers (``spark.sql(text, args=…)``), so no value is
ever pasted into SQL text. Rows come back through Arrow (timestamps as UTC).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import create_engine
from sqlalchemy.dialects import registry
from sqlalchemy.engine import Engine
from sqlalchemy.engine.default import DefaultDialect
from sqlalchemy.pool import StaticPool
from sqlalchemy.sql import compiler
from sqlalchemy.sql.elements import BindParameter

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

DIALECT = "yilian_spark"
log = logging.getLogger(__name__)
_DAYS = re.compile(r"\s*([+-]?\d+)\s+days?\s*")


# ---------------------------------------------------------------- the DB-API over a SparkSession


class Error(Exception):
    pass


class Warning(Exception):  # noqa: A001 - the DB-API name
    pass


class InterfaceError(Error):
    pass


class DatabaseError(Error):
    pass


class OperationalError(DatabaseError):
    pass


class ProgrammingError(DatabaseError):
    pass


class IntegrityError(DatabaseError):
    pass


class DataError(DatabaseError):
    pass


class InternalError(DatabaseError):
    pass


class NotSupportedError(DatabaseError):
    pass


paramstyle = "named"
apilevel = "2.0"
threadsafety = 1


class Cursor:
    """Runs one statement with :meth:`SparkSession.sql` and holds its rows."""

    arraysize = 100

    def __init__(self, spark: SparkSession) -> None:
        self._spark = spark
        self._rows: list[tuple[Any, ...]] = []
        self._at = 0
        self.description: list[tuple[Any, ...]] | None = None
        self.rowcount = -1
        self.lastrowid = None

    def execute(self, sql: str, parameters: Mapping[str, Any] | Sequence[Any] | None = None) -> None:
        if parameters is not None and not isinstance(parameters, Mapping):
            raise NotSupportedError("positional parameters are not used by this dialect")
        began = time.perf_counter()
        try:
            frame = self._spark.sql(sql, args=dict(parameters) if parameters else None)
            table = frame.toArrow()
        except Exception as exc:  # pyspark's AnalysisException and friends, as a DB-API error
            raise ProgrammingError(f"{type(exc).__name__}: {exc}") from exc
        self.description = [(name, None, None, None, None, None, None) for name in table.column_names]
        columns = [table.column(i).to_pylist() for i in range(table.num_columns)]
        self._rows = list(zip(*columns, strict=True)) if columns else []
        self._at = 0
        self.rowcount = len(self._rows)
        log.debug(
            "%.2f s, %d rows: %s", time.perf_counter() - began, self.rowcount, " ".join(sql.split())[:120]
        )

    def executemany(self, sql: str, seq: Sequence[Any]) -> None:
        raise NotSupportedError("the Spark dialect is read-only")

    def fetchone(self) -> tuple[Any, ...] | None:
        if self._at >= len(self._rows):
            return None
        self._at += 1
        return self._rows[self._at - 1]

    def fetchmany(self, size: int | None = None) -> list[tuple[Any, ...]]:
        n = size or self.arraysize
        out = self._rows[self._at : self._at + n]
        self._at += len(out)
        return out

    def fetchall(self) -> list[tuple[Any, ...]]:
        out = self._rows[self._at :]
        self._at = len(self._rows)
        return out

    def close(self) -> None:
        self._rows = []


class Connection:
    def __init__(self, spark: SparkSession) -> None:
        self.spark = spark

    def cursor(self) -> Cursor:
        return Cursor(self.spark)

    def commit(self) -> None:
        pass

    def rollback(self) -> None:
        pass

    def close(self) -> None:
        pass


# ---------------------------------------------------------------- the dialect


class SparkIdentifierPreparer(compiler.IdentifierPreparer):
    def __init__(self, dialect: DefaultDialect) -> None:
        super().__init__(dialect, initial_quote="`", final_quote="`")


class SparkCompiler(compiler.SQLCompiler):
    def limit_clause(self, select: Any, **kw: Any) -> str:
        text = ""
        if select._limit_clause is not None:
            text += f"\n LIMIT {int(select._limit)}"
        if select._offset_clause is not None:
            text += f"\n OFFSET {int(select._offset)}"
        return text

    def visit_julianday_func(self, fn: Any, **kw: Any) -> str:
        return f"unix_date({self.process(fn.clauses, **kw)})"

    def visit_date_func(self, fn: Any, **kw: Any) -> str:
        args = list(fn.clauses)
        if len(args) == 1:
            return f"to_date({self.process(args[0], **kw)})"
        modifier = args[1]
        m = _DAYS.fullmatch(str(modifier.value)) if isinstance(modifier, BindParameter) else None
        if len(args) != 2 or m is None:
            raise NotSupportedError("only date(d, '±N day') is translated to Spark SQL")
        return f"date_add({self.process(args[0], **kw)}, {int(m.group(1))})"

    def visit_max_func(self, fn: Any, **kw: Any) -> str:
        name = "greatest" if len(fn.clauses) > 1 else "max"
        return name + self.function_argspec(fn, **kw)

    def visit_min_func(self, fn: Any, **kw: Any) -> str:
        name = "least" if len(fn.clauses) > 1 else "min"
        return name + self.function_argspec(fn, **kw)


class _DBAPI:
    """The module-like object SQLAlchemy wants as ``dbapi``."""

    paramstyle = paramstyle
    apilevel = apilevel
    threadsafety = threadsafety
    Error = Error
    Warning = Warning
    InterfaceError = InterfaceError
    DatabaseError = DatabaseError
    OperationalError = OperationalError
    ProgrammingError = ProgrammingError
    IntegrityError = IntegrityError
    DataError = DataError
    InternalError = InternalError
    NotSupportedError = NotSupportedError

    @staticmethod
    def connect(*args: Any, **kwargs: Any) -> Connection:
        raise InterfaceError("connect through spark_sql.engine(spark)")


class SparkDialect(DefaultDialect):
    name = "spark"
    driver = "pyspark"
    default_paramstyle = "named"
    supports_native_boolean = True
    supports_native_decimal = True
    supports_statement_cache = True
    supports_sane_rowcount = False
    supports_sane_multi_rowcount = False
    postfetch_lastrowid = False
    statement_compiler = SparkCompiler
    preparer = SparkIdentifierPreparer  # type: ignore[assignment]

    @classmethod
    def import_dbapi(cls) -> Any:
        return _DBAPI

    def do_rollback(self, dbapi_connection: Any) -> None:
        pass

    def do_commit(self, dbapi_connection: Any) -> None:
        pass

    def _get_server_version_info(self, connection: Any) -> Any:
        return None

    def _get_default_schema_name(self, connection: Any) -> str:
        return "default"

    def get_isolation_level(self, dbapi_connection: Any) -> Any:
        raise NotImplementedError


registry.register(DIALECT, __name__, "SparkDialect")


def engine(spark: SparkSession) -> Engine:
    """A SQLAlchemy engine whose statements run on ``spark`` (one shared DB-API connection)."""
    return create_engine(f"{DIALECT}://", creator=lambda: Connection(spark), poolclass=StaticPool)
