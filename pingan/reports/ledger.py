"""The ledger (台账): one row per ticket of a unit's area over a date range, streamed from the
database into an .xlsx (openpyxl write_only) or .csv, plus a summary sheet."""

from __future__ import annotations

import asyncio
import csv
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Callable

from sqlalchemy import func, select

from pingan.models import STATUS_NAMES, Status, Ticket, TicketEvent
from pingan.models.org_index import OrgIndex
from pingan.notify import span
from pingan.reports import figures
from pingan.reports.figures import Figures
from pingan.rules.paging import ANSWERED, PAGE
from pingan.rules.photos import before_and_after
from pingan.taxonomy import Taxonomy


@dataclass(frozen=True)
class Column:
    header: str
    value: Callable[["Ledger", Ticket], object]
    width: float | None = None  # characters, where Excel's default is too narrow to read a row at a glance
    date: bool = False  # a real date in Excel (sortable, filterable by month); text in a CSV


SOURCE_NAMES = {"resident": "居民上报", "worker": "网格员", "patrol": "巡查"}
# The ledger's columns, in order: a new column is one line here.
COLUMNS = (
    Column("编号", lambda L, t: t.id, 7),
    Column("上报时间", lambda L, t: L.local(t.created_at), 17, date=True),
    Column("来源", lambda L, t: SOURCE_NAMES.get(t.source, t.source)),
    Column("类别", lambda L, t: L.category_name(t.category)),
    Column("事项", lambda L, t: t.item or "", 14),
    Column("地点", lambda L, t: t.location or "", 18),
    Column("反映内容", lambda L, t: t.raw_text or "", 40),  # the resident's words, so a row says what was reported
    Column("社区", lambda L, t: L.unit_name(t.unit_id) or t.unit_id or "", 12),
    Column("网格", lambda L, t: L.unit_name(t.grid_id), 16),
    Column("大小", lambda L, t: t.size),
    Column("状态", lambda L, t: STATUS_NAMES.get(t.status, t.status)),
    Column("责任单位", lambda L, t: L.unit_name(t.holder_unit_id), 14),
    Column("责任人", lambda L, t: L.person_name(t.holder_person_id)),
    Column("责任部门", lambda L, t: L.unit_name(t.department_id), 14),
    Column("到场期限", lambda L, t: L.local(t.on_scene_due), 17, date=True),
    Column("到场时间", lambda L, t: L.local(t.on_scene_at), 17, date=True),
    Column("办结期限", lambda L, t: L.local(t.resolve_due), 17, date=True),
    Column("办结时间", lambda L, t: L.local(t.resolved_at), 17, date=True),
    Column("是否超期", lambda L, t: "是" if L.overdue(t) else "否"),
    Column("呼叫次数", lambda L, t: t.escalations),
    Column("催办次数", lambda L, t: t.urges or 0),  # the reporter's urges (rules/urge.py)
    Column("督办", lambda L, t: t.supervision or ""),
    Column("办结说明", lambda L, t: t.resolution_note or "", 24),
    Column("退回原因", lambda L, t: t.return_reason or "", 24),
    Column("回访评价", lambda L, t: t.feedback or ""),
    Column("短信呼叫", lambda L, t: L.paged(t)[0], 24),  # who was paged when (rules/paging.py)
    Column("呼叫响应", lambda L, t: L.paged(t)[1]),
    Column("照片", lambda L, t: L.photo_links(t), 30),  # the workbench's links: a sign-in opens them
)
HEADERS = [c.header for c in COLUMNS]
COLUMN = {h: i for i, h in enumerate(HEADERS)}
DATES = [i for i, c in enumerate(COLUMNS) if c.date]
DATE_FORMAT = "yyyy-mm-dd hh:mm"
# The 汇总 sheet's table: one row per category, these columns (figures.py defines them, as the digest counts).
FIGURES = (("发现", "found"), ("已化解", "resolved"), ("待化解", "pending"), ("呼叫上级", "called_up"),
           ("社区自处理", "self_handled"), ("退回/撤销", "gone"))
DEFINITIONS = ("口径（与平安日报相同）：发现=期间内上报的问题；已化解=已办结；待化解=未办结；"
               "呼叫上级=曾呼叫上级或派单到部门；社区自处理=未呼叫、未派单即办结；退回/撤销不计入已化解和待化解。")


@dataclass
class Summary:
    on_scene_minutes: int  # the configured window, for the label (each ticket is judged by its own deadline)
    rows: int = 0
    by_status: Counter = field(default_factory=Counter)
    by_source: Counter = field(default_factory=Counter)
    overdue: int = 0
    on_time: int = 0
    figures: dict[str, Figures] = field(default_factory=dict)  # category code → the officials' figures
    urged: int = 0  # tickets whose reporter urged (催办) at least once

    @property
    def total(self) -> Figures:
        out = Figures()
        for f in self.figures.values():
            out.add(f)
        return out

    @property
    def escalated(self) -> int:
        return self.total.called_up

    def table(self, taxonomy: Taxonomy) -> list[list]:
        """The taxonomy's categories (9 and 其他) × FIGURES, any other category found (an older taxonomy's)
        after them, then 合计."""
        names = {c.code: c.name for c in taxonomy.categories}
        names.update((code, code) for code in self.figures if code not in names)
        rows = [[name] + [getattr(self.figures.get(code, Figures()), k) for _, k in FIGURES]
                for code, name in names.items()]
        return [["类别"] + [h for h, _ in FIGURES], *rows, ["合计"] + [getattr(self.total, k) for _, k in FIGURES]]

    def lines(self) -> list[tuple[str, object]]:
        out: list[tuple[str, object]] = [("曾超期（到场或办结晚于期限）", self.overdue),
                                         (f"{self.on_scene_minutes}分钟内到场", self.on_time),
                                         ("居民催办过", self.urged), ("", "")]
        out += [("状态：" + k, v) for k, v in self.by_status.most_common()]
        out += [("", "")] + [("来源：" + k, v) for k, v in self.by_source.most_common()]
        return out


def scope_units(org: OrgIndex, unit_id: str) -> list[str]:
    return org.descendants(unit_id)


def _bounds(start: date, end: date, tz) -> tuple[datetime, datetime]:
    return datetime.combine(start, time(0), tzinfo=tz), datetime.combine(end + timedelta(days=1), time(0), tzinfo=tz)


class Ledger:
    def __init__(self, org: OrgIndex, taxonomy: Taxonomy, tz, now: datetime, on_scene_minutes: int,
                 links: str = "") -> None:
        """`links`: the workbench's address (Settings.workbench_url) the photo column's links start with."""
        self.org, self.taxonomy, self.tz, self.now = org, taxonomy, tz, now
        self.on_scene_minutes, self.links = on_scene_minutes, links
        self.pages: dict[int, list[TicketEvent]] = {}  # the chunk's SMS/voice pages (rules/paging.py)

    def where(self, unit_id: str, start: date, end: date) -> list:
        """The WHERE clauses of a unit's tickets reported from `start` to `end` (inclusive)."""
        lo, hi = _bounds(start, end, self.tz)
        units = scope_units(self.org, unit_id)
        where = [Ticket.created_at >= lo, Ticket.created_at < hi]
        if unit_id not in self.org.children.get(None, []):  # the root: everything
            where.append(Ticket.unit_id.in_(units))
        return where

    async def count(self, session, unit_id: str, start: date, end: date) -> int:
        q = select(func.count()).select_from(Ticket).where(*self.where(unit_id, start, end))
        return int((await session.exec(q)).one()[0])

    def fmt(self, dt: datetime | None) -> str:
        return dt.astimezone(self.tz).strftime("%Y-%m-%d %H:%M") if dt else ""

    def local(self, dt: datetime | None) -> datetime | None:
        """Local wall time without a zone: what Excel can store in a date cell."""
        return dt.astimezone(self.tz).replace(tzinfo=None) if dt else None

    def as_text(self, row: list) -> list:
        return [self.fmt(v.replace(tzinfo=self.tz)) if isinstance(v, datetime) else v for v in row]

    def unit_name(self, unit_id: str | None) -> str:
        unit = self.org.units.get(unit_id)
        return unit.name if unit else ""

    def person_name(self, person_id: str | None) -> str:
        person = self.org.people.get(person_id)
        return person.name if person else ""

    def category_name(self, code: str | None) -> str:
        cat = self.taxonomy.category(code)
        return cat.name if cat else (code or "")

    def row(self, t: Ticket) -> list:
        return [c.value(self, t) for c in COLUMNS]

    def paged(self, t: Ticket) -> tuple[str, str]:
        """(who was paged when, who answered how soon): '02:05 吴网格、王书记;02:10 陈主任', '陈主任 5分钟'."""
        evs = self.pages.get(t.id, [])
        sent = "；".join(f"{e.at.astimezone(self.tz):%H:%M} {e.note}" for e in evs if e.action == PAGE)
        answer = next((e for e in evs if e.action == ANSWERED), None)
        took = f" {span(timedelta(seconds=answer.data['after_seconds']))}" if answer and answer.data else ""
        return sent, f"{answer.note}{took}" if answer else ""

    def photo_links(self, t: Ticket) -> str:
        """'上报 URL URL；办结后 URL': the resident's photos, then the worker's after 办结."""
        before, after = before_and_after(t)
        url = f"{self.links}/web/photo/{t.id}/"
        return "；".join(f"{name} " + " ".join(f"{url}{n}" for n in ns)
                        for name, ns in (("上报", before), ("办结后", after)) if ns)

    def overdue(self, t: Ticket) -> bool:
        """Late on scene, or resolved late, or still open past the deadline."""
        if t.on_scene_due and (t.on_scene_at or self.now) > t.on_scene_due and t.status not in (Status.withdrawn, Status.returned):
            return True
        done = t.resolved_at or (t.closed_at if t.status in (Status.withdrawn, Status.returned) else None)
        return bool(t.resolve_due and (done or self.now) > t.resolve_due)

    async def rows(self, session, unit_id: str, start: date, end: date, chunk: int = 500):
        """Tickets in id order, streamed in chunks (keyset pagination: flat memory, any backend).
        Each chunk is a query, so the event loop serves messages between chunks."""
        last = 0
        where = self.where(unit_id, start, end)
        while True:
            q = select(Ticket).where(*where, Ticket.id > last).order_by(Ticket.id).limit(chunk)
            batch = list((await session.exec(q)).scalars().all())
            if not batch:
                return
            self.pages = {}
            for ev in (await session.exec(select(TicketEvent).where(  # ix_ticket_events ticket_id
                    TicketEvent.ticket_id.in_([t.id for t in batch]),
                    TicketEvent.action.in_([PAGE, ANSWERED])).order_by(TicketEvent.id))).scalars().all():
                self.pages.setdefault(ev.ticket_id, []).append(ev)
            for t in batch:
                yield t
            last = batch[-1].id
            session.expunge_all()

    async def counted(self, session, unit_id: str, start: date, end: date) -> Summary:
        """An empty summary but for the officials' figures (figures.py: as the digest counts them)."""
        return Summary(self.on_scene_minutes, figures=await figures.by_category(
            session, self.where(unit_id, start, end), self.now))

    async def summarise(self, session, unit_id: str, start: date, end: date) -> Summary:
        """The summary without a file (for a chat that takes none)."""
        s = await self.counted(session, unit_id, start, end)
        async for t in self.rows(session, unit_id, start, end):
            self.tally(s, t)
        return s

    async def export(self, session, unit_id: str, start: date, end: date, path: Path, as_csv: bool = False,
                     progress: Callable[[int], None] | None = None) -> Summary:
        summary = await self.counted(session, unit_id, start, end)
        path.parent.mkdir(parents=True, exist_ok=True)
        if as_csv:
            with open(path, "w", newline="", encoding="utf-8-sig") as f:  # BOM: Excel opens it as UTF-8
                w = csv.writer(f)
                w.writerow(HEADERS)
                async for t in self.rows(session, unit_id, start, end):
                    w.writerow(self.as_text(self.tally(summary, t)))
                    if progress:
                        progress(1)
            return summary
        from openpyxl import Workbook
        from openpyxl.cell import WriteOnlyCell

        from pingan.reports import sheets

        wb = Workbook(write_only=True)
        ws = wb.create_sheet("台账")
        title = sheets.Title(f"{self.org.units[unit_id].name} 平安社区台账", f"{start.isoformat()} 至 {end.isoformat()}",
                             self.fmt(self.now))
        sheets.head(ws, title, HEADERS, [c.width for c in COLUMNS])
        async for t in self.rows(session, unit_id, start, end):
            row = self.tally(summary, t)
            for i in DATES:
                if row[i] is not None:
                    row[i] = WriteOnlyCell(ws, value=row[i])
                    row[i].number_format = DATE_FORMAT
            ws.append(row)
            if progress:
                progress(1)
        sheets.summary(wb.create_sheet("汇总", 0), title, summary.table(self.taxonomy), DEFINITIONS, summary.lines())
        await asyncio.to_thread(wb.save, path)  # zipping a big sheet takes a while: not on the loop
        return summary

    def tally(self, s: Summary, t: Ticket) -> list:
        """The ticket's row, counted into `s`."""
        row = self.row(t)
        s.rows += 1
        s.by_status[row[COLUMN["状态"]]] += 1
        s.by_source[row[COLUMN["来源"]]] += 1
        s.overdue += row[COLUMN["是否超期"]] == "是"
        s.on_time += bool(t.on_scene_at and t.on_scene_due and t.on_scene_at <= t.on_scene_due)
        s.urged += (t.urges or 0) > 0
        return row


async def export_ledger(bot, unit_id: str, start: date, end: date, path: Path, as_csv: bool = False,
                        progress=None, total_cb=None) -> Summary:
    ledger = Ledger(bot.org, bot.taxonomy, bot.clock.tz, bot.clock.now(), bot.settings.policy.on_scene_minutes,
                    bot.settings.workbench_url())
    async with bot.reports() as session:
        if total_cb is not None:
            total_cb(await ledger.count(session, unit_id, start, end))
        return await ledger.export(session, unit_id, start, end, path, as_csv, progress)
