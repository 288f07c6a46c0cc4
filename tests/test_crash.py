"""Crash between storing and handling: the message is neither lost nor handled twice.

1. The real server (`pingan serve` in a subprocess) with a test hook that makes it exit right after
   storing a message (PINGAN_TEST_CRASH_AFTER_RECEIVE=1); restarted, it recovers the stored message
   at start: exactly one ticket and one post to the QQ group.
2. In process: stored, the bot dropped unprocessed, a new bot recovers it (twice over: still one)."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time

import aiohttp

from pingan.bot.app import Bot
from pingan.bot.console import group_chat, message
from pingan.models import InboxMessage, OutboxMessage, Ticket
from tests.test_server import REPORT, count, rows

TOKEN = "crash-token"
GROUP = 700001


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(db_url: str, port: int, cwd, crash: bool) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PINGAN")}
    env.update({"PINGAN__DATABASE__URL": db_url, "PINGAN__PLATFORMS__ONEBOT__ENABLED": "true",
                "PINGAN_ONEBOT_ACCESS_TOKEN": TOKEN, "PINGAN__SERVER__HOST": "127.0.0.1",
                "PINGAN__SERVER__PORT": str(port)})
    if crash:
        env["PINGAN_TEST_CRASH_AFTER_RECEIVE"] = "1"
    return subprocess.Popen([sys.executable, "-c", "from pingan.cli import app; app()", "serve"], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


async def wait_healthy(port: int, proc: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as s:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise AssertionError(f"server exited early: {proc.stdout.read().decode(errors='replace')}")
            try:
                async with s.get(f"http://127.0.0.1:{port}/healthz") as r:
                    if r.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError("server did not start")


def event(message_id: int) -> dict:
    return {"time": 1554685200, "self_id": 10001, "post_type": "message", "message_type": "group",
            "sub_type": "normal", "message_id": message_id, "group_id": GROUP, "user_id": 30001,
            "message": [{"type": "text", "data": {"text": REPORT}}], "raw_message": REPORT, "font": 0,
            "sender": {"user_id": 30001, "nickname": "张阿姨"}}


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


async def test_server_killed_between_store_and_handle(bot, settings, tmp_path):
    port = free_port()
    url = f"ws://127.0.0.1:{port}/onebot/v11/ws"
    headers = {"X-Self-ID": "10001", "X-Client-Role": "Universal", "Authorization": f"Bearer {TOKEN}"}
    proc = start_server(settings.database.url, port, tmp_path, crash=True)
    try:
        await wait_healthy(port, proc)
        async with aiohttp.ClientSession() as s:
            ws = await s.ws_connect(url, headers=headers)
            await ws.send_str(json.dumps(event(4242), ensure_ascii=False))
            await asyncio.wait_for(ws.receive(), 20)  # the socket drops when the server dies
        for _ in range(200):
            if proc.poll() is not None:
                break
            await asyncio.sleep(0.05)
        assert proc.returncode == 70
    finally:
        stop(proc)
    assert await count(bot, InboxMessage) == 1
    assert await count(bot, InboxMessage, InboxMessage.handled_at.is_(None)) == 1
    assert await count(bot, Ticket) == 0

    proc = start_server(settings.database.url, port, tmp_path, crash=False)
    try:
        await wait_healthy(port, proc)
        actions = []
        async with aiohttp.ClientSession() as s:
            ws = await s.ws_connect(url, headers=headers)
            deadline = time.monotonic() + 3.0  # collect for a while: a duplicate would show up here
            while time.monotonic() < deadline:
                try:
                    frame = await asyncio.wait_for(ws.receive(), max(0.05, deadline - time.monotonic()))
                except asyncio.TimeoutError:
                    break
                if frame.type != aiohttp.WSMsgType.TEXT:
                    break
                action = json.loads(frame.data)
                actions.append(action)
                await ws.send_str(json.dumps({"status": "ok", "retcode": 0, "data": {"message_id": 1},
                                              "echo": action["echo"]}))
            await ws.close()
    finally:
        stop(proc)
    assert await count(bot, Ticket) == 1
    assert await count(bot, InboxMessage, InboxMessage.handled_at.is_(None)) == 0
    group_posts = [a for a in actions if a["action"] == "send_group_msg"]
    assert len(group_posts) == 1 and group_posts[0]["params"]["group_id"] == GROUP
    sent = await rows(bot, OutboxMessage, OutboxMessage.platform == "qq")
    assert [r.status for r in sent] == ["sent"]


async def test_dropped_bot_recovered_once(settings, clock):
    first = await Bot.create(settings, clock)
    inbox_id = await first.receive(message(group_chat("新联社区平安工作群"), "张阿姨", REPORT))
    assert inbox_id is not None
    await first.close()  # "crash": stored, never processed
    second = await Bot.create(settings, clock)
    try:
        assert await second.recover() == 1
        assert await second.recover() == 0
        assert await count(second, Ticket) == 1
        # a re-delivery of the same message after the restart is still a duplicate
        again = message(group_chat("新联社区平安工作群"), "张阿姨", REPORT)
        again.msg_id = (await rows(second, InboxMessage))[0].msg_id
        assert await second.receive(again) is None
        assert await count(second, Ticket) == 1
    finally:
        await second.close()
