"""`pingan roster import FILE.csv|.xlsx`: the 值班表 communities keep, every row checked before
anything is written. Columns (Chinese headers as in the spreadsheets, or English):
单位 (unit, optional with --unit), 日期 (a date, or 周一…周日 / 每周一 for a weekly rotation),
班次 (白班/夜班…, optional), 开始, 结束 (HH:MM; an end at or before the start is the next day),
姓名 (a name or person id of that unit), 职务 (带班领导 / 值班员; default 值班员)."""

from __future__ import annotations

import re
from datetime import date, datetime, time
from pathlib import Path

from sqlmodel import delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from pingan.errors import ConfigError
from pingan.models.org import OrgRevision, Person, Role, Unit
from pingan.models.org_file import UnitNames, _read_rows
from pingan.models.roster import Shift

COLUMNS = {"单位": "unit", "日期": "date", "班次": "label", "开始": "start", "结束": "end", "姓名": "name",
           "职务": "role", "unit": "unit", "date": "date", "shift": "label", "start": "start", "end": "end",
           "name": "name", "role": "role"}
HEADER_OF = {"unit": "单位", "date": "日期", "label": "班次", "start": "开始", "end": "结束", "name": "姓名", "role": "职务"}
ROLES = {"带班领导": "lead", "带班": "lead", "领导": "lead", "lead": "lead",
         "值班员": "duty", "值班": "duty", "值班人员": "duty", "duty": "duty", "": "duty"}
WEEKDAYS = "一二三四五六日"
_WEEKDAY = re.compile(r"(?:每)?(?:周|星期|礼拜)([一二三四五六日天])")
_DATE = re.compile(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?")
_TIME = re.compile(r"(\d{1,2})[:：点](\d{2})?分?")


def parse_day(value) -> tuple[date | None, int | None, str | None]:
    """(date, None) or (None, weekday) or (None, None, why not)."""
    if isinstance(value, datetime):
        return value.date(), None, None
    if isinstance(value, date):
        return value, None, None
    text = str(value).strip()
    if m := _WEEKDAY.fullmatch(text):
        return None, WEEKDAYS.index(m.group(1).replace("天", "日")), None
    if m := _DATE.fullmatch(text):
        try:
            return date(*(int(g) for g in m.groups())), None, None
        except ValueError:
            return None, None, f"没有「{text}」这一天"
    return None, None, f"「{text}」不是日期，请写成 2026-12-01，或 周一 表示每周一"


def parse_time(value) -> tuple[str | None, str | None]:
    if isinstance(value, datetime):
        value = value.time()
    if isinstance(value, time):
        return value.strftime("%H:%M"), None
    text = str(value).strip()
    m = _TIME.fullmatch(text)
    if m and (int(m.group(1)), int(m.group(2) or 0)) == (24, 0):
        return "00:00", None  # 24:00 is the end of the day
    if m is None or int(m.group(1)) > 23 or int(m.group(2) or 0) > 59:
        return None, f"「{text}」不是时间，请写成 08:00"
    return f"{int(m.group(1)):02d}:{int(m.group(2) or 0):02d}", None


class _Rows:
    """Errors name the spreadsheet's row and column: 第3行「开始」:…"""

    def __init__(self, source: str) -> None:
        self.source, self.lines = source, []

    def add(self, n: int, field: str, msg: str) -> None:
        self.lines.append(f"第{n}行「{HEADER_OF[field]}」：{msg}")

    def raise_if_any(self) -> None:
        if self.lines:
            raise ConfigError(f"{self.source}:\n" + "\n".join(self.lines))


def _above(unit_id: str | None, parents: dict[str, str | None]) -> list[str]:
    out = []
    while unit_id is not None and unit_id not in out:
        out.append(unit_id)
        unit_id = parents.get(unit_id)
    return out


def _person(name: str, unit_id: str, people: list[Person], parents: dict) -> tuple[str | None, str | None]:
    """A person of the unit, else of the nearest unit above it (a street cadre as a community's 带班领导)."""
    for uid in _above(unit_id, parents):
        hits = [p for p in people if p.unit_id == uid and (p.id == name or p.name == name)]
        if hits:
            break
    if len(hits) == 1:
        return hits[0].id, None
    if hits:
        return None, f"本单位有 {len(hits)} 人叫「{name}」，请改写人员编号：{'、'.join(p.id for p in hits)}"
    return None, f"「{name}」不是本单位的工作人员（请先在组织文件或人员名单里登记）"


def _row(n: int, raw: dict, default_unit: str | None, units: UnitNames, people: list[Person],
         parents: dict, errors: _Rows) -> Shift | None:
    row = {COLUMNS[k.strip()]: v for k, v in raw.items() if k and k.strip() in COLUMNS}
    before = len(errors.lines)
    unit_text = str(row.get("unit") or "").strip() or default_unit
    unit_id = None
    if not unit_text:
        errors.add(n, "unit", "缺少单位（填写单位列，或导入时加 --unit）")
    else:
        unit_id, why = units.resolve(unit_text)
        if why:
            errors.add(n, "unit", why)
    day, weekday, why = parse_day(row.get("date", ""))
    if why:
        errors.add(n, "date", why)
    start, why = parse_time(row.get("start", ""))
    if why:
        errors.add(n, "start", why)
    end, why = parse_time(row.get("end", ""))
    if why:
        errors.add(n, "end", why)
    role = ROLES.get(str(row.get("role", "")).strip())
    if role is None:
        errors.add(n, "role", f"「{row.get('role')}」不是职务，请写 带班领导 或 值班员")
    person_id = None
    name = str(row.get("name", "")).strip()
    if not name:
        errors.add(n, "name", "缺少姓名")
    elif unit_id:
        person_id, why = _person(name, unit_id, people, parents)
        if why:
            errors.add(n, "name", why)
    if len(errors.lines) > before:
        return None
    return Shift(unit_id=unit_id, person_id=person_id, role=role, day=day, weekday=weekday, start=start,
                 end=end, label=str(row.get("label", "")).strip())


def parse_shifts(path: Path, unit: str | None, units: list[Unit], people: list[Person]) -> list[Shift]:
    """Every row checked; ConfigError listing all the bad ones, or the shifts."""
    errors = _Rows(str(path))
    try:
        rows = _read_rows(path)
    except Exception as exc:  # a file that is no spreadsheet
        raise ConfigError(f"{path}: 无法读取：{exc}") from None
    if not rows:
        raise ConfigError(f"{path}: 没有任何值班记录")
    present = {COLUMNS[k.strip()] for k in rows[0][1] if k and k.strip() in COLUMNS}
    missing = [HEADER_OF[f] for f in ("date", "start", "end", "name") if f not in present]
    if missing:
        raise ConfigError(f"{path}: 缺少列：{'、'.join(missing)}（表头应有 日期、开始、结束、姓名，可选 单位、班次、职务）")
    known, parents = UnitNames({u.id: u.name for u in units}), {u.id: u.parent_id for u in units}
    default_unit = None
    if unit:
        default_unit, why = known.resolve(unit)
        if why:
            raise ConfigError(f"--unit:{why}")
    shifts = [_row(n, raw, default_unit, known, people, parents, errors) for n, raw in rows]
    errors.raise_if_any()
    return shifts


async def apply_shifts(session: AsyncSession, shifts: list[Shift], now: datetime) -> None:
    """A file replaces, per unit, the dated shifts of the days it lists and, if it has weekly
    rows, that unit's weekly rotation. Records an OrgRevision: running servers reload."""
    days = {(s.unit_id, s.day) for s in shifts if s.day is not None}
    weekly = {s.unit_id for s in shifts if s.weekday is not None}
    for unit_id, day in days:
        await session.exec(delete(Shift).where(Shift.unit_id == unit_id, Shift.day == day))
    for unit_id in weekly:
        await session.exec(delete(Shift).where(Shift.unit_id == unit_id, Shift.weekday.is_not(None)))
    session.add_all(shifts)
    session.add(OrgRevision(at=now))
    await session.flush()


async def import_shifts(session: AsyncSession, path: Path, unit: str | None, now: datetime) -> str:
    if path.suffix.lower() not in (".csv", ".xlsx"):
        raise ConfigError(f"{path}: 值班表只能是 .csv 或 .xlsx 文件")
    if not path.exists():
        raise ConfigError(f"{path}: 找不到这个文件")
    units = list((await session.exec(select(Unit))).all())
    people = list((await session.exec(select(Person).where(Person.role != Role.resident))).all())
    shifts = parse_shifts(path, unit, units, people)
    await apply_shifts(session, shifts, now)
    n_units = len({s.unit_id for s in shifts})
    return f"已导入值班表 {path}：{len(shifts)} 个班次，{n_units} 个单位"
