"""The worker's "after" picture (办结后照片): photos sent with 办结, or by the same person in the same
chat within `[bot] followup_minutes` after it while the ticket is still 已办结, are kept as the
ticket's "after" beside the resident's "before" (the ticket page, the ledger). They are attachments
like the others (so the photo keeper fetches them), marked `after`."""

from __future__ import annotations

from datetime import timedelta

from pingan.models import Status, Ticket
from pingan.models.queries import resolved_in_chat

AFTER = "after"


async def just_resolved(desk, person, chat) -> Ticket | None:
    """The ticket `person` resolved last by a message in `chat`, if that was minutes ago and it is
    still resolved (not rated, not reopened since)."""
    since = desk.now - timedelta(minutes=desk.settings.bot.followup_minutes)
    ticket_id = await resolved_in_chat(desk.session, person.id, chat, since)
    t = await desk.get(ticket_id) if ticket_id is not None else None
    return t if t is not None and t.status == Status.resolved else None


def add(desk, t: Ticket, refs: list[str], actor, inbox_id: int | None) -> str:
    """Keep `refs` as the after photos; returns the worker's confirmation."""
    t.attachments = (t.attachments or []) + [{"image": ref, AFTER: True} for ref in refs]
    t.updated_at = desk.now
    desk.event(t, "attach", actor, inbox_id, from_status=t.status, note=f"办结后照片 {len(refs)} 张", after=len(refs))
    return f"📷 已存为 #{t.id} 办结后的照片（{len(refs)} 张）。"


def images(t: Ticket) -> list[dict]:
    """The ticket's photos in order: the n-th is /web/photo/T/n."""
    return [a for a in t.attachments or [] if isinstance(a, dict) and a.get("image")]


def before_and_after(t: Ticket) -> tuple[list[int], list[int]]:
    """The numbers (n) of the before and of the after photos."""
    before, after = [], []
    for n, a in enumerate(images(t)):
        (after if a.get(AFTER) else before).append(n)
    return before, after
