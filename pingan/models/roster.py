"""The duty roster (值班表): shifts per unit, dated or weekly, and people's leave."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Column, Index
from sqlmodel import Field, SQLModel

from pingan.models.types import UTCDateTime

DUTY_ROLES = {"lead": "带班领导", "duty": "值班员"}


class Shift(SQLModel, table=True):
    """One shift of one person. Either `day` (a date) or `weekday` (0 = Monday, a weekly rotation:
    a dated shift of a unit replaces that unit's weekly pattern for the day). Times are local
    "HH:MM"; an end at or before the start ends the next day (a night shift)."""

    __tablename__ = "duty_shifts"
    __table_args__ = (Index("ix_duty_shifts_unit_day", "unit_id", "day"),)

    id: int | None = Field(default=None, primary_key=True)
    unit_id: str = Field(foreign_key="units.id")
    person_id: str = Field(foreign_key="people.id")
    role: str = "duty"  # lead (带班领导) | duty (值班员)
    day: date | None = None
    weekday: int | None = None
    start: str
    end: str
    label: str = ""  # 班次: 白班 / 夜班 …


class Leave(SQLModel, table=True):
    """A person away (请假) from `starts_at` to `ends_at`: the roster skips them, and reminders of
    the tickets they hold go to their unit's duty person meanwhile."""

    __tablename__ = "duty_leave"
    __table_args__ = (Index("ix_duty_leave_person", "person_id", "ends_at"),)

    id: int | None = Field(default=None, primary_key=True)
    person_id: str = Field(foreign_key="people.id")
    starts_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    ends_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
