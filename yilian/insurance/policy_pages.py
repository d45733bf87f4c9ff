"""The insurance office's page of policy tables (医保待遇政策): list with filters, add or change a
row, and a trial split (试算) of a bill with the stored policy, every part shown."""

from __future__ import annotations

from typing import Any, TypeVar

from fastapi import Request
from fastapi.responses import RedirectResponse
from nicegui import ui

from yilian.insurance import policy_service as service
from yilian.insurance.domain import Accounts, BillLine, SplitError, YearToDate
from yilian.kit.auth.domain import Actor, Permission
from yilian.kit.clock import business_date
from yilian.kit.db import unit_of_work
from yilian.kit.errors import YilianError
from yilian.kit.money import MoneyFormatError, parse_yuan, yuan
from yilian.web import nav
from yilian.web.shell import allowed, frame, guard, show_error

nav.register(
    nav.NavItem(
        "医保待遇政策",
        "/insurance/policies",
        "table_chart",
        "DRG 与医保",
        Permission.INSURANCE_POLICY,
        order=69,
        description="起付线、报销比例、封顶线（按统筹区、险种、机构级别、就诊类型、年度）与结算试算",
    )
)

ALL = ""
_E = TypeVar("_E", bound=ui.element)
CLASSES = {"甲": "甲类", "乙": "乙类", "丙": "丙类"}


def _row(r: Any) -> dict[str, Any]:
    return {
        "id": r.id,
        "region_code": r.region_code,
        "year": r.year,
        "scheme": r.scheme,
        "tier": r.tier,
        "visit_type": r.visit_type,
        "scheme_label": service.SCHEME_LABELS.get(r.scheme, r.scheme),
        "tier_label": service.TIER_LABELS.get(r.tier, r.tier),
        "visit_label": service.VISIT_TYPE_LABELS.get(r.visit_type, r.visit_type),
        "deductible": yuan(r.deductible),
        "ratio": f"{r.ratio_permille / 10:g}%",
        "cap": yuan(r.cap),
        "accounts": "可支付" if r.accounts_pay_self_funded else "不可支付",
        "raw_deductible": r.deductible,
        "raw_ratio": r.ratio_permille,
        "raw_cap": r.cap,
        "raw_accounts": r.accounts_pay_self_funded,
    }


def _fen(text: str | None, what: str) -> int:
    try:
        return parse_yuan(text or "0")
    except MoneyFormatError as exc:
        raise ValueError(f"{what}应为金额（元，最多两位小数）") from exc


@ui.page("/insurance/policies")
def policies_page(request: Request) -> RedirectResponse | None:
    """List, filter and edit the policy rows; try a bill against one."""
    actor = guard(request, Permission.INSURANCE_POLICY)
    if isinstance(actor, RedirectResponse):
        return actor
    if not allowed(actor, Permission.INSURANCE_POLICY):
        return None
    with frame(actor, "医保待遇政策"):
        _PolicyTables(actor, business_date().year).load()
    return None


POLICY_COLUMNS = [
    {"name": "region_code", "label": "统筹区", "field": "region_code", "align": "left"},
    {"name": "year", "label": "年度", "field": "year"},
    {"name": "scheme", "label": "险种", "field": "scheme_label"},
    {"name": "tier", "label": "机构级别", "field": "tier_label"},
    {"name": "visit", "label": "就诊类型", "field": "visit_label"},
    {"name": "deductible", "label": "起付线", "field": "deductible"},
    {"name": "ratio", "label": "统筹支付比例", "field": "ratio"},
    {"name": "cap", "label": "年度封顶线", "field": "cap"},
    {"name": "accounts", "label": "账户付乙类先行自付/丙类", "field": "accounts"},
]


class _PolicyTables:
    """The page's parts: filters, the policy table, the editor of one row and the trial split."""

    def __init__(self, actor: Actor, year_now: int) -> None:
        self.actor = actor
        self._filters(year_now)
        self.table = (
            ui.table(
                columns=POLICY_COLUMNS,
                rows=[],
                row_key="id",
                selection="single",
                on_select=lambda e: self.pick(e.selection),
            )
            .props('dense flat bordered data-testid="policy-table"')
            .classes("w-full")
        )
        ui.label(
            "乙类项目的先行自付比例按收费目录逐项设定（试算中逐行填写）；勾选表格中的一行可载入下方编辑。"
        ).classes("text-xs text-grey-7")
        with ui.row().classes("w-full gap-4 items-start"):
            with ui.card().classes("w-[34rem]"):
                self._editor(year_now)
            with ui.card().classes("flex-1 min-w-[30rem]").props('data-testid="trial-box"'):
                self._trial_box()

    def _filters(self, year_now: int) -> None:
        with ui.row().classes("items-end gap-2"):
            self.f_region = ui.input("统筹区划", value="").props("outlined dense clearable").classes("w-32")
            self.f_year = (
                ui.number("年度", value=year_now, precision=0)
                .props('outlined dense clearable data-testid="policy-filter-year"')
                .classes("w-28")
            )
            self.f_scheme = (
                ui.select({ALL: "全部险种", **service.SCHEME_LABELS}, value=ALL, label="险种")
                .props('outlined dense data-testid="policy-filter-scheme"')
                .classes("w-36")
            )
            self.f_tier = (
                ui.select({ALL: "全部级别", **service.TIER_LABELS}, value=ALL, label="机构级别")
                .props("outlined dense")
                .classes("w-36")
            )
            self.f_visit = (
                ui.select({ALL: "全部类型", **service.VISIT_TYPE_LABELS}, value=ALL, label="就诊类型")
                .props("outlined dense")
                .classes("w-36")
            )
            ui.button("查询", on_click=self.load).props('data-testid="policy-filter"')

    def _editor(self, year_now: int) -> None:
        ui.label("新增 / 修改政策").classes("text-subtitle1 text-primary")
        with ui.row().classes("items-end gap-2"):
            self.region = _field(ui.input("统筹区划", value="320600"), "policy-region", "w-28")
            self.year = _field(ui.number("年度", value=year_now, precision=0), "policy-year", "w-24")
            self.scheme = _field(
                ui.select(service.SCHEME_LABELS, value="employee", label="险种"), "policy-scheme", "w-32"
            )
        with ui.row().classes("items-end gap-2"):
            self.tier = _field(
                ui.select(service.TIER_LABELS, value="tertiary", label="机构级别"), "policy-tier", "w-40"
            )
            self.visit = _field(
                ui.select(service.VISIT_TYPE_LABELS, value="outpatient", label="就诊类型"),
                "policy-visit",
                "w-40",
            )
        with ui.row().classes("items-end gap-2"):
            self.deductible = _field(ui.input("起付线（元）", value="0"), "policy-deductible", "w-32")
            self.ratio = _field(
                ui.number("统筹支付比例（‰）", value=600, precision=0), "policy-ratio", "w-40"
            )
            self.cap = _field(ui.input("年度封顶线（元）", value="0"), "policy-cap", "w-36")
        self.accounts = ui.checkbox("个人账户/共济账户可支付乙类先行自付和丙类自费部分").props(
            'data-testid="policy-accounts"'
        )
        ui.button("保存", on_click=self.save).props('data-testid="policy-save"')

    def _trial_box(self) -> None:
        ui.label("结算试算（使用左侧选定的统筹区、年度、险种、级别、就诊类型）").classes(
            "text-subtitle1 text-primary"
        )
        self.lines_box = ui.column().classes("w-full gap-1")
        self.line_inputs: list[tuple[Any, Any, Any]] = []
        for amount, klass, permille in (("300.00", "甲", 0), ("123.45", "乙", 100), ("50.00", "丙", 0)):
            self.add_line(amount, klass, permille)
        with ui.row().classes("items-end gap-2"):
            ui.button("添加一行", on_click=lambda: self.add_line()).props("outline dense")
            self.used = _field(ui.input("本年已用起付线（元）", value="0"), "trial-used", "w-40")
            self.balance = _field(ui.input("个人账户余额（元）", value="0"), "trial-balance", "w-40")
            self.use_account = ui.checkbox("使用个人账户").props('data-testid="trial-use-account"')
        ui.button("试算", on_click=self.trial).props('data-testid="trial-run"')
        self.result = ui.column().classes("w-full gap-0").props('data-testid="trial-result"')

    def add_line(self, amount: str = "", klass: str = "甲", permille: int = 0) -> None:
        n = len(self.line_inputs)
        with self.lines_box, ui.row().classes("items-end gap-2"):
            a = _field(ui.input(f"第 {n + 1} 行金额（元）", value=amount), f"trial-amount-{n}", "w-40")
            k = _field(ui.select(CLASSES, value=klass, label="医保类别"), f"trial-class-{n}", "w-28")
            p = _field(
                ui.number("乙类先行自付（‰）", value=permille, min=0, max=1000, precision=0),
                f"trial-permille-{n}",
                "w-40",
            )
        self.line_inputs.append((a, k, p))

    def key(self) -> dict[str, Any]:  # the row's key, as keyword arguments of the service
        return {
            "region_code": (self.region.value or "").strip(),
            "scheme": self.scheme.value,
            "tier": self.tier.value,
            "visit_type": self.visit.value,
            "year": int(self.year.value or 0),
        }

    def load(self) -> None:
        try:
            with unit_of_work() as session:
                rows = service.list_policies(
                    session,
                    self.actor,
                    region_code=(self.f_region.value or "").strip() or None,
                    scheme=self.f_scheme.value or None,
                    tier=self.f_tier.value or None,
                    visit_type=self.f_visit.value or None,
                    year=int(self.f_year.value) if self.f_year.value else None,
                )
                self.table.rows = [_row(r) for r in rows]
        except YilianError as exc:
            show_error(exc)
            return
        self.table.update()

    def pick(self, selection: list[dict[str, Any]]) -> None:
        if not selection:
            return
        r = selection[0]
        self.region.set_value(r["region_code"])
        self.year.set_value(r["year"])
        self.scheme.set_value(r["scheme"])
        self.tier.set_value(r["tier"])
        self.visit.set_value(r["visit_type"])
        self.deductible.set_value(yuan(r["raw_deductible"], symbol=False).replace(",", ""))
        self.ratio.set_value(r["raw_ratio"])
        self.cap.set_value(yuan(r["raw_cap"], symbol=False).replace(",", ""))
        self.accounts.set_value(r["raw_accounts"])

    def save(self) -> None:
        try:
            values: dict[str, Any] = {
                "deductible": _fen(self.deductible.value, "起付线"),
                "cap": _fen(self.cap.value, "封顶线"),
                "ratio_permille": int(self.ratio.value if self.ratio.value is not None else -1),
            }
        except ValueError as exc:
            ui.notify(str(exc), type="warning")
            return
        try:
            with unit_of_work() as session:
                service.save_policy(
                    session,
                    self.actor,
                    **self.key(),
                    **values,
                    accounts_pay_self_funded=bool(self.accounts.value),
                )
        except YilianError as exc:
            show_error(exc)
            return
        ui.notify("政策已保存", type="positive")
        self.load()

    def trial(self) -> None:
        try:
            lines = [
                BillLine(_fen(a.value, "金额"), str(k.value), int(p.value or 0))
                for a, k, p in self.line_inputs
                if (a.value or "").strip()
            ]
            ytd = YearToDate(deductible_used=_fen(self.used.value, "已用起付线"))
            wallet = Accounts(
                personal_balance=_fen(self.balance.value, "账户余额"),
                use_personal=bool(self.use_account.value),
            )
        except (ValueError, SplitError) as exc:
            ui.notify(str(exc), type="warning")
            return
        if not lines:
            ui.notify("请至少填写一行金额", type="warning")
            return
        try:
            with unit_of_work() as session:
                split = service.trial_split(
                    session, self.actor, **self.key(), lines=lines, year_so_far=ytd, accounts=wallet
                )
        except YilianError as exc:
            show_error(exc)
            return
        _show_split(self.result, split)


def _field(element: _E, testid: str, width: str) -> _E:
    """An outlined, dense form field tagged for tests."""
    return element.props(f'outlined dense data-testid="{testid}"').classes(width)


def _show_split(box: ui.column, split: Any) -> None:
    box.clear()
    with box:
        ui.label("试算结果").classes("text-subtitle2 q-mt-sm")
        with ui.grid(columns="16rem 8rem").classes("gap-x-4 gap-y-0"):
            for label, amount, testid, strong in (
                ("总费用", split.total, "total", True),
                ("其中：丙类自费", split.self_funded, "self-funded", False),
                ("其中：乙类先行自付", split.self_pay_first, "self-pay-first", False),
                ("其中：起付线内自付", split.deductible, "deductible", False),
                ("其中：起付线以上个人共付", split.copay, "copay", False),
                ("其中：超封顶线", split.over_cap, "over-cap", False),
                ("统筹基金支付", split.fund, "fund", True),
                ("个人账户支付", split.personal_account, "personal", True),
                ("共济账户支付", split.mutual_aid, "mutual", True),
                ("现金支付", split.cash, "cash", True),
            ):
                tone = "text-bold" if strong else "text-grey-8"
                ui.label(label).classes(tone)
                ui.label(yuan(amount)).classes(f"{tone} text-right").props(f'data-testid="trial-{testid}"')
        parts = split.fund + split.personal_account + split.mutual_aid + split.cash
        ok = parts == split.total
        ui.label(
            f"统筹 + 个人账户 + 共济 + 现金 = {yuan(parts)}"
            + ("，与总费用相等 ✓" if ok else "，与总费用不符！")
        ).classes("text-positive" if ok else "text-negative").props('data-testid="trial-check"')
