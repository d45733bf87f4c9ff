"""The grouper on the real CHS-DRG 1.1 tables and on small hand-made schemes."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from yilian.drg import importer
from yilian.drg.domain import (
    Adrg,
    CaseFact,
    Condition,
    DrgPolicy,
    Grouper,
    Mdc,
    RecordError,
    Scheme,
    analyse,
    expected_payment_fen,
    make_record,
    outlier,
    record_from_row,
)


def rec(pdx: str, *other: str, procs: tuple[str, ...] = (), sex: int = 1, age: int = 50, **kw: object):  # type: ignore[no-untyped-def]
    return make_record(principal_dx=pdx, other_dx=other, procedures=procs, sex=sex, age_years=age, **kw)  # type: ignore[arg-type]


# ---------------------------------------------------------------- parsing the publication


def test_counts_of_the_1_1_tables(parsed: tuple[Scheme, importer.ParseReport]) -> None:
    scheme, report = parsed
    assert report.counts["mdc"] == 26
    assert report.counts["adrg"] == 376
    assert report.counts["drg"] == 628
    assert report.counts["exclusion_tables"] == 223
    assert 28_000 <= report.counts["exclusion_codes"] <= 28_600
    # every "表 7-N" entry of the MCC/CC lists is read, including names wrapped over two lines
    assert report.counts["mcc"] == 4643
    assert report.counts["cc"] == 16435
    assert scheme.mcc["B21.300"] == (13,)  # its name runs over two lines before "表 7-13"
    assert all(m.principal_dx for m in scheme.mdcs if m.code != "MDCA")
    # the only ADRG without a condition list is WJ1, read from its name; YC1 needs an OR procedure
    assert any(n.startswith("WJ1") for n in report.notes)


def test_exclusion_tables_parse_by_headers_not_lines() -> None:
    text = "表 7-1\n包含以下主要诊断：\nA00.000 霍乱 A01.000 伤寒 1100 表 7-2 包含以下主要诊断： A01.000 伤寒\nB12.000 维生素 B12 缺乏\n"
    tables = importer.parse_exclusions(text)
    assert tables[1] == {"A00.000", "A01.000"}
    assert tables[2] == {"A01.000", "B12.000"}  # "B12" inside a name is not a code


def test_cc_list_with_pages_run_together() -> None:
    text = "疾病编码 疾病名称 排除内容 A05.202 急性坏死性肠炎 表 7-1 1100 疾病编码 疾病名称 排除内容 A17.000+G01* 结核性脑膜炎 表 7-2\nA17.000+G01* 结核性脑膜炎 表 7-3\n"
    cc = importer.parse_cc_list(text)
    assert cc == {"A05.202": (1,), "A17.000+G01*": (2, 3)}  # a code under several tables keeps all


# ---------------------------------------------------------------- pre-MDC


def test_mdca_heart_transplant(grouper: Grouper) -> None:
    r = grouper.group(rec("I42.000", procs=("37.5100",)))
    assert (r.mdc, r.adrg, r.drg) == ("MDCA", "AA1", "AA19")


def test_mdca_ventilation_96_hours_by_hours_field(grouper: Grouper) -> None:
    r = grouper.group(rec("J18.900", "J96.900x001", ventilation_hours=120))
    assert r.adrg == "AH1" and r.drg == "AH11"
    assert "96" in r.explanation
    r2 = grouper.group(rec("J18.900", ventilation_hours=95))
    assert r2.mdc == "MDCE"


def test_mdca_ecmo_as_principal_procedure_only(grouper: Grouper) -> None:
    assert grouper.group(rec("I21.001", procs=("39.6500",))).adrg == "AH1"
    # ECMO as a secondary procedure does not make MDCA: the principal procedure decides (see EC11 case)
    r = grouper.group(rec("I21.001", procs=("36.0601", "39.6500")))
    assert (r.mdc, r.drg) == ("MDCF", "FM19")


def test_procedure_groups_are_tried_before_ambiguity(grouper: Grouper) -> None:
    # 36.0601 (coronary stent) is listed by a surgical ADRG of another MDC, yet FM1 (a 操作 group,
    # after the surgical groups of MDCF) accepts it: the record is not ambiguous
    assert "36.0601" in grouper.or_procedures
    assert grouper.group(rec("I21.001", procs=("36.0601",))).drg == "FM19"


def test_infant_with_a_newborn_only_diagnosis_is_ungroupable(grouper: Grouper) -> None:
    r = grouper.group(make_record(principal_dx="P05.900", sex=1, age_years=0, age_days=100))
    assert r.mdc == "MDCP" and r.drg == "0000" and "ADRG" in (r.reason or "")
    newborn = grouper.group(make_record(principal_dx="P05.900", sex=1, age_years=0, age_days=10))
    assert newborn.adrg == "PU1"


def test_unknown_sex_cannot_enter_a_sex_limited_mdc(grouper: Grouper) -> None:
    r = grouper.group(rec("C61.x00", sex=0))
    assert r.drg == "0000" and "性别未知" in r.explanation


def test_mdcp_newborn_by_age_and_diagnosis(grouper: Grouper) -> None:
    r = grouper.group(make_record(principal_dx="P22.000", sex=1, age_years=0, age_days=2))
    assert (r.mdc, r.adrg) == ("MDCP", "PR1")


def test_mdcp_birth_weight_groups(grouper: Grouper) -> None:
    def weight(g: int) -> str | None:
        return grouper.group(
            make_record(principal_dx="P07.300x001", sex=2, age_years=0, age_days=3, birth_weight_g=g)
        ).adrg

    assert weight(1200) == "PS1"
    assert weight(1800) == "PS2"
    assert weight(2200) == "PS3"
    assert weight(2600) == "PS4"


def test_mdcp_infant_after_28_days(grouper: Grouper) -> None:
    r = grouper.group(make_record(principal_dx="A04.000x001", sex=1, age_years=0, age_days=100))
    assert (r.mdc, r.adrg) == ("MDCP", "PV1")


def test_mdcy_hiv(grouper: Grouper) -> None:
    r = grouper.group(rec("B20.003"))
    assert r.mdc == "MDCY" and r.adrg == "YR1"


def test_mdcz_two_body_sites(grouper: Grouper) -> None:
    r = grouper.group(rec("S01.800x031", "S21.101"))
    assert (r.mdc, r.adrg) == ("MDCZ", "ZZ1")
    assert "头颈部创伤" in r.explanation and "胸部创伤" in r.explanation


def test_mdcz_needs_two_sites(grouper: Grouper) -> None:
    r = grouper.group(rec("S01.800x031"))
    assert r.mdc != "MDCZ"
    assert "仅 1 个" in r.explanation


# ---------------------------------------------------------------- MDC, sex, ADRG, CC/MCC


def test_male_only_mdc_rejects_a_woman(grouper: Grouper) -> None:
    assert grouper.group(rec("C61.x00", procs=("60.5x02",), sex=1)).drg == "MA19"
    r = grouper.group(rec("C61.x00", procs=("60.5x02",), sex=2))
    assert r.status == "ungroupable" and r.drg == "0000"
    assert "性别" in (r.reason or "")


def test_female_only_mdc_rejects_a_man(grouper: Grouper) -> None:
    pdx = next(iter(sorted(grouper.mdc_dx["MDCN"] - grouper.mdc_dx["MDCM"])))
    assert grouper.group(rec(pdx, sex=2)).mdc == "MDCN"
    assert grouper.group(rec(pdx, sex=1)).drg == "0000"


def test_cc_mcc_and_excluded(grouper: Grouper) -> None:
    base = grouper.group(rec("I63.900"))
    assert (base.drg, base.severity) == ("BR25", "none")
    cc = grouper.group(rec("I63.900", "A00.100"))
    assert (cc.drg, cc.severity, cc.trigger) == ("BR23", "CC", "A00.100")
    mcc = grouper.group(rec("I63.900", "A00.100", "A01.100"))
    assert (mcc.drg, mcc.severity, mcc.trigger) == ("BR21", "MCC", "A01.100")
    # I60.000 is an MCC whose exclusion table 表 7-96 holds I63.900: it does not count
    excl = grouper.group(rec("I63.900", "I60.000"))
    assert excl.drg == "BR25" and excl.excluded == ("I60.000",)
    assert "排除表" in excl.explanation


def test_dagger_asterisk_codes_match_their_dagger(grouper: Grouper) -> None:
    r = grouper.group(rec("N18.500", "N18.900x012+D63.8*", procs=("38.9501",)))
    assert r.adrg == "LF1"


def test_ambiguous_when_the_procedure_belongs_to_another_mdc(grouper: Grouper) -> None:
    # appendicitis (MDCG) with a craniotomy (MDCB) as the principal procedure
    r = grouper.group(rec("K35.200", procs=("01.2413",)))
    assert r.status == "ambiguous" and r.drg == "GQY"
    assert "歧义" in (r.reason or "")


def test_ungroupable_unknown_principal_diagnosis(grouper: Grouper) -> None:
    r = grouper.group(rec("U99.999x999"))
    assert r.status == "ungroupable" and r.drg == "0000" and r.mdc is None
    assert "U99.999x999" in (r.reason or "")


# ---------------------------------------------------------------- hand-made scheme: several tables


def tiny_scheme() -> Scheme:
    return Scheme(
        version="tiny",
        mdcs=(Mdc("MDCE", "呼吸", frozenset({"J18.900", "J44.100"})),),
        adrgs=(
            Adrg("EB1", "肺大手术", "MDCE", (Condition(principal_procedure=frozenset({"32.4100"})),)),
            Adrg("ES3", "呼吸系统感染", "MDCE", (Condition(principal_dx=frozenset({"J18.900", "J44.100"})),)),
        ),
        drgs={
            "EB11": "肺大手术伴MCC",
            "EB15": "肺大手术不伴",
            "ES31": "感染伴MCC",
            "ES33": "伴CC",
            "ES35": "不伴",
        },
        mcc={"J96.000": (1, 2), "R57.000": (4,)},
        cc={"E87.100": (3,)},
        exclusions={1: frozenset({"J44.100"}), 2: frozenset({"J18.900"}), 3: frozenset({"J18.900"})},
    )


def test_code_under_several_exclusion_tables_keeps_all() -> None:
    g = Grouper(tiny_scheme())
    # J96.000 names tables 1 and 2: excluded under either principal diagnosis
    assert g.group(rec("J18.900", "J96.000")).excluded == ("J96.000",)
    assert g.group(rec("J44.100", "J96.000")).excluded == ("J96.000",)
    # the CC E87.100 (table 3) counts under J44.100, but not under J18.900
    assert g.group(rec("J44.100", "E87.100")).drg == "ES33"
    assert g.group(rec("J18.900", "E87.100")).drg == "ES35"


def test_mcc_falls_back_to_the_split_that_exists() -> None:
    g = Grouper(tiny_scheme())
    r = g.group(rec("J44.100", "R57.000", procs=("32.4100",)))
    assert r.drg == "EB11"
    s = g.group(rec("J44.100", "E87.100", procs=("32.4100",)))
    assert s.drg == "EB15"  # CC but the ADRG splits only 1/5


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"principal_dx": "XYZ"}, "diagnosis"),
        ({"principal_dx": ""}, "principal_dx"),
        ({"principal_dx": "J18.900", "procedures": ("abc",)}, "procedure"),
        ({"principal_dx": "J18.900", "birth_weight_g": -5}, "birth_weight_g"),
        (
            {
                "principal_dx": "J18.900",
                "admission_date": date(2026, 5, 7),
                "discharge_date": date(2026, 5, 1),
            },
            "discharge_date",
        ),
        ({"principal_dx": "J18.900", "los_days": -1}, "los_days"),
        ({"principal_dx": "J18.900", "sex": 5}, "sex"),
    ],
)
def test_bad_input_is_rejected(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(RecordError) as err:
        make_record(**kwargs)  # type: ignore[arg-type]
    assert err.value.field_name == field


def test_row_with_negative_weight_is_rejected() -> None:
    with pytest.raises(RecordError):
        record_from_row({"ICD10_DRGS": "P07.300", "weight": "-1", "gender": "1"})


def test_stay_is_computed_from_dates() -> None:
    r = make_record(principal_dx="J18.900", admission_date=date(2026, 5, 1), discharge_date=date(2026, 5, 8))
    assert r.los_days == 7


# ---------------------------------------------------------------- payment and indices


def test_payment_and_outliers() -> None:
    assert expected_payment_fen(Decimal("1.2345"), 1_200_000) == 1_481_400
    p = DrgPolicy("ES33", Decimal("1"), mean_cost_fen=1_000_000)
    assert outlier(2_000_001, p) == "high"
    assert outlier(2_000_000, p) == ""
    assert outlier(399_999, p) == "low"


def test_cmi_and_consumption_indices() -> None:
    facts = [
        CaseFact("内科", "甲", "ES33", Decimal("1.0"), 10_000, 10, 12_000),
        CaseFact("内科", "甲", "ES33", Decimal("1.0"), 10_000, 10, 12_000),
        CaseFact("外科", "乙", "EB11", Decimal("3.0"), 60_000, 12, 36_000),
        CaseFact("外科", "乙", "ES33", Decimal("1.0"), 20_000, 20, 12_000),
    ]
    by = {s.unit: s for s in analyse(facts)}
    assert by["内科"].cmi == Decimal("1.0000") and by["外科"].cmi == Decimal("2.0000")
    # 外科: cost 80000 against the means 60000 (EB11) + 13333.33 (ES33)
    assert by["外科"].cost_index == Decimal("1.0909")
    assert by["内科"].time_index == Decimal("0.7500")
    assert by["外科"].profit_fen == 48_000 - 80_000


@settings(max_examples=60, deadline=None)
@given(
    dx=st.lists(
        st.sampled_from(["J18.900", "A00.100", "A01.100", "I60.000", "E11.900", "K35.800", "S21.101"]),
        max_size=5,
    ),
    proc=st.sampled_from(["", "01.2413", "37.5100", "96.0800x005", "42.0902"]),
    sex=st.sampled_from([1, 2]),
    age=st.integers(0, 100),
)
def test_any_valid_record_gets_exactly_one_outcome(
    grouper: Grouper, dx: list[str], proc: str, sex: int, age: int
) -> None:
    r = grouper.group(
        make_record(
            principal_dx="I63.900", other_dx=dx, procedures=[proc] if proc else [], sex=sex, age_years=age
        )
    )
    assert r.status in ("grouped", "ungroupable", "ambiguous")
    if r.status == "grouped":
        assert r.drg in grouper.drgs and r.drg.startswith(r.adrg or "?")
    assert r.steps[-1].startswith("结论")


def test_indexed_scan_agrees_with_table_order_scan(grouper: Grouper) -> None:
    """The look-up index only skips ADRGs that cannot match: same answer as testing every ADRG."""
    import random

    rnd = random.Random(5)
    adrgs = grouper.scheme.adrgs
    or_procs = sorted(grouper.or_procedures)
    checked = 0
    for _ in range(3000):
        a = rnd.choice(adrgs)
        c = a.conditions[0] if a.conditions else Condition()
        dx_pool = sorted(c.principal_dx or c.any_dx or grouper.mdc_dx.get(a.mdc) or {"J18.900"})
        procs: list[str] = []
        if c.principal_procedure:
            procs.append(rnd.choice(sorted(c.principal_procedure)))
        elif rnd.random() < 0.3:
            procs.append(rnd.choice(or_procs))
        r = make_record(
            principal_dx=rnd.choice(dx_pool),
            procedures=procs,
            sex=rnd.choice([1, 2]),
            age_years=0,
            age_days=rnd.choice([3, 100, 20000]),
            birth_weight_g=rnd.choice([None, 1200, 2600]),
        )
        age = grouper._age_days(r)
        for mdc in {a.mdc, *grouper.mdc_of_pdx.get(r.principal_dx, ())}:
            pp = grouper.principal_procedure(r)[0]
            fast, slow = grouper._scan(mdc, r, age, pp), grouper._scan_linear(mdc, r, age, pp)
            assert (fast[0], fast[1]) == (slow[0], slow[1]), (mdc, r)
            checked += 1
    assert checked >= 3000


@pytest.mark.parametrize(
    ("procs", "adrg"),
    [
        (("50.5100",), "AB1"),
        (("52.8000", "55.6100"), "AC1"),  # 同时包含: pancreas and kidney
        (("55.6100", "52.8000"), "AC1"),
        (("52.8000",), "AD1"),
        (("55.6100",), "AE1"),
        (("33.5000",), "AF1"),
        (("41.0000",), "AG1"),
        (("41.0100",), "AG2"),
        (("37.5200x001",), "AH1"),
    ],
)
def test_mdca_transplant_groups(grouper: Grouper, procs: tuple[str, ...], adrg: str) -> None:
    r = grouper.group(rec("N18.500", procs=procs))
    assert (r.mdc, r.adrg) == ("MDCA", adrg)


def _first(codes: frozenset[str] | None) -> str:
    assert codes
    return sorted(codes)[0]


def test_diagnosis_plus_procedure_tables_alternatives(grouper: Grouper) -> None:
    """JA1: principal diagnosis + 手术表 1 + 手术表 2, or + 手术表 1 + 手术表 3 + 手术表 4."""
    ja1 = next(a for a in grouper.scheme.adrgs if a.code == "JA1")
    first, second = ja1.conditions
    pdx = _first(first.principal_dx)
    t1, t2 = (_first(t) for t in first.all_procedures)
    r = grouper.group(rec(pdx, procs=(t1, t2), sex=2))
    assert r.adrg == "JA1"
    u1, u3, u4 = (_first(t) for t in second.all_procedures)
    assert grouper.group(rec(pdx, procs=(u1, u3, u4), sex=2)).adrg == "JA1"
    assert grouper.group(rec(pdx, procs=(u1, u3), sex=2)).adrg != "JA1"  # 手术表 4 missing


def test_mdcz_with_surgery(grouper: Grouper) -> None:
    zb1 = next(a for a in grouper.scheme.adrgs if a.code == "ZB1")
    proc = _first(zb1.conditions[0].principal_procedure)
    r = grouper.group(rec("S01.800x031", "S21.101", procs=(proc,)))
    assert (r.mdc, r.adrg) == ("MDCZ", "ZB1")
