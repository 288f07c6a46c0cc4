"""Tickets and their append-only event log (the ledger's audit trail)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, Index, UniqueConstraint, event, text
from sqlalchemy.orm import Session
from sqlmodel import Field, SQLModel

from pingan.lifecycle import HELD, OPEN, Status
from pingan.models.types import JSONType, UTCDateTime


STATUS_NAMES = {
    Status.new: "新建", Status.dispatched: "已派发", Status.acknowledged: "已签收",
    Status.on_scene: "已到场", Status.in_progress: "处置中", Status.resolved: "已办结",
    Status.closed: "已关闭", Status.escalated: "已呼叫上级", Status.transferred: "已派单部门",
    Status.returned: "已退回", Status.withdrawn: "已撤销", Status.reopened: "已重新打开",
}


class Source(StrEnum):
    resident = "resident"  # through a resident account or residents' group
    worker = "worker"  # posted by a worker in a group
    patrol = "patrol"  # found on a patrol (巡查)


def _dt(**kw):
    return Field(default=None, sa_column=Column(UTCDateTime(), **kw))


# The held tickets as a literal predicate: a query that repeats it word for word can use the partial
# index below (a bound IN list cannot be matched to one)
HELD_ROWS = "status IN (" + ", ".join(f"'{s.value}'" for s in sorted(HELD)) + ")"


class Ticket(SQLModel, table=True):
    __tablename__ = "tickets"
    __table_args__ = (
        Index("ix_tickets_open_due", "status", "next_check_at"),
        Index("ix_tickets_unit_created", "unit_id", "created_at"),
        Index("ix_tickets_resolved_at", "resolved_at"),
        # digests: open tickets per unit/category (index-only), and the overdue ones
        Index("ix_tickets_open_units", "status", "unit_id", "category", "created_at"),
        Index("ix_tickets_status_resolve_due", "status", "resolve_due"),
        Index("ix_tickets_status_on_scene_due", "status", "on_scene_due"),
        # same-hazard candidates (tickets.same_hazard): held tickets of a unit, newest first, however many
        # closed ones the unit has had that day
        Index("ix_tickets_held_unit_created", "unit_id", "created_at", sqlite_where=text(HELD_ROWS),
              postgresql_where=text(HELD_ROWS)),
    )

    id: int | None = Field(default=None, primary_key=True)  # the ticket number people type: #id
    source: str = Source.resident
    reporter_id: str | None = Field(default=None, foreign_key="people.id", index=True)
    reply_chat: dict | None = Field(default=None, sa_type=JSONType)  # where to tell the reporter
    raw_text: str = ""
    category: str = "other"
    item: str | None = None
    location: str | None = None
    urgent: bool = False
    size: str = "中"
    matched: list | None = Field(default=None, sa_type=JSONType)
    unit_id: str | None = Field(default=None, foreign_key="units.id")  # the community
    grid_id: str | None = Field(default=None, foreign_key="units.id", index=True)
    holder_level: str | None = None  # grid | community | street | district | city | department
    holder_unit_id: str | None = Field(default=None, foreign_key="units.id", index=True)
    holder_person_id: str | None = Field(default=None, foreign_key="people.id", index=True)
    department_id: str | None = Field(default=None, foreign_key="units.id")
    status: str = Field(default=Status.new, index=True)
    attachments: list | None = Field(default=None, sa_type=JSONType)
    lat: float | None = None
    lon: float | None = None
    policy: dict | None = Field(default=None, sa_type=JSONType)  # snapshot at creation
    resolution_note: str | None = None
    return_reason: str | None = None
    feedback: str | None = None  # 满意 / 不满意
    escalations: int = 0
    urges: int = 0  # 催办次数: the reporter asked where the help is (rules/urge.py)
    also_unit_id: str | None = None  # the community it was moved from: its chain may still act
    supervision: str | None = None  # 普通 / 黄牌 / 红牌
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))
    updated_at: datetime | None = _dt()
    dispatched_at: datetime | None = _dt()
    acknowledged_at: datetime | None = _dt()
    on_scene_at: datetime | None = _dt()
    resolved_at: datetime | None = _dt()
    closed_at: datetime | None = _dt()
    on_scene_due: datetime | None = _dt()
    resolve_due: datetime | None = _dt()
    followup_until: datetime | None = _dt()  # answers/images from the reporter attach until then
    held_since: datetime | None = _dt()  # when the current holder got it (for the ladder)
    next_check_at: datetime | None = _dt()  # the scheduler's next look at this ticket
    reminders_sent: list | None = Field(default=None, sa_type=JSONType)

    def __setattr__(self, name: str, value) -> None:
        # A new report's ticket is never in a session (models/stage.py writes it): nothing tracks
        # its changes, so routing and dispatch set its fields straight into its dict, as SQLModel's
        # assignment ends up doing, without the ORM's events (14 fields a report, a few per cent of
        # a busy server's CPU). A ticket in a session goes the ORM's way.
        state = self.__dict__.get("_sa_instance_state")
        if state is not None and state.key is None and state.session_id is None and name in _COLUMNS:
            self.__dict__[name] = value
            self.__pydantic_fields_set__.add(name)
        else:
            super().__setattr__(name, value)


_COLUMNS = frozenset(Ticket.__table__.columns.keys())


class TicketEvent(SQLModel, table=True):
    __tablename__ = "ticket_events"
    __table_args__ = (Index("ix_ticket_events_action_at", "action", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    # None only for a question asked before there is a ticket ("这是要报告隐患吗?", handlers/converse.py)
    ticket_id: int | None = Field(default=None, foreign_key="tickets.id", index=True)
    at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    actor_id: str | None = None  # person id; None for the system (scheduler)
    action: str
    from_status: str | None = None
    to_status: str | None = None
    note: str | None = None
    inbox_id: int | None = None  # the message that caused it
    data: dict | None = Field(default=None, sa_type=JSONType)


class SchedulerRun(SQLModel, table=True):
    """A once-only claim for a scheduled job's occurrence (e.g. the community digest of 2019-04-08):
    the unique key stops two processes from both posting it, and lets a restart find what it missed."""

    __tablename__ = "scheduler_runs"
    __table_args__ = (UniqueConstraint("job", "key", name="uq_scheduler_runs_job_key"),)

    id: int | None = Field(default=None, primary_key=True)
    job: str
    key: str
    at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    late: bool = False


# --- keeping next_check_at honest ---------------------------------------------------------------
# The scheduler computes a ticket's exact next check (reminder points, quiet hours, the ladder).
# Any other change to an open ticket (a worker's 到场, a 呼叫, 定级, a reroute) may move those
# points, so it pulls next_check_at forward to the change's time; the next sweep recomputes it.
SCHEDULER_SESSION = "pingan.scheduler"  # session.info flag: this session sets next_check_at itself


def check_soon(ticket: "Ticket") -> None:
    """Pull a changed open ticket's next_check_at forward to the change (see above)."""
    if ticket.status not in OPEN:  # a resolved ticket's next check is its feedback window's
        return
    stamps = [t for t in (ticket.created_at, ticket.updated_at, ticket.held_since) if t is not None]
    if not stamps:
        return
    stamp = max(stamps)
    if ticket.next_check_at is None or ticket.next_check_at > stamp:
        ticket.next_check_at = stamp


@event.listens_for(Session, "before_flush")
def _check_changed_tickets_soon(session, flush_context, instances) -> None:
    if session.info.get(SCHEDULER_SESSION):
        return
    for obj in (*session.new, *session.dirty):
        if isinstance(obj, Ticket):
            check_soon(obj)
