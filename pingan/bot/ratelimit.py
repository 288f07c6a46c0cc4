"""Sliding-window rate limits, keyed (per source IP, per robot, per chat). The time source is
injected: the server's per-IP limit uses a monotonic clock, the outbox uses the bot's clock so tests
can move time instead of sleeping."""

from __future__ import annotations

import ipaddress
import time
from collections import deque
from datetime import datetime
from typing import Callable


def _seconds(t: float | datetime) -> float:
    return t.timestamp() if isinstance(t, datetime) else float(t)


class SlidingWindow:
    """At most `limit` events per `period` seconds per key."""

    def __init__(self, now: Callable[[], float | datetime] = time.monotonic, max_keys: int = 100_000) -> None:
        self._now, self.max_keys = now, max_keys
        self._events: dict[str, deque[float]] = {}

    def acquire(self, key: str, limit: int, period: float) -> float:
        """Record one event and return 0 if allowed; otherwise record nothing and return how many
        seconds until the next event would be allowed."""
        now = _seconds(self._now())
        q = self._events.get(key)
        if q is None:
            if len(self._events) >= self.max_keys:
                self._prune(now, period)
            q = self._events[key] = deque()
        while q and q[0] <= now - period:
            q.popleft()
        if len(q) >= limit:
            return max(q[0] + period - now, 0.001)
        q.append(now)
        return 0.0

    def wait(self, key: str, limit: int, period: float) -> float:
        """Like `acquire`, but records nothing: 0 if an event would be allowed now."""
        q = self._events.get(key)
        now = _seconds(self._now())
        recent = [t for t in q if t > now - period] if q else []
        return max(recent[0] + period - now, 0.001) if len(recent) >= limit else 0.0

    def _prune(self, now: float, period: float) -> None:
        for key in [k for k, q in self._events.items() if not q or q[-1] <= now - period]:
            del self._events[key]
        if len(self._events) >= self.max_keys:  # still full: forget the oldest half
            for key in list(self._events)[: self.max_keys // 2]:
                del self._events[key]


class IPAllowList:
    def __init__(self, entries: list[str]) -> None:
        self.nets = [ipaddress.ip_network(e, strict=False) for e in entries]

    def __contains__(self, ip: str | None) -> bool:
        if not ip or not self.nets:
            return False
        try:
            addr = ipaddress.ip_address(ip)
        except ValueError:
            return False
        return any(addr in net for net in self.nets)
