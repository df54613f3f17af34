"""Behaviours as data: a named page script run in rounds, bounded in time, that says what it
did. Platform modules (archiver/platforms/) and the generic ones (consent.py, play.py) are
all `Behaviour`s; the session runs them after the first network-idle and records each one in
provenance.json (`behaviours`).

Scripts run in an isolated world of ours (capture/isolated.py): the page's DOM, none of its
globals, so a page that replaces `Element.prototype.click` or `setTimeout` cannot steer them
(unless a behaviour says world="page": it needs an API the page's scripts made).
A behaviour's script is a JavaScript function `async (args) => ({actions, more})`:
`actions` is a list of short human sentences ("clicked 'Accept all' (#onetrust-accept...)"),
`more` asks for another round (e.g. more "show replies" buttons appeared). `args` carries
the capture's platform settings: `{threadDepth, comments, round, consentFrame}`.

A behaviour with `frames=True` (consent) also runs, each round, in the child frames that are
a consent manager's: Sourcepoint and TrustArc draw their banners inside an iframe of their
own origin, where a script of the top page cannot reach. Such a frame is told
`consentFrame: true` (all of it is the banner); what is done there is recorded as
"in frame <host>: ...". Other frames (ads, embeds) are never touched.
"""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Frame, Page

from ...models import BehaviourRecord
from ..isolated import GONE, IsolatedWorld, Navigated, ScriptError

ROUND_TIMEOUT = 5.0  # one round of one script; a hostile page cannot hold a behaviour longer
# a child frame is a consent manager's when its URL, name, id, title or class says so
CONSENT_FRAME = re.compile(r"consent|cookie|gdpr|privacy-mgmt|sp_message|truste|\bcmp\b|cmp[-_.]", re.I)
FRAMES_LOOKED_AT = 30  # child frames examined per round (ad-heavy pages have hundreds)
CONSENT_FRAMES = 4  # at most this many run the script


@dataclass(frozen=True)
class Behaviour:
    name: str  # "consent", "x-show-more", ...
    description: str  # one line for docs and provenance
    script: str  # JS: async (args) => ({actions: string[], more: boolean})
    rounds: int = 1  # at most this many rounds (a round repeats while `more` is true)
    pause: float = 0.4  # seconds between rounds: lets what a click loads arrive
    frames: bool = False  # also run in consent managers' child frames (see above)
    # "isolated" (ours: the page cannot steer it) or "page": for a script that must call an
    # API the page's own scripts attached to an element (YouTube's player.playVideo)
    world: str = "isolated"


@dataclass(frozen=True)
class BehaviourArgs:
    thread_depth: int = 1
    comments: bool = True

    def js(self, round_no: int, consent_frame: bool = False) -> dict[str, object]:
        return {"threadDepth": self.thread_depth, "comments": self.comments, "round": round_no,
                "consentFrame": consent_frame}


async def _frame_element_words(frame: Frame) -> str:
    """The id, title and class of the <iframe> element that holds `frame`."""
    element = await frame.frame_element()
    return " ".join(v for v in [await element.get_attribute(a) for a in ("id", "title", "class")] if v)


async def consent_frames(page: Page) -> list[Frame]:
    """The page's child frames that belong to a consent manager (Sourcepoint's
    `sp_message_iframe_*` from privacy-mgmt.com, TrustArc's consent.trustarc.com, ...)."""
    found: list[Frame] = []
    for frame in page.frames[1:FRAMES_LOOKED_AT + 1]:
        if frame.is_detached():
            continue
        words = f"{frame.url} {frame.name}"
        if not CONSENT_FRAME.search(words):
            try:
                words += " " + await asyncio.wait_for(_frame_element_words(frame), 1.0)
            except (PlaywrightError, asyncio.TimeoutError):
                continue
        if CONSENT_FRAME.search(words):
            found.append(frame)
            if len(found) >= CONSENT_FRAMES:
                break
    return found


async def in_frame(frame: Frame, script: str, arg: dict[str, object], timeout: float) -> dict[str, Any]:
    """A script in the frame's own (page) world, through Playwright: for a child frame of
    another origin (another renderer target) and for behaviours with world="page"."""
    try:
        result = await asyncio.wait_for(frame.evaluate(f"({script})", arg), timeout)
    except PlaywrightError as exc:
        message = (exc.message or str(exc)).splitlines()[0]
        if any(sign in message for sign in GONE):
            raise Navigated(message) from exc
        raise ScriptError(message[:300]) from exc
    return result if isinstance(result, dict) else {}


async def run_behaviour(
    world: IsolatedWorld, behaviour: Behaviour, args: BehaviourArgs, budget: float
) -> BehaviourRecord:
    """Run one behaviour (in the page's main frame, in our isolated world) until it is done,
    its rounds are used, or `budget` seconds pass."""
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
        more = False
        try:
            if behaviour.world == "page":
                result = await in_frame(world.page.main_frame, behaviour.script, args.js(rounds), min(left, ROUND_TIMEOUT))
            else:
                result = await world.evaluate(behaviour.script, args.js(rounds), min(left, ROUND_TIMEOUT))
                result = result if isinstance(result, dict) else {}
            actions.extend(str(a)[:300] for a in (result.get("actions") or [])[:50])
            more = bool(result.get("more"))
            if behaviour.frames and not more:
                for frame in await consent_frames(world.page):
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    host = urlsplit(frame.url).hostname or frame.url[:60]
                    try:
                        result = await in_frame(frame, behaviour.script, args.js(rounds, True), min(left, ROUND_TIMEOUT))
                    except (Navigated, ScriptError):  # the banner closed itself (and its frame) on the click
                        continue
                    done = [f"in frame {host}: {str(a)[:260]}" for a in (result.get("actions") or [])[:50]]
                    actions.extend(done)
                    more = more or bool(result.get("more"))
        except asyncio.TimeoutError:
            outcome, detail = "timeout", f"round {rounds} did not finish"
            break
        except Navigated:
            actions.append("the page navigated (after a click); continuing on the new page")
            await asyncio.sleep(behaviour.pause)
            continue
        except ScriptError as exc:  # the script threw, the page closed
            outcome, detail = "error", str(exc)[:300]
            break
        if not more:
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
