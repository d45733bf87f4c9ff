"""Registry rules without a database: ID numbers, phones, names, pinyin, ranks, relations."""

from __future__ import annotations

from datetime import date

import pytest

from yilian.kit.pinyin import name_pinyin
from yilian.registry.domain import (
    Grade,
    InstitutionCategory,
    RelationType,
    Sex,
    check_id_against,
    check_level,
    check_region_code,
    check_relation,
    make_id_number,
    normalize_mobile,
    normalize_name,
    parse_id_number,
    rank_label,
)
from yilian.registry.errors import (
    IdBirthDateMismatch,
    IdSexMismatch,
    InvalidIdNumber,
    InvalidName,
    InvalidPhone,
    InvalidRegion,
    InvalidRelation,
)

# The GB 11643 example number from the standard's annex and public references.
KNOWN_VALID = "11010519491231002X"


def test_parse_known_valid_number() -> None:
    rid = parse_id_number(KNOWN_VALID)
    assert rid.birth_date == date(1949, 12, 31)
    assert rid.sex is Sex.FEMALE  # 17th digit 2 is even
    assert rid.region_code == "110105"
    assert parse_id_number(KNOWN_VALID.lower()).number == KNOWN_VALID


@pytest.mark.parametrize(
    ("number", "reason"),
    [
        ("110105194912310021", "校验位"),
        ("11010519491231002", "18 位"),
        ("1101051949123100AX", "18 位"),
        ("110105194913310021", "出生日期"),
        ("990105194912310023", "省级"),
    ],
)
def test_invalid_numbers_are_refused_with_reason(number: str, reason: str) -> None:
    with pytest.raises(InvalidIdNumber) as err:
        parse_id_number(number)
    assert reason in err.value.detail


def test_future_birth_date_refused() -> None:
    number = make_id_number("320602", date(2030, 1, 1), 1, Sex.MALE)
    with pytest.raises(InvalidIdNumber):
        parse_id_number(number, today=date(2026, 11, 22))


def test_generated_numbers_validate_and_encode_sex() -> None:
    for seq in range(0, 1000, 37):
        for sex in Sex:
            rid = parse_id_number(make_id_number("320685", date(1962, 2, 28), seq, sex))
            assert rid.sex is sex and rid.birth_date == date(1962, 2, 28)


def test_entered_birth_date_and_sex_must_match() -> None:
    rid = parse_id_number(KNOWN_VALID)
    check_id_against(rid, birth_date=date(1949, 12, 31), sex=Sex.FEMALE)
    check_id_against(rid, birth_date=None, sex=None)
    with pytest.raises(IdBirthDateMismatch):
        check_id_against(rid, birth_date=date(1949, 12, 30), sex=None)
    with pytest.raises(IdSexMismatch):
        check_id_against(rid, birth_date=None, sex=Sex.MALE)


@pytest.mark.parametrize("raw", ["13812345678", "+86 138 1234 5678", "138-1234-5678", "008619912345678"])
def test_mobile_numbers_normalised(raw: str) -> None:
    assert len(normalize_mobile(raw)) == 11


@pytest.mark.parametrize("raw", ["12812345678", "1381234567", "138123456789", "0513-85051234", ""])
def test_bad_mobile_numbers(raw: str) -> None:
    with pytest.raises(InvalidPhone):
        normalize_mobile(raw)


def test_names() -> None:
    assert normalize_name(" 张  三丰 ") == "张 三丰"
    assert normalize_name("阿依古丽•买买提") == "阿依古丽·买买提"
    for bad in ("张", "张3", "<script>"):
        with pytest.raises(InvalidName):
            normalize_name(bad)


def test_pinyin_with_surname_readings() -> None:
    assert name_pinyin("张三丰") == ("zhangsanfeng", "zsf")
    assert name_pinyin("曾小贤") == ("zengxiaoxian", "zxx")  # 曾 as a surname reads zeng, not ceng
    assert name_pinyin("单田芳")[1] == "stf"  # 单 as a surname reads shan
    assert name_pinyin("阿依古丽·买买提")[1] == "ayglmmt"


def test_rank_labels_and_levels() -> None:
    assert rank_label(3, Grade.A, InstitutionCategory.GENERAL_HOSPITAL) == "三级甲等"
    assert rank_label(2, Grade.B, InstitutionCategory.GENERAL_HOSPITAL) == "二级乙等"
    assert rank_label(1, Grade.UNRATED, InstitutionCategory.COMMUNITY_CENTRE) == "社区卫生服务中心"
    assert rank_label(0, Grade.UNRATED, InstitutionCategory.VILLAGE_CLINIC) == "村卫生室"
    with pytest.raises(ValueError):
        check_level(2, Grade.A, InstitutionCategory.VILLAGE_CLINIC)
    with pytest.raises(ValueError):
        check_level(0, Grade.UNRATED, InstitutionCategory.GENERAL_HOSPITAL)


def test_region_codes() -> None:
    assert check_region_code("320600") == "320600"
    for bad in ("32060", "020600", "abcdef"):
        with pytest.raises(InvalidRegion):
            check_region_code(bad)


def test_relations_must_be_possible() -> None:
    old, young = date(1960, 1, 1), date(1990, 1, 1)
    check_relation(RelationType.PARENT, patient_birth=young, relative_birth=old, same_person=False)
    with pytest.raises(InvalidRelation):
        check_relation(RelationType.PARENT, patient_birth=old, relative_birth=young, same_person=False)
    with pytest.raises(InvalidRelation):
        check_relation(RelationType.CHILD, patient_birth=young, relative_birth=old, same_person=False)
    with pytest.raises(InvalidRelation):
        check_relation(RelationType.SPOUSE, patient_birth=old, relative_birth=old, same_person=True)
    assert RelationType.PARENT.inverse is RelationType.CHILD
    assert RelationType.SPOUSE.is_close_relative and not RelationType.OTHER.is_close_relative
