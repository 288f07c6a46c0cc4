"""看板: a staff member asks for the web workbench and gets a one-time sign-in link, privately
(a link posted in a group would let anyone there sign in as them)."""

from __future__ import annotations

from dataclasses import replace

from pingan.handlers.context import Context
from pingan.handlers.filters import command
from pingan.handlers.router import SKIP, Router
from pingan.messages import Text

router = Router("workbench")


@router.message(command("workbench"))
async def sign_in_link(ctx: Context, cmd):
    if cmd.arg or cmd.ticket_id is not None:
        return SKIP  # "看板坏了" is a report, not a request for the workbench
    if not ctx.is_staff:
        ctx.reply("工作台仅供网格员和各级工作人员使用。有问题直接发文字和位置即可上报。")
        return
    from pingan.web.auth import sign_in_link as make_link

    link = await make_link(ctx.session, ctx.settings, ctx.sender.id, ctx.now)
    minutes = ctx.settings.web.link_minutes
    private = replace(ctx.msg.chat, chat_type="private", chat_id=ctx.msg.sender_id)
    ctx.notify.to_chat(private, [Text(f"工作台登录链接（{minutes}分钟内有效，只能用一次，请勿转发）：\n{link}")])
    if ctx.msg.chat.chat_type == "group":
        ctx.reply("登录链接已私信发给您，请查收。")
