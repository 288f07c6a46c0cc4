"""Open311 GeoReport v2 at /open311/v2/: the 29 items as services, tickets as service requests
(GET, JSON or XML, the spec's field names) and new requests (POST with a client's api_key) filed
as a resident's report through the normal intake path. Replies the bot would send the reporter
are dropped: an Open311 client reads the request's status instead.

api keys: PINGAN_OPEN311_KEYS="client:key,client:key". Requesters are never named in answers."""

from __future__ import annotations

import uuid
from datetime import datetime

import xmltodict
from aiohttp import web
from sqlmodel import select

from pingan.messages import ChatRef, Inbound, Location
from pingan.models import STATUS_NAMES, Ticket, TicketEvent
from pingan.web.queries import OPEN

PLATFORM = "open311"
MAX_REQUESTS = 1000
BOT = web.AppKey("open311_bot", object)
# XML: the root element and the name of each entry, per response kind
XML = {"services": ("services", "service"), "requests": ("service_requests", "request"),
       "errors": ("errors", "error")}


class DropSender:
    """The outbox's sender for Open311 'chats': nothing to deliver to, so nothing is kept waiting."""

    platform = PLATFORM

    async def send(self, out) -> None:
        return None


def services(taxonomy) -> list[dict]:
    """Each item's code is its category's code and its place in that category (fire-1 …): stable
    as long as the taxonomy file keeps its order."""
    out = []
    for cat in taxonomy.categories:
        for n, item in enumerate(cat.items, 1):
            out.append({"service_code": f"{cat.code}-{n}", "service_name": item.name,
                        "description": f"{cat.name}:{item.name}", "metadata": False, "type": "realtime",
                        "keywords": ",".join(list(item.keywords)[:5]), "group": cat.name})
    return out


def _render(request, kind: str, rows: list[dict], status: int = 200) -> web.Response:
    if request.match_info.get("fmt") == "xml":
        root, entry = XML[kind]
        body = xmltodict.unparse({root: {entry: [{k: _xml(v) for k, v in r.items()} for r in rows]}})
        return web.Response(text=body, status=status, content_type="text/xml", charset="utf-8")
    return web.json_response(rows, status=status, dumps=_dumps)


def _xml(v):
    return "" if v is None else str(v).lower() if isinstance(v, bool) else str(v)


def _dumps(obj) -> str:
    import json

    return json.dumps(obj, ensure_ascii=False)


def error(request, status: int, text: str) -> web.Response:
    return _render(request, "errors", [{"code": status, "description": text}], status)


def _when(text: str, tz) -> datetime:
    dt = datetime.fromisoformat(text)
    return dt if dt.tzinfo else dt.replace(tzinfo=tz)


def _iso(dt: datetime | None, tz) -> str | None:
    return dt.astimezone(tz).isoformat(timespec="seconds") if dt else None


def as_request(t: Ticket, codes: dict, org, tz) -> dict:
    code, name = codes.get(t.item) or (t.category, t.category)
    holder = org.units.get(t.holder_unit_id)
    notes = STATUS_NAMES.get(t.status, t.status)
    if t.resolution_note or t.return_reason:
        notes += "：" + (t.resolution_note or t.return_reason)
    media = next((a["image"] for a in t.attachments or [] if str(a.get("image", "")).startswith("http")), None)
    return {"service_request_id": str(t.id), "status": "open" if t.status in OPEN else "closed",
            "status_notes": notes, "service_name": name, "service_code": code, "description": t.raw_text,
            "agency_responsible": holder.name if holder else None, "service_notice": None,
            "requested_datetime": _iso(t.created_at, tz), "updated_datetime": _iso(t.updated_at or t.created_at, tz),
            "expected_datetime": _iso(t.resolve_due, tz), "address": t.location, "address_id": None,
            "zipcode": None, "lat": t.lat, "long": t.lon, "media_url": media}


def _codes(taxonomy) -> dict:
    return {s["service_name"]: (s["service_code"], s["service_name"]) for s in services(taxonomy)}


async def get_services(request: web.Request) -> web.Response:
    return _render(request, "services", services(request.config_dict[BOT].taxonomy))


async def get_requests(request: web.Request) -> web.Response:
    bot = request.config_dict[BOT]
    q, tz = request.query, bot.clock.tz
    where = []
    try:
        if q.get("service_request_id"):
            where.append(Ticket.id.in_([int(x) for x in q["service_request_id"].split(",")]))
        if q.get("start_date"):
            where.append(Ticket.created_at >= _when(q["start_date"], tz))
        if q.get("end_date"):
            where.append(Ticket.created_at <= _when(q["end_date"], tz))
    except ValueError:
        return error(request, 400, "service_request_id must be numbers; dates ISO 8601")
    by_code = {s["service_code"]: s["service_name"] for s in services(bot.taxonomy)}
    if q.get("service_code"):
        names = [by_code.get(c) for c in q["service_code"].split(",")]
        where.append(Ticket.item.in_([n for n in names if n]))
    statuses = set(q.get("status", "").split(",")) - {""}
    if statuses - {"open", "closed"}:
        return error(request, 400, "status is open or closed")
    if statuses == {"open"}:
        where.append(Ticket.status.in_(OPEN))
    elif statuses == {"closed"}:
        where.append(Ticket.status.not_in(OPEN))
    async with bot.reports() as session:
        rows = (await session.exec(select(Ticket).where(*where).order_by(Ticket.id.desc()).limit(MAX_REQUESTS))).all()
    codes = _codes(bot.taxonomy)
    return _render(request, "requests", [as_request(t, codes, bot.org, tz) for t in rows])


async def get_request(request: web.Request) -> web.Response:
    bot = request.config_dict[BOT]
    try:
        ticket_id = int(request.match_info["id"])
    except ValueError:
        return error(request, 404, "no such service request")
    async with bot.reports() as session:
        t = await session.get(Ticket, ticket_id)
    if t is None:
        return error(request, 404, "no such service request")
    return _render(request, "requests", [as_request(t, _codes(bot.taxonomy), bot.org, bot.clock.tz)])


def client_of(settings, key: str) -> str | None:
    pairs = (p.split(":", 1) for p in settings.web.open311_keys.split(",") if ":" in p)
    return next((name.strip() for name, k in pairs if key and k.strip() == key), None)


def report_text(service: dict, f) -> str:
    """The request as the resident's form (上报 类别 地点 描述), read by the same parser as chat."""
    place = f.get("address_string", "").strip()
    return f"上报 类别：{service['group']} 地点：{place} 描述：{service['service_name']}，{f.get('description', '').strip()}"


async def post_request(request: web.Request) -> web.Response:
    bot = request.config_dict[BOT]
    f = await request.post()
    client = client_of(bot.settings, str(f.get("api_key", "")))
    if client is None:
        return error(request, 403, "api_key missing or not valid")
    service = next((s for s in services(bot.taxonomy) if s["service_code"] == f.get("service_code")), None)
    if service is None:
        return error(request, 400, "service_code not found")
    try:
        lat, lon = (float(f["lat"]), float(f["long"])) if f.get("lat") and f.get("long") else (None, None)
    except ValueError:
        return error(request, 400, "lat and long must be numbers")
    if lat is None and not f.get("address_string") and not f.get("address_id"):
        return error(request, 400, "a location is required: lat & long, address_string or address_id")
    who = str(f.get("email") or f.get("phone") or f.get("device_id") or "anonymous")[:64]
    msg = Inbound(chat=ChatRef(PLATFORM, client, "private", who), msg_id=uuid.uuid4().hex, sender_id=f"{client}:{who}",
                  text=report_text(service, f)[:2000], sender_name=str(f.get("first_name", ""))[:20],
                  images=[str(f["media_url"])] if f.get("media_url") else [],
                  location=Location(lat, lon, str(f.get("address_string", ""))) if lat is not None else None)
    handled = await bot.handle(msg)
    async with bot.sessions() as session:
        q = select(TicketEvent.ticket_id).where(TicketEvent.inbox_id == handled.inbox_id, TicketEvent.action == "report")
        ticket_id = (await session.exec(q)).first()
    if ticket_id is None:
        return error(request, 400, "the request was not understood as a hazard report")
    return _render(request, "requests", [{"service_request_id": str(ticket_id), "service_notice": None,
                                          "account_id": None}])


def open311(bot, worker) -> web.Application:
    app = web.Application()
    app[BOT] = bot
    worker.senders.setdefault(PLATFORM, DropSender())
    fmt = "{fmt:(json|xml)}"
    app.router.add_get(f"/services.{fmt}", get_services)
    app.router.add_get(f"/requests.{fmt}", get_requests)
    app.router.add_post(f"/requests.{fmt}", post_request)
    app.router.add_get(f"/requests/{{id}}.{fmt}", get_request)
    return app
