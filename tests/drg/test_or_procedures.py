"""Operating-room procedures (手术室手术): the scheme's OR list decides what makes a record surgical
through "any OR procedure" conditions (SB1, TB1, WJ1, XJ1, YC1) and what makes it ambiguous (xQY);
the principal OR procedure when the first listed is not one; code names in the explanation."""

from __future__ import annotations

import pytest

from yilian.catalog import service as catalog
from yilian.drg import importer
from yilian.drg.domain import Grouper, Scheme, effective_or_list, make_record

OR_PROC = "51.2201"  # 残余胆囊切除术: in the OR list, in no surgical ADRG of MDCB/S/T/W/X/Y
NON_OR = "88.7401"  # 肝胆胰超声检查: a diagnostic operation, not in the OR list


@pytest.fixture(scope="module")
def named(scheme: Scheme) -> Grouper:
    names = {c: n for c, n, _ in catalog.shipped_table_rows("diagnosis")}
    names.update({c: n for c, n, _ in catalog.shipped_table_rows("procedure")})
    return Grouper(scheme, names)


def _group(g: Grouper, pdx: str, procs: list[str], other: tuple[str, ...] = ()) -> tuple[str, str | None]:
    res = g.group(make_record(principal_dx=pdx, procedures=procs, other_dx=other, sex=1, age_years=40))
    return res.status, res.adrg


def test_the_scheme_carries_its_or_list(scheme: Scheme, named: Grouper) -> None:
    assert len(scheme.or_procedures) == 10_251  # 10,343 lines, 92 repeated
    assert OR_PROC in named.or_procedures and NON_OR not in named.or_procedures
    assert "99.2801" not in named.or_procedures  # an injection


def test_medical_record_with_only_non_or_procedures_stays_medical(named: Grouper) -> None:
    # poisoning with an injection: VS2, not VQY; gallstone with an ultrasound: HU1, not HQY
    for pdx, proc, adrg in (("T42.600x005", "99.2801", "VS2"), ("K81.900", NON_OR, "HU1")):
        res = named.group(make_record(principal_dx=pdx, procedures=[proc], sex=1, age_years=40))
        assert (res.status, res.adrg) == ("grouped", adrg)
        assert "均不是手术室手术" in res.explanation


def test_or_procedure_outside_the_mdc_surgical_groups_is_ambiguous(named: Grouper) -> None:
    res = named.group(make_record(principal_dx="I63.900", procedures=[OR_PROC], sex=1, age_years=70))
    assert (res.status, res.drg) == ("ambiguous", "BQY")
    assert res.reason is not None and f"{OR_PROC} 残余胆囊切除术" in res.reason and "手术室手术" in res.reason
    # the same record with a diagnostic operation only is medical, never ambiguous
    assert _group(named, "I63.900", [NON_OR]) == ("grouped", "BR2")


@pytest.mark.parametrize(
    ("adrg", "pdx", "other", "medical"),
    [
        ("SB1", "A01.000", (), "SV1"),  # 全身性感染的手术: "全部手术"
        ("TB1", "F05.000", (), "TW1"),  # 精神病患者的手术
        ("WJ1", "T20.000", (), "WZ1"),  # 烧伤伴除植皮之外的任何手术室手术 (read from the name)
        ("XJ1", "B90.000", (), "XT3"),  # 其他接触健康服务的诊断伴手术室操作
        ("YC1", "B20.001", (), "YR1"),  # HIV 相关疾患的手术室手术 (diagnosis list + an OR procedure)
    ],
)
def test_any_or_procedure_groups_take_an_or_procedure_only(
    named: Grouper, adrg: str, pdx: str, other: tuple[str, ...], medical: str
) -> None:
    assert _group(named, pdx, [OR_PROC], other) == ("grouped", adrg)
    assert _group(named, pdx, [NON_OR], other) == ("grouped", medical)
    assert _group(named, pdx, [], other) == ("grouped", medical)


def test_infection_with_a_non_or_drainage_is_not_surgical(named: Grouper) -> None:
    status, adrg = _group(named, "A41.900", ["54.9100"])  # 经皮腹部引流术: not an OR procedure
    assert status == "grouped" and adrg is not None and adrg != "SB1"
    assert _group(named, "A41.900", [OR_PROC]) == ("grouped", "SB1")


def test_first_listed_non_or_procedure_gives_way_to_the_first_or_procedure(named: Grouper) -> None:
    rec = make_record(principal_dx="K81.900", procedures=[NON_OR, OR_PROC], sex=1, age_years=50)
    res = named.group(rec)
    assert (res.status, res.adrg, res.principal_procedure) == ("grouped", "HC2", OR_PROC)
    assert named.principal_procedure(rec) == (OR_PROC, 1)
    text = res.explanation
    assert f"主要手术 {OR_PROC} 残余胆囊切除术（手术室手术，第 2 位）" in text
    assert f"{NON_OR} 肝胆胰超声检查 不是手术室手术" in text and "手术优先" in text
    # listed the right way round the result is the same, and the later one is named as an other procedure
    right = named.group(make_record(principal_dx="K81.900", procedures=[OR_PROC, NON_OR], sex=1))
    assert (
        right.adrg == "HC2"
        and "（手术室手术，第 1 位）；其后 1 个手术操作按填写顺序为其他手术操作" in right.explanation
    )
    # with no OR procedure at all, the first listed stays principal
    only_ops = make_record(principal_dx="K81.900", procedures=[NON_OR, "99.2801"], sex=1)
    assert named.principal_procedure(only_ops) == (NON_OR, 0)


def test_explanation_names_every_code(named: Grouper) -> None:
    res = named.group(make_record(principal_dx="I63.900", other_dx=["A01.100"], sex=1, age_years=70))
    assert res.drg == "BR21"
    assert "主要诊断 I63.900 脑梗死" in res.explanation
    assert "其他诊断 A01.100 副伤寒甲 为严重并发症或合并症（MCC）" in res.explanation


def test_principal_dx_no_mdc_accepts_is_said_before_grouping(named: Grouper) -> None:
    reason, extended = named.principal_dx_problem("K35.800")
    assert reason is not None and "K35.800" in reason and "0000" in reason
    assert extended == ("K35.800x001",)
    assert named.principal_dx_problem("K35.800x001") == (None, ())
    assert named.group(make_record(principal_dx="K35.800", sex=1)).drg == "0000"


def test_operations_named_only_by_non_surgical_groups_are_not_or(scheme: Scheme) -> None:
    effective, as_ops = effective_or_list(scheme.or_procedures, scheme.adrgs)
    # 96.7101 呼吸机治疗<96 小时 is in the list but the scheme names it only in FP1/PK1 (操作)
    assert "96.7101" in scheme.or_procedures and "96.7101" in as_ops and "96.7101" not in effective
    assert len(as_ops) == 108 and OR_PROC in effective


def test_a_scheme_without_or_list_falls_back_and_says_so(texts: dict[str, str]) -> None:
    bare = {k: v for k, v in texts.items() if k != importer.OR_FILE}
    scheme, report = importer.build_scheme("bare", bare)
    assert scheme.or_procedures and any("未提供手术室手术目录" in n for n in report.notes)
    assert importer.parse_or_list("51.2201 残余胆囊切除术\n51.2201 残余胆囊切除术\nbad line\n") == {"51.2201"}
