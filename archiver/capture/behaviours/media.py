"""Complete partially loaded media: players fetch video and audio in Range pieces (206),
often only the first few. Replay tools serve a whole 200 response to any Range request,
but cannot stitch pieces together, so a media URL seen only in pieces is fetched once more,
whole, from inside the page (same cookies, same browser, recorded like every exchange)."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Page

from ..exchange import Exchange, Hop

CONTENT_RANGE = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+|\*)")

FETCH_WHOLE = """async (urls) => {
  const done = [];
  for (const url of urls) {
    try {
      const r = await fetch(url, {credentials: 'include', mode: 'no-cors', cache: 'no-store'});
      if (r.body) { await r.arrayBuffer(); }
      done.push(url);
    } catch (e) { /* recorded as a failed request */ }
  }
  return done;
}"""


def range_of(hop: "Hop") -> tuple[int, int, int] | None:
    """(start, end, total) of a 206 response's Content-Range; None when unknown."""
    if hop.status != 206:
        return None
    headers = {k.lower(): v for k, v in (hop.response_headers or {}).items()}
    match = CONTENT_RANGE.match(headers.get("content-range", ""))
    if not match or match.group(3) == "*":
        return None
    return int(match.group(1)), int(match.group(2)), int(match.group(3))


def is_whole_piece(hop: "Hop") -> bool:
    """A 206 whose one piece is the whole file (`bytes 0-(n-1)/n`): players often ask so."""
    found = range_of(hop)
    return found is not None and found[0] == 0 and found[1] == found[2] - 1


@dataclass
class PartialMedia:
    """URL -> total size, for media seen only as 206 pieces."""

    totals: dict[str, int] = field(default_factory=dict)
    whole: set[str] = field(default_factory=set)

    def see(self, ex: Exchange) -> None:
        hop = ex.last
        if hop.status == 200 and hop.method == "GET":
            self.whole.add(hop.url)
            return
        found = range_of(hop)
        if found is None:
            return
        if is_whole_piece(hop):
            self.whole.add(hop.url)  # one piece that is the whole file replays as it is
        else:
            self.totals[hop.url] = found[2]

    def wanted(self, max_bytes: int) -> list[str]:
        return sorted(u for u, total in self.totals.items() if u not in self.whole and total <= max_bytes)


async def fetch_whole(page: Page, urls: list[str], timeout: float) -> str:
    if not urls:
        return "no partial media"
    try:
        done = await asyncio.wait_for(page.evaluate(FETCH_WHOLE, urls), timeout)
    except (asyncio.TimeoutError, PlaywrightError) as exc:
        return f"fetching {len(urls)} partial media whole stopped: {exc}"
    return f"fetched {len(done)} of {len(urls)} partial media whole"
