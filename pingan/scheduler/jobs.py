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

from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from pingan.models.ticket import SchedulerRun
from pingan.notify import Notifier
from pingan.reports.digest import Period
from pingan.reports.publish import build_digests, community_targets, official_targets, post
from pingan.scheduler.sweep import sweep

log = logging.getLogger("pingan.scheduler")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _hhmm(v: str) -> time:
    h, m = v.split(":")
    return time(int(h), int(m))


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
