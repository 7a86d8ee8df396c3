"""Scan slots: waiting happens on the event loop, bounded in number and time, first come first served."""

from __future__ import annotations

import asyncio

import pytest

from tmr.errors import Busy
from tmr.search.slots import ScanSlots


def test_a_thread_door_never_waits() -> None:
    slots = ScanSlots(1, max_waiting=4, wait_s=60)
    slots.try_acquire()
    with pytest.raises(Busy) as refused:
        slots.try_acquire()
    assert refused.value.details["retry_after"] >= 1
    slots.release()
    slots.try_acquire()


def test_waiters_are_served_in_order_and_the_queue_is_bounded() -> None:
    async def scenario() -> None:
        slots = ScanSlots(1, max_waiting=2, wait_s=60)
        await slots.acquire()
        served: list[int] = []

        async def wait(n: int) -> None:
            await slots.acquire()
            served.append(n)

        first, second = asyncio.create_task(wait(1)), asyncio.create_task(wait(2))
        await asyncio.sleep(0)  # one turn of the loop: both tasks run up to their wait
        assert slots.waiting == 2
        with pytest.raises(Busy):
            await slots.acquire()  # the queue is full: refused at once
        with pytest.raises(Busy):
            slots.try_acquire()  # a thread door does not jump the queue
        slots.release()
        await first
        assert served == [1]
        slots.release()
        await second
        assert served == [1, 2]

    asyncio.run(scenario())


def test_a_wait_that_runs_out_is_busy_and_a_cancelled_one_gives_its_place_back() -> None:
    async def scenario() -> None:
        slots = ScanSlots(1, max_waiting=4, wait_s=0)
        await slots.acquire()
        with pytest.raises(Busy):
            await slots.acquire()
        assert slots.waiting == 0
        patient = ScanSlots(1, max_waiting=4, wait_s=60)
        await patient.acquire()
        task = asyncio.create_task(patient.acquire())
        await asyncio.sleep(0)
        assert patient.waiting == 1
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert patient.waiting == 0
        patient.release()
        patient.try_acquire()  # the slot went back to the pool, not to the cancelled waiter

    asyncio.run(scenario())
