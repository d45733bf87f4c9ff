"""The kit's shared helpers: get-or-raise, the permission check, pinyin; and that the areas use them
instead of writing their own copies."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from yilian.kit.auth.domain import ROLE_PERMISSIONS, Actor, Permission, Role, require_permission
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


def test_pinyin_of_people_and_of_items() -> None:
    assert name_pinyin("单田芳") == ("shantianfang", "stf")  # 单 as a surname reads shan
    assert name_pinyin(" · ") == ("", "")
    assert name_initials("胸部CT平扫") == "xbctps"


@pytest.mark.parametrize("area", ["scheduling", "outpatient", "results", "registry"])
def test_services_use_the_kit_permission_check(area: str) -> None:
    source = (YILIAN / area / "service.py").read_text(encoding="utf-8")
    assert not re.search(r"^def _require\(", source, re.MULTILINE)
    assert "require_permission(" in source


@pytest.mark.parametrize("module", ["registry/domain.py", "catalog/domain.py"])
def test_one_pinyin_module(module: str) -> None:
    assert "pypinyin" not in (YILIAN / module).read_text(encoding="utf-8")  # kit/pinyin.py is the one
