"""/metrics for Prometheus, read from the database at each scrape, so the core needs no hooks:
messages in (inbox) and out (outbox) per platform, tickets by status, the outbox's depth and its
oldest row's age, dead letters, how far the sweep lags behind the tickets due, and a histogram of
reply latency (a message's arrival → its reply committed to the outbox, which is when the inbox
row is marked handled). Open to a bearer token (PINGAN_METRICS_TOKEN) or, without one, only to
localhost."""

from __future__ import annotations

import hmac
from datetime import timezone
from ipaddress import ip_address

from aiohttp import web
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from sqlalchemy import func
from sqlmodel import select

from pingan.models import InboxMessage, OutboxMessage, Ticket
from pingan.models.delivery import PENDING
from pingan.web.queries import OPEN

BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
IN, OUT, T = InboxMessage.__table__.c, OutboxMessage.__table__.c, Ticket.__table__.c


class ReplyLatency:
    """Cumulative, per process: each handled inbox row is observed once, in id order, from the
    newest row when the server started (a restart does not re-count history)."""

    def __init__(self) -> None:
        self.after: int | None = None
        self.counts = [0] * len(BUCKETS)
        self.total = self.n = 0

    async def update(self, session) -> None:
        if self.after is None:
            self.after = (await session.exec(select(func.max(IN.id)))).one() or 0
        q = (select(IN.id, IN.received_at, IN.handled_at).where(IN.id > self.after)
             .order_by(IN.id).limit(10000))
        for row_id, received, handled in (await session.exec(q)).all():
            if handled is None:
                break  # still being handled: observed on a later scrape
            secs = max(0.0, (_aware(handled) - _aware(received)).total_seconds())
            for i, bound in enumerate(BUCKETS):
                self.counts[i] += secs <= bound
            self.total += secs
            self.n += 1
            self.after = row_id

    def family(self) -> HistogramMetricFamily:
        h = HistogramMetricFamily("pingan_reply_latency_seconds", "message arrival to its reply queued")
        h.add_metric([], [(str(b), c) for b, c in zip(BUCKETS, self.counts)] + [("+Inf", self.n)], self.total)
        return h


def _aware(dt):
    return dt if dt.tzinfo is not None else dt.replace(tzinfo=timezone.utc)  # an aggregate's raw value


async def families(session, now, latency: ReplyLatency) -> list:
    ins = CounterMetricFamily("pingan_messages_in", "messages received", labels=["platform"])
    for platform, n in (await session.exec(select(IN.platform, func.count()).group_by(IN.platform))).all():
        ins.add_metric([platform], n)
    outs = CounterMetricFamily("pingan_messages_out", "messages sent", labels=["platform"])
    depth = GaugeMetricFamily("pingan_outbox_depth", "messages waiting to be sent", labels=["platform"])
    dead = GaugeMetricFamily("pingan_dead_letters", "messages given up on", labels=["platform"])
    q = select(OUT.platform, OUT.status, func.count()).group_by(OUT.platform, OUT.status)
    for platform, status, n in (await session.exec(q)).all():
        {"sent": outs, "pending": depth, "dead": dead}.get(status, depth).add_metric([platform], n)
    oldest = (await session.exec(select(func.min(OUT.created_at)).where(OUT.status == PENDING))).one()
    age = GaugeMetricFamily("pingan_outbox_oldest_age_seconds", "age of the oldest unsent message")
    age.add_metric([], max(0.0, (now - _aware(oldest)).total_seconds()) if oldest else 0.0)
    tickets = GaugeMetricFamily("pingan_tickets", "tickets by status", labels=["status"])
    for status, n in (await session.exec(select(T.status, func.count()).group_by(T.status))).all():
        tickets.add_metric([status], n)
    due = (await session.exec(select(func.min(T.next_check_at)).where(T.status.in_(OPEN), T.next_check_at <= now))).one()
    lag = GaugeMetricFamily("pingan_sweep_lag_seconds", "how long the most overdue scheduler check has waited")
    lag.add_metric([], max(0.0, (now - _aware(due)).total_seconds()) if due else 0.0)
    await latency.update(session)
    return [ins, outs, depth, dead, age, tickets, lag, latency.family()]


def _allowed(request: web.Request, token: str) -> bool:
    if token:
        given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        return hmac.compare_digest(given.encode(), token.encode())
    try:
        return ip_address(request.remote or "").is_loopback
    except ValueError:
        return False


def add_metrics(app: web.Application, bot) -> None:
    latency = ReplyLatency()

    async def metrics(request: web.Request) -> web.Response:
        if not _allowed(request, bot.settings.web.metrics_token):
            return web.Response(status=403, text="forbidden\n")
        async with bot.reports() as session:
            fams = await families(session, bot.clock.now(), latency)

        class Snapshot:
            def collect(self):
                return fams

        registry = CollectorRegistry(auto_describe=False)
        registry.register(Snapshot())
        return web.Response(body=generate_latest(registry), headers={"Content-Type": CONTENT_TYPE_LATEST})

    app.router.add_get("/metrics", metrics)
