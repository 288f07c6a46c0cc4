"""帮助: what a person can type here, worded for their role."""

from __future__ import annotations

from pingan.handlers.context import Context
from pingan.handlers.filters import command, event
from pingan.handlers.statistics import platform_takes_files, report_unit
from pingan.handlers.router import Router

router = Router("help")


def resident_help(ctx: Context) -> str:
    e = ctx.settings.emergency
    return (
        f"📖 {ctx.settings.bot.name}使用说明\n"
        f"• 有危险先保护自己：着火 {e.fire}、有人打架 {e.police}、有人受伤 {e.ambulance}、电梯困人 {e.lift}。"
        "本助手不会替您报警，请您亲自拨打。\n"
        "• 上报隐患：直接发问题和位置，例如「锦城花园3栋楼道有人给电瓶车充电」，可以再发照片或位置\n"
        "• 也可以用表单：上报 类别：消防 地点：… 描述：…\n"
        "• 查进度：查询 #编号（只发「查询」看我的全部上报）；着急了直接说「怎么还没人来」，我们会催办\n"
        "• 补充情况：直接说，或「补充 #编号 内容」（例如「补充 #12 车还停在那里」）\n"
        "• 不用处理了：直接说「不用来了」「已经好了」，或「撤销 #编号」（紧急事项由工作人员到场确认后办结）\n"
        "• 办结后评价：满意 / 不满意，也可以直接说「电梯还是坏的」；对退回有异议，直接回复即可"
    )


def staff_help(ctx: Context) -> str:
    k = ctx.settings.keywords
    return (
        "📖 工作人员指令（编号写 #12、＃12 或 12号 都行，也可以直接引用机器人的消息回复）\n"
        f"• {k.ack[0]} #12 —— 签收\n"
        f"• {k.on_scene[0]} #12 —— 已到现场（也可以说「到了」「12号到了」）\n"
        f"• {k.progress[0]} #12 —— 正在处置\n"
        f"• {k.resolve[0]} #12 处理说明 —— 办结并告知居民（也可以说「#12 办好了」「搞定了」）\n"
        f"• {k.escalate[0]} #12 —— 解决不了，呼叫上一级（网格→社区→街道→区→市）\n"
        f"• {k.transfer[0]} #12 部门 —— 派单给职能部门，如「{k.transfer[0]} #12 消防」「{k.transfer[0]} #12 煤气公司」\n"
        f"• {k.return_[0]} #12 原因 —— 不是隐患或不属本辖区（网格员退回由社区负责人复核：「{k.return_[0]} #12 同意」或「{k.return_[0]} #12 不同意」）\n"
        f"• {k.grade[0]} #12 小/中/大 —— 小事马上办、中事协商办、大事呼叫办\n"
        f"• {k.note[0]} #12 情况 —— 记一笔，不改状态（办结后补的说明会告知居民）\n"
        f"• {k.query[0]} #12 —— 看进度；只发「{k.query[0]}」看我手上的工单\n"
        "社区工作人员及以上更正：\n"
        f"• {k.recategorise[0]} #12 燃气管道 —— 改类别或事项\n"
        f"• {k.relocate[0]} #12 锦城花园5栋 —— 改地点（会重新派给那里的网格）\n"
        f"• {k.reassign[0]} #12 第二网格 / {k.reassign[0]} #12 @李网格 —— 改派\n"
        f"• {k.merge[0]} #12 #13 —— 同一件事，后一个并入前一个\n"
        "值班：\n"
        "• 值班 / 交班 / 接班 / 请假 12月3日-12月5日 —— 谁在值班、交接班、请假（期间提醒转给值班人员）"
    )


def officials_help(ctx: Context) -> str | None:
    """今日统计 / 超期 / 台账 (reports.officials_query), for those it answers: staff, where there is a
    unit to count."""
    unit_id = report_unit(ctx) if ctx.is_staff else None
    if unit_id is None:
        return None
    name = ctx.org.units[unit_id].name
    ledger = "本月台账（Excel 文件）" if platform_takes_files(ctx) else "本月台账汇总（本平台不能发文件）"
    return (
        f"📊 统计查询（直接发这几个字，统计{name}）\n"
        "• 今日统计 —— 今天的日报\n"
        "• 超期 —— 超期未到场、未办结的工单\n"
        f"• 台账 —— {ledger}"
    )


@router.message(command("help"))
async def show_help(ctx: Context, cmd) -> None:
    if not ctx.is_staff:
        ctx.reply(resident_help(ctx))
        return
    ctx.reply("\n\n".join(filter(None, (staff_help(ctx), officials_help(ctx)))))


@router.message(event("subscribe"))
async def welcome(ctx: Context) -> None:
    e = ctx.settings.emergency
    ctx.reply(
        f"欢迎关注！我是{ctx.settings.bot.name}。\n"
        "发现安全隐患（电瓶车充电、消防通道堵塞、燃气味、电梯故障、噪音扰民……），"
        f"直接发文字说明问题和位置，可以附照片。我们承诺 {ctx.settings.policy.on_scene_minutes} 分钟内到场。\n"
        f"紧急情况请先拨打 {e.fire} / {e.police} / {e.ambulance}。回复「帮助」查看用法。"
    )
