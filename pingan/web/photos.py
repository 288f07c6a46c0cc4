"""Photos that last: each ticket's photo is fetched soon after it arrives, off the reply path (a
background task of the server, never the handler), with the outbox's backoff and attempt limit,
and kept in `[web] photos_dir` (or an S3-compatible bucket, `[photos] store = "s3"`) so the ticket
page still shows it when the platform's link expires.

New photos are found as the live hub finds moves: from the ticket events (report, attach) after
the last one looked at. Links that are not http(s) (a WeChat MediaId) are noted, not fetched."""

from __future__ import annotations

import asyncio
import io
import logging
import mimetypes
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp
from sqlalchemy.exc import IntegrityError
from sqlmodel import func, select

from pingan.models import Ticket, TicketEvent, WebPhoto
from pingan.rules.photos import images

log = logging.getLogger("pingan.web.photos")
MAX_BYTES = 10 << 20
LOOK_BACK = timedelta(days=3)  # at start: photos older than this have expired on the platforms anyway


def image_refs(ticket: Ticket) -> list[str]:
    return [a["image"] for a in images(ticket)]


class LocalStore:
    """Files in a directory, served by the workbench itself."""

    errors: tuple = ()

    def __init__(self, directory) -> None:
        self.dir = Path(directory)

    async def put(self, name: str, body: bytes, content_type: str) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        await asyncio.to_thread((self.dir / name).write_bytes, body)

    async def locate(self, name: str) -> Path | None:
        path = self.dir / name
        return path if path.exists() else None


class S3Store:
    """Objects in an S3-compatible bucket. The minio client blocks, so each call runs in a thread;
    a viewer is sent to a presigned link that lasts `[photos] link_seconds`."""

    def __init__(self, photos) -> None:
        import urllib3
        from minio import Minio
        from minio.error import MinioException

        url = urlsplit(photos.s3_endpoint)
        http = urllib3.PoolManager(timeout=urllib3.Timeout(connect=10, read=30),  # minio's default waits 5 min
                                   retries=urllib3.Retry(total=2, backoff_factor=0.5, status_forcelist=[500, 502, 503, 504]))
        self.client = Minio(url.netloc, access_key=photos.s3_access_key, secret_key=photos.s3_secret_key,
                            secure=url.scheme == "https", region=photos.s3_region or None, http_client=http)
        self.bucket, self.prefix = photos.s3_bucket, photos.s3_prefix
        self.expiry = timedelta(seconds=photos.link_seconds)
        self.errors = (MinioException, urllib3.exceptions.HTTPError)  # worth trying again later

    async def put(self, name: str, body: bytes, content_type: str) -> None:
        await asyncio.to_thread(self.client.put_object, self.bucket, self.prefix + name, io.BytesIO(body), len(body),
                                content_type=content_type)

    async def locate(self, name: str) -> str:
        return await asyncio.to_thread(self.client.presigned_get_object, self.bucket, self.prefix + name,
                                       expires=self.expiry)


def store_of(settings) -> LocalStore | S3Store:
    return S3Store(settings.photos) if settings.photos.store == "s3" else LocalStore(settings.web.photos_dir)


class PhotoKeeper:
    def __init__(self, bot, worker) -> None:
        self.bot, self.worker = bot, worker
        self.store = store_of(bot.settings)
        self.after: int | None = None  # the last ticket event looked at
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="web-photos")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _run(self) -> None:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http:
            while True:
                try:
                    await self.discover()
                    await self.fetch_due(http)
                except Exception:
                    log.exception("photo keeping failed")
                await asyncio.sleep(self.bot.settings.web.live_seconds)

    async def discover(self) -> int:
        """Queue the photos of tickets reported or added to since the last look; how many were new."""
        E = TicketEvent
        async with self.bot.reports() as session:
            if self.after is None:
                since = self.bot.clock.now() - LOOK_BACK
                self.after = (await session.exec(select(func.min(E.id)).where(E.at >= since))).one()
                self.after = (self.after or (await session.exec(select(func.max(E.id)))).one() or 1) - 1
            q = select(E.id, E.ticket_id).where(E.id > self.after, E.action.in_(["report", "attach"])).order_by(E.id)
            rows = (await session.exec(q.limit(1000))).all()
            ids = list(dict.fromkeys(tid for _, tid in rows if tid is not None))
            # two columns in one query, not each ticket as an object: every report passes by here
            tickets = (await session.exec(select(Ticket.id, Ticket.attachments).where(Ticket.id.in_(ids)))).all() if ids else []
        new = 0
        for t in tickets:
            for n, ref in enumerate(image_refs(t)):
                new += await self._queue(t.id, n, ref)
        if rows:
            self.after = rows[-1][0]
        return new

    async def _queue(self, ticket_id: int, n: int, ref: str) -> int:
        async with self.bot.write_lock, self.bot.sessions() as session:
            session.add(WebPhoto(ticket_id=ticket_id, n=n, ref=ref, next_attempt_at=self.bot.clock.now()))
            try:
                await session.commit()
                return 1
            except IntegrityError:  # queued before (a ticket's second photo brings the first again)
                return 0

    async def fetch_due(self, http) -> int:
        now = self.bot.clock.now()
        async with self.bot.reports() as session:
            q = (select(WebPhoto).where(WebPhoto.fetched_at.is_(None), WebPhoto.next_attempt_at <= now)
                 .order_by(WebPhoto.id).limit(20))
            due = list((await session.exec(q)).all())
        for p in due:
            await self._fetch(http, p)
        return len(due)

    async def _fetch(self, http, p: WebPhoto) -> None:
        update: dict = {"attempts": p.attempts + 1}
        try:
            if not p.ref.startswith(("http://", "https://")):
                raise ValueError("不是网址，无法下载")
            async with http.get(p.ref) as resp:
                resp.raise_for_status()
                body = await resp.content.read(MAX_BYTES + 1)
                if len(body) > MAX_BYTES or not resp.content_type.startswith("image/"):
                    raise ValueError(f"不是图片或太大（{resp.content_type}，{len(body)} 字节）")
            name = f"{p.ticket_id}-{p.n}{mimetypes.guess_extension(resp.content_type) or '.img'}"
            await self.store.put(name, body, resp.content_type)
            update.update(path=name, fetched_at=self.bot.clock.now(), error=None)
        except ValueError as exc:  # will not get better: stop trying
            update.update(error=str(exc)[:200], next_attempt_at=None)
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError, *self.store.errors) as exc:
            retry = update["attempts"] < self.bot.settings.outbox.max_attempts
            update.update(error=f"{type(exc).__name__}: {exc}"[:200],
                          next_attempt_at=self.bot.clock.now() + self.worker.backoff(update["attempts"]) if retry else None)
        async with self.bot.write_lock, self.bot.sessions() as session:
            row = await session.get(WebPhoto, p.id)
            for k, v in update.items():
                setattr(row, k, v)
            await session.commit()

    async def kept(self, ticket_id: int, n: int) -> Path | str | None:
        """Where a ticket's n-th photo is kept, if it has been fetched: a file, or a link that lasts minutes."""
        async with self.bot.reports() as session:
            q = select(WebPhoto.path).where(WebPhoto.ticket_id == ticket_id, WebPhoto.n == n)
            name = (await session.exec(q)).first()
        return await self.store.locate(name) if name else None
