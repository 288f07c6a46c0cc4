"""What the workbench reads: tile figures for the wall, ticket lists, a ticket's story, trends.

The wall's figures come from two grouped queries over the tickets table: per (community, grid) the
figures of pingan/reports/figures.py (发现, 已化解, 待化解, … and the on-scene rate, with the very
conditions the digests and the ledger count with), and a pass over the open tickets for the overdue
and red flags; everything else is arithmetic in Python over the organisation index."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import and_, func, or_
from sqlmodel import select

from pingan.models import Level, Status, Ticket, TicketEvent
from pingan.models.org_index import OrgIndex
from pingan.reports import figures
from pingan.reports.figures import OPEN_STATUSES as OPEN  # 待化解, as the digests and the ledger count it
from pingan.reports.figures import Figures, overdue, total

T = Ticket
LADDER_DOWN = (Level.district, Level.street, Level.community, Level.grid)
RESOLVED = [str(Status.resolved), str(Status.closed)]
SUPERVISED = ("黄牌", "红牌")
RED = or_(T.supervision.in_(SUPERVISED), and_(T.urgent.is_(True), T.on_scene_at.is_(None)))


@dataclass
class Tile:
    unit_id: str
    figures: Figures = field(default_factory=Figures)
    overdue: int = 0
    red: int = 0
    arrive_base: int = 0
    on_time: int = 0

    @property
    def state(self) -> str:
        return "red" if self.red else "amber" if self.overdue else "green"

    @property
    def on_time_rate(self) -> float | None:
        return self.on_time / self.arrive_base if self.arrive_base else None

    def add(self, o: "Tile") -> None:
        self.figures.add(o.figures)
        for k in ("overdue", "red", "arrive_base", "on_time"):
            setattr(self, k, getattr(self, k) + getattr(o, k))

    def to_dict(self) -> dict:
        rate, f = self.on_time_rate, self.figures
        return {"unit": self.unit_id, "state": self.state, "found": f.found, "resolved": f.resolved,
                "pending": f.pending, "overdue": self.overdue, "red": self.red,
                "on_time": None if rate is None else round(rate * 100)}


def child_tiles(org: OrgIndex, unit_id: str) -> list[str]:
    """The tiles of a unit's wall: its children on the ladder, in the organisation file's order (a
    grid's wall is the grid itself)."""
    return [c for c in org.children.get(unit_id, []) if org.units[c].level in LADDER_DOWN] or [unit_id]


def scope(org: OrgIndex, unit_id: str):
    """(column, values or None) selecting a unit's tickets: a grid by grid_id, a department by
    department_id, anything else by its communities (None: every ticket, the top of the tree)."""
    level = org.units[unit_id].level
    if level == Level.grid:
        return T.grid_id, [unit_id]
    if level == Level.department:
        return T.department_id, [unit_id]
    if org.units[unit_id].parent_id is None:
        return T.unit_id, None
    return T.unit_id, [u for u in org.descendants(unit_id) if org.units[u].level == Level.community]


def _where(column, values) -> list:
    return [] if values is None else [column.in_(values)]


Tally = dict  # (community, grid) → Tile


async def tally(session, now: datetime, where: list | None = None) -> Tally:
    """Figures per (community, grid) of the tickets `where` selects (None: all of them, by a plain
    scan: walking the unit index and looking up each row is many times slower on SQLite)."""
    if where is None:
        keys, where = (func.coalesce(T.unit_id, T.unit_id), func.coalesce(T.grid_id, T.grid_id)), []
    else:
        keys = (T.unit_id, T.grid_id)
    per: Tally = defaultdict(lambda: Tile(""))
    q = (select(*keys, total(figures.arrive_base(now)), total(figures.on_time()), *figures.columns(now, now))
         .where(*where).group_by(*keys))
    for unit, grid, base, on_time, *n in (await session.exec(q)).all():
        t = per[(unit, grid)]
        t.figures = Figures(*(int(x) for x in n))
        t.arrive_base, t.on_time = int(base), int(on_time)
    q = (select(*keys, total(overdue(now)), total(RED))
         .where(*where, T.status.in_(OPEN), or_(overdue(now), RED)).group_by(*keys))
    for unit, grid, n_over, n_red in (await session.exec(q)).all():
        per[(unit, grid)].overdue += int(n_over)
        per[(unit, grid)].red += int(n_red)
    return dict(per)


async def touched(session, mark: tuple, now: datetime) -> set[str | None]:
    """Communities whose figures may have changed since `mark` (event id, ticket id, time): a new
    event or ticket, or a deadline passed in between. Each is one range of an index."""
    ev, tk, then = mark
    q = select(T.unit_id).join(TicketEvent, TicketEvent.ticket_id == T.id).where(TicketEvent.id > (ev or 0))
    units = set((await session.exec(q.distinct())).all())
    units |= set((await session.exec(select(T.unit_id).where(T.id > (tk or 0)).distinct())).all())
    for due in (T.on_scene_due, T.resolve_due):
        q = select(T.unit_id).where(T.status.in_(OPEN), due > then, due <= now).distinct()
        units |= set((await session.exec(q)).all())
    return units


def of_units(units: set[str | None]):
    named = T.unit_id.in_(sorted(u for u in units if u))
    return or_(named, T.unit_id.is_(None)) if None in units else named


def roll(org: OrgIndex, per: Tally, unit_id: str) -> tuple[Tile, list[Tile]]:
    """The unit's own figures and one tile per child (see `child_tiles`), from per-(community, grid) figures."""
    tiles = child_tiles(org, unit_id)
    out = {u: Tile(u) for u in tiles}
    me = Tile(unit_id)
    by_grid = org.units[unit_id].level == Level.community
    column, values = scope(org, unit_id)
    wanted = None if values is None or column is T.department_id else set(values)  # a department's: pre-scoped
    for (unit, grid), t in per.items():
        if wanted is not None and (grid if column is T.grid_id else unit) not in wanted:
            continue
        me.add(t)
        if tiles == [unit_id]:
            tile = unit_id
        else:
            tile = grid if by_grid else next((a.id for a in org.ancestors(unit) if a.id in out), None)
        if tile in out:
            out[tile].add(t)
    return me, list(out.values())


async def wall(session, org: OrgIndex, unit_id: str, now: datetime) -> tuple[Tile, list[Tile]]:
    """A unit's wall straight from the database (the live hub keeps a city's figures warm instead)."""
    column, values = scope(org, unit_id)
    return roll(org, await tally(session, now, _where(column, values) if values is not None else None), unit_id)


async def change_mark(session) -> tuple:
    """Something cheap that changes whenever a ticket is filed or moves: the newest event and ticket ids."""
    ev = (await session.exec(select(func.max(TicketEvent.id)))).one()
    tk = (await session.exec(select(func.max(T.id)))).one()
    return ev or 0, tk or 0


# --- the ticket list --------------------------------------------------------------------------------

SORTS = {"new": T.created_at.desc(), "old": T.created_at.asc(), "due": T.resolve_due.asc(),
         "id": T.id.desc(), "status": T.status.asc()}


@dataclass
class Filters:
    status: str = ""  # open | done | a Status value
    category: str = ""
    item: str = ""
    overdue: bool = False
    urgent: bool = False
    start: date | None = None
    end: date | None = None
    q: str = ""
    sort: str = "new"
    page: int = 1

    @classmethod
    def from_query(cls, query) -> "Filters":
        def day(name):
            try:
                return date.fromisoformat(query.get(name, "")) if query.get(name) else None
            except ValueError:
                return None

        try:
            page = max(1, int(query.get("page", "1")))
        except ValueError:
            page = 1
        sort = query.get("sort", "new")
        return cls(status=query.get("status", "")[:20], category=query.get("category", "")[:40],
                   item=query.get("item", "")[:40], overdue=query.get("overdue") == "1",
                   urgent=query.get("urgent") == "1", start=day("from"), end=day("to"),
                   q=query.get("q", "").strip()[:100], sort=sort if sort in SORTS else "new", page=page)

    def conditions(self, now: datetime, tz) -> list:
        c = []
        if self.status == "open":
            c.append(T.status.in_(OPEN))
        elif self.status == "done":
            c.append(T.status.in_(RESOLVED))
        elif self.status in Status.__members__.values():
            c.append(T.status == self.status)
        if self.category:
            c.append(T.category == self.category)
        if self.item:
            c.append(T.item == self.item)
        if self.overdue:
            c += [T.status.in_(OPEN), overdue(now)]
        if self.urgent:
            c.append(T.urgent.is_(True))
        if self.start:
            c.append(T.created_at >= datetime.combine(self.start, datetime.min.time(), tzinfo=tz))
        if self.end:
            c.append(T.created_at < datetime.combine(self.end + timedelta(days=1), datetime.min.time(), tzinfo=tz))
        if self.q:
            like = "%" + self.q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            c.append(or_(T.raw_text.like(like, escape="\\"), T.location.like(like, escape="\\")))
        return c


async def tickets(session, org: OrgIndex, unit_id: str, f: Filters, now: datetime, tz,
                  size: int) -> tuple[list[Ticket], int]:
    column, values = scope(org, unit_id)
    where = _where(column, values) + f.conditions(now, tz)
    n = (await session.exec(select(func.count()).select_from(T).where(*where))).one()
    q = select(T).where(*where).order_by(SORTS[f.sort], T.id.desc()).offset((f.page - 1) * size).limit(size)
    return list((await session.exec(q)).all()), int(n)


async def events(session, ticket_id: int) -> list[TicketEvent]:
    q = select(TicketEvent).where(TicketEvent.ticket_id == ticket_id).order_by(TicketEvent.at, TicketEvent.id)
    return list((await session.exec(q)).all())


# --- trends -------------------------------------------------------------------------------------------

def _local_day(session, column, tz_name: str, offset_hours: float):
    if session.bind.dialect.name == "sqlite":  # stored as UTC text; the zone's offset now (China: no DST)
        return func.date(column, f"{offset_hours:+.0f} hours")
    return func.to_char(func.timezone(tz_name, column), "YYYY-MM-DD")


async def trend(session, org: OrgIndex, unit_id: str, now: datetime, days: int = 30) -> list[dict]:
    """Per local day of the last `days`: found, resolved, and the share reached on time."""
    column, values = scope(org, unit_id)
    where = _where(column, values)
    start = (now - timedelta(days=days - 1)).replace(hour=0, minute=0, second=0, microsecond=0)
    offset = now.utcoffset().total_seconds() / 3600
    tz_name = str(now.tzinfo)
    out = {(start + timedelta(days=i)).date().isoformat(): {"found": 0, "resolved": 0, "base": 0, "on_time": 0}
           for i in range(days)}
    day = _local_day(session, T.created_at, tz_name, offset)
    q = (select(day, func.count(), total(and_(T.on_scene_due.is_not(None), T.on_scene_due <= now)),
                total(T.on_scene_at <= T.on_scene_due))
         .where(*where, T.created_at >= start).group_by(day))
    for d, n, base, on_time in (await session.exec(q)).all():
        if d in out:
            out[d].update(found=int(n), base=int(base), on_time=int(on_time))
    rday = _local_day(session, T.resolved_at, tz_name, offset)
    q = select(rday, func.count()).where(*where, T.resolved_at >= start).group_by(rday)
    for d, n in (await session.exec(q)).all():
        if d in out:
            out[d]["resolved"] = int(n)
    return [{"day": d, **v} for d, v in out.items()]

