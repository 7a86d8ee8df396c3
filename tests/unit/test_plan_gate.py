"""The download gate (downloads/gate.py): a bounded number of holders, re-entrant per thread, and
a holder that steps aside lets another in and gets its slot back."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from tmr.downloads.gate import PlanGate
from tmr.serving.loop import WouldWait, without_waiting

WAIT_S = 10  # a generous bound that only a broken gate reaches (never a timing assertion)
BLOCKED_S = 0.05  # how long a blocked thread is given to (wrongly) get in


def _holder(
    gate: PlanGate, inside: Callable[[], None] = lambda: None
) -> tuple[threading.Thread, threading.Event]:
    entered = threading.Event()

    def run() -> None:
        with gate.held():
            entered.set()
            inside()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, entered


def test_a_second_holder_waits_for_the_first() -> None:
    gate = PlanGate(1)
    with gate.held():
        thread, entered = _holder(gate)
        assert not entered.wait(BLOCKED_S)
    assert entered.wait(WAIT_S)
    thread.join(WAIT_S)


def test_holding_is_reentrant_on_one_thread() -> None:
    gate = PlanGate(1)
    with gate.held(), gate.held():
        pass
    with gate.held():  # the slot came back once, not twice (a BoundedSemaphore would raise)
        pass


def test_stepping_aside_lets_another_in_and_takes_the_slot_back() -> None:
    gate = PlanGate(1)
    with gate.held():
        with gate.stepped_aside():
            thread, entered = _holder(gate)
            assert entered.wait(WAIT_S)
            thread.join(WAIT_S)
        # The slot is ours again: a newcomer waits.
        late, late_entered = _holder(gate)
        assert not late_entered.wait(BLOCKED_S)
    assert late_entered.wait(WAIT_S)
    late.join(WAIT_S)


def test_stepping_aside_inside_a_nested_hold_keeps_the_nesting() -> None:
    gate = PlanGate(1)
    with gate.held():
        with gate.held(), gate.stepped_aside():
            pass
        thread, entered = _holder(gate)
        assert not entered.wait(BLOCKED_S)
    assert entered.wait(WAIT_S)
    thread.join(WAIT_S)


def test_stepping_aside_without_a_slot_gives_back_nothing() -> None:
    gate = PlanGate(1)
    release = threading.Event()
    thread, entered = _holder(gate, lambda: release.wait(WAIT_S))
    assert entered.wait(WAIT_S)
    with gate.stepped_aside():  # this thread holds nothing: the other's slot stays taken
        newcomer, newcomer_entered = _holder(gate)
        assert not newcomer_entered.wait(BLOCKED_S)
    release.set()
    assert newcomer_entered.wait(WAIT_S)
    for t in (thread, newcomer):
        t.join(WAIT_S)


def test_width_zero_is_no_limit() -> None:
    gate = PlanGate(0)
    release = threading.Event()
    holders = [_holder(gate, lambda: release.wait(WAIT_S)) for _ in range(8)]
    assert all(entered.wait(WAIT_S) for _thread, entered in holders)
    with gate.stepped_aside():
        pass
    release.set()
    for thread, _entered in holders:
        thread.join(WAIT_S)


def test_a_holder_that_raises_gives_its_slot_back() -> None:
    gate = PlanGate(1)
    with pytest.raises(RuntimeError), gate.held():
        raise RuntimeError("plan failed")
    with gate.held():
        pass


def test_on_the_event_loop_nothing_is_held_and_stepping_aside_would_wait() -> None:
    gate = PlanGate(1, inline=True)
    release = threading.Event()
    thread, entered = _holder(gate, lambda: release.wait(WAIT_S))
    assert entered.wait(WAIT_S)
    try:
        # The only slot is taken, yet the loop goes on; and there, stepping aside would wait.
        with without_waiting(), gate.held(), pytest.raises(WouldWait), gate.stepped_aside():
            pass
    finally:
        release.set()
        thread.join(WAIT_S)
    with gate.held(), gate.stepped_aside():  # outside the loop, the same calls wait as before
        pass
