"""Small files waiting for validation, validated together, in worker processes.

Input: the bodies of concurrent ``POST /v1/validate`` requests small enough to be read whole.
Output: each request's report as its JSON body (``report_body``), the same as validating its
file alone. The validator serialises it: a report crosses from a validator process as a few
hundred bytes instead of pickled objects (which cost more to pickle and unpickle than the
JSON, and the HTTP process had the JSON to write too).

A rule costs tens of numpy calls whatever the number of records, so on a 1,000-record file
most of a validation is that fixed cost. Requests that wait while a batch is being validated
form the next batch: ``validator.validate_many`` evaluates their records together. A
lone request is validated at once. Under load, each validator takes its share of the
requests in the service (waiting or being validated), and a validator that becomes free
waits a little (at most MAX_GATHER) for its share when requests have lately come many at
once: otherwise, in a closed loop of clients, one validator takes the single request that
came first and the others pile up behind the other validator.

With one worker the batches run in a thread of the HTTP process (one at a time: they are
CPU-bound). With N workers, N validator processes (each with the compiled rulebook) take
batches as they become free, so the load is shared evenly whatever connection a client
holds; the HTTP process only reads bodies and writes reports. A validator process that dies
is replaced and its batch validated again, once.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import gc
import io
import multiprocessing
from collections.abc import AsyncIterator
from concurrent.futures import Executor, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import anyio

from compiler import Compiled
from validator import validate
from validator.drive import validate_many
from validator.json_stream import LONG, compact, json_text
from validator.report import Report

MAX_FILES = 32  # files per batch
MAX_BATCH_BYTES = 64 * 1024 * 1024  # bytes per batch (a single larger file goes alone)
MAX_GATHER = 0.015  # seconds a batch waits at most for more files (see Batcher._gather)
LOAD_WINDOW = 0.5  # seconds over which the number of concurrent requests is remembered

Files = list[tuple[str, bytes]]
Outcome = Report | Exception
Body = bytes | Exception  # a report's JSON body, or what made its validation fail


@dataclass(slots=True)
class Job:
    data: bytes
    name: str
    today: dt.date | None
    as_of: dt.date | None
    done: asyncio.Future[bytes]

    @property
    def dates(self) -> tuple[dt.date | None, dt.date | None]:
        return self.today, self.as_of


def validate_files(
    compiled: Compiled,
    files: Files,
    today: dt.date | None,
    as_of: dt.date | None,
    keep: int | None = None,
) -> list[Outcome]:
    """Each file's report; a file that makes the validator fail gets the exception, the
    others their reports (the batch is then redone one file at a time)."""
    try:
        return list(
            validate_many(
                compiled,
                [(name, io.BytesIO(data)) for name, data in files],
                today=today,
                as_of=as_of,
                keep=keep,
            )
        )
    except Exception as exc:
        if len(files) == 1:
            return [exc]
    outcomes: list[Outcome] = []
    for name, data in files:
        try:
            outcomes.append(
                validate(compiled, io.BytesIO(data), name=name, today=today, as_of=as_of, keep=keep)
            )
        except Exception as exc:  # handed to that request, which fails
            outcomes.append(exc)
    return outcomes


_WORKER_BOOK: list[Compiled] = []  # the compiled rulebook of a validator process


def _start_worker(compiled: Compiled) -> None:
    _WORKER_BOOK[:] = [compiled]
    # The rulebook is tens of thousands of objects that live as long as the process: out of
    # the collector's sight, a full collection takes under a millisecond instead of ~30 ms
    # (a pause every few hundred files, felt by a whole batch of requests).
    gc.freeze()


def report_body(report: Report) -> bytes:
    """The report as the service sends it: its compact JSON (as ``JSONResponse`` renders
    it), written without making its findings' dictionaries all at once."""
    payload = report.to_json(lazy=True)
    if len(report.findings) <= LONG:
        return compact(payload).encode()
    return "".join(json_text(payload)).encode()


def validate_bodies(
    compiled: Compiled,
    files: Files,
    today: dt.date | None,
    as_of: dt.date | None,
    keep: int | None = None,
) -> list[Body]:
    """``validate_files``, each report as its JSON body."""
    outcomes = validate_files(compiled, files, today, as_of, keep)
    return [report_body(o) if isinstance(o, Report) else o for o in outcomes]


def _worker_validate(
    files: Files, today: dt.date | None, as_of: dt.date | None, keep: int | None
) -> list[Body]:
    return validate_bodies(_WORKER_BOOK[0], files, today, as_of, keep)


def _ready(_index: int) -> bool:
    return bool(_WORKER_BOOK)


@dataclass(slots=True)
class LoadGauge:
    """The most requests seen in the service at once, lately (this window and the last)."""

    window: float = LOAD_WINDOW
    started: float = 0.0
    peak: int = 0
    previous: int = 0

    def note(self, count: int, now: float) -> None:
        if now - self.started >= self.window:
            self.previous = self.peak if now - self.started < 2 * self.window else 0
            self.started, self.peak = now, 0
        self.peak = max(self.peak, count)

    def recent(self, now: float) -> int:
        self.note(0, now)
        return max(self.peak, self.previous)


@dataclass
class Batcher:
    """The waiting requests of the HTTP process and the validators they go to."""

    compiled: Compiled
    limiter: anyio.CapacityLimiter  # CPU-bound work in this process (workers == 1)
    workers: int = 1
    keep: int | None = None  # findings listed per code in a report (the others counted)
    waiting: list[Job] = field(default_factory=list)
    running: int = 0  # tasks taking batches (at most ``workers``)
    validating: int = 0  # files in the batches being validated
    batches: int = 0  # batches validated, and files in them (the tests read them)
    files: int = 0
    pool: Executor | None = None
    tasks: set[asyncio.Task[None]] = field(default_factory=set)
    starting: asyncio.Lock = field(default_factory=asyncio.Lock)
    arriving: int = 0  # small bodies being received
    arrivals: dict[asyncio.AbstractEventLoop, asyncio.Event] = field(default_factory=dict)
    load: LoadGauge = field(default_factory=LoadGauge)

    def arrived(self) -> asyncio.Event:
        """Set when a job comes: one event per event loop (an app can outlive a loop, as
        under test clients, and an event belongs to the loop it first waited in)."""
        loop = asyncio.get_running_loop()
        event = self.arrivals.get(loop)
        if event is None:
            self.arrivals.clear()  # the loops before this one are gone
            event = self.arrivals[loop] = asyncio.Event()
        return event

    def _share(self, files: int) -> int:
        """One validator's share of ``files`` (rounded up), at most a batch."""
        return min(MAX_FILES, -(-files // self.workers))

    def _note_load(self) -> None:
        count = self.arriving + len(self.waiting) + self.validating
        self.load.note(count, asyncio.get_running_loop().time())

    @asynccontextmanager
    async def receiving(self) -> AsyncIterator[None]:
        """Around the reading of a small body: it counts in the load from its first byte."""
        self.arriving += 1
        self._note_load()
        try:
            yield
        finally:
            self.arriving -= 1

    async def _gather(self) -> None:
        """Before a batch is formed, when requests have lately come many at once (bodies
        being received count), wait until this validator's share of them is there, at most
        MAX_GATHER: under load a validator that just finished would otherwise take the one
        file waiting, and a file validated alone costs several times its share of a batch.
        A lone request, or one per validator, does not wait."""
        loop = asyncio.get_running_loop()
        now = loop.time()
        deadline = now + MAX_GATHER
        want = self._share(self.load.recent(now))
        while len(self.waiting) < want:
            left = deadline - loop.time()
            if left <= 0:
                return
            arrived = self.arrived()
            arrived.clear()
            try:
                await asyncio.wait_for(arrived.wait(), left)
            except TimeoutError:
                return

    def start(self) -> None:
        """Start the validator processes (with more than one worker) and wait until each
        has the rulebook."""
        if self.workers > 1 and self.pool is None:
            self.pool = ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_start_worker,
                initargs=(self.compiled,),
            )
            list(self.pool.map(_ready, range(self.workers)))

    def stop(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool = None

    async def validate(
        self, data: bytes, name: str, today: dt.date | None, as_of: dt.date | None
    ) -> bytes:
        """The JSON body of the file's report (``report_body``)."""
        job = Job(data, name, today, as_of, asyncio.get_running_loop().create_future())
        self.waiting.append(job)
        self._note_load()
        self.arrived().set()
        if self.running < self.workers:
            self.running += 1
            task = asyncio.create_task(self._work())
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)
        return await job.done

    def _next_batch(self) -> list[Job]:
        """The first waiting job and those that can go with it, up to this validator's
        share of the load: the files waiting or being validated, or the most requests lately
        in the service if more (``LoadGauge``). The load is split evenly between the
        validators, not taken whole by the first one free while the others idle; and when
        two validators become free together while the clients they answered are sending
        their next files, the first takes what its share is, not half of what came so far:
        halves cut the clients' groups, and the files of a cut group that come just after
        wait a whole batch more (the latency's tail: p99 104-129 -> 77-87 ms, 20 clients)."""
        if not self.waiting:  # another validator took them while this one was gathering
            return []
        now = asyncio.get_running_loop().time()
        share = self._share(max(len(self.waiting) + self.validating, self.load.recent(now)))
        dates = self.waiting[0].dates
        batch: list[Job] = []
        size = 0
        for job in self.waiting:
            if job.dates != dates or len(batch) == share:
                continue
            if batch and size + len(job.data) > MAX_BATCH_BYTES:
                continue
            batch.append(job)
            size += len(job.data)
        taken = {id(job) for job in batch}
        self.waiting = [job for job in self.waiting if id(job) not in taken]
        return [job for job in batch if not job.done.done()]  # not cancelled meanwhile

    async def _work(self) -> None:
        try:
            while self.waiting:
                await self._gather()
                batch = self._next_batch()
                if not batch:
                    continue
                self.validating += len(batch)
                try:
                    outcomes = await self._run(batch)
                except Exception as exc:  # the validator process died: these requests fail
                    outcomes = [exc] * len(batch)
                finally:
                    self.validating -= len(batch)
                self.batches += 1
                self.files += len(batch)
                for job, outcome in zip(batch, outcomes, strict=True):
                    if job.done.done():
                        continue
                    if isinstance(outcome, bytes):
                        job.done.set_result(outcome)
                    else:
                        job.done.set_exception(outcome)
        finally:
            self.running -= 1

    async def _live_pool(self, broken: Executor | None = None) -> Executor:
        """The validator processes: started if the app's lifespan did not start them, and
        new ones in place of ``broken`` (unless a concurrent batch replaced it already)."""
        async with self.starting:
            if broken is not None and self.pool is broken:
                self.pool = None
                broken.shutdown(wait=False, cancel_futures=True)
            if self.pool is None:
                await anyio.to_thread.run_sync(self.start)
        assert self.pool is not None
        return self.pool

    async def _run(self, batch: list[Job]) -> list[Body]:
        files = [(job.name, job.data) for job in batch]
        today, as_of = batch[0].dates
        if self.workers == 1:
            return await anyio.to_thread.run_sync(
                validate_bodies, self.compiled, files, today, as_of, self.keep, limiter=self.limiter
            )
        pool = await self._live_pool()
        try:
            return await asyncio.wrap_future(
                pool.submit(_worker_validate, files, today, as_of, self.keep)
            )
        except BrokenProcessPool:  # a validator process died (killed, out of memory): once more
            pool = await self._live_pool(broken=pool)  # a file that kills it again fails
            return await asyncio.wrap_future(
                pool.submit(_worker_validate, files, today, as_of, self.keep)
            )
