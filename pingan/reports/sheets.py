"""Worksheets an office can print and hand in (openpyxl write-only sheets, so everything is set before
the first row): a title row, a bold header row that stays in view and repeats on every printed page,
column widths, A4 fitted to the page's width, and the page number in the footer."""

from __future__ import annotations

from dataclasses import dataclass

from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.page import PageMargins
from openpyxl.worksheet.worksheet import Worksheet

TITLE_FONT = Font(bold=True, size=14)
BOLD = Font(bold=True)
HEAD_FILL = PatternFill("solid", fgColor="DDEBF7")
CENTER = Alignment(horizontal="center", vertical="center", wrap_text=True)
WRAP = Alignment(vertical="top", wrap_text=True)
PAGE_NUMBER = "第 &P 页，共 &N 页"  # Excel's codes: this page, number of pages


@dataclass(frozen=True)
class Title:
    name: str  # 新联社区 平安社区台账
    period: str  # 2019-04-01 至 2019-04-08
    generated: str  # 2019-04-08 18:00

    def line(self) -> str:
        return f"{self.name}    统计期间：{self.period}    生成时间：{self.generated}"


def cells(ws, values, font=None, alignment=None, fill=None) -> list:
    out = []
    for v in values:
        c = WriteOnlyCell(ws, value=v)
        if font is not None:
            c.font = font
        if alignment is not None:
            c.alignment = alignment
        if fill is not None:
            c.fill = fill
        out.append(c)
    return out


def print_setup(ws, title: Title, landscape: bool, title_rows: str | None = None) -> None:
    """A4, every column across one page's width (as many pages down as it takes), `title_rows` repeated
    on each page, the ledger's name and period and the page number in the footer."""
    ws.page_setup.paperSize = Worksheet.PAPERSIZE_A4
    ws.page_setup.orientation = Worksheet.ORIENTATION_LANDSCAPE if landscape else Worksheet.ORIENTATION_PORTRAIT
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_margins = PageMargins(left=0.4, right=0.4, top=0.5, bottom=0.6, footer=0.3)
    if title_rows:
        ws.print_title_rows = title_rows
    ws.oddFooter.left.text = f"{title.name} {title.period}".replace("&", "&&")  # a lone & is a code
    ws.oddFooter.center.text = PAGE_NUMBER


def head(ws, title: Title, headers: list[str], widths: list[float | None]) -> None:
    """Row 1 the title across the sheet, row 2 the headers: frozen (with the first column) and filtered,
    repeated on every printed page; A4 landscape."""
    last = get_column_letter(len(headers))
    ws.freeze_panes = "B3"
    ws.auto_filter.ref = f"A2:{last}2"
    ws.merged_cells.add(f"A1:{last}1")
    ws.row_dimensions[1].height = 26
    for i, width in enumerate(widths, 1):
        if width:
            ws.column_dimensions[get_column_letter(i)].width = width
    print_setup(ws, title, landscape=True, title_rows="2:2")
    ws.append(cells(ws, [title.line()], TITLE_FONT, Alignment(vertical="center")))
    ws.append(cells(ws, headers, BOLD, CENTER, HEAD_FILL))


def summary(ws, title: Title, table: list[list], note: str, lines: list[tuple[str, object]]) -> None:
    """The 汇总 sheet: title, period and time; `table` (its header row first, its total last); the note
    on definitions; then `lines` as label and value."""
    last = get_column_letter(len(table[0]))
    ws.column_dimensions["A"].width = 28
    for i in range(2, len(table[0]) + 1):
        ws.column_dimensions[get_column_letter(i)].width = 11
    print_setup(ws, title, landscape=False)
    ws.merged_cells.add(f"A1:{last}1")
    top = 5  # the table's header row
    note_row = top + len(table)
    ws.merged_cells.add(f"A{note_row}:{last}{note_row}")
    ws.row_dimensions[note_row].height = 45
    ws.append(cells(ws, [title.name + " · 汇总"], TITLE_FONT))
    ws.append(["统计期间", title.period])
    ws.append(["生成时间", title.generated])
    ws.append([])
    ws.append(cells(ws, table[0], BOLD, CENTER, HEAD_FILL))
    for row in table[1:-1]:
        ws.append(row)
    ws.append(cells(ws, table[-1], BOLD))
    ws.append(cells(ws, [note], alignment=WRAP))
    ws.append([])
    for k, v in lines:
        ws.append([k, v])
