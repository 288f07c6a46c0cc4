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

from pingan.models import STATUS_NAMES, Status, Ticket
from pingan.models.org_index import OrgIndex
from pingan.taxonomy import Taxonomy

HEADERS = ["编号", "上报时间", "来源", "类别", "事项", "地点", "反映内容", "社区", "网格", "大小", "状态", "责任单位",
           "责任人", "责任部门", "到场期限", "到场时间", "办结期限", "办结时间", "是否超期", "呼叫次数", "催办次数", "督办", "办结说明",
           "回访评价"]
COLUMN = {h: i for i, h in enumerate(HEADERS)}
# Excel column widths (characters) where the default is too narrow to read a row at a glance
WIDTHS = {"编号": 7, "上报时间": 17, "事项": 14, "地点": 18, "反映内容": 40, "社区": 12, "网格": 16, "责任单位": 14,
          "责任部门": 14, "到场期限": 17, "到场时间": 17, "办结期限": 17, "办结时间": 17, "办结说明": 24}
# date columns are real dates in Excel (sortable, filterable by month); text in a CSV
DATES = [COLUMN[h] for h in ("上报时间", "到场期限", "到场时间", "办结期限", "办结时间")]
DATE_FORMAT = "yyyy-mm-dd hh:mm"
SOURCE_NAMES = {"resident": "居民上报", "worker": "网格员", "patrol": "巡查"}


@dataclass
class Summary:
    on_scene_minutes: int  # the configured window, for the label (each ticket is judged by its own deadline)
    rows: int = 0
    by_status: Counter = field(default_factory=Counter)
    by_category: Counter = field(default_factory=Counter)
    by_source: Counter = field(default_factory=Counter)
    overdue: int = 0
    on_time: int = 0
    escalated: int = 0
    urged: int = 0

    def lines(self) -> list[tuple[str, object]]:
        out: list[tuple[str, object]] = [("工单总数", self.rows), ("曾超期(到场或办结晚于期限)", self.overdue),
                                         (f"{self.on_scene_minutes}分钟内到场", self.on_time), ("呼叫上级", self.escalated),
                                         ("居民催办过", self.urged), ("", "")]
        out += [("状态:" + k, v) for k, v in self.by_status.most_common()]
        out += [("", "")] + [("类别:" + k, v) for k, v in self.by_category.most_common()]
        out += [("", "")] + [("来源:" + k, v) for k, v in self.by_source.most_common()]
        return out


def scope_units(org: OrgIndex, unit_id: str) -> list[str]:
    return org.descendants(unit_id)


def _bounds(start: date, end: date, tz) -> tuple[datetime, datetime]:
    return datetime.combine(start, time(0), tzinfo=tz), datetime.combine(end + timedelta(days=1), time(0), tzinfo=tz)


class Ledger:
    def __init__(self, org: OrgIndex, taxonomy: Taxonomy, tz, now: datetime, on_scene_minutes: int) -> None:
        self.org, self.taxonomy, self.tz, self.now = org, taxonomy, tz, now
        self.on_scene_minutes = on_scene_minutes

    def summary(self) -> Summary:
        return Summary(self.on_scene_minutes)

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

    def row(self, t: Ticket) -> list:
        unit = self.org.units.get(t.unit_id)
        grid = self.org.units.get(t.grid_id)
        holder_unit = self.org.units.get(t.holder_unit_id)
        person = self.org.people.get(t.holder_person_id)
        dept = self.org.units.get(t.department_id)
        cat = self.taxonomy.category(t.category)
        return [
            t.id, self.local(t.created_at), SOURCE_NAMES.get(t.source, t.source), cat.name if cat else t.category,
            t.item or "", t.location or "", t.raw_text or "", unit.name if unit else (t.unit_id or ""),
            grid.name if grid else "",
            t.size, STATUS_NAMES.get(t.status, t.status), holder_unit.name if holder_unit else "",
            person.name if person else "", dept.name if dept else "", self.local(t.on_scene_due), self.local(t.on_scene_at),
            self.local(t.resolve_due), self.local(t.resolved_at), "是" if self.overdue(t) else "否", t.escalations,
            t.urges or 0,
            t.supervision or "", t.resolution_note or t.return_reason or "", t.feedback or "",
        ]

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
            for t in batch:
                yield t
            last = batch[-1].id
            session.expunge_all()

    async def export(self, session, unit_id: str, start: date, end: date, path: Path, as_csv: bool = False,
                     progress: Callable[[int], None] | None = None) -> Summary:
        summary = self.summary()
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
        from openpyxl.utils import get_column_letter

        wb = Workbook(write_only=True)
        ws = wb.create_sheet("台账")
        # set before the rows (a write-only sheet is streamed): the header stays in view and filters
        ws.freeze_panes = "B2"
        ws.auto_filter.ref = f"A1:{get_column_letter(len(HEADERS))}1"
        for name, width in WIDTHS.items():
            ws.column_dimensions[get_column_letter(COLUMN[name] + 1)].width = width
        ws.append(HEADERS)
        async for t in self.rows(session, unit_id, start, end):
            row = self.tally(summary, t)
            for i in DATES:
                if row[i] is not None:
                    row[i] = WriteOnlyCell(ws, value=row[i])
                    row[i].number_format = DATE_FORMAT
            ws.append(row)
            if progress:
                progress(1)
        sheet = wb.create_sheet("汇总", 0)
        unit = self.org.units[unit_id]
        sheet.append([f"{unit.name} 平安社区台账", f"{start.isoformat()} 至 {end.isoformat()}"])
        sheet.append(["导出时间", self.fmt(self.now)])
        for k, v in summary.lines():
            sheet.append([k, v])
        await asyncio.to_thread(wb.save, path)  # zipping a big sheet takes a while: not on the loop
        return summary

    def tally(self, s: Summary, t: Ticket) -> list:
        """The ticket's row, counted into `s`."""
        row = self.row(t)
        s.rows += 1
        s.by_status[row[COLUMN["状态"]]] += 1
        s.by_category[row[COLUMN["类别"]]] += 1
        s.by_source[row[COLUMN["来源"]]] += 1
        s.overdue += row[COLUMN["是否超期"]] == "是"
        s.on_time += bool(t.on_scene_at and t.on_scene_due and t.on_scene_at <= t.on_scene_due)
        s.escalated += t.escalations > 0
        s.urged += (t.urges or 0) > 0
        return row


async def export_ledger(bot, unit_id: str, start: date, end: date, path: Path, as_csv: bool = False,
                        progress=None, total_cb=None) -> Summary:
    ledger = Ledger(bot.org, bot.taxonomy, bot.clock.tz, bot.clock.now(), bot.settings.policy.on_scene_minutes)
    async with bot.reports() as session:
        if total_cb is not None:
            total_cb(await ledger.count(session, unit_id, start, end))
        return await ledger.export(session, unit_id, start, end, path, as_csv, progress)
