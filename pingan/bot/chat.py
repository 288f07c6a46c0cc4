"""`pingan chat`: an interactive console. Speak as anyone, in a group or privately; bot posts are
numbered so you can quote-reply to them with /reply N."""

from __future__ import annotations

import asyncio
import time

from pingan.bot.app import Bot
from pingan.bot.console import ConsoleSender, attachments, group_chat, message, private_chat, render
from pingan.bot.outbox import OutboxWorker
from pingan.config import Settings

HELP = """命令 / commands:
  /as 名字          以某人身份说话（组织文件里的 console 名，如 李网格、王书记；新名字 = 居民）
  /group [群名]      在群里说话（默认 新联社区平安工作群）
  /private          私聊机器人（居民上报通道）
  /reply N 内容      引用第 N 条机器人消息回复
  /quit             退出
其余输入作为消息发送。"""


async def run_chat(settings: Settings) -> None:
    bot = await Bot.create(settings)
    groups = [g.chat_id for g in bot.org.groups.values() if g.platform == "console"]
    state = {"who": "张阿姨", "chat": None}

    def show(remote_id: str, out) -> None:
        where = out.target.chat_id if out.target.chat_type == "group" else f"私聊→{out.target.chat_id}"
        number = remote_id.removeprefix(sender.prefix)
        print(f"  [{number}] 🤖 ({where}) " + (render(out) + attachments(out)).replace("\n", "\n        "))

    sender = ConsoleSender(printer=show, prefix=f"chat{int(time.time())}-")
    worker = OutboxWorker(bot.sessions, bot.clock, settings.outbox, {"console": sender}, bot.org)
    print(HELP + "\n可用的群：" + "、".join(groups))
    loop = asyncio.get_running_loop()
    try:
        while True:
            where = state["chat"] or "私聊"
            try:
                line = (await loop.run_in_executor(None, input, f"{state['who']}@{where}> ")).strip()
            except EOFError:
                break
            if not line:
                continue
            reply_to = None
            if line.startswith("/"):
                cmd, _, rest = line.partition(" ")
                if cmd == "/quit":
                    break
                if cmd == "/as" and rest:
                    state["who"] = rest.strip()
                    continue
                if cmd == "/group":
                    state["chat"] = rest.strip() or (groups[0] if groups else None)
                    continue
                if cmd == "/private":
                    state["chat"] = None
                    continue
                if cmd == "/reply":
                    num, _, line = rest.partition(" ")
                    reply_to = f"{sender.prefix}{num}"
                else:
                    print(HELP)
                    continue
            chat = group_chat(state["chat"]) if state["chat"] else private_chat(state["who"])
            await bot.handle(message(chat, state["who"], line, reply_to=reply_to))
            await worker.run_once()
    finally:
        await bot.close()
