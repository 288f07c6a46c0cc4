"""Which units have figures: tickets are filed under their community and roll up the tree
(digest.roll_up, ledger.scope_units), so a grid or a department has none of its own."""

from __future__ import annotations

from pingan.models.org import LEVEL_NAMES, Level
from pingan.models.org_index import OrgIndex

REPORT_LEVELS = (Level.community, Level.street, Level.district, Level.city)


class NoSuchReportUnit(ValueError):
    """The message says, in Chinese, what to write instead."""


def find_report_unit(org: OrgIndex, query: str) -> str:
    """A unit by id, name or part of its name, that has figures; NoSuchReportUnit otherwise."""
    if query in org.units:
        uid = query
    else:
        found = [u for u in org.units.values() if u.name == query] or \
                [u for u in org.units.values() if query in u.name]
        if not found:
            raise NoSuchReportUnit(f"找不到单位「{query}」，请写名称或编号，如 新联社区")
        uid = next((u for u in found if u.level in REPORT_LEVELS), found[0]).id
    unit = org.units[uid]
    if unit.level not in REPORT_LEVELS:
        community = org.up_to(uid, Level.community)
        hint = f"，如 {community.name}" if community is not None else ""
        raise NoSuchReportUnit(f"{unit.name}是{LEVEL_NAMES.get(unit.level, unit.level)}，"
                               f"只能按社区、街道、区（县）或市统计{hint}")
    return uid


def report_unit_of(org: OrgIndex, unit_id: str | None) -> str | None:
    """The nearest unit at or above `unit_id` that has figures (a grid's group reports its community)."""
    return next((u.id for u in org.ancestors(unit_id) if u.level in REPORT_LEVELS), None)
