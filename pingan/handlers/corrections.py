"""改类 / 改地点 / 改派 / 合并: community staff and above on a ticket's chain correct what the parser
or the first routing got wrong (pingan/rules/corrections.py)."""

from __future__ import annotations

from pingan.handlers.commands import Command, normalise
from pingan.handlers.context import Context
from pingan.handlers.filters import command
from pingan.handlers.router import SKIP, Router
from pingan.handlers.status import OPEN, resolve_target
from pingan.lifecycle import HELD
from pingan.messages import Text
from pingan.models import Person
from pingan.rules import corrections as rules

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
    if not (rules.may_correct(ctx.sender) and ctx.desk.on_chain(ctx.sender, t)):
        ctx.reply(f"抱歉，改类、改地点、改派、合并由社区工作人员或上级处理。#{t.id} 有误请告诉社区。")
        return None
    if t.status not in OPEN:
        ctx.reply(f"#{t.id} 已结束，不能再更正。")
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
    words = normalise(cmd.arg)
    reporter = await ctx.session.get(Person, t.reporter_id) if t.reporter_id else None
    if cmd.name == "recategorise":
        found = rules.find_item(ctx.taxonomy, words)
        if found is None:
            names = "、".join(c.name for c in ctx.taxonomy.categories)
            ctx.reply(f"没有找到「{cmd.arg}」这一类。请写事项名（如「燃气管道」）或类别：{names}。")
            return
        done = rules.recategorise(ctx.desk, ctx.notify, t, found, ctx.sender, ctx.inbox_id)
    elif cmd.name == "relocate":
        done = rules.relocate(ctx.desk, ctx.notify, t, cmd.arg, ctx.sender, ctx.inbox_id, reporter)
    elif cmd.name == "reassign":
        done = rules.reassign(ctx.desk, ctx.notify, t, words, ctx.sender, ctx.inbox_id, reporter)
        if done is None:
            ctx.reply(f"没有找到「{cmd.arg}」。请写网格名（如「第二网格」）或工作人员（如「@李网格」）。")
            return
    else:
        done = await merge(ctx, cmd, t)
        if done is None:
            return
    ctx.notify.to_unit(t.unit_id, lambda pf: [Text(done)], t)
    if not ctx.notify.posted_to(ctx.msg.chat):
        ctx.reply(done)


async def merge(ctx: Context, cmd: Command, t) -> str | None:
    other = await ctx.desk.get(cmd.more_ids[0]) if cmd.more_ids else None
    if other is None or other.id == t.id:
        ctx.reply(f"请写上两个编号，例如「合并 #{t.id} #{t.id + 1}」（后一个并入前一个）。")
        return None
    keep, drop = sorted((t, other), key=lambda x: x.id)
    if drop.status not in HELD or not ctx.desk.on_chain(ctx.sender, drop):
        ctx.reply(f"#{drop.id} 不能合并（已结束，或不在您的处置链上）。")
        return None
    return await rules.merge(ctx.desk, ctx.notify, keep, drop, ctx.sender, ctx.inbox_id)
