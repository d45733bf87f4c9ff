"""Alliance tables: alliances, members, pairings, the referral reserve, referrals, postings and sittings,
reading-centre studies. Slots, schedules and results belong to other areas and are referred to by id."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from yilian.kit.db import Base


class Network(Base):
    """An alliance (城市医联体 / 县域医共体 / 专科联盟) with its lead institution (牵头医院)."""

    __tablename__ = "alliance_networks"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    lead_institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), index=True)
    created_at: Mapped[datetime]


class Member(Base):
    """An institution's membership of an alliance (the lead is a member too)."""

    __tablename__ = "alliance_members"
    __table_args__ = (UniqueConstraint("network_id", "institution_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    network_id: Mapped[int] = mapped_column(ForeignKey("alliance_networks.id"))
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), index=True)
    joined_on: Mapped[date]


class Pairing(Base):
    """A pairing (结对帮扶, 一院一策) of a senior hospital with a member for a period, with its goals."""

    __tablename__ = "alliance_pairings"

    id: Mapped[int] = mapped_column(primary_key=True)
    network_id: Mapped[int] = mapped_column(ForeignKey("alliance_networks.id"), index=True)
    senior_institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"))
    member_institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"))
    start: Mapped[date]
    end: Mapped[date]
    goals: Mapped[str] = mapped_column(Text, default="")


class ReservePolicy(Base):
    """A department's referral share (转诊预留比例) and release lead time; absent: the defaults."""

    __tablename__ = "alliance_reserve_policies"

    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), primary_key=True)
    reserve_percent: Mapped[int]
    release_hours: Mapped[int]
    updated_at: Mapped[datetime]


class SlotReserve(Base):
    """Places of one slot kept for referrals (held in scheduling until used or released)."""

    __tablename__ = "alliance_slot_reserves"
    __table_args__ = (Index("ix_alliance_slot_reserves_open", "released_at", "release_at"),)

    slot_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    schedule_id: Mapped[int] = mapped_column(index=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"))
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    day: Mapped[date]
    held: Mapped[int]
    used: Mapped[int] = mapped_column(default=0)
    release_at: Mapped[datetime]
    released_at: Mapped[datetime | None]
    released: Mapped[int] = mapped_column(default=0)  # places given back to the public


class Referral(Base):
    """A referral (转诊单) up to the lead hospital or down to a member."""

    __tablename__ = "alliance_referrals"
    __table_args__ = (
        Index("ix_alliance_referrals_to", "to_institution_id", "state"),
        Index("ix_alliance_referrals_from", "from_institution_id", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    network_id: Mapped[int] = mapped_column(ForeignKey("alliance_networks.id"))
    direction: Mapped[str] = mapped_column(String(8))
    kind: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    from_institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"))
    from_practitioner_id: Mapped[int | None] = mapped_column(ForeignKey("practitioners.id"))
    to_institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"))
    to_department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    to_practitioner_id: Mapped[int | None] = mapped_column(ForeignKey("practitioners.id"))
    diagnosis_code: Mapped[str] = mapped_column(String(16), default="")
    diagnosis: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(String(500))
    summary: Mapped[str] = mapped_column(Text, default="")
    care_plan: Mapped[str] = mapped_column(Text, default="")
    follow_up_dates: Mapped[str] = mapped_column(String(200), default="")  # ISO dates, comma separated
    refuse_reason: Mapped[str] = mapped_column(String(200), default="")
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("alliance_referrals.id"))
    booking_id: Mapped[int | None]
    booked_day: Mapped[date | None]
    used_reserve: Mapped[bool] = mapped_column(default=False)
    bed_request_id: Mapped[int | None]
    created_by: Mapped[str] = mapped_column(String(64))
    requested_at: Mapped[datetime]
    answer_due_at: Mapped[datetime]
    reminded_at: Mapped[datetime | None]
    answered_at: Mapped[datetime | None]
    booked_at: Mapped[datetime | None]
    arrived_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    access_until: Mapped[datetime | None]


class ReferralStep(Base):
    """One step of a referral's history (who moved it to which state, with a note)."""

    __tablename__ = "alliance_referral_steps"

    id: Mapped[int] = mapped_column(primary_key=True)
    referral_id: Mapped[int] = mapped_column(ForeignKey("alliance_referrals.id"), index=True)
    state: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime]
    by: Mapped[str] = mapped_column(String(64))
    note: Mapped[str] = mapped_column(String(500), default="")


class Posting(Base):
    """An expert's posting (专家派驻) from the lead hospital to a member's department on some weekdays."""

    __tablename__ = "alliance_postings"

    id: Mapped[int] = mapped_column(primary_key=True)
    network_id: Mapped[int] = mapped_column(ForeignKey("alliance_networks.id"), index=True)
    practitioner_id: Mapped[int] = mapped_column(ForeignKey("practitioners.id"), index=True)
    member_institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), index=True)
    member_department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    start: Mapped[date]
    end: Mapped[date]
    weekdays: Mapped[str] = mapped_column(String(16))  # "0,2" = Monday and Wednesday
    period: Mapped[str] = mapped_column(String(8))
    clinic_type: Mapped[str] = mapped_column(String(16))
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]


class Sitting(Base):
    """One sitting day (坐诊日) of a posting: its clinic schedule and what happened."""

    __tablename__ = "alliance_sittings"
    __table_args__ = (UniqueConstraint("posting_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    posting_id: Mapped[int] = mapped_column(ForeignKey("alliance_postings.id"), index=True)
    day: Mapped[date] = mapped_column(index=True)
    schedule_id: Mapped[int | None]
    arrived: Mapped[bool] = mapped_column(default=False)
    patients_seen: Mapped[int] = mapped_column(default=0)
    teaching_rounds: Mapped[int] = mapped_column(default=0)
    consultations: Mapped[int] = mapped_column(default=0)
    recorded_by: Mapped[str] = mapped_column(String(64), default="")
    recorded_at: Mapped[datetime | None]


class Reading(Base):
    """A member's study queued for a reading centre (共享诊断中心) of the lead hospital."""

    __tablename__ = "alliance_readings"
    __table_args__ = (
        UniqueConstraint("result_id"),
        Index("ix_alliance_readings_centre", "centre_institution_id", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    centre_institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"))
    member_institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), index=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    result_id: Mapped[int]
    kind: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(16))
    needs_verify: Mapped[bool] = mapped_column(default=False)
    queued_at: Mapped[datetime]
    reader: Mapped[str] = mapped_column(String(64), default="")
    claimed_at: Mapped[datetime | None]
    findings: Mapped[str] = mapped_column(Text, default="")
    conclusion: Mapped[str] = mapped_column(String(500), default="")
    reported_at: Mapped[datetime | None]
    verifier: Mapped[str] = mapped_column(String(64), default="")
    verified_at: Mapped[datetime | None]
