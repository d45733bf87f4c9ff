"""Bounded integer types for the API's edge: ids, years and counts that a database column can hold.

Every id in a path, query or body is declared with one of these, so that a number past the column's
range (2^63 and above overflows SQLite's driver; PostgreSQL ``integer`` ends at 2^31 - 1) is refused as
a 422 problem before it reaches a query.
"""

from __future__ import annotations

from datetime import date, time
from typing import Annotated

from fastapi import Path, Query
from pydantic import Field, PlainSerializer, WithJsonSchema

MAX_ID = 2**31 - 1  # an ``integer`` primary key on PostgreSQL
MAX_INT = 2**31 - 1  # any other ``integer`` column (counts, quantities, days)
MAX_BIG = 2**53  # a ``bigint`` amount in fen (exact in JSON numbers and DuckDB doubles)

Id = Annotated[int, Field(ge=1, le=MAX_ID)]
"""An id in a request body."""
IdPath = Annotated[int, Path(ge=1, le=MAX_ID)]
"""An id in the path (``/patients/{patient_id}``)."""
IdQuery = Annotated[int, Query(ge=1, le=MAX_ID)]
"""A required id in the query string."""
OptionalIdQuery = Annotated[int | None, Query(ge=1, le=MAX_ID)]
"""An optional id in the query string (a filter)."""
Year = Annotated[int, Field(ge=1900, le=2200)]
"""A calendar year."""
Int = Annotated[int, Field(ge=-MAX_INT, le=MAX_INT)]
"""Any number an ``integer`` column can hold; the service checks what it means (a refusal in Chinese)."""
Count = Annotated[int, Field(ge=0, le=MAX_INT)]
"""A count or quantity stored in an ``integer`` column."""
Days = Annotated[int, Field(ge=0, le=3650)]
"""A number of days (a reminder, a limit): up to ten years."""
FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(2200, 12, 31)
DayQuery = Annotated[date, Query(ge=FIRST_DAY, le=LAST_DAY)]
"""A calendar day in the query string, within 1900–2200 (so that date arithmetic never overflows)."""
OptionalDayQuery = Annotated[date | None, Query(ge=FIRST_DAY, le=LAST_DAY)]
"""An optional calendar day in the query string."""
Fen = Annotated[int, Field(ge=-MAX_BIG, le=MAX_BIG)]
"""An amount of money in fen (may be negative for reversals)."""

ClockTime = Annotated[
    time,
    PlainSerializer(lambda t: t.isoformat(timespec="seconds"), return_type=str, when_used="json"),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^([01]\d|2[0-3]):[0-5]\d:[0-5]\d$",
            "description": "本地钟点 HH:MM:SS（Asia/Shanghai，无时区）",
            "examples": ["08:00:00"],
        }
    ),
]
"""A wall-clock time of day in Asia/Shanghai (a clinic's slot): ``"08:00:00"``, declared as such in the
OpenAPI document (JSON Schema's ``format: time`` would demand an offset)."""
