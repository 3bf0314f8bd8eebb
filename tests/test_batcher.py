"""How the service forms batches (api/batch.py): each validator's share, the wait for the
files expected, and the load gauge that tells when to wait."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import anyio
import pytest

from api import batch
from api.batch import MAX_FILES, Batcher, Job, LoadGauge
from compiler import Compiled

DATES = (None, None)


def batcher(compiled: Compiled, workers: int) -> Batcher:
    return Batcher(compiled, anyio.CapacityLimiter(1), workers=workers)


def job(name: str = "f") -> Job:
    return Job(b"", name, None, None, asyncio.get_running_loop().create_future())


def run(test: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(test(), 5))  # a wait that never ends fails the test


def test_load_gauge_remembers_this_window_and_the_last() -> None:
    gauge = LoadGauge(window=1.0)
    gauge.note(3, now=10.0)
    gauge.note(20, now=10.5)
    assert gauge.recent(10.9) == 20
    gauge.note(2, now=11.2)  # a new window: the last one's peak is still remembered
    assert gauge.recent(11.3) == 20
    assert gauge.recent(12.4) == 2  # two windows on: only the last one's
    assert gauge.recent(15.0) == 0  # idle for longer than two windows: nothing


def test_waiting_files_are_split_between_free_validators(compiled: Compiled) -> None:
    async def test() -> None:
        b = batcher(compiled, workers=2)
        b.waiting = [job(str(k)) for k in range(10)]
        first = b._next_batch()
        assert [j.name for j in first] == ["0", "1", "2", "3", "4"]
        b.validating = len(first)  # the first validator is busy with its five
        second = b._next_batch()
        assert [j.name for j in second] == ["5", "6", "7", "8", "9"]
        assert b.waiting == []

    run(test)


def test_a_validator_takes_its_share_of_the_files_in_the_service(compiled: Compiled) -> None:
    async def test() -> None:
        b = batcher(compiled, workers=2)
        b.validating = 10  # the other validator has ten
        b.waiting = [job(str(k)) for k in range(12)]
        assert len(b._next_batch()) == 11  # ceil((12 + 10) / 2)
        assert len(b.waiting) == 1

    run(test)


def test_a_free_validator_takes_its_share_of_the_recent_load(compiled: Compiled) -> None:
    """Twenty requests were lately in the service and both validators are free, ten files
    back so far: the first takes all ten (its share of twenty), not five; the other's
    share is the ten still to come."""

    async def test() -> None:
        b = batcher(compiled, workers=2)
        b.load.note(20, asyncio.get_running_loop().time())
        b.waiting = [job(str(k)) for k in range(10)]
        assert len(b._next_batch()) == 10
        assert b.waiting == []

    run(test)


def test_one_worker_takes_all_up_to_the_batch_limit(compiled: Compiled) -> None:
    async def test() -> None:
        b = batcher(compiled, workers=1)
        b.waiting = [job(str(k)) for k in range(MAX_FILES + 3)]
        assert len(b._next_batch()) == MAX_FILES
        assert len(b.waiting) == 3

    run(test)


def test_a_lone_request_does_not_wait(compiled: Compiled, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(batch, "MAX_GATHER", 60.0)  # waiting at all would time the test out

    async def test() -> None:
        b = batcher(compiled, workers=2)
        b.waiting = [job()]
        b._note_load()
        await b._gather()
        assert len(b.waiting) == 1

    run(test)


def test_under_load_a_batch_waits_for_its_share(
    compiled: Compiled, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Twenty requests were lately in the service: with two validators, the one that is
    free waits until its ten files are there, not taking the first one alone."""
    monkeypatch.setattr(batch, "MAX_GATHER", 60.0)

    async def test() -> None:
        b = batcher(compiled, workers=2)
        b.load.note(20, asyncio.get_running_loop().time())
        b.validating = 10  # the other validator's batch
        b.waiting = [job("0")]
        gathering = asyncio.create_task(b._gather())
        for k in range(1, 10):
            await asyncio.sleep(0)
            assert not gathering.done()
            b.waiting.append(job(str(k)))
            b.arrived().set()
        await gathering
        assert len(b._next_batch()) == 10

    run(test)


def test_a_body_being_received_counts_in_the_load(
    compiled: Compiled, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(batch, "MAX_GATHER", 60.0)

    async def test() -> None:
        b = batcher(compiled, workers=1)
        received = asyncio.Event()

        async def upload() -> None:
            async with b.receiving():
                await received.wait()
            b.waiting.append(job("late"))
            b.arrived().set()

        b.waiting = [job("first")]
        uploading = asyncio.create_task(upload())
        await asyncio.sleep(0)
        gathering = asyncio.create_task(b._gather())
        await asyncio.sleep(0.01)
        assert not gathering.done()  # the body being received is expected
        received.set()
        await uploading
        await gathering
        assert [j.name for j in b._next_batch()] == ["first", "late"]

    run(test)


def test_a_batcher_outlives_its_event_loop(compiled: Compiled) -> None:
    """The same app under two event loops one after the other (two test clients, say)."""
    b = batcher(compiled, workers=2)

    async def wait_once() -> None:
        b.load.note(20, asyncio.get_running_loop().time())
        b.validating = 10
        b.waiting = [job()]
        gathering = asyncio.create_task(b._gather())
        await asyncio.sleep(0.01)  # the gather is waiting on the event
        assert not gathering.done()
        b.waiting.extend(job(str(k)) for k in range(9))
        b.arrived().set()
        await gathering
        b.waiting = []

    run(wait_once)
    run(wait_once)  # a new loop: an event of the first one would raise here


def test_the_wait_is_bounded(compiled: Compiled, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(batch, "MAX_GATHER", 0.05)

    async def test() -> None:
        b = batcher(compiled, workers=2)
        b.load.note(20, asyncio.get_running_loop().time())
        b.waiting = [job()]
        await b._gather()  # the nine others expected never come: it goes after MAX_GATHER
        assert len(b._next_batch()) == 1

    run(test)


def test_a_validator_whose_files_were_taken_meanwhile_stops_quietly(
    compiled: Compiled, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A validator waits for its share of the files; meanwhile the other validator, free
    again, takes every file waiting. When the wait ends there is nothing left: the first
    ends its turn without a batch (it used to fail on the empty list, a task exception
    in the server's log), and a later request starts it again."""
    monkeypatch.setattr(batch, "MAX_GATHER", 0.05)

    async def test() -> None:
        b = batcher(compiled, workers=2)
        b.load.note(20, asyncio.get_running_loop().time())
        b.waiting = [job("0"), job("1")]
        b.running = 1
        first = asyncio.create_task(b._work())
        await asyncio.sleep(0.01)  # gathering: its share is ten
        assert not first.done()
        taken = b._next_batch()  # the other validator, free again, takes both
        assert [j.name for j in taken] == ["0", "1"] and b.waiting == []
        b.arrived().set()
        await first  # raised IndexError before
        assert b.running == 0 and b.batches == 0
        assert b._next_batch() == []

    run(test)
