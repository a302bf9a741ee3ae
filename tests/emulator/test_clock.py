"""The emulator's clock: offsets, freezing, and limits."""

from __future__ import annotations

import pytest

from sfbearer.emulator.clock import Clock


class Source:
    """A hand-moved time source standing in for time.time."""

    def __init__(self, now: float) -> None:
        self.value = now

    def __call__(self) -> float:
        return self.value


def test_offset_follows_the_source() -> None:
    source = Source(1_000.0)
    clock = Clock(source)
    clock.advance(minutes=2)
    source.value += 5
    assert clock.now() == 1_125.0
    assert clock.offset == 120.0


def test_freeze_stops_ticking_until_reset() -> None:
    source = Source(1_000.0)
    clock = Clock(source)
    clock.freeze()
    source.value += 50
    assert clock.now() == 1_000.0
    assert clock.frozen
    clock.advance(seconds=7)
    assert clock.now() == 1_007.0
    clock.set(2_000)
    assert clock.now() == 2_000.0
    clock.reset()
    assert not clock.frozen
    assert clock.now() == 1_050.0


def test_freeze_at_a_reading_then_thaw_keeps_real_time() -> None:
    source = Source(1_000.0)
    clock = Clock(source)
    clock.freeze(at=900)
    assert clock.now() == 900.0
    assert clock.utcnow().timestamp() == 900.0
    clock.reset()
    source.value += 1
    assert clock.now() == 1_001.0


@pytest.mark.parametrize("at", [float("nan"), float("inf"), 10.0**12])
def test_freeze_refuses_absurd_readings(at: float) -> None:
    clock = Clock(Source(1_000.0))
    with pytest.raises(ValueError, match="100 years"):
        clock.freeze(at=at)
    assert not clock.frozen
    assert clock.now() == 1_000.0
