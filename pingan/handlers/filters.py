"""Filters shared by handlers. Each answers 'is this message for me?' and may inject values."""

from __future__ import annotations

from pingan.handlers.commands import TICKET_NUMBER, normalise, parse_command
from pingan.handlers.context import Context
from pingan.parser import ParseResult, parse


def command(*names: str):
    """Matches a status keyword by its config name (ack, on_scene, …); injects `cmd`."""

    async def f(ctx: Context) -> bool | dict:
        if "cmd" not in ctx.cache:
            ctx.cache["cmd"] = parse_command(ctx.msg.text, ctx.settings.keywords) if ctx.msg.text else None
        cmd = ctx.cache["cmd"]
        return {"cmd": cmd} if cmd is not None and cmd.name in names else False

    return f


def is_quote(ctx: Context) -> bool:
    return bool(ctx.msg.reply_to or ctx.msg.quoted_text)


def ticket_number(ctx: Context) -> int | None:
    """The first #number the message's text names ('＃７' too)."""
    m = TICKET_NUMBER.search(normalise(ctx.msg.text)) if ctx.msg.text else None
    return int(m.group(1)) if m else None


def parsed(ctx: Context) -> ParseResult:
    """The message's text parsed, once per message."""
    if "parsed" not in ctx.cache:
        ctx.cache["parsed"] = parse(ctx.msg.text or "")
    return ctx.cache["parsed"]


def parsed_already(ctx: Context, result: ParseResult) -> None:
    """The text was parsed elsewhere (the parse pool): `parsed` answers with this."""
    ctx.cache["parsed"] = result


async def private_chat(ctx: Context) -> bool:
    return ctx.msg.chat.chat_type == "private"


def event(name: str):
    async def f(ctx: Context) -> bool:
        return ctx.msg.event == name

    return f
