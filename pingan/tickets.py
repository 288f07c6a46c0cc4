"""The ticket desk: create, route, move and record tickets. Platform-free; every change is an event."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, insert
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from pingan import policy
from pingan.config import Settings
from pingan.lifecycle import HELD, Action, target
from pingan.models import Level, Person, Role, Source, Ticket, TicketEvent
from pingan.models.places import place_key
from pingan.models.org_index import OrgIndex
from pingan.models.ticket import TERMINAL, check_soon, stage_event, write_pending_events
from pingan.parser import ParseResult, vague_place
from pingan.taxonomy import Taxonomy

TICKETS = Ticket.__table__
INSERT_TICKET = insert(TICKETS).returning(TICKETS.c.id)


def _same_hazard(column):
    """Built once: a statement built per report costs more than running it (see same_hazard)."""
    t = TICKETS.c
    return (select(t.id, t.location)
            .where(t.id != bindparam("id"), t.status.in_(sorted(HELD)), t.unit_id == bindparam("unit"),
                   t.created_at > bindparam("since"), t.location.is_not(None), column == bindparam("what"))
            .order_by(t.created_at.desc()).limit(20))


SAME_ITEM, SAME_CATEGORY = _same_hazard(TICKETS.c.item), _same_hazard(TICKETS.c.category)
STAFF_ON_CHAIN = {Role.grid_worker, Role.community_staff, Role.street_official, Role.district_official, Role.city_official}
RESIDENT_ACTIONS = {Action.withdraw, Action.close, Action.reopen}


def lacks_place(t) -> bool:
    """No place yet, or only "3栋" that the roster could not place: the reporter is asked where."""
    return t.location is None or (t.grid_id is None and vague_place(t.location))


def with_estate(answer: str, partial: str | None) -> str:
    """The answer to "which estate's 3栋?" completes the place: "锦城花园" + "3栋"."""
    if not partial or partial in answer or vague_place(answer):
        return answer
    return answer + partial


@dataclass
class Moved:
    ticket: Ticket
    action: Action
    from_status: str
    previous_holder_unit: str | None = None


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
        params = {"id": ticket.id, "unit": ticket.unit_id, "since": self.now - timedelta(days=1),
                  "what": ticket.item or ticket.category}
        rows = (await self.session.exec(SAME_ITEM if ticket.item else SAME_CATEGORY, params=params)).all()
        here = place_key(ticket.location)
        for other_id, where in rows:
            there = place_key(where)
            short, long_ = sorted((here, there), key=len)
            # one place, said more or less precisely; a bare "3栋" or "团结路" is too vague to match
            if long_.startswith(short) and len(short) >= 5:
                return other_id
        return None

    async def held_by(self, person_id: str, statuses) -> list[Ticket]:
        q = select(Ticket).where(Ticket.holder_person_id == person_id, Ticket.status.in_(statuses))
        return list((await self.session.exec(q.order_by(Ticket.id))).all())

    async def events(self, ticket_id: int) -> list[TicketEvent]:
        await self.session.run_sync(write_pending_events)
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
            chains = [where] + ([ticket.also_unit_id] if ticket.also_unit_id and ticket.status not in TERMINAL else [])
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
    def event(self, ticket: Ticket, action: str, actor: Person | None, inbox_id: int | None,
              from_status: str | None = None, note: str | None = None, to_status: str | None = None,
              **data) -> TicketEvent:
        ev = TicketEvent(ticket_id=ticket.id, at=self.now, actor_id=actor.id if actor else None, action=action,
                         from_status=from_status, to_status=to_status or ticket.status, note=note,
                         inbox_id=inbox_id, data=data or None)
        stage_event(self.session.sync_session, ev)
        return ev

    def _hold(self, ticket: Ticket, unit_id: str, level: str, person: Person | None) -> None:
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
                self._hold(ticket, grid, Level.grid, worker)
                return
        else:
            ticket.grid_id = None
            ticket.unit_id = community.id if community else fallback_unit
        unit = ticket.unit_id
        level = self.org.units[unit].level if unit in self.org.units else Level.community
        self._hold(ticket, unit, level, self.org.on_duty(unit))

    async def create(self, parsed: ParseResult, text: str, reporter: Person, source: Source, reply_chat: dict,
                     fallback_unit: str | None, inbox_id: int | None, attachments: list | None = None,
                     lat: float | None = None, lon: float | None = None) -> Ticket:
        item = self.taxonomy.item(parsed.item)
        ticket = Ticket(
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
        # a plain INSERT … RETURNING (the ORM's flush machinery cost more than the write itself);
        # the object stays outside the session: a handler that changes it later loads it with get()
        row = {c.key: getattr(ticket, c.key) for c in TICKETS.columns if c.key != "id"}
        ticket.id = (await self.session.exec(INSERT_TICKET, params=row)).scalar_one()
        self.event(ticket, "report", reporter, inbox_id, note=parsed.location, to_status=reported,
                   matched=parsed.matched)
        self.event(ticket, str(Action.dispatch), None, inbox_id, from_status=reported, **data)
        return ticket

    def set_deadlines(self, ticket: Ticket) -> None:
        snap = ticket.policy
        ticket.on_scene_due = policy.on_scene_due(snap, self.now, ticket.urgent, self.tz)
        ticket.resolve_due = policy.tier_due(snap, ticket.size, self.now, self.tz)
        ticket.next_check_at = ticket.on_scene_due

    async def move(self, ticket: Ticket, action: Action, actor: Person | None, inbox_id: int | None,
                   note: str | None = None, department=None, size: str | None = None) -> Moved:
        """Apply one lifecycle action (already authorised) and record it. Raises IllegalMove."""
        before, holder_before = ticket.status, ticket.holder_unit_id
        data = self._apply(ticket, action, note, department, size, actor)
        self.event(ticket, str(action), actor, inbox_id, from_status=before, note=note, **data)
        return Moved(ticket, action, before, holder_before)

    def _apply(self, ticket: Ticket, action: Action, note: str | None = None, department=None,
               size: str | None = None, actor: Person | None = None) -> dict:
        """Change the ticket for `action`; returns what the event should record besides the statuses."""
        holder_before = ticket.holder_unit_id
        ticket.status = target(action, ticket.status)
        now = self.now
        ticket.updated_at = now
        if action == Action.dispatch:
            ticket.dispatched_at = now
            self.set_deadlines(ticket)
        elif action == Action.ack:
            ticket.acknowledged_at = ticket.acknowledged_at or now
        elif action == Action.on_scene:
            ticket.on_scene_at = ticket.on_scene_at or now
            ticket.next_check_at = ticket.resolve_due
        elif action == Action.resolve:
            ticket.resolved_at, ticket.resolution_note = now, note
            days = (ticket.policy or {}).get("feedback_days", 0)
            ticket.next_check_at = now + timedelta(days=days) if days else None  # see plan: auto_close
        elif action == Action.close:
            ticket.closed_at, ticket.feedback = now, note or ticket.feedback
            ticket.next_check_at = None
        elif action == Action.reopen:
            ticket.feedback, ticket.resolved_at, ticket.closed_at = "不满意", None, None
            ticket.held_since = now
            self._new_window(ticket)
            ticket.next_check_at = now
        elif action == Action.escalate:
            up = self.escalation_target(ticket, actor)
            ticket.escalations += 1
            self._hold(ticket, up.id, up.level, self.org.on_duty(up.id))
            self._new_window(ticket)
        elif action == Action.transfer:
            ticket.department_id = department.id
            # The department is responsible either way. With nobody of it registered, the bot cannot
            # reach it, and a ticket held by no person gets reminders and 督办 that @ nobody: the
            # dispatcher, who has to phone the department, holds it and is chased (else the last holder).
            person = (self.org.on_duty(department.id) or actor
                      or self.org.people.get(ticket.holder_person_id))
            self._hold(ticket, department.id, Level.department, person)
            self._new_window(ticket)
        elif action == Action.return_:
            ticket.return_reason = note
            ticket.closed_at, ticket.next_check_at = now, None
        elif action == Action.withdraw:
            ticket.closed_at, ticket.next_check_at = now, None
        elif action == Action.grade:
            ticket.size = size
            # from when the current holder got it (the database hands it back in UTC: tier_due takes
            # the local date); never a deadline already gone by, which would fire at once
            start = ticket.held_since or ticket.dispatched_at or now
            due = policy.tier_due(ticket.policy, size, start, self.tz)
            ticket.resolve_due = due if due > now else policy.tier_due(ticket.policy, size, now, self.tz)
        data = {}
        if department is not None:
            data["department"] = department.id
        if size is not None:
            data["size"] = size
        if ticket.holder_unit_id != holder_before:
            data["holder"] = ticket.holder_unit_id
        return data

    def _new_window(self, ticket: Ticket) -> None:
        """A new holder (呼叫, 派单, 不满意) has a resolution window of its own from now: the one the
        scheduler chases (plan.tier_window), and the one queries, digests and the ledger show."""
        ticket.resolve_due = policy.tier_due(ticket.policy, ticket.size, self.now, self.tz)
        ticket.next_check_at = ticket.resolve_due

    def escalation_target(self, ticket: Ticket, caller: Person | None = None):
        """The unit a 呼叫 would reach: the tier above the ticket's holder, or above the caller when
        the caller sits higher on the ticket's chain (a community secretary's 呼叫 on a grid's ticket
        means "the street", not himself). None at the top of the ladder."""
        here = ticket.holder_unit_id or ticket.unit_id
        if here not in self.org.units:
            return None
        if (caller is not None and caller.role != Role.admin and caller.unit_id in self.org.units
                and self.org.is_within(here, caller.unit_id)):
            # nobody above a city official: then the tier above the holder, as for anyone else
            return self.org.next_up(caller.unit_id) or self.org.next_up(here)
        return self.org.next_up(here)
