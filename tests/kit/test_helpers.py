"""The kit's shared helpers: get-or-raise, the permission check, pinyin; and that the areas use them
instead of writing their own copies."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from yilian.kit.auth.domain import (
    ROLE_PERMISSIONS,
    Actor,
    Permission,
    Role,
    require_permission,
    require_permission_at,
    require_staff_permission,
)
from yilian.kit.errors import Forbidden, NotFound, found
from yilian.kit.pinyin import name_initials, name_pinyin

YILIAN = Path(__file__).resolve().parents[2] / "yilian"


def test_found_returns_the_value_or_raises_the_given_error() -> None:
    assert found(0, NotFound("x")) == 0  # falsy values are found values
    assert found("", NotFound("x")) == ""
    with pytest.raises(NotFound, match="患者不存在: 7"):
        found(None, NotFound("患者不存在: 7"))


def test_require_permission_names_the_role_and_the_permission() -> None:
    nurse = Actor(user_id=1, username="n", role=Role.NURSE, permissions=ROLE_PERMISSIONS[Role.NURSE])
    missing = next(p for p in Permission if not nurse.has(p))
    with pytest.raises(Forbidden, match=f"当前角色（{Role.NURSE.label}）没有此操作权限: {missing.value}"):
        require_permission(nurse, missing)
    require_permission(Actor.system(), missing)  # the system actor holds every admin permission


def test_require_staff_permission_wants_the_permission_and_an_institution() -> None:
    pharmacist = Actor(
        user_id=1,
        username="p",
        role=Role.PHARMACIST,
        institution_id=5,
        permissions=ROLE_PERMISSIONS[Role.PHARMACIST],
    )
    assert require_staff_permission(pharmacist, Permission.PHARMACY_DISPENSE) == 5
    nurse = Actor(
        user_id=2, username="n", role=Role.NURSE, institution_id=5, permissions=ROLE_PERMISSIONS[Role.NURSE]
    )
    with pytest.raises(Forbidden, match=f"没有此操作权限: {Permission.PHARMACY_DISPENSE.value}"):
        require_staff_permission(nurse, Permission.PHARMACY_DISPENSE)
    with pytest.raises(Forbidden):  # the platform's administrator holds it, but works for no pharmacy
        require_staff_permission(Actor.system(), Permission.PHARMACY_DISPENSE)


def test_require_permission_at_refuses_with_the_area_s_errors() -> None:
    class Denied(Forbidden):
        code = "denied"

    class Elsewhere(Forbidden):
        code = "elsewhere"

    staff = Actor(
        user_id=1, username="s", role=Role.NURSE, institution_id=5, permissions=ROLE_PERMISSIONS[Role.NURSE]
    )
    held = next(iter(staff.permissions))
    missing = next(p for p in Permission if not staff.has(p))

    def check(actor: Actor, permission: Permission, institution_id: int | None) -> None:
        require_permission_at(
            actor, permission, institution_id, denied=Denied("不能"), elsewhere=Elsewhere("只能本机构")
        )

    check(staff, held, 5)
    check(staff, held, None)  # no institution named: any
    check(Actor.system(), missing, 7)  # tied to no institution: everywhere
    with pytest.raises(Denied):
        check(staff, missing, 5)
    with pytest.raises(Elsewhere):
        check(staff, held, 6)


def test_pinyin_of_people_and_of_items() -> None:
    assert name_pinyin("单田芳") == ("shantianfang", "stf")  # 单 as a surname reads shan
    assert name_pinyin(" · ") == ("", "")
    assert name_initials("胸部CT平扫") == "xbctps"


@pytest.mark.parametrize("area", ["scheduling", "outpatient", "results", "registry"])
def test_services_use_the_kit_permission_check(area: str) -> None:
    source = (YILIAN / area / "service.py").read_text(encoding="utf-8")
    assert not re.search(r"^def _require\(", source, re.MULTILINE)
    assert "require_permission(" in source


@pytest.mark.parametrize("module", ["pharmacy/service.py", "pharmacy/decoction_service.py"])
def test_pharmacy_uses_the_kit_staff_check(module: str) -> None:
    source = (YILIAN / module).read_text(encoding="utf-8")
    assert not re.search(r"^def _require\(", source, re.MULTILINE)
    assert "require_staff_permission(" in source


@pytest.mark.parametrize("module", ["evacuation/service.py", "inpatient/service.py"])
def test_scoped_checks_go_through_the_kit(module: str) -> None:
    """Their ``_require`` only words the refusals; the check itself is ``kit``'s."""
    source = (YILIAN / module).read_text(encoding="utf-8")
    body = source.split("def _require(", 1)[1].split("\n\n\n", 1)[0]
    assert "require_permission_at(" in body and "actor.has(" not in body


@pytest.mark.parametrize("module", ["registry/domain.py", "catalog/domain.py"])
def test_one_pinyin_module(module: str) -> None:
    assert "pypinyin" not in (YILIAN / module).read_text(encoding="utf-8")  # kit/pinyin.py is the one
