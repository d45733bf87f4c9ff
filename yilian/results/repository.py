"""Every query of the results area."""

from __future__ import annotations

import re
from collections import namedtuple
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from typing import Any

import psycopg
from sqlalchemy import (
    ARRAY,
    ColumnElement,
    String,
    bindparam,
    case,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from yilian.kit.db import (
    driver_connection,
    insert_rows,
    may_commit_alone,
    reserve_ids,
    statements_alone,
    table_of,
)
from yilian.results.models import (
    CodeMap,
    ExamItem,
    IngestLog,
    Policy,
    Prompt,
    QaRecord,
    Qualification,
    RecognitionDecision,
    Result,
    ResultRevision,
)


def items(session: Session, *, kind: str | None = None) -> Sequence[ExamItem]:
    stmt = select(ExamItem).where(ExamItem.is_active.is_(True)).order_by(ExamItem.kind, ExamItem.code)
    if kind:
        stmt = stmt.where(ExamItem.kind == kind)
    return session.scalars(stmt).all()


def item_by_code(session: Session, code: str) -> ExamItem | None:
    return session.scalar(select(ExamItem).where(ExamItem.code == code))


def item_by_loinc(session: Session, loinc: str) -> ExamItem | None:
    return session.scalar(select(ExamItem).where(ExamItem.loinc == loinc).limit(1))


def code_map(session: Session, institution_id: int, local_code: str) -> CodeMap | None:
    return session.scalar(
        select(CodeMap).where(CodeMap.institution_id == institution_id, CodeMap.local_code == local_code)
    )


def code_maps(session: Session, institution_id: int | None = None) -> Sequence[CodeMap]:
    stmt = select(CodeMap).order_by(CodeMap.institution_id, CodeMap.local_code)
    if institution_id is not None:
        stmt = stmt.where(CodeMap.institution_id == institution_id)
    return session.scalars(stmt).all()


def qualification(session: Session, institution_id: int) -> Qualification | None:
    return session.get(Qualification, institution_id)


def hr_marks(session: Session, institution_ids: Sequence[int]) -> dict[int, bool]:
    rows = session.execute(
        select(Qualification.institution_id, Qualification.hr_mark).where(
            Qualification.institution_id.in_(institution_ids)
        )
    )
    return {int(i): bool(m) for i, m in rows}


def qualifications(session: Session) -> Sequence[Qualification]:
    return session.scalars(select(Qualification)).all()


def qa_records(session: Session, institution_ids: Sequence[int] | None = None) -> Sequence[QaRecord]:
    stmt = select(QaRecord).order_by(QaRecord.institution_id, QaRecord.discipline)
    if institution_ids is not None:
        stmt = stmt.where(QaRecord.institution_id.in_(institution_ids))
    return session.scalars(stmt).all()


def qa_record(session: Session, institution_id: int, discipline: str) -> QaRecord | None:
    return session.scalar(
        select(QaRecord).where(QaRecord.institution_id == institution_id, QaRecord.discipline == discipline)
    )


def policy(session: Session, key: str) -> Policy | None:
    return session.get(Policy, key)


def ingest_log(session: Session, channel: str, sender: str, message_id: str) -> IngestLog | None:
    return session.scalar(
        select(IngestLog).where(
            IngestLog.channel == channel, IngestLog.sender == sender, IngestLog.message_id == message_id
        )
    )


def one_of(session: Session, column: Any, values: Sequence[str]) -> ColumnElement[bool]:
    """``column IN values``; on PostgreSQL as ``= ANY(array)``: one parameter, so the statement text stays
    short and psycopg caches its parse (a long IN list is re-parsed on every execution)."""
    if session.get_bind().dialect.name == "postgresql":
        return column == func.any(bindparam(None, list(values), type_=ARRAY(String)))  # type: ignore[no-any-return]
    return column.in_(list(values))  # type: ignore[no-any-return]


def accepted_messages(session: Session, keys: Sequence[tuple[str, str, str]]) -> set[tuple[str, str, str]]:
    """The (channel, sender, message id) of ``keys`` already accepted (one query)."""
    if not keys:
        return set()
    rows = session.execute(
        select(IngestLog.channel, IngestLog.sender, IngestLog.message_id).where(
            one_of(session, IngestLog.message_id, sorted({k[2] for k in keys})), IngestLog.accepted.is_(True)
        )
    )
    wanted = set(keys)
    return {key for c, s, m in rows if (key := (str(c), str(s), str(m))) in wanted}


def all_items(session: Session) -> Sequence[ExamItem]:
    """Every exam item, active or not (a small table: read once per ingest batch)."""
    return session.scalars(select(ExamItem)).all()


def code_maps_for(session: Session, institution_id: int, local_codes: Sequence[str]) -> dict[str, str]:
    """local code -> regional item code of one institution, for the given local codes (one query)."""
    if not local_codes:
        return {}
    rows = session.execute(
        select(CodeMap.local_code, CodeMap.item_code).where(
            CodeMap.institution_id == institution_id, one_of(session, CodeMap.local_code, local_codes)
        )
    )
    return {str(a): str(b) for a, b in rows}


def current_versions(session: Session, keys: Sequence[str]) -> dict[str, tuple[int, str, Any]]:
    """source key -> (result id, status, reported_at) of the stored results among ``keys``."""
    if not keys:
        return {}
    rows = session.execute(
        select(Result.source_key, Result.id, Result.status, Result.reported_at).where(
            one_of(session, Result.source_key, keys)
        )
    )
    return {str(k): (int(i), str(st), at) for k, i, st, at in rows}


def _copy(session: Session, model: Any, rows: Sequence[dict[str, Any]]) -> None:
    """``kit.db.insert_rows`` (COPY on PostgreSQL), a unique-key violation raised as SQLAlchemy's
    ``IntegrityError`` like an INSERT's (the ingest retries message by message on it)."""
    try:
        insert_rows(session, table_of(model), rows)
    except Exception as exc:
        if str(getattr(exc, "sqlstate", "") or "").startswith("23"):  # integrity constraint violation
            raise IntegrityError(f"COPY {model.__tablename__}", None, exc) from exc
        raise


def insert_results_returning(session: Session, rows: Sequence[dict[str, Any]]) -> dict[str, int]:
    """Insert result rows and return source key -> new id: on PostgreSQL the ids are drawn from the
    sequence first and the rows written by COPY (per-row executemany sends were the listener's largest
    CPU cost, issue 16); elsewhere one executemany and one indexed read of the ids."""
    if not rows:
        return {}
    if session.get_bind().dialect.name == "postgresql":
        ids = reserve_ids(session, table_of(Result), len(rows))
        _copy(session, Result, [{**r, "id": i} for r, i in zip(rows, ids, strict=True)])
        return {r["source_key"]: i for r, i in zip(rows, ids, strict=True)}
    session.execute(insert(Result), list(rows))
    found = current_versions(session, [r["source_key"] for r in rows])
    return {k: v[0] for k, v in found.items()}


def update_results(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Replace stored versions (each dict has the result ``id``) in one executemany."""
    if rows:
        session.execute(update(Result), list(rows))


def insert_revisions(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """One revision per delivered observation (COPY on PostgreSQL)."""
    if rows:
        _copy(session, ResultRevision, rows)


def insert_ingest_logs(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """The ingest log rows of a batch (COPY on PostgreSQL; the unique key makes a message stored once)."""
    if rows:
        _copy(session, IngestLog, rows)


def revisions_of(session: Session, result_id: int) -> Sequence[ResultRevision]:
    """Every delivery of one result, in arrival order."""
    return session.scalars(
        select(ResultRevision).where(ResultRevision.result_id == result_id).order_by(ResultRevision.id)
    ).all()


def existing_source_keys(session: Session, keys: Sequence[str]) -> set[str]:
    if not keys:
        return set()
    return set(session.scalars(select(Result.source_key).where(Result.source_key.in_(keys))))


def insert_results(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Bulk insert (executemany) of result rows."""
    if rows:
        session.execute(insert(Result), list(rows))


def results_by_keys(session: Session, keys: Sequence[str]) -> Sequence[Result]:
    return session.scalars(select(Result).where(Result.source_key.in_(keys)).order_by(Result.id)).all()


def get_result(session: Session, result_id: int) -> Result | None:
    return session.get(Result, result_id)


def candidate_results(
    session: Session, *, patient_id: int, item_code: str, since: date, until: date
) -> Sequence[Result]:
    """Results of one item for one patient in a date window, newest first (uses ix_results_lookup)."""
    return session.scalars(
        select(Result)
        .where(
            Result.patient_id == patient_id,
            Result.item_code == item_code,
            Result.result_date >= since,
            Result.result_date <= until,
        )
        .order_by(Result.result_date.desc(), Result.observed_at.desc(), Result.id.desc())
        .limit(50)
    ).all()


def patient_results(
    session: Session,
    *,
    patient_id: int,
    item_code: str | None = None,
    kind: str | None = None,
    offset: int = 0,
    limit: int = 50,
) -> tuple[Sequence[Result], int]:
    where = [Result.patient_id == patient_id]
    if item_code:
        where.append(Result.item_code == item_code)
    if kind:
        where.append(Result.kind == kind)
    page = session.execute(  # the total rides on every row (a window count): no second query
        select(Result, func.count().over())
        .where(*where)
        .order_by(Result.observed_at.desc(), Result.id.desc())
        .offset(offset)
        .limit(limit)
    ).all()
    if page:
        return [row[0] for row in page], int(page[0][1])
    if offset == 0:
        return [], 0
    return [], session.scalar(select(func.count()).select_from(Result).where(*where)) or 0  # past the end


def _observation_page(by_item: bool) -> Any:
    """The FHIR Observation search's statement, built once: a page of one patient's results as plain
    rows (the columns an Observation shows, no ORM objects) with the item's name and LOINC code when the
    item is active, and the total as a window count."""
    where = [Result.patient_id == bindparam("patient_id")]
    if by_item:
        where.append(Result.item_code == bindparam("item_code"))
    return (
        select(
            Result.id,
            Result.source_key,
            Result.status,
            Result.item_code,
            Result.observed_at,
            Result.institution_id,
            Result.kind,
            Result.value_num,
            Result.unit,
            Result.value_text,
            Result.report_text,
            Result.reference_range,
            Result.abnormal_flag,
            ExamItem.name.label("item_name"),
            ExamItem.loinc,
            func.count().over().label("total"),
        )
        .outerjoin(ExamItem, (ExamItem.code == Result.item_code) & ExamItem.is_active.is_(True))
        .where(*where)
        .order_by(Result.observed_at.desc(), Result.id.desc())
        .offset(bindparam("offset"))
        .limit(bindparam("limit"))
    )


_OBSERVATION_PAGE = {False: _observation_page(False), True: _observation_page(True)}


def patient_observation_rows(
    session: Session, *, patient_id: int, item_code: str | None = None, offset: int = 0, limit: int = 50
) -> tuple[Sequence[Any], int]:
    """A page of a patient's results, newest first, as rows with the result's columns, ``item_name`` and
    ``loinc`` (None for an item not in the active catalogue), and the total."""
    params: dict[str, Any] = {"patient_id": patient_id, "offset": offset, "limit": limit}
    if item_code:
        params["item_code"] = item_code
    page = session.execute(_OBSERVATION_PAGE[bool(item_code)], params).all()
    if page:
        return page, int(page[0].total)
    if offset == 0:
        return [], 0
    where = [Result.patient_id == patient_id] + ([Result.item_code == item_code] if item_code else [])
    return [], session.scalar(select(func.count()).select_from(Result).where(*where)) or 0  # past the end


def get_prompt(session: Session, prompt_id: int, *, for_update: bool = False) -> Prompt | None:
    stmt = select(Prompt).where(Prompt.id == prompt_id)
    if for_update:
        stmt = stmt.with_for_update()
    return session.scalar(stmt)


def decision_of(session: Session, prompt_id: int) -> RecognitionDecision | None:
    return session.scalar(select(RecognitionDecision).where(RecognitionDecision.prompt_id == prompt_id))


def indicators(
    session: Session, *, group: str, since: date, until: date, institution_id: int | None = None
) -> list[dict[str, Any]]:
    """Prompts, recognised / not recognised decisions and fees saved, grouped by institution, department
    or item."""
    column = {
        "institution": Prompt.institution_id,
        "department": Prompt.department_id,
        "item": Prompt.item_code,
    }[group]
    where = [Prompt.business_date >= since, Prompt.business_date <= until]
    if institution_id is not None:
        where.append(Prompt.institution_id == institution_id)
    recognised = case((RecognitionDecision.decision == "互认", 1), else_=0)
    refused = case((RecognitionDecision.decision == "不互认", 1), else_=0)
    stmt = (
        select(
            column.label("key"),
            func.count(Prompt.id).label("prompts"),
            func.coalesce(func.sum(recognised), 0).label("recognised"),
            func.coalesce(func.sum(refused), 0).label("not_recognised"),
            func.coalesce(func.sum(RecognitionDecision.fee_saved_fen), 0).label("fee_saved_fen"),
        )
        .select_from(Prompt)
        .outerjoin(RecognitionDecision, RecognitionDecision.prompt_id == Prompt.id)
        .where(*where)
        .group_by(column)
        .order_by(column)
    )
    return [dict(r._mapping) for r in session.execute(stmt)]


def reason_counts(session: Session, *, since: date, until: date) -> list[str]:
    """The reason lists of 不互认 decisions in the window."""
    return list(
        session.scalars(
            select(RecognitionDecision.reasons)
            .join(Prompt, Prompt.id == RecognitionDecision.prompt_id)
            .where(
                RecognitionDecision.decision == "不互认",
                Prompt.business_date >= since,
                Prompt.business_date <= until,
            )
        )
    )


def result_counts_by_institution(session: Session) -> dict[int, int]:
    rows = session.execute(select(Result.institution_id, func.count()).group_by(Result.institution_id))
    return {int(i): int(n) for i, n in rows}


def recognition_counts(
    session: Session, since: date, until: date
) -> list[tuple[date, int | None, int | None, int, int, int, int]]:
    """(business date, institution, department, prompts, recognised, not recognised, fee saved)
    (analytics)."""
    recognised = case((RecognitionDecision.decision == "互认", 1), else_=0)
    refused = case((RecognitionDecision.decision == "不互认", 1), else_=0)
    q = (
        select(
            Prompt.business_date,
            Prompt.institution_id,
            Prompt.department_id,
            func.count(Prompt.id),
            func.coalesce(func.sum(recognised), 0),
            func.coalesce(func.sum(refused), 0),
            func.coalesce(func.sum(RecognitionDecision.fee_saved_fen), 0),
        )
        .select_from(Prompt)
        .outerjoin(RecognitionDecision, RecognitionDecision.prompt_id == Prompt.id)
        .where(Prompt.business_date >= since, Prompt.business_date <= until)
        .group_by(Prompt.business_date, Prompt.institution_id, Prompt.department_id)
    )
    return [(r[0], r[1], r[2], int(r[3]), int(r[4]), int(r[5]), int(r[6])) for r in session.execute(q)]


# The recognition check in one round trip (PostgreSQL; issue 16). It reads the exam item, the
# patient's scope (home institution, a live access grant of the ordering institution), the receiver's and
# the sources' recognition profiles, the QA record of the item's discipline and the policy, inserts the
# access-audit row when (and only when) the reader is in scope and the item, the patient and the ordering
# institution exist (so a check that then raises has written nothing, and the statement may commit
# itself: see ``check_lookup``), and returns the candidates — all in one statement, so no reference data
# is cached (nothing to invalidate). The tables of registry and kit (patients, patient_access_grants,
# institutions, access_audit) are read or written here, past their services, for that single round
# trip; results.service mirrors the same scope rule in Python (``registry.can_read_patient``) and refuses
# when ``in_scope`` is not true.
_CHECK_ITEM: tuple[str, ...] = (
    *("code", "name", "kind", "validity_days", "price_fen", "unit", "specimen", "discipline"),
    *("modality", "body_part", "hr", "loinc"),
)
_CHECK_SOURCE: tuple[str, ...] = (
    *("s_name", "s_level", "s_grade", "s_alliance", "s_hr"),
    *("qa_passed", "qa_passed_on", "qa_expires_on"),
)
_CHECK_RESULT = tuple(c.name for c in Result.__table__.c)
CHECK_SQL = """
WITH it AS (
    SELECT {item}
    FROM results_items WHERE code = :code AND is_active
), pat AS (
    SELECT p.id,
           :may_read AND (:alliance OR p.home_institution_id = :scope_inst
                          OR EXISTS (SELECT 1 FROM patient_access_grants g
                                     WHERE g.patient_id = p.id AND g.institution_id = :scope_inst
                                       AND (g.expires_at IS NULL OR g.expires_at > :now))) AS in_scope
    FROM patients p WHERE p.id = :pid
), aud AS (
    INSERT INTO access_audit (at, user_id, username, role, institution_id, patient_id, action, resource,
                              reason, channel, ip)
    SELECT :now, :user_id, :username, :role, :actor_inst, pat.id, 'read', :resource, :reason, :channel, :ip
    FROM pat, it, institutions recv
    WHERE pat.in_scope AND recv.id = :inst
    RETURNING id
), cand AS (
    SELECT {result}, s.name AS s_name, s.level AS s_level, s.grade AS s_grade, s.alliance_id AS s_alliance,
           COALESCE(q.hr_mark, false) AS s_hr, qa.passed AS qa_passed, qa.passed_on AS qa_passed_on,
           qa.expires_on AS qa_expires_on
    FROM it
    JOIN results r ON r.patient_id = :pid AND r.item_code = it.code
         AND r.result_date >= CAST(:on AS date) - CAST(it.validity_days - 1 AS integer)
         AND r.result_date <= :on
    JOIN institutions s ON s.id = r.institution_id
    LEFT JOIN results_qualifications q ON q.institution_id = r.institution_id
    LEFT JOIN results_qa qa ON qa.institution_id = r.institution_id AND qa.discipline = it.discipline
    WHERE EXISTS (SELECT 1 FROM aud)
    ORDER BY r.result_date DESC, r.observed_at DESC, r.id DESC
    LIMIT 50
)
SELECT {it_item},
       pat.id AS pat_id, pat.in_scope,
       recv.name AS recv_name, recv.level AS recv_level, recv.grade AS recv_grade,
       recv.alliance_id AS recv_alliance, COALESCE(rq.hr_mark, false) AS recv_hr,
       (SELECT value FROM results_policy WHERE key = :policy_key) AS policy,
       {cand}
FROM (SELECT 1) AS one
LEFT JOIN it ON true
LEFT JOIN pat ON true
LEFT JOIN institutions recv ON recv.id = :inst
LEFT JOIN results_qualifications rq ON rq.institution_id = :inst
LEFT JOIN cand ON true
ORDER BY cand.result_date DESC, cand.observed_at DESC, cand.id DESC
""".format(
    item=", ".join(_CHECK_ITEM),
    result=", ".join(f"r.{c}" for c in _CHECK_RESULT),
    it_item=", ".join(f"it.{c} AS it_{c}" for c in _CHECK_ITEM),
    cand=", ".join(f"cand.{c}" for c in _CHECK_RESULT + _CHECK_SOURCE),
)
# its columns, in order (named in the statement, not taken from the tables: no per-execution names)
CHECK_COLUMNS = (
    *(f"it_{c}" for c in _CHECK_ITEM),
    *("pat_id", "in_scope", "recv_name", "recv_level", "recv_grade", "recv_alliance", "recv_hr", "policy"),
    *_CHECK_RESULT,
    *_CHECK_SOURCE,
)
CheckRow = namedtuple("CheckRow", CHECK_COLUMNS)  # type: ignore[misc]

# CHECK_SQL in psycopg's parameter style, run on the session's own connection by ``check_lookup``
_CHECK_PG = re.sub(r"(?<!:):(\w+)", r"%(\1)s", CHECK_SQL)
_CHECK_UTC_FIELDS = ("observed_at", "received_at", "reported_at")
PROMPT_COLUMNS = (
    "patient_id",
    "institution_id",
    "department_id",
    "practitioner_id",
    "item_code",
    "business_date",
    "candidate_ids",
    "created_at",
)
_PROMPT_PG = (
    f"INSERT INTO {Prompt.__tablename__} ({', '.join(PROMPT_COLUMNS)}) "
    f"VALUES ({', '.join(f'%({c})s' for c in PROMPT_COLUMNS)}) RETURNING id"
)


def check_lookup(session: Session, params: dict[str, Any], *, commit: bool = False) -> tuple[list[Any], bool]:
    """Run ``CHECK_SQL`` (PostgreSQL): one row without candidates, else one row per candidate; and
    whether the statement committed itself.

    The statement goes straight to the session's psycopg connection as a prepared statement (no
    SQLAlchemy compile, cache-key or result-processing step). Timestamps come back in UTC as
    ``UTCDateTime`` gives them. By default it runs in the session's transaction, so the audit row it
    writes is committed or rolled back with the caller's work.

    ``commit``: when the session may commit on its own (``kit.db.may_commit_alone``: it owns its
    transaction and has sent nothing in it yet), the statement runs as a transaction of its own
    (autocommit): the read and the access-audit row that records it commit together, in the
    statement's one round trip, without the transaction's BEGIN and COMMIT round trips. Returns True
    then (the caller's commit finds nothing to do). (Pipelining BEGIN, or BEGIN and COMMIT, with the
    statement was measured slower on a local socket: entering and syncing the pipeline cost more than
    the round trips it saves.)"""
    driver = driver_connection(session)
    cursor = driver.cursor(row_factory=_check_rows)
    alone = commit and may_commit_alone(session)
    with statements_alone(driver, alone):
        rows: list[Any] = cursor.execute(_CHECK_PG, params, prepare=True).fetchall()
    if rows and rows[0].id is not None:
        rows = [row._replace(**{f: _utc(getattr(row, f)) for f in _CHECK_UTC_FIELDS}) for row in rows]
    return rows, alone


def _check_rows(cursor: psycopg.Cursor[Any]) -> Callable[[Sequence[Any]], Any]:
    """psycopg's row factory of ``CHECK_SQL``: rows as ``CheckRow``, whose fields are known beforehand
    (``namedtuple_row`` reads the 50 column names of every result); the first result of a process is
    checked against them."""
    if not _CHECKED_NAMES:
        names = tuple(column.name for column in cursor.description or ())
        if names != CHECK_COLUMNS:
            raise RuntimeError(f"CHECK_SQL returned {names}, expected {CHECK_COLUMNS}")
        _CHECKED_NAMES.append(names)
    return CheckRow._make  # type: ignore[no-any-return]


_CHECKED_NAMES: list[tuple[str, ...]] = []


def _utc(value: datetime | None) -> datetime | None:
    return None if value is None else value.astimezone(UTC)


def insert_prompt(session: Session, values: dict[str, Any], *, commit: bool = False) -> int:
    """Insert a prompt row (``PROMPT_COLUMNS``) without building an ORM object; return its id.
    ``commit`` (after a ``check_lookup`` that committed itself): the row is committed by its own
    statement too (autocommit, prepared, one round trip) while the connection is idle."""
    if not (commit and may_commit_alone(session)):
        return int(session.execute(insert(Prompt).values(**values).returning(Prompt.id)).scalar_one())
    try:
        with statements_alone(driver := driver_connection(session)):
            row = driver.execute(_PROMPT_PG, values, prepare=True).fetchone()
    except psycopg.Error as exc:  # as SQLAlchemy would have raised it (e.g. a department that does not exist)
        raise DBAPIError.instance(_PROMPT_PG, values, exc, psycopg.Error) from exc
    assert row is not None
    return int(row[0])
