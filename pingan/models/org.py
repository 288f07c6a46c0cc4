"""The organisation: units (city → district → street → community → grid, and departments), people,
their platform identities, chat groups and channels bound to units, and the places grids cover."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from pingan.models.types import UTCDateTime


class Level(StrEnum):
    city = "city"
    district = "district"
    street = "street"
    community = "community"
    grid = "grid"
    department = "department"


# The escalation ladder, bottom to top.
LADDER = (Level.grid, Level.community, Level.street, Level.district, Level.city)
LEVEL_NAMES = {
    Level.city: "市", Level.district: "区（县）", Level.street: "街道（乡镇）",
    Level.community: "社区（村）", Level.grid: "网格", Level.department: "职能部门",
}


class Role(StrEnum):
    resident = "resident"
    grid_worker = "grid_worker"
    community_staff = "community_staff"
    street_official = "street_official"
    district_official = "district_official"
    city_official = "city_official"
    dept_liaison = "dept_liaison"
    admin = "admin"


ROLE_NAMES = {
    Role.resident: "居民", Role.grid_worker: "网格员", Role.community_staff: "社区工作人员",
    Role.street_official: "街道干部", Role.district_official: "区工作组", Role.city_official: "市工作组",
    Role.dept_liaison: "部门联络员", Role.admin: "管理员",
}
STAFF_ROLES = frozenset(Role) - {Role.resident}


class Unit(SQLModel, table=True):
    __tablename__ = "units"

    id: str = Field(primary_key=True, max_length=64)
    name: str
    level: str = Field(index=True)
    parent_id: str | None = Field(default=None, foreign_key="units.id", index=True)
    kind: str | None = Field(default=None, description="department kind, e.g. 消防救援")


class Person(SQLModel, table=True):
    __tablename__ = "people"

    id: str = Field(primary_key=True, max_length=64)
    name: str
    role: str = Field(index=True)
    unit_id: str | None = Field(default=None, foreign_key="units.id", index=True)
    mobile: str | None = None
    lead: bool = False
    on_duty: bool = False


class Identity(SQLModel, table=True):
    """A person's account on one platform: ('qq', '10001'), ('wechat', openid), ('wecom', userid)."""

    __tablename__ = "identities"
    __table_args__ = (UniqueConstraint("platform", "external_id"),)

    id: int | None = Field(default=None, primary_key=True)
    person_id: str = Field(foreign_key="people.id", index=True)
    platform: str
    external_id: str


class ChatGroup(SQLModel, table=True):
    """A group chat bound to a unit. kind: coordination | residents | officials | admins."""

    __tablename__ = "chat_groups"
    __table_args__ = (UniqueConstraint("platform", "chat_id"),)

    id: int | None = Field(default=None, primary_key=True)
    platform: str
    account: str = ""
    chat_id: str
    unit_id: str = Field(foreign_key="units.id", index=True)
    kind: str = "coordination"
    name: str = ""


class Channel(SQLModel, table=True):
    """A one-to-one channel (an official account, a bot's private chats) bound to the unit it serves."""

    __tablename__ = "channels"
    __table_args__ = (UniqueConstraint("platform", "account"),)

    id: int | None = Field(default=None, primary_key=True)
    platform: str
    account: str
    unit_id: str = Field(foreign_key="units.id")


class Place(SQLModel, table=True):
    """A place a grid covers: an estate, a building, a street or an alias. `key` is normalised."""

    __tablename__ = "places"

    id: int | None = Field(default=None, primary_key=True)
    grid_id: str = Field(foreign_key="units.id", index=True)
    name: str
    key: str = Field(index=True)


class OrgRevision(SQLModel, table=True):
    """One row per organisation import: a running server that sees a newer one reloads the
    organisation (Bot.refresh_org), so a roster change needs no restart."""

    __tablename__ = "org_revisions"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
