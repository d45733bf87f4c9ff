"""The 23:00 end-of-day settlement, set-based (日终批量结算).

Workers take the day's open encounters a chunk at a time: ``SELECT … FOR NO KEY UPDATE SKIP LOCKED``
on the encounters (``outpatient.lock_encounters``) claims a chunk no other worker holds, ``FOR UPDATE``
on their open charges waits for a patient settling on the phone at the same moment (and then sees
those charges settled). The chunk is
read in a handful of set queries, split in pure Python (``insurance.domain.split_bill``, in encounter
order, carrying each patient's year-to-date use from one visit to the next; the year rows are locked
in patient order, so two workers with visits of the same patient take turns), and written with
multi-row inserts and executemany updates: settlements, channel payments (one batch call to the
channel), arrears, charges, the year's use, the settled bill's claim lines for the post-event audit
and the outbox events — one commit per chunk. A worker killed mid-chunk loses only that uncommitted
chunk; a restart finds exactly the encounters still open, so each is settled once.

Encounters that need more than the common case — a registration fee on credit, an order paid before it
is performed, a relative paying, an idempotency key already used — go through the per-encounter path
(``settle_one`` → ``settlement.settle``) in a savepoint inside the same chunk.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from datetime import date
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from yilian.billing import repository as repo
from yilian.billing.channels import ChannelRequest, adapter_for, charge_many
from yilian.billing.domain import (
    Channel,
    PaymentStatus,
    SettlementMode,
    SettlementStatus,
    SettleOutcome,
)
from yilian.billing.errors import BadSignature
from yilian.billing.service import settlement as billing
from yilian.billing.service.payments import _number, _request_hash
from yilian.insurance import policy_service as insurance
from yilian.insurance.audit import service as audit
from yilian.insurance.audit.domain import ClaimLine
from yilian.insurance.domain import Accounts, BillLine, Split, SplitPolicy, YearToDate, split_bill
from yilian.kit import events
from yilian.kit.clock import business_date, utcnow
from yilian.kit.errors import YilianError
from yilian.outpatient import service as outpatient
from yilian.registry import service as registry

DEFAULT_CHUNK = 500
BREAKDOWN_FIELDS = tuple(f.name for f in fields(Split) if f.name != "after")


@dataclass
class SettleDayReport:
    day: date
    settled: int = 0
    arrears: int = 0
    skipped: int = 0
    errors: list[str] = field(default_factory=list)

    def add(self, other: SettleDayReport) -> None:
        self.settled += other.settled
        self.arrears += other.arrears
        self.skipped += other.skipped
        self.errors.extend(other.errors)


def pending_encounters(session: Session, day: date) -> list[int]:
    """Encounters with open charges on ``day``."""
    return repo.encounters_open_on(session, day)


def auto_idempotency_key(encounter_id: int, day: date) -> str:
    return f"auto-settle:{encounter_id}:{day.isoformat()}"


def settle_one(session: Session, encounter_id: int, day: date) -> SettleOutcome:
    """The 23:00 settlement of one encounter-day through the patient's signed channel (or arrears)."""
    patient_id = repo.patient_of_open_day(session, encounter_id, day)
    if patient_id is None:
        return SettleOutcome.SKIPPED  # settled meanwhile by the patient or another worker
    agreement = repo.newest_agreement(session, patient_id)
    result = billing.settle(
        session,
        encounter_id=encounter_id,
        day=day,
        channel=Channel(agreement.channel) if agreement else Channel.CASH,
        payer_ref=agreement.payer_ref if agreement else "no-agreement-declined",
        cash_payer_id=agreement.payer_patient_id if agreement else None,
        idempotency_key=auto_idempotency_key(encounter_id, day),
        mode=SettlementMode.AUTO,
    )
    return SettleOutcome.ARREARS if result.status == SettlementStatus.ARREARS else SettleOutcome.SETTLED


# ---------------------------------------------------------------- one chunk


@dataclass
class _Visit:
    encounter_id: int
    patient_id: int
    institution_id: int
    department_id: int
    registered: bool  # opened from a registration: its fee may be on the bill (the per-encounter path)
    charges: list[tuple[int, int, str, int]] = field(default_factory=list)  # id, amount, class, permille
    order_ids: set[int] = field(default_factory=set)  # the orders of those charges (the claim lines)


@dataclass
class _Agreement:
    channel: str
    payer_ref: str
    payer_patient_id: int | None


class _Reference:
    """Institutions, departments and split policies, read once per run (they do not change at 23:00)."""

    def __init__(self) -> None:
        self.institutions: dict[int, tuple[str, int, str]] = {}  # id → region, level, code
        self.departments: dict[int, str] = {}
        self.policies: dict[tuple[str, str, int, int], SplitPolicy | YilianError] = {}

    def load(self, session: Session, institution_ids: set[int], department_ids: set[int]) -> None:
        need = institution_ids - set(self.institutions)
        if need:
            for i, region, level, code in registry.institution_settlement_facts(session, sorted(need)):
                self.institutions[i] = (region, level, code)
        need = department_ids - set(self.departments)
        if need:
            self.departments.update(registry.department_codes(session, sorted(need)))

    def policy(self, session: Session, region: str, scheme: str, level: int, year: int) -> SplitPolicy:
        key = (region, scheme, level, year)
        if key not in self.policies:
            try:
                self.policies[key] = insurance.policy_for(
                    session,
                    region_code=region,
                    scheme=scheme,
                    level=level,
                    visit_type=billing.VISIT_TYPE,
                    year=year,
                )
            except YilianError as exc:
                self.policies[key] = exc
        found = self.policies[key]
        if isinstance(found, YilianError):
            raise found
        return found


def _claim(session: Session, day: date, ids: list[int]) -> list[_Visit]:
    """Lock the encounters of ``ids`` that still have open charges on ``day`` and no other worker holds
    (outpatient locks them ``FOR NO KEY UPDATE SKIP LOCKED``)."""
    still_open = repo.still_open_encounters(session, day, ids)
    if not still_open:
        return []
    return [
        _Visit(e, p, i, d, registered=r is not None)
        for e, p, i, d, r in outpatient.lock_encounters(session, sorted(still_open))
    ]


def settle_chunk(
    session: Session, day: date, visits: list[_Visit], reference: _Reference, report: SettleDayReport
) -> None:
    """Settle claimed encounters (``_claim``) in the caller's transaction; counts go to ``report``."""
    ids = [v.encounter_id for v in visits]
    by_id = {v.encounter_id: v for v in visits}
    slow: set[int] = {v.encounter_id for v in visits if v.registered}
    for cid, eid, amount, klass, permille, on_credit, order_id in repo.open_charge_lines(session, day, ids):
        by_id[eid].charges.append((cid, amount, klass, permille))
        if order_id is not None:
            by_id[eid].order_ids.add(order_id)
        if order_id is not None and not on_credit:
            slow.add(eid)  # an order to be paid before it is performed: settle() moves it on
    standing = repo.standing_statuses(session, day, ids)
    todo: list[_Visit] = []
    for v in visits:
        if not v.charges and v.encounter_id not in slow:
            report.skipped += 1  # settled meanwhile by the patient or another worker
        elif v.encounter_id in standing and not v.charges:  # settled already, nothing added since
            if standing[v.encounter_id] == SettlementStatus.ARREARS:
                report.arrears += 1
            else:
                report.settled += 1
        elif v.encounter_id in slow:
            pass
        else:
            todo.append(v)
    patient_ids = {v.patient_id for v in visits}
    agreements: dict[int, _Agreement] = {}
    for pid, channel, payer_ref, payer in repo.agreements_of(session, patient_ids):
        agreements[pid] = _Agreement(channel, payer_ref, payer)  # the newest signed one wins
    used_keys = repo.used_idempotency_keys(session, [auto_idempotency_key(v.encounter_id, day) for v in todo])
    fast: list[_Visit] = []
    for v in todo:
        agreement = agreements.get(v.patient_id)
        if (agreement is not None and agreement.payer_patient_id not in (None, v.patient_id)) or (
            auto_idempotency_key(v.encounter_id, day) in used_keys
        ):
            slow.add(v.encounter_id)  # 亲情付 needs the consent check; a used key its own answer
        else:
            fast.append(v)
    slow_visits = [
        v for v in visits if v.encounter_id in slow and (v.charges or v.encounter_id not in standing)
    ]
    # the year's use of every patient of the chunk, locked in patient order before any is written
    years = insurance.lock_years(
        session, [v.patient_id for v in fast + slow_visits], day.year, billing.VISIT_TYPE
    )
    if fast:
        _settle_fast(session, day, fast, agreements, years, reference, report)
    for v in slow_visits:
        try:
            with session.begin_nested():
                outcome = settle_one(session, v.encounter_id, day)
        except YilianError as exc:
            report.errors.append(f"encounter {v.encounter_id}: {exc.title}：{exc.detail}")
            continue
        if outcome == SettleOutcome.SKIPPED:
            report.skipped += 1
        elif outcome == SettleOutcome.ARREARS:
            report.arrears += 1
        else:
            report.settled += 1


def _settle_fast(
    session: Session,
    day: date,
    visits: list[_Visit],
    agreements: dict[int, _Agreement],
    years: dict[int, YearToDate],
    reference: _Reference,
    report: SettleDayReport,
) -> None:
    patient_ids = {v.patient_id for v in visits}
    patients = {
        p: (scheme, region, mpi, sex, birth)
        for p, scheme, region, mpi, sex, birth in registry.patient_settlement_facts(
            session, sorted(patient_ids)
        )
    }
    reference.load(session, {v.institution_id for v in visits}, {v.department_id for v in visits})
    now, today = utcnow(), business_date()
    changed: dict[int, YearToDate] = {}
    rows: list[dict[str, Any]] = []  # settlements
    done: list[tuple[_Visit, int, str, str]] = []  # visit, cash, channel, payer_ref
    for v in visits:
        scheme, region, *_ = patients[v.patient_id]
        inst_region, level, _code = reference.institutions[v.institution_id]
        try:
            policy = reference.policy(session, region or inst_region[:4] + "00", scheme, level, day.year)
        except YilianError as exc:
            report.errors.append(f"encounter {v.encounter_id}: {exc.title}：{exc.detail}")
            continue
        lines = [BillLine(amount, klass, permille) for _cid, amount, klass, permille in v.charges]
        split = split_bill(lines, policy, years.get(v.patient_id, YearToDate()), Accounts())
        years[v.patient_id] = changed[v.patient_id] = split.after
        agreement = agreements.get(v.patient_id)
        channel = Channel(agreement.channel) if agreement else Channel.CASH
        payer_ref = agreement.payer_ref if agreement else "no-agreement-declined"
        payer = agreement.payer_patient_id if agreement else None
        breakdown = {f: getattr(split, f) for f in BREAKDOWN_FIELDS}  # as settle() stores it
        rows.append(
            {
                "encounter_id": v.encounter_id,
                "patient_id": v.patient_id,
                "business_date": day,
                "attempt": 1,
                "total": split.total,
                "fund": split.fund,
                "personal_account": split.personal_account,
                "mutual_aid": split.mutual_aid,
                "mutual_aid_from": None,
                "cash": split.cash,
                "cash_channel": channel.value if split.cash else "",
                "cash_payer_id": payer,
                "mode": SettlementMode.AUTO.value,
                "status": SettlementStatus.SETTLED.value,
                "breakdown": breakdown,
                "options": {
                    "channel": channel.value,
                    "use_personal_account": False,
                    "mutual_aid_from": None,
                    "cash_payer_id": payer,
                    "payer_ref": payer_ref,
                },
                "created_at": now,
            }
        )
        done.append((v, split.cash, channel.value, payer_ref))
    if not rows:
        return
    attempts = repo.last_attempts(session, day, [v.encounter_id for v, *_ in done])
    for row in rows:
        row["attempt"] = attempts.get(row["encounter_id"], 0) + 1
    # the channel first: the settlement's status (settled or arrears) is known before it is written
    requests: dict[str, list[tuple[int, ChannelRequest]]] = {}
    for n, (_v, cash, channel_value, payer_ref) in enumerate(done):
        if cash:
            requests.setdefault(channel_value, []).append(
                (n, ChannelRequest(out_trade_no=_number("P"), amount=cash, payer_ref=payer_ref))
            )
    outcome: dict[int, tuple[ChannelRequest, dict[str, str]]] = {}
    for channel_value, batch in requests.items():
        channel = Channel(channel_value)
        adapter = adapter_for(channel)
        for (n, request), callback in zip(
            batch, charge_many(channel, session, [r for _n, r in batch]), strict=True
        ):
            if not adapter.verify_callback(callback) or callback.get("out_trade_no") != request.out_trade_no:
                raise BadSignature(f"渠道回调无效：{request.out_trade_no}")
            outcome[n] = (request, callback)
            ok = callback.get("result") == "SUCCESS" and int(callback.get("amount", "-1")) == request.amount
            if not ok:
                rows[n]["status"] = SettlementStatus.ARREARS.value
    settlement_ids = repo.reserve_settlement_ids(session, len(rows))
    paid = sorted(outcome)
    payment_ids = repo.reserve_payment_ids(session, len(paid))
    payments: list[dict[str, Any]] = []
    arrears: list[dict[str, Any]] = []
    outbox: list[tuple[str, dict[str, Any]]] = []
    for n, pid in zip(paid, payment_ids, strict=True):
        request, callback = outcome[n]
        row = rows[n]
        row["payment_id"] = pid
        succeeded = row["status"] == SettlementStatus.SETTLED
        reference_ = f"settlement:{settlement_ids[n]}"
        payments.append(
            {
                "id": pid,
                "out_trade_no": request.out_trade_no,
                "idempotency_key": auto_idempotency_key(row["encounter_id"], day),
                "request_hash": _request_hash(
                    reference=reference_,
                    amount=request.amount,
                    channel=row["cash_channel"],
                    patient=row["patient_id"],
                    payer=row["cash_payer_id"],
                ),
                "reference": reference_,
                "patient_id": row["patient_id"],
                "payer_patient_id": row["cash_payer_id"],
                "channel": row["cash_channel"],
                "amount": request.amount,
                "status": (PaymentStatus.SUCCEEDED if succeeded else PaymentStatus.FAILED).value,
                "trade_no": callback.get("trade_no") if succeeded else None,
                "failure_reason": "" if succeeded else callback.get("reason", "")[:200],
                "business_date": today,
                "created_at": now,
                "paid_at": now if succeeded else None,
            }
        )
        if succeeded:
            outbox.append(
                (
                    "billing.payment_succeeded",
                    {"payment_id": pid, "reference": reference_, "amount": request.amount},
                )
            )
        else:
            outbox.append(("billing.payment_failed", {"payment_id": pid, "reference": reference_}))
            arrears.append(
                {
                    "settlement_id": settlement_ids[n],
                    "patient_id": row["patient_id"],
                    "amount": request.amount,
                    "opened_on": day,
                    "reminders_sent": [],
                }
            )
            outbox.append(
                ("billing.arrears_opened", {"patient_id": row["patient_id"], "amount": request.amount})
            )
    for row, sid in zip(rows, settlement_ids, strict=True):
        row["id"] = sid
        row.setdefault("payment_id", None)
    repo.insert_settled_chunk(session, payments, rows, arrears)
    repo.mark_charges_settled(
        session,
        [(cid, sid) for (v, *_), sid in zip(done, settlement_ids, strict=True) for cid, *_ in v.charges],
    )
    insurance.store_years(session, day.year, billing.VISIT_TYPE, changed)
    settled_visits = [v for v, *_ in done]
    audit.store_bills(session, _bills(session, day, settled_visits, settlement_ids, patients, reference))
    for row, sid in zip(rows, settlement_ids, strict=True):
        outbox.append(
            (
                "billing.settled",
                {"settlement_id": sid, "encounter_id": row["encounter_id"], "status": row["status"]},
            )
        )
        if row["status"] == SettlementStatus.ARREARS:
            report.arrears += 1
        else:
            report.settled += 1
    events.emit_many(session, outbox)


def _bills(
    session: Session,
    day: date,
    visits: list[_Visit],
    settlement_ids: list[int],
    patients: dict[int, tuple[str, str, str, str, date]],
    reference: _Reference,
) -> list[tuple[str, list[ClaimLine]]]:
    """The settled bills as claim lines (as ``settlement._claim_lines`` makes them one by one)."""
    ids = [v.encounter_id for v in visits]
    primary = outpatient.primary_diagnosis_codes(session, ids)
    orders: dict[int, list[tuple[int, str, int, int]]] = {}
    for oid, eid, code, qty, price in outpatient.live_order_lines(session, ids):
        orders.setdefault(eid, []).append((oid, code, qty, price))
    bills = []
    for v, sid in zip(visits, settlement_ids, strict=True):
        scheme, _region, mpi, sex, birth = patients[v.patient_id]
        _r, level, inst_code = reference.institutions[v.institution_id]
        bill = billing.BillOf(
            v.encounter_id,
            mpi,
            sex,
            birth,
            scheme,
            level,
            primary.get(v.encounter_id, ""),
            audit.qualified_department(inst_code, reference.departments[v.department_id]),
            day,
        )
        lines = [
            bill.line(billing.ORDER_LINE_BASE + oid, code, qty, price)
            for oid, code, qty, price in orders.get(v.encounter_id, [])
            if oid in v.order_ids  # this settlement's charges (a visit may span days and settlements)
        ]
        bills.append((f"settlement:{sid}", lines))
    return bills


# ---------------------------------------------------------------- workers


ChunkHook = Callable[[Session, int], None]


def settle_worker(
    factory: sessionmaker[Session],
    day: date,
    *,
    chunk: int = DEFAULT_CHUNK,
    start_at: float = 0.0,
    stop_after: int | None = None,
    before_commit: ChunkHook | None = None,
) -> SettleDayReport:
    """One worker: claims chunks of the day's open encounters (skipping those another worker holds)
    and settles each chunk in one transaction, until a pass over what is still open claims nothing.

    ``start_at`` (0–1) is where in the day's list this worker starts, so workers begin apart.
    ``stop_after`` stops (as if killed, the chunk in flight rolled back) before the chunk that would
    take it past that many encounters; ``before_commit(session, chunk_no)`` runs after a chunk's
    writes are flushed and before its commit (a test kills the process there)."""
    report = SettleDayReport(day=day)
    reference = _Reference()
    processed = chunks = 0
    while True:
        with factory() as session:
            todo = pending_encounters(session, day)
        if not todo:
            return report
        first = int(len(todo) * start_at) % len(todo)
        todo = todo[first:] + todo[:first]
        claimed = 0
        for start in range(0, len(todo), chunk):
            part = SettleDayReport(day=day)
            with factory() as session:
                visits = _claim(session, day, todo[start : start + chunk])
                if not visits:
                    session.rollback()
                    continue
                if stop_after is not None and processed + len(visits) > stop_after:
                    session.rollback()
                    return report  # killed: the chunk in flight is lost, nothing half-written
                settle_chunk(session, day, visits, reference, part)
                session.flush()
                chunks += 1
                if before_commit is not None:
                    before_commit(session, chunks)
                session.commit()
            processed += len(visits)
            claimed += len(visits)
            report.add(part)
        if not claimed:
            return report


def settle_day_batch(
    factory: sessionmaker[Session],
    day: date,
    *,
    workers: int = 1,
    chunk: int = DEFAULT_CHUNK,
    stop_after: int | None = None,
) -> SettleDayReport:
    """Settle the day with ``workers`` threads sharing it through ``SKIP LOCKED`` (one on SQLite, whose
    writers queue on one lock anyway)."""
    bind = factory.kw.get("bind")
    if bind is None or bind.dialect.name != "postgresql":
        workers = 1
    if workers <= 1:
        return settle_worker(factory, day, chunk=chunk, stop_after=stop_after)
    total = SettleDayReport(day=day)
    lock = threading.Lock()
    failures: list[BaseException] = []

    def run(k: int) -> None:
        try:
            part = settle_worker(factory, day, chunk=chunk, start_at=k / workers)
        except BaseException as exc:  # reported after the others finish
            failures.append(exc)
            return
        with lock:
            total.add(part)

    threads = [threading.Thread(target=run, args=(k,), name=f"settle-{k}") for k in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if failures:
        raise failures[0]
    return total
