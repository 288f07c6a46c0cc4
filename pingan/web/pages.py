"""HTML for the workbench, built from small functions. Every value from the database or the
request goes through `h()` (HTML escape): a resident's `<script>` is shown as text."""

from __future__ import annotations

import json
from html import escape
from urllib.parse import urlencode

from pingan.lifecycle import ACTION_NAMES, Action
from pingan.models import LEVEL_NAMES, STATUS_NAMES, Level, Role, Status
from pingan.notify import mask_name
from pingan.rules import transfer
from pingan.rules.photos import before_and_after
from pingan.web.queries import OPEN, SORTS, Filters, Tile

STATE_NAMES = {"green": "正常", "amber": "超期", "red": "督办/紧急"}
EVENT_NAMES = {"report": "上报", "attach": "补充", "note": "说明", "remind": "提醒", "urgent_repeat": "紧急催办",
               "supervise": "督办", "correct": "更正", "merge": "合并", "return_request": "申请退回",
               "return_refused": "复核不同意退回"}
PAGES = ("remind", "urgent_repeat", "escalate", "supervise")  # what the system sent people about it
SORT_NAMES = {"new": "最新", "old": "最早", "due": "办结期限", "id": "编号", "status": "状态"}


def h(value) -> str:
    return escape("" if value is None else str(value), quote=True)


def page(title: str, body: str, viewer=None, *, wall_mode: bool = False, scripts: str = "") -> str:
    top = ""
    if viewer is not None:
        top = (f'<header><a class="home" href="/web/">平安社区 · 工作台</a>'
               f'<span class="who">{h(viewer.person.name)}</span>'
               f'<form method="post" action="/web/logout">{csrf_field(viewer)}'
               f'<button type="submit">退出登录</button></form></header>')
    cls = ' class="wall-mode"' if wall_mode else ""
    return (f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<title>{h(title)}</title><link rel="stylesheet" href="/web/static/style.css"></head>'
            f'<body{cls}>{top}<main>{body}</main>{scripts}</body></html>')


def csrf_field(viewer) -> str:
    return f'<input type="hidden" name="csrf" value="{h(viewer.session.csrf)}">'


def message(title: str, text: str) -> str:
    return page(title, f'<section class="notice"><h1>{h(title)}</h1><p>{h(text)}</p></section>')


def confirm_login(token: str, name: str) -> str:
    """A button, not an automatic sign-in: chat apps open links to preview them, which must not spend it."""
    body = (f'<section class="notice"><h1>登录工作台</h1><p>{h(name)}，点击下面的按钮进入工作台。</p>'
            f'<form method="post" action="/web/login"><input type="hidden" name="t" value="{h(token)}">'
            f'<button type="submit" id="enter">进入工作台</button></form></section>')
    return page("登录工作台", body)


def rate(r: float | None) -> str:
    return "—" if r is None else f"{round(r * 100)}%"


def tile_html(org, t: Tile, link: bool = True) -> str:
    unit = org.units[t.unit_id]
    name = h(unit.name)
    title = f'<a href="/web/unit/{h(t.unit_id)}">{name}</a>' if link else name
    return (f'<div class="tile {t.state}" data-unit="{h(t.unit_id)}" data-state="{t.state}">'
            f'<div class="tname">{title}<span class="badge">{STATE_NAMES[t.state]}</span></div>'
            f'<dl><dt>发现</dt><dd data-k="found">{t.figures.found}</dd><dt>已化解</dt><dd data-k="resolved">{t.figures.resolved}</dd>'
            f'<dt>待化解</dt><dd data-k="pending">{t.figures.pending}</dd><dt>到场率</dt><dd data-k="on_time">{rate(t.on_time_rate)}</dd>'
            f'<dt>超期</dt><dd data-k="overdue">{t.overdue}</dd><dt>督办/紧急</dt><dd data-k="red">{t.red}</dd></dl></div>')


def breadcrumbs(org, viewer, unit_id: str) -> str:
    chain = [u for u in reversed(org.ancestors(unit_id)) if viewer.may_see_unit(u.id)]
    return " › ".join(f'<a href="/web/unit/{h(u.id)}">{h(u.name)}</a>' for u in chain)


def wall_section(org, unit_id: str, me: Tile, tiles: list[Tile], wall_mode: bool) -> str:
    unit = org.units[unit_id]
    link = not (len(tiles) == 1 and tiles[0].unit_id == unit_id)
    to_wall = "" if wall_mode else f' · <a href="/web/wall/{h(unit_id)}">挂图模式</a>'
    return (f'<section class="wall" id="wall" data-unit="{h(unit_id)}">'
            f'<div class="summary tile {me.state}" data-unit="{h(unit_id)}" data-state="{me.state}">'
            f'<strong>{h(unit.name)}</strong>({h(LEVEL_NAMES.get(unit.level, ""))})'
            f' 发现 <b data-k="found">{me.figures.found}</b> · 已化解 <b data-k="resolved">{me.figures.resolved}</b>'
            f' · 待化解 <b data-k="pending">{me.figures.pending}</b> · 到场率 <b data-k="on_time">{rate(me.on_time_rate)}</b>'
            f' · 超期 <b data-k="overdue">{me.overdue}</b> · 督办/紧急 <b data-k="red">{me.red}</b>'
            f'{to_wall}</div>'
            f'<div class="tiles">{"".join(tile_html(org, t, link) for t in tiles)}</div>'
            f'<p class="live" id="live">实时更新</p></section>')


LIVE_SCRIPT = '<script src="/web/static/wall.js"></script>'


TREND_STYLE = (".f{fill:#1f5fa8}.r{fill:#9cc3ea}.rate{fill:none;stroke:#c62828;stroke-width:2}.axis{stroke:#999}"
               "text{font-size:11px;fill:#555;font-family:sans-serif}")


def trend_img(unit_id: str) -> str:
    return (f'<img class="trend" src="/web/unit/{h(unit_id)}/trend.svg" width="720" height="180" '
            f'alt="近30天每日发现、化解与按时到场率">')


def trend_svg(days: list[dict]) -> str:
    """Per-day found (bars) and resolved (bars) with the on-time rate as a line, drawn in SVG."""
    w, hgt, pad = 720, 180, 28
    n = len(days) or 1
    top = max([1] + [max(d["found"], d["resolved"]) for d in days])
    step = (w - 2 * pad) / n
    bars, points, labels = [], [], []
    for i, d in enumerate(days):
        x = pad + i * step
        for j, (key, cls) in enumerate((("found", "f"), ("resolved", "r"))):
            bh = (hgt - 2 * pad) * d[key] / top
            bars.append(f'<rect class="{cls}" x="{x + j * step / 2:.1f}" y="{hgt - pad - bh:.1f}" '
                        f'width="{step / 2 - 1:.1f}" height="{bh:.1f}"><title>{h(d["day"])} '
                        f'{"发现" if key == "found" else "化解"} {d[key]}</title></rect>')
        if d["base"]:
            points.append(f'{x + step / 2:.1f},{hgt - pad - (hgt - 2 * pad) * d["on_time"] / d["base"]:.1f}')
        if i % 7 == 0:
            labels.append(f'<text x="{x:.1f}" y="{hgt - 8}">{h(d["day"][5:])}</text>')
    line = f'<polyline class="rate" points="{" ".join(points)}"/>' if points else ""
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {hgt}" role="img" aria-label="近30天趋势">'
            f'<style>{TREND_STYLE}</style><rect width="{w}" height="{hgt}" fill="#fff"/>'
            f'<line x1="{pad}" y1="{hgt - pad}" x2="{w - pad}" y2="{hgt - pad}" class="axis"/>'
            f'{"".join(bars)}{line}{"".join(labels)}'
            f'<text x="{pad}" y="14">峰值 {top} 件/天 · 柱：发现（深）/化解（浅） · 折线：按时到场率</text></svg>')


def filter_form(unit_id: str, f: Filters, taxonomy) -> str:
    def opt(value, label, current):
        sel = " selected" if str(value) == str(current) else ""
        return f'<option value="{h(value)}"{sel}>{h(label)}</option>'

    statuses = [("", "全部状态"), ("open", "待化解"), ("done", "已化解")] + [(s.value, STATUS_NAMES[s]) for s in Status]
    cats = [("", "全部类别")] + [(c.code, c.name) for c in taxonomy.categories]
    items = [("", "全部事项")] + [(i.name, i.name) for i in taxonomy.items()]
    return (f'<form class="filters" method="get" action="/web/unit/{h(unit_id)}">'
            f'<select name="status">{"".join(opt(v, l, f.status) for v, l in statuses)}</select>'
            f'<select name="category">{"".join(opt(v, l, f.category) for v, l in cats)}</select>'
            f'<select name="item">{"".join(opt(v, l, f.item) for v, l in items)}</select>'
            f'<label><input type="checkbox" name="overdue" value="1"{" checked" if f.overdue else ""}>超期</label>'
            f'<label><input type="checkbox" name="urgent" value="1"{" checked" if f.urgent else ""}>紧急</label>'
            f'<input type="date" name="from" value="{h(f.start or "")}"><input type="date" name="to" value="{h(f.end or "")}">'
            f'<input type="search" name="q" placeholder="搜索内容或位置" value="{h(f.q)}">'
            f'<select name="sort">{"".join(opt(k, SORT_NAMES[k], f.sort) for k in SORTS)}</select>'
            f'<button type="submit">筛选</button></form>')


def ledger_form(unit_id: str, start, end) -> str:
    """The unit's ledger (台账) for a date range, this month unless changed."""
    return (f'<form class="ledger" method="get" action="/web/unit/{h(unit_id)}/ledger.xlsx">'
            f'<input type="date" name="from" value="{h(start)}"> 至 <input type="date" name="to" value="{h(end)}">'
            f'<button type="submit">下载台账（Excel）</button></form>')


def ticket_rows(tickets, notifier, now) -> str:
    rows = []
    for t in tickets:
        late = t.status in OPEN and ((t.resolve_due and t.resolve_due < now)
                                     or (t.on_scene_at is None and t.on_scene_due and t.on_scene_due < now))
        rows.append(f'<tr class="{"late" if late else ""}{" urgent" if t.urgent else ""}">'
                    f'<td><a href="/web/ticket/{t.id}">#{t.id}</a></td><td>{h(notifier.label(t))}</td>'
                    f'<td>{h(t.location or "")}</td><td class="text">{h(t.raw_text[:80])}</td>'
                    f'<td>{h(STATUS_NAMES.get(t.status, t.status))}</td><td>{h(notifier.hhmm(t.created_at))}</td>'
                    f'<td>{h(notifier.due(t.resolve_due))}</td><td>{h(notifier.holder_name(t))}</td></tr>')
    return ("<table class=\"tickets\"><thead><tr><th>编号</th><th>类别</th><th>位置</th><th>内容</th><th>状态</th>"
            "<th>上报</th><th>办结期限</th><th>承办</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>")


def pager(unit_id: str, query: dict, page_no: int, total: int, size: int) -> str:
    pages = max(1, -(-total // size))
    def link(p, label):
        return f'<a href="/web/unit/{h(unit_id)}?{h(urlencode({**query, "page": p}))}">{label}</a>'
    prev = link(page_no - 1, "上一页") if page_no > 1 else ""
    nxt = link(page_no + 1, "下一页") if page_no < pages else ""
    return f'<nav class="pager">{prev} 第 {page_no}/{pages} 页，共 {total} 件 {nxt}</nav>'


def tiles_json(tiles: list[Tile], me: Tile) -> str:
    return json.dumps({"me": me.to_dict(), "tiles": [t.to_dict() for t in tiles]}, ensure_ascii=False)


def _actor(org, people: dict, actor_id: str | None) -> str:
    if actor_id is None:
        return "系统"
    staff = org.people.get(actor_id)
    if staff is not None:
        return staff.name
    return "上报人" if people.get(actor_id) is None else mask_name(people[actor_id].name)


def timeline(org, events, people: dict, notifier) -> str:
    rows = []
    for e in events:
        what = EVENT_NAMES.get(e.action) or ACTION_NAMES.get(Action._value2member_map_.get(e.action), e.action)
        move = ""
        if e.from_status or e.to_status:
            move = f'{h(STATUS_NAMES.get(e.from_status, e.from_status or ""))} → {h(STATUS_NAMES.get(e.to_status, e.to_status or ""))}'
        rows.append(f'<li><time>{h(notifier.clock.local(e.at).strftime("%m-%d %H:%M"))}</time> '
                    f'<b>{h(what)}</b> {h(_actor(org, people, e.actor_id))} {move}'
                    f'{f" <q>{h(e.note)}</q>" if e.note else ""}</li>')
    return '<ol class="timeline">' + "".join(rows) + "</ol>"


def photos(t) -> str:
    """The resident's "before" beside the worker's "after" (rules/photos.py)."""
    before, after = before_and_after(t)
    if not before and not after:
        return "<p>无照片</p>"

    def figures(ns: list[int], label: str) -> str:
        return "".join(f'<figure><img src="/web/photo/{t.id}/{n}" alt="{label}{k + 1}" loading="lazy"></figure>'
                       for k, n in enumerate(ns)) or "<p>无</p>"

    return (f'<div class="before"><h3>上报时</h3>{figures(before, "上报照片")}</div>'
            f'<div class="after"><h3>办结后</h3>{figures(after, "办结后照片")}</div>')


def _option(value, label, current=None) -> str:
    return f'<option value="{h(value)}"{" selected" if value == current else ""}>{h(label)}</option>'


def _act(viewer, t, kind: str, label: str, fields: str, buttons: str) -> str:
    return (f'<form class="act" method="post" action="/web/ticket/{t.id}/{kind}" data-act="{kind}">'
            f'{csrf_field(viewer)}<label>{h(label)}</label>{fields}{buttons}</form>')


def _button(text: str, agree: str | None = None) -> str:
    value = f' name="agree" value="{agree}"' if agree is not None else ""
    return f'<button type="submit"{value}>{h(text)}</button>'


def action_forms(org, viewer, t, taxonomy, offer: set[str]) -> str:
    """The dispatcher's actions the viewer may take on the ticket (web/actions.py), as the chat's
    words: 改类 by item or category, 改地点, 改派 to a grid or person, 合并, 复核 of a 退回, 派单."""
    forms = []
    if "review" in offer:
        forms.append(_act(viewer, t, "review", "复核退回申请", "",
                          _button("同意退回", "1") + _button("不同意，继续处理", "0")))
    if "recategorise" in offer:
        groups = "".join(f'<optgroup label="{h(c.name)}">{_option(c.code, c.name + "（其他）")}'
                         + "".join(_option(i.name, i.name, t.item) for i in c.items) + "</optgroup>"
                         for c in taxonomy.categories)
        forms.append(_act(viewer, t, "recategorise", "改类", f'<select name="value">{groups}</select>', _button("改类")))
    if "relocate" in offer:
        field = f'<input name="value" value="{h(t.location or "")}" placeholder="小区、楼栋或路口" required>'
        forms.append(_act(viewer, t, "relocate", "改地点", field, _button("改地点")))
    if "reassign" in offer:
        forms.append(_act(viewer, t, "reassign", "改派", _assignees(org, t), _button("改派")))
    if "merge" in offer:
        field = '<input name="value" inputmode="numeric" placeholder="另一工单编号" required>'
        forms.append(_act(viewer, t, "merge", "合并", field, _button("合并（后一件并入前一件）")))
    if "transfer" in offer:
        depts = transfer.departments_near(org, t.unit_id)
        default = transfer.find_department(org, transfer.default_department(taxonomy, t), t.unit_id)
        options = "".join(_option(d.name, d.name, default.name if default else None) for d in depts)
        forms.append(_act(viewer, t, "transfer", "派单", f'<select name="value">{options}</select>', _button("派单")))
    return f'<section class="actions"><h2>调度</h2>{"".join(forms)}</section>' if forms else ""


def _assignees(org, t) -> str:
    """改派's choices: the grids of the ticket's community and its grid workers and staff (by @name)."""
    community = org.up_to(t.unit_id, Level.community)
    inside = org.descendants(community.id) if community else []
    holder = org.people.get(t.holder_person_id)
    grids = "".join(_option(org.units[u].name, org.units[u].name) for u in inside if org.units[u].level == Level.grid)
    people = "".join(_option("@" + p.name, p.name, "@" + holder.name if holder else None)
                     for u in inside for p in org.staff(u) if p.role in (Role.grid_worker, Role.community_staff))
    return (f'<select name="value"><optgroup label="网格">{grids}</optgroup>'
            f'<optgroup label="工作人员">{people}</optgroup></select>')


def ticket_page(org, viewer, t, events, reporter, people: dict, notifier, forms: str = "",
                notice: tuple[int, str] | None = None) -> str:
    """The ticket; `forms`: action_forms; `notice`: (status, text) an action answered."""
    def row(label, value):
        return f"<tr><th>{h(label)}</th><td>{h(value)}</td></tr>"

    where = org.units.get(t.unit_id)
    facts = [("类别", notifier.label(t)), ("状态", STATUS_NAMES.get(t.status, t.status)),
             ("紧急", "是" if t.urgent else "否"), ("规模", t.size), ("位置", t.location or "位置待补充"),
             ("社区", where.name if where else "—"), ("承办", notifier.holder_name(t)),
             ("上报人", mask_name(reporter.name if reporter else None)),
             ("上报时间", notifier.clock.local(t.created_at).strftime("%Y-%m-%d %H:%M")),
             ("到场期限", notifier.hhmm(t.on_scene_due)), ("到场", notifier.hhmm(t.on_scene_at)),
             ("办结期限", notifier.due(t.resolve_due)), ("办结", notifier.hhmm(t.resolved_at)),
             ("督办", t.supervision or "—"), ("呼叫上级", f"{t.escalations} 次"),
             ("办结说明", t.resolution_note or "—"), ("退回原因", t.return_reason or "—"),
             ("居民评价", t.feedback or "未评价")]
    if t.lat is not None and t.lon is not None:
        facts.append(("坐标", f"{t.lat:.6f}, {t.lon:.6f}"))
    pages_sent = sum(1 for e in events if e.action in PAGES)
    facts.append(("提醒/呼叫", f"{pages_sent} 次"))
    body = (f'<nav class="crumbs">{breadcrumbs(org, viewer, t.unit_id or viewer.person.unit_id)}</nav>'
            f'<h1>工单 #{t.id} {h(notifier.label(t))}</h1>'
            f'{flash(notice)}'
            f'<section class="ticket"><blockquote class="raw">{h(t.raw_text)}</blockquote>'
            f'<table class="facts">{"".join(row(k, v) for k, v in facts)}</table></section>'
            f'{forms}<section><h2>照片</h2><div class="photos">{photos(t)}</div></section>'
            f'<section><h2>全过程</h2>{timeline(org, events, people, notifier)}</section>')
    return page(f"工单 #{t.id}", body, viewer)


def flash(notice: tuple[int, str] | None) -> str:
    if notice is None:
        return ""
    status, text = notice
    return f'<p class="flash {"ok" if status < 400 else "err"}" role="status">{h(text)}</p>'
