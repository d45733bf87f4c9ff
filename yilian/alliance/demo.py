"""Demo data of alliance work: the city alliance led by the general hospital (its community centres and
a village clinic), a county alliance (海安), pairings (结对帮扶), the referral share of the coming two
weeks' clinics, and referrals from ``doctor2``'s community centre in every state."""

from __future__ import annotations

import random
from datetime import date, time, timedelta

from sqlalchemy.orm import Session

from yilian.alliance import service
from yilian.alliance.domain import AllianceKind, ReferralKind
from yilian.alliance.models import Referral
from yilian.alliance.schemas import (
    MemberAdd,
    NetworkCreate,
    PairingCreate,
    PostingCreate,
    ReferBackBody,
    ReferralCreate,
    SittingRecord,
)
from yilian.billing import service as billing
from yilian.billing import tasks as billing_tasks
from yilian.kit.auth import service as auth
from yilian.kit.auth.domain import ROLE_PERMISSIONS, Actor, Role
from yilian.kit.clock import FrozenClock, business_date, local_datetime, use_clock
from yilian.kit.errors import YilianError
from yilian.outpatient import service as outpatient
from yilian.registry import service as registry
from yilian.registry.domain import InstitutionCategory
from yilian.results import service as results
from yilian.results.domain import ResultStatus
from yilian.results.imaging import ImagingInput

SYSTEM = Actor.system("demo-alliance")
CITY_MEMBERS = ("NTCH", "CCCD", "TZJS", "GZQZ", "RDTP")
PAIRED = ("CCCD", "TZJS", "GZQZ")
UP_DEPARTMENT = (
    "NK02"  # 呼吸与危重症医学科: demo referrals go there (the cardiology clinic of ``doctor`` stays empty)
)
RESERVE_DAYS = 7  # the referral share is kept for the coming week (the scheduled job keeps it going)
STORIES = (
    ("慢性阻塞性肺疾病急性加重", "J44.1", "近一周气促加重，社区雾化后无缓解"),
    ("支气管哮喘", "J45.9", "夜间发作频繁，需专科调整吸入方案"),
    ("肺结节", "R91", "体检 CT 示右上肺 8 mm 磨玻璃结节，需专科评估"),
    ("社区获得性肺炎", "J18.9", "抗感染 3 天体温不退"),
    ("阻塞性睡眠呼吸暂停", "G47.3", "打鼾伴日间嗜睡，需睡眠监测"),
    ("支气管扩张", "J47", "反复咯血丝痰"),
    ("慢性咳嗽", "R05", "咳嗽 3 月余，胸片未见异常"),
    ("间质性肺疾病", "J84.9", "活动后气短，需肺功能与高分辨 CT"),
)


def _actor(session: Session, username: str) -> Actor | None:
    users = {u.username: u for u in auth.list_users(session, limit=1000)[0]}
    user = users.get(username)
    return auth.actor_for(user, channel="cli") if user is not None else None


def _networks(session: Session) -> tuple[int, int] | None:
    codes = {
        code: registry.institution_by_code(session, code) for code in ("NTGH", "HARH", "HAXH", *CITY_MEMBERS)
    }
    if any(v is None for v in codes.values()):
        return None
    ids = {code: inst.id for code, inst in codes.items() if inst is not None}
    city = service.create_network(
        session,
        SYSTEM,
        NetworkCreate(name="南通城市医疗集团", kind=AllianceKind.CITY, lead_institution_id=ids["NTGH"]),
    )
    for code in CITY_MEMBERS:
        service.add_member(session, SYSTEM, city.id, MemberAdd(institution_id=ids[code]))
    county = service.create_network(
        session,
        SYSTEM,
        NetworkCreate(name="海安县域医共体", kind=AllianceKind.COUNTY, lead_institution_id=ids["HARH"]),
    )
    service.add_member(session, SYSTEM, county.id, MemberAdd(institution_id=ids["HAXH"]))
    year = business_date().year
    for code in PAIRED:
        service.create_pairing(
            session,
            SYSTEM,
            city.id,
            PairingCreate(
                senior_institution_id=ids["NTGH"],
                member_institution_id=ids[code],
                start=date(year, 1, 1),
                end=date(year, 12, 31),
                goals="一院一策：专家每周坐诊、慢病联合门诊、检查结果互认、双向转诊绿色通道",
            ),
        )
    service.create_pairing(
        session,
        SYSTEM,
        county.id,
        PairingCreate(
            senior_institution_id=ids["HARH"],
            member_institution_id=ids["HAXH"],
            start=date(year, 1, 1),
            end=date(year, 12, 31),
            goals="村卫生室心电、影像由医共体共享诊断中心出报告",
        ),
    )
    return ids["NTGH"], ids["CCCD"]


def seed(session: Session, *, seed_value: int, scale: float) -> str:
    made = _networks(session)
    gp, desk, doctor = _actor(session, "doctor2"), _actor(session, "registrar"), _actor(session, "doctor")
    if made is None or gp is None or desk is None or doctor is None:
        return "alliance: no demo alliance"
    lead_id, _member_id = made
    today = business_date()
    run = service.reserve_places(
        session, start=today, end=today + timedelta(days=RESERVE_DAYS - 1), institution_id=lead_id
    )
    rng = random.Random(seed_value)
    dept_id = next(
        (
            d.id
            for d in registry.list_departments(session, institution_id=lead_id)[0]
            if d.code == UP_DEPARTMENT
        ),
        None,
    )
    patients, _ = registry.search_patients(session, gp, q="", limit=40)
    patients = [p for p in patients if p.home_institution_id == gp.institution_id]
    rng.shuffle(patients)
    states: dict[str, int] = {}
    for n, (target, patient) in enumerate(zip(_TARGETS, patients[5:], strict=False)):
        try:
            with session.begin_nested():
                r = _story(session, gp, desk, doctor, patient.id, lead_id, dept_id, n, target)
        except YilianError:
            continue
        states[r.state] = states.get(r.state, 0) + 1
    _patient_story(session, doctor, gp)
    sat = _sittings(session, rng, lead_id)
    past = _history(session, rng, gp, desk, doctor, [p.id for p in patients[5:15]], lead_id)
    read = _readings(session, rng, doctor, lead_id)
    visits = _grassroots_visits(session, random.Random(seed_value + 17), gp)
    return (
        f"alliance: 2 alliances, {sat} sitting days, {past} past referrals, {read} readings, "
        f"{visits} grassroots outpatient visits, "
        f"{run.reserved_places} referral places kept in {run.reserved_slots} slots, "
        f"{sum(states.values())} referrals ({', '.join(f'{k} {v}' for k, v in sorted(states.items()))})"
    )


_TARGETS = (
    "requested",
    "requested",
    "accepted",
    "refused",
    "booked",
    "booked",
    "arrived",
    "returned",
    "closed",
    "admission",
)


def _story(
    session: Session,
    gp: Actor,
    desk: Actor,
    doctor: Actor,
    patient_id: int,
    lead_id: int,
    dept_id: int | None,
    n: int,
    target: str,
) -> Referral:
    diagnosis, code, reason = STORIES[n % len(STORIES)]
    kind = ReferralKind.ADMISSION if target == "admission" else ReferralKind.OUTPATIENT
    r = service.create_referral(
        session,
        gp,
        ReferralCreate(
            patient_id=patient_id,
            kind=kind,
            to_institution_id=lead_id,
            to_department_id=dept_id,
            diagnosis_code=code,
            diagnosis=diagnosis,
            reason=reason,
            summary="社区随访记录见附件；近三月用药依从性好",
        ),
    )
    if target in ("requested", "admission"):
        return r
    if target == "refused":
        return service.refuse(session, desk, r.id, "该亚专科本周停诊，请改转肿瘤医院")
    service.accept(session, desk, r.id)
    if target == "accepted":
        return r
    slots = [
        slot
        for _sched, rows in service.bookable_slots(session, desk, r.id)
        for slot, left in rows
        if left > 0
    ]
    service.book(session, desk, r.id, slots[n % len(slots)].id)
    if target == "booked":
        return r
    service.mark_arrived(session, doctor, r.id)
    if target == "arrived":
        return r
    if target == "closed":
        return service.close(session, doctor, r.id, "专科调整方案后社区继续管理")
    service.refer_back(
        session,
        doctor,
        r.id,
        ReferBackBody(
            kind=ReferralKind.CHRONIC,
            summary="专科门诊调整方案，复查指标平稳",
            care_plan="按新方案用药；社区每两周随访，监测血糖/血压并记录；异常时经绿色通道复诊",
            follow_up_dates=[business_date() + timedelta(days=14), business_date() + timedelta(days=28)],
        ),
    )
    return r


def _patient_story(session: Session, doctor: Actor, gp: Actor) -> None:
    """The ``patient`` demo user goes home from the general hospital's clinic to the community centre
    for follow-up (her phone page shows the care plan)."""
    girl = _actor(session, "patient")
    if girl is None or girl.patient_id is None or gp.institution_id is None:
        return
    try:
        with session.begin_nested():
            down = service.create_referral(
                session,
                doctor,
                ReferralCreate(
                    patient_id=girl.patient_id,
                    kind=ReferralKind.REHABILITATION,
                    to_institution_id=gp.institution_id,
                    diagnosis_code="S52.5",
                    diagnosis="桡骨远端骨折术后",
                    reason="术后恢复良好，回社区康复",
                    summary="切开复位内固定术后 2 周，切口愈合良好",
                    care_plan="腕关节功能锻炼每日 3 次；术后 6 周社区复查 X 线；疼痛加重或肿胀及时复诊",
                    follow_up_dates=[
                        business_date() + timedelta(days=7),
                        business_date() + timedelta(days=28),
                    ],
                ),
            )
            service.accept(session, gp, down.id)
    except YilianError:
        return


SITTING_MEMBERS = ("TZJS", "GZQZ")  # doctor2's centre keeps its own timetable for the other stories
SITTING_WEEKS_BACK = 10


def _sittings(session: Session, rng: random.Random, lead_id: int) -> int:
    """Experts of the general hospital sit at two community centres once a week since ten weeks ago
    (until four weeks ahead); the past days are recorded."""
    network = next(n for n in service.list_networks(session, SYSTEM) if n.lead_institution_id == lead_id)
    experts = [
        p
        for p in registry.list_practitioners(session, institution_id=lead_id, limit=200)[0]
        if "主任" in p.title
    ]
    today = business_date()
    days = 0
    for n, code in enumerate(SITTING_MEMBERS):
        member = registry.institution_by_code(session, code)
        depts = service.clinical_departments(session, member.id) if member else []
        if member is None or not depts or len(experts) <= n:
            continue
        posting = service.create_posting(
            session,
            SYSTEM,
            network.id,
            PostingCreate(
                practitioner_id=experts[n].id,
                member_institution_id=member.id,
                member_department_id=depts[0][0],
                start=today - timedelta(weeks=SITTING_WEEKS_BACK),
                end=today + timedelta(weeks=4),
                weekdays=[1 + 2 * n],
                period="pm",
            ),
        )
        for sitting in service.sittings_of(session, SYSTEM, posting.id):
            days += 1
            if sitting.day >= today:
                continue
            came = rng.random() < 0.95
            service.record_sitting(
                session,
                SYSTEM,
                sitting.id,
                SittingRecord(
                    arrived=came,
                    patients_seen=rng.randint(12, 30) if came else 0,
                    teaching_rounds=int(came and rng.random() < 0.5),
                    consultations=rng.randint(0, 3) if came else 0,
                ),
            )
    return days


HISTORY_MONTHS = 5  # referrals and readings of the past months, so that the dashboard shows a trend


def _at(day: date, hour: float) -> FrozenClock:
    return FrozenClock(local_datetime(day, time(min(23, int(hour)), int(60 * (hour % 1)))))


def _history(
    session: Session,
    rng: random.Random,
    gp: Actor,
    desk: Actor,
    doctor: Actor,
    patient_ids: list[int],
    lead_id: int,
) -> int:
    """Up-referrals from ``doctor2``'s centre in each of the past months (answered within hours, some
    refused, the others seen and closed) and down-referrals back to it (accepted and closed)."""
    if not patient_ids or gp.institution_id is None:
        return 0
    today = business_date()
    made = 0
    for back in range(HISTORY_MONTHS, 0, -1):
        first = (today.replace(day=1) - timedelta(days=28 * back)).replace(day=1)
        for n in range(rng.randint(6, 12)):
            day = first + timedelta(days=rng.randint(0, 26))
            if day >= today - timedelta(days=6):
                continue
            patient_id = patient_ids[(back * 7 + n) % len(patient_ids)]
            try:
                with session.begin_nested():
                    _past_referral(
                        session,
                        rng,
                        (gp, desk, doctor),
                        patient_id,
                        lead_id,
                        day,
                        STORIES[(back + n) % len(STORIES)],
                    )
                made += 1
            except YilianError:
                continue
    return made


def _past_referral(
    session: Session,
    rng: random.Random,
    actors: tuple[Actor, Actor, Actor],
    patient_id: int,
    lead_id: int,
    day: date,
    story: tuple[str, str, str],
) -> None:
    gp, desk, doctor = actors
    diagnosis, code, reason = story
    assert gp.institution_id is not None
    up = rng.random() < 0.75
    hour = 8 + rng.random() * 8
    with use_clock(_at(day, hour)):
        if up:
            data = ReferralCreate(
                patient_id=patient_id,
                kind=ReferralKind.ADMISSION,  # the past days' clinics are gone; admission needs none
                to_institution_id=lead_id,
                diagnosis_code=code,
                diagnosis=diagnosis,
                reason=reason,
                summary="社区随访记录见附件",
            )
        else:
            data = ReferralCreate(
                patient_id=patient_id,
                kind=ReferralKind.CHRONIC,
                to_institution_id=gp.institution_id,
                diagnosis_code=code,
                diagnosis=diagnosis,
                reason="专科诊疗结束，回社区慢病随访",
                care_plan="按专科方案用药；社区每月随访一次，监测症状与用药依从性",
                follow_up_dates=[day + timedelta(days=30)],
            )
        r = service.create_referral(session, gp if up else doctor, data)
    receiver = desk if up else gp
    with use_clock(_at(day, hour + 0.5 + rng.random() * 6)):
        if up and rng.random() < 0.12:
            service.refuse(session, receiver, r.id, "本院床位紧张，建议转肿瘤医院")
            return
        service.accept(session, receiver, r.id)
    with use_clock(_at(day + timedelta(days=rng.randint(1, 5)), 10)):
        if up:
            service.mark_arrived(session, doctor, r.id)
            service.close(session, doctor, r.id, "住院治疗结束")
        else:
            service.close(session, gp, r.id, "已纳入社区慢病管理")


READINGS_PER_MONTH = (4, 9)
READING_MEMBERS = ("CCCD", "RDTP")  # doctor2's centre sends chest films, the village clinic its ECGs
ECG_MEMBERS = ("RDTP",)


def _second_reader(session: Session, lead_id: int, skip: int | None) -> Actor | None:
    """Another doctor of the general hospital (not a user; the demo acts for them)."""
    doctors = [
        p for p in registry.list_practitioners(session, institution_id=lead_id, limit=200)[0] if p.id != skip
    ]
    if not doctors:
        return None
    p = doctors[-1]
    return Actor(
        user_id=None,
        username=f"reader{p.id}",
        role=Role.DOCTOR,
        display_name=f"医生 {p.name}",
        institution_id=lead_id,
        practitioner_id=p.id,
        permissions=ROLE_PERMISSIONS[Role.DOCTOR],
    )


def _readings(session: Session, rng: random.Random, doctor: Actor, lead_id: int) -> int:
    """Chest films and ECGs of member clinics (of their own residents) read at the general hospital's centre
    in the past months (a film read by one doctor and verified by ``doctor`` within hours, an ECG back with
    its reader's report), and today's four (queued, claimed, reported, verified)."""
    reader = _second_reader(session, lead_id, doctor.practitioner_id)
    members = [m for m in (registry.institution_by_code(session, c) for c in READING_MEMBERS) if m]
    users = {a.patient_id for a in (_actor(session, "patient"), _actor(session, "family")) if a is not None}
    everyone, _ = registry.search_patients(session, SYSTEM, q="", limit=500)
    residents = {
        m.id: [p for p in everyone if p.home_institution_id == m.id and p.id not in users] for m in members
    }
    members = [m for m in members if residents[m.id]]
    if reader is None or not members:
        return 0
    today = business_date()
    made = 0
    for back in range(HISTORY_MONTHS, -1, -1):
        first = (today.replace(day=1) - timedelta(days=28 * back)).replace(day=1)
        for n in range(rng.randint(*READINGS_PER_MONTH) if back else 4):
            day = first + timedelta(days=rng.randint(0, 26)) if back else today
            if back and day >= today:
                continue
            member = members[n % len(members)]
            patient = residents[member.id][(back * 11 + n * 3) % len(residents[member.id])]
            steps = 3 if back else n  # today: 0 queued, 1 claimed, 2 reported, 3 verified
            try:
                with session.begin_nested():
                    _reading(session, rng, member.code, patient.id_number, day, (reader, doctor), steps)
                made += 1
            except YilianError:
                continue
    return made


def _reading(
    session: Session,
    rng: random.Random,
    sender: str,
    id_number: str,
    day: date,
    readers: tuple[Actor, Actor],
    steps: int,
) -> None:
    first, second = readers
    ecg = sender in ECG_MEMBERS
    hour = 8 + rng.random() * (1 if day == business_date() else 6)
    with use_clock(_at(day, hour)):
        result_id = results.ingest_imaging(
            session,
            ImagingInput(
                study_uid=f"2.25.{rng.getrandbits(100)}",
                id_number=id_number,
                sender_code=sender,
                modality="ECG" if ecg else "DX",
                body_part="HEART" if ecg else "CHEST",
                started=local_datetime(day, time(int(hour), 0)),
                report_text="待医联体共享诊断中心出具报告",
                status=ResultStatus.PRELIMINARY,
            ),
        ).result_ids[0]
        reading = service.queue_reading(session, SYSTEM, result_id)
    if steps < 1:
        return
    with use_clock(_at(day, hour + 0.3 + rng.random())):
        service.claim_reading(session, first, reading.id)
        if steps < 2:
            return
        normal = rng.random() < 0.7
        service.report_reading(session, first, reading.id, *_report(ecg, normal, rng))
    if steps < 3 or ecg:  # an ECG went back with its report
        return
    with use_clock(_at(day, hour + 1.5 + rng.random() * 3)):
        service.verify_reading(session, second, reading.id)


def _report(ecg: bool, normal: bool, rng: random.Random) -> tuple[str, str]:
    """Findings and conclusion of a demo reading."""
    if ecg:
        rate = rng.randint(62, 92)
        if normal:
            return (
                f"窦性心律，心率 {rate} 次/分。PR 间期正常，QRS 波群形态、时限正常，ST-T 未见异常。",
                "窦性心律，正常心电图。",
            )
        return (
            f"窦性心律，心率 {rate} 次/分。V4–V6 导联 ST 段水平型压低约 0.05 mV，T 波低平。",
            "窦性心律，ST-T 改变，请结合临床。",
        )
    if normal:
        return "双肺纹理清晰，未见实变及结节影。心影大小形态正常。", "胸部正位片未见明显异常。"
    return "双肺纹理增多、增粗，以中下肺野为著。", "双肺纹理增多，考虑支气管炎性改变。"


# Grassroots outpatient visits (基层门诊): the other demos see patients at the hospitals only (the billing
# demo's visits of the past weeks), so the members' clinics get their own visits on the same days — per
# alliance and day 1.0–1.5 times the hospitals' visits, a 基层就诊率 of 50–60 % like the seeds'.
GRASSROOTS_DAYS = 21
GRASSROOTS_RATIO = (1.0, 1.5)


def _clinic_doctors(
    session: Session, network_id: int, skip: int | None
) -> list[tuple[Actor, int, list[int]]]:
    """(a doctor, the general practice department, the residents) of each grassroots member."""
    users = {u.patient_id for u in auth.list_users(session, limit=1000)[0] if u.patient_id is not None}
    everyone, _ = registry.search_patients(session, SYSTEM, q="", limit=1_000_000)
    out = []
    for m in service.members(session, network_id):
        inst = registry.get_institution(session, m.institution_id)
        if not InstitutionCategory(inst.category).is_grassroots:
            continue
        residents = [p.id for p in everyone if p.home_institution_id == inst.id and p.id not in users]
        depts = [d for d in registry.list_departments(session, institution_id=inst.id)[0] if d.is_clinical]
        for dept in depts[:1]:
            docs = [
                p
                for p in registry.list_practitioners(session, department_id=dept.id, limit=20)[0]
                if p.id != skip
            ]
            if docs and residents:
                actor = Actor(
                    user_id=None,
                    username=f"demo-{docs[-1].code}",
                    role=Role.DOCTOR,
                    display_name=docs[-1].name,
                    institution_id=inst.id,
                    practitioner_id=docs[-1].id,
                    permissions=ROLE_PERMISSIONS[Role.DOCTOR],
                    channel="demo",
                )
                out.append((actor, dept.id, residents))
    return out


def _grassroots_visits(session: Session, rng: random.Random, gp: Actor) -> int:
    """Visits at the grassroots members on the past days the hospitals of their alliance had visits
    (opened by a clinic doctor — not ``doctor2`` — through billing's ``open_visit``, settled at 23:00)."""
    today = business_date()
    start = today - timedelta(days=GRASSROOTS_DAYS)
    per_day: dict[tuple[date, int], int] = {}
    for day, inst_id, _dept, n in outpatient.visit_counts(session, start, today - timedelta(days=1)):
        per_day[(day, inst_id)] = per_day.get((day, inst_id), 0) + n
    made = 0
    for network in service.list_networks(session, SYSTEM):
        clinics = _clinic_doctors(session, network.id, gp.practitioner_id)
        clinic_ids = {a.institution_id for a, _d, _r in clinics}
        members = {m.institution_id for m in service.members(session, network.id)} - clinic_ids
        if not clinics:
            continue
        for back in range(GRASSROOTS_DAYS, 0, -1):
            day = today - timedelta(days=back)
            hospital = sum(per_day.get((day, i), 0) for i in members)
            wanted = round(hospital * rng.uniform(*GRASSROOTS_RATIO))
            opened = []
            with use_clock(_at(day, 9 + rng.random() * 6)):
                for k in range(wanted):
                    actor, dept, residents = clinics[(k + back) % len(clinics)]
                    try:
                        with session.begin_nested():
                            enc = billing.open_visit(
                                session, actor, patient_id=rng.choice(residents), department_id=dept
                            )
                    except YilianError:
                        continue
                    opened.append(enc.id)
            with use_clock(_at(day, 23)):
                for encounter_id in opened:
                    with session.begin_nested():
                        billing_tasks.settle_one(session, encounter_id, day)
            made += len(opened)
    return made
