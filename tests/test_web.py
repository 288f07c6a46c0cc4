"""The officials' workbench over real HTTP: sign-in links, sessions, who sees what, the wall's
colours, filters, escaping, and the 看板 keyword in chat."""

from __future__ import annotations

import io
import re
from datetime import date, timedelta

import pytest

from pingan.bot.server import make_app
from pingan.models import Ticket
from pingan.reports.ledger import Ledger
from pingan.web import queries
from pingan.web.auth import sign_in_link
from tests.conftest import COORD, STREET
from tests.test_digest import DAY, day, tallies  # noqa: F401  (the hand-counted fixture day)
from tests.test_server import Running


async def link_for(bot, person_id: str) -> str:
    async with bot.sessions() as session:
        url = await sign_in_link(session, bot.settings, person_id, bot.clock.now())
        await session.commit()
    return url


def token(url: str) -> str:
    return url.split("t=", 1)[1]


@pytest.fixture
async def web_app(bot, settings, h):
    settings.web.live_seconds = 0.05
    # the console chats' replies are queued only where a console sender runs (as in `pingan chat`)
    async with Running(make_app(bot, env={}, extra_senders={"console": h.sender})) as r:
        yield r


async def sign_in(r, bot, person_id: str):
    """A fresh client session signed in as the person: (client, csrf)."""
    from aiohttp.test_utils import TestClient

    client = TestClient(r.server)
    await client.start_server()
    t = token(await link_for(bot, person_id))
    resp = await client.post("/web/login", data={"t": t}, allow_redirects=False)
    assert resp.status == 303, await resp.text()
    page = await (await client.get("/web/")).text()
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    return client, csrf


async def ticket_ids(bot) -> list[int]:
    async with bot.sessions() as session:
        return [t.id for t in (await session.exec(Ticket.__table__.select().order_by(Ticket.id))).all()]


async def test_a_link_signs_in_once_and_sets_a_strict_cookie(web_app, bot):
    t = token(await link_for(bot, "chen-jiedao"))
    c = web_app.client
    page = await c.get(f"/web/login?t={t}")
    assert page.status == 200 and "进入工作台" in await page.text()  # a preview does not spend it
    resp = await c.post("/web/login", data={"t": t}, allow_redirects=False)
    assert resp.status == 303
    cookie = resp.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Secure" not in cookie  # plain http here
    home = await c.get("/web/")
    assert home.status == 200 and "永丰街道" in await home.text()
    again = await c.post("/web/login", data={"t": t}, allow_redirects=False)
    assert again.status == 403 and "已经用过" in await again.text()
    assert (await c.get(f"/web/login?t={t}")).status == 403


async def test_expired_forged_and_missing_links_are_refused(web_app, bot, clock):
    t = token(await link_for(bot, "chen-jiedao"))
    forged = t[:-3] + ("AAA" if not t.endswith("AAA") else "BBB")
    assert "无效" in await (await web_app.client.post("/web/login", data={"t": forged})).text()
    clock.advance(minutes=11)
    resp = await web_app.client.post("/web/login", data={"t": t})
    assert resp.status == 403 and "已过期" in await resp.text()
    assert (await web_app.client.get("/web/")).status == 401  # never signed in


async def test_sessions_expire_and_sign_out_needs_the_csrf_token(web_app, bot, clock):
    client, csrf = await sign_in(web_app, bot, "chen-jiedao")
    try:
        assert (await client.post("/web/logout", data={}, allow_redirects=False)).status == 403
        assert (await client.post("/web/logout", data={"csrf": csrf}, allow_redirects=False)).status == 303
        assert (await client.get("/web/")).status == 401
        client2, _ = await sign_in(web_app, bot, "chen-jiedao")
        clock.advance(hours=bot.settings.web.session_hours + 0.1)
        assert (await client2.get("/web/")).status == 401
        await client2.close()
    finally:
        await client.close()


async def test_each_person_sees_only_their_subtree(web_app, bot, h):
    await h.say("张阿姨", "锦城花园3栋楼道有人给电瓶车充电")
    (tid,) = await ticket_ids(bot)
    other, _ = await sign_in(web_app, bot, "tang-xianglong")  # 祥龙社区, another street
    mine, _ = await sign_in(web_app, bot, "chen-jiedao")  # 永丰街道
    try:
        assert (await other.get(f"/web/ticket/{tid}")).status == 403
        assert (await other.get("/web/unit/yongfeng")).status == 403
        assert (await other.get("/web/live/xinlian")).status == 403
        assert (await other.get("/web/unit/xianglong")).status == 200
        assert (await mine.get(f"/web/ticket/{tid}")).status == 200
        assert (await mine.get("/web/unit/dujiangyan")).status == 403  # above him
        assert (await mine.get("/web/ticket/99999")).status == 404
    finally:
        await other.close()
        await mine.close()


async def test_the_wall_turns_amber_past_the_on_scene_deadline_and_green_on_arrival(web_app, bot, h, clock):
    client, _ = await sign_in(web_app, bot, "chen-jiedao")
    try:
        async def tile(unit: str) -> dict:
            data = await (await client.get("/web/unit/yongfeng/tiles.json")).json()
            return next(t for t in data["tiles"] if t["unit"] == unit)

        await h.say("张阿姨", "锦城花园3栋楼道有人给电瓶车充电")
        assert (await tile("xinlian"))["state"] == "green"
        assert (await tile("xinlian"))["pending"] == 1
        clock.advance(minutes=16)
        assert (await tile("xinlian"))["state"] == "amber"
        assert (await tile("xinlian"))["overdue"] == 1
        await h.say("周网格", "到场 #1")
        t = await tile("xinlian")
        assert t["state"] == "green" and t["overdue"] == 0 and t["on_time"] == 0  # reached, but late
    finally:
        await client.close()


async def test_the_wall_counts_as_the_digest_and_the_ledger_do(web_app, day, h):  # noqa: F811
    """One definition (reports/figures.py): at the same moment a community's tile says what its
    digest's 累计 and its ledger's 汇总 say, also once a 呼叫 and a 办结 were typed in chat."""
    client, _ = await sign_in(web_app, day, "chen-jiedao")

    async def three() -> tuple:
        tiles = (await (await client.get("/web/unit/yongfeng/tiles.json")).json())["tiles"]
        tile = next(t for t in tiles if t["unit"] == "xinlian")
        now = day.clock.now()
        ledger = Ledger(day.org, day.taxonomy, day.clock.tz, now, day.settings.policy.on_scene_minutes)
        async with day.reports() as s:
            me, _ = await queries.wall(s, day.org, "xinlian", now)
            books = (await ledger.counted(s, "xinlian", date(2019, 4, 1), DAY)).total
        d = (await tallies(day))["xinlian"]
        digest = (d.found, d.resolved_total, d.pending, d.called_up_total, d.self_handled)
        wall = me.figures
        assert (wall.found, wall.resolved, wall.pending, wall.called_up, wall.self_handled) == digest
        assert (books.found, books.resolved, books.pending, books.called_up, books.self_handled) == digest
        assert (tile["found"], tile["resolved"], tile["pending"]) == digest[:3]  # what the page shows
        assert (tile["overdue"], me.on_time, me.arrive_base) == (d.overdue, d.cum_on_time, d.cum_arrive_base)
        return digest

    try:
        assert await three() == (10, 3, 5, 3, 2)
        await h.say("周网格", "呼叫 #3 需要社区协调")
        assert await three() == (10, 3, 5, 4, 2)
        await h.say("周网格", "到场 #5")
        await h.say("周网格", "办结 #5 已调解")
        assert await three() == (10, 4, 4, 4, 3)
    finally:
        await client.close()


async def test_an_urgent_report_nobody_reached_is_red(web_app, bot, h):
    client, _ = await sign_in(web_app, bot, "wang-shequ")
    try:
        await h.say("张阿姨", "锦城花园5栋着火了,有浓烟!")
        data = await (await client.get("/web/unit/xinlian/tiles.json")).json()
        assert data["me"]["state"] == "red"
        assert [t["state"] for t in data["tiles"] if t["unit"] == "xinlian-g2"] == ["red"]
    finally:
        await client.close()


async def test_filters_search_and_escaping(web_app, bot, h):
    await h.say("张阿姨", "锦城花园3栋楼道有人给电瓶车充电<script>alert(1)</script>")
    await h.say("李大爷", "幸福里小区门口井盖丢了")
    client, _ = await sign_in(web_app, bot, "wang-shequ")
    try:
        page = await (await client.get("/web/unit/xinlian?q=井盖")).text()
        assert "#2" in page and "/web/ticket/1\"" not in page
        page = await (await client.get("/web/unit/xinlian?category=fire&sort=old")).text()
        assert "/web/ticket/1\"" in page and "/web/ticket/2\"" not in page
        page = await (await client.get("/web/unit/xinlian?status=done")).text()
        assert "共 0 件" in page
        ticket = await (await client.get("/web/ticket/1")).text()
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in ticket and "<script>alert" not in ticket
        assert "张**" in ticket and "张阿姨" not in ticket  # masked as in groups
        assert "trend.svg" in await (await client.get("/web/unit/xinlian")).text()
        svg = await client.get("/web/unit/xinlian/trend.svg")
        assert svg.content_type == "image/svg+xml" and "<rect" in await svg.text()
    finally:
        await client.close()


async def test_the_unit_page_offers_its_ledger_to_those_who_may_see_it(web_app, bot, h):
    from openpyxl import load_workbook

    await h.say("张阿姨", "锦城花园3栋楼道有人给电瓶车充电")
    today = bot.clock.now().astimezone(bot.clock.tz).date()
    mine, _ = await sign_in(web_app, bot, "chen-jiedao")  # 永丰街道
    other, _ = await sign_in(web_app, bot, "tang-xianglong")  # 祥龙社区, another street
    grid, _ = await sign_in(web_app, bot, "zhou-wangge")  # a grid: its tickets are the community's
    try:
        page = await (await mine.get("/web/unit/yongfeng")).text()
        assert 'action="/web/unit/yongfeng/ledger.xlsx"' in page and f'value="{today.replace(day=1)}"' in page
        resp = await mine.get("/web/unit/yongfeng/ledger.xlsx")
        assert resp.status == 200 and "attachment" in resp.headers["Content-Disposition"]
        rows = list(load_workbook(io.BytesIO(await resp.read()))["台账"].values)
        assert rows[0][0].startswith(f"永丰街道 平安社区台账    统计期间：{today.replace(day=1)} 至 {today}")
        assert len(rows) == 3 and rows[2][0] == 1  # title, headers, the one ticket
        before = await mine.get("/web/unit/xinlian/ledger.xlsx?from=2019-03-01&to=2019-03-31")  # a community below
        assert len(list(load_workbook(io.BytesIO(await before.read()))["台账"].values)) == 2
        assert (await mine.get("/web/unit/yongfeng/ledger.xlsx?from=2019-04-31")).status == 400
        assert (await mine.get("/web/unit/yongfeng/ledger.xlsx?from=2019-04-02&to=2019-04-01")).status == 400
        assert (await other.get("/web/unit/yongfeng/ledger.xlsx")).status == 403
        assert (await mine.get("/web/unit/dujiangyan/ledger.xlsx")).status == 403  # above him
        assert "ledger.xlsx" not in await (await grid.get("/web/unit/xinlian-g2")).text()
        assert (await grid.get("/web/unit/xinlian-g2/ledger.xlsx")).status == 404
    finally:
        for c in (mine, other, grid):
            await c.close()


async def test_kanban_in_a_group_sends_the_link_privately(h, bot):
    said = await h.say("陈主任", "看板", group=STREET)
    private = [text for chat, text in said if chat != STREET]
    assert any("/web/login?t=" in text for text in private)
    assert any("已私信" in text for chat, text in said if chat == STREET)
    assert all("/web/login" not in text for chat, text in said if chat == STREET)
    said = await h.say("张阿姨", "看板", group=None)
    assert "仅供" in said[-1][1]
    said = await h.say("张阿姨", "看板坏了掉下来砸到人", group=COORD)  # a report, not the keyword
    assert any("#1" in text for _, text in said)


def test_cli_prints_a_link(settings, tmp_path):
    from typer.testing import CliRunner

    from pingan.cli import app

    url = settings.database.url
    result = CliRunner().invoke(app, ["org", "import", settings.org.file, "--db", url])
    assert result.exit_code == 0, result.output
    result = CliRunner().invoke(app, ["web", "link", "chen-jiedao", "--db", url])
    assert result.exit_code == 0, result.output
    assert "/web/login?t=" in result.output
    result = CliRunner().invoke(app, ["web", "link", "nobody", "--db", url])
    assert result.exit_code == 1


async def test_metrics_from_localhost_or_with_the_token(web_app, bot, h, settings):
    await h.say("张阿姨", "锦城花园3栋楼道有人给电瓶车充电")
    resp = await web_app.client.get("/metrics")  # the test client is on 127.0.0.1
    text = await resp.text()
    assert resp.status == 200
    assert 'pingan_messages_in_total{platform="console"} 1.0' in text
    assert 'pingan_tickets{status="dispatched"} 1.0' in text
    assert 'pingan_messages_out_total{platform="console"}' in text
    assert "pingan_outbox_depth" in text and "pingan_sweep_lag_seconds" in text
    await h.say("周网格", "到场 #1")
    text = await (await web_app.client.get("/metrics")).text()
    assert 'pingan_reply_latency_seconds_count 1.0' in text  # the message after the first scrape
    settings.web.metrics_token = "m3tr1cs"
    assert (await web_app.client.get("/metrics")).status == 403
    ok = await web_app.client.get("/metrics", headers={"Authorization": "Bearer m3tr1cs"})
    assert ok.status == 200


async def test_photos_are_kept_after_the_platform_link_expires(web_app, bot, h, clock, settings, tmp_path):
    from aiohttp import web as aioweb

    from tests.test_server import stub_server

    png = b"\x89PNG\r\n\x1a\n" + b"0" * 100
    served = []

    async def image(request):
        served.append(request.path)
        if len(served) == 1:
            return aioweb.Response(status=503)  # the first try fails: retried with the outbox's backoff
        return aioweb.Response(body=png, content_type="image/png")

    platform = await stub_server([("GET", "/img/1.png", image)])
    from pingan.web import WORKBENCH
    from pingan.web.photos import LocalStore
    from pingan.web.views import PHOTOS

    keeper = web_app.app[WORKBENCH][PHOTOS]
    keeper.store = LocalStore(tmp_path / "photos")
    try:
        url = str(platform.make_url("/img/1.png"))
        await h.say("张阿姨", "锦城花园3栋楼道有人给电瓶车充电", images=[url])
        client, _ = await sign_in(web_app, bot, "wang-shequ")

        from sqlmodel import select

        from pingan.models import WebPhoto

        async def kept() -> bool:  # on disk, and the row says so (the page reads the row)
            if not (tmp_path / "photos" / "1-0.png").exists():
                return False
            async with bot.sessions() as session:
                row = (await session.exec(select(WebPhoto).where(WebPhoto.ticket_id == 1))).first()
            return row is not None and row.fetched_at is not None

        from tests.test_server import wait_until

        await wait_until(lambda: len(served) == 1, timeout=20)
        assert not await kept()
        clock.advance(seconds=bot.settings.outbox.base_delay_seconds + 1)
        await wait_until(kept, timeout=20)  # a loaded machine: the keeper's next look may take a while
        await platform.close()  # the platform's link is gone
        page = await (await client.get("/web/ticket/1")).text()
        assert 'src="/web/photo/1/0"' in page
        resp = await client.get("/web/photo/1/0")
        assert resp.status == 200 and await resp.read() == png
        assert (await client.get("/web/photo/1/5")).status == 404
        await client.close()
    finally:
        await platform.close()


# --- the dispatcher's actions from the ticket page (web/actions.py) ------------------------------------

async def ticket(bot, tid: int) -> Ticket:
    async with bot.sessions() as session:
        return await session.get(Ticket, tid)


async def events_of(bot, tid: int) -> list:
    from sqlmodel import select

    from pingan.models import TicketEvent

    async with bot.sessions() as session:
        q = select(TicketEvent).where(TicketEvent.ticket_id == tid).order_by(TicketEvent.id)
        return list((await session.exec(q)).all())


async def posts(bot, after: int = 0) -> list[tuple[int, str, str]]:
    """(id, chat, plain text) of the outbox rows after id `after`: what the bot will say."""
    from sqlmodel import select

    from pingan.models import OutboxMessage

    async with bot.sessions() as session:
        rows = (await session.exec(select(OutboxMessage).where(OutboxMessage.id > after)
                                   .order_by(OutboxMessage.id))).all()
    return [(r.id, r.chat_id, "".join(p.get("text") or "@" + p["mention"]["name"] for p in r.payload["parts"]))
            for r in rows]


async def last_post(bot) -> int:
    return max([0] + [i for i, _, _ in await posts(bot)])


def said_in(out, chat: str) -> str:
    return "\n".join(text for _, c, text in out if c == chat)


async def act(client, csrf, tid: int, action: str, **form):
    return await client.post(f"/web/ticket/{tid}/{action}", data={"csrf": csrf, **form}, allow_redirects=False)


async def test_corrections_from_the_ticket_page_are_the_chats(web_app, bot, h):
    await h.say("张阿姨", "这里好危险哦 锦城花园3栋楼道", group=None)
    client, csrf = await sign_in(web_app, bot, "wang-shequ")
    try:
        page = await (await client.get("/web/ticket/1")).text()
        assert all(f'action="/web/ticket/1/{a}"' in page for a in ("recategorise", "relocate", "reassign", "merge",
                                                                   "transfer"))
        assert 'action="/web/ticket/1/review"' not in page  # no 退回 awaits 复核
        mark = await last_post(bot)
        resp = await act(client, csrf, 1, "recategorise", value="燃气管道")
        assert resp.status == 303 and resp.headers["Location"] == "/web/ticket/1?done=recategorise"
        t = await ticket(bot, 1)
        assert (t.category, t.item) == ("facility", "燃气管道")
        ev = [e for e in await events_of(bot, 1) if e.action == "correct"]
        assert [(e.actor_id, e.inbox_id, e.data["field"]) for e in ev] == [("wang-shequ", None, "category"),
                                                                           ("wang-shequ", None, "item")]
        out = await posts(bot, mark)
        assert "✏️ #1 改类：" in said_in(out, COORD) and "→ 设施·燃气管道（王书记）" in said_in(out, COORD)
        assert "改类已完成" in await (await client.get(resp.headers["Location"])).text()

        mark = await last_post(bot)
        assert (await act(client, csrf, 1, "relocate", value="山水天成2栋")).status == 303
        t = await ticket(bot, 1)
        assert (t.location, t.grid_id, t.holder_person_id) == ("山水天成2栋", "xinlian-g1", "li-wangge")
        out = said_in(await posts(bot, mark), COORD)
        assert "✏️ #1 改地点：锦城花园3栋 → 山水天成2栋" in out and "@李网格" in out

        assert (await act(client, csrf, 1, "reassign", value="新联社区第三网格")).status == 303
        assert (await ticket(bot, 1)).holder_person_id == "wu-wangge"
        mark = await last_post(bot)
        assert (await act(client, csrf, 1, "reassign", value="@周网格")).status == 303
        assert (await ticket(bot, 1)).holder_person_id == "zhou-wangge"
        assert "✏️ #1 改派：现由" in said_in(await posts(bot, mark), COORD)
        timeline = await (await client.get("/web/ticket/1")).text()
        assert "<b>更正</b> 王书记" in timeline
    finally:
        await client.close()


async def test_merge_from_the_ticket_page(web_app, bot, h):
    await h.say("张阿姨", "锦城花园3栋楼道里有人给电瓶车充电", group=None)
    await h.say("李大爷", "锦城花园3栋楼道有电瓶车在充电", group=None)
    client, csrf = await sign_in(web_app, bot, "wang-shequ")
    try:
        mark = await last_post(bot)
        assert (await act(client, csrf, 2, "merge", value="#1")).status == 303  # the later into the earlier
        assert (await ticket(bot, 2)).status == "returned" and (await ticket(bot, 1)).status == "dispatched"
        merged = [e for e in await events_of(bot, 1) if e.action == "merge"]
        assert [(e.actor_id, e.data["merged"]) for e in merged] == [("wang-shequ", 2)]
        out = await posts(bot, mark)
        assert "🔗 #2 已并入 #1（王书记）" in said_in(out, COORD) and "已合并到 #1" in said_in(out, "李大爷")
        resp = await act(client, csrf, 1, "merge", value="1")
        assert resp.status == 400 and "请写上两个编号" in await resp.text()
    finally:
        await client.close()


async def test_the_review_of_a_return_from_the_ticket_page(web_app, bot, h):
    await h.say("张阿姨", "锦城花园3栋楼道里有人给电瓶车充电", group=None)
    await h.say("周网格", "退回#1 不属于我们网格管")
    lead, csrf = await sign_in(web_app, bot, "wang-shequ")
    worker, worker_csrf = await sign_in(web_app, bot, "zhou-wangge")
    try:
        assert 'action="/web/ticket/1/review"' in await (await lead.get("/web/ticket/1")).text()
        assert 'action="/web/ticket/1/review"' not in await (await worker.get("/web/ticket/1")).text()
        resp = await act(worker, worker_csrf, 1, "review", agree="1")  # not their own request's to confirm
        assert resp.status == 403 and "复核" in await resp.text()
        assert (await ticket(bot, 1)).status == "dispatched"

        mark = await last_post(bot)
        assert (await act(lead, csrf, 1, "review", agree="0")).status == 303
        assert (await ticket(bot, 1)).status == "dispatched"
        assert [e.actor_id for e in await events_of(bot, 1) if e.action == "return_refused"] == ["wang-shequ"]
        out = await posts(bot, mark)
        assert "退回申请（不属于我们网格管）经王书记复核不同意" in said_in(out, COORD) and "@周网格" in said_in(out, COORD)
        assert "经社区复核，将继续处理" in said_in(out, "张阿姨")
        resp = await act(lead, csrf, 1, "review", agree="1")  # decided already
        assert resp.status == 400 and "没有待复核的退回申请" in await resp.text()

        await h.say("周网格", "退回#1 已核实无人充电")
        mark = await last_post(bot)
        assert (await act(lead, csrf, 1, "review", agree="1")).status == 303
        t = await ticket(bot, 1)
        assert (t.status, t.return_reason) == ("returned", "已核实无人充电（社区复核同意）")
        assert (await events_of(bot, 1))[-1].actor_id == "wang-shequ"
        out = await posts(bot, mark)
        assert "↩️ #1 已退回" in said_in(out, COORD) and "经核实已退回" in said_in(out, "张阿姨")
    finally:
        await lead.close()
        await worker.close()


async def test_transfer_from_the_ticket_page_names_departments_loosely(web_app, bot, h):
    await h.say("张阿姨", "锦城花园3栋楼道里有人给电瓶车充电", group=None)
    client, csrf = await sign_in(web_app, bot, "wang-shequ")
    try:
        page = await (await client.get("/web/ticket/1")).text()
        assert '<option value="都江堰市消防救援大队" selected>' in page  # the item's own department
        resp = await act(client, csrf, 1, "transfer", value="气象局")
        assert resp.status == 400 and "没有找到部门「气象局」" in await resp.text()
        assert (await ticket(bot, 1)).status == "dispatched"
        mark = await last_post(bot)
        assert (await act(client, csrf, 1, "transfer", value="煤气公司")).status == 303
        t = await ticket(bot, 1)
        assert (t.status, t.department_id) == ("transferred", "djy-gas")
        assert [(e.action, e.actor_id) for e in await events_of(bot, 1)][-1] == ("transfer", "wang-shequ")
        out = await posts(bot, mark)
        assert "📤 #1 已派单 都江堰燃气公司" in said_in(out, COORD) and "王书记" in said_in(out, COORD)
        assert "【派单 #1】" in "\n".join(text for _, _, text in out)  # and the department's group
    finally:
        await client.close()


async def test_forbidden_and_illegal_actions_change_nothing(web_app, bot, h):
    await h.say("李大爷", "幸福里小区门口井盖丢了", group=None)
    await h.say("王书记", "退回 #1 已核实井盖完好")
    await h.say("张阿姨", "锦城花园3栋楼道里有人给电瓶车充电", group=None)  # #2, 周网格's grid
    other, other_csrf = await sign_in(web_app, bot, "tang-xianglong")  # another street's community
    worker, worker_csrf = await sign_in(web_app, bot, "zhou-wangge")  # a grid worker asks the community
    lead, csrf = await sign_in(web_app, bot, "wang-shequ")
    try:
        before = (await ticket(bot, 2), len(await events_of(bot, 2)), await last_post(bot))
        resp = await act(other, other_csrf, 2, "recategorise", value="燃气管道")
        assert resp.status == 403 and "没有查看这个工单的权限" in await resp.text()
        resp = await act(worker, worker_csrf, 2, "recategorise", value="燃气管道")
        assert resp.status == 403 and "由社区工作人员或上级处理" in await resp.text()
        assert 'action="/web/ticket/2/recategorise"' not in await (await worker.get("/web/ticket/2")).text()
        resp = await lead.post("/web/ticket/2/recategorise", data={"value": "燃气管道"}, allow_redirects=False)
        assert resp.status == 403 and "页面已过期" in await resp.text()  # no CSRF token
        resp = await act(lead, "forged", 2, "recategorise", value="燃气管道")
        assert resp.status == 403
        resp = await act(lead, csrf, 2, "recategorise", value="xyz")
        assert resp.status == 400 and "没有找到「xyz」这一类" in await resp.text()
        resp = await act(lead, csrf, 2, "reassign", value="第九网格")
        assert resp.status == 400 and "没有找到「第九网格」" in await resp.text()
        after = (await ticket(bot, 2), len(await events_of(bot, 2)), await last_post(bot))
        assert (after[0].item, after[0].holder_person_id, after[1:]) == (before[0].item, before[0].holder_person_id,
                                                                         before[1:])
        resp = await act(lead, csrf, 1, "transfer", value="消防")  # returned: the lifecycle says no
        assert resp.status == 409 and "当前「已退回」，不能「派单」" in await resp.text()
        resp = await act(lead, csrf, 1, "relocate", value="山水天成2栋")
        assert resp.status == 403 and "已结束，不能再更正" in await resp.text()
        assert (await ticket(bot, 1)).status == "returned" and await last_post(bot) == before[2]
        assert (await act(lead, csrf, 2, "nonsense", value="x")).status == 404
        resident = token(await link_for(bot, "r-nobody"))  # residents have no workbench at all
        assert (await web_app.client.post("/web/login", data={"t": resident})).status == 403
    finally:
        for c in (other, worker, lead):
            await c.close()


async def test_the_ticket_page_and_the_ledger_show_the_after_photo_beside_the_before(web_app, bot, h):
    from openpyxl import load_workbook

    from pingan.reports.ledger import COLUMN

    await h.say("张阿姨", "锦城花园3栋楼道有人给电瓶车充电", images=["https://img.example/before.jpg"])
    await h.say("周网格", "到场 #1")
    await h.say("周网格", "办结 #1 已断电并劝离")
    await h.say("周网格", "", images=["https://img.example/after.jpg"])
    mine, _ = await sign_in(web_app, bot, "wang-shequ")
    try:
        page = await (await mine.get("/web/ticket/1")).text()
        before, after = page.split('<div class="after">', 1)
        assert 'src="/web/photo/1/0" alt="上报照片1"' in before.split('<div class="before">', 1)[1]
        assert 'src="/web/photo/1/1" alt="办结后照片1"' in after and "/web/photo/1/0" not in after
        assert "办结后照片 1 张" in page  # the timeline's attach event
        resp = await mine.get("/web/unit/xinlian/ledger.xlsx")
        row = list(load_workbook(io.BytesIO(await resp.read()))["台账"].values)[2]
        base = bot.settings.workbench_url()
        assert row[COLUMN["照片"]] == f"上报 {base}/web/photo/1/0；办结后 {base}/web/photo/1/1"
    finally:
        await mine.close()


def test_s3_photo_storage_with_a_piece_missing_is_a_config_error_naming_it():
    from pingan.config import load_settings
    from pingan.errors import ConfigError

    env = {"PINGAN__PHOTOS__STORE": "s3", "PINGAN__PHOTOS__S3_ENDPOINT": "https://minio.example.org:9000",
           "PINGAN__PHOTOS__S3_BUCKET": "pingan", "PINGAN_PHOTOS_S3_ACCESS_KEY": "AKID"}
    with pytest.raises(ConfigError, match=r"photos\.s3_secret_key \(env PINGAN_PHOTOS_S3_SECRET_KEY\)") as err:
        load_settings(None, env=env)
    assert "s3_access_key" not in str(err.value)
    ok = load_settings(None, env={**env, "PINGAN_PHOTOS_S3_SECRET_KEY": "k"})
    assert ok.photos.s3_secret_key == "k" and load_settings(None, env={}).photos.store == "local"


@pytest.fixture
def s3(settings):
    """A local stand-in for an S3-compatible platform (moto's server, over real HTTP) and the
    `[photos]` settings that point at it; listed before `web_app`, so the workbench is made with them."""
    from moto.server import ThreadedMotoServer

    from pingan.config import PhotosSettings
    from pingan.web.photos import S3Store

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    settings.photos = PhotosSettings(store="s3", s3_endpoint=f"http://{host}:{port}", s3_bucket="pingan",
                                     s3_region="us-east-1", s3_prefix="shequ/", s3_access_key="AKIDTEST",
                                     s3_secret_key="s3cr3t", link_seconds=60)
    client = S3Store(settings.photos).client
    client.make_bucket("pingan")
    yield client
    server.stop()


async def test_photos_kept_in_an_s3_bucket_are_shown_to_who_may_see_the_ticket(s3, web_app, bot, h):
    import aiohttp
    from aiohttp import web as aioweb
    from sqlmodel import select

    from pingan.models import WebPhoto
    from tests.test_server import stub_server, wait_until

    png = b"\x89PNG\r\n\x1a\n" + b"1" * 200

    async def image(request):
        return aioweb.Response(body=png, content_type="image/png")

    platform = await stub_server([("GET", "/img/2.png", image)])
    try:
        await h.say("张阿姨", "锦城花园3栋楼道有人给电瓶车充电", images=[str(platform.make_url("/img/2.png"))])

        async def kept() -> bool:  # in the bucket, and the row says so
            async with bot.sessions() as session:
                row = (await session.exec(select(WebPhoto).where(WebPhoto.ticket_id == 1))).first()
            return row is not None and row.fetched_at is not None

        await wait_until(kept)
        assert [o.object_name for o in s3.list_objects("pingan", prefix="shequ/")] == ["shequ/1-0.png"]
        await platform.close()  # the platform's link is gone; the bucket has it
        assert s3.get_object("pingan", "shequ/1-0.png").read() == png
        mine, _ = await sign_in(web_app, bot, "wang-shequ")
        other, _ = await sign_in(web_app, bot, "tang-xianglong")  # another street's
        try:
            assert 'src="/web/photo/1/0"' in await (await mine.get("/web/ticket/1")).text()
            resp = await mine.get("/web/photo/1/0", allow_redirects=False)
            assert resp.status == 302 and resp.headers["Cache-Control"] == "no-store"
            link = resp.headers["Location"]
            assert "X-Amz-Expires=60" in link and "X-Amz-Signature=" in link
            async with aiohttp.ClientSession() as browser, browser.get(link) as got:
                assert got.status == 200 and await got.read() == png
            assert (await other.get("/web/photo/1/0", allow_redirects=False)).status == 403
        finally:
            await mine.close()
            await other.close()
    finally:
        await platform.close()


async def test_the_live_wall_polls_only_while_someone_watches(bot, settings, h):
    """Nobody on an SSE wall: no refresh every `live_seconds` (a page load refreshes by itself); a
    viewer arriving wakes the poller at once."""
    import asyncio

    from pingan.web.live import Live

    settings.web.live_seconds = 0.02
    hub = Live(bot)
    hub.start()
    try:
        for _ in range(100):
            if hub.mark is not None:
                break
            await asyncio.sleep(0.01)
        before = hub.mark
        await h.say("13800000001", "锦城花园3栋楼道里有人给电瓶车充电", group=None)
        await asyncio.sleep(0.15)  # several poll periods
        assert hub.mark == before
        hub.arrive()
        for _ in range(100):
            if hub.mark != before:
                break
            await asyncio.sleep(0.01)
        assert hub.mark != before
        hub.leave()
    finally:
        await hub.stop()
