"""A synthetic city medical alliance modelled on the Nantong setting (all names and people invented).

One tertiary general hospital with two campuses, one tertiary cancer hospital, one secondary
hospital, three community health centres and two village clinics; their departments and
practitioners; patients with valid resident ID numbers grouped in households with family
relations and consents; one demo user per role.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from datetime import timedelta

from faker import Faker
from sqlalchemy.orm import Session

from yilian.areas import area_modules
from yilian.kit.auth import service as auth
from yilian.kit.auth.domain import Actor, Role
from yilian.kit.clock import business_date
from yilian.registry import service as registry
from yilian.registry.domain import (
    ConsentScope,
    Grade,
    InstitutionCategory,
    InsuranceScheme,
    RelationType,
    Sex,
    Title,
    make_id_number,
    normalize_mobile,
)
from yilian.registry.schemas import (
    CampusCreate,
    ConsentCreate,
    DepartmentCreate,
    InstitutionCreate,
    PatientCreate,
    PractitionerCreate,
    RelationCreate,
)

DEMO_PASSWORD = "Demo@2026"
NANTONG = "320600"
DISTRICT_NAMES = {
    "320602": "崇川区",
    "320611": "崇川区",
    "320612": "通州区",
    "320623": "如东县",
    "320681": "启东市",
    "320682": "如皋市",
    "320685": "海安市",
}
DISTRICTS = list(DISTRICT_NAMES)


@dataclass(frozen=True)
class InstitutionSpec:
    code: str
    name: str
    short: str
    category: InstitutionCategory
    level: int
    grade: Grade
    region: str
    address: str
    campuses: tuple[tuple[str, str, str], ...]
    departments: tuple[tuple[str, str, str], ...]  # code, name, campus code
    parent: str | None = None


_GH_DEPTS = (
    ("NK01", "心血管内科", "MAIN"),
    ("NK02", "呼吸与危重症医学科", "MAIN"),
    ("NK03", "消化内科", "MAIN"),
    ("NK04", "内分泌科", "MAIN"),
    ("NK05", "神经内科", "MAIN"),
    ("NK06", "肾内科", "EAST"),
    ("WK01", "普外科", "MAIN"),
    ("WK02", "骨科", "MAIN"),
    ("WK03", "泌尿外科", "EAST"),
    ("WK04", "神经外科", "MAIN"),
    ("FK01", "妇产科", "EAST"),
    ("EK01", "儿科", "EAST"),
    ("YK01", "眼科", "MAIN"),
    ("EB01", "耳鼻咽喉科", "MAIN"),
    ("ZY01", "中医科", "EAST"),
    ("JZ01", "急诊医学科", "MAIN"),
    ("JY01", "检验科", "MAIN"),
    ("YX01", "医学影像科", "MAIN"),
)

INSTITUTIONS = (
    InstitutionSpec(
        "NTGH",
        "南通医联总医院",
        "医联总院",
        InstitutionCategory.GENERAL_HOSPITAL,
        3,
        Grade.A,
        "320602",
        "南通市崇川区青年中路 20 号",
        (("MAIN", "主院区", "崇川区青年中路 20 号"), ("EAST", "东院区", "通州区金新街道世纪大道 88 号")),
        _GH_DEPTS,
    ),
    InstitutionSpec(
        "NTCH",
        "南通肿瘤专科医院",
        "肿瘤医院",
        InstitutionCategory.SPECIALIST_HOSPITAL,
        3,
        Grade.A,
        "320602",
        "南通市崇川区通江路 30 号",
        (("MAIN", "本部", "崇川区通江路 30 号"),),
        (
            ("ZL01", "肿瘤内科", "MAIN"),
            ("ZL02", "肿瘤外科", "MAIN"),
            ("ZL03", "放射治疗科", "MAIN"),
            ("ZL04", "乳腺外科", "MAIN"),
            ("ZL05", "胸外科", "MAIN"),
            ("JY01", "检验科", "MAIN"),
            ("YX01", "医学影像科", "MAIN"),
        ),
    ),
    InstitutionSpec(
        "HARH",
        "海安市第二人民医院",
        "海安二院",
        InstitutionCategory.GENERAL_HOSPITAL,
        2,
        Grade.A,
        "320685",
        "海安市城东镇长江西路 66 号",
        (("MAIN", "本部", "长江西路 66 号"),),
        (
            ("NK01", "内科", "MAIN"),
            ("WK01", "外科", "MAIN"),
            ("FK01", "妇产科", "MAIN"),
            ("EK01", "儿科", "MAIN"),
            ("JZ01", "急诊科", "MAIN"),
            ("JY01", "检验科", "MAIN"),
            ("YX01", "放射科", "MAIN"),
        ),
    ),
    InstitutionSpec(
        "CCCD",
        "崇川区城东社区卫生服务中心",
        "城东社区",
        InstitutionCategory.COMMUNITY_CENTRE,
        1,
        Grade.UNRATED,
        "320602",
        "南通市崇川区城东街道永兴路 5 号",
        (),
        (
            ("QK01", "全科医学科", ""),
            ("ZY01", "中医科", ""),
            ("YF01", "预防保健科", ""),
            ("JY01", "检验科", ""),
        ),
    ),
    InstitutionSpec(
        "TZJS",
        "通州区金沙社区卫生服务中心",
        "金沙社区",
        InstitutionCategory.COMMUNITY_CENTRE,
        1,
        Grade.UNRATED,
        "320612",
        "南通市通州区金沙街道新金路 12 号",
        (),
        (
            ("QK01", "全科医学科", ""),
            ("ZY01", "中医科", ""),
            ("KF01", "康复医学科", ""),
            ("JY01", "检验科", ""),
        ),
    ),
    InstitutionSpec(
        "GZQZ",
        "崇川区秦灶社区卫生服务中心",
        "秦灶社区",
        InstitutionCategory.COMMUNITY_CENTRE,
        1,
        Grade.UNRATED,
        "320602",
        "南通市崇川区秦灶街道秦灶路 9 号",
        (),
        (("QK01", "全科医学科", ""), ("ZY01", "中医科", ""), ("JY01", "检验科", "")),
    ),
    InstitutionSpec(
        "HAXH",
        "海安市白甸镇新河村卫生室",
        "新河村卫生室",
        InstitutionCategory.VILLAGE_CLINIC,
        0,
        Grade.UNRATED,
        "320685",
        "海安市白甸镇新河村 3 组",
        (),
        (("QK01", "全科诊室", ""),),
        parent="HARH",
    ),
    InstitutionSpec(
        "RDTP",
        "如东县岔河镇太平村卫生室",
        "太平村卫生室",
        InstitutionCategory.VILLAGE_CLINIC,
        0,
        Grade.UNRATED,
        "320623",
        "如东县岔河镇太平村 7 组",
        (),
        (("QK01", "全科诊室", ""),),
        parent="TZJS",
    ),
)

_TITLE_MIX = (Title.CHIEF, Title.ASSOCIATE_CHIEF, Title.ATTENDING, Title.ATTENDING, Title.RESIDENT)
_GRASSROOTS_TITLES = (Title.ATTENDING, Title.PHYSICIAN, Title.PHYSICIAN, Title.RESIDENT)


@dataclass
class DemoSummary:
    """What was created, and how to log in."""

    institutions: int = 0
    departments: int = 0
    practitioners: int = 0
    patients: int = 0
    relations: int = 0
    consents: int = 0
    users: list[tuple[str, str, str, str]] = field(default_factory=list)  # username, password, role, where
    extras: list[str] = field(default_factory=list)  # one line per area seeder

    def credentials_text(self) -> str:
        """Return the demo accounts as a printable table."""
        lines = ["演示账号 (demo accounts), password for all: " + DEMO_PASSWORD]
        for username, _password, role, where in self.users:
            lines.append(f"  {username:<12} {role:<8} {where}")
        return "\n".join(lines)


def has_data(session: Session) -> bool:
    """Tell whether the database already holds an institution."""
    return registry.has_institutions(session)


def seed(session: Session, *, seed_value: int = 20261122, patients: int = 2000) -> DemoSummary:
    """Create the demo alliance in ``session`` (flush only; the caller commits)."""
    rng = random.Random(seed_value)
    fake = Faker("zh_CN")
    fake.seed_instance(seed_value)
    system = Actor.system("demo")
    summary = DemoSummary()

    alliance = registry.create_alliance(
        session, code="NT-YLT", name="南通城市医疗集团（演示）", region_code=NANTONG
    )
    by_code: dict[str, int] = {}
    depts_by_inst: dict[str, list[int]] = {}
    for spec in INSTITUTIONS:
        inst = registry.create_institution(
            session,
            system,
            InstitutionCreate(
                code=spec.code,
                name=spec.name,
                short_name=spec.short,
                category=spec.category,
                level=spec.level,
                grade=spec.grade,
                alliance_id=alliance.id,
                parent_id=by_code.get(spec.parent) if spec.parent else None,
                region_code=spec.region,
                address=spec.address,
                phone=f"0513-{rng.randint(80000000, 89999999)}",
            ),
        )
        by_code[spec.code] = inst.id
        summary.institutions += 1
        campus_ids = {}
        for c_code, c_name, c_addr in spec.campuses:
            campus = registry.create_campus(
                session,
                system,
                CampusCreate(institution_id=inst.id, code=c_code, name=c_name, address=c_addr),
            )
            campus_ids[c_code] = campus.id
        depts_by_inst[spec.code] = []
        for i, (d_code, d_name, c_code) in enumerate(spec.departments):
            dept = registry.create_department(
                session,
                system,
                DepartmentCreate(
                    institution_id=inst.id,
                    campus_id=campus_ids.get(c_code),
                    code=d_code,
                    name=d_name,
                    specialty=d_name,
                    is_clinical=d_code[:2] not in ("JY", "YX"),
                    location=f"{(i % 5) + 1} 楼 {(i % 5) + 1}{(i % 10):02d} 室",
                ),
            )
            depts_by_inst[spec.code].append(dept.id)
            summary.departments += 1

    practitioner_of: dict[str, int] = {}
    for spec in INSTITUTIONS:
        inst_id = by_code[spec.code]
        titles = _GRASSROOTS_TITLES if spec.category.is_grassroots else _TITLE_MIX
        per_dept = 1 if spec.category is InstitutionCategory.VILLAGE_CLINIC else (2 if spec.level < 3 else 3)
        n = 0
        for dept_id in depts_by_inst[spec.code]:
            for _ in range(per_dept):
                n += 1
                sex = rng.choice([Sex.MALE, Sex.FEMALE])
                name = fake.name_male() if sex is Sex.MALE else fake.name_female()
                p = registry.create_practitioner(
                    session,
                    system,
                    PractitionerCreate(
                        institution_id=inst_id,
                        code=f"{spec.code}{n:04d}",
                        name=name,
                        sex=sex,
                        title=rng.choice(titles),
                        department_ids=[dept_id],
                        license_no=f"1103206{rng.randint(10000000, 99999999)}",
                        phone=_mobile(rng),
                    ),
                )
                practitioner_of.setdefault(spec.code, p.id)
                summary.practitioners += 1

    homes = [by_code[s.code] for s in INSTITUTIONS]
    home_weights = [30, 12, 14, 12, 12, 10, 5, 5]
    today = business_date()
    households: list[list[tuple[int, str]]] = []  # (patient id, role in household)
    seq = 0
    while summary.patients < patients:
        surname = fake.last_name()
        home = rng.choices(homes, weights=home_weights)[0]
        region = rng.choice(DISTRICTS)
        size = min(rng.choice([1, 2, 2, 3, 3, 4]), patients - summary.patients)
        father_birth = today - timedelta(days=rng.randint(26 * 365, 80 * 365))
        members: list[tuple[int, str]] = []
        plan = [("father", Sex.MALE, father_birth)]
        if size >= 2:
            plan.append(("mother", Sex.FEMALE, father_birth + timedelta(days=rng.randint(-1500, 1500))))
        for _ in range(max(0, size - 2)):
            child_birth = father_birth + timedelta(days=rng.randint(22 * 365, 34 * 365))
            child_birth = min(child_birth, today - timedelta(days=rng.randint(30, 400)))
            plan.append(("child", rng.choice([Sex.MALE, Sex.FEMALE]), child_birth))
        for role, sex, birth in plan:
            seq += 1
            given = fake.first_name_male() if sex is Sex.MALE else fake.first_name_female()
            surname_here = surname if role != "mother" else fake.last_name()
            scheme = rng.choices(
                [InsuranceScheme.EMPLOYEE, InsuranceScheme.RESIDENT, InsuranceScheme.SELF_PAY],
                weights=[55, 35, 10],
            )[0]
            age = today.year - birth.year
            if age < 18 and scheme is InsuranceScheme.EMPLOYEE:
                scheme = InsuranceScheme.RESIDENT
            patient = registry.create_patient(
                session,
                system,
                PatientCreate(
                    name=surname_here + given,
                    id_number=make_id_number(region, birth, seq, sex),
                    phone=_mobile(rng),
                    insurance_scheme=scheme,
                    insured_region=NANTONG if scheme is not InsuranceScheme.SELF_PAY else "",
                    insurance_number=f"NT{seq:08d}" if scheme is not InsuranceScheme.SELF_PAY else "",
                    home_institution_id=home,
                    address=f"南通市{DISTRICT_NAMES[region]}{fake.street_name()}{rng.randint(1, 300)}号",
                    real_name_verified=rng.random() < 0.9,
                ),
            )
            members.append((patient.id, role))
            summary.patients += 1
        households.append(members)

    for members in households:
        roles = dict((r, pid) for pid, r in members if r != "child")
        children = [pid for pid, r in members if r == "child"]
        links: list[tuple[int, int, RelationType]] = []
        if "father" in roles and "mother" in roles:
            links.append((roles["father"], roles["mother"], RelationType.SPOUSE))
        for child in children:
            for parent in ("father", "mother"):
                if parent in roles:
                    links.append((child, roles[parent], RelationType.PARENT))
        for patient_id, relative_id, rel in links:
            relation = registry.add_relation(
                session, system, patient_id, RelationCreate(relative_id=relative_id, relation_type=rel)
            )
            summary.relations += 1
            if rng.random() < 0.85:
                registry.confirm_relation(session, system, relation.id)
                registry.verify_relation(session, system, relation.id)
                scopes = [ConsentScope.COMPANION, ConsentScope.FAMILY_PAY]
                if rel is RelationType.PARENT:
                    scopes.append(ConsentScope.VIEW_RECORD)
                for scope in scopes:
                    if rng.random() < 0.6:
                        registry.grant_consent(
                            session,
                            system,
                            ConsentCreate(relation_id=relation.id, grantor_id=patient_id, scope=scope),
                        )
                        summary.consents += 1
                relative = registry.find_patient(session, relative_id)
                if relative.insurance_scheme == InsuranceScheme.EMPLOYEE.value and rng.random() < 0.5:
                    registry.grant_consent(
                        session,
                        system,
                        ConsentCreate(
                            relation_id=relation.id, grantor_id=relative_id, scope=ConsentScope.MUTUAL_AID
                        ),
                    )
                    summary.consents += 1

    # Demo users: a patient whose parent follows with consent, and one member of staff per role.
    patient_user, family_user = _demo_family(session, system, households, by_code["NTGH"])
    gh = by_code["NTGH"]
    staff: list[tuple[str, Role, str, int | None, int | None]] = [
        ("admin", Role.ADMIN, "系统管理员", None, None),
        ("registrar", Role.REGISTRAR, "挂号员 王静", gh, None),
        ("doctor", Role.DOCTOR, "", gh, practitioner_of["NTGH"]),
        ("nurse", Role.NURSE, "护士 陈晓燕", gh, None),
        ("cashier", Role.CASHIER, "收费员 刘芳", gh, None),
        ("pharmacist", Role.PHARMACIST, "药师 赵敏", gh, None),
        ("insurance", Role.INSURANCE_OFFICER, "医保办 孙伟", gh, None),
        ("bedmgr", Role.BED_MANAGER, "住院服务中心 周丽", gh, None),
        ("security", Role.SECURITY_OFFICER, "保卫科 吴强", gh, None),
        ("doctor2", Role.DOCTOR, "", by_code["CCCD"], practitioner_of["CCCD"]),
        ("kiosk", Role.KIOSK, "门诊大厅自助机 1 号", gh, None),
        ("commission", Role.COMMISSION, "市卫健委 统计信息科", None, None),
    ]
    for username, role, display, user_inst, practitioner_id in staff:
        if practitioner_id is not None:
            display = f"医生 {registry.get_practitioner(session, practitioner_id).name}"
        auth.create_user(
            session,
            username=username,
            password=DEMO_PASSWORD,
            role=role,
            display_name=display,
            institution_id=user_inst,
            practitioner_id=practitioner_id,
        )
        where = next((s.name for s in INSTITUTIONS if by_code[s.code] == user_inst), "全医联体")
        summary.users.append((username, DEMO_PASSWORD, role.label, where))
    for username, role, patient_id in (
        ("patient", Role.PATIENT, patient_user),
        ("family", Role.FAMILY, family_user),
    ):
        person = registry.find_patient(session, patient_id)
        auth.create_user(
            session,
            username=username,
            password=DEMO_PASSWORD,
            role=role,
            display_name=person.name,
            patient_id=patient_id,
        )
        summary.users.append((username, DEMO_PASSWORD, role.label, f"患者 {person.name}（{person.mpi_id}）"))
    session.flush()
    # Areas add their own demo data in <area>/demo.py: seed(session, *, seed_value, scale) -> str
    for module in area_modules("demo"):
        started = time.perf_counter()
        line = module.seed(session, seed_value=seed_value, scale=patients / 2000)
        session.flush()
        summary.extras.append(f"{line}（{time.perf_counter() - started:.1f} s）")
    return summary


def _demo_family(
    session: Session, system: Actor, households: list[list[tuple[int, str]]], home_id: int
) -> tuple[int, int]:
    """Pick a household of the general hospital with a young daughter and an employee-insured father; the
    child lets the father follow her record, see her bills and pay (亲情付), and the father shares his
    personal account with her (共济)."""
    candidates = []
    for members in households:
        roles = dict((r, pid) for pid, r in members)
        if "child" in roles and "father" in roles:
            child, parent = (
                registry.find_patient(session, roles["child"]),
                registry.find_patient(session, roles["father"]),
            )
            # the story the README tells: a girl under 14, her employee-insured father, the general hospital
            score = (
                8 * (business_date().year - child.birth_date.year < 14)
                + 4 * (child.sex == Sex.FEMALE.value)
                + 2 * (parent.insurance_scheme == "employee")
                + (child.home_institution_id == home_id)
            )
            candidates.append((-score, child.id, parent.id))
    if not candidates:
        raise RuntimeError("demo needs at least one household with a child; raise --patients")
    _score, child_id, parent_id = min(candidates)
    child = registry.find_patient(session, child_id)
    child.real_name_verified = True
    if child.insurance_scheme == "self_pay":  # the demo story needs an insured child (居民医保)
        child.insurance_scheme, child.insured_region = "resident", NANTONG
    relation = next(r for r in registry.relation_reads(session, child_id) if r.relative_id == parent_id)
    if relation.verification_state.value != "verified":
        registry.confirm_relation(session, system, relation.id)
        registry.verify_relation(session, system, relation.id)
    wanted = [
        (child_id, parent_id, ConsentScope.VIEW_RECORD),
        (child_id, parent_id, ConsentScope.COMPANION),
        (child_id, parent_id, ConsentScope.COMPANION_BILLS),
        (child_id, parent_id, ConsentScope.FAMILY_PAY),
    ]
    if registry.find_patient(session, parent_id).insurance_scheme == "employee":
        wanted.append((parent_id, child_id, ConsentScope.MUTUAL_AID))
    for grantor, grantee, scope in wanted:
        if registry.active_consent(session, grantor_id=grantor, grantee_id=grantee, scope=scope) is None:
            registry.grant_consent(
                session, system, ConsentCreate(relation_id=relation.id, grantor_id=grantor, scope=scope)
            )
    session.flush()
    return child_id, parent_id


def _mobile(rng: random.Random) -> str:
    prefix = rng.choice(["138", "139", "150", "151", "158", "166", "177", "186", "187", "189", "199"])
    return normalize_mobile(prefix + f"{rng.randint(0, 99999999):08d}")
