"""Behaviours as data: a named page script run in rounds, bounded in time, that says what it
did. Platform modules (archiver/platforms/) and the generic ones (consent.py, play.py) are
all `Behaviour`s; the session runs them after the first network-idle and records each one in
provenance.json (`behaviours`).

A behaviour's script is a JavaScript function `async (args) => ({actions, more})`:
`actions` is a list of short human sentences ("clicked 'Accept all' (#onetrust-accept...)"),
`more` asks for another round (e.g. more "show replies" buttons appeared). `args` carries
the capture's platform settings: `{threadDepth, comments, round}`.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Page

from ...models import BehaviourRecord

ROUND_TIMEOUT = 5.0  # one round of one script; a hostile page cannot hold a behaviour longer


@dataclass(frozen=True)
class Behaviour:
    name: str  # "consent", "x-show-more", ...
    description: str  # one line for docs and provenance
    script: str  # JS: async (args) => ({actions: string[], more: boolean})
    rounds: int = 1  # at most this many rounds (a round repeats while `more` is true)
    pause: float = 0.4  # seconds between rounds: lets what a click loads arrive


@dataclass(frozen=True)
class BehaviourArgs:
    thread_depth: int = 1
    comments: bool = True

    def js(self, round_no: int) -> dict[str, object]:
        return {"threadDepth": self.thread_depth, "comments": self.comments, "round": round_no}


async def run_behaviour(
    page: Page, behaviour: Behaviour, args: BehaviourArgs, budget: float
) -> BehaviourRecord:
    """Run one behaviour until it is done, its rounds are used, or `budget` seconds pass."""
    t0 = time.monotonic()
    deadline = t0 + budget
    actions: list[str] = []
    rounds = 0
    outcome, detail = "ok", None
    while rounds < behaviour.rounds:
        left = deadline - time.monotonic()
        if left <= 0:
            outcome, detail = "timeout", f"budget of {budget:.1f}s used after {rounds} rounds"
            break
        rounds += 1
        try:
            result = await asyncio.wait_for(
                page.evaluate(f"({behaviour.script})", args.js(rounds)), min(left, ROUND_TIMEOUT)
            )
        except asyncio.TimeoutError:
            outcome, detail = "timeout", f"round {rounds} did not finish"
            break
        except PlaywrightError as exc:  # navigation under us, page closed, script error
            message = (exc.message or str(exc)).splitlines()[0]
            if "Execution context was destroyed" in message:
                actions.append("the page navigated (after a click); continuing on the new page")
                await asyncio.sleep(behaviour.pause)
                continue
            outcome, detail = "error", message[:300]
            break
        result = result if isinstance(result, dict) else {}
        actions.extend(str(a)[:300] for a in (result.get("actions") or [])[:50])
        if not result.get("more"):
            break
        await asyncio.sleep(min(behaviour.pause, max(0.0, deadline - time.monotonic())))
    return BehaviourRecord(
        name=behaviour.name,
        rounds=rounds,
        actions=actions,
        outcome=outcome,
        detail=detail,
        duration_ms=int((time.monotonic() - t0) * 1000),
    )
