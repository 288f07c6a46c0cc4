"""派发: a new ticket goes to its holder with its two deadlines (on scene, resolution) and is posted
in the holder's group, @-mentioning the holder (when urgent also the community's lead and duty
person on the roster; a non-urgent night report nobody) with the time to be there; the reporter
gets a receipt with the number and the promise. A ticket left `new` (the process stopped between
the two) is dispatched by the sweep."""

from __future__ import annotations

from pingan import policy
from pingan.lifecycle import Action, Status
from pingan.messages import Text
from pingan.models import Level, Person, Ticket
from pingan.notify import Notifier, excerpt, lacks_place, mask_name
from pingan.rules import on_scene, resolution
from pingan.rules.safety import HAZARD_NAMES, safety_line, ticket_hazard, urgent_opening
from pingan.rules.base import ActionRule, Move, Owed, Point, Said, Told, WindowRule
from pingan.taxonomy import SIZE_TRACK


def apply(m: Move) -> None:
    t, now, tz = m.ticket, m.desk.now, m.desk.tz
    snap = policy.of(t)
    t.dispatched_at = now
    t.on_scene_due = on_scene.due(snap, now, t.urgent, tz)
    t.resolve_due = resolution.tier_due(snap, t.size, now, tz)
    t.next_check_at = t.on_scene_due


def announce(k: Told) -> Said:
    return Said()  # the first post needs the reporter and a look for the same hazard: see post()


def post(n: Notifier, t: Ticket, reporter: Person, same_as: int | None = None, moved_from: str | None = None) -> None:
    """The new ticket in its holder's group; `same_as`: an open ticket that looks like the same
    hazard (the worker decides: one trip, and 退回 the copy); `moved_from`: the unit it came from
    (a place answer or 改地点 moved it): the new group gets the whole post, the old one is told."""
    holder = n.org.people.get(t.holder_person_id)
    people = [holder] if holder else []
    if t.urgent:  # the holder, the community's lead on duty and its duty person (the roster's at night)
        for p in (n.org.lead(t.unit_id), n.org.on_duty(t.unit_id)):
            if p and p not in people:
                people.append(p)
    elif on_scene.at_night(t):  # nobody is woken: the morning hand-over post (rules/handover.py) @-mentions the holder
        people = []
    head = f"🚨{HAZARD_NAMES[ticket_hazard(t)]}【紧急隐患" if t.urgent else "【隐患"
    body = (f"{head} #{t.id}】{n.label(t)}（{t.size}事·{SIZE_TRACK.get(t.size, '')}）\n"
            f"📍{n.place(t)}\n"
            f"📝“{excerpt(t.raw_text)}”\n"
            f"👤上报：{mask_name(reporter.name)}")
    backup = n.org.on_duty(t.unit_id)
    if t.holder_level == Level.grid and backup is not None and backup not in people:
        body += f"  备岗：{backup.name}"  # the community's on-duty staff, if the grid worker can't go
    if t.urgent:
        body += "\n" + safety_line(t, n.settings.emergency)
    if t.urges:
        body += f"\n📢 上报人已催办 {t.urges} 次"
    if moved_from is not None:
        body += f"\n↪️ 由{n.org.units[moved_from].name}转来（按地点属于本辖区）"
        n.to_unit(moved_from, lambda pf: [Text(
            f"↪️ #{t.id} 地点为「{t.location}」，已转{n.org.units[t.unit_id].name}处理（{n.holder_name(t)}）。"
            "办结前本群仍可处理。")], t)
    if same_as is not None:
        body += f"\n🔁 可能与 #{same_as} 是同一件事（同一地点、同类问题，还在处理中）。是重复的请回复「退回 #{t.id} 与 #{same_as} 重复」"
    ask = f"⏰请 {n.hhmm(t.on_scene_due)} 前到场，回复「到场 #{t.id}」"
    n.to_unit(t.holder_unit_id, lambda pf: [Text(body + "\n")] + n.ask(pf, people, ask), t)


def receipt(n: Notifier, t: Ticket, still_open: list[int] = ()) -> str:
    """The reporter's answer. An urgent report's opens with what to do now (safety.py); then the
    ticket. `still_open`: the reporter's other open tickets, which this one does not replace."""
    minutes = policy.of(t)["on_scene_minutes"]
    promise = (f"承诺 {minutes} 分钟内到场（{n.hhmm(t.on_scene_due)} 前）" if not on_scene.at_night(t)
               else f"夜间非紧急事项，明早 {n.hhmm(t.on_scene_due)} 前到场")
    lines = [urgent_opening(ticket_hazard(t), n.settings.emergency)] if t.urgent else []
    lines += [
        f"{'已通知工作人员紧急处置' if t.urgent else '✅ 已受理'}，编号 #{t.id}",
        f"类别：{n.label(t)}",
        f"地点：{t.location or '（待补充）'}",
        f"责任人：{n.holder_name(t)}，" + promise,
    ]
    if not t.location:
        lines.append("❓请问具体在哪里？请回复小区、楼栋或路口，例如「锦城花园3栋2单元」。")
    elif lacks_place(t):
        lines.append(f"❓请问是哪个小区（或哪条路）的{t.location}？请回复小区名，例如「锦城花园」。")
    if still_open:
        lines.append("、".join(f"#{n}" for n in still_open) + " 仍在处理中，这是新登记的一件。")
    lines.append(f"查询进度回复「查询 #{t.id}」，撤销回复「撤销 #{t.id}」。")
    return "\n".join(lines)


def points(o: Owed) -> None:
    if o.t.status == Status.new:
        o.out.append(Point("dispatch", o.t.created_at, o.t.created_at, window="dispatch"))


async def redispatch(s, t: Ticket, p: Point, late: bool) -> None:
    if t.holder_unit_id is None:
        s.desk.route(t, t.unit_id)
    await s.move(t, Action.dispatch, p, late, note="系统补派发")
    reporter = await s.session.get(Person, t.reporter_id) if t.reporter_id else None
    post(s.notifier, t, reporter or Person(id="?", name="居民", role="resident"))


RULE = ActionRule(Action.dispatch, apply, announce)
WINDOW = WindowRule("dispatch", points, {"dispatch": redispatch})
