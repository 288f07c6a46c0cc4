"""Deadlines, reminders, the escalation ladder, daily digests and the ledger (issue #5).

- `sweep(bot, now=None)`: act on every due reminder/escalation/督办 (one indexed query, rows claimed
  with FOR UPDATE SKIP LOCKED); `start_scheduler(bot)`: the APScheduler jobs for `pingan serve`.
- `pingan.reports.digest`: daily/weekly/campaign digests; `pingan.reports.ledger`: the 台账 export.
"""

from pingan.scheduler.sweep import sweep

__all__ = ["sweep", "start_scheduler"]


def start_scheduler(bot, **kw):
    from pingan.scheduler.jobs import start_scheduler as start

    return start(bot, **kw)
