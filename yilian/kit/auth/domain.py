"""Roles, permissions and the acting user (``Actor``); pure, no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


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
    Role.ADMIN: "系统管理员",
}

STAFF_ROLES = frozenset(set(Role) - {Role.PATIENT, Role.FAMILY})


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
    AUDIT_READ = "audit:read"


_STAFF_BASE = {Permission.REGISTRY_READ, Permission.PATIENT_READ, Permission.PATIENT_SEARCH}

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.PATIENT: frozenset({Permission.PATIENT_READ, Permission.FAMILY_MANAGE}),
    Role.FAMILY: frozenset({Permission.PATIENT_READ}),
    Role.DOCTOR: frozenset(_STAFF_BASE),
    Role.NURSE: frozenset(_STAFF_BASE),
    Role.REGISTRAR: frozenset(
        _STAFF_BASE
        | {
            Permission.PATIENT_CREATE,
            Permission.PATIENT_UPDATE,
            Permission.PATIENT_ALLIANCE,
            Permission.FAMILY_MANAGE,
        }
    ),
    Role.CASHIER: frozenset(_STAFF_BASE),
    Role.PHARMACIST: frozenset(_STAFF_BASE),
    Role.INSURANCE_OFFICER: frozenset(_STAFF_BASE),
    Role.BED_MANAGER: frozenset(_STAFF_BASE),
    Role.SECURITY_OFFICER: frozenset({Permission.REGISTRY_READ}),
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
        }
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
