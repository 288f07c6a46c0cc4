"""An in-memory read model of the organisation (units, staff, groups, places) for fast routing.

Rebuilt from the database at start-up and after an import; residents are not held here."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import func
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from pingan.models.org import LADDER, Channel, ChatGroup, Identity, Level, OrgRevision, Person, Place, Role, Unit
from pingan.models.places import place_key


class OrgIndex:
    def __init__(self, units, people, identities, groups, channels, places) -> None:
        self.units: dict[str, Unit] = {u.id: u for u in units}
        self.people: dict[str, Person] = {p.id: p for p in people if p.role != Role.resident}
        self.children: dict[str | None, list[str]] = defaultdict(list)
        for u in units:
            self.children[u.parent_id].append(u.id)
        self.by_unit: dict[str, list[Person]] = defaultdict(list)
        for p in self.people.values():
            self.by_unit[p.unit_id].append(p)
        self.identity: dict[tuple[str, str], str] = {}
        for i in identities:
            if i.person_id in self.people:
                self.identity[(i.person_id, i.platform)] = i.external_id
        self.groups: dict[tuple[str, str], ChatGroup] = {(g.platform, g.chat_id): g for g in groups}
        self.groups_of_unit: dict[str, list[ChatGroup]] = defaultdict(list)
        for g in groups:
            self.groups_of_unit[g.unit_id].append(g)
        self.channels: dict[tuple[str, str], Channel] = {(c.platform, c.account): c for c in channels}
        self.places: list[tuple[str, str]] = sorted(((p.key, p.grid_id) for p in places), key=lambda kv: -len(kv[0]))
        self.roster = None  # pingan.roster.Roster, when loaded with a clock
        # each unit's chain up, made once: every report walks it a dozen times (routing, the post's
        # names, who may act), and each step read the ORM's instrumented attributes
        self._chains: dict[str, tuple[Unit, ...]] = {}
        for uid in self.units:
            chain, at = [], uid
            while at is not None and at in self.units and len(chain) <= len(self.units):
                chain.append(self.units[at])
                at = self.units[at].parent_id
            self._chains[uid] = tuple(chain)
        self._chain_ids = {uid: frozenset(u.id for u in chain) for uid, chain in self._chains.items()}

    @staticmethod
    async def revision(session: AsyncSession) -> int | None:
        """The latest organisation import (OrgRevision), to tell whether a loaded index is stale."""
        return (await session.exec(select(func.max(OrgRevision.id)))).one()

    @classmethod
    async def load(cls, session: AsyncSession, clock=None) -> "OrgIndex":
        """With a clock, the duty roster too: who is on duty then follows it (see on_duty)."""
        async def all_(model):
            return list((await session.exec(select(model))).all())

        index = cls(await all_(Unit), await all_(Person), await all_(Identity), await all_(ChatGroup),
                    await all_(Channel), await all_(Place))
        if clock is not None:
            from pingan.roster import Roster

            index.roster = await Roster.load(session, clock)
        return index

    # --- the tree -------------------------------------------------------------------------------
    def ancestors(self, unit_id: str | None) -> tuple[Unit, ...]:
        """The unit and its parents, nearest first."""
        return self._chains.get(unit_id, ()) if unit_id is not None else ()

    def up_to(self, unit_id: str | None, level: str) -> Unit | None:
        return next((u for u in self.ancestors(unit_id) if u.level == level), None)

    def is_within(self, unit_id: str | None, ancestor_id: str) -> bool:
        return unit_id is not None and ancestor_id in self._chain_ids.get(unit_id, ())

    def next_up(self, unit_id: str) -> Unit | None:
        """The next tier on the ladder above a unit (grid → community → street → district → city)."""
        unit = self.units[unit_id]
        rung = LADDER.index(unit.level) if unit.level in LADDER else -1
        for level in LADDER[rung + 1:]:
            found = self.up_to(unit_id, level)
            if found is not None:
                return found
        return None

    def descendants(self, unit_id: str) -> list[str]:
        out, stack = [], [unit_id]
        while stack:
            uid = stack.pop()
            out.append(uid)
            stack.extend(self.children.get(uid, []))
        return out

    # --- people ---------------------------------------------------------------------------------
    def staff(self, unit_id: str | None, role: str | None = None) -> list[Person]:
        return [p for p in self.by_unit.get(unit_id, []) if role is None or p.role == role]

    def rostered(self, unit_id: str | None, roles: tuple[str, ...], at=None) -> Person | None:
        """The unit's person on the duty roster at `at` (default now) in the first of `roles` that
        has one; None when the unit has no roster or nobody is on shift."""
        if self.roster is None or not self.roster.has(unit_id):
            return None
        ids = [self.roster.person(unit_id, role, at) for role in roles]
        return next((self.people[i] for i in ids if i in self.people), None)

    def present(self, unit_id: str | None, at=None) -> list[Person]:
        """The unit's staff who are not on leave."""
        away = self.roster.on_leave if self.roster is not None else None
        now = at or (self.roster.now() if self.roster is not None else None)
        return [p for p in self.staff(unit_id) if away is None or not away(p.id, now)]

    def on_duty(self, unit_id: str | None, at=None) -> Person | None:
        """Who answers for a unit now: its 值班员 on the roster, else its on-duty person (the
        organisation file's flag), else its lead, else anyone there; nobody on leave."""
        rostered = self.rostered(unit_id, ("duty", "lead"), at)
        if rostered is not None:
            return rostered
        people = self.present(unit_id, at)
        return next((p for p in people if p.on_duty), None) or next((p for p in people if p.lead), None) \
            or (people[0] if people else None)

    def lead(self, unit_id: str | None, at=None) -> Person | None:
        """Who leads a unit now: the 带班领导 on the roster, else a lead on duty, else whoever is on
        duty (see on_duty). The same person for a ticket's first urgent post and for the
        scheduler's calls after it."""
        rostered = self.rostered(unit_id, ("lead",), at)
        return rostered or next((p for p in self.present(unit_id, at) if p.lead and p.on_duty), None) \
            or self.on_duty(unit_id, at)

    def answering(self, person_id: str | None, unit_id: str | None, at=None) -> Person | None:
        """Who gets a ticket's reminders: its holder, or while they are on leave (请假) their
        unit's duty person; with no holder, the holding unit's."""
        person = self.people.get(person_id)
        if person is not None and (self.roster is None or not self.roster.on_leave(person.id, at or self.roster.now())):
            return person
        for unit in self.ancestors(person.unit_id if person else unit_id):  # a grid of one: its community's
            found = self.on_duty(unit.id, at)
            if found is not None:
                return found
        return None

    def external_id(self, person_id: str | None, platform: str) -> str | None:
        return self.identity.get((person_id, platform)) if person_id else None

    # --- chats ----------------------------------------------------------------------------------
    def group(self, platform: str, chat_id: str) -> ChatGroup | None:
        return self.groups.get((platform, chat_id))

    def channel(self, platform: str, account: str) -> Channel | None:
        return self.channels.get((platform, account))

    def coordination_groups(self, unit_id: str | None, kinds=("coordination",)) -> list[ChatGroup]:
        """The nearest unit (self or above) that has groups of these kinds, all of them."""
        for unit in self.ancestors(unit_id):
            found = [g for g in self.groups_of_unit.get(unit.id, []) if g.kind in kinds]
            if found:
                return found
        return []

    def admin_groups(self) -> list[ChatGroup]:
        return [g for gs in self.groups_of_unit.values() for g in gs if g.kind == "admins"]

    # --- departments and places -----------------------------------------------------------------
    def department(self, query: str, near_unit: str | None) -> Unit | None:
        """A department by kind or name, the one attached nearest above the given unit."""
        q = query.strip()
        if not q:
            return None
        for anc in self.ancestors(near_unit):
            for child in self.children.get(anc.id, []):
                dept = self.units[child]
                if dept.level == Level.department and (dept.kind == q or q in (dept.kind or "") or q in dept.name):
                    return dept
        return None

    def route(self, text: str | None, within: str | None = None) -> str | None:
        """The grid whose places best match the text (see `match_place`)."""
        hit = self.match_place(text, within)
        return hit[1] if hit else None

    def match_place(self, text: str | None, within: str | None = None) -> tuple[str, str] | None:
        """(place key, grid) of the place the text names best (longest key wins), preferring grids
        under `within` so that two towns' '幸福里' don't collide."""
        if not text:
            return None
        key = place_key(text)
        hits = [(pkey, grid) for pkey, grid in self.places if pkey and pkey in key]
        if within is not None:
            scoped = [h for h in hits if self.is_within(h[1], within)]
            hits = scoped or hits
        return hits[0] if hits else None
