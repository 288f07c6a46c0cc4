"""The ticket desk: create, route, move and record tickets. Platform-free; every change is an event."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, text
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from pingan import policy
from pingan.config import Settings
from pingan.lifecycle import CLOSED, Action, target
from pingan.models import Level, Person, Role, Source, Ticket, TicketEvent
from pingan.models.ticket import HELD_ROWS
from pingan.models.places import place_key
from pingan.models.queries import tickets_held_by
from pingan.models.org_index import OrgIndex
from pingan.models.stage import StagedEvent, new_row, recent_alike, stage_event, stage_ticket
from pingan.models.ticket import check_soon
from pingan.parser import ParseResult, vague_place
from pingan.rules import RULES, ladder
from pingan.rules.base import Move
from pingan.taxonomy import Taxonomy

TICKETS = Ticket.__table__


def _same_hazard(column):
    """Built once: a statement built per report costs more than running it (see same_hazard). The held
    status is the partial index's own predicate (ix_tickets_held_unit_created): the unit's closed tickets
    are never read (a day of 90,000 had cost 65 ms a report while fewer than 20 were open)."""
    t = TICKETS.c
    return (select(t.id, t.location)
            .where(text(HELD_ROWS), t.unit_id == bindparam("unit"),
                   t.created_at > bindparam("since"), t.location.is_not(None), column == bindparam("what"))
            .order_by(t.created_at.desc()).limit(20))


SAME = {"item": _same_hazard(TICKETS.c.item), "category": _same_hazard(TICKETS.c.category)}
STAFF_ON_CHAIN = {Role.grid_worker, Role.community_staff, Role.street_official, Role.district_official, Role.city_official}
RESIDENT_ACTIONS = {a for a, rule in RULES.items() if rule.by_reporter}


def with_estate(answer: str, partial: str | None) -> str:
    """The answer to "which estate's 3栋?" completes the place: "锦城花园" + "3栋"."""
    if not partial or partial in answer or vague_place(answer):
        return answer
    return answer + partial


class NotAllowed(Exception):
    """The person may not do this to this ticket (they are not on its chain, or not its reporter)."""


class TicketDesk:
    def __init__(self, session: AsyncSession, org: OrgIndex, settings: Settings, taxonomy: Taxonomy, now: datetime) -> None:
        self.session, self.org, self.settings, self.taxonomy = session, org, settings, taxonomy
        # deadlines are counted in local calendar days: the clock's zone (it is built from this setting)
        self.tz = ZoneInfo(settings.bot.timezone)
        self.now = now.astimezone(self.tz)

    # --- reading --------------------------------------------------------------------------------
    async def get(self, ticket_id: int) -> Ticket | None:
        return await self.session.get(Ticket, ticket_id)

    async def same_hazard(self, ticket: Ticket) -> int | None:
        """An earlier open ticket of the last day that looks like this one: the same item (or
        category) at the same place ("锦城花园3栋" and "锦城花园３栋楼道" are one place)."""
        if not ticket.location:
            return None
        column = "item" if ticket.item else "category"
        params = {"unit": ticket.unit_id, "since": self.now - timedelta(days=1), "what": getattr(ticket, column)}

        async def load():
            return (await self.session.exec(SAME[column], params=params)).all()

        rows = await recent_alike(self.session, (ticket.unit_id, column, params["what"]), load)
        here = place_key(ticket.location)
        me = ticket.id
        for other_id, where in (r for r in rows[:21] if r[0] != me):
            there = place_key(where)
            short, long_ = sorted((here, there), key=len)
            # one place, said more or less precisely; a bare "3栋" or "团结路" is too vague to match
            if long_.startswith(short) and len(short) >= 5:
                return other_id
        return None

    async def held_by(self, person_id: str, statuses) -> list[Ticket]:
        return await tickets_held_by(self.session, person_id, statuses)

    async def events(self, ticket_id: int) -> list[TicketEvent]:
        q = select(TicketEvent).where(TicketEvent.ticket_id == ticket_id).order_by(TicketEvent.id)
        return list((await self.session.exec(q)).all())

    # --- who may do what ------------------------------------------------------------------------
    def on_chain(self, person: Person | None, ticket: Ticket) -> bool:
        """Staff of the ticket's grid or any unit above it, its department's liaisons, admins."""
        if person is None:
            return False
        if person.role == Role.admin:
            return True
        if person.role == Role.dept_liaison:
            return person.unit_id is not None and person.unit_id == ticket.department_id
        if person.role in STAFF_ON_CHAIN:
            where = ticket.grid_id or ticket.holder_unit_id or ticket.unit_id
            # a ticket moved to another community (its place, 改地点, 改派): the first chain may still act
            chains = [where] + ([ticket.also_unit_id] if ticket.also_unit_id and ticket.status not in CLOSED else [])
            return any(u.id == person.unit_id for w in chains for u in self.org.ancestors(w))
        return False

    def check(self, person: Person | None, ticket: Ticket, action: Action | None) -> None:
        """Raise NotAllowed unless `person` may take `action` (None = query) on `ticket`."""
        is_reporter = person is not None and person.id == ticket.reporter_id
        if action is None:
            ok = is_reporter or self.on_chain(person, ticket)
        elif action in RESIDENT_ACTIONS:
            ok = is_reporter or (person is not None and person.role == Role.admin)
        else:
            ok = self.on_chain(person, ticket)
        if not ok:
            raise NotAllowed(action)

    # --- writing --------------------------------------------------------------------------------
    def event(self, ticket: Ticket | None, action: str, actor: Person | None, inbox_id: int | None,
              from_status: str | None = None, note: str | None = None, to_status: str | None = None,
              **data) -> StagedEvent:
        """`ticket` None: a question asked before there is one (handlers/converse.py)."""
        ev = StagedEvent(ticket_id=ticket.id if ticket else None, at=self.now, actor_id=actor.id if actor else None,
                         action=action, from_status=from_status,
                         to_status=to_status or (ticket.status if ticket else None), note=note,
                         inbox_id=inbox_id, data=data or None)
        stage_event(self.session.sync_session, ev)
        return ev

    def hold(self, ticket: Ticket, unit_id: str, level: str, person: Person | None) -> None:
        ticket.holder_unit_id, ticket.holder_level = unit_id, level
        ticket.holder_person_id = person.id if person else None
        ticket.held_since = self.now

    def route(self, ticket: Ticket, fallback_unit: str | None) -> None:
        """Location → grid by its places; else the unit the message came through. Holder = the grid's
        worker, or the community's on-duty staff when no grid is known."""
        community = self.org.up_to(fallback_unit, Level.community) if fallback_unit else None
        within = community.id if community else fallback_unit
        grid = self.org.route(ticket.location, within)
        if grid is None and (hit := self.org.match_place(ticket.raw_text, within)) is not None:
            grid = hit[1]
            if ticket.location is None:  # the parser missed it, the roster's places did not ("山水天成⑵栋")
                ticket.location = hit[0]
        if grid is not None:
            ticket.grid_id = grid
            ticket.unit_id = self.org.up_to(grid, Level.community).id
            worker = next(iter(self.org.staff(grid, Role.grid_worker)), None)
            if worker is not None:
                self.hold(ticket, grid, Level.grid, worker)
                return
        else:
            ticket.grid_id = None
            ticket.unit_id = community.id if community else fallback_unit
        unit = ticket.unit_id
        level = self.org.units[unit].level if unit in self.org.units else Level.community
        self.hold(ticket, unit, level, self.org.on_duty(unit))

    async def create(self, parsed: ParseResult, text: str, reporter: Person, source: Source, reply_chat: dict,
                     fallback_unit: str | None, inbox_id: int | None, attachments: list | None = None,
                     lat: float | None = None, lon: float | None = None) -> Ticket:
        item = self.taxonomy.item(parsed.item)
        ticket = new_row(
            Ticket,
            source=source, reporter_id=reporter.id, reply_chat=reply_chat, raw_text=text,
            category=parsed.category or "other", item=parsed.item, location=parsed.location,
            urgent=parsed.urgent, size=parsed.size or (item.size if item else "中"), matched=parsed.matched,
            attachments=attachments or None, lat=lat, lon=lon,
            policy=policy.snapshot(self.settings.policy), created_at=self.now,
            followup_until=self.now + timedelta(minutes=self.settings.bot.followup_minutes),
        )
        reported = ticket.status
        self.route(ticket, fallback_unit)
        data = self._apply(ticket, Action.dispatch)  # routed and dispatched before the one INSERT
        check_soon(ticket)
        # staged, written with the group's other tickets (models/stage.py); the object stays outside
        # the session: a handler that changes it later loads it with get()
        await stage_ticket(self.session, ticket)
        self.event(ticket, "report", reporter, inbox_id, note=parsed.location, to_status=reported,
                   matched=parsed.matched)
        self.event(ticket, str(Action.dispatch), None, inbox_id, from_status=reported, **data)
        return ticket

    async def move(self, ticket: Ticket, action: Action, actor: Person | None, inbox_id: int | None,
                   note: str | None = None, department=None, size: str | None = None) -> None:
        """Apply one lifecycle action (already authorised) and record it. Raises IllegalMove."""
        before = ticket.status
        data = self._apply(ticket, action, note, department, size, actor)
        self.event(ticket, str(action), actor, inbox_id, from_status=before, note=note, **data)

    def _apply(self, ticket: Ticket, action: Action, note: str | None = None, department=None,
               size: str | None = None, actor: Person | None = None) -> dict:
        """Change the ticket for `action` (its rule); returns what the event records besides the statuses."""
        holder_before = ticket.holder_unit_id
        ticket.status = target(action, ticket.status)
        ticket.updated_at = self.now
        RULES[action].apply(Move(self, ticket, actor, note, department, size))
        data = {}
        if department is not None:
            data["department"] = department.id
        if size is not None:
            data["size"] = size
        if ticket.holder_unit_id != holder_before:
            data["holder"] = ticket.holder_unit_id
        return data

    def escalation_target(self, ticket: Ticket, caller: Person | None = None):
        """The unit a 呼叫 by `caller` would reach (ladder.escalation_target); None at the top."""
        return ladder.escalation_target(self.org, ticket, caller)
