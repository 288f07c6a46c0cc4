"""Dispatchers' corrections: 改类 (item or category), 改地点 (re-routes), 改派 (another grid or
person), 合并 (the later ticket into the earlier). Each is a `correct` event recording the field,
its old and new value; `training_rows` turns the corrected tickets into labelled parser rows.
Chat and the workbench both ask `refusal` who may, and act through `make`."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import select

from pingan.lifecycle import ACTIVE, HELD, Action
from pingan.messages import Text
from pingan.models import Level, Person, Role, Ticket, TicketEvent
from pingan.notify import Notifier
from pingan.rules import dispatch
from pingan.rules.base import Refused
from pingan.rules.conversation import MERGED

# Who may correct: community staff and above (a grid worker asks them), and admins.
CORRECTORS = {Role.community_staff, Role.street_official, Role.district_official, Role.city_official, Role.admin}


def may_correct(person: Person | None) -> bool:
    return person is not None and person.role in CORRECTORS


def refusal(desk, actor: Person | None, t: Ticket) -> str | None:
    """Why `actor` may not correct `t`, in Chinese; None if they may (staff on its chain, while open)."""
    if not (may_correct(actor) and desk.on_chain(actor, t)):
        return f"抱歉，改类、改地点、改派、合并由社区工作人员或上级处理。#{t.id} 有误请告诉社区。"
    if t.status not in ACTIVE:
        return f"#{t.id} 已结束，不能再更正。"
    return None


async def make(desk, n: Notifier, t: Ticket, kind: str, words: str, actor: Person, inbox_id: int | None,
               other: Ticket | None = None) -> str:
    """One correction (`kind`: recategorise, relocate, reassign, merge with `other`) by an actor
    `refusal` allowed, announced in the ticket's groups; returns the announcement. Raises Refused,
    having changed nothing."""
    reporter = await desk.session.get(Person, t.reporter_id) if t.reporter_id else None
    if kind == "recategorise":
        found = find_item(n.taxonomy, words)
        if found is None:
            names = "、".join(c.name for c in n.taxonomy.categories)
            raise Refused(f"没有找到「{words}」这一类。请写事项名（如「燃气管道」）或类别：{names}。")
        done = recategorise(desk, n, t, found, actor, inbox_id)
    elif kind == "relocate":
        done = relocate(desk, n, t, words, actor, inbox_id, reporter)
    elif kind == "reassign":
        done = reassign(desk, n, t, words, actor, inbox_id, reporter)
        if done is None:
            raise Refused(f"没有找到「{words}」。请写网格名（如「第二网格」）或工作人员（如「@李网格」）。")
    else:
        done = await merge_pair(desk, n, t, other, actor, inbox_id)
    n.to_unit(t.unit_id, lambda pf: [Text(done)], t)
    return done


def find_item(taxonomy, words: str) -> tuple[str, str | None] | None:
    """(category, item) for an item or category name, matched loosely ('燃气' is 燃气管道, '消防' the
    category), else what the parser reads in the words."""
    w = words.strip()
    items = taxonomy.items()
    hit = (next((i for i in items if i.name == w), None) or next((i for i in items if w and w in i.name), None)
           or next((i for i in items if i.name in w), None))
    if hit is not None:
        return hit.category, hit.name
    cat = next((c for c in taxonomy.categories if w and (w == c.code or w in c.name or c.name in w)), None)
    if cat is not None:
        return cat.code, None
    from pingan.parser import parse

    p = parse(w)
    return (p.category, p.item) if p.item else None


def correct(desk, t: Ticket, field: str, new, actor: Person, inbox_id: int | None) -> None:
    old = getattr(t, field)
    setattr(t, field, new)
    t.updated_at = desk.now
    desk.event(t, "correct", actor, inbox_id, from_status=t.status, note=f"{old} → {new}", field=field,
               old=old, new=new)


def recategorise(desk, n: Notifier, t: Ticket, found: tuple, actor: Person, inbox_id) -> str:
    before = n.label(t)
    category, item = found
    correct(desk, t, "category", category, actor, inbox_id)
    correct(desk, t, "item", item, actor, inbox_id)
    return f"✏️ #{t.id} 改类：{before} → {n.label(t)}（{actor.name}）"


def relocate(desk, n: Notifier, t: Ticket, place: str, actor: Person, inbox_id,
             reporter: Person | None) -> str:
    """A new place routes the ticket again; another community's gets the whole post."""
    unit_before, holder_before, before = t.unit_id, t.holder_person_id, t.location
    correct(desk, t, "location", place, actor, inbox_id)
    t.grid_id = None
    desk.route(t, t.unit_id)
    moved(desk, n, t, unit_before, holder_before, reporter)
    return f"✏️ #{t.id} 改地点：{before or '—'} → {place}，现由{n.holder_name(t)}负责（{actor.name}）"


def reassign(desk, n: Notifier, t: Ticket, words: str, actor: Person, inbox_id,
             reporter: Person | None) -> str | None:
    """改派 to a grid (by name, '第二网格' within the ticket's community) or a person ('@李网格')."""
    org, name = n.org, words.strip().lstrip("@＠").strip()
    person = next((p for p in org.people.values() if p.name == name and p.role != Role.resident), None)
    grid = None if person else _grid(org, name, t.unit_id)
    if person is None and grid is None:
        return None
    unit_before, holder_before = t.unit_id, t.holder_person_id
    if grid is not None:
        person = next(iter(org.staff(grid.id, Role.grid_worker)), None) or org.on_duty(grid.id)
        unit_id = grid.id
    else:
        unit_id = person.unit_id
    unit = org.units[unit_id]
    correct(desk, t, "holder_person_id", person.id if person else None, actor, inbox_id)
    t.holder_unit_id, t.holder_level, t.held_since = unit.id, unit.level, desk.now
    if unit.level == Level.grid:
        t.grid_id = unit.id
    community = org.up_to(unit.id, Level.community)
    if community is not None:
        t.unit_id = community.id
    moved(desk, n, t, unit_before, holder_before, reporter)
    return f"✏️ #{t.id} 改派：现由{n.holder_name(t)}负责（{actor.name}）"


def _grid(org, name: str, community: str | None):
    grids = [u for u in org.units.values() if u.level == Level.grid and (name == u.name or name in u.name)]
    inside = [g for g in grids if community and org.is_within(g.id, community)]
    return (inside or grids or [None])[0]


def moved(desk, n: Notifier, t: Ticket, unit_before: str | None, holder_before: str | None,
          reporter: Person | None) -> None:
    """After a correction moved the ticket: the new group gets what it needs to act."""
    if t.unit_id != unit_before and unit_before is not None:
        t.also_unit_id = unit_before
        dispatch.post(n, t, reporter or Person(id="", name="居民", role=Role.resident), moved_from=unit_before)
    elif t.holder_person_id != holder_before:
        n.located(t, rerouted=True)


async def merge_pair(desk, n: Notifier, t: Ticket, other: Ticket | None, actor: Person, inbox_id) -> str:
    """合并 of two tickets, whichever is named first: the later goes into the earlier."""
    if other is None or other.id == t.id:
        raise Refused(f"请写上两个编号，例如「合并 #{t.id} #{t.id + 1}」（后一个并入前一个）。")
    keep, drop = sorted((t, other), key=lambda x: x.id)
    if drop.status not in HELD or not desk.on_chain(actor, drop):
        raise Refused(f"#{drop.id} 不能合并（已结束，或不在您的处置链上）。")
    return await merge(desk, n, keep, drop, actor, inbox_id)


async def merge(desk, n: Notifier, keep: Ticket, drop: Ticket, actor: Person, inbox_id) -> str:
    """The later ticket closes into the earlier (one hazard in digests); its reporter hears now,
    and again when the earlier one is resolved (see `merged_into`)."""
    desk.event(keep, "merge", actor, inbox_id, from_status=keep.status, note=f"#{drop.id}", merged=drop.id)
    await desk.move(drop, Action.return_, actor, inbox_id, note=f"与 #{keep.id} 是同一件事，{MERGED}")
    n.to_reporter(drop, f"您反映的 #{drop.id} 与 #{keep.id} 是同一件事，已合并到 #{keep.id} 处理，处理结果会告诉您。")
    return f"🔗 #{drop.id} 已并入 #{keep.id}（{actor.name}）"


def merged_into(events: list[TicketEvent]) -> list[int]:
    """The tickets merged into this one, from its events."""
    return [ev.data["merged"] for ev in events if ev.action == "merge" and (ev.data or {}).get("merged")]


async def training_rows(session, since: datetime) -> list[dict]:
    """Corrected tickets as labelled parser rows ({"text", "report", "category", "item", "location",
    "urgent"}, the tests/data format): what a person said the message was."""
    q = (select(TicketEvent.ticket_id).where(TicketEvent.action == "correct", TicketEvent.at >= since)
         .distinct())
    ids = sorted(set((await session.exec(q)).all()))
    rows = []
    for tid in ids:
        t = await session.get(Ticket, tid)
        rows.append({"text": t.raw_text, "report": True, "category": t.category, "item": t.item,
                     "location": t.location, "urgent": t.urgent})
    return rows

