"""The officials' standing figures, defined once: 发现, 已化解, 待化解, 呼叫上级, 社区自处理 (the seeds'
"排查发现问题隐患 N 个,已化解 N 个,待化解 N 个" and "社区自处理 N 个,呼叫上级部门 N 个"). Each is a SQL
condition on a ticket as of a moment; the digests' 累计 (digest.py) and the ledger's 汇总 (ledger.py)
both count with these, so they agree for the same tickets at the same moment.

- 发现: every ticket in scope;
- 已化解: resolved by then (reopening clears `resolved_at`: a reopened ticket is pending again);
- 待化解: neither resolved nor closed by then (lifecycle.OPEN, for now);
- 呼叫上级: ever called up the ladder (by a person or a missed deadline) or sent to a department (派单);
  the ticket's record as it is now, also for a past date;
- 社区自处理: resolved without either;
- the rest (发现 − 已化解 − 待化解) were returned (退回) or withdrawn (撤销).

The web wall (pingan/web/queries.py) counts its tiles with the same conditions, and so do the
on-scene rate (到场率) and 超期 shared by the wall and the digests.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime

from sqlalchemy import and_, case, func, or_, select

from pingan.lifecycle import OPEN, Status
from pingan.models import Ticket as T
from pingan.taxonomy import CATEGORY_CODES

OPEN_STATUSES = sorted(OPEN)


def total(cond):
    """How many rows meet `cond` (in a grouped query)."""
    return func.coalesce(func.sum(case((cond, 1), else_=0)), 0)


def called_up():
    return or_(T.escalations > 0, T.department_id.is_not(None))


def resolved(asof: datetime):
    return and_(T.resolved_at.is_not(None), T.resolved_at <= asof)


def self_handled(asof: datetime):
    return and_(resolved(asof), ~called_up())


def pending(asof: datetime, now: datetime) -> list:
    """待化解 as of `asof`: for now, by status (the digest counts it from the covering (status, unit,
    category, created) index); for a past moment, what was neither resolved nor closed then."""
    if asof < now:
        return [or_(T.closed_at.is_(None), T.closed_at > asof), or_(T.resolved_at.is_(None), T.resolved_at > asof)]
    return [T.status.in_(OPEN_STATUSES)]


def columns(asof: datetime, now: datetime) -> tuple:
    """The five figures as columns of a grouped query, in `Figures`' order."""
    return (func.count(), total(resolved(asof)), total(and_(*pending(asof, now))), total(called_up()),
            total(self_handled(asof)))


def not_arrived(asof: datetime):
    return or_(T.on_scene_at.is_(None), T.on_scene_at > asof)


def arrive_base(asof: datetime):
    """到场率's base: tickets that needed someone on scene by `asof`: all but those withdrawn or
    returned before anyone arrived, and those still inside their on-scene window (neither on time
    nor late yet: a 今日统计 at 11:00 must not count them)."""
    gave_up = and_(T.status.in_([Status.withdrawn, Status.returned]), T.on_scene_at.is_(None))
    not_due = and_(not_arrived(asof), T.on_scene_due.is_not(None), T.on_scene_due > asof)
    return and_(~gave_up, ~not_due)


def on_time():
    """Answered 到场 by the on-scene deadline."""
    return and_(T.on_scene_at.is_not(None), T.on_scene_at <= T.on_scene_due)


def overdue(asof: datetime):
    """超期 as of `asof` (of an open ticket): past its resolution deadline, or not yet on scene and
    past its on-scene deadline."""
    return or_(T.resolve_due < asof, and_(not_arrived(asof), T.on_scene_due < asof))


def category_code(category: str | None) -> str:
    """The row a ticket's category is counted in: one of the taxonomy's, else 其他."""
    return category if category in CATEGORY_CODES else "other"


@dataclass
class Figures:
    found: int = 0
    resolved: int = 0
    pending: int = 0
    called_up: int = 0
    self_handled: int = 0

    @property
    def gone(self) -> int:
        """退回 or 撤销: neither resolved nor pending."""
        return self.found - self.resolved - self.pending

    def add(self, o: "Figures") -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(o, f.name))


async def by_category(session, where: list, now: datetime) -> dict[str, Figures]:
    """The figures of the tickets `where` selects, now, per category code (one grouped query)."""
    q = select(T.category, *columns(now, now)).where(*where).group_by(T.category)
    out: dict[str, Figures] = {}
    for cat, *n in (await session.exec(q)).all():
        out.setdefault(category_code(cat), Figures()).add(Figures(*(int(x or 0) for x in n)))
    return out
