"""The workbench's pages: sign-in, the wall (and its live stream), a unit's tickets, a ticket."""

from __future__ import annotations

import json
import tempfile
from datetime import date
from pathlib import Path
from urllib.parse import quote

from aiohttp import web
from sqlmodel import select

from pingan.models import Person, Ticket
from pingan.notify import Notifier
from pingan.reports.ledger import export_ledger
from pingan.reports.units import REPORT_LEVELS
from pingan.tickets import TicketDesk
from pingan.web import auth, pages, queries
from pingan.web.actions import NAMES, offered, perform

STATIC = Path(__file__).parent / "static"
PUBLIC = ("/web/login", "/web/static/", "/web/signed-out")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


BOT = web.AppKey("web_bot", object)
LIVE = web.AppKey("web_live", object)
PHOTOS = web.AppKey("web_photos", object)
WORKER = web.AppKey("web_outbox_worker", object)  # woken when an action queued posts
VIEWER = web.RequestKey("viewer", auth.Viewer)


def _bot(request):
    return request.config_dict[BOT]


def _html(text: str, status: int = 200) -> web.Response:
    return web.Response(text=text, status=status, content_type="text/html", charset="utf-8")


def refuse(status: int, title: str, text: str) -> web.Response:
    return _html(pages.message(title, text), status)


def not_found(text: str) -> web.HTTPNotFound:
    return web.HTTPNotFound(text=pages.message("找不到", text), content_type="text/html")


def forbidden(text: str) -> web.HTTPForbidden:
    return web.HTTPForbidden(text=pages.message("没有权限", text), content_type="text/html")


@web.middleware
async def signed_in(request: web.Request, handler):
    """Every /web/ page but sign-in needs a live session of a person still on the staff; every POST
    carries the session's CSRF token. The viewer is request[VIEWER]."""
    if not request.path.startswith("/web/") or request.path.startswith(PUBLIC):
        return await handler(request)
    bot = _bot(request)
    ws = await auth.session_of(bot.sessions, request.cookies.get(auth.COOKIE), bot.clock.now())
    viewer = auth.Viewer.of(bot.org, ws) if ws else None
    if viewer is None:
        return refuse(401, "请先登录", "请在您所在的工作群里发「看板」，机器人会私信您一个登录链接。")
    if request.method == "POST":
        form = await request.post()
        if form.get("csrf") != ws.csrf:
            return refuse(403, "请求无效", "页面已过期，请刷新后重试。")
    request[VIEWER] = viewer
    return await handler(request)


# --- sign-in ------------------------------------------------------------------------------------------

async def _claims(request, token: str) -> tuple[dict | None, web.Response | None]:
    bot = _bot(request)
    try:
        async with bot.sessions() as session:
            key = await auth.signing_key(session, bot.settings)
            claims = auth.read_link_token(key, token)
            if await auth.link_used(session, claims):
                raise auth.LinkRefused(auth.USED)
        auth.check_fresh(claims, bot.clock.now(), bot.settings.web.link_minutes)
    except auth.LinkRefused as exc:
        return None, refuse(403, "无法登录", str(exc))
    if claims["p"] not in bot.org.people:
        return None, refuse(403, "无法登录", "您不在工作人员名单中。")
    return claims, None


async def login_page(request: web.Request) -> web.Response:
    claims, refused = await _claims(request, request.query.get("t", ""))
    if refused:
        return refused
    return _html(pages.confirm_login(request.query["t"], _bot(request).org.people[claims["p"]].name))


async def login(request: web.Request) -> web.Response:
    form = await request.post()
    claims, refused = await _claims(request, str(form.get("t", "")))
    if refused:
        return refused
    bot = _bot(request)
    try:
        async with bot.write_lock:
            cookie, ws = await auth.use_link(bot.sessions, claims, bot.clock.now(), bot.settings.web.session_hours)
    except auth.LinkRefused as exc:
        return refuse(403, "无法登录", str(exc))
    resp = web.Response(status=303, headers={"Location": "/web/"})
    secure = request.secure or bot.settings.web.base_url.startswith("https:")
    resp.set_cookie(auth.COOKIE, cookie, httponly=True, secure=secure, samesite="Strict", path="/",
                    max_age=int(bot.settings.web.session_hours * 3600))
    return resp


async def logout(request: web.Request) -> web.Response:
    bot = _bot(request)
    async with bot.write_lock:
        await auth.end_session(bot.sessions, request[VIEWER].session, bot.clock.now())
    resp = web.Response(status=303, headers={"Location": "/web/signed-out"})
    resp.del_cookie(auth.COOKIE, path="/")
    return resp


async def signed_out(request: web.Request) -> web.Response:
    return _html(pages.message("已退出", "您已退出工作台。需要时在工作群里发「看板」再次登录。"))


# --- the wall and the unit page -----------------------------------------------------------------------

def _unit(request) -> str:
    unit_id = request.match_info["unit"]
    bot, viewer = _bot(request), request[VIEWER]
    if unit_id not in bot.org.units:
        raise not_found("没有这个单位。")
    if not viewer.may_see_unit(unit_id):
        raise forbidden("您没有查看这个单位的权限。")
    return unit_id


async def home(request: web.Request) -> web.Response:
    raise web.HTTPFound(f"/web/unit/{request[VIEWER].person.unit_id}")


async def unit_page(request: web.Request) -> web.Response:
    unit_id, bot, viewer = _unit(request), _bot(request), request[VIEWER]
    f = queries.Filters.from_query(request.query)
    now, size = bot.clock.now(), bot.settings.web.page_size
    me, tiles = await request.app[LIVE].wall(unit_id)
    async with bot.reports() as session:
        found, total = await queries.tickets(session, bot.org, unit_id, f, now, bot.clock.tz, size)
    notifier = Notifier(bot.org, bot.settings, bot.taxonomy, bot.clock)
    query = {k: v for k, v in request.query.items() if k != "page"}
    today = now.astimezone(bot.clock.tz).date()
    ledger_html = (f'<section><h2>台账</h2>{pages.ledger_form(unit_id, today.replace(day=1), today)}</section>'
                   if bot.org.units[unit_id].level in REPORT_LEVELS else "")  # a grid's tickets are its community's
    body = (f'<nav class="crumbs">{pages.breadcrumbs(bot.org, viewer, unit_id)}</nav>'
            f'{pages.wall_section(bot.org, unit_id, me, tiles, False)}'
            f'<section><h2>近30天</h2>{pages.trend_img(unit_id)}</section>{ledger_html}'
            f'<section><h2>工单</h2>{pages.filter_form(unit_id, f, bot.taxonomy)}'
            f'{pages.ticket_rows(found, notifier, now)}{pages.pager(unit_id, query, f.page, total, size)}</section>')
    return _html(pages.page(bot.org.units[unit_id].name, body, viewer, scripts=pages.LIVE_SCRIPT))


async def ledger(request: web.Request) -> web.StreamResponse:
    """The unit's ledger (台账) .xlsx, written as `pingan export` writes it, for a unit the viewer may see."""
    unit_id, bot = _unit(request), _bot(request)
    unit = bot.org.units[unit_id]
    if unit.level not in REPORT_LEVELS:
        raise not_found("网格和部门没有单独的台账，请在所属社区的页面下载。")
    today = bot.clock.now().astimezone(bot.clock.tz).date()
    try:
        start = date.fromisoformat(request.query.get("from") or today.replace(day=1).isoformat())
        end = date.fromisoformat(request.query.get("to") or today.isoformat())
    except ValueError:
        return refuse(400, "日期有误", "请按 2019-04-01 的格式填写开始和结束日期。")
    if start > end:
        return refuse(400, "日期有误", "开始日期晚于结束日期，请对调。")
    name = quote(f"{unit.name}台账_{start.isoformat()}_{end.isoformat()}.xlsx")
    resp = web.StreamResponse(headers={"Content-Disposition": f"attachment; filename*=UTF-8''{name}",
                                       "Cache-Control": "no-store", "Content-Type": XLSX})
    with tempfile.TemporaryDirectory(prefix="pingan-ledger-") as tmp:
        path = Path(tmp) / "ledger.xlsx"
        await export_ledger(bot, unit_id, start, end, path)
        resp.content_length = path.stat().st_size
        await resp.prepare(request)
        with open(path, "rb") as f:  # a local file just written: each read is short
            while chunk := f.read(1 << 16):
                await resp.write(chunk)
    await resp.write_eof()
    return resp


async def wall_page(request: web.Request) -> web.Response:
    """Wall mode: only the tiles, large, for a screen on the office wall."""
    unit_id, bot = _unit(request), _bot(request)
    me, tiles = await request.app[LIVE].wall(unit_id)
    body = pages.wall_section(bot.org, unit_id, me, tiles, True)
    return _html(pages.page(f"{bot.org.units[unit_id].name} · 挂图作战", body, request[VIEWER], wall_mode=True,
                            scripts=pages.LIVE_SCRIPT))


async def live(request: web.Request) -> web.StreamResponse:
    """SSE: the unit's tiles now, then again whenever a ticket moves or a deadline passes."""
    unit_id, hub = _unit(request), request.app[LIVE]
    resp = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store",
                                       "X-Accel-Buffering": "no"})
    await resp.prepare(request)
    hub.arrive()
    seen, sent = -1, None
    try:
        while True:
            version = await hub.wait(seen, 15.0)
            if version == seen:
                await resp.write(b": keep-alive\n\n")
                continue
            seen = version
            me, tiles = await hub.wall(unit_id, fresh=False)
            data = pages.tiles_json(tiles, me)
            if data != sent:
                await resp.write(f"event: tiles\ndata: {data}\n\n".encode())
                sent = data
    except ConnectionResetError:  # the viewer went away
        pass
    finally:
        hub.leave()
    return resp


# --- a ticket -------------------------------------------------------------------------------------------

async def _ticket(request, session, lock: bool = False) -> Ticket:
    """The ticket the path names, if the viewer may see it (else 404 / 403); `lock`: to change it."""
    try:
        ticket_id = int(request.match_info["id"])
    except ValueError:
        raise not_found("没有这个工单。") from None
    t = await session.get(Ticket, ticket_id, with_for_update=lock)
    if t is None:
        raise not_found("没有这个工单。")
    if not request[VIEWER].may_see(t):
        raise forbidden("您没有查看这个工单的权限。")
    return t


async def photo(request: web.Request) -> web.StreamResponse:
    """A kept photo; one not kept (yet) sends the browser to the platform's link while it lasts."""
    from pingan.web.photos import image_refs

    async with _bot(request).reports() as session:
        t = await _ticket(request, session)
    n, refs = request.match_info["n"], image_refs(t)
    if not n.isdigit() or int(n) >= len(refs):
        raise not_found("没有这张照片。")
    kept, ref = await request.app[PHOTOS].kept(t.id, int(n)), refs[int(n)]
    if isinstance(kept, str):  # in the bucket: a link for this viewer, minutes long, never cached
        raise web.HTTPFound(kept, headers={"Cache-Control": "no-store"})
    if kept is not None:
        return web.FileResponse(kept, headers={"Cache-Control": "private, max-age=86400"})
    if ref and ref.startswith(("http://", "https://")):
        raise web.HTTPFound(ref)
    raise not_found("这张照片没有保存下来。")


async def ticket_page(request: web.Request, notice: tuple[int, str] | None = None) -> web.Response:
    """The ticket; `notice`: what an action from it answered (its status, its words)."""
    bot, viewer = _bot(request), request[VIEWER]
    async with bot.reports() as session:
        t = await _ticket(request, session)
        events = await queries.events(session, t.id)
        ids = {e.actor_id for e in events if e.actor_id} | {t.reporter_id}
        people = {p.id: p for p in (await session.exec(select(Person).where(Person.id.in_(ids - {None})))).all()}
        offer = offered(TicketDesk(session, bot.org, bot.settings, bot.taxonomy, bot.clock.now()),
                        viewer.person, t, events)
    if notice is None and request.query.get("done") in NAMES:
        notice = (200, f"{NAMES[request.query['done']]}已完成，已在工作群通告。")
    notifier = Notifier(bot.org, bot.settings, bot.taxonomy, bot.clock)
    forms = pages.action_forms(bot.org, viewer, t, bot.taxonomy, offer)
    return _html(pages.ticket_page(bot.org, viewer, t, events, people.get(t.reporter_id), people, notifier,
                                   forms, notice), notice[0] if notice else 200)


async def ticket_action(request: web.Request) -> web.Response:
    """A dispatcher's action from the ticket page (actions.py): done, back to the ticket (303);
    refused, the ticket page with why, and nothing changed."""
    kind, bot = request.match_info["action"], _bot(request)
    if kind not in NAMES:
        raise not_found("没有这个操作。")
    async with bot.write_lock, bot.sessions() as session:
        t = await _ticket(request, session, lock=True)
        ticket_id = t.id
        outcome = await perform(bot, request[VIEWER].person, t, kind, await request.post(), session)
    if outcome.status != 303:
        return await ticket_page(request, (outcome.status, outcome.text))
    request.app[WORKER].wake()
    raise web.HTTPSeeOther(f"/web/ticket/{ticket_id}?done={kind}")


async def trend_svg(request: web.Request) -> web.Response:
    """The unit page's chart, apart from the page: a city's 30 days take seconds to count."""
    unit_id, bot = _unit(request), _bot(request)
    async with bot.reports() as session:
        days = await queries.trend(session, bot.org, unit_id, bot.clock.now())
    return web.Response(text=pages.trend_svg(days), content_type="image/svg+xml", charset="utf-8",
                        headers={"Cache-Control": "private, max-age=60"})


async def tiles_json(request: web.Request) -> web.Response:
    me, tiles = await request.app[LIVE].wall(_unit(request))
    return web.json_response(json.loads(pages.tiles_json(tiles, me)))


def workbench(bot, worker) -> web.Application:
    """The /web/ sub-application (its own middleware: nothing else on the server needs a session)."""
    from pingan.web.live import Live
    from pingan.web.photos import PhotoKeeper

    app = web.Application(middlewares=[signed_in])
    app[BOT], app[LIVE], app[PHOTOS], app[WORKER] = bot, Live(bot), PhotoKeeper(bot, worker), worker
    r = app.router
    r.add_get("/login", login_page)
    r.add_post("/login", login)
    r.add_get("/signed-out", signed_out)
    r.add_post("/logout", logout)
    r.add_get("/", home)
    r.add_get("/unit/{unit}", unit_page)
    r.add_get("/unit/{unit}/tiles.json", tiles_json)
    r.add_get("/unit/{unit}/trend.svg", trend_svg)
    r.add_get("/unit/{unit}/ledger.xlsx", ledger)
    r.add_get("/wall/{unit}", wall_page)
    r.add_get("/live/{unit}", live)
    r.add_get("/ticket/{id}", ticket_page)
    r.add_post("/ticket/{id}/{action}", ticket_action)
    r.add_get("/photo/{id}/{n}", photo)
    r.add_static("/static/", STATIC, append_version=False)

    async def stop_live(_app) -> None:
        await _app[LIVE].stop()
        await _app[PHOTOS].stop()

    async def start(_app) -> None:
        async with bot.write_lock, bot.sessions() as session:  # the key, before any link is signed
            await auth.signing_key(session, bot.settings)
            await session.commit()
        _app[LIVE].start()  # counts the figures now, not when the first official arrives
        _app[PHOTOS].start()

    app.on_startup.append(start)
    app.on_cleanup.append(stop_live)
    return app
