"""Use cases of the smart insurance audit: the rule library, pre-checks (事前/事中), audit runs
(事后), the review workflow (确认 / 剔除 / 申诉) and the Excel export. Services flush, never commit."""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
from sqlalchemy import ColumnElement
from sqlalchemy.orm import Session

from yilian.insurance.audit import repository as repo
from yilian.insurance.audit.batch import LINE_SCHEMA, BatchEngine
from yilian.insurance.audit.domain import (
    DEFAULT_LIBRARY,
    FAMILY_LABELS,
    LINE_COLUMNS,
    OPTIONAL_COLUMNS,
    SEVERITY_LABELS,
    STAGE_LABELS,
    ClaimEngine,
    ClaimLine,
    Family,
    Finding,
    Rule,
    RuleIssue,
    RuleLibrary,
    Severity,
    Stage,
    describe,
    may_appeal,
    parse_library,
)
from yilian.insurance.audit.errors import (
    ClaimFileInvalid,
    DuplicateClaimLines,
    FindingNotFound,
    ReasonRequired,
    ReviewNotAllowed,
    RuleLibraryInvalid,
    RuleLibraryNotFound,
    RunNotFound,
)
from yilian.insurance.audit.models import (
    AuditClaimLine,
    AuditFinding,
    AuditFindingEvent,
    AuditRuleLibrary,
    AuditRun,
)
from yilian.kit.access_log import record_access
from yilian.kit.auth.domain import ROLE_PERMISSIONS, Actor, Permission, Role
from yilian.kit.clock import utcnow
from yilian.kit.db import insert_rows, table_of
from yilian.kit.errors import Forbidden, found
from yilian.registry import service as registry

RULES_DIR = DEFAULT_LIBRARY.parent
STATUS_LABELS = {"open": "待审核", "confirmed": "已确认违规", "dismissed": "已剔除", "appealed": "科室申诉中"}


def office_actor(username: str = "cli") -> Actor:
    """The insurance office acting from the command line or a job (demo seeding)."""
    return Actor(
        user_id=None,
        username=username,
        role=Role.INSURANCE_OFFICER,
        display_name="医保审核（命令行）",
        permissions=ROLE_PERMISSIONS[Role.INSURANCE_OFFICER] | {Permission.CLAIMS_APPEAL},
        channel="cli",
    )


# ---------------------------------------------------------------------------------------------------
# Rule library


def validate_text(text: str) -> tuple[RuleLibrary | None, list[RuleIssue]]:
    """Validate library YAML (price files resolve against the shipped ``rules/`` folder)."""
    return parse_library(text, RULES_DIR)


_parsed: dict[str, RuleLibrary] = {}


def _parse_cached(text: str) -> RuleLibrary:
    lib = _parsed.get(text)
    if lib is None:
        parsed, issues = validate_text(text)
        if parsed is None:
            raise RuleLibraryInvalid("; ".join(str(i) for i in issues))
        lib = _parsed[text] = parsed
    return lib


def shipped_text() -> str:
    return DEFAULT_LIBRARY.read_text(encoding="utf-8")


def active_library(session: Session) -> RuleLibrary:
    """The active library version, or the shipped default when none has been saved."""
    row = repo.active_library(session)
    return _parse_cached(row.text if row else shipped_text())


def active_text(session: Session) -> str:
    row = repo.active_library(session)
    return row.text if row else shipped_text()


def list_libraries(session: Session) -> Sequence[AuditRuleLibrary]:
    return repo.list_libraries(session)


def save_library(session: Session, actor: Actor, text: str, *, activate: bool = True) -> AuditRuleLibrary:
    """Validate and store a new library version; by default it becomes the active one."""
    if not actor.has(Permission.CLAIMS_RULES):
        raise Forbidden("没有维护审核规则库的权限")
    lib, issues = validate_text(text)
    if lib is None:
        raise RuleLibraryInvalid("; ".join(str(i) for i in issues), issues=[str(i) for i in issues])
    if repo.library_by_version(session, lib.version) is not None:
        raise RuleLibraryInvalid(f"规则库版本 {lib.version} 已存在，请修改 version")
    if activate:
        repo.deactivate_libraries(session)
    row = AuditRuleLibrary(
        version=lib.version,
        name=lib.name,
        text=text,
        active=activate,
        created_at=utcnow(),
        created_by=actor.username,
    )
    repo.add(session, row)
    return row


def activate_library(session: Session, actor: Actor, version: str) -> AuditRuleLibrary:
    if not actor.has(Permission.CLAIMS_RULES):
        raise Forbidden("没有维护审核规则库的权限")
    row = found(repo.library_by_version(session, version), RuleLibraryNotFound(f"版本 {version}"))
    repo.deactivate_libraries(session)
    row.active = True
    session.flush()
    return row


def catalogue_price(library: RuleLibrary, code: str) -> int:
    """The catalogue price (fen) of an item in the library's price rules, 0 when not listed."""
    for rule in library.rules:
        if rule.family == Family.PRICE and code in rule.params["prices"]:
            return int(rule.params["prices"][code])
    return 0


# ---------------------------------------------------------------------------------------------------
# Pre-check (事前 / 事中): the function order entry calls


@dataclass(frozen=True)
class FindingView:
    rule_id: str
    family: str
    family_label: str
    severity: str
    severity_label: str
    stage: str
    claim_id: str
    lines: tuple[int, ...]
    related: tuple[str, ...]
    amount: int
    value: str
    text: str


_engines: dict[tuple[int, Stage | None], ClaimEngine] = {}


def claim_engine(library: RuleLibrary, stage: Stage | None) -> ClaimEngine:
    key = (id(library), stage)
    engine = _engines.get(key)
    if engine is None:
        if len(_engines) > 16:
            _engines.clear()
        engine = _engines[key] = ClaimEngine(library, stage)
    return engine


def view(rule: Rule, finding: Finding, stage: Stage | None) -> FindingView:
    chosen = stage or (Stage.POST if Stage.POST in rule.stages else sorted(rule.stages)[0])
    return FindingView(
        rule_id=rule.id,
        family=rule.family.value,
        family_label=FAMILY_LABELS[rule.family],
        severity=rule.severity.value,
        severity_label=SEVERITY_LABELS[rule.severity],
        stage=chosen.value,
        claim_id=finding.claim_id,
        lines=finding.lines,
        related=finding.related,
        amount=finding.amount,
        value=finding.value,
        text=describe(rule, finding),
    )


def precheck(
    lines: Sequence[ClaimLine],
    *,
    history: Sequence[ClaimLine] = (),
    stage: Stage = Stage.PRE,
    library: RuleLibrary | None = None,
) -> list[FindingView]:
    """Check one order or one visit's bill (all ``lines`` of one claim) before it is placed or settled.

    ``history`` holds the patient's earlier claim lines (for duplicate billing and readmission).
    Pure apart from the cached engine; uses the shipped library when ``library`` is None.
    """
    lib = library or _parse_cached(shipped_text())
    engine = claim_engine(lib, stage)
    rules = engine.rules
    return [view(rules[f.rule_id], f, stage) for f in engine.check(lines, history)]


def precheck_for(
    session: Session,
    actor: Actor,
    lines: Sequence[ClaimLine],
    *,
    history: Sequence[ClaimLine] = (),
    stage: Stage = Stage.PRE,
) -> list[FindingView]:
    """The pre-check with the active library, the permission check and the access audit."""
    if not actor.has(Permission.CLAIMS_PRECHECK):
        raise Forbidden("没有医保事前审核的权限")
    if lines:
        record_access(session, actor, action="audit_precheck", resource=f"claim:{lines[0].claim_id}")
    return precheck(lines, history=history, stage=stage, library=active_library(session))


# ---------------------------------------------------------------------------------------------------
# Claim files and stored claim lines

REQUIRED_COLUMNS = tuple(c for c in LINE_COLUMNS if c not in OPTIONAL_COLUMNS)
CLAIM_FILE_LAYOUT = ", ".join(REQUIRED_COLUMNS) + "，可选 " + ", ".join(sorted(OPTIONAL_COLUMNS))
_TYPES = {
    "line_id": "BIGINT",
    "claim_id": "VARCHAR",
    "patient_id": "VARCHAR",
    "sex": "VARCHAR",
    "age": "INTEGER",
    "scheme": "VARCHAR",
    "level": "INTEGER",
    "setting": "VARCHAR",
    "diagnosis": "VARCHAR",
    "admit_date": "DATE",
    "discharge_date": "DATE",
    "service_date": "DATE",
    "item_code": "VARCHAR",
    "quantity": "INTEGER",
    "unit_price": "BIGINT",
    "amount": "BIGINT",
    "department": "VARCHAR",
}


def load_claim_file(con: duckdb.DuckDBPyConnection, path: Path, name: str) -> int:
    """Create view ``name`` over a CSV or Parquet claims file with the documented layout."""
    if not path.is_file():
        raise ClaimFileInvalid(f"文件不存在: {path}")
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        src = f"read_parquet('{_quote(path)}')"
    elif suffix == ".csv":
        with path.open(encoding="utf-8-sig") as fh:
            header = [h.strip() for h in fh.readline().strip().split(",")]
        missing = [c for c in REQUIRED_COLUMNS if c not in header]
        if missing:
            raise ClaimFileInvalid(f"缺少列: {', '.join(missing)}（应有 {CLAIM_FILE_LAYOUT}）")
        # columns by position, so in the file's order; columns the layout does not know are read as text
        types = ", ".join(f"'{_quote_sql(h)}': '{_TYPES.get(h, 'VARCHAR')}'" for h in header)
        src = f"read_csv('{_quote(path)}', header = true, columns = {{{types}}})"
    else:
        raise ClaimFileInvalid("只支持 .csv 与 .parquet 文件")
    try:
        have = {r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {src}").fetchall()}
        missing = [c for c in REQUIRED_COLUMNS if c not in have]
        if missing:
            raise ClaimFileInvalid(f"缺少列: {', '.join(missing)}（应有 {CLAIM_FILE_LAYOUT}）")
        cols = ", ".join(
            f"CAST({c} AS {_TYPES[c]}) AS {c}"
            if c not in OPTIONAL_COLUMNS
            else (f"coalesce(trim(CAST({c} AS VARCHAR)), '') AS {c}" if c in have else f"'' AS {c}")
            for c in LINE_COLUMNS
        )
        con.execute(f"CREATE OR REPLACE VIEW {name} AS SELECT {cols} FROM {src}").fetchall()
        bad = con.execute(
            f"SELECT count(*) FROM {name} WHERE sex NOT IN ('M','F') OR quantity < 1 OR unit_price < 0 "
            "OR setting NOT IN ('outpatient','inpatient') OR line_id IS NULL OR claim_id IS NULL"
        ).fetchall()[0]
        long_dept = con.execute(f"SELECT count(*) FROM {name} WHERE length(department) > 32").fetchall()[0]
    except duckdb.Error as exc:
        raise ClaimFileInvalid(str(exc).splitlines()[0]) from exc
    if bad and bad[0]:
        raise ClaimFileInvalid(f"{bad[0]} 行的性别、数量、单价或就医方式不合法")
    if long_dept and long_dept[0]:
        raise ClaimFileInvalid(f"{long_dept[0]} 行的科室编码超过 32 个字符")
    row = con.execute(f"SELECT count(*) FROM {name}").fetchall()[0]
    return int(row[0]) if row else 0


def _quote(path: Path) -> str:
    return str(path).replace("'", "''")


def _quote_sql(text: str) -> str:
    return text.replace("'", "''")


def import_claim_file(session: Session, actor: Actor, path: Path) -> int:
    """Store the lines of a claims file (lines already stored, by line_id, are skipped)."""
    if not actor.has(Permission.CLAIMS_AUDIT):
        raise Forbidden("没有医保事后审核的权限")
    con = duckdb.connect()
    try:
        load_claim_file(con, path, "incoming")
        table = con.sql("SELECT * FROM incoming").to_arrow_table()
    finally:
        con.close()
    rows = table.to_pylist()
    known = repo.existing_line_ids(session, [r["line_id"] for r in rows])
    fresh = [{**r, "source": path.name[:100]} for r in rows if r["line_id"] not in known]
    for start in range(0, len(fresh), 5000):
        repo.insert_lines(session, fresh[start : start + 5000])
    session.flush()
    return len(fresh)


def store_lines(session: Session, lines: Sequence[ClaimLine], source: str = "") -> int:
    """Store claim lines (the hook through which settled bills will be fed in)."""
    return store_bills(session, [(source, lines)])


def store_bills(session: Session, bills: Sequence[tuple[str, Sequence[ClaimLine]]]) -> int:
    """Store the claim lines of many settled bills (source, lines) in one statement batch."""
    rows = [
        {**{c: getattr(line, c) for c in LINE_COLUMNS}, "source": source}
        for source, lines in bills
        for line in lines
    ]
    insert_rows(session, table_of(AuditClaimLine), rows)
    session.flush()
    return len(rows)


def store_new_lines(session: Session, lines: Sequence[ClaimLine], source: str = "") -> int:
    """Store claim lines sent over the API: a line id repeated in the request or already stored is
    refused (409) and nothing is stored."""
    ids = [line.line_id for line in lines]
    repeated = sorted(i for i, n in Counter(ids).items() if n > 1)
    stored = sorted(repo.existing_line_ids(session, ids))
    if repeated or stored:
        parts = [f"请求内重复: {repeated[:10]}"] if repeated else []
        parts += [f"已存在: {stored[:10]}"] if stored else []
        raise DuplicateClaimLines("明细流水号（line_id）须唯一，" + "；".join(parts))
    return store_lines(session, lines, source)


def withdraw_lines(session: Session, source: str) -> int:
    """Remove the stored lines of one source (a reversed settlement's bill); returns how many."""
    removed = repo.delete_lines_of_source(session, source)
    session.flush()
    return removed


# ---------------------------------------------------------------------------------------------------
# Audit runs (事后审核)


def run_audit(
    session: Session,
    actor: Actor,
    date_from: date,
    date_to: date,
    *,
    files: Sequence[Path] = (),
    include_stored: bool = True,
    progress: Callable[[int, str], None] | None = None,
) -> AuditRun:
    """Audit the stored claim lines and ``files`` whose service date lies in the period; store findings."""
    if not actor.has(Permission.CLAIMS_AUDIT):
        raise Forbidden("没有医保事后审核的权限")
    if date_from > date_to:
        raise ClaimFileInvalid("开始日期晚于结束日期")
    library = active_library(session)
    con = duckdb.connect()
    try:
        parts = []
        if include_stored:
            con.register(
                "stored", pa.table(repo.line_columns(session, date_from, date_to), schema=LINE_SCHEMA)
            )
            parts.append("SELECT * FROM stored")
        for n, path in enumerate(files):
            load_claim_file(con, path, f"file{n}")
            parts.append(f"SELECT * FROM file{n}")
        if not parts:
            raise ClaimFileInvalid("没有可审核的数据")
        union = " UNION ALL ".join(parts)
        con.execute(
            f"CREATE TABLE claim_lines AS SELECT * FROM ({union}) WHERE service_date BETWEEN ? AND ?",
            [date_from, date_to],
        ).fetchall()
        scanned_row = con.execute("SELECT count(*) FROM claim_lines").fetchall()[0]
        scanned = int(scanned_row[0]) if scanned_row else 0
        run = AuditRun(
            date_from=date_from,
            date_to=date_to,
            source=", ".join(["已存储明细"] * include_stored + [p.name for p in files])[:200],
            library_version=library.version,
            lines_scanned=scanned,
            started_at=utcnow(),
            started_by=actor.username,
        )
        repo.add(session, run)
        engine = BatchEngine(library, Stage.POST)

        def step(name: str, n: int, total: int) -> None:
            if progress:
                progress(int(90 * n / total), name)

        found = engine.run_arrow(con, "claim_lines", step)
        rows = _finding_rows(con, library, found, run.id)
    finally:
        con.close()
    _finish_run(session, actor, run, rows)
    if progress:
        progress(100, "done")
    return run


def _finish_run(session: Session, actor: Actor, run: AuditRun, rows: list[dict[str, Any]]) -> None:
    departments = [r.pop("departments") for r in rows]
    ids = repo.insert_findings(session, rows)
    repo.insert_finding_departments(
        session,
        [{"finding_id": i, "department": d} for i, ds in zip(ids, departments, strict=True) for d in ds],
    )
    run.findings_count = len(rows)
    run.amount_total = sum(r["amount"] for r in rows)
    by_family: dict[str, int] = {}
    for r in rows:
        by_family[r["family"]] = by_family.get(r["family"], 0) + 1
    run.stats = {"by_family": by_family}
    run.status = "done"
    run.progress = 100
    run.finished_at = utcnow()
    session.flush()
    record_access(session, actor, action="audit_run", resource=f"audit_run:{run.id}")


def load_external_run(
    session: Session,
    actor: Actor,
    library: RuleLibrary,
    found: pa.Table,
    flagged_lines: pa.Table,
    *,
    date_from: date,
    date_to: date,
    lines_scanned: int,
    source: str,
) -> AuditRun:
    """Store the findings of an audit run elsewhere (on Spark) as one audit run in the review workflow.

    ``found`` has the columns of ``batch.FINDING_SCHEMA``; ``flagged_lines`` are the claim lines of
    the claims with findings (the evidence shown to reviewers), columns of ``LINE_SCHEMA``."""
    if not actor.has(Permission.CLAIMS_AUDIT):
        raise Forbidden("没有医保事后审核的权限")
    run = AuditRun(
        date_from=date_from,
        date_to=date_to,
        source=source[:200],
        library_version=library.version,
        lines_scanned=lines_scanned,
        started_at=utcnow(),
        started_by=actor.username,
    )
    repo.add(session, run)
    con = duckdb.connect()
    try:
        con.register("claim_lines", flagged_lines)
        rows = _finding_rows(con, library, found, run.id)
    finally:
        con.close()
    _finish_run(session, actor, run, rows)
    return run


def _finding_rows(
    con: duckdb.DuckDBPyConnection, library: RuleLibrary, found: pa.Table, run_id: int
) -> list[dict[str, Any]]:
    """Finding rows with the claim's patient, the first service date and the evidence lines."""
    con.register("found", found)
    detail = con.sql(
        """
WITH f AS (SELECT row_number() OVER () AS n, * FROM found),
ev AS (
  SELECT f.n, list({'line_id': l.line_id, 'item_code': l.item_code,
    'service_date': CAST(l.service_date AS VARCHAR),
    'quantity': l.quantity, 'unit_price': l.unit_price, 'amount': l.amount,
    'department': l.department} ORDER BY l.line_id) AS lines
  FROM f, unnest(f.lines) AS u(line_id) JOIN claim_lines l ON l.line_id = u.line_id GROUP BY f.n
),
c AS (
  SELECT claim_id, any_value(patient_id) AS patient_id, min(service_date) AS first_date,
    any_value(diagnosis) AS diagnosis, any_value(setting) AS setting,
    list(DISTINCT department) FILTER (WHERE department <> '') AS departments
  FROM claim_lines WHERE claim_id IN (SELECT claim_id FROM found) GROUP BY claim_id
)
SELECT f.*, c.patient_id, c.first_date, c.diagnosis, c.setting, c.departments, ev.lines AS evidence
FROM f LEFT JOIN c USING (claim_id) LEFT JOIN ev USING (n) ORDER BY f.n
"""
    ).to_arrow_table()
    rules = library.by_id()
    now = utcnow()
    out = []
    for r in detail.to_pylist():
        rule = rules[r["rule_id"]]
        finding = Finding(
            r["rule_id"], r["claim_id"], tuple(r["lines"]), tuple(r["related"]), r["amount"], r["value"]
        )
        evidence = r["evidence"] or []
        # the departments of the involved lines; a claim-level finding (no lines) concerns the whole claim
        departments = (
            {e["department"] for e in evidence if e["department"]}
            if finding.lines
            else r["departments"] or []
        )
        out.append(
            {
                "run_id": run_id,
                "rule_id": rule.id,
                "family": rule.family.value,
                "severity": rule.severity.value,
                "claim_id": finding.claim_id,
                "patient_id": r["patient_id"] or "",
                "service_date": r["first_date"],
                "lines": list(finding.lines),
                "related": list(finding.related),
                "evidence": {
                    "lines": evidence,
                    "diagnosis": r["diagnosis"],
                    "setting": r["setting"],
                    "value": finding.value,
                    "params": {k: v for k, v in rule.params.items() if k != "prices"},
                },
                "amount": finding.amount,
                "value": finding.value[:200],
                "text": describe(rule, finding)[:500],
                "status": "open",
                "reason": "",
                "updated_at": now,
                "departments": sorted(departments),
            }
        )
    return out


def get_run(session: Session, run_id: int) -> AuditRun:
    return found(repo.get_run(session, run_id), RunNotFound(f"批次 {run_id}"))


def list_runs(session: Session, offset: int = 0, limit: int = 20) -> tuple[list[AuditRun], int]:
    return repo.list_runs(session, offset, limit)


# ---------------------------------------------------------------------------------------------------
# Findings and review (确认 / 剔除 / 申诉)


def findings_scope(session: Session, actor: Actor) -> ColumnElement[bool] | None:
    """Which findings ``actor`` sees (None: all). The administrator and an insurance office tied to no
    institution (the city's, the command line) see every finding; a hospital's insurance office those of
    its institution and of claim files with bare department codes; a doctor those of their institution,
    of their departments (bare codes compare by code, as for appeals) — and, everyone, findings without
    a department (older claim files)."""
    if actor.institution_id is None and (actor.role is Role.ADMIN or actor.has(Permission.CLAIMS_AUDIT)):
        return None
    prefix = None
    if actor.institution_id is not None:
        prefix = qualified_department(registry.get_institution(session, actor.institution_id).code, "")
    office = actor.has(Permission.CLAIMS_AUDIT)
    departments = frozenset() if office else appeal_departments(session, actor) or frozenset()
    return repo.findings_scope_clause(institution_prefix=prefix, departments=departments, bare=office)


def list_findings(
    session: Session,
    actor: Actor,
    run_id: int | None,
    *,
    offset: int = 0,
    limit: int = 50,
    **filters: str | None,
) -> tuple[list[AuditFinding], int]:
    if not (actor.has(Permission.CLAIMS_AUDIT) or actor.has(Permission.CLAIMS_APPEAL)):
        raise Forbidden("没有查看医保审核疑点的权限")
    scope = findings_scope(session, actor)
    rows, total = repo.list_findings(
        session, repo.findings_query(run_id, scope=scope, **filters), offset, limit
    )
    record_access(session, actor, action="audit_findings", resource=f"audit_run:{run_id or '*'}")
    return rows, total


def run_departments(session: Session, run_id: int) -> list[str]:
    """The department codes (科室编码) the findings of a run involve (the page's department filter)."""
    return repo.run_departments(session, run_id)


def get_finding(session: Session, actor: Actor, finding_id: int) -> AuditFinding:
    if not (actor.has(Permission.CLAIMS_AUDIT) or actor.has(Permission.CLAIMS_APPEAL)):
        raise Forbidden("没有查看医保审核疑点的权限")
    row = found(
        repo.get_finding(session, finding_id, scope=findings_scope(session, actor)),
        FindingNotFound(f"疑点 {finding_id}"),
    )
    record_access(session, actor, action="audit_finding", resource=f"audit_finding:{finding_id}")
    return row


def finding_trail(session: Session, finding_id: int) -> Sequence[AuditFindingEvent]:
    return repo.finding_events(session, finding_id)


# action -> (permission, statuses it may start from, resulting status, reason required)
TRANSITIONS: dict[str, tuple[Permission, frozenset[str], str, bool]] = {
    "confirm": (Permission.CLAIMS_AUDIT, frozenset({"open", "appealed"}), "confirmed", False),
    "dismiss": (Permission.CLAIMS_AUDIT, frozenset({"open", "appealed"}), "dismissed", True),
    "appeal": (Permission.CLAIMS_APPEAL, frozenset({"open", "confirmed"}), "appealed", True),
}
ACTION_LABELS = {"confirm": "确认违规", "dismiss": "剔除", "appeal": "科室申诉"}


def qualified_department(institution_code: str, department_code: str) -> str:
    """``NTGH/NK01``: a department code made unique across the alliance by its institution's code, as the
    platform's own settled bills carry it (claim files from one hospital may carry the bare code)."""
    return f"{institution_code}/{department_code}"


def appeal_departments(session: Session, actor: Actor) -> frozenset[str] | None:
    """The department codes (科室编码) an actor appeals for, bare and qualified by the institution; None
    when they may appeal for every department.

    A practitioner appeals for the departments they work in. Without a practitioner, the insurance
    office (CLAIMS_AUDIT, e.g. recording a department's paper appeal) appeals for every department;
    any other account is tied to no department and appeals only findings whose lines carry none.
    """
    if actor.practitioner_id is not None:
        practitioner = registry.get_practitioner(session, actor.practitioner_id)
        (read,) = registry.practitioner_reads(session, [practitioner])
        codes: set[str] = set()
        for department_id in read.department_ids:
            dept = registry.get_department(session, department_id)
            institution = registry.get_institution(session, dept.institution_id)
            codes |= {dept.code, qualified_department(institution.code, dept.code)}
        return frozenset(codes)
    if actor.has(Permission.CLAIMS_AUDIT):
        return None
    return frozenset()


def can_appeal(finding: AuditFinding, own_departments: frozenset[str] | None) -> bool:
    """Tell whether a finding may be appealed now by someone of ``own_departments``."""
    return finding.status in TRANSITIONS["appeal"][1] and may_appeal(finding.departments, own_departments)


def review(session: Session, actor: Actor, finding_id: int, action: str, reason: str = "") -> AuditFinding:
    """Move a finding through the review workflow and write the trail."""
    if action not in TRANSITIONS:
        raise ReviewNotAllowed(f"未知操作 {action}")
    permission, sources, target, needs_reason = TRANSITIONS[action]
    if not actor.has(permission):
        raise Forbidden(f"没有「{ACTION_LABELS[action]}」的权限")
    reason = reason.strip()
    if needs_reason and not reason:
        raise ReasonRequired(f"「{ACTION_LABELS[action]}」需要填写理由")
    row = found(
        repo.get_finding(session, finding_id, lock=True, scope=findings_scope(session, actor)),
        FindingNotFound(f"疑点 {finding_id}"),
    )
    if row.status not in sources:
        raise ReviewNotAllowed(f"疑点当前为「{STATUS_LABELS[row.status]}」，不能{ACTION_LABELS[action]}")
    if action == "appeal":
        own = appeal_departments(session, actor)
        if not may_appeal(row.departments, own):
            if actor.practitioner_id is None:
                raise Forbidden("账号未关联科室医生，只能申诉未标明科室的疑点")
            raise Forbidden(f"只能申诉本科室的疑点（该疑点属于科室 {'、'.join(row.departments)}）")
    event = AuditFindingEvent(
        finding_id=row.id,
        at=utcnow(),
        username=actor.username,
        action=action,
        from_status=row.status,
        to_status=target,
        reason=reason[:500],
    )
    row.status = target
    row.reason = reason[:500]
    row.updated_at = event.at
    repo.add(session, event)
    return row


def export_xlsx(session: Session, actor: Actor, run_id: int) -> bytes:
    """The findings of a run as an Excel workbook (疑点清单)."""
    from openpyxl import Workbook

    run = get_run(session, run_id)
    if not actor.has(Permission.CLAIMS_AUDIT):
        raise Forbidden("没有导出医保审核结果的权限")
    record_access(session, actor, action="audit_export", resource=f"audit_run:{run_id}")
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "疑点清单"
    ws.append(
        [
            "疑点编号",
            "规则编号",
            "规则类别",
            "违规程度",
            "结算单号",
            "患者",
            "科室",
            "日期",
            "违规内容",
            "违规金额（元）",
            "涉及明细",
            "状态",
            "理由",
        ]
    )
    for f in repo.all_findings(session, repo.findings_query(run_id, scope=findings_scope(session, actor))):
        ws.append(
            [
                f.id,
                f.rule_id,
                FAMILY_LABELS[Family(f.family)],
                SEVERITY_LABELS[Severity(f.severity)],
                f.claim_id,
                f.patient_id,
                "、".join(f.departments),
                f.service_date.isoformat() if f.service_date else "",
                f.text,
                f.amount / 100,
                ",".join(map(str, f.lines or f.related)),
                STATUS_LABELS.get(f.status, f.status),
                f.reason,
            ]
        )
    summary = wb.create_sheet("批次信息")
    for k, v in [
        ("批次", run.id),
        ("期间", f"{run.date_from} 至 {run.date_to}"),
        ("规则库版本", run.library_version),
        ("审核明细行数", run.lines_scanned),
        ("疑点数", run.findings_count),
        ("疑点金额（元）", run.amount_total / 100),
    ]:
        summary.append([k, v])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


__all__ = ["STAGE_LABELS", "FindingView", "precheck", "precheck_for", "run_audit", "review"]


def finding_totals(session: Session, start: date, end: date) -> list[tuple[date | None, str, int, int]]:
    """Bulk read for analytics: audit findings (智能审核) and their amounts by service date and status."""
    return repo.finding_totals(session, start, end)
