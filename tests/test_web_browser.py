"""End to end in a real browser: headless Debian Chromium driven by Playwright, against the real
server (OneBot over its reverse WebSocket, the workbench over HTTP, the wall over SSE).

Needs /usr/bin/chromium (`apt-get install -y chromium`); skipped with that reason otherwise.
Screenshots of the wall and the ticket page go to $PINGAN_TEST_ARTIFACTS (default test-artifacts/)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from pingan.bot.server import make_app
from tests.test_onebot import GROUP, TOKEN, FakeOneBot, group_event
from tests.test_server import Running
from tests.test_web import link_for

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(os.environ.get("PINGAN_TEST_ARTIFACTS", "test-artifacts"))
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]

pytestmark = pytest.mark.skipif(not shutil.which(CHROMIUM), reason=(
    "the browser tests need Debian's chromium at /usr/bin/chromium (apt-get install -y chromium)"))


@pytest.fixture
async def browser():
    playwright = pytest.importorskip("playwright.async_api")
    async with playwright.async_playwright() as p:
        b = await p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        await b.close()


@pytest.fixture
async def server(bot, settings):
    settings.platforms.onebot.enabled = True
    settings.platforms.onebot.access_token = TOKEN
    settings.web.live_seconds = 0.1
    async with Running(make_app(bot, env={})) as r:
        qq = await FakeOneBot(r).connect()
        r.qq = qq
        yield r
        await qq.close()


async def say(server, text: str, message_id: int, user_id: int) -> None:
    await server.qq.send(group_event([{"type": "text", "data": {"text": text}}], message_id, user_id=user_id))


def base(server) -> str:
    return server.url("/").rstrip("/")


async def test_the_wall_live_in_a_browser(browser, server, bot, clock):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    ctx = await browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
    page = await ctx.new_page()
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    link = (await link_for(bot, "chen-jiedao")).split("/web/", 1)[1]
    await page.goto(f"{base(server)}/web/{link}")
    await page.click("#enter")
    tile = page.locator('.tiles [data-unit="xinlian"]')
    await tile.wait_for()
    assert await tile.get_attribute("data-state") == "green"

    await say(server, "锦城花园3栋楼道有人给电瓶车充电<script>alert(1)</script>", 501, 30001)
    await page.wait_for_selector('.tiles [data-unit="xinlian"] [data-k="pending"]:text-is("1")')
    clock.advance(minutes=16)  # the on-scene deadline (15 minutes) has passed
    await page.wait_for_selector('.tiles [data-unit="xinlian"][data-state="amber"]')
    assert await tile.locator('[data-k="overdue"]').inner_text() == "1"
    await page.screenshot(path=str(ARTIFACTS / "wall.png"), full_page=True)

    await say(server, "到场 #1", 502, 20002)  # 周网格, typed in the QQ group
    await page.wait_for_selector('.tiles [data-unit="xinlian"][data-state="green"]')
    assert page.url.endswith("/web/unit/yongfeng")  # never reloaded

    await page.select_option('select[name="category"]', "fire")
    await page.click('.filters button[type="submit"]')
    await page.click('table.tickets a[href="/web/ticket/1"]')
    raw = await page.locator("blockquote.raw").inner_text()
    assert "<script>alert(1)</script>" in raw and not dialogs  # shown as text, never run
    assert "已到场" in await page.locator("table.facts").inner_text()
    await page.screenshot(path=str(ARTIFACTS / "ticket.png"), full_page=True)

    await page.goto(f"{base(server)}/web/{link}")  # the same link again
    assert "已经用过" in await page.content()
    await ctx.close()


async def test_another_street_and_stale_links_are_refused_in_a_browser(browser, server, bot, clock):
    await say(server, "锦城花园3栋楼道有人给电瓶车充电", 601, 30001)
    from tests.test_server import settled

    await settled(server.app)
    ctx = await browser.new_context()
    page = await ctx.new_page()
    link = await link_for(bot, "tang-xianglong")  # 祥龙社区, 华阳街道
    await page.goto(base(server) + "/web/" + link.split("/web/", 1)[1])
    await page.click("#enter")
    await page.wait_for_selector(".tiles")
    resp = await page.goto(f"{base(server)}/web/ticket/1")
    assert resp.status == 403 and "没有权限" in await page.content()

    stale = (await link_for(bot, "chen-jiedao")).split("/web/", 1)[1]
    clock.advance(minutes=11)
    resp = await page.goto(f"{base(server)}/web/{stale}")
    assert resp.status == 403 and "已过期" in await page.content()
    await ctx.close()


def group_texts(qq) -> str:
    """What the bot posted in the QQ coordination group, as plain text."""
    return "\n".join("".join(seg["data"].get("text", "") for seg in a["params"]["message"] if seg["type"] == "text")
                     for a in qq.actions if a["action"] == "send_group_msg" and str(a["params"]["group_id"]) == GROUP)


async def test_a_correction_from_the_ticket_page_is_announced_in_the_group(browser, server, bot):
    from tests.test_server import settled, wait_until

    await say(server, "这里好危险哦 锦城花园3栋楼道", 701, 30001)
    await settled(server.app)
    ctx = await browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = await ctx.new_page()
    await page.goto(base(server) + "/web/" + (await link_for(bot, "wang-shequ")).split("/web/", 1)[1])
    await page.click("#enter")
    await page.wait_for_selector(".tiles")
    await page.goto(f"{base(server)}/web/ticket/1")
    form = page.locator('form[data-act="recategorise"]')
    await form.locator("select").select_option("燃气管道")
    await form.locator("button").click()
    await page.wait_for_selector(".flash.ok")
    assert page.url.endswith("/web/ticket/1?done=recategorise")
    assert "燃气管道" in await page.locator("table.facts").inner_text()
    assert "更正" in await page.locator("ol.timeline").inner_text()
    await page.screenshot(path=str(ARTIFACTS / "ticket-corrected.png"), full_page=True)
    await server.worker.run_once()  # the outbox, as its loop would
    said = await wait_until(lambda: "✏️ #1 改类" in group_texts(server.qq) and group_texts(server.qq))
    assert "燃气管道（王书记）" in said
    await ctx.close()
