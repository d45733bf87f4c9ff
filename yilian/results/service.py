"""Use cases of the results area: catalogue and code equivalence, qualification and policy, ingest,
look-up, recognition at ordering (重复开单提醒) and its indicators. Services flush, never commit."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from yilian.kit import events
from yilian.kit.access_log import record_access
from yilian.kit.auth.domain import Actor, Permission, Role, require_permission
from yilian.kit.clock import business_date, utcnow
from yilian.kit.errors import Forbidden, YilianError, found
from yilian.registry import service as registry
from yilian.registry.domain import ConsentScope, rank_label
from yilian.results import domain, fhir, hl7, imaging, recognition_rules
from yilian.results import repository as repo
from yilian.results.domain import (
    Decision,
    IncomingResult,
    ItemKind,
    NonRecognitionReason,
    ResultStatus,
)
from yilian.results.errors import (
    AlreadyDecided,
    BadMessage,
    IdentityMismatch,
    InvalidDecision,
    InvalidImport,
    InvalidPolicy,
    PromptNotFound,
    ResultAccessDenied,
    ResultNotFound,
    UnknownInstitution,
    UnknownItem,
    UnknownLocalCode,
    UnknownPatient,
)
from yilian.results.models import (
    CodeMap,
    ExamItem,
    Policy,
    QaRecord,
    Qualification,
    RecognitionDecision,
)
from yilian.results.models import Result as Result  # re-exported for other areas' annotations
from yilian.results.recognition_rules import (
    Assessment,
    CandidateResult,
    InstitutionProfile,
    RecognitionPolicy,
)

POLICY_KEY = "recognition"
RESULT_SCOPES = (ConsentScope.COMPANION_RESULTS, ConsentScope.VIEW_RECORD)


# ---------------------------------------------------------------- catalogue and code equivalence


_ITEM_FIELDS = tuple(f.name for f in dataclasses.fields(domain.ExamItem) if f.name != "kind")


def to_domain_item(row: Any, prefix: str = "") -> domain.ExamItem:
    """Return the pure form of a catalogue row (or of a result row whose item columns carry ``prefix``)."""
    values = {name: getattr(row, prefix + name) for name in _ITEM_FIELDS}
    return domain.ExamItem(kind=ItemKind(getattr(row, prefix + "kind")), **values)


def list_items(session: Session, *, kind: ItemKind | None = None) -> Sequence[ExamItem]:
    """Return the active recognisable items (lab first, then imaging)."""
    return repo.items(session, kind=kind.value if kind else None)


def get_item(session: Session, code: str) -> ExamItem:
    """Return a exam item by regional code."""
    row = repo.item_by_code(session, code)
    if row is None or not row.is_active:
        raise UnknownItem(f"互认项目不存在: {code}")
    return row


def update_item(
    session: Session,
    actor: Actor,
    code: str,
    *,
    validity_days: int | None = None,
    price_fen: int | None = None,
    hr: bool | None = None,
) -> ExamItem:
    """Change an item's validity, price (fen) or HR mark (policy data)."""
    require_permission(actor, Permission.RESULTS_QUALIFY)
    row = get_item(session, code)
    if validity_days is not None:
        if not 1 <= validity_days <= 3650:
            raise InvalidPolicy("有效期须在 1–3650 天之间")
        row.validity_days = validity_days
    if price_fen is not None:
        if price_fen < 0:
            raise InvalidPolicy("价格不能为负")
        row.price_fen = price_fen
    if hr is not None:
        row.hr = hr
    session.flush()
    return row


def add_code_map(
    session: Session,
    actor: Actor,
    *,
    institution_id: int,
    local_code: str,
    item_code: str,
    local_name: str = "",
) -> CodeMap:
    """Declare an institution's local code equivalent to a regional item (replaces an earlier mapping)."""
    require_permission(actor, Permission.RESULTS_QUALIFY)
    registry.get_institution(session, institution_id)
    get_item(session, item_code)
    local_code = local_code.strip()
    if not local_code:
        raise InvalidImport("本地代码不能为空")
    row = repo.code_map(session, institution_id, local_code)
    if row is None:
        row = CodeMap(
            institution_id=institution_id, local_code=local_code, local_name=local_name, item_code=item_code
        )
        session.add(row)
    else:
        row.item_code, row.local_name = item_code, local_name or row.local_name
    session.flush()
    return row


CODE_MAP_COLUMNS = ("institution_code", "local_code", "local_name", "item_code")


@dataclass
class ImportReport:
    rows: int = 0
    created: int = 0
    updated: int = 0
    errors: list[str] = field(default_factory=list)


def import_code_maps(session: Session, actor: Actor, text: str) -> ImportReport:
    """Import local-code ↔ regional-code equivalences from CSV (institution_code, local_code, local_name,
    item_code); all or nothing: any bad row rejects the file with every error listed."""
    require_permission(actor, Permission.RESULTS_QUALIFY)
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    missing = [c for c in CODE_MAP_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise InvalidImport(f"缺少列: {', '.join(missing)}", errors=[f"缺少列: {', '.join(missing)}"])
    institutions = {i.code: i.id for i in registry.list_institutions(session, limit=10_000)[0]}
    items = {i.code for i in list_items(session)}
    report = ImportReport()
    parsed: list[tuple[int, str, str, str]] = []
    seen: set[tuple[int, str]] = set()
    for n, row in enumerate(reader, start=2):
        report.rows += 1
        inst = institutions.get((row.get("institution_code") or "").strip())
        local = (row.get("local_code") or "").strip()
        item = (row.get("item_code") or "").strip()
        if inst is None:
            report.errors.append(f"第 {n} 行: 机构编码不存在 {row.get('institution_code')!r}")
            continue
        if not local:
            report.errors.append(f"第 {n} 行: 本地代码为空")
            continue
        if item not in items:
            report.errors.append(f"第 {n} 行: 区域项目代码不存在 {item!r}")
            continue
        if (inst, local) in seen:
            report.errors.append(f"第 {n} 行: 本地代码重复 {local!r}")
            continue
        seen.add((inst, local))
        parsed.append((inst, local, (row.get("local_name") or "").strip()[:60], item))
    if report.errors:
        raise InvalidImport(f"{len(report.errors)} 行有错误，未导入任何数据", errors=report.errors)
    for inst, local, name, item in parsed:
        existing = repo.code_map(session, inst, local)
        if existing is None:
            session.add(CodeMap(institution_id=inst, local_code=local, local_name=name, item_code=item))
            report.created += 1
        else:
            existing.item_code, existing.local_name = item, name or existing.local_name
            report.updated += 1
    session.flush()
    return report


def list_code_maps(session: Session, institution_id: int | None = None) -> Sequence[CodeMap]:
    return repo.code_maps(session, institution_id)


# ---------------------------------------------------------------- qualification and policy


def get_policy(session: Session) -> RecognitionPolicy:
    """Return the recognition policy in force (the seeded Jiangsu defaults unless changed)."""
    row = repo.policy(session, POLICY_KEY)
    return RecognitionPolicy.from_dict(json.loads(row.value)) if row else RecognitionPolicy()


def set_policy(session: Session, actor: Actor, data: dict[str, Any]) -> RecognitionPolicy:
    """Replace the recognition policy (matrix by tier, alliance rule, QA and HR requirements)."""
    require_permission(actor, Permission.RESULTS_QUALIFY)
    try:
        policy = RecognitionPolicy.from_dict(data)
    except (ValueError, TypeError, AttributeError) as exc:
        raise InvalidPolicy(str(exc)) from exc
    row = repo.policy(session, POLICY_KEY)
    value = json.dumps(policy.to_dict(), ensure_ascii=False)
    if row is None:
        session.add(Policy(key=POLICY_KEY, value=value, updated_at=utcnow()))
    else:
        row.value, row.updated_at = value, utcnow()
    session.flush()
    return policy


def set_hr_mark(session: Session, actor: Actor, institution_id: int, hr_mark: bool) -> Qualification:
    """Give or take an institution's HR recognition mark."""
    require_permission(actor, Permission.RESULTS_QUALIFY)
    registry.get_institution(session, institution_id)
    row = repo.qualification(session, institution_id)
    if row is None:
        row = Qualification(institution_id=institution_id, hr_mark=hr_mark, updated_at=utcnow())
        session.add(row)
    else:
        row.hr_mark, row.updated_at = hr_mark, utcnow()
    session.flush()
    return row


def set_qa(
    session: Session,
    actor: Actor,
    *,
    institution_id: int,
    discipline: str,
    passed: bool,
    passed_on: date,
    expires_on: date,
) -> QaRecord:
    """Record an external quality assessment (室间质评) result of one lab discipline."""
    require_permission(actor, Permission.RESULTS_QUALIFY)
    registry.get_institution(session, institution_id)
    discipline = discipline.strip()
    if not discipline:
        raise InvalidPolicy("专业不能为空")
    if expires_on < passed_on:
        raise InvalidPolicy("有效期截止日不能早于通过日期")
    row = repo.qa_record(session, institution_id, discipline)
    if row is None:
        row = QaRecord(
            institution_id=institution_id,
            discipline=discipline,
            passed=passed,
            passed_on=passed_on,
            expires_on=expires_on,
        )
        session.add(row)
    else:
        row.passed, row.passed_on, row.expires_on = passed, passed_on, expires_on
    session.flush()
    return row


def qualification_overview(session: Session) -> list[dict[str, Any]]:
    """Return every institution with its tier, HR mark and QA records (for the admin page and API)."""
    institutions, _ = registry.list_institutions(session, limit=10_000)
    marks = {q.institution_id: q.hr_mark for q in repo.qualifications(session)}
    qa: dict[int, list[QaRecord]] = {}
    for r in repo.qa_records(session):
        qa.setdefault(r.institution_id, []).append(r)
    today = business_date()
    return [
        {
            "institution_id": i.id,
            "code": i.code,
            "name": i.name,
            "rank_label": rank_label(i.level, i.grade, i.category),
            "tier": recognition_rules.tier_of(i.level, i.grade).value,
            "tier_label": recognition_rules.tier_of(i.level, i.grade).label,
            "alliance_id": i.alliance_id,
            "hr_mark": marks.get(i.id, False),
            "qa": [
                {
                    "discipline": r.discipline,
                    "passed": r.passed,
                    "passed_on": r.passed_on,
                    "expires_on": r.expires_on,
                    "valid_today": recognition_rules.QaRecord(
                        r.discipline, r.passed_on, r.expires_on, r.passed
                    ).valid_on(today),
                }
                for r in qa.get(i.id, [])
            ],
        }
        for i in institutions
    ]


def _profiles(session: Session, institution_ids: Sequence[int]) -> dict[int, InstitutionProfile]:
    """Recognition profiles of institutions: two queries whatever their number (institutions, HR marks)."""
    ids = sorted(set(institution_ids))
    found = registry.institutions_by_ids(session, ids)
    missing = [i for i in ids if i not in found]
    if missing:
        registry.get_institution(session, missing[0])  # raises the registry's not-found error
    marks = repo.hr_marks(session, ids)
    return {
        i: InstitutionProfile(
            i, found[i].name, found[i].level, found[i].grade, found[i].alliance_id, marks.get(i, False)
        )
        for i in ids
    }


# ---------------------------------------------------------------- ingest


@dataclass
class IngestOutcome:
    """What happened to one message: stored results (new or already there) or a duplicate message."""

    message_id: str
    duplicate: bool
    result_ids: list[int]
    updated_ids: list[int] = field(default_factory=list)  # results whose stored version this replaced


@dataclass(frozen=True)
class Delivery:
    """One message to store: its channel, sender, message id and results."""

    channel: str
    sender: str
    message_id: str
    results: Sequence[IncomingResult]

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.channel, self.sender[:64], self.message_id[:100])


class _Reference:
    """Reference data an ingest batch reads once: institutions by code, the catalogue and code maps."""

    def __init__(self, session: Session, deliveries: Sequence[Delivery]) -> None:
        self.session = session
        self.institutions: dict[str, Any] = {}
        items = repo.all_items(session)
        self.items = {i.code: i for i in items}
        self.by_loinc = {}
        for i in sorted(items, key=lambda i: i.id, reverse=True):
            if i.loinc:
                self.by_loinc[i.loinc] = i
        self.code_maps: dict[int, dict[str, str]] = {}
        self.wanted_codes: dict[str, set[str]] = {}
        for d in deliveries:
            for r in d.results:
                self.wanted_codes.setdefault(r.sender_code, set()).add(r.local_code)

    def institution(self, code: str) -> Any:
        if code not in self.institutions:
            self.institutions[code] = registry.institution_by_code(self.session, code)
        inst = found(self.institutions[code], UnknownInstitution(f"发送机构编码不存在: {code}"))
        if inst.id not in self.code_maps:
            self.code_maps[inst.id] = repo.code_maps_for(
                self.session, inst.id, sorted(self.wanted_codes.get(code, set()))
            )
        return inst

    def item(self, institution_id: int, incoming: IncomingResult) -> ExamItem:
        if incoming.local_code.startswith("loinc:"):
            by_loinc = self.by_loinc.get(incoming.local_code[6:])
            if by_loinc is not None:
                return by_loinc
        elif incoming.local_code:
            # every local code of the batch was looked up with its sender (``institution``)
            mapped = self.code_maps.get(institution_id, {}).get(incoming.local_code)
            if mapped is not None:
                item = self.items.get(mapped)
                if item is None or not item.is_active:
                    raise UnknownItem(f"互认项目不存在: {mapped}")
                return item
            direct = self.items.get(incoming.local_code)
            if direct is not None:
                return direct
        if incoming.modality:
            for row in sorted(self.items.values(), key=lambda i: i.code):
                if (
                    row.is_active
                    and row.kind == ItemKind.IMAGING.value
                    and row.modality == incoming.modality
                    and row.body_part == incoming.body_part
                ):
                    return row
        code = incoming.local_code or f"{incoming.modality}/{incoming.body_part}"
        raise UnknownLocalCode(f"项目代码 {code} 未对照到区域互认项目")


def _mask(id_number: str) -> str:
    return f"{id_number[:6]}********{id_number[-4:]}"


def _rows_of(
    delivery: Delivery, ref: _Reference, patients: dict[str, Any], now: datetime
) -> tuple[list[dict[str, Any]], list[int]]:
    """Match a message's results to the patient index, the sender and the catalogue: the rows to store and
    the patient ids (raises the first reason the message must be refused; nothing is written here)."""
    if not delivery.message_id:
        raise BadMessage("报文缺少消息控制号")
    if not delivery.results:
        raise BadMessage("报文中没有结果")
    rows: list[dict[str, Any]] = []
    patient_ids: list[int] = []
    for incoming in delivery.results:
        inst = ref.institution(incoming.sender_code)
        patient = found(
            patients.get(incoming.id_number.strip().upper()),
            UnknownPatient(f"身份证号 {_mask(incoming.id_number)} 在患者主索引中不存在"),
        )
        mismatch = domain.same_person(
            patient.name, patient.birth_date, incoming.patient_name, incoming.birth_date
        )
        if mismatch:
            raise IdentityMismatch(
                f"身份证号 {_mask(incoming.id_number)} 的{'、'.join(mismatch)}，请核对患者身份后重发",
                errors=mismatch,
                locations=["PID^1^7" if "出生" in m else "PID^1^5" for m in mismatch],
            )
        if patient.id not in patient_ids:
            patient_ids.append(patient.id)
        item = ref.item(inst.id, incoming)
        if incoming.observed_at.tzinfo is None:
            raise BadMessage("观察时间缺少时区")
        rows.append(
            {
                "patient_id": patient.id,
                "institution_id": inst.id,
                "item_code": item.code,
                "local_code": incoming.local_code[:32],
                "kind": item.kind,
                "value_text": incoming.value_text[:200],
                "value_num": domain.parse_number(incoming.value_text) if item.kind == ItemKind.LAB else None,
                "unit": (incoming.unit or item.unit)[:16],
                "reference_range": incoming.reference_range[:40],
                "abnormal_flag": incoming.abnormal_flag[:4],
                "status": incoming.status.value,
                "observed_at": incoming.observed_at,
                "result_date": business_date(incoming.observed_at),
                "report_text": incoming.report_text,
                "study_uid": incoming.study_uid[:64],
                "channel": delivery.channel,
                "source_key": incoming.source_key[:160],
                "received_at": now,
                "comment": incoming.comment,
                "reported_at": incoming.reported_at,
            }
        )
    keys = [r["source_key"] for r in rows]
    if len(set(keys)) != len(keys):
        raise BadMessage("同一报文中结果标识重复")
    return rows, patient_ids


VERSION_FIELDS = (
    "status",
    "value_text",
    "value_num",
    "unit",
    "reference_range",
    "abnormal_flag",
    "comment",
    "observed_at",
    "reported_at",
)


def _sent_by(delivery: Delivery, now: datetime) -> dict[str, Any]:
    """Who sent a message and when it arrived (the columns a revision and the ingest log share)."""
    return {
        "channel": delivery.channel,
        "sender": delivery.sender[:64],
        "message_id": delivery.message_id[:100],
        "received_at": now,
    }


def _store(
    session: Session, accepted: list[tuple[Delivery, list[dict[str, Any]], list[int]]], now: datetime
) -> dict[tuple[str, str, str], IngestOutcome]:
    """Write the accepted messages of a batch set-wise: new results, replaced versions, one revision per
    delivered observation, the ingest log and one outbox event per message."""
    keys = sorted({r["source_key"] for _, rows, _ in accepted for r in rows})
    stored = repo.current_versions(session, keys)
    # the version standing for each key as the batch goes along: (status, reported_at)
    standing: dict[str, tuple[ResultStatus, Any]] = {
        k: (ResultStatus(st), at) for k, (_, st, at) in stored.items()
    }
    new_rows: dict[str, dict[str, Any]] = {}
    updates: dict[str, dict[str, Any]] = {}
    revisions: list[tuple[str, dict[str, Any]]] = []
    changed: list[set[str]] = []
    for delivery, rows, _ in accepted:
        touched: set[str] = set()
        for row in rows:
            key, status = row["source_key"], ResultStatus(row["status"])
            applied = key not in standing or domain.supersedes(status, row["reported_at"], *standing[key])
            if key not in standing:
                new_rows[key] = row
            elif applied:
                if key in new_rows:
                    new_rows[key] = {**row, "received_at": new_rows[key]["received_at"]}
                else:
                    updates[key] = {
                        f: row[f] for f in (*VERSION_FIELDS, "result_date", "report_text")
                    }  # report_text: an imaging report replaced (a reading centre)
                    touched.add(key)
            if applied:
                standing[key] = (status, row["reported_at"])
            revisions.append(
                (
                    key,
                    {**{f: row[f] for f in VERSION_FIELDS}, **_sent_by(delivery, now), "applied": applied},
                )
            )
        changed.append(touched)
    ids = {k: v[0] for k, v in stored.items()}
    ids.update(repo.insert_results_returning(session, list(new_rows.values())))
    repo.update_results(session, [{"id": ids[k], **v} for k, v in updates.items()])
    repo.insert_revisions(session, [{"result_id": ids[k], **v} for k, v in revisions])
    repo.insert_ingest_logs(
        session,
        [
            {**_sent_by(d, now), "accepted": True, "result_count": len(rows), "reason": ""}
            for d, rows, _ in accepted
        ],
    )
    outcomes: dict[tuple[str, str, str], IngestOutcome] = {}
    payloads: list[dict[str, Any]] = []
    for (delivery, rows, patient_ids), touched in zip(accepted, changed, strict=True):
        result_ids = [ids[r["source_key"]] for r in rows]
        updated = sorted(ids[k] for k in touched)
        outcomes[delivery.key] = IngestOutcome(delivery.message_id, False, result_ids, updated)
        payload: dict[str, Any] = {"result_ids": result_ids, "patient_ids": sorted(patient_ids)}
        if updated:
            payload["updated_ids"] = updated
        payloads.append(payload)
    events.emit_many(session, [("results.received", p) for p in payloads])
    return outcomes


def ingest_batch(
    session: Session, deliveries: Sequence[Delivery], *, atomic: bool = True, retries: int = 2
) -> list[IngestOutcome | YilianError]:
    """Store a batch of messages in the caller's transaction (group commit: the caller commits once and
    acknowledges after): each message is stored whole or refused whole with its reason, a message seen
    before (or twice in the batch) is a duplicate, the same observation delivered again keeps one result
    whose stored version is the highest-ranking one (``domain.supersedes``) with every delivery in its
    history. If a concurrent writer stored the same message or observation first, the batch is retried
    message by message inside a savepoint; with ``atomic=False`` there is no savepoint (two round trips
    fewer) and the IntegrityError reaches the caller, who rolls back and stores the messages one by one."""
    now = utcnow()
    seen = repo.accepted_messages(session, sorted({d.key for d in deliveries}))
    ref = _Reference(session, deliveries)
    patients = registry.patients_by_id_numbers(
        session, [r.id_number for d in deliveries if d.key not in seen for r in d.results]
    )
    answers: list[IngestOutcome | YilianError | tuple[str, str, str]] = []
    accepted: list[tuple[Delivery, list[dict[str, Any]], list[int]]] = []
    in_batch: set[tuple[str, str, str]] = set()
    for delivery in deliveries:
        if delivery.key in seen or delivery.key in in_batch:
            answers.append(delivery.key)  # a duplicate: answered with the stored results below
            continue
        try:
            rows, patient_ids = _rows_of(delivery, ref, patients, now)
        except YilianError as exc:
            answers.append(exc)
            continue
        in_batch.add(delivery.key)
        accepted.append((delivery, rows, patient_ids))
        answers.append(delivery.key)
    if not atomic:  # the caller retries the batch message by message if this raises
        outcomes = _store(session, accepted, now) if accepted else {}
    else:
        try:
            with session.begin_nested():
                outcomes = _store(session, accepted, now) if accepted else {}
        except IntegrityError:
            # a concurrent delivery of the same message or observation committed first: one at a time
            if len(deliveries) > 1:
                return [a for d in deliveries for a in ingest_batch(session, [d], retries=retries)]
            if retries <= 0:
                raise
            return ingest_batch(session, deliveries, retries=retries - 1)
    duplicates = [
        d for d, a in zip(deliveries, answers, strict=True) if isinstance(a, tuple) and a not in outcomes
    ]
    stored_ids = repo.current_versions(session, [r.source_key[:160] for d in duplicates for r in d.results])
    out: list[IngestOutcome | YilianError] = []
    first: set[tuple[str, str, str]] = set()
    for delivery, answer in zip(deliveries, answers, strict=True):
        if isinstance(answer, YilianError):
            out.append(answer)
        elif answer in outcomes and answer not in first:
            first.add(answer)
            out.append(outcomes[answer])
        elif answer in outcomes:
            out.append(IngestOutcome(delivery.message_id, True, outcomes[answer].result_ids))
        else:
            ids = [
                stored_ids[r.source_key[:160]][0]
                for r in delivery.results
                if r.source_key[:160] in stored_ids
            ]
            out.append(IngestOutcome(delivery.message_id, True, ids))
    return out


def ingest(
    session: Session, *, channel: str, sender: str, message_id: str, results: Sequence[IncomingResult]
) -> IngestOutcome:
    """Store the results of one message: the same message twice is a duplicate, the same observation again
    keeps one result (its stored version decided by status rank, every delivery in its history); any
    unknown patient, sender or item, or a patient identity contradicting the index, refuses the whole
    message before anything is written."""
    answer = ingest_batch(session, [Delivery(channel, sender, message_id, results)])[0]
    if isinstance(answer, YilianError):
        raise answer
    return answer


def result_history(session: Session, actor: Actor, result_id: int) -> list[Any]:
    """Every delivery of one result (who sent what when), to an authorised reader (audited)."""
    get_result(session, actor, result_id)
    return list(repo.revisions_of(session, result_id))


# ---------------------------------------------------------------- look-up


def _may_read_results(session: Session, actor: Actor, patient: Any) -> bool:
    if not actor.has(Permission.RESULTS_READ):
        return False
    if actor.role is Role.PATIENT:
        return bool(actor.patient_id == patient.id)
    if actor.role is Role.FAMILY:
        if actor.patient_id is None:
            return False
        return any(
            registry.active_consent(session, grantor_id=patient.id, grantee_id=actor.patient_id, scope=s)
            for s in RESULT_SCOPES
        )
    return registry.can_read_patient(session, actor, patient)


def _authorise(session: Session, actor: Actor, patient_id: int, *, reason: str, resource: str) -> None:
    patient = registry.find_patient(session, patient_id)
    if not _may_read_results(session, actor, patient):
        raise ResultAccessDenied("您不是该患者的接诊医生、本人或经授权的家属")
    record_access(
        session, actor, action="read", resource=resource[:200], patient_id=patient_id, reason=reason
    )


def patient_results(
    session: Session,
    actor: Actor,
    patient_id: int,
    *,
    item_code: str | None = None,
    kind: ItemKind | None = None,
    offset: int = 0,
    limit: int = 50,
    reason: str = "查看检查检验结果",
) -> tuple[Sequence[Result], int]:
    """Return a patient's results across the alliance, newest first, for an authorised reader (audited)."""
    _authorise(session, actor, patient_id, reason=reason, resource=f"results?patient={patient_id}")
    return repo.patient_results(
        session,
        patient_id=patient_id,
        item_code=item_code,
        kind=kind.value if kind else None,
        offset=offset,
        limit=limit,
    )


def patient_observations(
    session: Session,
    actor: Actor,
    patient_id: int,
    *,
    item_code: str | None = None,
    offset: int = 0,
    limit: int = 50,
) -> tuple[Sequence[Any], int]:
    """``patient_results`` for the FHIR Observation search: the same page, access check and audit row,
    as plain rows carrying the item's ``item_name`` and ``loinc`` (None when not in the active
    catalogue) instead of ORM objects and a catalogue read."""
    _authorise(
        session, actor, patient_id, reason="查看检查检验结果", resource=f"results?patient={patient_id}"
    )
    return repo.patient_observation_rows(
        session, patient_id=patient_id, item_code=item_code, offset=offset, limit=limit
    )


def get_result(session: Session, actor: Actor, result_id: int) -> Result:
    """Return one result to an authorised reader (audited)."""
    row = found(repo.get_result(session, result_id), ResultNotFound(f"结果不存在: {result_id}"))
    _authorise(session, actor, row.patient_id, reason="查看结果", resource=f"results/{row.id}")
    return row


def timeline(session: Session, actor: Actor, patient_id: int, item_code: str) -> list[Result]:
    """Return a patient's values of one item in time order across institutions (audited)."""
    rows, _ = patient_results(session, actor, patient_id, item_code=item_code, limit=500, reason="结果趋势")
    return sorted(rows, key=lambda r: (r.observed_at, r.id))


# ---------------------------------------------------------------- recognition at ordering


@dataclass
class CandidateView:
    result: Result
    institution_name: str
    assessment: Assessment


@dataclass
class CheckOutcome:
    """The answer to "can an earlier result stand in for this order?"."""

    item: domain.ExamItem
    business_date: date
    prompt_id: int | None
    candidates: list[CandidateView]  # qualifying, newest first
    rejected: list[CandidateView]  # inside the validity window but not recognisable, with why not


ONE_STATEMENT_CHECK = True  # PostgreSQL, staff readers: ``_check_in_one_statement`` (tests compare both)


def check_recognition(
    session: Session,
    actor: Actor,
    *,
    patient_id: int,
    institution_id: int,
    item_code: str,
    department_id: int | None = None,
    practitioner_id: int | None = None,
    on: date | None = None,
    commit: bool = False,
) -> CheckOutcome:
    """Return the results that can stand in for an order of ``item_code`` for the patient at the ordering
    institution on business date ``on`` (today by default), newest first with why each qualifies; a check
    with candidates is recorded as a prompt (重复开单提醒) for the decision and the indicators.

    ``commit`` (the HTTP endpoint, whose request is the check alone): on PostgreSQL, when the session owns
    its transaction and has sent nothing in it yet, the check's statement commits itself — the read and
    its access-audit row in one statement and one round trip, without BEGIN and COMMIT round trips — and
    the prompt's INSERT commits itself after it. The caller still commits (nothing is left to do then;
    otherwise its work, the check's included)."""
    require_permission(actor, Permission.RESULTS_RECOGNIZE)
    if actor.institution_id is not None and actor.institution_id != institution_id:
        raise Forbidden("只能为本机构的开单核查互认")
    on = on or business_date()
    if (
        ONE_STATEMENT_CHECK
        and session.get_bind().dialect.name == "postgresql"
        and actor.role not in (Role.PATIENT, Role.FAMILY)
    ):
        return _check_in_one_statement(
            session,
            actor,
            patient_id=patient_id,
            institution_id=institution_id,
            item_code=item_code,
            department_id=department_id,
            practitioner_id=practitioner_id,
            on=on,
            commit=commit,
        )
    item = get_item(session, item_code)
    _authorise(
        session,
        actor,
        patient_id,
        reason=f"互认核查 {item.code}",
        resource=f"results?patient={patient_id}&code={item.code}",
    )
    pure_item = to_domain_item(item)
    rows = repo.candidate_results(
        session,
        patient_id=patient_id,
        item_code=item.code,
        since=recognition_rules.earliest_result_date(on, item.validity_days),
        until=on,
    )
    if not rows:  # nothing in the validity window: no profiles, QA or policy to read, no prompt
        if actor.institution_id is None:  # the actor's own institution exists; any other is checked
            registry.get_institution(session, institution_id)
        return CheckOutcome(pure_item, on, None, [], [])
    profiles = _profiles(session, [institution_id, *(r.institution_id for r in rows)])
    qa: dict[int, list[recognition_rules.QaRecord]] = {}
    for record in repo.qa_records(session, sorted({r.institution_id for r in rows})):
        qa.setdefault(record.institution_id, []).append(
            recognition_rules.QaRecord(record.discipline, record.passed_on, record.expires_on, record.passed)
        )
    policy = get_policy(session)
    receiver = profiles[institution_id]
    candidates: list[CandidateView] = []
    rejected: list[CandidateView] = []
    for row in rows:
        source = profiles[row.institution_id]
        assessment = recognition_rules.assess(
            CandidateResult(row.id, row.item_code, ResultStatus(row.status), row.result_date, source),
            item=pure_item,
            receiver=receiver,
            on=on,
            qa=qa.get(row.institution_id, []),
            policy=policy,
        )
        (candidates if assessment.qualifies else rejected).append(CandidateView(row, source.name, assessment))
    return CheckOutcome(
        pure_item,
        on,
        _prompt(
            session, patient_id, institution_id, department_id, practitioner_id, item.code, on, candidates
        ),
        candidates,
        rejected,
    )


def _prompt(
    session: Session,
    patient_id: int,
    institution_id: int,
    department_id: int | None,
    practitioner_id: int | None,
    item_code: str,
    on: date,
    candidates: list[CandidateView],
    *,
    commit: bool = False,
) -> int | None:
    """Record a check with candidates as a prompt (one INSERT, no ORM object); None without candidates.
    ``commit``: the check's statement committed itself, and so does the prompt's INSERT."""
    if not candidates:
        return None
    return repo.insert_prompt(
        session,
        {
            "patient_id": patient_id,
            "institution_id": institution_id,
            "department_id": department_id,
            "practitioner_id": practitioner_id,
            "item_code": item_code,
            "business_date": on,
            "candidate_ids": ",".join(str(c.result.id) for c in candidates)[:400],
            "created_at": utcnow(),
        },
        commit=commit,
    )


_POLICIES: dict[str, RecognitionPolicy] = {}


def _policy_of(value: str | None) -> RecognitionPolicy:
    """The policy of a stored JSON value, parsed once per distinct value (the value is the cache key, so a
    changed policy is never served stale)."""
    if value is None:
        return RecognitionPolicy()
    policy = _POLICIES.get(value)
    if policy is None:
        if len(_POLICIES) > 16:
            _POLICIES.clear()
        policy = _POLICIES[value] = RecognitionPolicy.from_dict(json.loads(value))
    return policy


_RESULT_FIELDS = tuple(c.name for c in Result.__table__.c)


class _ResultRow:
    """A candidate result as read by the check (the attributes of a ``Result``, no ORM state)."""

    def __init__(self, row: Any) -> None:
        for name in _RESULT_FIELDS:
            setattr(self, name, getattr(row, name))


def _check_in_one_statement(
    session: Session,
    actor: Actor,
    *,
    patient_id: int,
    institution_id: int,
    item_code: str,
    department_id: int | None,
    practitioner_id: int | None,
    on: date,
    commit: bool = False,
) -> CheckOutcome:
    """``check_recognition`` on PostgreSQL in one statement (two with a prompt): ``repo.CHECK_SQL`` reads
    the item, the patient's scope, the profiles, QA and policy, writes the access-audit row if the reader
    may read the patient's results (the rule of ``_may_read_results`` / ``registry.can_read_patient`` for
    staff) and returns the candidates; the assessment is the same pure ``recognition_rules.assess``.
    ``commit``: see ``check_recognition`` (``repo.check_lookup`` tells whether the statement committed)."""
    may_read = actor.has(Permission.RESULTS_READ) and actor.has(Permission.PATIENT_READ)
    now = utcnow()
    rows, committed = repo.check_lookup(
        session,
        {
            "code": item_code,
            "pid": patient_id,
            "inst": institution_id,
            "scope_inst": actor.institution_id,
            "now": now,
            "on": on,
            "may_read": may_read,
            "alliance": actor.has(Permission.PATIENT_ALLIANCE),
            "user_id": actor.user_id,
            "username": actor.username,
            "role": actor.role.value,
            "actor_inst": actor.institution_id,
            "resource": f"results?patient={patient_id}&code={item_code}"[:200],
            "reason": f"互认核查 {item_code}"[:200],
            "channel": actor.channel,
            "ip": actor.ip,
            "policy_key": POLICY_KEY,
        },
        commit=commit,
    )
    head = rows[0]
    if head.it_code is None:
        raise UnknownItem(f"互认项目不存在: {item_code}")
    if head.pat_id is None:
        registry.find_patient(session, patient_id)  # raises the registry's not-found error
    if not head.in_scope:
        raise ResultAccessDenied("您不是该患者的接诊医生、本人或经授权的家属")
    if head.recv_name is None:
        registry.get_institution(session, institution_id)  # raises the registry's not-found error
    item = to_domain_item(head, prefix="it_")
    if head.id is None:  # nothing in the validity window
        return CheckOutcome(item, on, None, [], [])
    receiver = InstitutionProfile(
        institution_id, head.recv_name, head.recv_level, head.recv_grade, head.recv_alliance, head.recv_hr
    )
    policy = _policy_of(head.policy)
    candidates: list[CandidateView] = []
    rejected: list[CandidateView] = []
    for row in rows:
        source = InstitutionProfile(
            row.institution_id, row.s_name, row.s_level, row.s_grade, row.s_alliance, row.s_hr
        )
        qa = (
            [recognition_rules.QaRecord(item.discipline, row.qa_passed_on, row.qa_expires_on, row.qa_passed)]
            if row.qa_passed is not None
            else []
        )
        assessment = recognition_rules.assess(
            CandidateResult(row.id, row.item_code, ResultStatus(row.status), row.result_date, source),
            item=item,
            receiver=receiver,
            on=on,
            qa=qa,
            policy=policy,
        )
        view = CandidateView(_ResultRow(row), source.name, assessment)  # type: ignore[arg-type]
        (candidates if assessment.qualifies else rejected).append(view)
    prompt_id = _prompt(
        session,
        patient_id,
        institution_id,
        department_id,
        practitioner_id,
        item.code,
        on,
        candidates,
        commit=committed,
    )
    return CheckOutcome(item, on, prompt_id, candidates, rejected)


def decide(
    session: Session,
    actor: Actor,
    *,
    prompt_id: int,
    decision: Decision,
    result_id: int | None = None,
    reasons: Sequence[NonRecognitionReason] = (),
    note: str = "",
) -> RecognitionDecision:
    """Record the doctor's decision on a prompt: 互认 (no order placed, the item's fee counted as saved; the
    ordering institution gets access to the patient) or 不互认 with ≥1 standard reason."""
    require_permission(actor, Permission.RESULTS_RECOGNIZE)
    prompt = found(
        repo.get_prompt(session, prompt_id, for_update=True), PromptNotFound(f"互认提示不存在: {prompt_id}")
    )
    if actor.institution_id is not None and actor.institution_id != prompt.institution_id:
        raise Forbidden("不能为其他机构的提示作出决定")
    domain.check_decision(decision, reasons, note, result_chosen=result_id is not None)
    if repo.decision_of(session, prompt_id) is not None:
        raise AlreadyDecided("该提示已作出互认决定")
    allowed = {int(x) for x in prompt.candidate_ids.split(",") if x}
    if result_id is not None and result_id not in allowed:
        raise InvalidDecision("所选结果不在本次提示的可互认结果中")
    item = get_item(session, prompt.item_code)
    row = RecognitionDecision(
        prompt_id=prompt.id,
        decision=decision.value,
        result_id=result_id,
        reasons=",".join(r.value for r in reasons),
        note=note.strip(),
        fee_saved_fen=item.price_fen if decision is Decision.RECOGNISED else 0,
        user_id=actor.user_id,
        decided_at=utcnow(),
    )
    session.add(row)
    session.flush()
    if decision is Decision.RECOGNISED and result_id is not None:
        result = repo.get_result(session, result_id)
        if result is not None and result.institution_id != prompt.institution_id:
            registry.grant_institution_access(
                session,
                patient_id=prompt.patient_id,
                institution_id=prompt.institution_id,
                reason=f"互认结果 {item.name}",
                days=item.validity_days,
            )
    record_access(
        session,
        actor,
        action="update",
        resource=f"results/prompts/{prompt.id}",
        patient_id=prompt.patient_id,
        reason=f"{decision.value} {item.name}",
    )
    events.emit(
        session,
        "results.decided",
        {"prompt_id": prompt.id, "decision": decision.value, "fee_saved_fen": row.fee_saved_fen},
    )
    return row


# ---------------------------------------------------------------- indicators


def indicators(
    session: Session,
    actor: Actor,
    *,
    group: str = "institution",
    since: date | None = None,
    until: date | None = None,
) -> dict[str, Any]:
    """Return prompts, decisions, recognition rate and fees saved by institution, department or item."""
    require_permission(actor, Permission.RESULTS_STATS)
    if group not in ("institution", "department", "item"):
        raise InvalidPolicy("group 须为 institution / department / item")
    until = until or business_date()
    since = since or until - timedelta(days=29)
    scope = actor.institution_id if actor.role is not Role.ADMIN else None
    rows = repo.indicators(session, group=group, since=since, until=until, institution_id=scope)
    names: dict[Any, str] = {}
    if group == "institution":
        names = {i.id: i.name for i in registry.list_institutions(session, limit=10_000)[0]}
    elif group == "department":
        for r in rows:
            if r["key"] is not None:
                names[r["key"]] = registry.get_department(session, int(r["key"])).name
    else:
        names = {i.code: i.name for i in list_items(session)}
    out = []
    for r in rows:
        decided = int(r["recognised"]) + int(r["not_recognised"])
        out.append(
            {
                "key": r["key"],
                "name": names.get(r["key"], "未指定" if r["key"] is None else str(r["key"])),
                "prompts": int(r["prompts"]),
                "recognised": int(r["recognised"]),
                "not_recognised": int(r["not_recognised"]),
                "recognition_rate": domain.rate(int(r["recognised"]), decided),
                "fee_saved_fen": int(r["fee_saved_fen"]),
            }
        )
    reasons = Counter(
        x for line in repo.reason_counts(session, since=since, until=until) for x in line.split(",") if x
    )
    totals: dict[str, float] = {
        k: sum(int(r[k]) for r in out) for k in ("prompts", "recognised", "not_recognised", "fee_saved_fen")
    }
    totals["recognition_rate"] = domain.rate(
        int(totals["recognised"]), int(totals["recognised"] + totals["not_recognised"])
    )
    return {
        "group": group,
        "since": since,
        "until": until,
        "rows": out,
        "totals": totals,
        "reasons": [
            {"reason": k, "label": NonRecognitionReason(k).label, "count": v}
            for k, v in reasons.most_common()
        ],
    }


def institution_names(session: Session) -> dict[int, str]:
    """Return institution names by id (for pages)."""
    return {i.id: i.name for i in registry.list_institutions(session, limit=10_000)[0]}


def latest_datetime(rows: Sequence[Result]) -> datetime | None:
    return max((r.observed_at for r in rows), default=None)


def ingest_hl7(session: Session, text: str) -> IngestOutcome:
    """Parse and store an HL7 v2.5 ORU^R01 message (idempotent by MSH-4 + MSH-10 and per OBX)."""
    parsed = hl7.parse_oru(text)
    return ingest(
        session, channel="hl7", sender=parsed.sender, message_id=parsed.control_id, results=parsed.results
    )


def ingest_fhir_bundle(session: Session, body: dict[str, Any]) -> IngestOutcome:
    """Validate and store a FHIR R4 Bundle of DiagnosticReport + Observation (+ Patient, Organization)."""
    parsed = fhir.parse_bundle(body)
    return ingest(
        session, channel="fhir", sender=parsed.sender, message_id=parsed.message_id, results=parsed.results
    )


def ingest_imaging(session: Session, study: imaging.ImagingInput) -> IngestOutcome:
    """Store one imaging study (metadata + report text), e.g. read from a DICOM header."""
    incoming = imaging.to_incoming(study)
    return ingest(
        session, channel="dicom", sender=study.sender_code, message_id=study.study_uid, results=[incoming]
    )


def bulk_insert_results(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Insert many already-matched result rows at once (demo data, benchmarks, migrations from a LIS)."""
    repo.insert_results(session, rows)


def regional_item_for(session: Session, institution_id: int, local_code: str) -> str | None:
    """Return the regional item code an institution's local (e.g. price-catalogue) code stands for."""
    row = repo.code_map(session, institution_id, local_code)
    return row.item_code if row else None


def recognition_counts(
    session: Session, since: date, until: date
) -> list[tuple[date, int | None, int | None, int, int, int, int]]:
    """Bulk read for analytics: prompts, decisions and fees saved (检查检验结果互认) by day, institution
    and department."""
    return repo.recognition_counts(session, since, until)
