"""`pingan demo` tells the seed story end to end; these are the lines a reader looks for."""

import re
import subprocess
import sys

import pytest

from pingan.bot.demo import SCRIPT

CJK_NEXT_TO_ASCII = re.compile(r"[\u4e00-\u9fff][,()!?;]|[,()!?;][\u4e00-\u9fff]")
BOT_LINE = re.compile(r"^\d\d:\d\d \[[^\]]*\] 🤖 [^:]+: |^\d\d:\d\d \[📱短信 → \d+\] ")


@pytest.fixture(scope="module")
def transcript() -> str:
    run = subprocess.run([sys.executable, "-m", "pingan.cli", "demo"], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    return run.stdout


def test_demo_transcript_key_lines(transcript):
    out = transcript
    # a resident reports e-bike charging; the grid worker is @-mentioned with the 15-minute promise
    assert "【隐患 #1】消防·电瓶车违规充电" in out and "@周网格" in out and "09:15 前到场" in out
    # on scene within 15 minutes, resolved with a note, the resident is told and rates it
    assert "#1 周网格 已到场（09:08，用时 8分钟）" in out
    assert "您反映的 #1（消防·电瓶车违规充电）已办结：已劝离并断电" in out
    assert "👍 #1 居民回访：满意，已关闭" in out
    # chatter creates nothing: the meeting notice is not followed by a bot line
    lines = out.splitlines()
    notice = next(i for i, ln in enumerate(lines) if "开平安社区推进会" in ln)
    assert "🤖" not in lines[notice + 1]
    # a second report is called up to the street and dispatched to a department
    assert "【呼叫 #2】" in out and "@陈主任" in out and "已派单 都江堰市住建局（房管）" in out
    # a withdrawn report and a refused unauthorised keyword
    assert "🚫 #3 已由上报人撤销" in out
    assert "@马网格 抱歉，您不在 #2 的处置链上，不能「办结」" in out
    # a gas-leak night: the safety lines first, an urge re-alerts at once, a quote-reply 到了, a correction
    assert "🚨 请立即离开房间" in out and "本助手不会替您报警，请您亲自拨打。" in out
    assert "🚨燃气泄漏【紧急隐患 #6】" in out and "🚨燃气泄漏【催办 #6】上报人第 1 次催办" in out
    assert "#6 周网格 已到场（23:18" in out
    assert "✏️ #6 改地点：山水天成8栋二单元 → 山水天成8栋一单元楼道" in out
    # later that night: an urgent report nobody answers is paged by SMS, then the street, until someone answers
    assert "02:05 [📱短信 → 13800000003]" in out and "02:10 [📱短信 → 13800000020]" in out
    assert "📵 #7 陈主任 已响应，停止短信和电话呼叫。" in out


def bot_texts(transcript: str) -> list[str]:
    """What the bot said (its posts, replies, SMS and the demo's own notes), without the users' words
    it quotes: “…” and any text a user sent, which stay as they were written."""
    said, ours = [], True
    for line in transcript.splitlines():
        if re.match(r"^\d\d:\d\d ", line):
            ours = BOT_LINE.match(line) is not None
            line = BOT_LINE.sub("", line)
        if ours:
            said.append(line)
    sent = [step.text.split(" ") for step in SCRIPT if hasattr(step, "text")]
    words = sorted({" ".join(parts[i:]) for parts in sent for i in range(len(parts))
                    if re.search(r"[\u4e00-\u9fff]", " ".join(parts[i:]))}, key=len, reverse=True)
    cleaned = []
    for line in said:
        line = re.sub(r"“[^”]*”", "", line)
        for w in words:
            line = line.replace(w, "")
        cleaned.append(line)
    return cleaned


def test_the_bot_writes_chinese_with_full_width_punctuation(transcript):
    texts = bot_texts(transcript)
    assert len(texts) > 100 and any("请回复" in t for t in texts)
    wrong = [t for t in texts if CJK_NEXT_TO_ASCII.search(t)]
    assert wrong == []


def test_the_console_shows_where_a_chart_or_a_ledger_went():
    from pingan.bot.console import attachments, private_chat
    from pingan.messages import Outbound, Text

    out = Outbound(private_chat("王书记"), [Text("📒【新联社区 台账】… 详见附件。")], file="pingan-files/ledger/x.xlsx")
    assert attachments(out) == "\n📎 附件：pingan-files/ledger/x.xlsx"
    assert attachments(Outbound(private_chat("王书记"), [Text("好")])) == ""
