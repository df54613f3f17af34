"""Scroll through the page in viewport steps so lazy and infinite-scroll content loads.

Bounded by a time budget and a maximum height; reports how far it got and why it stopped.
The loop runs in Python (not one long page script) so a hostile page cannot hold it, and
its measuring and scrolling run in our isolated world (capture/isolated.py), so a page that
replaces `window.scrollTo` (smooth-scroll libraries do) cannot hold it back either.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

from ..isolated import IsolatedWorld, WorldError

STEP_PAUSE = 0.1  # seconds between steps: lets IntersectionObservers fire and fetch
STALL_STEPS = 2  # stop when the page stopped growing for this many steps at the bottom

MEASURE = "() => [window.scrollY, window.innerHeight, Math.max(document.documentElement.scrollHeight, document.body ? document.body.scrollHeight : 0)]"


@dataclass
class ScrollResult:
    steps: int
    reached: int  # px from the top reached
    height: int  # page height at the end
    stopped: str  # "bottom", "max_scroll_height", "scroll_timeout"


SCROLL_TO = "(y) => window.scrollTo(0, y)"


async def _measure(world: IsolatedWorld, timeout: float) -> tuple[int, int, int]:
    y, view, height = await world.evaluate(MEASURE, None, timeout)
    return int(y), int(view), int(height)


async def scroll_through(
    world: IsolatedWorld, budget: float, max_height: int, busy: Callable[[], bool] = lambda: False
) -> ScrollResult:
    """Scroll down until the page stops growing (and nothing is loading), or a bound."""
    deadline = time.monotonic() + budget
    steps = 0
    stalled = 0
    y, view, height = await _measure(world, max(budget, 0.1))
    if height <= view and not busy():
        return ScrollResult(0, view, height, "bottom")  # nothing below the fold
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return ScrollResult(steps, y + view, height, "scroll_timeout")
        if y + view >= max_height:
            return ScrollResult(steps, y + view, height, "max_scroll_height")
        target = min(y + int(view * 0.9), max_height)
        await world.evaluate(SCROLL_TO, target, remaining)
        await asyncio.sleep(STEP_PAUSE)
        steps += 1
        previous_height = height
        y, view, height = await _measure(world, max(deadline - time.monotonic(), 0.1))
        at_bottom = y + view >= height - 2
        if at_bottom and height <= previous_height and not busy():
            stalled += 1
            if stalled >= STALL_STEPS:
                return ScrollResult(steps, y + view, height, "bottom")
        else:
            stalled = 0


async def scroll_to_top(world: IsolatedWorld, timeout: float) -> None:
    try:
        await world.evaluate(SCROLL_TO, 0, timeout)
    except (WorldError, asyncio.TimeoutError):
        pass
