"""The ladder: grid → community → street → district → city (departments hang off it). Every "tier
above" — whom a 呼叫 reaches, who supervises a 督办, who hears of an urgent ticket nobody reached —
is one of these."""

from __future__ import annotations

from pingan.models import Level, Person, Role, Ticket, Unit
from pingan.models.org_index import OrgIndex

COMMUNITY_TIERS = (Level.grid, Level.community)  # 小事不出社区: the tiers of the ticket's community


def above(org: OrgIndex, unit_id: str | None) -> Unit | None:
    """The tier above a unit; a department's is the unit it is attached to. None at the top."""
    unit = org.units.get(unit_id)
    if unit is None:
        return None
    if unit.level == Level.department:
        return org.units.get(unit.parent_id)
    return org.next_up(unit_id)


def escalation_target(org: OrgIndex, t: Ticket, caller: Person | None = None) -> Unit | None:
    """The unit a 呼叫 would reach: the tier above the ticket's holder, or above the caller when
    the caller sits higher on the ticket's chain (a community secretary's 呼叫 on a grid's ticket
    means "the street", not himself). None at the top of the ladder."""
    here = t.holder_unit_id or t.unit_id
    if here not in org.units:
        return None
    if (caller is not None and caller.role != Role.admin and caller.unit_id in org.units
            and org.is_within(here, caller.unit_id)):
        # nobody above a city official: then the tier above the holder, as for anyone else
        return above(org, caller.unit_id) or above(org, here)
    return above(org, here)


def above_community(org: OrgIndex, t: Ticket) -> Unit | None:
    """The tier above the ticket's community, or above its holder if that is higher."""
    return above(org, t.unit_id if t.holder_level in COMMUNITY_TIERS else t.holder_unit_id)


def community_lead(org: OrgIndex, t: Ticket) -> Person | None:
    """The lead now of the ticket's community (OrgIndex.lead)."""
    where = t.unit_id or t.holder_unit_id
    community = org.up_to(where, Level.community)
    return org.lead(community.id if community else where)


def holder(org: OrgIndex, t: Ticket) -> Person | None:
    """Whom a reminder @-mentions: the holding person, else whoever is on duty at the holding unit."""
    return org.people.get(t.holder_person_id) or org.on_duty(t.holder_unit_id)
