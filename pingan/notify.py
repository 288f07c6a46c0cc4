"""Turns ticket facts into messages for people: the coordination-group posts, the reporter's replies.

Platform-free: a post goes to every coordination group of the right unit, whatever platform it is
on, and an @-mention carries the person's id on that group's platform (the adapter renders it)."""

from __future__ import annotations

from datetime import datetime, timedelta

from pingan.clock import Clock
from pingan.config import Settings
from pingan.lifecycle import ACTION_NAMES, Action
from pingan.messages import ChatRef, Mention, Outbound, Part, Text
from pingan.models import LEVEL_NAMES, ROLE_NAMES, STATUS_NAMES, Level, Person, Ticket, TicketEvent
from pingan.models.org_index import OrgIndex
from pingan.rules.safety import HAZARD_NAMES, ticket_hazard, urgent_opening
from pingan.taxonomy import SIZE_TRACK, Taxonomy
from pingan.tickets import lacks_place


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
        """A resolution deadline: local midnight reads as 24:00 of the day before (小事 same day),
        as in the scheduler's reminders."""
        if dt is None:
            return "—"
        local = self.clock.local(dt)
        if (local.hour, local.minute) != (0, 0):
            return self.hhmm(dt)
        prev = local - timedelta(minutes=1)
        return "24:00" if prev.date() == self.clock.now().date() else prev.strftime("%m-%d 24:00")

    def at_night(self, t: Ticket) -> bool:
        """Its on-scene window starts after quiet hours (policy.on_scene_due)."""
        return bool(t.on_scene_due and t.dispatched_at
                    and t.on_scene_due - t.dispatched_at > timedelta(minutes=t.policy["on_scene_minutes"] + 1))

    def place(self, t: Ticket) -> str:
        if t.location is None:
            return "位置待补充(已追问上报人)"
        return f"{t.location}(哪个小区待确认,已追问上报人)" if lacks_place(t) else t.location

    def label(self, t: Ticket) -> str:
        return self.taxonomy.label(t.category, t.item)

    def who(self, person: Person | None) -> str:
        if person is None:
            return "(未配置值班人员)"
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
            return f"{unit.name}(跟进:{person.name})"
        return f"{unit.name if unit else ''} {person.name if person else ''}".strip()

    def mention(self, person: Person, platform: str) -> Mention:
        return Mention(name=person.name, user_id=self.org.external_id(person.id, platform), mobile=person.mobile)

    def emergency_line(self) -> str:
        e = self.settings.emergency
        nums = f"火警 {e.fire} / 报警 {e.police} / 急救 {e.ambulance}" + (f" / 燃气抢修 {e.gas}" if e.gas else "")
        return f"⚠️ 如有明火、燃气泄漏或人员受伤,请立即拨打 {nums},并远离危险区域。"

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
    def _ask(self, t: Ticket, platform: str, people: list[Person], ask: str) -> list[Part]:
        parts: list[Part] = []
        for p in people:
            parts += [self.mention(p, platform), Text(" ")]
        parts.append(Text(ask))
        return parts

    def new_ticket(self, t: Ticket, reporter: Person, same_as: int | None = None, moved_from: str | None = None) -> None:
        """Post a new ticket in its holder's group; `same_as`: an open ticket that looks like the same
        hazard (the worker decides: one trip, and 退回 the copy); `moved_from`: the unit it came from
        (a place answer or 改地点 moved it): the new group gets the whole post, the old one is told."""
        holder = self.org.people.get(t.holder_person_id)
        people = [holder] if holder else []
        if t.urgent:
            lead = self.org.lead(t.unit_id)
            if lead and lead not in people:
                people.append(lead)
        head = f"🚨{HAZARD_NAMES[ticket_hazard(t)]}【紧急隐患" if t.urgent else "【隐患"
        track = SIZE_TRACK.get(t.size, "")
        body = (f"{head} #{t.id}】{self.label(t)}({t.size}事·{track})\n"
                f"📍{self.place(t)}\n"
                f"📝“{excerpt(t.raw_text)}”\n"
                f"👤上报:{mask_name(reporter.name)}")
        backup = self.org.on_duty(t.unit_id)
        if t.holder_level == Level.grid and backup is not None and backup not in people:
            body += f"  备岗:{backup.name}"  # the community's on-duty staff, if the grid worker can't go
        if t.urgent:
            body += f"\n{self.emergency_line()}"
        if t.urges:
            body += f"\n📢 上报人已催办 {t.urges} 次"
        if moved_from is not None:
            came = self.org.units[moved_from].name
            body += f"\n↪️ 由{came}转来（按地点属于本辖区）"
            self.to_unit(moved_from, lambda pf: [Text(
                f"↪️ #{t.id} 地点为「{t.location}」，已转{self.org.units[t.unit_id].name}处理（{self.holder_name(t)}）。"
                "办结前本群仍可处理。")], t)
        if same_as is not None:
            body += f"\n🔁 可能与 #{same_as} 是同一件事(同一地点、同类问题,还在处理中)。是重复的请回复「退回 #{t.id} 与 #{same_as} 重复」"
        ask = f"⏰请 {self.hhmm(t.on_scene_due)} 前到场,回复「到场 #{t.id}」"
        self.to_unit(t.holder_unit_id, lambda pf: [Text(body + "\n")] + self._ask(t, pf, people, ask), t)

    def receipt(self, t: Ticket, still_open: list[int] = ()) -> str:
        """The reporter's answer. An urgent report's opens with what to do now (safety.py); then
        the ticket. `still_open`: the reporter's other open tickets, which this one does not replace."""
        minutes = t.policy["on_scene_minutes"]
        lines = [urgent_opening(ticket_hazard(t), self.settings.emergency)] if t.urgent else []
        lines += [
            f"{'已通知工作人员紧急处置' if t.urgent else '✅ 已受理'}，编号 #{t.id}",
            f"类别:{self.label(t)}",
            f"地点:{t.location or '(待补充)'}",
            f"责任人:{self.holder_name(t)}," + (f"承诺 {minutes} 分钟内到场({self.hhmm(t.on_scene_due)} 前)"
                if not self.at_night(t) else f"夜间非紧急事项,明早 {self.hhmm(t.on_scene_due)} 前到场"),
        ]
        if not t.location:
            lines.append("❓请问具体在哪里?请回复小区、楼栋或路口,例如「锦城花园3栋2单元」。")
        elif lacks_place(t):
            lines.append(f"❓请问是哪个小区(或哪条路)的{t.location}?请回复小区名,例如「锦城花园」。")
        if still_open:
            lines.append("、".join(f"#{n}" for n in still_open) + " 仍在处理中，这是新登记的一件。")
        lines.append(f"查询进度回复「查询 #{t.id}」,撤销回复「撤销 #{t.id}」。")
        return "\n".join(lines)

    def located(self, t: Ticket, rerouted: bool) -> None:
        holder = self.org.people.get(t.holder_person_id)
        text = f"📍 #{t.id} 位置补充:{t.location}"
        if rerouted and holder:
            due = t.on_scene_due
            # an answer that came late: no deadline that has already gone by
            when = f"请 {self.hhmm(due)} 前到场" if due and due > self.clock.now() else "请尽快到场"
            self.to_unit(t.holder_unit_id, lambda pf: [Text(text + "\n")] + self._ask(
                t, pf, [holder], f"{when},回复「到场 #{t.id}」"), t)
        else:
            self.to_unit(t.holder_unit_id, lambda pf: [Text(text)], t)

    def reporter_added(self, t: Ticket, text: str) -> None:
        """The reporter's 补充 (the car is still there, it got worse): to whoever holds the ticket."""
        holder = self.org.people.get(t.holder_person_id)
        self.to_unit(self.holder_groups(t), lambda pf: [Text(f"💬 #{t.id} 上报人补充:{text}")]
                     + ([Text(" "), self.mention(holder, pf)] if holder else []), t)

    def history(self, t: Ticket, events: list[TicketEvent], n: int = 4) -> str:
        """The last lifecycle steps ('10:00 上报 → 10:09 到场 → 10:30 呼叫'); reminders and other
        bookkeeping events are left out."""
        names = {"report": "上报", **{str(a): name for a, name in ACTION_NAMES.items()}}
        steps = [f"{self.hhmm(ev.at)} {names[ev.action]}" for ev in events if ev.action in names]
        return " → ".join(steps[-n:])

    def moved(self, t: Ticket, action: Action, actor: Person | None, events: list[TicketEvent], late: bool = False) -> str:
        """Confirm an accepted move in the coordination group and tell the reporter where it matters
        (on scene, resolved, returned, called up). Returns the one-line confirmation for the actor."""
        by = actor.name if actor else "系统"
        n = f"#{t.id}"
        is_reporter = actor is not None and actor.id == t.reporter_id
        group_text, resident_text = None, None
        confirm = None  # the actor's confirmation when it is not the group post
        if action == Action.ack:
            group_text = f"✅ {n} 已签收({by})"
        elif action == Action.on_scene:
            took = ""
            if t.dispatched_at and t.on_scene_at:
                took = f",用时 {span(t.on_scene_at - t.dispatched_at)}"
            group_text = f"✅ {n} {by} 已到场({self.hhmm(t.on_scene_at)}{took})"
            resident_text = f"您反映的 {n}({self.label(t)})工作人员已到场处置。"
            alerted = {ev.data["above"] for ev in events if ev.action in ("urgent_repeat", "urge_alert") and (ev.data or {}).get("above")}
            here = {g.id for g in self.org.coordination_groups(t.unit_id)}
            for unit_id in alerted:  # the tier told nobody had come hears that someone has
                if {g.id for g in self.org.coordination_groups(unit_id)} - here:
                    self.to_unit(unit_id, lambda pf: [Text(group_text + ",无需再协调")], t)
        elif action == Action.progress:
            why = self._note(events, action)  # "已电话联系燃气公司": what is being done, for the others
            group_text = f"🔧 {n} 处置中({by})" + (f":{why}" if why else "")
        elif action == Action.resolve:
            note = f":{t.resolution_note}" if t.resolution_note else ""
            group_text = f"✅ {n} 已办结({by}){note}"
            resident_text = (f"您反映的 {n}({self.label(t)})已办结{note}。\n"
                             "满意请回复「满意」,不满意请回复「不满意」,我们会重新处理。")
        elif action == Action.close:
            group_text = f"👍 {n} 居民回访:满意,已关闭"
            resident_text = f"感谢您的评价,{n} 已关闭。"
        elif action == Action.reopen:
            holder = self.org.people.get(t.holder_person_id)
            group_text = f"🔁 {n} 居民回访不满意,已重新打开,请再次处置。"
            why = self._note(events, action)  # the resident's words tell the worker what is still wrong
            said = [Text(f"\n{'居民' if is_reporter else by}说:{why}")] if why else []
            self.to_unit(self.holder_groups(t), lambda pf: [Text(group_text)]
                         + ([Text(" "), self.mention(holder, pf)] if holder else []) + said, t)
            group_text = None
            resident_text = f"已收到,{n} 已重新打开,工作人员会再次处理。"
        elif action == Action.escalate:
            self.escalated(t, actor, events, late)
            up = self.org.units[t.holder_unit_id].name
            resident_text = f"您反映的 {n} 已呼叫{up}协调处理。"
            confirm = f"⬆️ {n} 已呼叫{up}协调处理。"  # escalated() posted in the groups already
        elif action == Action.transfer:
            dept = self.org.units[t.department_id]
            holder = self.org.people.get(t.holder_person_id)
            liaison = None if self.follower(t) else holder
            group_text = f"📤 {n} 已派单 {dept.name}({by})"
            head = (f"📤【派单 {n}】{self.label(t)} 📍{t.location or '—'}\n"
                    f"“{excerpt(t.raw_text)}”\n历史:{self.history(t, events)}\n")
            if liaison:
                self.to_unit(dept.id, lambda pf: [Text(head)] + self._ask(t, pf, [liaison], f"请签收,回复「签收 {n}」"), t)
            else:  # nobody there the bot can reach: say so, and who is following it up
                group_text += f"\n⚠️ {dept.name}未登记联络人,机器人无法通知,请电话联系该部门并跟进。"
                follow = f",由{holder.name}电话跟进" if holder else ",请电话联系"
                self.to_unit(dept.id, lambda pf: [Text(f"{head}⚠️ {dept.name}未登记联络人{follow}。")], t)
        elif action == Action.return_:
            group_text = f"↩️ {n} 已退回({by}):{t.return_reason or '未说明原因'}"
            resident_text = f"您反映的 {n} 经核实已退回:{t.return_reason or '未说明原因'}。如有疑问请回复或联系社区。"
        elif action == Action.withdraw:
            why = self._note(events, action)
            group_text = f"🚫 {n} 已由上报人撤销" + (f":{why}" if why else "")
            holder, there = self.org.people.get(t.holder_person_id), self.holder_groups(t)
            mine = {g.id for g in self.org.coordination_groups(t.unit_id)}
            if {g.id for g in self.org.coordination_groups(there)} - mine:  # called up or sent out: tell them too
                self.to_unit(there, lambda pf: [Text(group_text + ",无需再处理")]
                             + ([Text(" "), self.mention(holder, pf)] if holder else []), t)
            resident_text = f"已撤销 {n}。"
        elif action == Action.grade:
            group_text = f"📏 {n} 定级为{t.size}事({SIZE_TRACK[t.size]}),办结期限 {self.due(t.resolve_due)}"
        if group_text:
            self.to_unit(t.unit_id, lambda pf: [Text(group_text)], t)
        if resident_text and not is_reporter:
            self.to_reporter(t, resident_text)
        return (resident_text if is_reporter else confirm or group_text) or resident_text or f"{n} 已更新"

    @staticmethod
    def _note(events: list[TicketEvent], action: Action) -> str | None:
        """What was typed with the latest `action` (a 呼叫 or 不满意 reason); the move's own event is last."""
        ev = next((e for e in reversed(events) if e.action == str(action)), None)
        return ev.note if ev else None

    def posted_to(self, chat: ChatRef) -> bool:
        return any(o.target.platform == chat.platform and o.target.chat_id == chat.chat_id for o in self.out)

    def escalated(self, t: Ticket, actor: Person | None, events: list[TicketEvent], late: bool = False) -> None:
        """Post the call-up in the new tier's group, @ its on-duty person, with two lines of history."""
        unit = self.org.units[t.holder_unit_id]
        person = self.org.people.get(t.holder_person_id)
        origin = "系统自动(超期)" if actor is None else actor.name
        tag = "(补发)" if late else ""
        # a person's reason tells the upper tier what is needed; the system's own note only repeats 超期
        why = self._note(events, Action.escalate) if actor is not None else None
        body = (f"📣【呼叫 #{t.id}】{tag}{self.label(t)}({t.size}事)📍{t.location or '—'}\n"
                f"“{excerpt(t.raw_text)}” — 由{origin}呼叫{LEVEL_NAMES.get(unit.level, '')}\n"
                + (f"原因:{why}\n" if why else "")
                + f"历史:{self.history(t, events)}\n")
        ask = f"请签收,回复「签收 #{t.id}」;需部门处理请回复「派单 #{t.id} 部门」"
        self.to_unit(unit.id, lambda pf: [Text(body)] + (self._ask(t, pf, [person], ask) if person else [Text(ask)]), t)
        here = {g.id for g in self.org.coordination_groups(t.unit_id)}
        if here != {g.id for g in self.org.coordination_groups(unit.id)}:
            self.to_unit(t.unit_id, lambda pf: [Text(f"⬆️ #{t.id} 已呼叫 {unit.name}")], t)

    def status_card(self, t: Ticket, events: list[TicketEvent], staff: bool = True) -> str:
        """A ticket at a glance. Workers' remarks (说明) are for staff; a resident sees the 办结说明."""
        lines = [
            f"📋 #{t.id} {self.label(t)}({t.size}事)",
            f"📍{t.location or '—'}",
            f"状态:{STATUS_NAMES.get(t.status, t.status)}    责任:{self.holder_name(t)}",
        ]
        if t.on_scene_at is None and t.on_scene_due:
            lines.append(f"到场期限:{self.hhmm(t.on_scene_due)}")
        if t.resolved_at is None and t.resolve_due:
            lines.append(f"办结期限:{self.due(t.resolve_due)}")
        lines.append(f"经过:{self.history(t, events)}")
        if t.resolution_note and t.resolved_at is not None:
            lines.append(f"办结说明:{t.resolution_note}")
        note = next((e for e in reversed(events) if e.action == "note"), None) if staff else None
        if note is not None:
            who = self.org.people.get(note.actor_id)
            lines.append(f"说明:{note.note}({who.name if who else ''} {self.hhmm(note.at)})")
        return "\n".join(lines)
