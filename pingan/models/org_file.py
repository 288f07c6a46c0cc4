"""Read and validate organisation files (TOML) and people rosters (CSV/XLSX).

Validation is complete before anything is written: every problem is reported, in Chinese for the
clerk who keeps the roster, as 'FILE: 第N行 field:message' (TOML: 'FILE: person[0] (id) field:message'),
and nothing is imported unless all rows are good.
"""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlmodel import delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from pingan.errors import ConfigError, read_toml
from pingan.models.org import Channel, ChatGroup, Identity, Level, OrgRevision, Person, Place, Role, Unit
from pingan.models.places import expand_place

IDENTITY_KEYS = ("qq", "wecom", "wechat", "console")
_MOBILE = re.compile(r"^1\d{10}$")
_TRUE = {"1", "true", "yes", "y", "是", "√", "on"}
_FALSE = {"0", "false", "no", "n", "否", "", "off"}
ROSTER_COLUMNS = ("id", "name", "role", "unit", "mobile", *IDENTITY_KEYS, "lead", "on_duty")

# A roster's role column as clerks write it: the Chinese name, or the Role value.
ROLE_CHOICES = {
    Role.resident: ("居民",), Role.grid_worker: ("网格员",), Role.community_staff: ("社区工作人员", "社区干部"),
    Role.street_official: ("街道干部", "街道工作人员"), Role.district_official: ("区县干部", "区工作组", "区干部", "县干部"),
    Role.city_official: ("市级干部", "市工作组", "市干部"), Role.dept_liaison: ("部门联络员",), Role.admin: ("管理员",),
}
ROLE_ALIASES = {name: role for role, names in ROLE_CHOICES.items() for name in (*names, role.value)}
ROLE_LIST = "、".join(names[0] for names in ROLE_CHOICES.values())


@dataclass
class OrgData:
    units: list[Unit] = field(default_factory=list)
    people: list[Person] = field(default_factory=list)
    identities: list[Identity] = field(default_factory=list)
    groups: list[ChatGroup] = field(default_factory=list)
    channels: list[Channel] = field(default_factory=list)
    places: list[Place] = field(default_factory=list)


class _Errors:
    def __init__(self, source: str) -> None:
        self.source, self.lines = source, []

    def add(self, where: str, key: str, msg: str) -> None:
        self.lines.append(f"{self.source}: {where} {key}：{msg}")

    def raise_if_any(self) -> None:
        if self.lines:
            raise ConfigError("\n".join(self.lines))


def _bool(value, errors: _Errors, where: str, key: str) -> bool:
    if isinstance(value, bool):
        return value
    s = str(value if value is not None else "").strip().lower()
    if s in _TRUE:
        return True
    if s not in _FALSE:
        errors.add(where, key, f"应填 是 或 否，不是「{value}」")
    return False


class UnitNames:
    """Unit ids, and full names → ids: a roster may name a unit as people know it (新联社区第一网格)."""

    def __init__(self, names: dict[str, str]) -> None:  # id → name
        self.ids = set(names)
        self.by_name: dict[str, list[str]] = defaultdict(list)
        for uid, name in names.items():
            self.by_name[name].append(uid)

    def resolve(self, value: str) -> tuple[str | None, str | None]:
        """(unit id, None), or (None, why not)."""
        if value in self.ids:
            return value, None
        ids = self.by_name.get(value, [])
        if len(ids) == 1:
            return ids[0], None
        if ids:
            return None, f"有 {len(ids)} 个单位叫「{value}」，请改写单位编号：{'、'.join(sorted(ids))}"
        if not self.ids:
            return None, f"未知单位「{value}」：还没有导入任何单位，请先导入组织文件（.toml）"
        return None, f"未知单位「{value}」"


def _person(row: dict, where: str, errors: _Errors, units: UnitNames, seen: dict, out: OrgData) -> None:
    pid = str(row.get("id") or "").strip()
    name = str(row.get("name") or "").strip()
    role_text = str(row.get("role") or "").strip()
    role = ROLE_ALIASES.get(role_text) or ROLE_ALIASES.get(role_text.lower())
    unit = str(row.get("unit") or "").strip() or None
    mobile = str(row.get("mobile") or "").strip() or None
    if not pid:
        errors.add(where, "id", "不能为空")
    elif pid in seen["people"]:
        errors.add(where, "id", f"编号「{pid}」重复（与{seen['people'][pid]}相同）")
    else:
        seen["people"][pid] = where
    if not name:
        errors.add(where, "name", "不能为空")
    if role is None:
        errors.add(where, "role", f"未知角色「{role_text}」，可用：{ROLE_LIST}")
    if role not in (None, Role.resident) and unit is None:
        errors.add(where, "unit", "不能为空（工作人员要填所属单位）")
    if unit is not None:
        unit, why = units.resolve(unit)
        if why:
            errors.add(where, "unit", why)
    if mobile is not None and not _MOBILE.match(mobile):
        errors.add(where, "mobile", f"手机号应为 11 位数字，不是「{mobile}」")
    out.people.append(Person(
        id=pid, name=name, role=role or role_text, unit_id=unit, mobile=mobile,
        lead=_bool(row.get("lead", False), errors, where, "lead"),
        on_duty=_bool(row.get("on_duty", False), errors, where, "on_duty"),
    ))
    for key in IDENTITY_KEYS:
        ext = str(row.get(key) or "").strip()
        if not ext:
            continue
        platform = key
        if (platform, ext) in seen["ids"]:
            errors.add(where, key, f"「{ext}」与{seen['ids'][(platform, ext)]}重复")
        seen["ids"][(platform, ext)] = where
        out.identities.append(Identity(person_id=pid, platform=platform, external_id=ext))


def _binding(entry: dict, where: str, required: tuple[str, ...], known: set[str], errors: _Errors) -> None:
    """Checks shared by [[group]] and [[channel]]: required keys present, the unit exists."""
    for key in required:
        if not entry.get(key):
            errors.add(where, key, "不能为空")
    if entry.get("unit") and entry["unit"] not in known:
        errors.add(where, "unit", f"未知单位「{entry['unit']}」")


def parse_org_toml(path: str | Path) -> OrgData:
    data = read_toml(path)
    errors, out = _Errors(str(path)), OrgData()
    raw_units = data.get("unit", [])
    ids = [str(u.get("id", "")) for u in raw_units]
    known = set(ids)
    levels = {str(u.get("id")): u.get("level") for u in raw_units}
    seen_units: set[str] = set()
    for n, u in enumerate(raw_units):
        where = f"unit[{n}] ({u.get('id', '?')})"
        uid, level, parent = str(u.get("id") or ""), u.get("level"), u.get("parent")
        if not uid:
            errors.add(where, "id", "不能为空")
        elif uid in seen_units:
            errors.add(where, "id", f"单位编号「{uid}」重复")
        seen_units.add(uid)
        if not u.get("name"):
            errors.add(where, "name", "不能为空")
        if level not in Level.__members__:
            errors.add(where, "level", f"未知层级「{level}」，可用：{'、'.join(Level)}")
        if parent is not None and parent not in known:
            errors.add(where, "parent", f"未知单位「{parent}」")
        if level == Level.department and not u.get("kind"):
            errors.add(where, "kind", "职能部门要填 kind（如 消防救援），派单时用")
        if u.get("places") and level != Level.grid:
            errors.add(where, "places", "只有网格才填 places")
        if level == Level.grid and parent is not None and levels.get(parent) != Level.community:
            errors.add(where, "parent", "网格的上级必须是社区")
        out.units.append(Unit(id=uid, name=u.get("name", ""), level=level or "", parent_id=parent, kind=u.get("kind")))
        for place in u.get("places", []):
            try:
                out.places.extend(Place(grid_id=uid, name=place, key=k) for k in expand_place(place))
            except ValueError as exc:
                errors.add(where, "places", str(exc))
    seen: dict = {"people": {}, "ids": {}}
    units = UnitNames({str(u.get("id") or ""): str(u.get("name") or "") for u in raw_units})
    for n, p in enumerate(data.get("person", [])):
        _person(p, f"person[{n}] ({p.get('id', '?')})", errors, units, seen, out)
    for n, g in enumerate(data.get("group", [])):
        where = f"group[{n}]"
        _binding(g, where, ("platform", "chat_id", "unit"), known, errors)
        if g.get("kind", "coordination") not in ("coordination", "residents", "officials", "admins"):
            errors.add(where, "kind", "应为 coordination、residents、officials 或 admins")
        out.groups.append(ChatGroup(
            platform=g.get("platform", ""), account=str(g.get("account", "")), chat_id=str(g.get("chat_id", "")),
            unit_id=g.get("unit", ""), kind=g.get("kind", "coordination"), name=g.get("name", ""),
        ))
    for n, c in enumerate(data.get("channel", [])):
        _binding(c, f"channel[{n}]", ("platform", "account", "unit"), known, errors)
        out.channels.append(Channel(platform=c.get("platform", ""), account=str(c.get("account", "")), unit_id=c.get("unit", "")))
    errors.raise_if_any()
    return out


def _decode(path: Path) -> str:
    """UTF-8 (with or without Excel's BOM), else GB18030: what Excel saves as plain CSV on Chinese Windows."""
    raw = path.read_bytes()
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            pass
    raise ConfigError(f"{path}: 读不懂文件的编码。请用 Excel 打开，「另存为」时文件类型选「CSV UTF-8（逗号分隔）」，再导入")


def _read_rows(path: Path) -> list[tuple[int, dict]]:
    """(row number as the spreadsheet shows it, row) for each non-blank row after the header."""
    if path.suffix.lower() == ".xlsx":
        from openpyxl import load_workbook

        wb = load_workbook(path, read_only=True, data_only=True)
        rows = list(wb.active.iter_rows(values_only=True))
        wb.close()
    else:
        rows = list(csv.reader(io.StringIO(_decode(path), newline="")))
    if not rows:
        return []
    header = [str(h or "").strip() for h in rows[0]]
    return [(n, {h: ("" if v is None else v) for h, v in zip(header, r)})
            for n, r in enumerate(rows[1:], start=2) if any(v not in (None, "") for v in r)]


def parse_roster(path: str | Path, units: dict[str, str], existing_ids: dict[tuple[str, str], str]) -> OrgData:
    """People from a CSV/XLSX roster (header: id,name,role,unit,mobile,qq,wecom,wechat,console,lead,on_duty).

    `units` maps unit id → name (the unit column takes either); `existing_ids` maps (platform,
    external id) → person id already in the database, so a roster cannot steal someone else's QQ number."""
    path = Path(path)
    errors, out = _Errors(str(path)), OrgData()
    try:
        rows = _read_rows(path)
    except ConfigError:
        raise
    except (OSError, ValueError, KeyError, csv.Error) as exc:
        raise ConfigError(f"{path}: 读不出名单：{exc}") from None
    if not rows:
        raise ConfigError(f"{path}: 名单是空的（第1行应为表头：{','.join(ROSTER_COLUMNS)}）")
    missing = {"id", "name", "role"} - set(rows[0][1])
    if missing:
        raise ConfigError(f"{path}: 第1行 表头：缺少列 {', '.join(sorted(missing))}")
    seen: dict = {"people": {}, "ids": {}}
    names = UnitNames(units)
    for n, row in rows:
        _person(row, f"第{n}行", errors, names, seen, out)
    for ident in out.identities:
        owner = existing_ids.get((ident.platform, ident.external_id))
        if owner is not None and owner != ident.person_id:
            where = seen["ids"][(ident.platform, ident.external_id)]
            errors.add(where, ident.platform, f"「{ident.external_id}」已是人员 {owner} 的账号")
    errors.raise_if_any()
    return out


async def apply_org(session: AsyncSession, data: OrgData, replace_structure: bool, now: datetime) -> None:
    """Write validated org data in the caller's transaction. With replace_structure the file is the
    truth for units/groups/channels/places; people are upserted (residents and rostered staff stay).
    Records a new OrgRevision, which running servers pick up."""
    if replace_structure:
        for table in (Place, ChatGroup, Channel):
            await session.exec(delete(table))
    for unit in data.units:
        await session.merge(unit)
    await session.flush()
    for obj in data.places + data.groups + data.channels:
        session.add(obj)
    for person in data.people:
        await session.merge(person)
    await session.flush()
    for ident in data.identities:
        existing = (await session.exec(select(Identity).where(
            Identity.platform == ident.platform, Identity.external_id == ident.external_id))).first()
        if existing is None:
            session.add(ident)
        else:
            existing.person_id = ident.person_id
    session.add(OrgRevision(at=now))
    await session.flush()
