"""Parsing beside the event loop: worker processes parse the texts the hot path will read.

Why: the parser is about a third of a report's CPU on a busy server (bench/ingest.py), and a long
message-board post holds the loop for milliseconds. In a process of its own it runs on another core
while the loop stores and handles the group before. Texts go in batches: what arrived while a
worker was busy is sent to it as one message, so crossing processes costs per batch, not per text.
Each worker is a spawned process (not forked: the server runs threads and an event loop) on a pipe
the loop reads when it is ready; no executor threads in between (concurrent.futures' cost about
0.27 ms of the server's CPU per call, as much as parsing a short text).

`parse(text)` gives a future of the same ParseResult as `pingan.parser.parse(text)`, or of None when
the pool cannot answer (not started, closed, a worker died or took longer than `BUDGET_SECONDS`,
the text raised there): the caller then parses in its own process, where a text that breaks the
parser fails alone as before.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import multiprocessing
from multiprocessing.connection import Connection

from pingan.parser.engine import parse
from pingan.parser.result import ParseResult

log = logging.getLogger("pingan.parser.pool")

WARM_TEXT = "锦城花园3栋楼道里有人给电瓶车充电"
FIELDS = tuple(f.name for f in dataclasses.fields(ParseResult))
START_SECONDS = 60.0


def _flat(r: ParseResult) -> tuple:
    return tuple(getattr(r, f) for f in FIELDS)  # a tuple pickles several times faster than the dataclass


def _one(text: str) -> tuple | None:
    try:
        return _flat(parse(text))
    except Exception:  # parsed again in the server's process, where it fails alone
        return None


def _serve(conn: Connection) -> None:
    """The worker: load the parser, say so, then answer each batch of texts until the pipe closes."""
    parse(WARM_TEXT)
    conn.send("ready")
    while True:
        try:
            texts = conn.recv()
        except (EOFError, OSError):
            return
        conn.send([_one(t) for t in texts])


@dataclasses.dataclass(eq=False)
class _Worker:
    process: multiprocessing.Process
    conn: Connection
    flight: list[asyncio.Future] = dataclasses.field(default_factory=list)  # the batch it is parsing
    overdue: asyncio.TimerHandle | None = None


class ParsePool:
    BATCH = 256  # texts per batch at most
    # a batch not answered by then (the worker stuck or starved): the worker is stopped and its texts
    # parsed in the server's process, so the hot path never waits on it for long
    BUDGET_SECONDS = 5.0

    def __init__(self, processes: int = 1) -> None:
        self.processes = processes
        self._workers: list[_Worker] = []
        self._idle: list[_Worker] = []
        self._waiting: list[tuple[str, asyncio.Future]] = []

    @property
    def running(self) -> bool:
        return bool(self._workers)

    async def start(self) -> None:
        """Start the workers and wait until each has loaded the parser (about a second)."""
        ctx = multiprocessing.get_context("spawn")
        for _ in range(max(0, self.processes - len(self._workers))):
            mine, theirs = ctx.Pipe()
            process = ctx.Process(target=_serve, args=(theirs,), name="pingan-parser", daemon=True)
            try:
                process.start()
                theirs.close()
                if not await asyncio.to_thread(mine.poll, START_SECONDS) or mine.recv() != "ready":
                    raise TimeoutError(f"no answer in {START_SECONDS:g} s")
            except Exception as exc:
                log.error("a parser worker process did not start (%s); parsing in the server's process", exc)
                mine.close()
                if process.is_alive():
                    process.kill()
                continue
            w = _Worker(process, mine)
            asyncio.get_running_loop().add_reader(mine.fileno(), self._answered, w)
            self._workers.append(w)
            self._idle.append(w)

    def parse(self, text: str) -> asyncio.Future:
        fut = asyncio.get_running_loop().create_future()
        if not self._workers:
            fut.set_result(None)
            return fut
        self._waiting.append((text, fut))
        if self._idle:
            self._send(self._idle.pop())
        return fut

    def _send(self, w: _Worker) -> None:
        batch, self._waiting = self._waiting[: self.BATCH], self._waiting[self.BATCH:]
        w.flight = [f for _, f in batch]
        try:
            w.conn.send([t for t, _ in batch])
        except (OSError, ValueError):
            self._lost(w)
            return
        w.overdue = asyncio.get_running_loop().call_later(self.BUDGET_SECONDS, self._too_slow, w)

    def _too_slow(self, w: _Worker) -> None:
        log.error("a parser worker process did not answer in %g s; stopped", self.BUDGET_SECONDS)
        w.process.kill()
        self._lost(w)

    def _answered(self, w: _Worker) -> None:
        try:
            results = w.conn.recv()
        except (EOFError, OSError):
            self._lost(w)
            return
        if w.overdue is not None:
            w.overdue.cancel()
        flight, w.flight = w.flight, []
        for f, r in zip(flight, results):
            if not f.done():
                f.set_result(ParseResult(*r) if r is not None else None)
        if self._waiting:
            self._send(w)
        else:
            self._idle.append(w)

    def _lost(self, w: _Worker) -> None:
        log.error("a parser worker process died (exit code %s); %d left", w.process.exitcode, len(self._workers) - 1)
        self._retire(w)
        if not self._workers:
            self._answer_rest()

    def _retire(self, w: _Worker) -> None:
        if w.overdue is not None:
            w.overdue.cancel()
        try:
            asyncio.get_running_loop().remove_reader(w.conn.fileno())
        except (OSError, ValueError):
            pass
        w.conn.close()
        for f in w.flight:
            if not f.done():
                f.set_result(None)
        w.flight = []
        if w in self._workers:
            self._workers.remove(w)
        if w in self._idle:
            self._idle.remove(w)

    def _answer_rest(self) -> None:
        waiting, self._waiting = self._waiting, []
        for _, f in waiting:
            if not f.done():
                f.set_result(None)

    async def close(self) -> None:
        """Stop the workers (a closed pipe ends them)."""
        workers = list(self._workers)
        for w in workers:
            self._retire(w)
        self._answer_rest()
        for w in workers:
            await asyncio.to_thread(w.process.join, 5)
            if w.process.is_alive():
                w.process.kill()
