"""Fuzz the four inbound endpoints of the real server (in process, loopback): WeChat MP callbacks,
OneBot HTTP POST events, OneBot reverse-WebSocket frames, WeCom robot callbacks.

Each case is a valid request of that platform (signed, encrypted where the platform encrypts) with
its content mutated: fields dropped, replaced by huge or negative numbers, NaN, deep nesting, NUL
bytes and lone surrogates, long strings, wrong types, repeated XML elements, DOCTYPEs, truncation,
flipped bytes. Figures per endpoint: cases, 2xx, 4xx, 5xx (target 0), 4xx answers that stored
something anyway (target 0); for the WebSocket, frames that closed the socket (target 0), and
whether a valid event after all the junk is still stored.

    .venv/bin/python bench/fuzz.py --cases 1000 [--pg postgresql://postgres@127.0.0.1/test]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import json
import logging
import os
import random
import struct
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

WX_TOKEN, OB_TOKEN = "fuzztoken", "fuzz-ob-token"
WC_TOKEN, WC_AES = "wctoken", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
WC_KEY = base64.b64decode(WC_AES + "=")

NASTY = [None, True, -1, 0, 2 ** 31, 2 ** 64, 10 ** 400, -10 ** 400, 1e308, float("nan"), float("inf"), "",
         "\x00", "\ud800", "a" * 5000, "9" * 5000, "[CQ:at,qq=", [], {}, [[[]]], {"a": {"b": {}}}, "8" * 200,
         "80000000", "锦城花园3栋楼道里有人给电瓶车充电", "<xml>", "😀" * 300]


def deep(n: int) -> str:
    return "[" * n + "]" * n


def mutate_json(rng: random.Random, obj) -> bytes:
    """A mutated copy of a JSON object, serialised (sometimes then broken as bytes)."""
    obj = json.loads(json.dumps(obj))
    for _ in range(rng.randint(1, 3)):
        target, key = _pick(rng, obj)
        if target is None:
            break
        op = rng.random()
        if op < 0.2 and isinstance(target, dict):
            target.pop(key, None)
        else:
            target[key] = rng.choice(NASTY)
    if rng.random() < 0.08:  # nesting deeper than any parser's recursion limit
        body = json.dumps(obj, allow_nan=True)
        body = body[:-1] + f', "deep": {deep(rng.choice([500, 5000, 60000]))}}}'
        return body.encode()
    raw = json.dumps(obj, allow_nan=True, ensure_ascii=rng.random() < 0.5).encode("utf-8", "surrogatepass")
    return _break_bytes(rng, raw)


def _pick(rng: random.Random, obj):
    """A random (container, key) inside obj."""
    spots = []

    def walk(o):
        if isinstance(o, dict):
            for k, v in o.items():
                spots.append((o, k))
                walk(v)
        elif isinstance(o, list):
            for i, v in enumerate(o):
                spots.append((o, i))
                walk(v)

    walk(obj)
    return rng.choice(spots) if spots else (None, None)


def _break_bytes(rng: random.Random, raw: bytes) -> bytes:
    r = rng.random()
    if r < 0.05:
        return raw[: rng.randrange(len(raw) or 1)]
    if r < 0.1 and raw:
        b = bytearray(raw)
        for _ in range(rng.randint(1, 4)):
            b[rng.randrange(len(b))] = rng.randrange(256)
        return bytes(b)
    return raw


# --- seeds (valid messages of each platform) -----------------------------------------------------

def onebot_seed(rng: random.Random, i: int) -> dict:
    segs = [{"type": "text", "data": {"text": "锦城花园3栋楼道里有人给电瓶车充电"}}]
    extra = rng.choice([
        {"type": "at", "data": {"qq": "10001", "name": "@平安小助手"}},
        {"type": "image", "data": {"file": "a.jpg", "url": "https://q/a.jpg", "sub_type": 0}},
        {"type": "location", "data": {"lat": "30.99", "lon": "103.6", "title": "锦城花园"}},
        {"type": "json", "data": {"data": json.dumps({"app": "com.tencent.map", "meta": {"Location.Search": {
            "lat": "30.9", "lng": "103.6", "name": "x", "address": "y"}}})}},
        {"type": "reply", "data": {"id": "12345"}}])
    ev = {"time": 1554685200, "self_id": 10001, "post_type": "message", "message_type": rng.choice(["group", "private"]),
          "sub_type": "normal", "message_id": 10_000_000 + i, "group_id": 700002, "user_id": 30001 + i % 50,
          "message": segs + [extra], "raw_message": "", "font": 0, "sender": {"user_id": 30001, "nickname": "张阿姨"}}
    if rng.random() < 0.15:
        ev = {"post_type": "notice", "notice_type": "group_recall", "self_id": 10001, "group_id": 700002,
              "user_id": 30001, "operator_id": 30001, "message_id": 10_000_000 + i - 1, "time": 1}
    return ev


def wechat_seed(rng: random.Random, i: int) -> str:
    kind = rng.choice(["text", "location", "voice", "image", "event"])
    body = {"text": f"<Content><![CDATA[锦城花园{i}栋楼道电瓶车充电]]></Content>",
            "location": "<Location_X>30.99</Location_X><Location_Y>103.61</Location_Y><Scale>15</Scale>"
                        "<Label><![CDATA[锦城花园]]></Label>",
            "voice": "<MediaId>v</MediaId><Format>amr</Format><Recognition><![CDATA[帮助]]></Recognition>",
            "image": "<PicUrl><![CDATA[http://mmbiz/p.jpg]]></PicUrl><MediaId>m</MediaId>",
            "event": "<Event><![CDATA[subscribe]]></Event><EventKey><![CDATA[qrscene_1]]></EventKey>"}[kind]
    return (f"<xml><ToUserName><![CDATA[gh_xinlian]]></ToUserName><FromUserName><![CDATA[o_fuzz{i % 40}]]>"
            f"</FromUserName><CreateTime>{1554685200 + i}</CreateTime><MsgType><![CDATA[{kind}]]></MsgType>"
            f"{body}<MsgId>{7_000_000 + i}</MsgId></xml>")


def mutate_xml(rng: random.Random, xml: str) -> bytes:
    import re

    fields = re.findall(r"<(\w+)>(.*?)</\1>", xml[5:-6])
    r = rng.random()
    if r < 0.15 and fields:  # a repeated element
        name, value = rng.choice(fields)
        xml = xml.replace("</xml>", f"<{name}>{value}</{name}></xml>")
    elif r < 0.2:
        xml = rng.choice(["<!DOCTYPE xml>", '<!DOCTYPE x [<!ENTITY a "b">]>']) + xml
    elif r < 0.75 and fields:  # a field's value replaced
        name, value = rng.choice(fields)
        new = rng.choice([str(10 ** 400), "1e999", "nan", "-91", "", "<a><b>c</b></a>", "x" * 5000, "\x00",
                          "]]>", "<![CDATA[", "&amp;", "&lt;", "9" * 400, "😀" * 100])
        xml = xml.replace(f"<{name}>{value}</{name}>", f"<{name}>{new}</{name}>", 1)
    elif fields:  # a field dropped
        name, value = rng.choice(fields)
        xml = xml.replace(f"<{name}>{value}</{name}>", "", 1)
    return _break_bytes(rng, xml.encode("utf-8", "surrogatepass"))


def wecom_seed(rng: random.Random, i: int) -> dict:
    d = {"msgid": f"fz{i}", "aibotid": "aibot_xinlian", "chattype": rng.choice(["group", "single"]),
         "chatid": "wrXinlianResidents", "from": {"userid": f"u{i % 30}"}, "response_url": "",
         "msgtype": "text", "text": {"content": "@平安小助手 锦城花园3栋楼道电瓶车充电"}}
    r = rng.random()
    if r < 0.2:
        d.update(msgtype="mixed", mixed={"msg_item": [{"msgtype": "text", "text": {"content": "电瓶车"}},
                                                       {"msgtype": "image", "image": {"url": "https://w/p"}}]})
    elif r < 0.3:
        d.update(msgtype="mixed", mixed=json.dumps({"msg_item": [{"msgtype": "text", "text": {"content": "x"}}]}))
    elif r < 0.4:
        d.update(msgtype="event", event={"eventtype": "enter_chat"})
    elif r < 0.5:
        d["quote"] = {"msgtype": "text", "text": {"content": "【隐患 #1】"}}
    return d


# --- signing, as each platform does ----------------------------------------------------------------

def sha1_sorted(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def wecom_encrypt(plain: bytes) -> str:
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    raw = os.urandom(16) + struct.pack(">I", len(plain)) + plain
    pad = 32 - len(raw) % 32
    raw += bytes([pad]) * pad
    enc = Cipher(algorithms.AES(WC_KEY), modes.CBC(WC_KEY[:16])).encryptor()
    return base64.b64encode(enc.update(raw) + enc.finalize()).decode()


# --- the run ------------------------------------------------------------------------------------

async def stored(bot, msg_id: str | None = None) -> int:
    """Inbox rows (with this message id)."""
    from sqlalchemy import func
    from sqlmodel import select

    from pingan.models import InboxMessage

    q = select(func.count()).select_from(InboxMessage)
    async with bot.sessions() as s:
        return (await s.exec(q if msg_id is None else q.where(InboxMessage.msg_id == msg_id))).one()


async def http_cases(bot, client, rng: random.Random, cases: int, stats: dict[str, Counter]) -> None:
    async def post(name: str, path: str, body: bytes, params=None, headers=None) -> None:
        before = await stored(bot)
        resp = await client.post(path, data=body, params=params, headers=headers)
        await resp.read()
        st = stats[name]
        st["cases"] += 1
        st[f"{resp.status // 100}xx"] += 1
        if 400 <= resp.status < 500 and await stored(bot) != before:
            st["4xx that stored"] += 1

    for i in range(cases):
        ts, nonce = str(int(time.time())), f"fz{i}"
        q = {"signature": sha1_sorted(WX_TOKEN, ts, nonce), "timestamp": ts, "nonce": nonce}
        await post("wechat mp", "/wechat/mp", mutate_xml(rng, wechat_seed(rng, i)), params=q)
        await post("onebot http", "/onebot/v11/http", mutate_json(rng, onebot_seed(rng, i)),
                   headers={"Authorization": f"Bearer {OB_TOKEN}"})
        enc = wecom_encrypt(mutate_json(rng, wecom_seed(rng, i)))
        outer = json.dumps({"encrypt": enc}).encode() if rng.random() < 0.9 else mutate_json(rng, {"encrypt": enc})
        q = {"msg_signature": sha1_sorted(WC_TOKEN, ts, nonce, enc), "timestamp": ts, "nonce": nonce}
        await post("wecom", "/wecom/bot", outer, params=q)


async def ws_cases(bot, client, adapter, rng: random.Random, cases: int, st: Counter) -> None:
    """Junk frames on one socket, then a valid event: is the socket still there, is it stored?"""
    st["closed the socket"] = 0
    headers = {"X-Self-ID": "10001", "Authorization": f"Bearer {OB_TOKEN}"}
    ws = await client.ws_connect("/onebot/v11/ws", headers=headers)
    for i in range(cases):
        frame = mutate_json(rng, onebot_seed(rng, cases + i))
        try:
            await (ws.send_bytes(frame) if rng.random() < 0.1 else ws.send_str(frame.decode("utf-8", "surrogatepass")))
        except (UnicodeDecodeError, UnicodeEncodeError):
            await ws.send_bytes(frame)
        st["cases"] += 1
        if ws.closed or not adapter.connections:
            st["closed the socket"] += 1
            ws = await client.ws_connect("/onebot/v11/ws", headers=headers)
    marker = "99999999"
    await ws.send_str(json.dumps({"post_type": "message", "message_type": "private", "self_id": 10001,
                                  "user_id": 30001, "message_id": int(marker), "message": "帮助"}))
    for _ in range(3000):  # up to 30 s: the junk's valid neighbours are still being handled
        if found := await stored(bot, marker):
            break
        await asyncio.sleep(0.01)
    st["valid event after the junk stored"] = found
    st["2xx"] = st["4xx"] = 0  # frames get no status; what counts is the socket
    await ws.close()


async def fuzz(bot, cases: int, seed: int = 13) -> dict[str, Counter]:
    """`cases` mutated requests per endpoint against `bot`'s server. The figures, by endpoint."""
    from aiohttp.test_utils import TestClient, TestServer

    from pingan.bot.server import ADAPTERS, PIPELINE, make_app

    p = bot.settings.platforms
    p.onebot.enabled = p.wechat.enabled = p.wecom.enabled = True
    p.onebot.access_token = OB_TOKEN
    p.wechat.token, p.wechat.app_id = WX_TOKEN, "wxfuzz"
    p.wecom.bot_token, p.wecom.bot_aes_key, p.wecom.bot_name = WC_TOKEN, WC_AES, "平安小助手"
    bot.settings.server.rate_limit_exempt = ["127.0.0.0/8"]
    bot.settings.server.max_body_bytes = 1 << 20
    app = make_app(bot, env={})
    client = TestClient(TestServer(app, host="127.0.0.1"))
    await client.start_server()
    rng = random.Random(seed)
    stats: dict[str, Counter] = {k: Counter() for k in ("wechat mp", "onebot http", "onebot ws", "wecom")}
    try:
        await http_cases(bot, client, rng, cases, stats)
        await ws_cases(bot, client, app[ADAPTERS]["qq"], rng, cases, stats["onebot ws"])
        await app[PIPELINE].drain(30)
    finally:
        await client.close()
    for st in stats.values():
        st.setdefault("5xx", 0)
    return stats


async def run(url: str, cases: int) -> dict[str, Counter]:
    from pingan.bot.app import Bot
    from pingan.config import load_settings

    settings = load_settings(None, env={"PINGAN__DATABASE__URL": url})
    bot = await Bot.create(settings)
    try:
        return await fuzz(bot, cases)
    finally:
        await bot.close()


def report(label: str, stats: dict[str, Counter]) -> None:
    print(f"--- {label}")
    for name, st in stats.items():
        extra = ", ".join(f"{k} {v}" for k, v in st.items() if k not in ("cases", "2xx", "4xx", "5xx"))
        print(f"{name:12} cases {st['cases']:5}  2xx {st['2xx']:5}  4xx {st['4xx']:5}  5xx {st['5xx']:3}"
              + (f"  ({extra})" if extra else ""))


async def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", type=int, default=1000, help="cases per endpoint")
    ap.add_argument("--pg", help="also run against this PostgreSQL server (a fresh database is made)")
    args = ap.parse_args()
    logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(name)s: %(message)s")
    bad = 0
    with tempfile.TemporaryDirectory() as tmp:
        stats = await run(f"sqlite+aiosqlite:///{tmp}/fuzz.db", args.cases)
        report("SQLite", stats)
        bad += sum(st["5xx"] + st["4xx that stored"] + st["closed the socket"] for st in stats.values())
    if args.pg:
        from sqlalchemy import text
        from sqlalchemy.ext.asyncio import create_async_engine

        from pingan.models.db import normalise_url

        name = f"pingan_fuzz{os.getpid()}"
        admin = create_async_engine(normalise_url(args.pg), isolation_level="AUTOCOMMIT")
        async with admin.connect() as c:
            await c.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            stats = await run(args.pg.rsplit("/", 1)[0] + "/" + name, args.cases)
            report("PostgreSQL", stats)
            bad += sum(st["5xx"] + st["4xx that stored"] + st["closed the socket"] for st in stats.values())
        finally:
            async with admin.connect() as c:
                await c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            await admin.dispose()
    print(f"total 5xx + 4xx-that-stored + socket closes: {bad}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
