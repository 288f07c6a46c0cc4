"""Read and validate organisation files (TOML) and people rosters (CSV/XLSX).

Validation is complete before anything is written: every problem is reported as
'FILE: row N: field: message' and nothing is imported unless all rows are good.
"""

from __future__ import annotations

import csv
import re
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
        self.lines.append(f"{self.source}: {where}: {key}: {msg}")

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
        errors.add(where, key, f"expected yes/no (是/否), got {value!r}")
    return False


def _person(row: dict, where: str, errors: _Errors, known_units: set[str], seen: dict, out: OrgData) -> None:
    pid = str(row.get("id") or "").strip()
    name = str(row.get("name") or "").strip()
    role = str(row.get("role") or "").strip()
    unit = str(row.get("unit") or "").strip() or None
    mobile = str(row.get("mobile") or "").strip() or None
    if not pid:
        errors.add(where, "id", "missing")
    elif pid in seen["people"]:
        errors.add(where, "id", f"duplicate id {pid!r} (also {seen['people'][pid]})")
    else:
        seen["people"][pid] = where
    if not name:
        errors.add(where, "name", "missing")
    if role not in Role.__members__:
        errors.add(where, "role", f"unknown role {role!r}; one of {', '.join(Role)}")
    if role != Role.resident and unit is None:
        errors.add(where, "unit", "missing (staff must belong to a unit)")
    if unit is not None and unit not in known_units:
        errors.add(where, "unit", f"unknown unit {unit!r}")
    if mobile is not None and not _MOBILE.match(mobile):
        errors.add(where, "mobile", f"not an 11-digit mobile number: {mobile!r}")
    out.people.append(Person(
        id=pid, name=name, role=role, unit_id=unit, mobile=mobile,
        lead=_bool(row.get("lead", False), errors, where, "lead"),
        on_duty=_bool(row.get("on_duty", False), errors, where, "on_duty"),
    ))
    for key in IDENTITY_KEYS:
        ext = str(row.get(key) or "").strip()
        if not ext:
            continue
        platform = key
        if (platform, ext) in seen["ids"]:
            errors.add(where, key, f"{ext!r} already belongs to {seen['ids'][(platform, ext)]}")
        seen["ids"][(platform, ext)] = where
        out.identities.append(Identity(person_id=pid, platform=platform, external_id=ext))


def _binding(entry: dict, where: str, required: tuple[str, ...], known: set[str], errors: _Errors) -> None:
    """Checks shared by [[group]] and [[channel]]: required keys present, the unit exists."""
    for key in required:
        if not entry.get(key):
            errors.add(where, key, "missing")
    if entry.get("unit") and entry["unit"] not in known:
        errors.add(where, "unit", f"unknown unit {entry['unit']!r}")


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
            errors.add(where, "id", "missing")
        elif uid in seen_units:
            errors.add(where, "id", f"duplicate unit id {uid!r}")
        seen_units.add(uid)
        if not u.get("name"):
            errors.add(where, "name", "missing")
        if level not in Level.__members__:
            errors.add(where, "level", f"unknown level {level!r}; one of {', '.join(Level)}")
        if parent is not None and parent not in known:
            errors.add(where, "parent", f"unknown unit {parent!r}")
        if level == Level.department and not u.get("kind"):
            errors.add(where, "kind", "departments need a kind (e.g. 消防救援) for 派单")
        if u.get("places") and level != Level.grid:
            errors.add(where, "places", "only grids cover places")
        if level == Level.grid and parent is not None and levels.get(parent) != Level.community:
            errors.add(where, "parent", "a grid's parent must be a community")
        out.units.append(Unit(id=uid, name=u.get("name", ""), level=level or "", parent_id=parent, kind=u.get("kind")))
        for place in u.get("places", []):
            try:
                out.places.extend(Place(grid_id=uid, name=place, key=k) for k in expand_place(place))
            except ValueError as exc:
                errors.add(where, "places", str(exc))
    seen: dict = {"people": {}, "ids": {}}
    for n, p in enumerate(data.get("person", [])):
        _person(p, f"person[{n}] ({p.get('id', '?')})", errors, known, seen, out)
    for n, g in enumerate(data.get("group", [])):
        where = f"group[{n}]"
        _binding(g, where, ("platform", "chat_id", "unit"), known, errors)
        if g.get("kind", "coordination") not in ("coordination", "residents", "officials", "admins"):
            errors.add(where, "kind", "one of coordination, residents, officials, admins")
        out.groups.append(ChatGroup(
            platform=g.get("platform", ""), account=str(g.get("account", "")), chat_id=str(g.get("chat_id", "")),
            unit_id=g.get("unit", ""), kind=g.get("kind", "coordination"), name=g.get("name", ""),
        ))
    for n, c in enumerate(data.get("channel", [])):
        _binding(c, f"channel[{n}]", ("platform", "account", "unit"), known, errors)
        out.channels.append(Channel(platform=c.get("platform", ""), account=str(c.get("account", "")), unit_id=c.get("unit", "")))
    errors.raise_if_any()
    return out


def _read_rows(path: Path) -> list[dict]:
    if path.suffix.lower() == ".xlsx":
        from openpyxl import load_workbook

        wb = load_workbook(path, read_only=True, data_only=True)
        rows = list(wb.active.iter_rows(values_only=True))
        wb.close()
        if not rows:
            return []
        header = [str(h or "").strip() for h in rows[0]]
        return [{h: ("" if v is None else v) for h, v in zip(header, r)} for r in rows[1:] if any(v is not None for v in r)]
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def parse_roster(path: str | Path, known_units: set[str], existing_ids: dict[tuple[str, str], str]) -> OrgData:
    """People from a CSV/XLSX roster (header: id,name,role,unit,mobile,qq,wecom,wechat,console,lead,on_duty).

    `existing_ids` maps (platform, external id) → person id already in the database, so a roster
    cannot steal someone else's QQ number."""
    path = Path(path)
    errors, out = _Errors(str(path)), OrgData()
    try:
        rows = _read_rows(path)
    except (OSError, ValueError, KeyError) as exc:
        raise ConfigError(f"{path}: cannot read roster: {exc}") from None
    if not rows:
        raise ConfigError(f"{path}: roster is empty (expected a header row: {','.join(ROSTER_COLUMNS)})")
    missing = {"id", "name", "role"} - set(rows[0])
    if missing:
        raise ConfigError(f"{path}: row 1: header: missing column(s) {', '.join(sorted(missing))}")
    seen: dict = {"people": {}, "ids": {}}
    for n, row in enumerate(rows, start=2):  # row 1 is the header, as a spreadsheet shows it
        _person(row, f"row {n}", errors, known_units, seen, out)
    for ident in out.identities:
        owner = existing_ids.get((ident.platform, ident.external_id))
        if owner is not None and owner != ident.person_id:
            where = seen["ids"][(ident.platform, ident.external_id)]
            errors.add(where, ident.platform, f"{ident.external_id!r} already belongs to person {owner!r}")
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
