"""The one source of time. Production uses `SystemClock`; tests and the demo use `FrozenClock`."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo


class Clock:
    """Timezone-aware clock. `now()` is always aware and in the configured zone."""

    def __init__(self, tz: str = "Asia/Shanghai") -> None:
        self.tz = ZoneInfo(tz)

    def now(self) -> datetime:
        return datetime.now(self.tz)

    def local(self, dt: datetime) -> datetime:
        return dt.astimezone(self.tz)


class SystemClock(Clock):
    pass


class FrozenClock(Clock):
    """A clock that moves only when told to — no test ever sleeps."""

    def __init__(self, start: datetime, tz: str = "Asia/Shanghai") -> None:
        super().__init__(tz)
        if start.tzinfo is None:
            start = start.replace(tzinfo=self.tz)
        self._now = start

    def now(self) -> datetime:
        return self._now.astimezone(self.tz)

    def advance(self, delta: timedelta | None = None, **kwargs: float) -> datetime:
        self._now += delta if delta is not None else timedelta(**kwargs)
        return self.now()

    def set(self, when: datetime) -> None:
        self._now = when if when.tzinfo else when.replace(tzinfo=self.tz)
