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

Bounded: `--messages` per sender and `--timeout` seconds overall; loopback only.

    .venv/bin/python bench/ingest.py --senders 100 --messages 20 --pairs 3
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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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
        ts, nonce = str(int(time.time())), f"{sid}-{i}"
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
    print(f"{name:<10} {r['done']:>6} msgs in {r['elapsed']:6.2f}s  {r['rate']:8.1f} msg/s   "
          f"p50 {r['p50']:7.1f} ms  p99 {r['p99']:7.1f} ms   "
          f"(wechat p50/p99 {r['wechat_p50']:.1f}/{r['wechat_p99']:.1f}, onebot {r['onebot_p50']:.1f}/{r['onebot_p99']:.1f})"
          + coord + (f"  errors {r['errors']} e.g. {r['first_error']}" if r["errors"] else ""), flush=True)


def spread(name: str, runs: list[dict]) -> None:
    """min / median / max over the alternated runs."""
    def mmm(key: str, fmt: str) -> str:
        xs = [r[key] for r in runs if r[key] == r[key]]
        return "/".join(format(f(xs), fmt) for f in (min, statistics.median, max)) if xs else "—"

    print(f"{name:<10} rate {mmm('rate', '.0f')} msg/s  p99 receipt {mmm('p99', '.1f')} ms  "
          f"p99 coordination @ {mmm('coord_p99', '.1f')} ms   (min/median/max of {len(runs)})")


def write_config(tmp: Path, port: int, api_port: int) -> None:
    (tmp / "config.toml").write_text(f"""
[database]
url = "sqlite+aiosqlite:///{tmp / 'bench.db'}"
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

    def pingan(name, src=None, onebot_only=False):
        d = tmp / name.replace(" ", "-")
        d.mkdir()
        extra = {"PYTHONPATH": str(Path(src).resolve())} if src else {}
        port = spawn(name, [py, "-c", "from pingan.cli import app; app()", "serve"], d, "/healthz", onebot_only,
                     PINGAN_CONFIG=str(d / "config.toml"), **extra)
        write_config(d, port, api_port)

    spawn("bare echo", [py, __file__, "--echo-server", "{port}"], tmp, "/")
    spawn("echo+parse", [py, __file__, "--echo-server", "{port}", "--with-parser"], tmp, "/")
    pingan("pingan")
    if args.baseline:  # the same server from another source tree (e.g. `git archive` of a commit)
        pingan("baseline", args.baseline)
    if args.nonebot:
        nb = nonebot_python()
        pingan("pingan OB", onebot_only=True)
        port = free_port()
        (tmp / "nb_bot.py").write_text(NONEBOT_BOT.replace("{token}", OB_TOKEN).replace("{port}", str(port)), "utf-8")
        proc = subprocess.Popen([nb, str(tmp / "nb_bot.py")], cwd=tmp, env=env, stdout=log, stderr=subprocess.STDOUT)
        out["nonebot2"] = (port, proc, "/onebot/v11/ws", True)
    return out


async def main(args) -> None:
    runner, api_port = await api_stub()
    tmp = Path(tempfile.mkdtemp(prefix="pingan-bench-"))
    log = open(tmp / "server.log", "wb")  # never a pipe nobody reads: a full pipe blocks the server
    servers = start_servers(args, tmp, api_port, log)
    try:
        for port, proc, health, _ in servers.values():
            await wait_up(f"http://127.0.0.1:{port}", proc, health)
        print(f"{args.senders} concurrent senders ({args.senders // 2} OneBot WS + {args.senders - args.senders // 2} "
              f"WeChat POST; 'pingan OB' and 'nonebot2': {args.senders} OneBot WS), {args.messages} messages each, "
              f"SQLite, loopback; load average {os.getloadavg()[0]:.2f}")
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
    finally:
        for _, proc, _, _ in servers.values():
            stop(proc)
        log.close()
        print(f"server log: {tmp / 'server.log'}")
        await runner.cleanup()


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


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--senders", type=int, default=100)
    ap.add_argument("--messages", type=int, default=20, help="messages per sender")
    ap.add_argument("--timeout", type=float, default=120.0, help="seconds per run, at most")
    ap.add_argument("--pairs", type=int, default=3, help="alternated runs of each system")
    ap.add_argument("--baseline", metavar="DIR", help="also run pingan from this source tree, alternated")
    ap.add_argument("--nonebot", action="store_true",
                    help="also run NoneBot2's echo (installed into bench/.nonebot-venv on first use)")
    ap.add_argument("--echo-server", type=int, metavar="PORT", help=argparse.SUPPRESS)
    ap.add_argument("--with-parser", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.echo_server:
        run_echo_server(a.echo_server, a.with_parser)
    else:
        asyncio.run(main(a))
