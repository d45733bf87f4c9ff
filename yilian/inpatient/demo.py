"""Demo inpatient care: every demo hospital (level 2 and above) gets wards and beds sized like the
seeds' hospitals (the 三级甲等 general hospital about 2,000 beds at full scale), a relation table, the
住院 insurance rows, months of finished stays taken over in bulk, the patients in hospital at go-live
taken over with their beds (在院患者接管, patients from the hospitals' catchment created in the
registry), then admissions and discharges made day by day through the real services (bed request →
ranked suggestion → admission with deposit → discharge), ending near 90 % occupancy; today's bed and
nursing charges are on the bills."""

from __future__ import annotations

import random
from datetime import date, time, timedelta

from faker import Faker
from sqlalchemy.orm import Session

from yilian.billing.domain import Channel
from yilian.catalog import service as catalog
from yilian.inpatient import repository as repo
from yilian.inpatient import service
from yilian.inpatient.domain import AdmissionSource, BedState, Severity
from yilian.insurance import policy_service as insurance
from yilian.kit.auth import service as auth
from yilian.kit.auth.domain import Actor
from yilian.kit.clock import FrozenClock, business_date, local_datetime, use_clock
from yilian.kit.errors import YilianError
from yilian.registry import service as registry
from yilian.registry.domain import InsuranceScheme, Sex, make_id_number
from yilian.registry.schemas import InstitutionRead, PatientCreate

ITEMS = (
    "code,kind,name,spec,unit,price_yuan,insurance_class,self_pay_ratio\n"
    "110900001000000,treatment,床位费（普通病房）,,日,50.00,甲,\n"
    "120100003000000,treatment,二级护理,,日,26.00,甲,\n"
)
INPATIENT_POLICIES = (  # 住院: deductible per admission, ratio ‰, yearly cap
    ("employee", "tertiary", 90_000, 850, 40_000_000),
    ("employee", "secondary", 60_000, 900, 40_000_000),
    ("employee", "primary", 30_000, 920, 40_000_000),
    ("resident", "tertiary", 120_000, 700, 25_000_000),
    ("resident", "secondary", 80_000, 750, 25_000_000),
    ("resident", "primary", 40_000, 800, 25_000_000),
)
BEDS_AT_FULL_SCALE = {3: 2000, 2: 400}
NOT_WARDS = ("检验", "影像", "病理", "药")
OCCUPANCY = 0.9
# at most this share of the demo's patients lie in hospital at once: a small demo (the browser tests')
# fills its few beds, the full one stops at 15 % so that `make run` starts within a couple of minutes
PATIENT_SHARE = {True: 0.4, False: 0.15}
ROOM_BEDS = 3
# months of finished stays before the live days, taken over in bulk (service.import_past_stays): the
# demo's patients spend at most this share of those days in hospital (their stays never overlap), so
# the history's occupancy is bounded by the number of patients, not by the beds
HISTORY_DAYS = 90
CATCHMENT = ("320602", "320612", "320623", "320681", "320682", "320685")  # the inpatients' home districts
HISTORY_SHARE = 0.45


def seed(session: Session, *, seed_value: int, scale: float) -> str:
    rng = random.Random(seed_value + 15)
    system = Actor.system("demo")
    catalog.import_items(session, ITEMS)
    year = business_date().year
    insurance.set_policy_table(
        session, INPATIENT_POLICIES, region_code="320600", visit_type="inpatient", year=year
    )
    hospitals = registry.institutions_from_level(session, 2)
    total_beds = 0
    for hospital in hospitals:
        total_beds += _build_pool(session, system, hospital, scale, rng)
    days = 10 if scale < 0.5 else 7
    past = _past(session, system, hospitals, rng, days)
    patients = _demo_patients(session)
    live_cap = min(int(total_beds * OCCUPANCY), int(len(patients) * PATIENT_SHARE[scale < 0.5]))
    go_live = business_date() - timedelta(days=days + 1)
    with use_clock(FrozenClock(local_datetime(go_live, time(8, 0)))):
        census = _census(session, system, hospitals, rng, int(total_beds * OCCUPANCY) - live_cap, go_live)
    admitted, discharged = _history(session, system, hospitals, rng, days, patients, live_cap)
    live = service.in_hospital_total(session)
    return (
        f"inpatient: {total_beds} beds in {len(hospitals)} hospitals, {past} past stays over {HISTORY_DAYS} "
        f"days taken over in bulk, {census} patients in hospital taken over at go-live, then {admitted} "
        f"admissions and {discharged} discharges over {days} days through the bed office; {live} in "
        f"hospital now ({live / max(1, total_beds):.0%} of the beds)"
    )


def _demo_patients(session: Session) -> list[int]:
    with_accounts = auth.patients_with_accounts(session)
    return [p for p in registry.every_patient_id(session) if p not in with_accounts]


def _past(
    session: Session, system: Actor, hospitals: list[InstitutionRead], rng: random.Random, live_days: int
) -> int:
    """Finished stays of the months before the live days, per patient one after another (never
    overlapping), spread over the hospitals by their beds; 90 % in the own department's wards."""
    end = business_date() - timedelta(days=live_days + 1)
    start = end - timedelta(days=HISTORY_DAYS)
    patients = _demo_patients(session)
    wards = {h.id: repo.wards_of(session, h.id) for h in hospitals}
    beds = [repo.open_bed_count(session, h.id) if wards[h.id] else 0 for h in hospitals]
    if not patients or not any(beds):
        return 0
    wanted = sum(beds) * OCCUPANCY * HISTORY_DAYS
    share = min(HISTORY_SHARE, wanted / (len(patients) * HISTORY_DAYS))
    stays: dict[int, list[service.PastStay]] = {h.id: [] for h in hospitals}
    for index, patient_id in enumerate(patients):
        if index % 4 == 0:
            continue  # a quarter of the patients were never in hospital (first admissions stay possible)
        day = start + timedelta(days=rng.randrange(14))
        while True:
            los = max(1, int(rng.lognormvariate(1.9, 0.5)))
            out = day + timedelta(days=los)
            if out >= end:
                break
            hospital = rng.choices(hospitals, weights=beds)[0]
            ward = rng.choice(wards[hospital.id])
            department = (
                ward.department_id if rng.random() < 0.9 else rng.choice(wards[hospital.id]).department_id
            )
            stays[hospital.id].append(
                service.PastStay(
                    patient_id=patient_id,
                    department_id=department,
                    ward_id=ward.id,
                    admitted_on=day,
                    discharged_on=out,
                    disposition=rng.choice((1, 1, 1, 1, 1, 2, 3, 4)),
                    severity=rng.choices((Severity.MILD, Severity.SEVERE), weights=(85, 15))[0],
                    wait_hours=round(rng.uniform(0.5, 72), 1),
                )
            )
            day = out + timedelta(days=max(1, int(rng.expovariate(share / (los * (1 - share))))))
    return sum(service.import_past_stays(session, system, h.id, stays[h.id]) for h in hospitals)


def _census(
    session: Session,
    system: Actor,
    hospitals: list[InstitutionRead],
    rng: random.Random,
    wanted: int,
    go_live: date,
) -> int:
    """The patients in hospital at go-live, taken over with their beds (service.import_current_stays):
    ``wanted`` patients from the hospitals' catchment, created in the registry, spread over the
    hospitals by their beds, each in a bed of her room's sex. A quarter of the wards are taken over
    full (their departments borrow beds in the live days); the others keep their first (any-sex,
    isolation or monitored) room free, and the emergency reserve stays free everywhere."""
    if wanted <= 0:
        return 0
    fillable: dict[int, list[tuple[int, int, str]]] = {}  # hospital → (bed, ward department, sex)
    full_ward_beds: dict[int, set[int]] = {}  # hospital → the beds of its full wards
    for hospital in hospitals:
        wards = {w.id: w for w in repo.wards_of(session, hospital.id)}
        rooms = repo.rooms_of_wards(session, list(wards))
        first_room: dict[int, int] = {}
        for room in sorted(rooms, key=lambda r: r.id):
            first_room.setdefault(room.ward_id, room.id)
        # a quarter of the wards are full (their departments borrow beds in the live days): their first
        # room too, one sex per room; the others keep their first room free
        full = {w for i, w in enumerate(sorted(wards)) if i % 4 == 1}
        sex_of = {r.id: r.sex or ("M" if rng.random() < 0.5 else "F") for r in rooms}
        all_beds = repo.beds_of_institution(session, hospital.id)
        bed_ward = {b.id: b.ward_id for b in all_beds}
        fillable[hospital.id] = [
            (b.id, wards[b.ward_id].department_id, sex_of[b.room_id])
            for b in all_beds
            if b.state == BedState.FREE
            and not b.emergency_reserved
            and (b.ward_id in full or b.room_id != first_room[b.ward_id])
        ]
        full_ward_beds[hospital.id] = {b for b, _d, _s in fillable[hospital.id] if bed_ward[b] in full}
    total = sum(len(v) for v in fillable.values())
    if not total:
        return 0
    fake = Faker("zh_CN")
    fake.seed_instance(rng.randrange(1 << 30))
    taken = 0
    sequence = 0
    for hospital in hospitals:
        beds = fillable[hospital.id]
        rng.shuffle(beds)
        beds.sort(key=lambda b: b[0] not in full_ward_beds[hospital.id])  # the full wards' beds first
        beds = beds[: min(len(beds), round(wanted * len(beds) / total))]
        departments = sorted({d for _b, d, _s in beds})
        stays = []
        for bed_id, department_id, room_sex in beds:
            sequence += 1
            patient_id = _catchment_patient(session, system, fake, rng, hospital.id, room_sex, sequence)
            stays.append(
                service.CurrentStay(
                    patient_id=patient_id,
                    department_id=department_id if rng.random() < 0.92 else rng.choice(departments),
                    bed_id=bed_id,
                    admitted_on=go_live - timedelta(days=min(20, int(rng.expovariate(1 / 5)))),
                    severity=rng.choices((Severity.MILD, Severity.SEVERE), weights=(85, 15))[0],
                    source=rng.choice(
                        (AdmissionSource.CLINIC, AdmissionSource.CLINIC, AdmissionSource.EMERGENCY)
                    ),
                    wait_hours=round(rng.uniform(0.5, 72), 1),
                )
            )
        taken += len(service.import_current_stays(session, system, hospital.id, stays))
    return taken


def _catchment_patient(
    session: Session, system: Actor, fake: Faker, rng: random.Random, home: int, room_sex: str, sequence: int
) -> int:
    """A patient of the hospital's catchment (an inpatient the demo's households do not include)."""
    sex = Sex.MALE if room_sex == "M" else Sex.FEMALE
    scheme = rng.choices((InsuranceScheme.EMPLOYEE, InsuranceScheme.RESIDENT), weights=(55, 45))[0]
    while True:
        birth = business_date() - timedelta(days=rng.randint(18 * 365, 90 * 365))
        try:
            return registry.create_patient(
                session,
                system,
                PatientCreate(
                    name=(
                        fake.last_name()
                        + (fake.first_name_male() if sex is Sex.MALE else fake.first_name_female())
                    ),
                    id_number=make_id_number(rng.choice(CATCHMENT), birth, sequence, sex),
                    phone=f"13{rng.randrange(10**9):09d}",
                    insurance_scheme=scheme,
                    insured_region="320600",
                    insurance_number=f"NTZY{sequence:08d}",
                    home_institution_id=home,
                    real_name_verified=True,
                ),
            ).id
        except YilianError:  # the ID number of a demo household's member: draw another birth date
            continue


def _build_pool(
    session: Session, system: Actor, hospital: InstitutionRead, scale: float, rng: random.Random
) -> int:
    departments = [
        d
        for d in registry.list_departments(session, institution_id=hospital.id, limit=500)[0]
        if d.is_clinical and not any(word in d.name for word in NOT_WARDS)
    ]
    if not departments:
        return 0
    target = max(4 * len(departments), int(BEDS_AT_FULL_SCALE.get(hospital.level, 200) * scale))
    per_department = max(4, target // len(departments))
    wards = []
    beds = 0
    for i, department in enumerate(departments):
        emergency = "急诊" in department.name
        left = per_department
        n = 0
        while left > 0:
            size = min(left, 50)
            rooms = [
                service.RoomSpec(
                    f"{(i + 1) * 100 + k + 1}",
                    min(ROOM_BEDS, size - k * ROOM_BEDS),
                    sex="" if k == 0 else ("M", "F")[k % 2],
                    kind="isolation"
                    if k == 0 and ("呼吸" in department.name or "感染" in department.name)
                    else "",
                    monitored=k == 0 and ("心" in department.name or emergency or "重症" in department.name),
                )
                for k in range((size + ROOM_BEDS - 1) // ROOM_BEDS)
            ]
            n += 1
            ward = service.create_ward(
                session,
                system,
                institution_id=hospital.id,
                department_id=department.id,
                code=f"{department.code}-{n}",
                name=f"{department.name}{'一二三四五六七八九十'[n - 1]}病区",
                floor=3 + i,
                campus_id=department.campus_id,
                rooms=rooms,
                emergency_reserved=2 if emergency else 0,
            )
            wards.append((department.id, ward.id))
            left -= size
            beds += size
    for i, (department_id, _ward) in enumerate(wards):
        for rank, offset in enumerate((1, -1), start=1):
            other_department, other_ward = wards[(i + offset) % len(wards)]
            if other_department != department_id:
                try:
                    service.set_relation(
                        session,
                        system,
                        department_id=department_id,
                        ward_id=other_ward,
                        kind="related" if rank == 1 else "nearby",
                        rank=rank,
                    )
                except YilianError:
                    continue
    return beds


def _history(
    session: Session,
    system: Actor,
    hospitals: list[InstitutionRead],
    rng: random.Random,
    days: int,
    patients: list[int],
    cap: int,
) -> tuple[int, int]:
    """Day by day: discharge the stays that end, then fill free beds through the bed office (the
    demo's own patients, at most ``cap`` of them in hospital at once)."""
    departments = {h.id: list({w.department_id for w in repo.wards_of(session, h.id)}) for h in hospitals}
    weights = [max(1, repo.open_bed_count(session, h.id)) for h in hospitals]
    ends: dict[int, object] = {}
    admitted = discharged = 0
    today = business_date()
    in_hospital: set[int] = set()
    for day_index in range(days, -1, -1):
        day = today - timedelta(days=day_index)
        with use_clock(FrozenClock(local_datetime(day, time(9, 30)))):
            for admission_id, end in list(ends.items()):
                if end == day:
                    a = service.find_admission(session, admission_id)
                    service.discharge(
                        session, system, admission_id, disposition=rng.choice((1, 1, 1, 1, 2, 3, 4))
                    )
                    in_hospital.discard(a.patient_id)
                    del ends[admission_id]
                    discharged += 1
            # fill towards the target; the first day fills most of the pool, later days replace discharges
            wanted = cap - len(in_hospital)
            if day_index == days:
                wanted = int(wanted * 0.85)
            free_patients = [p for p in patients if p not in in_hospital]
            rng.shuffle(free_patients)
            for patient_id in free_patients[: max(0, wanted)]:
                hospital = rng.choices(hospitals, weights=weights)[0]
                if not departments[hospital.id]:
                    continue
                department_id = rng.choice(departments[hospital.id])
                severity = rng.choices((Severity.MILD, Severity.SEVERE), weights=(85, 15))[0]
                try:
                    # the doctor asked for the bed hours before the bed office placed the patient
                    asked = local_datetime(day, time(9, 30)) - timedelta(hours=rng.uniform(0.5, 30))
                    with use_clock(FrozenClock(asked)):
                        request = service.request_bed(
                            session,
                            system,
                            patient_id=patient_id,
                            department_id=department_id,
                            severity=severity,
                        )
                    best = service.suggest(session, system, request.id, limit=1).suggestions
                    if not best:
                        service.cancel_request(session, system, request.id)
                        continue
                    with session.begin_nested():
                        a = service.admit(
                            session,
                            system,
                            patient_id=patient_id,
                            department_id=department_id,
                            bed_id=best[0].bed_id,
                            severity=severity,
                            source=rng.choice(
                                (AdmissionSource.CLINIC, AdmissionSource.CLINIC, AdmissionSource.EMERGENCY)
                            ),
                            request_id=request.id,
                            deposit=service.DepositIn(
                                rng.choice((200_000, 300_000, 500_000)),
                                rng.choice((Channel.WECHAT, Channel.ALIPAY, Channel.UNIONPAY)),
                                f"demo-deposit-{request.id}",
                            ),
                        )
                except YilianError:
                    continue
                in_hospital.add(patient_id)
                ends[a.id] = day + timedelta(days=max(1, int(rng.lognormvariate(1.9, 0.5))))
                admitted += 1
            for bed in repo.beds_of_institution_in_state(session, BedState.CLEANING.value):
                service.set_bed_state(session, system, bed.id, BedState.FREE, "保洁完成")
    for admission_id in service.admissions_to_charge(session, today):  # as tonight's job will
        service.charge_day(session, admission_id, today)
    return admitted, discharged
