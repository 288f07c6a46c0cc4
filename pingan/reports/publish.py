"""What the digests say and where they go: who gets which digest, the digests of a set of units
with their charts, and the post of one digest into its groups. The scheduler (pingan/scheduler/jobs.py)
only decides when; `pingan digest` prints the same digests."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path

from pingan.messages import ChatRef, Text
from pingan.models import Level
from pingan.notify import LATE, Notifier
from pingan.reports import chart
from pingan.reports.digest import Digest, Period, Tally, collect, period_nights, rank, render, roll_up


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
        per_unit = await collect(session, bot.settings, bot.clock.tz, period, now, scope, roster=bot.org.roster)
    # a city's roll-up is ~0.5 s of pure Python: on a thread the GIL still switches back to the loop
    # every few ms, so reports keep flowing instead of waiting for it in one piece
    rolled = await asyncio.to_thread(roll_up, bot.org, per_unit, bot.settings.scheduler.overdue_list_cap)
    out, jobs, charted = [], [], []
    nights = period_nights(bot.settings, bot.clock.tz, period, now)
    for n, uid in enumerate(units):
        if n % 200 == 199:  # a city's digests take seconds to render: let messages through meanwhile
            await asyncio.sleep(0)
        tally = rolled.get(uid) or Tally()
        d = render(bot.org, bot.taxonomy, bot.settings, uid, tally, period, rolled, nights)
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
            parts = [Text(LATE + " ")] + parts
        image = d.chart if d.chart and g.platform in settings.scheduler.image_platforms else None
        notifier.to_chat(ChatRef(g.platform, g.account, "group", g.chat_id), parts, image=image)


