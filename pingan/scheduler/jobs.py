"""The APScheduler wiring for `pingan serve`, and the digest posts.

Jobs (all in-memory, recreated at start; durable state lives in the database):
- `sweep`: IntervalTrigger every `scheduler.sweep_seconds` — one indexed query for everything due.
- `digest:community`: CronTrigger at `community_digest_at` — today's digest into every community's
  coordination group(s).
- `digest:official`: CronTrigger at `official_digest_at` — yesterday's digest (plus last week's on
  `weekly_digest_day`, and the campaign summary the day after it ends) into each street's and
  district's officials group, else its coordination group.
Each digest occurrence is claimed once in `scheduler_runs` (two processes: one posts; a restart
after the time: the missed occurrence is posted late, marked 补发)."""

from __future__ import annotations

import asyncio
import logging
from datetime import date, datetime, time, timedelta
from pathlib import Path

from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from pingan.messages import ChatRef, Text
from pingan.models import Level
from pingan.models.ticket import SchedulerRun
from pingan.notify import Notifier
from pingan.scheduler import chart
from pingan.scheduler.digest import Digest, Period, Tally, collect, rank, render, roll_up
from pingan.scheduler.sweep import sweep

log = logging.getLogger("pingan.scheduler")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _hhmm(v: str) -> time:
    h, m = v.split(":")
    return time(int(h), int(m))


# --- who gets which digest ------------------------------------------------------------------------

def community_targets(org) -> dict[str, list]:
    """Community → its own coordination groups (never a parent's: that is the street's chat)."""
    out = {}
    for uid, unit in org.units.items():
        if unit.level == Level.community:
            groups = [g for g in org.groups_of_unit.get(uid, []) if g.kind == "coordination"]
            if groups:
                out[uid] = groups
    return out


def official_targets(org) -> dict[str, list]:
    """Street/district → its officials groups, else its coordination groups."""
    out = {}
    for uid, unit in org.units.items():
        if unit.level in (Level.street, Level.district):
            own = org.groups_of_unit.get(uid, [])
            groups = [g for g in own if g.kind == "officials"] or [g for g in own if g.kind == "coordination"]
            if groups:
                out[uid] = groups
    return out


def periods_for(kind: str, day: date, settings) -> list[Period]:
    """The community digest covers `day` so far; officials read the previous day in the morning,
    plus the week on the weekly day and the whole campaign the day after it ends."""
    if kind == "community":
        return [Period.day(day)]
    out = [Period.day(day - timedelta(days=1))]
    s = settings.scheduler
    if s.weekly_digest_day and WEEKDAYS.index(s.weekly_digest_day[:3].lower()) == day.weekday():
        out.append(Period.week_before(day))
    if s.campaign_start:
        start = date.fromisoformat(s.campaign_start)
        if day == start + timedelta(days=s.campaign_days):
            out.append(Period(start, day - timedelta(days=1), "campaign"))
    return out


# --- charts -----------------------------------------------------------------------------------

def chart_job(d: Digest, data, settings, period: Period) -> chart.ChartJob:
    """Community: found/pending by category. Street/district: pending/overdue by child unit."""
    path = Path(settings.scheduler.files_dir) / "digests" / f"{period.kind}-{period.end.isoformat()}" / f"{d.unit_id}.png"
    labels, series = data
    return chart.ChartJob(path, d.title.strip("📊"), labels, series)


def chart_data(org, taxonomy, unit_id: str, digest_tally, ranked) -> tuple[list[str], dict[str, list[int]]]:
    if ranked:
        rows = ranked[:15]
        return ([org.units[c].name for c, _ in rows],
                {"待化解": [t.pending for _, t in rows], "超期": [t.overdue for _, t in rows]})
    cats = taxonomy.categories
    return ([c.name for c in cats],
            {"本期新增": [digest_tally.by_cat.get(c.code, (0, 0, 0))[0] for c in cats],
             "待化解": [digest_tally.by_cat.get(c.code, (0, 0, 0))[2] for c in cats]})


async def build_digests(bot, units: list[str], period: Period, now: datetime, charts: bool) -> list[Digest]:
    async with bot.reports() as session:
        scope = None
        if len(units) <= 50:
            scope = sorted({d for u in units for d in bot.org.descendants(u)})
        per_unit = await collect(session, bot.settings, bot.clock.tz, period, now, scope)
    # a city's roll-up is ~0.5 s of pure Python: on a thread the GIL still switches back to the loop
    # every few ms, so reports keep flowing instead of waiting for it in one piece
    rolled = await asyncio.to_thread(roll_up, bot.org, per_unit, bot.settings.scheduler.overdue_list_cap)
    out, jobs, charted = [], [], []
    for n, uid in enumerate(units):
        if n % 200 == 199:  # a city's digests take seconds to render: let messages through meanwhile
            await asyncio.sleep(0)
        tally = rolled.get(uid) or Tally()
        d = render(bot.org, bot.taxonomy, bot.settings, uid, tally, period, rolled)
        if charts and not d.brief:
            data = chart_data(bot.org, bot.taxonomy, uid, tally, rank(bot.org, rolled, uid))
            jobs.append(chart_job(d, data, bot.settings, period))
            charted.append(d)
        out.append(d)
    if jobs:
        for d, path in zip(charted, await bot.charts.draw(jobs)):
            d.chart = path
    return out


def post(notifier: Notifier, d: Digest, groups, settings, late: bool = False) -> None:
    build = d.build(notifier)
    for g in groups:
        parts = build(g.platform)
        if late:
            parts = [Text("(补发) ")] + parts
        image = d.chart if d.chart and g.platform in settings.scheduler.image_platforms else None
        notifier.to_chat(ChatRef(g.platform, g.account, "group", g.chat_id), parts, image=image)


async def post_digests(bot, kind: str, day: date | None = None, now: datetime | None = None, late: bool = False) -> int:
    """Post the `kind` (community | official) digests due on `day`, once. Returns messages queued."""
    now = now or bot.clock.now()
    day = day or bot.clock.local(now).date()
    targets = community_targets(bot.org) if kind == "community" else official_targets(bot.org)
    if not targets:
        return 0
    job, key = f"digest:{kind}", day.isoformat()
    async with bot.sessions() as session:
        done = (await session.exec(select(SchedulerRun).where(SchedulerRun.job == job, SchedulerRun.key == key))).first()
    if done is not None:
        return 0
    notifier = Notifier(bot.org, bot.settings, bot.taxonomy, bot.clock)
    charts = bot.settings.scheduler.digest_charts
    for period in periods_for(kind, day, bot.settings):
        for n, d in enumerate(await build_digests(bot, sorted(targets), period, now, charts)):
            if n % 200 == 199:
                await asyncio.sleep(0)  # see build_digests
            post(notifier, d, targets[d.unit_id], bot.settings, late)
    async with bot.write_lock, bot.sessions() as session:
        session.add(SchedulerRun(job=job, key=key, at=now, late=late))
        try:
            await session.flush()
        except IntegrityError:  # another process posted it first
            await session.rollback()
            return 0
        await bot.enqueue(session, notifier.out, now)
        await session.commit()
    log.info("%s %s: %d message(s)%s", job, key, len(notifier.out), " (late)" if late else "")
    return len(notifier.out)


async def catch_up(bot, now: datetime | None = None) -> int:
    """After a restart: post today's digests whose time has passed but which nobody posted."""
    now = now or bot.clock.now()
    local = bot.clock.local(now)
    sent = 0
    s = bot.settings.scheduler
    for kind, at in (("official", s.official_digest_at), ("community", s.community_digest_at)):
        if local.time() >= _hhmm(at):
            sent += await post_digests(bot, kind, local.date(), now, late=local.time() >= _add(_hhmm(at), 10))
    return sent


def _add(t: time, minutes: int) -> time:
    return (datetime.combine(date(2000, 1, 1), t) + timedelta(minutes=minutes)).time()


# --- the APScheduler ----------------------------------------------------------------------------

async def _safe(name: str, coro_fn, *args) -> None:
    try:
        await coro_fn(*args)
    except Exception:  # one failed pass must not stop the next
        log.exception("scheduler job %s failed", name)


def start_scheduler(bot, start: bool = True):
    """Create (and start, inside a running event loop) the AsyncIOScheduler for `pingan serve`."""
    from apscheduler.schedulers.asyncio import AsyncIOScheduler
    from apscheduler.triggers.cron import CronTrigger
    from apscheduler.triggers.date import DateTrigger
    from apscheduler.triggers.interval import IntervalTrigger

    s = bot.settings.scheduler
    tz = bot.clock.tz
    sched = AsyncIOScheduler(timezone=tz, job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 3600})
    sched.add_job(_safe, IntervalTrigger(seconds=s.sweep_seconds, timezone=tz), args=["sweep", sweep, bot],
                  id="sweep", next_run_time=datetime.now(tz))
    for kind, at in (("community", s.community_digest_at), ("official", s.official_digest_at)):
        t = _hhmm(at)
        sched.add_job(_safe, CronTrigger(hour=t.hour, minute=t.minute, timezone=tz),
                      args=[f"digest:{kind}", post_digests, bot, kind], id=f"digest:{kind}")
    sched.add_job(_safe, DateTrigger(datetime.now(tz) + timedelta(seconds=5), timezone=tz),
                  args=["digest:catch-up", catch_up, bot], id="digest:catch-up")
    if start:
        sched.start()
    return sched


async def run_scheduler(bot, stop: asyncio.Event) -> None:
    """A `pingan serve` background task: the scheduler runs until `stop` is set."""
    if not bot.settings.scheduler.enabled:
        log.info("scheduler disabled (scheduler.enabled = false)")
        return
    sched = start_scheduler(bot)
    log.info("scheduler started: sweep every %ss, digests at %s (communities) and %s (officials)",
             bot.settings.scheduler.sweep_seconds, bot.settings.scheduler.community_digest_at,
             bot.settings.scheduler.official_digest_at)
    try:
        await stop.wait()
    finally:
        sched.shutdown(wait=False)
