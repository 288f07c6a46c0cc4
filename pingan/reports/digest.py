"""Digests (日报/周报/阶段总结): the day's or a period's figures for a community, a street or a
district, computed with a few grouped queries over all communities at once (never per ticket,
never per unit), rolled up the org tree in memory.

Definitions (docs/scheduler.md):
- 新增: tickets created in the period (居民上报 = source resident; 巡查/网格员 = patrol/worker).
- 15分钟到场率: of the period's new tickets that needed someone on scene (all but those withdrawn
  or returned before anyone arrived, and those still inside their on-scene window), the share
  answered 到场 by their on-scene deadline.
- 办结: resolved in the period; 呼叫 N 次: 呼叫 events in the period (the cumulative 呼叫上级 counts
  tickets, so the two are worded apart); 退回: returned in the period.
- 累计 (since campaign_start): 发现, 已化解, 待化解, 社区自处理, 呼叫上级 as figures.py defines them
  (the ledger's 汇总 counts with the same conditions).
- 超期 (as of the period's end, or now if earlier): open and past its resolution deadline, or not
  yet on scene and past its on-scene deadline.
- medians: time to on scene of the period's new tickets; time to resolution of the period's resolved.
- 夜间: the nights' figures as rules/night.py defines them (the morning hand-over's, too), for the
  nights ending after the period began up to the morning after it, one per day: the officials'
  morning digest of yesterday shows the night just ended, the 18:00 community digest last night.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone, tzinfo

from sqlalchemy import and_, func, select

from pingan.messages import Part, Text
from pingan.models import Level, Source, Status, Ticket, TicketEvent
from pingan.models.org_index import OrgIndex
from pingan.notify import span
from pingan.reports import figures
from pingan.reports.figures import total as _total
from pingan.rules import night
from pingan.taxonomy import Taxonomy

KIND_TITLE = {"day": "平安日报", "week": "平安周报", "campaign": "百日攻坚阶段总结", "range": "平安统计"}


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # inclusive
    kind: str = "day"  # day | week | campaign | range

    @classmethod
    def day(cls, d: date) -> "Period":
        return cls(d, d, "day")

    @classmethod
    def week_before(cls, d: date) -> "Period":
        return cls(d - timedelta(days=7), d - timedelta(days=1), "week")

    @classmethod
    def ending(cls, end: date, days: int = 1, campaign_start: str | None = None) -> "Period":
        """The campaign up to `end` (when one is configured and asked for), else `days` days to `end`."""
        if campaign_start:
            return cls(date.fromisoformat(campaign_start), end, "campaign")
        if days > 1:
            return cls(end - timedelta(days=days - 1), end, "week" if days == 7 else "range")
        return cls.day(end)

    def bounds(self, tz: tzinfo) -> tuple[datetime, datetime]:
        return (datetime.combine(self.start, time(0), tzinfo=tz),
                datetime.combine(self.end + timedelta(days=1), time(0), tzinfo=tz))

    def label(self) -> str:
        if self.start == self.end:
            return self.start.isoformat()
        return f"{self.start.isoformat()} 至 {self.end.isoformat()}"

    @property
    def word(self) -> str:
        return "当日" if self.kind == "day" else "本期"  # the officials' morning digest is about yesterday


@dataclass
class Tally:
    """Additive figures for one unit (a community's own tickets, or a roll-up)."""

    new_resident: int = 0
    new_other: int = 0
    arrive_base: int = 0
    on_time: int = 0
    resolved: int = 0
    returned: int = 0
    called_up: int = 0
    called_up_auto: int = 0  # of those, the scheduler's (a missed deadline), not a person's
    urged: int = 0  # 催办: reporters' urges in the period
    found: int = 0
    resolved_total: int = 0
    pending: int = 0
    self_handled: int = 0
    called_up_total: int = 0
    overdue: int = 0
    cum_arrive_base: int = 0
    cum_on_time: int = 0
    by_cat: dict = field(default_factory=lambda: defaultdict(lambda: [0, 0, 0]))  # code → [period, cum, pending]
    on_scene_secs: list = field(default_factory=list)
    resolve_secs: list = field(default_factory=list)
    overdue_rows: list = field(default_factory=list)  # (since, id, label fields…)
    night: night.Night = field(default_factory=night.Night)

    NUMS = ("new_resident", "new_other", "arrive_base", "on_time", "resolved", "returned", "called_up",
            "called_up_auto", "urged", "found",
            "resolved_total", "pending", "self_handled", "called_up_total", "overdue", "cum_arrive_base", "cum_on_time")

    def add(self, o: "Tally", cap: int) -> None:
        for k in self.NUMS:
            setattr(self, k, getattr(self, k) + getattr(o, k))
        for code, v in o.by_cat.items():
            mine = self.by_cat[code]
            for i in range(3):
                mine[i] += v[i]
        self.on_scene_secs += o.on_scene_secs
        self.resolve_secs += o.resolve_secs
        self.night.add(o.night)
        self.overdue_rows = sorted(self.overdue_rows + o.overdue_rows, key=worst_first)[:cap]

    @property
    def new(self) -> int:
        return self.new_resident + self.new_other

    @property
    def quiet(self) -> bool:
        """Nothing happened and nothing is open: a short digest, no chart."""
        return not (self.new or self.found or self.pending or self.overdue or self.resolved or self.returned
                    or self.called_up or not self.night.empty)

    @staticmethod
    def rate(num: int, den: int) -> float | None:
        return num / den if den else None

    @property
    def on_time_rate(self) -> float | None:
        return self.rate(self.on_time, self.arrive_base)

    @property
    def cum_on_time_rate(self) -> float | None:
        return self.rate(self.cum_on_time, self.cum_arrive_base)

    @property
    def median_on_scene(self) -> float | None:
        return statistics.median(self.on_scene_secs) if self.on_scene_secs else None

    @property
    def median_resolve(self) -> float | None:
        return statistics.median(self.resolve_secs) if self.resolve_secs else None


@dataclass(frozen=True)
class OverdueRow:
    since: datetime
    id: int
    category: str
    item: str | None
    location: str | None
    holder_person_id: str | None
    holder_unit_id: str | None
    on_scene: bool  # False: overdue for arrival
    urgent: bool = False


def worst_first(r: OverdueRow) -> tuple:
    """Urgent ones first (danger to life), then the longest overdue."""
    return (not r.urgent, r.since, r.id)


def _aware(dt: datetime | None) -> datetime | None:
    if dt is None or dt.tzinfo is not None:
        return dt
    return dt.replace(tzinfo=timezone.utc)


def campaign_start(settings, tz: tzinfo) -> datetime | None:
    cs = settings.scheduler.campaign_start
    return datetime.combine(date.fromisoformat(cs), time(0), tzinfo=tz) if cs else None


def period_nights(settings, tz: tzinfo, period: Period, now: datetime) -> list[night.Window]:
    """The nights a digest of `period` reports (see 夜间 above), as of `now`."""
    morning_after = datetime.combine(period.end + timedelta(days=1), time.fromisoformat(settings.policy.quiet_end),
                                     tzinfo=tz)
    return night.nights(settings.policy, tz, period.bounds(tz)[0], min(now, morning_after),
                        most=(period.end - period.start).days + 1)


def _cat_of(t: Tally, cat: str | None) -> list[int]:
    return t.by_cat[figures.category_code(cat)]


class _Scope:
    """The period's bounds and the conditions the digest queries share."""

    def __init__(self, settings, tz: tzinfo, period: Period, now: datetime, units: list[str] | None) -> None:
        T = Ticket
        self.ps, self.pe = ps, pe = period.bounds(tz)
        self.now, self.asof = now, min(now, pe)
        self.cs = cs = campaign_start(settings, tz)
        lower = min(cs, ps) if cs else None
        self.arrive_base = figures.arrive_base(self.asof)
        self.on_time = figures.on_time()
        self.resolved_asof = figures.resolved(self.asof)
        self.self_handled = figures.self_handled(self.asof)
        self.called = figures.called_up()
        self.unit_ids = units
        self.units = [T.unit_id.in_(units)] if units is not None else []
        if units is not None:
            self.since_campaign = [T.created_at < pe, *([T.created_at >= lower] if lower is not None else []), *self.units]
        else:  # every unit: a plain scan beats walking an index and looking up each row (SQLite)
            scan = func.coalesce(T.created_at, T.created_at)
            self.since_campaign = [scan < pe, *([scan >= lower] if lower is not None else [])]

    def within(self, col):
        return and_(col >= self.ps, col < self.pe)


async def _new_tickets(session, sc: _Scope, out: dict) -> None:
    """The period's new tickets (a range of the created_at index)."""
    T = Ticket
    q = (select(T.unit_id, T.category, _total(T.source == Source.resident), _total(T.source != Source.resident),
                _total(sc.arrive_base), _total(sc.on_time))
         .where(sc.within(T.created_at), *sc.units).group_by(T.unit_id, T.category))
    for unit, cat, *n in (await session.exec(q)).all():
        t = out[unit]
        new_res, new_oth, base, ontime = (int(x or 0) for x in n)
        t.new_resident += new_res
        t.new_other += new_oth
        t.arrive_base += base
        t.on_time += ontime
        _cat_of(t, cat)[0] += new_res + new_oth


async def _resolved_and_returned(session, sc: _Scope, out: dict) -> None:
    T = Ticket
    q = select(T.unit_id, func.count()).where(sc.within(T.resolved_at), *sc.units).group_by(T.unit_id)
    for unit, n in (await session.exec(q)).all():
        out[unit].resolved += int(n)
    q = (select(T.unit_id, func.count()).where(T.status == Status.returned, sc.within(T.closed_at), *sc.units)
         .group_by(T.unit_id))
    for unit, n in (await session.exec(q)).all():
        out[unit].returned += int(n)


async def _cumulative(session, sc: _Scope, out: dict) -> None:
    """Since the campaign start, in one scan."""
    T = Ticket
    q = (select(T.unit_id, T.category, func.count(), _total(sc.resolved_asof), _total(sc.self_handled),
                _total(sc.called), _total(sc.arrive_base), _total(sc.on_time))
         .where(*sc.since_campaign).group_by(T.category, T.unit_id))  # (category, unit): SQLite then scans, no index walk
    for unit, cat, *n in (await session.exec(q)).all():
        t = out[unit]
        found, res_tot, selfh, called_tot, cum_base, cum_ontime = (int(x or 0) for x in n)
        t.found += found
        t.resolved_total += res_tot
        t.self_handled += selfh
        t.called_up_total += called_tot
        t.cum_arrive_base += cum_base
        t.cum_on_time += cum_ontime
        _cat_of(t, cat)[1] += found



async def _call_ups(session, sc: _Scope, out: dict) -> None:
    """呼叫 events in the period (those without an actor are the scheduler's) and 催办 (a reporter
    asking where the help is)."""
    T = Ticket
    eq = (select(T.unit_id, TicketEvent.action, func.count(), _total(TicketEvent.actor_id.is_(None)))
          .select_from(TicketEvent).join(T, T.id == TicketEvent.ticket_id)
          .where(TicketEvent.action.in_(["escalate", "urge"]), TicketEvent.at >= sc.ps, TicketEvent.at < sc.pe,
                 *sc.units))
    for unit, action, n, auto in (await session.exec(eq.group_by(T.unit_id, TicketEvent.action))).all():
        if action == "urge":
            out[unit].urged += int(n)
            continue
        out[unit].called_up += int(n)
        out[unit].called_up_auto += int(auto or 0)


async def _durations(session, sc: _Scope, out: dict) -> None:
    """For the medians: seconds computed in SQL, only the period's rows."""
    T = Ticket

    def seconds(a, b):
        if session.bind.dialect.name == "sqlite":
            return (func.julianday(b) - func.julianday(a)) * 86400.0
        return func.extract("epoch", b - a)

    dq = select(T.unit_id, seconds(T.dispatched_at, T.on_scene_at)).where(
        sc.within(T.created_at), T.on_scene_at.is_not(None), T.dispatched_at.is_not(None), T.on_scene_at < sc.pe,
        *sc.units)
    rq = select(T.unit_id, seconds(T.created_at, T.resolved_at)).where(sc.within(T.resolved_at), *sc.units)
    for unit, secs in (await session.exec(dq)).all():
        out[unit].on_scene_secs.append(round(float(secs), 3))
    for unit, secs in (await session.exec(rq)).all():
        out[unit].resolve_secs.append(round(float(secs), 3))


def _open_where(sc: _Scope) -> list:
    """Still open as of the period's end: for "now", an index-only count on (status, unit, category,
    created); for a past date, what was open then (a scan)."""
    T = Ticket
    if sc.asof < sc.now:
        return [*figures.pending(sc.asof, sc.now), *sc.since_campaign]
    where = [*figures.pending(sc.asof, sc.now), *sc.units]
    if sc.cs:  # coalesce(): keep SQLite on the covering (status, unit, category, created) index
        where.append(func.coalesce(T.created_at, T.created_at) >= sc.cs)
    return where


async def _pending(session, open_where: list, out: dict) -> None:
    T = Ticket
    q = select(T.unit_id, T.category, func.count()).where(*open_where).group_by(T.category, T.unit_id)
    for unit, cat, n in (await session.exec(q)).all():
        out[unit].pending += int(n)
        _cat_of(out[unit], cat)[2] += int(n)


async def _overdue(session, sc: _Scope, open_where: list, out: dict, cap: int) -> None:
    """The overdue tickets themselves (few): counted per unit, the most overdue listed (capped)."""
    T, asof = Ticket, sc.asof
    q = (select(T.id, T.unit_id, T.category, T.item, T.location, T.holder_person_id, T.holder_unit_id,
                T.resolve_due, T.on_scene_due, T.on_scene_at, T.urgent)
         .where(*open_where, figures.overdue(asof)))
    rows: dict[str | None, list[OverdueRow]] = defaultdict(list)
    for r in (await session.exec(q)).all():
        resolve_due, on_scene_due, on_scene_at = _aware(r.resolve_due), _aware(r.on_scene_due), _aware(r.on_scene_at)
        arrived = on_scene_at is not None and on_scene_at <= asof
        since = resolve_due
        if not arrived and on_scene_due is not None and on_scene_due < asof and (
                resolve_due is None or on_scene_due < resolve_due):
            since = on_scene_due
        rows[r.unit_id].append(OverdueRow(since, r.id, r.category, r.item, r.location, r.holder_person_id,
                                          r.holder_unit_id, arrived, bool(r.urgent)))
    for unit, rs in rows.items():
        out[unit].overdue += len(rs)
        out[unit].overdue_rows = sorted(rs, key=worst_first)[:cap]


async def _nights(session, sc: _Scope, windows: list[night.Window], roster, out: dict) -> None:
    """The nights' figures per ticket unit, and the stretches no shift on a unit's roster covered."""
    for unit, n in (await night.collect(session, windows, sc.units)).items():
        out[unit].night.add(n)
    rostered = roster.units if roster is not None else ()
    for unit, gaps in night.unstaffed(roster, sc.unit_ids if sc.unit_ids is not None else rostered, windows).items():
        out[unit].night.unstaffed += gaps


async def collect(session, settings, tz: tzinfo, period: Period, now: datetime,
                  units: list[str] | None = None, cap: int | None = None, roster=None) -> dict[str | None, Tally]:
    """Per ticket-unit (community) tallies in a few grouped queries. `units` limits the scan; `cap`
    overdue tickets are listed per unit (default: the digests' `overdue_list_cap`); `roster` (the
    organisation's) finds the nights' unstaffed shifts."""
    sc = _Scope(settings, tz, period, now, units)
    out: dict[str | None, Tally] = defaultdict(Tally)
    await _new_tickets(session, sc, out)
    await _resolved_and_returned(session, sc, out)
    await _cumulative(session, sc, out)
    await _call_ups(session, sc, out)
    await _durations(session, sc, out)
    open_where = _open_where(sc)
    await _pending(session, open_where, out)
    await _overdue(session, sc, open_where, out, cap or settings.scheduler.overdue_list_cap)
    await _nights(session, sc, period_nights(settings, tz, period, now), roster, out)
    return out


def roll_up(org: OrgIndex, per_unit: dict[str | None, Tally], cap: int) -> dict[str, Tally]:
    """Each unit's tally = its own tickets + everything below it."""
    rolled: dict[str, Tally] = defaultdict(Tally)
    for unit_id, t in per_unit.items():
        for anc in org.ancestors(unit_id):
            rolled[anc.id].add(t, cap)
    return rolled


# --- rendering ------------------------------------------------------------------------------------

def pct(r: float | None) -> str:
    return "—" if r is None else f"{r * 100:.0f}%"


def dur(secs: float | None) -> str:
    return "—" if secs is None else span(timedelta(seconds=secs)) if secs >= 60 else f"{int(secs)}秒"


@dataclass
class Digest:
    unit_id: str
    title: str
    text: str  # the body without mentions
    overdue: list[OverdueRow]
    overdue_total: int
    chart: str | None = None
    brief: bool = False  # nothing happened and nothing is open: two lines, no chart

    def build(self, notifier):
        """build(platform) → parts: the body, then the overdue list with the holders @-mentioned."""
        org = notifier.org

        def parts(platform: str) -> list[Part]:
            out: list[Part] = [Text(self.text)]
            if not self.overdue_total:
                out.append(Text("\n✅ 无超期工单"))
                return out
            out.append(Text(f"\n⚠️ 超期 {self.overdue_total} 件："))
            for r in self.overdue:
                what = notifier.taxonomy.label(r.category, r.item)
                kind = "未到场" if not r.on_scene else "未办结"
                late = span(notifier.clock.now() - r.since)
                out.append(Text(f"\n  {'🚨' if r.urgent else ''}#{r.id} {what} {r.location or ''} {kind}，超期 {late} "))
                person = org.people.get(r.holder_person_id) or org.on_duty(r.holder_unit_id)
                if person is not None:
                    out.append(notifier.mention(person, platform))
            if self.overdue_total > len(self.overdue):
                out.append(Text(f"\n  …共 {self.overdue_total} 件，以上是最紧急的 {len(self.overdue)} 件；"
                                "全部请看台账（发「台账」）"))
            return out

        return parts


def child_units(org: OrgIndex, unit_id: str) -> list[str]:
    ladder = [Level.district, Level.street, Level.community]
    return [c for c in org.children.get(unit_id, []) if org.units[c].level in ladder]


def rank(org: OrgIndex, rolled: dict[str, Tally], unit_id: str) -> list[tuple[str, Tally]]:
    """Child units worst first: most overdue, then most pending, then lowest on-scene rate."""
    rows = [(c, rolled.get(c) or Tally()) for c in child_units(org, unit_id)]
    return sorted(rows, key=lambda kv: (-kv[1].overdue, -kv[1].pending,
                                         kv[1].cum_on_time_rate if kv[1].cum_on_time_rate is not None else 2.0,
                                         org.units[kv[0]].name))


def render(org: OrgIndex, taxonomy: Taxonomy, settings, unit_id: str, t: Tally, period: Period,
           rolled: dict[str, Tally] | None = None, nights: list[night.Window] = ()) -> Digest:
    unit = org.units[unit_id]
    cs = settings.scheduler.campaign_start
    day_no = ""
    if cs and period.kind == "day":
        n = (period.end - date.fromisoformat(cs)).days + 1
        if 1 <= n <= settings.scheduler.campaign_days:
            day_no = f"（百日攻坚第 {n} 天）"
    title = f"📊【{unit.name} {KIND_TITLE[period.kind]}】{period.label()}{day_no}"
    w = period.word
    if t.quiet and not (rolled is not None and child_units(org, unit_id)):
        return Digest(unit_id, title, f"{title}\n{w}无新增，也没有待化解的事项。", [], 0, brief=True)
    auto = f"（超期自动 {t.called_up_auto} 次）" if t.called_up_auto else ""
    mins = settings.policy.on_scene_minutes
    lines = [
        title,
        f"{w}新增 {t.new} 件（居民上报 {t.new_resident} · 巡查/网格员 {t.new_other}）",
        f"{mins}分钟到场 {t.on_time}/{t.arrive_base}（{pct(t.on_time_rate)}）· 办结 {t.resolved} · "
        f"呼叫 {t.called_up} 次{auto} · 退回 {t.returned}" + (f" · 居民催办 {t.urged} 次" if t.urged else ""),
        f"中位用时：到场 {dur(t.median_on_scene)} · 办结 {dur(t.median_resolve)}",
        *([t.night.line(night.label(nights), org.units)] if nights and not t.night.empty else []),
        f"累计{'（自 ' + cs + '）' if cs else ''}：排查发现问题隐患 {t.found} 个，已化解 {t.resolved_total} 个，"
        f"待化解 {t.pending} 个；社区自处理 {t.self_handled} 个，呼叫上级 {t.called_up_total} 个",
        f"分类（{w}/累计/待化解）：",
    ]
    for cat in taxonomy.categories:
        p, c, pend = t.by_cat.get(cat.code, (0, 0, 0))
        lines.append(f"  {cat.name} {p}/{c}/{pend}")
    if rolled is not None and child_units(org, unit_id):
        lines.append("各单位排名（超期多者在前）：")
        lines.append("  名次 单位 待化解 超期 到场率")
        for i, (cid, ct) in enumerate(rank(org, rolled, unit_id), 1):
            lines.append(f"  {i}. {org.units[cid].name} {ct.pending} {ct.overdue} {pct(ct.cum_on_time_rate)}")
    return Digest(unit_id, title, "\n".join(lines), list(t.overdue_rows), t.overdue)
