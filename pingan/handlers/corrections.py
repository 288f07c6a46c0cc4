"""改类 / 改地点 / 改派 / 合并: community staff and above on a ticket's chain correct what the parser
or the first routing got wrong (pingan/rules/corrections.py)."""

from __future__ import annotations

from pingan.handlers.commands import Command, normalise
from pingan.handlers.context import Context
from pingan.handlers.filters import command
from pingan.handlers.router import SKIP, Router
from pingan.handlers.status import resolve_target
from pingan.rules import corrections as rules
from pingan.rules.base import Refused

router = Router("corrections")
EXAMPLES = {"recategorise": "改类 #{n} 燃气管道", "relocate": "改地点 #{n} 锦城花园5栋",
            "reassign": "改派 #{n} 第二网格", "merge": "合并 #{n} #{m}"}


async def target(ctx: Context, cmd: Command):
    """The ticket, once the sender may correct it; None after saying why not."""
    if cmd.name == "merge" and cmd.more_ids:
        cmd = Command(cmd.name, cmd.ticket_id, cmd.arg, cmd.word)  # 合并 names two on purpose
    t = await resolve_target(ctx, cmd, None)
    if t is None or t is SKIP:
        return t
    refused = rules.refusal(ctx.desk, ctx.sender, t)
    if refused:
        ctx.reply(refused)
        return None
    if not cmd.arg and cmd.name != "merge":
        ctx.reply(f"请写上更正的内容，例如「{EXAMPLES[cmd.name].format(n=t.id, m=t.id + 1)}」。")
        return None
    return t


@router.message(command("recategorise", "relocate", "reassign", "merge"))
async def correct(ctx: Context, cmd: Command):
    t = await target(ctx, cmd)
    if t is None or t is SKIP:
        return t
    words = cmd.arg if cmd.name == "relocate" else normalise(cmd.arg)
    other = await ctx.desk.get(cmd.more_ids[0]) if cmd.name == "merge" and cmd.more_ids else None
    try:
        done = await rules.make(ctx.desk, ctx.notify, t, cmd.name, words, ctx.sender, ctx.inbox_id, other)
    except Refused as exc:
        ctx.reply(str(exc))
        return
    if not ctx.notify.posted_to(ctx.msg.chat):
        ctx.reply(done)
