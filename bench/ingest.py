"""Ingest benchmark: the real server (SQLite) under N concurrent senders on loopback — half OneBot
reverse-WebSocket clients, half WeChat callback POSTers — next to a bare aiohttp+wechatpy echo
server driven the same way, in the same run.

Each sender is closed-loop: it sends a hazard report, waits for the bot's answer, sends the next.
Every report is a new resident's, so each one is a new ticket (see `resident`).
- WeChat: latency = the callback's HTTP round trip (store → parse → ticket → route → enqueue → the
  passive reply claimed from the outbox).
- OneBot: latency = event sent → the bot's `send_private_msg` receipt arriving on the socket (the
  same pipeline plus the outbox worker's send).
The echo server does the wire work only (signature check, parse, render a reply / answer the
event with an action). A second echo server also runs pingan's text parser on each report and
nothing else: no storage, tickets, routing or outbox. It is the ceiling for any pipeline that
parses the report.

It also times the coordination-group post that @-mentions the grid worker (what the 15-minute rule
depends on): from the report being sent to that post arriving on an observer OneBot connection,
matched by ticket number. Systems run in alternated A/B pairs (`--pairs`, the machine may be
shared); min/median/max over the pairs are printed.

Optional systems, each run in the same alternation (all OneBot senders, like "pingan OB"):
- `--nonebot`: NoneBot2's OneBot echo ("nonebot2") and "pingan OB" (pingan, OneBot senders only).
- `--pg DSN`: "pingan OB PG", the same server on PostgreSQL: a fresh database `pingan_bench_ingest`
  on that server (dropped first if it is there, made empty, migrated by the server on start; dropped
  again after the run unless `--keep-pg`).
- `--history N`: "pingan OB aged", the same server on a SQLite database filled before it starts with
  N handled inbox rows, N sent outbox rows and N/2 closed tickets (`--no-history-tickets`: none),
  shaped like pingan's own and dated over the last six days; the fill is timed. It also starts
  "pingan OB", and prints the throughput ratio aged / fresh (issue 16: flat within ±10%).
After the runs, each server's peak RSS (VmHWM from /proc/PID/status) is printed (issue 16: pingan
under 200 MB).

Bounded: `--messages` per sender and `--timeout` seconds overall; loopback only.

    .venv/bin/python bench/ingest.py --senders 100 --messages 20 --pairs 3
    .venv/bin/python bench/ingest.py --pairs 2 --nonebot --pg postgresql://postgres@127.0.0.1/test --history 1000000
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
from aiohttp import web

TOKEN, APP_ID, OB_TOKEN = "benchtoken", "wxbench", "obtoken"
ACCOUNT = "gh_xinlian"


_TAKEN: set[int] = set()


def free_port() -> int:
    """A free port below Linux's ephemeral range (32768–60999): a port the kernel hands out could
    be taken by a client connection (a server's database pool) before its server binds it."""
    for port in range(20000 + os.getpid() % 5000, 32768):
        if port in _TAKEN:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _TAKEN.add(port)
        return port
    raise RuntimeError("no free port below 32768")


def report(i: int) -> str:
    return f"锦城花园{i % 12 + 1}栋楼道里有人给电瓶车充电"


# --- the bare echo server -------------------------------------------------------------------------

def echo_app(with_parser: bool = False) -> web.Application:
    from wechatpy import parse_message
    from wechatpy.replies import TextReply
    from wechatpy.utils import check_signature

    if with_parser:
        from pingan.parser import parse
        parse("预热")  # load the lexicon and model before the first request
    else:
        def parse(text: str) -> None:
            return None

    async def wechat(request: web.Request) -> web.Response:
        q = request.query
        check_signature(TOKEN, q["signature"], q["timestamp"], q["nonce"])
        msg = parse_message(await request.text())
        parse(msg.content)
        return web.Response(text=TextReply(message=msg, content="✅ 已受理 " + msg.content).render(),
                            content_type="application/xml")

    async def onebot(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        n = 0
        async for frame in ws:
            ev = json.loads(frame.data)
            if ev.get("post_type") != "message":
                continue
            n += 1
            parse(ev["raw_message"])
            await ws.send_str(json.dumps({"action": "send_private_msg", "echo": f"e{n}", "params": {
                "user_id": ev["user_id"], "message": [{"type": "text", "data": {"text": "✅ 已受理"}}]}},
                ensure_ascii=False))
        return ws

    app = web.Application()
    app.router.add_post("/wechat/mp", wechat)
    app.router.add_get("/onebot/v11/ws", onebot)
    return app


def run_echo_server(port: int, with_parser: bool) -> None:
    web.run_app(echo_app(with_parser), host="127.0.0.1", port=port, access_log=None, print=None)


# --- a stand-in for the WeChat API (so nothing leaves the machine) ---------------------------------

async def api_stub() -> tuple[web.AppRunner, int]:
    async def token(request):
        return web.json_response({"access_token": "T", "expires_in": 7200})

    async def ok(request):
        return web.json_response({"errcode": 0, "errmsg": "ok"})

    app = web.Application()
    app.router.add_get("/cgi-bin/token", token)
    app.router.add_post("/cgi-bin/message/custom/send", ok)
    app.router.add_post("/cgi-bin/message/template/send", ok)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner, port


# --- the senders -----------------------------------------------------------------------------------

TICKET = re.compile(r"#(\d+)")
# Each report comes from a resident of its own: the same resident's next report of the same hazard
# is read against the open ticket (the conversation layer asks 「是说 #3 吗？」), which is another
# path. Every message here is a new ticket: store, parse, route, ticket, receipt, coordination post.


def resident(run: int, sid: int, i: int) -> int:
    return 30_000_000 + run * 1_000_000 + sid * 1_000 + i


class Coord:
    """Report sent (by ticket number, from its receipt) → coordination post with an @ arrived."""

    def __init__(self) -> None:
        self.sent: dict[int, float] = {}
        self.posted: dict[int, float] = {}

    def receipt(self, text: str, t0: float) -> None:
        m = TICKET.search(text)
        if m:
            self.sent[int(m.group(1))] = t0

    def post(self, segments) -> None:
        if not isinstance(segments, list) or not any(s.get("type") == "at" for s in segments):
            return
        now = time.perf_counter()  # several reports' posts may arrive merged in one message
        for m in TICKET.finditer(segments_text(segments)):
            self.posted.setdefault(int(m.group(1)), now)

    def latencies(self) -> list[float]:
        return [self.posted[n] - t0 for n, t0 in self.sent.items() if n in self.posted]


def segments_text(segments) -> str:
    if isinstance(segments, str):
        return segments
    return "".join(s.get("data", {}).get("text", "") for s in segments if s.get("type") == "text")


def sign(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


async def wechat_sender(session: aiohttp.ClientSession, base: str, run: int, sid: int, n: int, lat: list, errors: list,
                        deadline: float, coord: Coord) -> None:
    for i in range(n):
        openid = f"o_bench_{run}_{sid:04d}_{i:04d}"  # each report from a resident of its own (see RESIDENTS)
        if time.monotonic() > deadline:
            return
        ts, nonce = str(int(time.time())), f"{run}-{sid}-{i}"
        q = {"signature": sign(TOKEN, ts, nonce), "timestamp": ts, "nonce": nonce}
        xml = (f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
               f"<CreateTime>{ts}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
               f"<Content><![CDATA[{report(i)}]]></Content><MsgId>{run * 10_000_000 + sid * 10_000 + i}</MsgId></xml>")
        t0 = time.perf_counter()
        try:
            async with session.post(base + "/wechat/mp", params=q, data=xml.encode()) as r:
                body = await r.text()
                if r.status != 200 or "已受理" not in body:
                    errors.append(f"wechat {r.status} {body[:60]!r}")
                    continue
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            errors.append(f"wechat {type(exc).__name__} {exc}")
            continue
        lat.append(time.perf_counter() - t0)
        coord.receipt(body, t0)


async def onebot_sender(session: aiohttp.ClientSession, base: str, run: int, sid: int, n: int, lat: list, errors: list,
                        deadline: float, coord: Coord) -> None:
    self_id = str(20_000_000 + sid)
    ws = await session.ws_connect(base.replace("http", "ws") + "/onebot/v11/ws",
                                  headers={"X-Self-ID": self_id, "X-Client-Role": "Universal",
                                           "Authorization": f"Bearer {OB_TOKEN}"})
    replies: asyncio.Queue = asyncio.Queue()

    async def reader():
        async for frame in ws:
            if frame.type != aiohttp.WSMsgType.TEXT:
                continue
            act = json.loads(frame.data)
            if "action" not in act:
                continue
            if act["action"] in ("send_private_msg", "send_msg"):
                replies.put_nowait((time.perf_counter(), segments_text(act["params"].get("message"))))
            elif act["action"] == "send_group_msg":
                coord.post(act["params"].get("message"))
            await ws.send_str(json.dumps({"status": "ok", "retcode": 0, "data": {"message_id": 1},
                                          "echo": act["echo"]}))

    task = asyncio.create_task(reader())
    try:
        for i in range(n):
            if time.monotonic() > deadline:
                return
            user = resident(run, sid, i)
            ev = {"time": int(time.time()), "self_id": int(self_id), "post_type": "message",
                  "message_type": "private", "sub_type": "friend", "message_id": run * 10_000_000 + sid * 10_000 + i, "user_id": user,
                  "message": [{"type": "text", "data": {"text": report(i)}}], "raw_message": report(i),
                  "font": 0, "sender": {"user_id": user, "nickname": f"居民{sid}"}}
            t0 = time.perf_counter()
            await ws.send_str(json.dumps(ev, ensure_ascii=False))
            try:
                t1, text = await asyncio.wait_for(replies.get(), max(0.1, deadline - time.monotonic()))
            except asyncio.TimeoutError:
                errors.append("onebot: no reply in time")
                return
            lat.append(t1 - t0)
            coord.receipt(text, t0)
    finally:
        await ws.close()
        task.cancel()


async def observer(session: aiohttp.ClientSession, base: str, coord: Coord, ready: asyncio.Event,
                   done: asyncio.Event) -> None:
    """A OneBot account connected first and for the whole run: group posts to chats no sender has
    written in (the coordination group) go out through it."""
    ws = await session.ws_connect(base.replace("http", "ws") + "/onebot/v11/ws",
                                  headers={"X-Self-ID": "29999999", "X-Client-Role": "Universal",
                                           "Authorization": f"Bearer {OB_TOKEN}"})
    ready.set()

    async def reader():
        async for frame in ws:
            if frame.type != aiohttp.WSMsgType.TEXT:
                continue
            act = json.loads(frame.data)
            if "action" not in act:
                continue
            if act["action"] == "send_group_msg":
                coord.post(act["params"].get("message"))
            await ws.send_str(json.dumps({"status": "ok", "retcode": 0, "data": {"message_id": 1},
                                          "echo": act["echo"]}))

    task = asyncio.create_task(reader())
    await done.wait()
    await ws.close()
    task.cancel()


def pct(xs, p):
    return statistics.quantiles(xs, n=100)[p - 1] * 1000 if len(xs) >= 2 else float("nan")


async def drive(base: str, senders: int, messages: int, timeout: float, run: int, onebot_only: bool = False) -> dict:
    deadline = time.monotonic() + timeout
    lat_w, lat_o, errors = [], [], []
    coord = Coord()
    conn = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=conn, timeout=aiohttp.ClientTimeout(total=30)) as session:
        ready, done = asyncio.Event(), asyncio.Event()
        watch = asyncio.create_task(observer(session, base, coord, ready, done))
        await asyncio.wait_for(ready.wait(), 10)
        n_ob = senders if onebot_only else senders // 2
        t0 = time.perf_counter()
        await asyncio.gather(
            *(onebot_sender(session, base, run, s, messages, lat_o, errors, deadline, coord) for s in range(n_ob)),
            *(wechat_sender(session, base, run, s, messages, lat_w, errors, deadline, coord)
              for s in range(n_ob, senders)))
        elapsed = time.perf_counter() - t0
        for _ in range(100):  # the last coordination posts (not counted in the throughput)
            if not coord.sent or all(n in coord.posted for n in coord.sent):
                break
            await asyncio.sleep(0.1)
        done.set()
        await watch
    both = lat_w + lat_o
    cl = coord.latencies()
    return {"done": len(both), "errors": len(errors), "first_error": errors[0] if errors else "",
            "elapsed": elapsed, "rate": len(both) / elapsed if elapsed else 0,
            "p50": pct(both, 50), "p99": pct(both, 99), "wechat_p50": pct(lat_w, 50), "wechat_p99": pct(lat_w, 99),
            "onebot_p50": pct(lat_o, 50), "onebot_p99": pct(lat_o, 99),
            "coord_n": len(cl), "coord_missing": len(coord.sent) - len(cl),
            "coord_p50": pct(cl, 50), "coord_p99": pct(cl, 99)}


async def wait_up(base: str, proc: subprocess.Popen, path: str, timeout: float = 60) -> None:
    t = time.monotonic() + timeout
    async with aiohttp.ClientSession() as s:
        while time.monotonic() < t:
            if proc.poll() is not None:
                raise SystemExit(f"server exited ({proc.returncode}); see its log")
            try:
                async with s.get(base + path) as r:
                    if r.status < 500:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise SystemExit("server did not come up")


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def show(name: str, r: dict) -> None:
    coord = (f"  coordination @ p50/p99 {r['coord_p50']:.1f}/{r['coord_p99']:.1f} ms ({r['coord_n']} posts"
             + (f", {r['coord_missing']} missing)" if r["coord_missing"] else ")")) if r["coord_n"] else ""
    print(f"{name:<14} {r['done']:>6} msgs in {r['elapsed']:6.2f}s  {r['rate']:8.1f} msg/s   "
          f"p50 {r['p50']:7.1f} ms  p99 {r['p99']:7.1f} ms   "
          f"(wechat p50/p99 {r['wechat_p50']:.1f}/{r['wechat_p99']:.1f}, onebot {r['onebot_p50']:.1f}/{r['onebot_p99']:.1f})"
          + coord + (f"  errors {r['errors']} e.g. {r['first_error']}" if r["errors"] else ""), flush=True)


def spread(name: str, runs: list[dict]) -> None:
    """min / median / max over the alternated runs."""
    def mmm(key: str, fmt: str) -> str:
        xs = [r[key] for r in runs if r[key] == r[key]]
        return "/".join(format(f(xs), fmt) for f in (min, statistics.median, max)) if xs else "—"

    print(f"{name:<14} rate {mmm('rate', '.0f')} msg/s  p99 receipt {mmm('p99', '.1f')} ms  "
          f"p99 coordination @ {mmm('coord_p99', '.1f')} ms   (min/median/max of {len(runs)})")


def sqlite_url(d: Path) -> str:
    return f"sqlite+aiosqlite:///{d / 'bench.db'}"


def write_config(tmp: Path, port: int, api_port: int, db_url: str | None = None) -> None:
    (tmp / "config.toml").write_text(f"""
[database]
url = "{db_url or sqlite_url(tmp)}"
[server]
host = "127.0.0.1"
port = {port}
rate_limit_exempt = ["127.0.0.0/8"]
max_body_bytes = 262144
[outbox]
qq_per_chat_per_minute = 100000
[policy]
# no quiet hours: at night a small thing waits for the morning and its post @-mentions nobody, so a
# run after 22:00 would time no coordination @ at all
quiet_start = "00:00"
quiet_end = "00:00"
[scheduler]
# off: catching up a missed digest at start-up draws charts in the middle of the run (bench/scale.py
# measures the scheduler)
enabled = false
[platforms.onebot]
enabled = true
[platforms.wechat]
enabled = true
app_id = "{APP_ID}"
api_base = "http://127.0.0.1:{api_port}"
passive_budget_seconds = 3.0
""", "utf-8")


NONEBOT_PINS = ["nonebot2[fastapi]==2.5.0", "nonebot-adapter-onebot==2.4.6", "fastapi==0.163.2", "uvicorn[standard]==0.54.0"]
NONEBOT_VENV = Path(__file__).parent / ".nonebot-venv"  # the benchmark's own: not a pingan dependency
NONEBOT_BOT = """
import nonebot
from nonebot.adapters.onebot.v11 import Adapter, MessageEvent, MessageSegment

nonebot.init(driver="~fastapi", host="127.0.0.1", port={port}, onebot_access_token="{token}", log_level="WARNING")
nonebot.get_driver().register_adapter(Adapter)
echo = nonebot.on_message()


@echo.handle()
async def _(event: MessageEvent):
    await echo.send(MessageSegment.at(event.user_id) + " ✅ 已受理")


nonebot.run()
"""


def nonebot_python() -> str:
    """NoneBot2 with its OneBot adapter, pinned, in a venv of the benchmark's (made once)."""
    py = NONEBOT_VENV / "bin" / "python"
    stamp = NONEBOT_VENV / "pins.txt"
    if not (py.exists() and stamp.exists() and stamp.read_text() == "\n".join(NONEBOT_PINS)):
        subprocess.run([sys.executable, "-m", "venv", str(NONEBOT_VENV)], check=True)
        subprocess.run([str(py), "-m", "pip", "install", "-q", *NONEBOT_PINS], check=True)
        stamp.write_text("\n".join(NONEBOT_PINS))
    return str(py)


def start_servers(args, tmp: Path, api_port: int, log) -> dict[str, tuple[int, subprocess.Popen, str, bool]]:
    """name → (port, process, health path, OneBot senders only)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PINGAN")}
    env.update(PINGAN_WECHAT_TOKEN=TOKEN, PINGAN_WECHAT_APP_SECRET="s", PINGAN_ONEBOT_ACCESS_TOKEN=OB_TOKEN)
    py = sys.executable
    out: dict[str, tuple[int, subprocess.Popen, str, bool]] = {}

    def spawn(name, cmd, cwd, health, onebot_only=False, **extra):
        port = free_port()
        cmd = [c.format(port=port) for c in cmd]
        proc = subprocess.Popen(cmd, cwd=cwd, env={**env, **extra}, stdout=log, stderr=subprocess.STDOUT)
        out[name] = (port, proc, health, onebot_only)
        return port

    def pingan(name, src=None, onebot_only=False, db_url=None):
        d = tmp / name.replace(" ", "-")
        d.mkdir(exist_ok=True)
        extra = {"PYTHONPATH": str(Path(src).resolve())} if src else {}
        port = spawn(name, [py, "-c", "from pingan.cli import app; app()", "serve"], d, "/healthz", onebot_only,
                     PINGAN_CONFIG=str(d / "config.toml"), **extra)
        write_config(d, port, api_port, db_url)

    spawn("bare echo", [py, __file__, "--echo-server", "{port}"], tmp, "/")
    spawn("echo+parse", [py, __file__, "--echo-server", "{port}", "--with-parser"], tmp, "/")
    pingan("pingan")
    if args.baseline:  # the same server from another source tree (e.g. `git archive` of a commit)
        pingan("baseline", args.baseline)
    if args.nonebot or args.history:
        pingan("pingan OB", onebot_only=True)
    if args.pg:
        pingan("pingan OB PG", onebot_only=True, db_url=args.pg_url)
    if args.history:  # its database was filled beforehand (fill_history)
        pingan("pingan OB aged", onebot_only=True)
    if args.nonebot:
        nb = nonebot_python()
        port = free_port()
        (tmp / "nb_bot.py").write_text(NONEBOT_BOT.replace("{token}", OB_TOKEN).replace("{port}", str(port)), "utf-8")
        proc = subprocess.Popen([nb, str(tmp / "nb_bot.py")], cwd=tmp, env=env, stdout=log, stderr=subprocess.STDOUT)
        out["nonebot2"] = (port, proc, "/onebot/v11/ws", True)
    return out


# --- PostgreSQL (--pg) -------------------------------------------------------------------------------

PG_DB = "pingan_bench_ingest"


def pg_url(dsn: str, db: str = PG_DB) -> str:
    """The DSN with its database replaced by the benchmark's."""
    from urllib.parse import urlsplit, urlunsplit
    return urlunsplit(urlsplit(dsn)._replace(path="/" + db))


async def pg_fresh(dsn: str, create: bool = True) -> None:
    """Drop the benchmark's database on that server (if it is there) and, with `create`, make it
    anew, empty: the server migrates it on start."""
    import asyncpg
    conn = await asyncpg.connect(normalise_dsn(dsn))
    try:
        await conn.execute(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")
        if create:
            await conn.execute(f"CREATE DATABASE {PG_DB}")
    finally:
        await conn.close()


def normalise_dsn(dsn: str) -> str:
    """asyncpg takes postgresql:// only (not SQLAlchemy's postgresql+asyncpg://)."""
    return "postgresql://" + dsn.split("://", 1)[1]


# --- an aged database (--history) ----------------------------------------------------------------------

def fill_history(d: Path, n: int, tickets: int) -> None:
    """Migrate `d`/bench.db, then store `n` handled inbox rows, `n` sent outbox rows and `tickets`
    closed tickets in it, in one transaction, shaped like what pingan writes (Bot.inbox_row,
    outbox_rows), dated over the last six days (inside the 7-day dedupe window, so every inbox row
    keeps its key), with keys no run's message uses."""
    import sqlite3
    from datetime import datetime, timedelta, timezone

    from pingan.models.db import upgrade_sync

    d.mkdir(exist_ok=True)
    t_start = time.perf_counter()
    upgrade_sync(sqlite_url(d))
    print(f"history: migrated {d / 'bench.db'} in {time.perf_counter() - t_start:.1f}s; filling "
          f"{n:,} inbox + {n:,} outbox rows + {tickets:,} closed tickets", flush=True)
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    start, span = now - timedelta(days=6), timedelta(days=6) - timedelta(hours=1)
    step = span / max(n, 1)
    t_iso = lambda i: (start + step * i).isoformat(" ", "microseconds")  # noqa: E731 (UTCDateTime on SQLite)
    tz8 = timezone(timedelta(hours=8))
    text = [report(i) for i in range(12)]
    chunk = 100_000

    def progress(what: str, rows: int) -> None:
        print(f"history: {what} {rows:,} rows, {time.perf_counter() - t_start:.1f}s", flush=True)

    def inbox(lo: int, hi: int):
        for i in range(lo, hi):
            account, user = str(20_000_000 + i % 100), str(40_000_000 + i // 4)  # 4 reports a resident
            at = start + step * i
            payload = {"chat": {"platform": "qq", "account": account, "chat_type": "private", "chat_id": user,
                                "via": None}, "msg_id": f"h{i}", "sender_id": user, "text": text[i % 12],
                       "sender_name": f"居民{i % 1000}", "mentions_bot": False, "reply_to": None, "quoted_text": None,
                       "images": [], "location": None,
                       "received_at": at.replace(tzinfo=timezone.utc).astimezone(tz8).isoformat(), "event": None}
            ts = at.isoformat(" ", "microseconds")
            yield ("qq", account, user, f"h{i}", json.dumps(payload), ts, ts)

    def outbox(lo: int, hi: int):
        for i in range(lo, hi):
            ts, tid = t_iso(i), (i // 2) % tickets + 1 if tickets else None
            if i % 2:  # the coordination post that @-mentions the grid worker
                payload = {"parts": [{"text": f"【隐患 #{tid}】消防·电瓶车违规充电（小事·马上办）\n📍锦城花园1栋\n"},
                                     {"mention": {"name": "周网格", "user_id": "20002", "mobile": "13800000002"}},
                                     {"text": " "}, {"text": f"⏰请 23:55 前到场，回复「到场 #{tid}」"}],
                           "image": None, "file": None}
                row = ("qq", "", "group", "700001", json.dumps(payload), tid, None)
            else:  # the reporter's receipt
                payload = {"parts": [{"text": f"✅ 已受理，编号 #{tid}\n类别：消防·电瓶车违规充电\n地点：锦城花园1栋"}],
                           "image": None, "file": None}
                row = ("qq", str(20_000_000 + i % 100), "private", str(40_000_000 + i // 4), json.dumps(payload),
                       None, None)
            yield (*row[:6], "sent", 1, ts, ts, ts, row[6], f"r{i}", None, None)

    def closed(lo: int, hi: int):
        for i in range(lo, hi):
            t = start + span * i / max(tickets, 1)
            c, r = t.isoformat(" ", "microseconds"), (t + timedelta(minutes=30)).isoformat(" ", "microseconds")
            account, user = str(20_000_000 + i % 100), str(40_000_000 + i // 2)
            reply = {"platform": "qq", "account": account, "chat_type": "private", "chat_id": user, "via": None,
                     "key": f"qq:{account}:private:{user}", "user_id": user, "name": f"居民{i % 1000}"}
            yield ("resident", json.dumps(reply), text[i % 12], "fire", "电瓶车违规充电", "锦城花园1栋", 0, "小",
                   json.dumps(["电瓶车", "充电"]), "xinlian", "xinlian-g2", "grid", "xinlian-g2",
                   "zhou-wangge", "closed", "处理完毕", "满意", 0, 0, c, r, c, c, c, r, r, c)

    db = sqlite3.connect(d / "bench.db", isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=OFF")
    db.execute("BEGIN")
    for lo in range(0, tickets, chunk):
        db.executemany("INSERT INTO tickets (source, reply_chat, raw_text, category, item, location, urgent, size, "
                       "matched, unit_id, grid_id, holder_level, holder_unit_id, holder_person_id, status, "
                       "resolution_note, feedback, escalations, urges, created_at, updated_at, dispatched_at, "
                       "acknowledged_at, on_scene_at, resolved_at, closed_at, held_since) "
                       "VALUES (" + ", ".join("?" * 27) + ")", closed(lo, min(lo + chunk, tickets)))
        progress("tickets", min(lo + chunk, tickets))
    for lo in range(0, n, chunk):
        db.executemany("INSERT INTO inbox (platform, account, chat_id, msg_id, payload, received_at, handled_at) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?)", inbox(lo, min(lo + chunk, n)))
        progress("inbox", min(lo + chunk, n))
    for lo in range(0, n, chunk):
        db.executemany("INSERT INTO outbox (platform, account, chat_type, chat_id, payload, ticket_id, status, "
                       "attempts, next_attempt_at, created_at, sent_at, last_error, remote_id, claimed_until, "
                       "claimed_by) VALUES (" + ", ".join("?" * 15) + ")", outbox(lo, min(lo + chunk, n)))
        progress("outbox", min(lo + chunk, n))
    db.execute("COMMIT")
    db.close()
    size = (d / "bench.db").stat().st_size / 2**20
    print(f"history: filled in {time.perf_counter() - t_start:.1f}s ({size:,.0f} MB)", flush=True)


def peak_rss(pid: int) -> float | None:
    """The process's peak resident set (VmHWM), in MB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def children(pid: int) -> list[int]:
    """The process's child processes (pingan's parser workers and multiprocessing's tracker)."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(stat.parent.name))
        except (OSError, ValueError, IndexError):
            pass
    return out


def show_rss(servers: dict) -> None:
    """Each server's peak RSS; pingan's with its child processes' beside it (their own peaks, summed:
    shared pages are counted twice, so the sum is an upper bound)."""
    mine, other = [], []
    for name, (_, proc, _, _) in servers.items():
        mb = peak_rss(proc.pid)
        if mb is None:
            continue
        if name.startswith(("pingan", "baseline")):
            kids = [k for k in (peak_rss(c) for c in children(proc.pid)) if k is not None]
            mine.append(f"{name} {mb:.0f} MB" + (f" + {sum(kids):.0f} MB in {len(kids)} child process(es)" if kids else ""))
        else:
            other.append(f"{name} {mb:.0f} MB")
    print(f"peak RSS (VmHWM): {'  '.join(mine)}   (target < 200 MB each under load; beside: {', '.join(other)})")


async def main(args) -> None:
    runner, api_port = await api_stub()
    tmp = Path(tempfile.mkdtemp(prefix="pingan-bench-"))
    log = open(tmp / "server.log", "wb")  # never a pipe nobody reads: a full pipe blocks the server
    args.pg_url = pg_url(args.pg) if args.pg else None
    if args.pg:
        await pg_fresh(args.pg)
    if args.history:
        tickets = args.history // 2 if args.history_tickets else 0
        await asyncio.to_thread(fill_history, tmp / "pingan-OB-aged", args.history, tickets)
    servers = start_servers(args, tmp, api_port, log)
    try:
        for port, proc, health, _ in servers.values():
            await wait_up(f"http://127.0.0.1:{port}", proc, health, timeout=180)
        print(f"{args.senders} concurrent senders ({args.senders // 2} OneBot WS + {args.senders - args.senders // 2} "
              f"WeChat POST; 'pingan OB…' and 'nonebot2': {args.senders} OneBot WS), {args.messages} messages each, "
              f"SQLite" + (f" ('pingan OB PG': PostgreSQL {args.pg_url})"
                           if args.pg else "")
              + (f" ('pingan OB aged': {args.history:,} stored inbox and outbox rows)" if args.history else "")
              + f", loopback; load average {os.getloadavg()[0]:.2f}")
        for port, _, _, ob in servers.values():  # warm-up (jieba, connection pools): not measured
            await drive(f"http://127.0.0.1:{port}", 4, 2, 30, run=1, onebot_only=ob)
        runs: dict[str, list[dict]] = {name: [] for name in servers}
        for pair in range(args.pairs):  # A/B pairs, the order flipped each time
            order = list(servers) if pair % 2 == 0 else list(reversed(servers))
            for name in order:
                port, _, _, ob = servers[name]
                r = await drive(f"http://127.0.0.1:{port}", args.senders, args.messages, args.timeout,
                                run=2 + pair, onebot_only=ob)
                runs[name].append(r)
                show(name, r)
        print(f"load average {os.getloadavg()[0]:.2f}")
        for name, rs in runs.items():
            spread(name, rs)
        ratios(runs)
        show_rss(servers)
    finally:
        for _, proc, _, _ in servers.values():
            stop(proc)
        log.close()
        for db in tmp.rglob("*.db*"):  # the databases (1.8 GB aged), not the server log
            db.unlink()
        print(f"server log: {tmp / 'server.log'}")
        await runner.cleanup()
        if args.pg and not args.keep_pg:
            await pg_fresh(args.pg, create=False)


def ratios(runs: dict[str, list[dict]]) -> None:
    """Throughput ratios of runs in the same pair (min/median/max), so a busy moment on the shared
    machine weighs on both sides."""
    def ratio(a: str, b: str, what: str) -> None:
        if a in runs and b in runs:
            xs = [x["rate"] / y["rate"] for x, y in zip(runs[a], runs[b]) if y["rate"]]
            print(f"throughput {a} / {b}: " + "/".join(f"{f(xs):.2f}" for f in (min, statistics.median, max))
                  + f"  (min/median/max over pairs) {what}")

    ratio("echo+parse", "bare echo", "the parser alone, the ceiling for any pipeline that parses")
    ratio("pingan", "bare echo", "")
    ratio("pingan", "baseline", "this tree against the baseline tree")
    ratio("pingan OB", "nonebot2", "durable pingan against NoneBot2's non-durable echo, OneBot only")
    ratio("pingan OB PG", "nonebot2", "the same on PostgreSQL")
    ratio("pingan OB PG", "pingan OB", "PostgreSQL against SQLite")
    ratio("pingan OB aged", "pingan OB", "with the stored history against a fresh database (target 0.90–1.10)")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--senders", type=int, default=100)
    ap.add_argument("--messages", type=int, default=20, help="messages per sender")
    ap.add_argument("--timeout", type=float, default=120.0, help="seconds per run, at most")
    ap.add_argument("--pairs", type=int, default=3, help="alternated runs of each system")
    ap.add_argument("--baseline", metavar="DIR", help="also run pingan from this source tree, alternated")
    ap.add_argument("--nonebot", action="store_true",
                    help="also run NoneBot2's echo (installed into bench/.nonebot-venv on first use)")
    ap.add_argument("--pg", metavar="DSN",
                    help="also run 'pingan OB PG': pingan, OneBot only, on a fresh database "
                         f"{PG_DB} on this PostgreSQL server (dropped first and after; see --keep-pg)")
    ap.add_argument("--keep-pg", action="store_true", help=f"leave {PG_DB} in place after the run")
    ap.add_argument("--history", type=int, metavar="N", default=0,
                    help="also run 'pingan OB aged': pingan, OneBot only, on a SQLite database filled beforehand "
                         "with N handled inbox rows, N sent outbox rows and N/2 closed tickets (and 'pingan OB')")
    ap.add_argument("--no-history-tickets", dest="history_tickets", action="store_false",
                    help="--history without the closed tickets")
    ap.add_argument("--echo-server", type=int, metavar="PORT", help=argparse.SUPPRESS)
    ap.add_argument("--with-parser", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.echo_server:
        run_echo_server(a.echo_server, a.with_parser)
    else:
        asyncio.run(main(a))
