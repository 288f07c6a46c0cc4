"""Live walls over Server-Sent Events, without the core knowing the web exists.

The hub keeps every (community, grid)'s figures in memory. One poller per server reads a cheap
mark (the newest event and ticket ids) every `web.live_seconds`; when it moved, or a deadline
passed, only the communities touched since the last mark are counted again (a few index ranges),
so a city's wall is a roll-up in memory and 200 viewers cost one refresh per change. The whole
table is counted once at start and every `FULL_SECONDS` as a safety net."""

from __future__ import annotations

import asyncio
import logging
import time

from pingan.models import Level
from pingan.web import queries

log = logging.getLogger("pingan.web.live")


class Live:
    FULL_SECONDS = 600

    def __init__(self, bot) -> None:
        self.bot = bot
        self.version = 0
        self.per: queries.Tally | None = None
        self.mark: tuple | None = None
        self.full_at = 0.0
        self.recounting = False
        self.changed = asyncio.Condition()
        self.lock = asyncio.Lock()
        self.viewers = 0
        self._rolled: dict = {}  # unit → (me, tiles) of the current figures; None → the org they were rolled for
        self._poller: asyncio.Task | None = None
        self._arrived = asyncio.Event()  # a viewer came: the idle poller looks now

    def arrive(self) -> None:
        self.viewers += 1
        self._arrived.set()

    def leave(self) -> None:
        self.viewers -= 1

    def start(self) -> None:
        if self._poller is None:
            self._poller = asyncio.create_task(self._poll(), name="web-live")

    async def stop(self) -> None:
        if self._poller is not None:
            self._poller.cancel()
            await asyncio.gather(self._poller, return_exceptions=True)
            self._poller = None

    async def _poll(self) -> None:
        while True:
            try:
                await self.refresh()
            except Exception:
                log.exception("live wall refresh failed")
            await self._pause()

    async def _pause(self) -> None:
        if self.viewers:
            await asyncio.sleep(self.bot.settings.web.live_seconds)
            return
        # nobody on a live wall: no refresh until a viewer comes (a page load refreshes by itself).
        # Under a burst of reports each refresh recounted the busiest community, all its history
        # (0.4–0.8 s of a core for one holding 500,000 tickets, every 30 s it kept them warm)
        self._arrived.clear()
        await self._arrived.wait()

    async def refresh(self) -> bool:
        """Bring the figures up to date; True (and waiting viewers woken) if anything moved."""
        async with self.lock:
            now = self.bot.clock.now()
            async with self.bot.reports() as session:
                ids = await queries.change_mark(session)
                if self.per is None or time.monotonic() - self.full_at > self.FULL_SECONDS:
                    self.recounting = True
                    try:
                        per, self.full_at = await queries.tally(session, now), time.monotonic()
                    finally:
                        self.recounting = False
                elif (*ids, now) == self.mark:
                    return False
                else:
                    units = await queries.touched(session, self.mark, now)
                    fresh = await queries.tally(session, now, [queries.of_units(units)]) if units else {}
                    per = {k: t for k, t in self.per.items() if k[0] not in units} | fresh
            changed = per != self.per
            self.per, self.mark = per, (*ids, now)
            if changed:
                self._rolled = {}
        if changed:
            async with self.changed:
                self.version += 1
                self.changed.notify_all()
        return changed

    async def wait(self, seen: int, timeout: float) -> int:
        """The version after `seen` (or `seen` again after `timeout`, for a keep-alive)."""
        async with self.changed:
            try:
                await asyncio.wait_for(self.changed.wait_for(lambda: self.version != seen), timeout)
            except asyncio.TimeoutError:
                pass
            return self.version

    async def wall(self, unit_id: str, fresh: bool = True):
        """(me, tiles) of a unit; `fresh`: look for changes first (a page load), else as last polled (SSE)."""
        if self.per is None or fresh and not self.recounting:  # not behind a 10-minute recount
            await self.refresh()
        if self.bot.org.units[unit_id].level == Level.department:  # not on the ladder: counted directly
            async with self.bot.reports() as session:
                return await queries.wall(session, self.bot.org, unit_id, self.bot.clock.now())
        if self._rolled.get(None) is not self.bot.org:  # reloaded after an import
            self._rolled = {None: self.bot.org}
        if unit_id not in self._rolled:  # once per change however many watch it (a city's: ~50 ms)
            self._rolled[unit_id] = queries.roll(self.bot.org, self.per, unit_id)
        return self._rolled[unit_id]
