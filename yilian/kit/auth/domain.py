"""Roles, permissions and the acting user (``Actor``); pure, no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from yilian.kit.errors import Forbidden


class Role(StrEnum):
    PATIENT = "patient"
    FAMILY = "family"
    DOCTOR = "doctor"
    NURSE = "nurse"
    REGISTRAR = "registrar"
    CASHIER = "cashier"
    PHARMACIST = "pharmacist"
    INSURANCE_OFFICER = "insurance_officer"
    BED_MANAGER = "bed_manager"
    SECURITY_OFFICER = "security_officer"
    KIOSK = "kiosk"  # a self-service machine in the hall (自助机), logged in as a device
    COMMISSION = "commission"  # the city health commission (卫健委): aggregates only, never patients
    ADMIN = "admin"

    @property
    def label(self) -> str:
        """Return the Chinese name of the role."""
        return ROLE_LABELS[self]


ROLE_LABELS = {
    Role.PATIENT: "患者",
    Role.FAMILY: "家属",
    Role.DOCTOR: "医生",
    Role.NURSE: "护士",
    Role.REGISTRAR: "挂号员",
    Role.CASHIER: "收费员",
    Role.PHARMACIST: "药师",
    Role.INSURANCE_OFFICER: "医保专员",
    Role.BED_MANAGER: "床位管理员",
    Role.SECURITY_OFFICER: "保卫科安全员",
    Role.KIOSK: "自助机",
    Role.COMMISSION: "卫健委",
    Role.ADMIN: "系统管理员",
}

# the commission is not staff of any institution: it reads the city's aggregates only
STAFF_ROLES = frozenset(set(Role) - {Role.PATIENT, Role.FAMILY, Role.COMMISSION})


class Permission(StrEnum):
    PATIENT_READ = "patient:read"
    PATIENT_SEARCH = "patient:search"
    PATIENT_CREATE = "patient:create"
    PATIENT_UPDATE = "patient:update"
    PATIENT_ALLIANCE = "patient:alliance"  # master patient index look-up across the alliance
    FAMILY_MANAGE = "family:manage"
    REGISTRY_READ = "registry:read"
    REGISTRY_MANAGE = "registry:manage"
    USER_MANAGE = "user:manage"
    AUDIT_READ = "audit:read"  # the access-audit log
    # scheduling (号源、预约挂号、候诊叫号)
    SCHEDULE_READ = "schedule:read"
    SCHEDULE_MANAGE = "schedule:manage"
    BOOKING_BOOK = "booking:book"  # book / cancel for oneself (patient) or for others (registrar)
    REGISTRATION_DESK = "registration:desk"  # walk-in, check-in, return visits at the desk
    QUEUE_CALL = "queue:call"  # call next, recall, skip
    KIOSK_CHECK_IN = "kiosk:check_in"  # 自助签到: check in today's registrations by ID number
    # results registry and mutual recognition (检查检验结果互认)
    RESULTS_READ = "results:read"
    RESULTS_INGEST = "results:ingest"
    RESULTS_RECOGNIZE = "results:recognize"
    RESULTS_QUALIFY = "results:qualify"
    RESULTS_STATS = "results:stats"
    # smart insurance audit (医保智能审核)
    CLAIMS_PRECHECK = "claims:precheck"
    CLAIMS_AUDIT = "claims:audit"
    CLAIMS_RULES = "claims:rules"
    CLAIMS_APPEAL = "claims:appeal"
    # outpatient care (门诊就诊与医嘱)
    ENCOUNTER_WRITE = "encounter:write"
    ORDER_PERFORM = "order:perform"
    ORDER_REFUND = "order:refund"  # 退费: cancel a charged, unperformed order at the cashier's counter
    # pharmacy (审方、发药)
    PRESCRIPTION_REVIEW = "prescription:review"
    PHARMACY_DISPENSE = "pharmacy:dispense"
    # billing (收费、对账)
    BILLING_CASHIER = "billing:cashier"
    BILLING_RECONCILE = "billing:reconcile"
    BILLING_POLICY = "billing:policy"  # an institution's credit-care policy (先诊疗后付费)
    # insurance settlement policy tables (医保待遇政策)
    INSURANCE_POLICY = "insurance:policy"
    # CHS-DRG
    DRG_GROUP = "drg:group"
    DRG_ANALYZE = "drg:analyze"
    DRG_MANAGE = "drg:manage"
    # inpatient care (全院一张床、预住院、出入转、病案首页)
    BED_ALLOCATE = "bed:allocate"  # the bed office: suggestions, assign, release
    BED_MANAGE = "bed:manage"  # wards, rooms, beds, the ward relation table, inpatient policy
    INPATIENT_READ = "inpatient:read"
    INPATIENT_ADT = "inpatient:adt"  # admit, transfer, discharge, inpatient orders, deposits
    PREADMISSION = "inpatient:preadmit"  # register a pre-admission from an outpatient visit
    ABSTRACT_CODE = "inpatient:code"  # code and sign off the discharge abstract (病案首页)
    # alliance work (双向转诊、专家坐诊、共享诊断)
    REFERRAL_WRITE = "referral:write"  # refer a patient up or down, receive and see referred patients
    REFERRAL_DESK = "referral:desk"  # the lead hospital's referral desk: accept, refuse, book, arrive
    ALLIANCE_MANAGE = "alliance:manage"  # alliances, members, pairings, postings, reserve policy
    ALLIANCE_STATS = "alliance:stats"  # the alliance's indicators
    # fire evacuation command (消防应急疏散)
    EVACUATION_READ = "evacuation:read"  # plans and one's own task list
    EVACUATION_COMMAND = "evacuation:command"  # alarms, drills, hazards, blocking a stair
    EVACUATION_MANAGE = "evacuation:manage"  # import building models

    ANALYTICS_CITY = "analytics:city"  # the city view of every institution's indicators (aggregates)
    ANALYTICS_HOSPITAL = "analytics:hospital"  # one's own hospital's indicators (aggregates)


_STAFF_BASE = {
    Permission.REGISTRY_READ,
    Permission.PATIENT_READ,
    Permission.PATIENT_SEARCH,
    Permission.SCHEDULE_READ,
}
_STAFF_FINDER = _STAFF_BASE - {Permission.PATIENT_READ}
_CLINICAL = {
    Permission.RESULTS_READ,
    Permission.RESULTS_RECOGNIZE,
    Permission.CLAIMS_PRECHECK,
    Permission.CLAIMS_APPEAL,
    Permission.DRG_GROUP,
    Permission.QUEUE_CALL,
    Permission.ENCOUNTER_WRITE,
    Permission.ORDER_PERFORM,
    Permission.INPATIENT_READ,
    Permission.INPATIENT_ADT,
    Permission.PREADMISSION,
    Permission.ABSTRACT_CODE,
    Permission.REFERRAL_WRITE,
}
_INPATIENT_ALL = {
    Permission.BED_ALLOCATE,
    Permission.BED_MANAGE,
    Permission.INPATIENT_READ,
    Permission.INPATIENT_ADT,
    Permission.PREADMISSION,
    Permission.ABSTRACT_CODE,
}
_INSURANCE_OFFICE = {
    Permission.CLAIMS_PRECHECK,
    Permission.CLAIMS_AUDIT,
    Permission.CLAIMS_RULES,
    Permission.DRG_GROUP,
    Permission.DRG_ANALYZE,
    Permission.DRG_MANAGE,
    Permission.RESULTS_STATS,
    Permission.INSURANCE_POLICY,
}

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.PATIENT: frozenset(
        {
            Permission.PATIENT_READ,
            Permission.FAMILY_MANAGE,
            Permission.SCHEDULE_READ,
            Permission.BOOKING_BOOK,
            Permission.RESULTS_READ,
        }
    ),
    Role.FAMILY: frozenset({Permission.PATIENT_READ, Permission.SCHEDULE_READ, Permission.RESULTS_READ}),
    Role.DOCTOR: frozenset(_STAFF_BASE | _CLINICAL | {Permission.RESULTS_STATS, Permission.EVACUATION_READ}),
    Role.NURSE: frozenset(
        _STAFF_BASE
        | {
            Permission.RESULTS_READ,
            Permission.QUEUE_CALL,
            Permission.REGISTRATION_DESK,
            Permission.ORDER_PERFORM,
            Permission.INPATIENT_READ,
            Permission.INPATIENT_ADT,
            Permission.EVACUATION_READ,
        }
    ),
    Role.REGISTRAR: frozenset(
        _STAFF_BASE
        | {
            Permission.BOOKING_BOOK,
            Permission.REGISTRATION_DESK,
            Permission.PATIENT_CREATE,
            Permission.PATIENT_UPDATE,
            Permission.PATIENT_ALLIANCE,
            Permission.FAMILY_MANAGE,
            Permission.REFERRAL_DESK,
        }
    ),
    Role.CASHIER: frozenset(
        _STAFF_BASE
        | {
            Permission.BILLING_CASHIER,
            Permission.BILLING_RECONCILE,
            Permission.ORDER_REFUND,
            Permission.INPATIENT_READ,
        }
    ),
    # least privilege: the pharmacy window and the bed office find a patient (masked list) but do not
    # open the full record (ID number, phone, address, insurance number); their own flows show what
    # their task needs
    Role.PHARMACIST: frozenset(
        _STAFF_FINDER
        | {
            Permission.ORDER_PERFORM,
            Permission.ORDER_REFUND,
            Permission.PRESCRIPTION_REVIEW,
            Permission.PHARMACY_DISPENSE,
        }
    ),
    Role.INSURANCE_OFFICER: frozenset(
        _STAFF_BASE | _INSURANCE_OFFICE | {Permission.INPATIENT_READ, Permission.ABSTRACT_CODE}
    ),
    Role.BED_MANAGER: frozenset(
        _STAFF_FINDER
        | {
            Permission.BED_ALLOCATE,
            Permission.BED_MANAGE,
            Permission.INPATIENT_READ,
            Permission.INPATIENT_ADT,
        }
    ),
    Role.SECURITY_OFFICER: frozenset(
        {
            Permission.REGISTRY_READ,
            Permission.EVACUATION_READ,
            Permission.EVACUATION_COMMAND,
            Permission.EVACUATION_MANAGE,
        }
    ),
    Role.KIOSK: frozenset({Permission.KIOSK_CHECK_IN}),
    # the commission reads the alliance's directory and aggregates; no patient permission at all
    Role.COMMISSION: frozenset(
        {Permission.REGISTRY_READ, Permission.ANALYTICS_CITY, Permission.ANALYTICS_HOSPITAL}
    ),
    Role.ADMIN: frozenset(
        _STAFF_BASE
        | {
            Permission.PATIENT_CREATE,
            Permission.PATIENT_UPDATE,
            Permission.PATIENT_ALLIANCE,
            Permission.FAMILY_MANAGE,
            Permission.REGISTRY_MANAGE,
            Permission.USER_MANAGE,
            Permission.AUDIT_READ,
            Permission.SCHEDULE_MANAGE,
            Permission.BOOKING_BOOK,
            Permission.REGISTRATION_DESK,
            Permission.QUEUE_CALL,
            Permission.RESULTS_READ,
            Permission.RESULTS_INGEST,
            Permission.RESULTS_QUALIFY,
            Permission.RESULTS_STATS,
            Permission.DRG_MANAGE,
            Permission.BILLING_CASHIER,
            Permission.BILLING_RECONCILE,
            Permission.BILLING_POLICY,
            Permission.ORDER_REFUND,
        }
        | _INSURANCE_OFFICE
        | _INPATIENT_ALL
        | {Permission.EVACUATION_READ, Permission.EVACUATION_COMMAND, Permission.EVACUATION_MANAGE}
        | {Permission.ANALYTICS_CITY, Permission.ANALYTICS_HOSPITAL}
        | {Permission.REFERRAL_DESK, Permission.ALLIANCE_MANAGE, Permission.ALLIANCE_STATS}
    ),
}


@dataclass(frozen=True)
class Actor:
    """Who is acting: a logged-in user, or the system itself for jobs and the CLI."""

    user_id: int | None
    username: str
    role: Role
    display_name: str = ""
    institution_id: int | None = None
    patient_id: int | None = None
    practitioner_id: int | None = None
    permissions: frozenset[Permission] = field(default_factory=frozenset)
    ip: str | None = None
    channel: str = "api"

    def has(self, permission: Permission) -> bool:
        """Tell whether the actor holds ``permission``."""
        return permission in self.permissions

    def serves(self, institution_id: int | None) -> bool:
        """Tell whether the actor works on ``institution_id``'s data: staff of that institution, or an
        administrator tied to none (the platform's admin, jobs and the CLI)."""
        if self.institution_id is None:
            return self.role is Role.ADMIN
        return self.institution_id == institution_id

    @property
    def is_staff(self) -> bool:
        """Tell whether the actor works for an institution."""
        return self.role in STAFF_ROLES

    @classmethod
    def system(cls, reason: str = "system") -> Actor:
        """Return the actor used by CLI commands and scheduled jobs."""
        return cls(
            user_id=None,
            username=reason,
            role=Role.ADMIN,
            display_name="系统",
            permissions=ROLE_PERMISSIONS[Role.ADMIN],
            channel="cli",
        )


def require_permission(actor: Actor, permission: Permission) -> None:
    """Refuse (``Forbidden``, 403) an actor whose role does not hold ``permission``."""
    if not actor.has(permission):
        raise Forbidden(f"当前角色（{actor.role.label}）没有此操作权限: {permission.value}")


def require_permission_at(
    actor: Actor,
    permission: Permission,
    institution_id: int | None,
    *,
    denied: Forbidden,
    elsewhere: Forbidden,
) -> None:
    """Refuse with ``denied`` an actor whose role does not hold ``permission``, and with ``elsewhere`` one
    working for another institution than ``institution_id`` (``None``: any; an actor tied to none may
    act everywhere). The areas pass their own errors, whose titles name the task."""
    if not actor.has(permission):
        raise denied
    if institution_id is not None and actor.institution_id not in (None, institution_id):
        raise elsewhere


def require_staff_permission(actor: Actor, permission: Permission) -> int:
    """Refuse like ``require_permission``, and refuse an actor tied to no institution too (an
    administrator); return the actor's institution, the one the task is done for."""
    if not actor.has(permission) or actor.institution_id is None:
        raise Forbidden(f"当前角色（{actor.role.label}）没有此操作权限: {permission.value}")
    return actor.institution_id
