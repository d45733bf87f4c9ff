"""DRG services: import schemes and policies, group records, upload and analyse discharges.

Services flush, never commit; the caller (API request, page, CLI) owns the transaction.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy.orm import Session

from yilian.catalog import service as catalog
from yilian.drg import domain, importer, repository
from yilian.drg.domain import (
    CaseFact,
    DischargeRecord,
    Grouper,
    GroupResult,
    GroupStatus,
    RecordError,
    UnitStats,
)
from yilian.drg.errors import (
    BatchNotFound,
    InvalidPolicyFile,
    InvalidRecord,
    InvalidScheme,
    SchemeExists,
    SchemeNotFound,
)
from yilian.drg.models import (
    DrgAdrg,
    DrgBaseRate,
    DrgBatch,
    DrgCase,
    DrgComplication,
    DrgExclusion,
    DrgGroup,
    DrgMdc,
    DrgScheme,
)
from yilian.kit.access_log import record_access
from yilian.kit.auth.domain import Actor
from yilian.kit.clock import utcnow
from yilian.kit.errors import found
from yilian.kit.textfile import decode_text

_GROUPERS: dict[tuple[int, str], Grouper] = {}


# ---------------------------------------------------------------------- schemes


def import_scheme(
    session: Session, code: str, texts: dict[str, str], *, name: str = "", replace: bool = False
) -> tuple[DrgScheme, importer.ParseReport]:
    """Store a scheme parsed from the national text tables; returns the scheme and the parse report."""
    if not code or len(code) > 32:
        raise InvalidScheme("方案编码须为 1–32 个字符")
    try:
        scheme, report = importer.build_scheme(code, texts)
    except KeyError as exc:
        raise InvalidScheme(f"缺少文件 {exc.args[0]}.txt") from exc
    if not scheme.mdcs or not scheme.adrgs or not scheme.drgs:
        raise InvalidScheme("未能读出 MDC、ADRG 或 DRG 列表")
    existing = repository.scheme_by_code(session, code)
    if existing is not None and not replace:
        raise SchemeExists(f"方案 {code} 已导入（如需覆盖请使用 replace）")
    if existing is None:
        row = DrgScheme(code=code, name=name or f"CHS-DRG {code}", imported_at=utcnow(), counts={}, notes=[])
        session.add(row)
        session.flush()
    else:
        row = existing
        repository.delete_scheme_tables(session, row.id)
        row.imported_at = utcnow()
        if name:
            row.name = name
    row.counts = dict(report.counts)
    row.notes = list(report.notes)
    row.or_procedures = sorted(scheme.or_procedures)
    sid = row.id
    repository.bulk_insert(
        session,
        DrgMdc,
        [
            {
                "scheme_id": sid,
                "seq": i,
                "code": m.code,
                "name": m.name,
                "sex": m.sex,
                "principal_dx": sorted(m.principal_dx),
                "sites": {k: sorted(v) for k, v in scheme.z_sites.items()} if m.code == "MDCZ" else {},
            }
            for i, m in enumerate(scheme.mdcs)
        ],
    )
    repository.bulk_insert(
        session,
        DrgAdrg,
        [
            {
                "scheme_id": sid,
                "seq": i,
                "code": a.code,
                "name": a.name[:200],
                "mdc": a.mdc,
                "conditions": [domain.condition_to_dict(c) for c in a.conditions],
            }
            for i, a in enumerate(scheme.adrgs)
        ],
    )
    repository.bulk_insert(
        session,
        DrgGroup,
        [{"scheme_id": sid, "code": c, "name": n[:200], "adrg": c[:3]} for c, n in scheme.drgs.items()],
    )
    repository.bulk_insert(
        session,
        DrgComplication,
        [{"scheme_id": sid, "code": c, "level": "MCC", "tables": list(t)} for c, t in scheme.mcc.items()]
        + [{"scheme_id": sid, "code": c, "level": "CC", "tables": list(t)} for c, t in scheme.cc.items()],
    )
    repository.bulk_insert(
        session,
        DrgExclusion,
        [{"scheme_id": sid, "table_no": n, "codes": sorted(c)} for n, c in scheme.exclusions.items()],
    )
    session.flush()
    return row, report


def get_scheme(session: Session, code: str) -> DrgScheme:
    return found(repository.scheme_by_code(session, code), SchemeNotFound(f"没有编码为 {code} 的方案"))


def get_scheme_or_none(session: Session, code: str) -> DrgScheme | None:
    return repository.scheme_by_code(session, code)


def list_schemes(session: Session) -> Sequence[DrgScheme]:
    return repository.schemes(session)


def load_scheme(session: Session, row: DrgScheme) -> domain.Scheme:
    """Rebuild the in-memory scheme from its tables."""
    mdcs = repository.mdcs(session, row.id)
    sites: dict[str, frozenset[str]] = {}
    for m in mdcs:
        for site, codes in (m.sites or {}).items():
            sites[site] = frozenset(codes)
    mcc: dict[str, tuple[int, ...]] = {}
    cc: dict[str, tuple[int, ...]] = {}
    for c in repository.complications(session, row.id):
        (mcc if c.level == "MCC" else cc)[c.code] = tuple(c.tables)
    return domain.Scheme(
        version=row.code,
        mdcs=tuple(domain.Mdc(m.code, m.name, frozenset(m.principal_dx), m.sex) for m in mdcs),
        adrgs=tuple(
            domain.Adrg(a.code, a.name, a.mdc, tuple(domain.condition_from_dict(c) for c in a.conditions))
            for a in repository.adrgs(session, row.id)
        ),
        drgs={g.code: g.name for g in repository.groups(session, row.id)},
        mcc=mcc,
        cc=cc,
        exclusions={e.table_no: frozenset(e.codes) for e in repository.exclusions(session, row.id)},
        z_sites=sites,
        or_procedures=frozenset(row.or_procedures or ()),
    )


def grouper(session: Session, code: str) -> Grouper:
    """The grouper of a scheme with the code names of the catalogue, built once per scheme id, import
    time and size of the code tables (cached)."""
    row = get_scheme(session, code)
    sizes = catalog.code_table_sizes(session)
    key = (row.id, f"{row.code}@{row.imported_at.isoformat()}@{sizes}")
    found = _GROUPERS.get(key)
    if found is None:
        found = Grouper(load_scheme(session, row), catalog.code_names(session))
        for old in [k for k in _GROUPERS if k[0] == row.id]:
            del _GROUPERS[old]
        _GROUPERS[key] = found
    return found


# ---------------------------------------------------------------------- weights, base rates, thresholds

POLICY_COLUMNS = (
    "type",
    "key",
    "weight",
    "mean_cost_yuan",
    "mean_los_days",
    "high_ratio",
    "low_ratio",
    "rate_yuan",
)


@dataclass
class PolicyReport:
    weights: int = 0
    base_rates: int = 0
    thresholds: int = 0


def _dec(value: str, line: int, what: str) -> Decimal | None:
    value = (value or "").strip()
    if not value:
        return None
    try:
        out = Decimal(value)
    except InvalidOperation as exc:
        raise InvalidPolicyFile(f"第 {line} 行：{what}“{value}”不是数字") from exc
    if out < 0:
        raise InvalidPolicyFile(f"第 {line} 行：{what}不能为负数")
    return out


def _fen(value: Decimal | None) -> int | None:
    return None if value is None else int((value * 100).quantize(Decimal("1"), rounding="ROUND_HALF_UP"))


def import_policy(session: Session, code: str, text: str) -> PolicyReport:
    """Import weights (RW), mean cost and stay per DRG, base rates per level and outlier thresholds.

    All-or-nothing: a bad line raises and nothing is changed."""
    scheme = get_scheme(session, code)
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in ("type", "key") if c not in (reader.fieldnames or [])]
    if missing:
        raise InvalidPolicyFile(f"缺少列：{', '.join(missing)}")
    groups = {g.code: g for g in repository.groups(session, scheme.id)}
    rates = {r.institution_level: r for r in repository.base_rates(session, scheme.id)}
    report = PolicyReport()
    updates: list[tuple[str, Any]] = []
    for line, row in enumerate(reader, start=2):
        kind = (row.get("type") or "").strip()
        key = (row.get("key") or "").strip()
        if kind == "weight":
            if key not in groups:
                raise InvalidPolicyFile(f"第 {line} 行：方案 {code} 中没有 DRG {key}")
            weight = found(
                _dec(row.get("weight", ""), line, "权重"), InvalidPolicyFile(f"第 {line} 行：缺少权重")
            )
            updates.append(("weight", (key, weight, row, line)))
            report.weights += 1
        elif kind == "base_rate":
            rate = _dec(row.get("rate_yuan", ""), line, "费率")
            if not key or rate is None or rate == 0:
                raise InvalidPolicyFile(f"第 {line} 行：费率须有机构等级和正数金额")
            updates.append(("rate", (key, _fen(rate))))
            report.base_rates += 1
        elif kind == "threshold":
            high = _dec(row.get("high_ratio", ""), line, "高倍率")
            low = _dec(row.get("low_ratio", ""), line, "低倍率")
            if high is None or low is None or not low < 1 < high:
                raise InvalidPolicyFile(f"第 {line} 行：高倍率须 > 1，低倍率须 < 1")
            updates.append(("threshold", (high, low)))
            report.thresholds += 1
        else:
            raise InvalidPolicyFile(f"第 {line} 行：类型“{kind}”应为 weight、base_rate 或 threshold")
    for kind, payload in updates:
        if kind == "weight":
            key, weight, row, line = payload
            g = groups[key]
            g.weight = weight
            g.mean_cost_fen = _fen(_dec(row.get("mean_cost_yuan", ""), line, "平均费用"))
            g.mean_los_days = _dec(row.get("mean_los_days", ""), line, "平均住院日")
            g.high_ratio = _dec(row.get("high_ratio", ""), line, "高倍率")
            g.low_ratio = _dec(row.get("low_ratio", ""), line, "低倍率")
        elif kind == "rate":
            level, fen = payload
            if level in rates:
                rates[level].rate_fen = fen
            else:
                rates[level] = DrgBaseRate(scheme_id=scheme.id, institution_level=level, rate_fen=fen)
                session.add(rates[level])
        else:
            scheme.high_ratio, scheme.low_ratio = payload
    session.flush()
    return report


def policies(session: Session, scheme: DrgScheme) -> dict[str, domain.DrgPolicy]:
    out = {}
    for g in repository.groups(session, scheme.id):
        if g.weight is None:
            continue
        out[g.code] = domain.DrgPolicy(
            drg=g.code,
            weight=g.weight,
            mean_cost_fen=g.mean_cost_fen,
            mean_los_days=g.mean_los_days,
            high_ratio=g.high_ratio if g.high_ratio is not None else scheme.high_ratio,
            low_ratio=g.low_ratio if g.low_ratio is not None else scheme.low_ratio,
        )
    return out


# ---------------------------------------------------------------------- grouping


def group_records(session: Session, code: str, records: Iterable[DischargeRecord]) -> list[GroupResult]:
    g = grouper(session, code)
    return [g.group(r) for r in records]


def require_known_codes(session: Session, rec: DischargeRecord) -> None:
    """Where a person types a record (the coder's page): refuse codes that are not in the catalogue's
    医保版 tables (:class:`catalog.UnknownCodes`, a Chinese message naming them). Without loaded code
    tables nothing can be checked and nothing is refused."""
    dx_count, px_count = catalog.code_table_sizes(session)
    if dx_count:
        catalog.require_codes(session, "diagnosis", [rec.principal_dx, *rec.other_dx])
    if px_count and rec.procedures:
        catalog.require_codes(session, "procedure", list(rec.procedures))


def search_codes(session: Session, kind: str, q: str) -> list[catalog.CodeEntry]:
    """Codes of the 医保版 tables by code prefix, name or pinyin initials (the coder's look-up)."""
    return catalog.search_codes(session, "procedure" if kind == "procedure" else "diagnosis", q, limit=15)


def code_name(session: Session, code: str) -> str | None:
    """The 医保版 name of a diagnosis code; ``""`` if unknown; None when no code table is loaded."""
    if not catalog.code_table_sizes(session)[0]:
        return None
    found = catalog.code_entries(session, "diagnosis", [code]).get(code)
    return found.name if found else ""


def check_principal_dx(session: Session, code: str, pdx: str) -> tuple[str | None, list[catalog.CodeEntry]]:
    """Before grouping (the coder's page): why the principal diagnosis cannot be grouped, if it cannot,
    and the codes of the scheme's MDC tables that extend it, with their names."""
    reason, extended = grouper(session, code).principal_dx_problem(pdx)
    if reason is None:
        return None, []
    found = catalog.code_entries(session, "diagnosis", list(extended))
    return reason, [found.get(c) or catalog.CodeEntry("diagnosis", c, "", "") for c in extended]


def parse_row(row: dict[str, str], line: int) -> DischargeRecord:
    try:
        return domain.record_from_row(row)
    except RecordError as exc:
        raise InvalidRecord(f"第 {line} 行 {exc.field_name}：{exc.message}") from exc


def read_table(data: bytes, filename: str) -> list[dict[str, str]]:
    """Rows of an uploaded CSV (UTF-8) or Excel (.xlsx, first sheet) file, keyed by header."""
    if filename.lower().endswith((".xlsx", ".xlsm")):
        from openpyxl import load_workbook

        try:
            wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises several types for a bad file
            raise InvalidRecord("无法读取 Excel 文件") from exc
        ws = wb.worksheets[0]
        rows = ws.iter_rows(values_only=True)
        header = [str(h).strip() if h is not None else "" for h in next(rows, ())]
        out = []
        for values in rows:
            if values is None or all(v is None for v in values):
                continue
            out.append({h: _cell(v) for h, v in zip(header, values, strict=False) if h})
        return out
    return list(csv.DictReader(io.StringIO(decode_text(data))))


def _cell(value: object) -> str:
    if value is None:
        return ""
    if hasattr(value, "isoformat"):
        return str(value.isoformat())[:10]
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def upload_batch(
    session: Session,
    actor: Actor,
    code: str,
    rows: Sequence[dict[str, str]],
    *,
    name: str,
    institution_level: str = "三级",
) -> DrgBatch:
    """Group and price a month of discharge records and store them; a bad row stores nothing."""
    scheme = get_scheme(session, code)
    if not rows:
        raise InvalidRecord("文件中没有病案记录")
    records = [(parse_row(r, i), domain.row_meta(r)) for i, r in enumerate(rows, start=2)]
    g = grouper(session, code)
    pol = policies(session, scheme)
    rate = repository.base_rate(session, scheme.id, institution_level)
    rate_fen = rate.rate_fen if rate else 0
    batch = DrgBatch(
        scheme_id=scheme.id,
        name=name[:200] or "出院病案",
        institution_level=institution_level,
        uploaded_at=utcnow(),
        uploaded_by=actor.username,
    )
    session.add(batch)
    session.flush()
    out: list[dict[str, Any]] = []
    counts = {s.value: 0 for s in GroupStatus}
    for rec, (record_no, doctor) in records:
        res = g.group(rec)
        counts[res.status] += 1
        out.append(_case_row(batch.id, rec, record_no, doctor, res, pol.get(res.drg), rate_fen))
    repository.bulk_insert(session, DrgCase, out)
    batch.rows = len(records)
    batch.grouped, batch.ungroupable, batch.ambiguous = (
        counts[GroupStatus.GROUPED],
        counts[GroupStatus.UNGROUPABLE],
        counts[GroupStatus.AMBIGUOUS],
    )
    session.flush()
    record_access(session, actor, action="create", resource=f"drg_batch:{batch.id}", reason="上传出院病案")
    return batch


def _case_row(
    batch_id: int,
    rec: DischargeRecord,
    record_no: str,
    doctor: str,
    res: GroupResult,
    policy: domain.DrgPolicy | None,
    rate_fen: int,
) -> dict[str, Any]:
    cost = rec.total_cost_fen or 0
    weight = policy.weight if policy else None
    return {
        "batch_id": batch_id,
        "record_no": record_no[:40],
        "department": (rec.department or "未填科室")[:100],
        "doctor": doctor[:100],
        "sex": rec.sex,
        "age_years": rec.age_years,
        "age_days": rec.age_days,
        "birth_weight_g": rec.birth_weight_g,
        "admission_date": rec.admission_date,
        "discharge_date": rec.discharge_date,
        "los_days": rec.los_days or 0,
        "disposition": rec.disposition[:8],
        "principal_dx": rec.principal_dx[:40],
        "other_dx": "|".join(rec.other_dx),
        "procedures": "|".join(rec.procedures),
        "ventilation_hours": rec.ventilation_hours,
        "total_cost_fen": cost,
        "status": res.status,
        "mdc": res.mdc,
        "adrg": res.adrg,
        "drg": res.drg,
        "severity": res.severity,
        "trigger": res.trigger,
        "weight": weight,
        "payment_fen": domain.expected_payment_fen(weight, rate_fen) if weight is not None else 0,
        "outlier": domain.outlier(cost, policy) if policy else "",
        "explanation": res.explanation,
        "unknown_codes": "|".join(res.unknown),
    }


def get_batch(session: Session, batch_id: int) -> DrgBatch:
    return found(repository.batch(session, batch_id), BatchNotFound(f"批次 {batch_id} 不存在"))


def list_batches(session: Session) -> Sequence[DrgBatch]:
    return repository.batches(session)


def batch_cases(
    session: Session, actor: Actor, batch_id: int, department: str | None = None
) -> Sequence[DrgCase]:
    get_batch(session, batch_id)
    record_access(session, actor, action="read", resource=f"drg_batch:{batch_id}", reason="DRG 病例明细")
    return repository.cases(session, batch_id, department)


@dataclass
class Analysis:
    batch: DrgBatch
    departments: list[UnitStats]
    doctors: list[UnitStats]
    losing_drgs: list[tuple[str, str, int, int]]  # department, drg, cases, profit fen
    by_drg: list[tuple[str, int, Decimal, int, int]]  # drg, cases, weight, cost, payment
    outliers: list[DrgCase]
    #: names a person reads beside the codes: DRG names and the 医保版 diagnosis/procedure names
    grouper: Grouper | None = None

    def drg_label(self, code: str) -> str:
        name = self.grouper.drgs.get(code, "") if self.grouper else ""
        return f"{code} {name}" if name else code

    def code_label(self, code: str) -> str:
        return self.grouper.label(code) if self.grouper else code


def analyse_batch(session: Session, actor: Actor, batch_id: int, department: str | None = None) -> Analysis:
    batch = get_batch(session, batch_id)
    rows = repository.cases(session, batch_id)
    record_access(session, actor, action="read", resource=f"drg_batch:{batch_id}", reason="DRG 运营分析")
    grouped = [r for r in rows if r.status == GroupStatus.GROUPED and r.weight is not None]
    facts = [
        CaseFact(
            department=r.department,
            doctor=f"{r.department}/{r.doctor or '未填'}",
            drg=r.drg,
            weight=r.weight or Decimal(0),
            cost_fen=r.total_cost_fen,
            los_days=r.los_days,
            payment_fen=r.payment_fen,
            outlier=r.outlier,
        )
        for r in grouped
    ]
    departments = domain.analyse(facts, "department")
    doctors = domain.analyse(facts, "doctor")
    if department:
        doctors = [d for d in doctors if d.unit.startswith(department + "/")]
    loss: dict[tuple[str, str], list[int]] = {}
    drg_sum: dict[str, list[Any]] = {}
    for r in grouped:
        if department and r.department != department:
            continue
        item = loss.setdefault((r.department, r.drg), [0, 0])
        item[0] += 1
        item[1] += r.payment_fen - r.total_cost_fen
        d = drg_sum.setdefault(r.drg, [0, Decimal(0), 0, 0])
        d[0] += 1
        d[1] += r.weight or 0
        d[2] += r.total_cost_fen
        d[3] += r.payment_fen
    losing = sorted(((k[0], k[1], v[0], v[1]) for k, v in loss.items() if v[1] < 0), key=lambda t: t[3])[:10]
    by_drg = sorted(((k, v[0], v[1], v[2], v[3]) for k, v in drg_sum.items()), key=lambda t: -t[1])
    outliers = [r for r in grouped if r.outlier and (not department or r.department == department)]
    return Analysis(batch, departments, doctors, losing, by_drg, outliers, batch_grouper(session, batch))


def batch_grouper(session: Session, batch: DrgBatch) -> Grouper | None:
    """The grouper (with its code names) of the scheme a batch was grouped with."""
    scheme = session.get(DrgScheme, batch.scheme_id)
    return grouper(session, scheme.code) if scheme is not None else None


def _principal_procedure(g: Grouper | None, case: DrgCase) -> str:
    """The procedure a stored case was grouped with (the first OR procedure if the first listed is not)."""
    procs = tuple(p for p in case.procedures.split("|") if p)
    if not procs:
        return ""
    if g is None:
        return procs[0]
    return g.principal_procedure(DischargeRecord(principal_dx=case.principal_dx, procedures=procs))[0] or ""


def case_view(g: Grouper | None, case: DrgCase) -> dict[str, str]:
    """What a person reads of a stored case: codes with their names."""
    pproc = _principal_procedure(g, case)
    label = g.label if g else (lambda c: c or "")
    return {
        "principal_dx": label(case.principal_dx),
        "principal_procedure": label(pproc) if pproc else "",
        "drg": f"{case.drg} {g.drgs.get(case.drg, '')}".strip() if g else case.drg,
    }


def export_xlsx(session: Session, actor: Actor, batch_id: int) -> bytes:
    """Excel workbook: departments, doctors, loss-making groups and the cases of a batch."""
    from openpyxl import Workbook

    a = analyse_batch(session, actor, batch_id)
    wb = Workbook()
    head = [
        "单元",
        "病例数",
        "总权重",
        "CMI",
        "费用消耗指数",
        "时间消耗指数",
        "总费用(元)",
        "DRG 支付(元)",
        "盈亏(元)",
        "高倍率",
        "低倍率",
    ]

    def stats_sheet(title: str, items: list[UnitStats], ws: Any) -> None:
        ws.title = title
        ws.append(head)
        for s in items:
            ws.append(
                [
                    s.unit,
                    s.cases,
                    float(s.total_weight),
                    float(s.cmi),
                    float(s.cost_index),
                    float(s.time_index),
                    s.cost_fen / 100,
                    s.payment_fen / 100,
                    s.profit_fen / 100,
                    s.high_outliers,
                    s.low_outliers,
                ]
            )

    stats_sheet("科室", a.departments, wb.active)
    stats_sheet("医生", a.doctors, wb.create_sheet())
    ws = wb.create_sheet("亏损病组")
    ws.append(["科室", "DRG", "病例数", "盈亏(元)"])
    for dept, drg, n, profit in a.losing_drgs:
        ws.append([dept, drg, n, profit / 100])
    ws = wb.create_sheet("病例")
    ws.append(
        [
            "病案号",
            "科室",
            "医生",
            "主要诊断",
            "主要诊断名称",
            "主要手术",
            "主要手术名称",
            "MDC",
            "ADRG",
            "DRG",
            "状态",
            "CC/MCC",
            "权重",
            "费用(元)",
            "支付(元)",
            "偏差",
            "未知编码",
        ]
    )
    names = a.grouper.names if a.grouper else {}
    for r in repository.cases(session, batch_id):
        pproc = _principal_procedure(a.grouper, r)
        ws.append(
            [
                r.record_no,
                r.department,
                r.doctor,
                r.principal_dx,
                names.get(r.principal_dx, ""),
                pproc,
                names.get(pproc, ""),
                r.mdc or "",
                r.adrg or "",
                r.drg,
                r.status,
                r.severity,
                float(r.weight) if r.weight is not None else None,
                r.total_cost_fen / 100,
                r.payment_fen / 100,
                r.outlier,
                r.unknown_codes,
            ]
        )
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def synthetic_policy_csv(session: Session, code: str, *, seed: int = 7, rate_yuan: str = "12000") -> str:
    """A synthetic (not published) policy file for demos and tests: RW from the DRG suffix and a
    hash of its code, mean cost = RW × base rate, mean stay from RW."""
    import random

    rnd = random.Random(seed)
    scheme = get_scheme(session, code)
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(POLICY_COLUMNS)
    base = Decimal(rate_yuan)
    for g in repository.groups(session, scheme.id):
        rw = Decimal(rnd.randint(40, 300)) / 100
        if g.code[1] in "ABCDEFGHIJ":
            rw = rw * 2
        rw *= {"1": Decimal("1.5"), "3": Decimal("1.2")}.get(g.code[3], Decimal(1))
        rw = rw.quantize(Decimal("0.0001"))
        w.writerow(
            [
                "weight",
                g.code,
                rw,
                (rw * base).quantize(Decimal("0.01")),
                (rw * 5 + 2).quantize(Decimal("0.1")),
                "",
                "",
                "",
            ]
        )
    for level, factor in (("三级", "1"), ("二级", "0.85"), ("一级", "0.7")):
        w.writerow(
            ["base_rate", level, "", "", "", "", "", (base * Decimal(factor)).quantize(Decimal("0.01"))]
        )
    w.writerow(["threshold", "default", "", "", "", "2.0", "0.4", ""])
    return buf.getvalue()


def grouped_case_totals(
    session: Session, start: date, end: date
) -> list[tuple[date, int, Decimal, int, int]]:
    """Bulk read for analytics: grouped cases, weights (for CMI), cost and DRG payment by discharge date."""
    return repository.grouped_case_totals(session, start, end)
