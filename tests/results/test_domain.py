"""Recognition rules without a database: validity boundary, QA, matrix, alliance, status, decisions."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from yilian.results.domain import (
    SEED_EXAM_ITEMS,
    Decision,
    NonRecognitionReason,
    ResultStatus,
    check_decision,
    parse_number,
)
from yilian.results.errors import InvalidDecision
from yilian.results.recognition_rules import (
    CandidateResult,
    InstitutionProfile,
    QaRecord,
    RecognitionPolicy,
    Tier,
    assess,
    tier_of,
)

ITEMS = {i.code: i for i in SEED_EXAM_ITEMS}
GLU, K, HBA1C, CT = ITEMS["GLU"], ITEMS["K"], ITEMS["HBA1C"], ITEMS["CT-CHEST"]
QA = [
    QaRecord("临床化学", date(2026, 1, 1), date(2026, 12, 31)),
    QaRecord("临床血液", date(2026, 1, 1), date(2026, 12, 31)),
]
HIGH_A = InstitutionProfile(1, "三甲", 3, "甲", 10, hr_mark=True)
HIGH_B = InstitutionProfile(2, "二甲", 2, "甲", 20)
LOW = InstitutionProfile(3, "二乙", 2, "乙", 30)
COMMUNITY = InstitutionProfile(4, "社区", 1, "", 10)
ON = date(2026, 5, 7)


def _candidate(
    source: InstitutionProfile, day: date, status: ResultStatus = ResultStatus.FINAL, code: str = "GLU"
) -> CandidateResult:
    return CandidateResult(99, code, status, day, source)


def test_seeded_validity_follows_the_public_list() -> None:
    assert {
        c: ITEMS[c].validity_days for c in ("K", "NA", "CL", "CA", "MG", "FE", "TIBC", "PHOS", "LI")
    } == dict.fromkeys(("K", "NA", "CL", "CA", "MG", "FE", "TIBC", "PHOS", "LI"), 7)
    assert all(ITEMS[c].validity_days == 30 for c in ("TP", "ALB", "FERR", "GLU", "TC", "TG", "TBIL"))
    assert HBA1C.validity_days == 60
    assert ITEMS["US-ABD"].validity_days == 14 and CT.validity_days == 30


def test_tiers() -> None:
    assert tier_of(3, "甲") is Tier.HIGH and tier_of(3, "") is Tier.HIGH and tier_of(2, "甲") is Tier.HIGH
    assert tier_of(2, "乙") is Tier.LOW and tier_of(1, "") is Tier.LOW and tier_of(0, "") is Tier.LOW


@pytest.mark.parametrize(
    ("age_days", "valid"),
    [(0, True), (ITEMS["K"].validity_days - 1, True), (ITEMS["K"].validity_days, False)],
)
def test_expiry_on_the_boundary_day(age_days: int, valid: bool) -> None:
    result_day = ON - timedelta(days=age_days)
    a = assess(
        _candidate(HIGH_B, result_day, code="K"),
        item=K,
        receiver=HIGH_A,
        on=ON,
        qa=QA,
        policy=RecognitionPolicy(),
    )
    assert a.valid_until == result_day + timedelta(days=6)
    assert a.qualifies is valid
    if not valid:
        assert any("已超过有效期" in w for w in a.why_not)


def test_future_result_is_not_a_candidate() -> None:
    a = assess(
        _candidate(HIGH_A, ON + timedelta(days=1)),
        item=GLU,
        receiver=HIGH_A,
        on=ON,
        qa=QA,
        policy=RecognitionPolicy(),
    )
    assert not a.qualifies


def test_unqualified_source_without_qa_is_refused() -> None:
    a = assess(_candidate(HIGH_B, ON), item=GLU, receiver=HIGH_A, on=ON, qa=[], policy=RecognitionPolicy())
    assert not a.qualifies and any("无临床化学室间质评" in w for w in a.why_not)


def test_expired_or_failed_qa_is_refused() -> None:
    expired = [QaRecord("临床化学", date(2025, 1, 1), date(2025, 12, 31))]
    a = assess(
        _candidate(HIGH_B, ON), item=GLU, receiver=HIGH_A, on=ON, qa=expired, policy=RecognitionPolicy()
    )
    assert not a.qualifies and any("室间质评" in w for w in a.why_not)
    failed = [QaRecord("临床化学", date(2026, 1, 1), date(2026, 12, 31), passed=False)]
    assert not assess(
        _candidate(HIGH_B, ON), item=GLU, receiver=HIGH_A, on=ON, qa=failed, policy=RecognitionPolicy()
    ).qualifies
    # QA of another discipline does not count; imaging needs no QA by default
    chem_only = [QaRecord("临床化学", date(2026, 1, 1), date(2026, 12, 31))]
    assert not assess(
        _candidate(HIGH_B, ON, code="HBA1C"),
        item=HBA1C,
        receiver=HIGH_A,
        on=ON,
        qa=chem_only,
        policy=RecognitionPolicy(),
    ).qualifies
    assert assess(
        _candidate(HIGH_B, ON, code="CT-CHEST"),
        item=CT,
        receiver=HIGH_A,
        on=ON,
        qa=[],
        policy=RecognitionPolicy(),
    ).qualifies


@pytest.mark.parametrize(
    ("receiver", "source", "ok"),
    [
        (LOW, LOW, True),  # 二乙及以下互认
        (InstitutionProfile(5, "社区", 1, "", 40), LOW, True),
        (LOW, HIGH_A, True),  # 低级认高级
        (HIGH_A, HIGH_B, True),  # 二甲及以上互认
        (HIGH_A, LOW, False),  # 高级不认低级
        (HIGH_B, InstitutionProfile(6, "社区", 1, "", 40), False),
    ],
)
def test_level_matrix_outside_the_alliance(
    receiver: InstitutionProfile, source: InstitutionProfile, ok: bool
) -> None:
    a = assess(_candidate(source, ON), item=GLU, receiver=receiver, on=ON, qa=QA, policy=RecognitionPolicy())
    assert a.qualifies is ok


def test_alliance_rule_overrides_the_matrix_and_is_policy() -> None:
    a = assess(_candidate(COMMUNITY, ON), item=GLU, receiver=HIGH_A, on=ON, qa=QA, policy=RecognitionPolicy())
    assert a.qualifies and "同一医联体内互认" in a.why
    off = RecognitionPolicy(same_alliance_recognised=False)
    assert not assess(
        _candidate(COMMUNITY, ON), item=GLU, receiver=HIGH_A, on=ON, qa=QA, policy=off
    ).qualifies
    lenient = RecognitionPolicy(same_alliance_recognised=False, tier3_accepts_lower_with_qa=True)
    assert assess(
        _candidate(COMMUNITY, ON), item=GLU, receiver=HIGH_A, on=ON, qa=QA, policy=lenient
    ).qualifies


@pytest.mark.parametrize("status", [ResultStatus.PRELIMINARY, ResultStatus.CANCELLED])
def test_non_final_results_are_refused(status: ResultStatus) -> None:
    a = assess(
        _candidate(HIGH_A, ON, status), item=GLU, receiver=HIGH_A, on=ON, qa=QA, policy=RecognitionPolicy()
    )
    assert not a.qualifies and any("非最终" in w for w in a.why_not)
    corrected = assess(
        _candidate(HIGH_A, ON, ResultStatus.CORRECTED),
        item=GLU,
        receiver=HIGH_A,
        on=ON,
        qa=QA,
        policy=RecognitionPolicy(),
    )
    assert corrected.qualifies


def test_hr_mark_required_by_policy() -> None:
    strict = RecognitionPolicy(require_hr_mark=True)
    assert not assess(
        _candidate(HIGH_B, ON), item=GLU, receiver=HIGH_A, on=ON, qa=QA, policy=strict
    ).qualifies
    assert assess(_candidate(HIGH_A, ON), item=GLU, receiver=HIGH_B, on=ON, qa=QA, policy=strict).qualifies


def test_policy_round_trip_and_bad_matrix() -> None:
    p = RecognitionPolicy(tier3_accepts_lower_with_qa=True)
    assert RecognitionPolicy.from_dict(p.to_dict()) == p
    with pytest.raises(ValueError):
        RecognitionPolicy.from_dict({"matrix": {"low": {}}})


def test_decision_rules() -> None:
    check_decision(Decision.RECOGNISED, [], "", result_chosen=True)
    check_decision(Decision.NOT_RECOGNISED, [NonRecognitionReason.EMERGENCY], "急诊", result_chosen=False)
    with pytest.raises(InvalidDecision):
        check_decision(Decision.NOT_RECOGNISED, [], "", result_chosen=False)
    with pytest.raises(InvalidDecision):
        check_decision(Decision.NOT_RECOGNISED, [NonRecognitionReason.OTHER], "x" * 201, result_chosen=False)
    check_decision(Decision.NOT_RECOGNISED, [NonRecognitionReason.OTHER], "x" * 200, result_chosen=False)
    with pytest.raises(InvalidDecision):
        check_decision(Decision.RECOGNISED, [], "", result_chosen=False)
    assert len(NonRecognitionReason) == 10


def test_parse_number() -> None:
    assert parse_number("5.6") == 5.6 and parse_number("<0.1") == 0.1 and parse_number("阴性") is None
