"""Pure rules of the registry: resident ID numbers (居民身份证号, GB 11643), mobile numbers, names and
their pinyin, institution levels, practitioner titles, insurance schemes, family relations and
consent scopes."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from stdnum.cn import ric
from stdnum.exceptions import ValidationError

from yilian.registry.errors import (
    IdBirthDateMismatch,
    IdSexMismatch,
    InvalidIdNumber,
    InvalidName,
    InvalidPhone,
    InvalidRegion,
    InvalidRelation,
)


class Sex(StrEnum):
    """Sex by GB/T 2261.1 code."""

    MALE = "1"
    FEMALE = "2"

    @property
    def label(self) -> str:
        return "男" if self is Sex.MALE else "女"


class InstitutionCategory(StrEnum):
    GENERAL_HOSPITAL = "general_hospital"
    SPECIALIST_HOSPITAL = "specialist_hospital"
    TCM_HOSPITAL = "tcm_hospital"
    MATERNAL_CHILD = "maternal_child"
    CHILDREN_HOSPITAL = "children_hospital"
    COMMUNITY_CENTRE = "community_centre"
    TOWNSHIP_HOSPITAL = "township_hospital"
    VILLAGE_CLINIC = "village_clinic"

    @property
    def label(self) -> str:
        return CATEGORY_LABELS[self]

    @property
    def is_grassroots(self) -> bool:
        """Tell whether this is a primary-care (基层) institution."""
        return self in GRASSROOTS


CATEGORY_LABELS = {
    InstitutionCategory.GENERAL_HOSPITAL: "综合医院",
    InstitutionCategory.SPECIALIST_HOSPITAL: "专科医院",
    InstitutionCategory.TCM_HOSPITAL: "中医医院",
    InstitutionCategory.MATERNAL_CHILD: "妇幼保健院",
    InstitutionCategory.CHILDREN_HOSPITAL: "儿童医院",
    InstitutionCategory.COMMUNITY_CENTRE: "社区卫生服务中心",
    InstitutionCategory.TOWNSHIP_HOSPITAL: "乡镇卫生院",
    InstitutionCategory.VILLAGE_CLINIC: "村卫生室",
}
GRASSROOTS = frozenset(
    {
        InstitutionCategory.COMMUNITY_CENTRE,
        InstitutionCategory.TOWNSHIP_HOSPITAL,
        InstitutionCategory.VILLAGE_CLINIC,
    }
)


class Grade(StrEnum):
    """Hospital grade (等) within a level (级); UNRATED for grassroots institutions."""

    A = "甲"
    B = "乙"
    C = "丙"
    UNRATED = ""


_LEVEL_CN = {3: "三级", 2: "二级", 1: "一级", 0: ""}


def rank_label(level: int, grade: Grade | str, category: InstitutionCategory | str) -> str:
    """Return the Chinese rank of an institution: ``三级甲等``, ``二级乙等`` or ``社区卫生服务中心``."""
    category = InstitutionCategory(category)
    grade = Grade(grade)
    if category.is_grassroots or level == 0:
        return category.label
    if grade is Grade.UNRATED:
        return f"{_LEVEL_CN[level]}未定等"
    return f"{_LEVEL_CN[level]}{grade.value}等"


def check_level(level: int, grade: Grade | str, category: InstitutionCategory | str) -> None:
    """Refuse an impossible combination of level, grade and category."""
    category = InstitutionCategory(category)
    if level not in _LEVEL_CN:
        raise ValueError(f"机构级别只能是 0–3: {level}")
    if category is InstitutionCategory.VILLAGE_CLINIC and level != 0:
        raise ValueError("村卫生室不评级别")
    if not category.is_grassroots and level == 0:
        raise ValueError(f"{category.label}必须有级别")


class Title(StrEnum):
    """Professional title (职称) of a physician."""

    CHIEF = "主任医师"
    ASSOCIATE_CHIEF = "副主任医师"
    ATTENDING = "主治医师"
    RESIDENT = "住院医师"
    PHYSICIAN = "医师"
    NURSE = "护师"
    PHARMACIST = "药师"
    TECHNICIAN = "技师"

    @property
    def is_senior(self) -> bool:
        """Tell whether the title is senior (高级职称), as expert clinics require."""
        return self in (Title.CHIEF, Title.ASSOCIATE_CHIEF)


class InsuranceScheme(StrEnum):
    EMPLOYEE = "employee"
    RESIDENT = "resident"
    SELF_PAY = "self_pay"

    @property
    def label(self) -> str:
        return {"employee": "职工医保", "resident": "居民医保", "self_pay": "自费"}[self.value]


class RelationType(StrEnum):
    SPOUSE = "spouse"
    PARENT = "parent"
    CHILD = "child"
    SIBLING = "sibling"
    GRANDPARENT = "grandparent"
    GRANDCHILD = "grandchild"
    GUARDIAN = "guardian"
    OTHER = "other"

    @property
    def label(self) -> str:
        return RELATION_LABELS[self]

    @property
    def is_close_relative(self) -> bool:
        """Tell whether the relation is a close relative (近亲属) for 共济 mutual aid."""
        return self in CLOSE_RELATIVES

    @property
    def inverse(self) -> RelationType:
        """Return the relation seen from the other side (parent ↔ child)."""
        return _INVERSE.get(self, self)


RELATION_LABELS = {
    RelationType.SPOUSE: "配偶",
    RelationType.PARENT: "父母",
    RelationType.CHILD: "子女",
    RelationType.SIBLING: "兄弟姐妹",
    RelationType.GRANDPARENT: "祖父母/外祖父母",
    RelationType.GRANDCHILD: "孙子女/外孙子女",
    RelationType.GUARDIAN: "监护人",
    RelationType.OTHER: "其他",
}
CLOSE_RELATIVES = frozenset(
    {
        RelationType.SPOUSE,
        RelationType.PARENT,
        RelationType.CHILD,
        RelationType.SIBLING,
        RelationType.GRANDPARENT,
        RelationType.GRANDCHILD,
    }
)
_INVERSE = {
    RelationType.PARENT: RelationType.CHILD,
    RelationType.CHILD: RelationType.PARENT,
    RelationType.GRANDPARENT: RelationType.GRANDCHILD,
    RelationType.GRANDCHILD: RelationType.GRANDPARENT,
}


class VerificationState(StrEnum):
    PENDING = "pending"
    VERIFIED = "verified"
    REJECTED = "rejected"

    @property
    def label(self) -> str:
        return {"pending": "待核验", "verified": "已核验", "rejected": "已驳回"}[self.value]


class ConsentScope(StrEnum):
    """What a patient lets a relative do or see."""

    FAMILY_PAY = "family_pay"  # 亲情付: the relative may pay the patient's cash part
    MUTUAL_AID = "mutual_aid"  # 共济付: the patient may use the relative's employee personal account
    COMPANION = "companion"  # 云伴诊: follow the visit's queue and calls
    COMPANION_RESULTS = "companion_results"
    COMPANION_BILLS = "companion_bills"
    VIEW_RECORD = "view_record"

    @property
    def label(self) -> str:
        return CONSENT_LABELS[self]


CONSENT_LABELS = {
    ConsentScope.FAMILY_PAY: "亲情付",
    ConsentScope.MUTUAL_AID: "共济付",
    ConsentScope.COMPANION: "云伴诊（排队叫号）",
    ConsentScope.COMPANION_RESULTS: "云伴诊（检查检验结果）",
    ConsentScope.COMPANION_BILLS: "云伴诊（费用账单）",
    ConsentScope.VIEW_RECORD: "查看档案",
}


@dataclass(frozen=True)
class ResidentId:
    """A checked resident ID number and what it encodes."""

    number: str
    region_code: str
    birth_date: date
    sex: Sex


def parse_id_number(raw: str, *, today: date | None = None) -> ResidentId:
    """Validate an 18-digit resident ID number (GB 11643) and return what it encodes."""
    number = (raw or "").strip().upper().replace(" ", "")
    if not re.fullmatch(r"\d{17}[\dX]", number):
        raise InvalidIdNumber("身份证号码应为 18 位，前 17 位为数字，最后一位为数字或 X")
    if number[-1] != ric.calc_check_digit(number):
        raise InvalidIdNumber("身份证号码校验位错误，请核对号码")
    try:
        birth = ric.get_birth_date(number)
    except ValidationError as exc:
        raise InvalidIdNumber("身份证号码中的出生日期无效") from exc
    # The region is where the number was issued, which may postdate birth; only the province is checked.
    if number[:2] not in PROVINCE_CODES:
        raise InvalidIdNumber("身份证号码前两位不是有效的省级行政区划代码")
    if today is not None and birth > today:
        raise InvalidIdNumber("身份证号码中的出生日期晚于今天")
    sex = Sex.MALE if int(number[16]) % 2 == 1 else Sex.FEMALE
    return ResidentId(number=number, region_code=number[:6], birth_date=birth, sex=sex)


def check_id_against(resident: ResidentId, *, birth_date: date | None, sex: Sex | None) -> None:
    """Refuse an entered birth date or sex that differs from the ID number."""
    if birth_date is not None and birth_date != resident.birth_date:
        raise IdBirthDateMismatch(
            f"录入的出生日期 {birth_date.isoformat()} 与身份证号码中的 "
            f"{resident.birth_date.isoformat()} 不一致"
        )
    if sex is not None and sex is not resident.sex:
        raise IdSexMismatch(f"录入的性别“{sex.label}”与身份证号码（{resident.sex.label}）不一致")


def make_id_number(region_code: str, birth: date, sequence: int, sex: Sex) -> str:
    """Compose a valid ID number (for synthetic data): region, birth date, sequence, sex, check digit."""
    if not re.fullmatch(r"\d{6}", region_code):
        raise ValueError("region code must be 6 digits")
    seq = sequence % 100
    sex_digit = (sequence // 100) % 5 * 2 + (1 if sex is Sex.MALE else 0)
    body = f"{region_code}{birth:%Y%m%d}{seq:02d}{sex_digit}"
    return body + ric.calc_check_digit(body + "0")


PROVINCE_CODES = frozenset(
    "11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 50 51 52 53 54 61 62 63 64 65 "
    "71 81 82 83".split()
)

_MOBILE = re.compile(r"^1[3-9]\d{9}$")


def normalize_mobile(raw: str) -> str:
    """Return an 11-digit mainland mobile number, accepting spaces, dashes and a +86 prefix."""
    digits = re.sub(r"[\s-]", "", raw or "")
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("0086"):
        digits = digits[4:]
    if not _MOBILE.match(digits):
        raise InvalidPhone(f"手机号码应为 11 位、以 1 开头、第二位为 3–9: {raw}")
    return digits


_NAME = re.compile(r"^[\u3400-\u9fff\u00b7·A-Za-z ]{2,30}$")


def normalize_name(raw: str) -> str:
    """Return a trimmed person name; Chinese characters, middle dot (·) or Latin letters, 2–30 long."""
    name = re.sub(r"\s+", " ", (raw or "").strip()).replace("•", "·")
    if not _NAME.match(name):
        raise InvalidName("姓名应为 2–30 个汉字或字母，少数民族姓名可含间隔号“·”")
    return name


def check_region_code(code: str) -> str:
    """Return a 6-digit administrative region code (行政区划代码) or refuse it."""
    code = (code or "").strip()
    if not re.fullmatch(r"[1-8]\d{5}", code):
        raise InvalidRegion(f"参保地应为 6 位行政区划代码，例如 320600（南通市）: {code}")
    return code


def check_relation(
    relation: RelationType, *, patient_birth: date, relative_birth: date, same_person: bool
) -> None:
    """Refuse relations that cannot be true: with oneself, or a parent younger than the child."""
    if same_person:
        raise InvalidRelation("不能与本人建立家庭关系")
    if relation is RelationType.PARENT and relative_birth >= patient_birth:
        raise InvalidRelation("父母的出生日期应早于本人")
    if relation is RelationType.CHILD and relative_birth <= patient_birth:
        raise InvalidRelation("子女的出生日期应晚于本人")
    if relation is RelationType.GRANDPARENT and relative_birth >= patient_birth:
        raise InvalidRelation("祖父母的出生日期应早于本人")
    if relation is RelationType.GRANDCHILD and relative_birth <= patient_birth:
        raise InvalidRelation("孙子女的出生日期应晚于本人")
