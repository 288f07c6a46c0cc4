"""Addressing and formatting for every message: which groups reach a unit or a ticket's holder, the
reporter's chat, @-mentions, times, deadlines and labels. What each rule says is the rule's own
(pingan/rules/); a few replies of the conversation (位置补充, 补充, the status card) are here still.

Platform-free: a post goes to every coordination group of the right unit, whatever platform it is
on, and an @-mention carries the person's id on that group's platform (the adapter renders it)."""

from __future__ import annotations

from datetime import datetime, timedelta

from pingan.clock import Clock
from pingan.config import Settings
from pingan.lifecycle import ACTION_NAMES
from pingan.messages import ChatRef, Mention, Outbound, Part, Text
from pingan.models import ROLE_NAMES, STATUS_NAMES, Level, Person, Ticket, TicketEvent
from pingan.models.org_index import OrgIndex
from pingan.parser import vague_place
from pingan.taxonomy import Taxonomy

LATE = "（补发）"  # marks a post that went out after its time (downtime, quiet hours held it back)


def lacks_place(t: Ticket) -> bool:
    """No place yet, or only "3栋" that the roster could not place: the reporter is asked where."""
    return t.location is None or (t.grid_id is None and vague_place(t.location))


def mask_name(name: str | None) -> str:
    """'张小明' → '张**': reporters are never named in groups."""
    if not name:
        return "居民"
    return name[0] + "*" * max(1, len(name) - 1)


def span(d: timedelta) -> str:
    """'1天3小时', '2小时5分钟', '7分钟' (never negative)."""
    minutes = max(0, int(d.total_seconds() // 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days}天{hours}小时" if hours else f"{days}天"
    if hours:
        return f"{hours}小时{mins}分钟" if mins else f"{hours}小时"
    return f"{mins}分钟"


def left_or_over(deadline: datetime, now: datetime) -> str:
    if abs(now - deadline) < timedelta(minutes=1):
        return "已到期"  # not "已超时 0分钟"
    return f"还剩 {span(deadline - now)}" if deadline > now else f"已超时 {span(now - deadline)}"


def excerpt(text: str, n: int = 40) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= n else text[: n - 1] + "…"


class Notifier:
    def __init__(self, org: OrgIndex, settings: Settings, taxonomy: Taxonomy, clock: Clock) -> None:
        self.org, self.settings, self.taxonomy, self.clock = org, settings, taxonomy, clock
        self.out: list[Outbound] = []

    # --- formatting -----------------------------------------------------------------------------
    def hhmm(self, dt: datetime | None) -> str:
        if dt is None:
            return "—"
        local, today = self.clock.local(dt), self.clock.now().date()
        return local.strftime("%H:%M") if local.date() == today else local.strftime("%m-%d %H:%M")

    def due(self, dt: datetime | None) -> str:
        """A deadline: local midnight reads as 24:00 of the day before (小事 same day)."""
        if dt is None:
            return "—"
        local = self.clock.local(dt)
        if (local.hour, local.minute) != (0, 0):
            return self.hhmm(dt)
        prev = local - timedelta(minutes=1)
        return "24:00" if prev.date() == self.clock.now().date() else prev.strftime("%m-%d 24:00")

    def place(self, t: Ticket) -> str:
        if t.location is None:
            return "位置待补充（已追问上报人）"
        return f"{t.location}（哪个小区待确认，已追问上报人）" if lacks_place(t) else t.location

    def label(self, t: Ticket) -> str:
        return self.taxonomy.label(t.category, t.item)

    def who(self, person: Person | None) -> str:
        if person is None:
            return "（未配置值班人员）"
        return f"{ROLE_NAMES.get(person.role, '')} {person.name}".strip()

    def follower(self, t: Ticket) -> Person | None:
        """The dispatcher following up by phone a department nobody in the bot can reach (see
        TicketDesk._apply, 派单): they hold the ticket but are not of the holding unit."""
        person = self.org.people.get(t.holder_person_id)
        if person is not None and t.holder_level == Level.department and person.unit_id != t.holder_unit_id:
            return person
        return None

    def holder_name(self, t: Ticket) -> str:
        unit = self.org.units.get(t.holder_unit_id)
        person = self.org.people.get(t.holder_person_id)
        if t.holder_level == Level.grid:
            return self.who(person)
        if unit and self.follower(t):
            return f"{unit.name}（跟进：{person.name}）"
        return f"{unit.name if unit else ''} {person.name if person else ''}".strip()

    def mention(self, person: Person, platform: str) -> Mention:
        return Mention(name=person.name, user_id=self.org.external_id(person.id, platform), mobile=person.mobile)

    def mentions(self, platform: str, people: list[Person | None]) -> list[Part]:
        """Each person once, each @ followed by a space; nobody (None) is left out."""
        parts: list[Part] = []
        seen = set()
        for p in people:
            if p is not None and p.id not in seen:
                seen.add(p.id)
                parts += [self.mention(p, platform), Text(" ")]
        return parts

    def ask(self, platform: str, people: list[Person | None], ask: str) -> list[Part]:
        """@ the people, then what is asked of them."""
        return self.mentions(platform, people) + [Text(ask)]

    def after(self, platform: str, person: Person | None) -> list[Part]:
        """A person @-mentioned after a line of text (nothing when nobody)."""
        return [Text(" "), self.mention(person, platform)] if person else []

    def headline(self, t: Ticket, title: str, late: bool) -> str:
        """The first lines of a scheduler post: '⏰【到场提醒 #12】(补发)消防安全·电动车…(中事)📍…'."""
        icon = "🚨" if t.urgent else "⏰"
        return (f"{icon}【{title} #{t.id}】{LATE if late else ''}{self.label(t)}（{t.size}事）"
                f"📍{t.location or '—'}\n“{excerpt(t.raw_text, 30)}”\n")

    # --- addressing -----------------------------------------------------------------------------
    def to_chat(self, chat: ChatRef, parts: list[Part], ticket: Ticket | None = None, image: str | None = None,
                file: str | None = None) -> None:
        self.out.append(Outbound(target=chat, parts=parts, image=image, file=file,
                                 ticket_id=ticket.id if ticket else None))

    def to_unit(self, unit_id: str | None, build, ticket: Ticket | None = None, kinds=("coordination",)) -> bool:
        """Post to every group of the nearest unit (self or above) that has one. `build(platform)`
        returns the parts, so mentions carry ids for that platform. False if no group was found."""
        groups = self.org.coordination_groups(unit_id, kinds)
        for g in groups:
            self.to_chat(ChatRef(g.platform, g.account, "group", g.chat_id), build(g.platform), ticket)
        return bool(groups)

    def reaches_others(self, unit_id: str | None, than_unit_id: str | None) -> bool:
        """Does a post to `unit_id` reach a group that one to `than_unit_id` does not?"""
        theirs = {g.id for g in self.org.coordination_groups(than_unit_id)}
        return bool({g.id for g in self.org.coordination_groups(unit_id)} - theirs)

    def holder_groups(self, t: Ticket) -> str | None:
        """The unit whose groups reach the ticket's holder: the holding unit's, or a follower's own
        (they are in their unit's group, not in the one nearest the department)."""
        follower = self.follower(t)
        return follower.unit_id if follower else t.holder_unit_id

    def to_reporter(self, t: Ticket, text: str) -> None:
        if not t.reply_chat:
            return
        chat = ChatRef.from_dict(t.reply_chat)
        parts: list[Part] = [Text(text)]
        if chat.chat_type == "group":  # in a residents' group, address them without naming them
            parts.insert(0, Mention(name=t.reply_chat.get("name") or "居民", user_id=t.reply_chat.get("user_id")))
            parts[1] = Text(" " + text)
        self.to_chat(chat, parts, t)

    def to_admins(self, text: str) -> None:
        for g in self.org.admin_groups():
            self.to_chat(ChatRef(g.platform, g.account, "group", g.chat_id), [Text(text)])

    # --- ticket facts ---------------------------------------------------------------------------
    def located(self, t: Ticket, rerouted: bool) -> None:
        holder = self.org.people.get(t.holder_person_id)
        text = f"📍 #{t.id} 位置补充：{t.location}"
        if rerouted and holder:
            due = t.on_scene_due
            # an answer that came late: no deadline that has already gone by
            when = f"请 {self.hhmm(due)} 前到场" if due and due > self.clock.now() else "请尽快到场"
            self.to_unit(t.holder_unit_id, lambda pf: [Text(text + "\n")] + self.ask(
                pf, [holder], f"{when}，回复「到场 #{t.id}」"), t)
        else:
            self.to_unit(t.holder_unit_id, lambda pf: [Text(text)], t)

    def reporter_added(self, t: Ticket, text: str) -> None:
        """The reporter's 补充 (the car is still there, it got worse): to whoever holds the ticket."""
        holder = self.org.people.get(t.holder_person_id)
        self.to_unit(self.holder_groups(t), lambda pf: [Text(f"💬 #{t.id} 上报人补充：{text}")] + self.after(pf, holder), t)

    def history(self, t: Ticket, events: list[TicketEvent], n: int = 4) -> str:
        """The last lifecycle steps ('10:00 上报 → 10:09 到场 → 10:30 呼叫'); reminders and other
        bookkeeping events are left out."""
        names = {"report": "上报", "page": "短信呼叫", **{str(a): name for a, name in ACTION_NAMES.items()}}
        steps = [f"{self.hhmm(ev.at)} {names[ev.action]}" for ev in events if ev.action in names]
        return " → ".join(steps[-n:])

    def posted_to(self, chat: ChatRef) -> bool:
        return any(o.target.platform == chat.platform and o.target.chat_id == chat.chat_id for o in self.out)

    def status_card(self, t: Ticket, events: list[TicketEvent], staff: bool = True) -> str:
        """A ticket at a glance. Workers' remarks (说明) are for staff; a resident sees the 办结说明."""
        lines = [
            f"📋 #{t.id} {self.label(t)}（{t.size}事）",
            f"📍{t.location or '—'}",
            f"状态：{STATUS_NAMES.get(t.status, t.status)}    责任：{self.holder_name(t)}",
        ]
        if t.on_scene_at is None and t.on_scene_due:
            lines.append(f"到场期限：{self.hhmm(t.on_scene_due)}")
        if t.resolved_at is None and t.resolve_due:
            lines.append(f"办结期限：{self.due(t.resolve_due)}")
        lines.append(f"经过：{self.history(t, events)}")
        if t.resolution_note and t.resolved_at is not None:
            lines.append(f"办结说明：{t.resolution_note}")
        note = next((e for e in reversed(events) if e.action == "note"), None) if staff else None
        if note is not None:
            who = self.org.people.get(note.actor_id)
            lines.append(f"说明：{note.note}（{who.name if who else ''} {self.hhmm(note.at)}）")
        return "\n".join(lines)
