"""Demo results: qualification of the demo labs (one with lapsed 室间质评), local-code equivalences and
200,000 historical results per scale 1 across the alliance (bulk inserted), plus the browser-test story:
the demo patient's blood glucose at 海安市第二人民医院 10 days before today."""

from __future__ import annotations

import random
from datetime import UTC, datetime, time, timedelta

from sqlalchemy.orm import Session

from yilian.kit.auth import service as auth
from yilian.kit.auth.domain import Actor
from yilian.kit.clock import business_date, local_datetime, utcnow
from yilian.registry import service as registry
from yilian.results import domain, service
from yilian.results.domain import ItemKind

RESULTS_PER_SCALE = 200_000
CHUNK = 20_000
LAB_INSTITUTIONS = ("NTGH", "NTCH", "HARH", "CCCD", "TZJS", "GZQZ")
HR_MARKED = ("NTGH", "NTCH", "HARH")
LAPSED_QA = "GZQZ"  # 秦灶社区: 室间质评 expired last year — its results are not recognisable
STORY_SOURCE = "HARH"
# (lo, hi, unit, reference range) of a plausible value for lab items
RANGES = {
    "K": (3.2, 5.6, "3.5-5.3"),
    "NA": (133, 147, "137-147"),
    "CL": (96, 110, "99-110"),
    "CA": (2.0, 2.7, "2.11-2.52"),
    "MG": (0.7, 1.1, "0.75-1.02"),
    "FE": (7, 32, "7.8-32.2"),
    "TIBC": (40, 80, "45-75"),
    "PHOS": (0.8, 1.6, "0.85-1.51"),
    "LI": (0.2, 1.2, "0.6-1.2"),
    "TP": (58, 85, "65-85"),
    "ALB": (32, 55, "40-55"),
    "FERR": (15, 400, "15-200"),
    "GLU": (3.6, 11.5, "3.9-6.1"),
    "TC": (3.0, 7.5, "2.8-5.17"),
    "TG": (0.4, 4.0, "0.56-1.7"),
    "TBIL": (3, 30, "3.4-20.5"),
    "HBA1C": (4.2, 10.5, "4.0-6.0"),
}
REPORTS = {
    "CT": "双肺纹理清晰，未见明显实质性病变。纵隔居中。",
    "MR": "脑实质未见明显异常信号，中线结构居中。",
    "DX": "两肺野清晰，心影大小形态未见异常。",
    "US": "肝胆胰脾未见明显异常。",
}


def seed(session: Session, *, seed_value: int, scale: float) -> str:
    rng = random.Random(seed_value + 5)
    system = Actor.system("demo")
    today = business_date()
    institutions = {i.code: i for i in registry.list_institutions(session, limit=1000)[0]}
    labs = [institutions[c] for c in LAB_INSTITUTIONS if c in institutions]
    if not labs:
        return "results: no demo institutions"
    for inst in labs:
        service.set_hr_mark(session, system, inst.id, inst.code in HR_MARKED)
        for discipline in ("临床化学", "临床免疫", "临床血液"):
            if inst.code == LAPSED_QA:
                service.set_qa(
                    session,
                    system,
                    institution_id=inst.id,
                    discipline=discipline,
                    passed=True,
                    passed_on=today.replace(year=today.year - 2),
                    expires_on=today - timedelta(days=200),
                )
            else:
                service.set_qa(
                    session,
                    system,
                    institution_id=inst.id,
                    discipline=discipline,
                    passed=True,
                    passed_on=today - timedelta(days=120),
                    expires_on=today + timedelta(days=245),
                )
    if "HARH" in institutions:
        for local, code in (("HA-XT", "GLU"), ("HA-K", "K"), ("HA-THXHDB", "HBA1C")):
            service.add_code_map(
                session,
                system,
                institution_id=institutions["HARH"].id,
                local_code=local,
                item_code=code,
                local_name=service.get_item(session, code).name,
            )

    patients, _ = registry.search_patients(session, system, q="", limit=1_000_000)
    story_patient = next(
        (u.patient_id for u in auth.list_users(session, limit=1000)[0] if u.username == "patient"), None
    )
    pool = [p.id for p in patients if p.id != story_patient]
    items = [service.to_domain_item(i) for i in service.list_items(session)]
    labs_items = [i for i in items if i.kind is ItemKind.LAB]
    imaging_items = [i for i in items if i.kind is ItemKind.IMAGING and i.modality in REPORTS]  # no ECG
    imaging_sources = [i for i in labs if i.level >= 2]
    total = int(RESULTS_PER_SCALE * scale)
    now = utcnow()
    rows: list[dict[str, object]] = []
    written = 0
    for n in range(total):
        patient_id = rng.choice(pool)
        # a third within the last 60 days (many still valid), the rest over two years
        age = rng.randint(0, 59) if rng.random() < 0.33 else rng.randint(60, 730)
        day = today - timedelta(days=age)
        observed = local_datetime(day, time(rng.randint(7, 17), rng.choice((0, 15, 30, 45))))
        if rng.random() < 0.88:
            item = rng.choice(labs_items)
            inst = rng.choice(labs)
            lo, hi, ref = RANGES.get(item.code, (1, 10, ""))
            value = round(rng.uniform(lo, hi), 2)
            low, high = (float(x) for x in ref.split("-")) if ref else (lo, hi)
            flag = "H" if value > high else "L" if value < low else "N"
            local = item.code
            if inst.code == "HARH" and item.code in ("GLU", "K", "HBA1C"):
                local = {"GLU": "HA-XT", "K": "HA-K", "HBA1C": "HA-THXHDB"}[item.code]
            row = _row(
                patient_id,
                inst.id,
                item,
                local,
                str(value),
                value,
                ref,
                flag,
                observed,
                day,
                f"demo:{seed_value}:{n}",
                now,
                rng,
            )
        else:
            item = rng.choice(imaging_items)
            inst = rng.choice(imaging_sources)
            row = _row(
                patient_id,
                inst.id,
                item,
                item.code,
                "",
                None,
                "",
                "",
                observed,
                day,
                f"demo:{seed_value}:{n}",
                now,
                rng,
                report=REPORTS[item.modality],
                study_uid=f"1.2.826.0.1.3680043.10.1289.{seed_value}.{n}",
            )
        rows.append(row)
        if len(rows) >= CHUNK:
            service.bulk_insert_results(session, rows)
            written += len(rows)
            rows = []
    story = ""
    if story_patient is not None and STORY_SOURCE in institutions:
        glu = service.get_item(session, "GLU")
        day = today - timedelta(days=10)
        rows.append(
            _row(
                story_patient,
                institutions[STORY_SOURCE].id,
                service.to_domain_item(glu),
                "HA-XT",
                "6.8",
                6.8,
                "3.9-6.1",
                "H",
                local_datetime(day, time(8, 20)),
                day,
                f"demo:{seed_value}:story-glu",
                now,
                rng,
                status="final",
            )
        )
        for back, value in ((95, 7.4), (190, 7.9), (300, 8.3)):
            d = today - timedelta(days=back)
            rows.append(
                _row(
                    story_patient,
                    institutions["NTGH"].id,
                    service.to_domain_item(glu),
                    "GLU",
                    str(value),
                    value,
                    "3.9-6.1",
                    "H",
                    local_datetime(d, time(8, 5)),
                    d,
                    f"demo:{seed_value}:story-glu-{back}",
                    now,
                    rng,
                    status="final",
                )
            )
        story = "; demo patient's glucose at 海安二院 10 days ago"
    service.bulk_insert_results(session, rows)
    written += len(rows)
    session.flush()
    return f"results: {written} historical results, {len(labs)} qualified labs ({LAPSED_QA} QA lapsed){story}"


def _row(
    patient_id: int,
    institution_id: int,
    item: domain.ExamItem,
    local_code: str,
    value_text: str,
    value_num: float | None,
    ref: str,
    flag: str,
    observed: datetime,
    day: object,
    key: str,
    now: datetime,
    rng: random.Random,
    *,
    report: str = "",
    study_uid: str = "",
    status: str | None = None,
) -> dict[str, object]:
    if status is None:
        status = "final" if rng.random() < 0.97 else "preliminary"
    return {
        "patient_id": patient_id,
        "institution_id": institution_id,
        "item_code": item.code,
        "local_code": local_code,
        "kind": item.kind.value,
        "value_text": value_text,
        "value_num": value_num,
        "unit": item.unit,
        "reference_range": ref,
        "abnormal_flag": flag,
        "status": status,
        "observed_at": observed.astimezone(UTC),
        "result_date": day,
        "report_text": report,
        "study_uid": study_uid,
        "channel": "demo",
        "source_key": key,
        "received_at": now,
    }
