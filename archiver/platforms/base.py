"""The shape of a platform module, and the small readers every extractor shares:
counts as displayed ("1.2K", "3,4 rb"), times as stated, text as shown with its links."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

from lxml.html import HtmlElement

from ..capture.behaviours.runner import Behaviour
from .evidence import PageEvidence
from .models import Count, Link, LinkKind, Post


@dataclass(frozen=True)
class Platform:
    """What one platform module tells the rest of the archiver. Subclass and override."""

    name: str = "generic"
    version: int = 1
    hosts: tuple[str, ...] = ()  # "x.com" also matches www.x.com, mobile.x.com
    behaviours: tuple[Behaviour, ...] = field(default_factory=tuple)
    # post fields the generic reading must never fill for this platform: the platform's own
    # reading is authoritative there (a Telegram album without caption has no text, whatever
    # the channel's og:description says)
    no_fallback: tuple[str, ...] = ()

    def matches(self, url: str) -> bool:
        """True when this platform knows the URL (by host; override for path patterns)."""
        host = (urlsplit(url).hostname or "").lower()
        return any(host == h or host.endswith("." + h) for h in self.hosts)

    def detect(self, ev: PageEvidence) -> bool:
        """True when the captured page is this platform's although the host is not one of
        `hosts` (self-hosted software such as Mastodon). Default: no."""
        return False

    def post_selectors(self, url: str) -> list[str]:
        """CSS selectors of the post element, best first, for the post screenshot."""
        return []

    def login_wall(self, ev: PageEvidence) -> str | None:
        """Why the page looks like a login wall instead of the post; None if it does not."""
        return None

    def extract(self, ev: PageEvidence) -> Post | None:
        """The post the page shows, or None when there is none to read."""
        return None


# -- counts -------------------------------------------------------------------------------

_MULTIPLIERS = {
    "k": 1_000, "rb": 1_000, "ribu": 1_000, "thousand": 1_000, "mil": 1_000,
    "m": 1_000_000, "jt": 1_000_000, "juta": 1_000_000, "million": 1_000_000, "mn": 1_000_000,
    "b": 1_000_000_000, "bn": 1_000_000_000, "miliar": 1_000_000_000, "billion": 1_000_000_000,
}
_COUNT = re.compile(r"(\d[\d.,\s\u202f\u00a0]*)\s*([a-zA-Z]+)?")


def parse_count(displayed: str | None) -> int | None:
    """'1.2K' -> 1200, '3,4 rb' -> 3400, '12,345' -> 12345, '1.024' (id/de) -> 1024."""
    if not displayed:
        return None
    m = _COUNT.search(displayed.strip())
    if not m:
        return None
    number, suffix = m.group(1).strip(), (m.group(2) or "").lower()
    mult = _MULTIPLIERS.get(suffix, 1)
    number = re.sub(r"[\s\u202f\u00a0]", "", number)
    if mult > 1:  # "1.2K", "3,4 rb": the separator is a decimal point
        try:
            return int(round(float(number.replace(",", ".")) * mult))
        except ValueError:
            return None
    # no suffix: separators group thousands ("12,345", "1.024") unless a decimal tail
    if re.fullmatch(r"\d{1,3}([.,]\d{3})+", number):
        return int(re.sub(r"[.,]", "", number))
    try:
        return int(float(number.replace(",", ".")))
    except ValueError:
        return None


def count(name: str, displayed: str | None) -> Count | None:
    if displayed is None or not displayed.strip():
        return None
    return Count(name=name, displayed=displayed.strip(), value=parse_count(displayed))


# -- times --------------------------------------------------------------------------------


def parse_time(raw: str | int | float | None) -> datetime | None:
    """ISO 8601 (with Z or offset), Unix seconds/milliseconds, or RFC 2822 -> aware UTC."""
    if raw is None or raw == "":
        return None
    if isinstance(raw, (int, float)) or (isinstance(raw, str) and raw.strip().isdigit()):
        value = float(raw)
        if value > 1e11:  # milliseconds
            value /= 1000
        return datetime.fromtimestamp(value, timezone.utc)
    text = raw.strip()
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        try:
            dt = parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
    if dt.tzinfo is None:  # a time without zone is read as UTC, and the raw string is kept
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc)


# -- text as shown ------------------------------------------------------------------------

_BLOCK = {"p", "div", "li", "blockquote", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "ul", "ol"}
_SKIP = {"script", "style", "template", "noscript"}


def link_kind(text: str, href: str | None, classes: str = "") -> LinkKind:
    """What the text shows decides first ('@x', '#x'); then the markup (Mastodon writes
    class="mention hashtag" on hashtags, so hashtag is checked before mention)."""
    t = text.strip()
    cls = classes.lower()
    if t.startswith("#"):
        return LinkKind.HASHTAG
    if t.startswith("@"):
        return LinkKind.MENTION
    if "hashtag" in cls or "/hashtag/" in (href or "") or "/tags/" in (href or ""):
        return LinkKind.HASHTAG
    if "mention" in cls:
        return LinkKind.MENTION
    return LinkKind.LINK


def text_and_links(el: HtmlElement, ev: PageEvidence | None = None) -> tuple[str, list[Link]]:
    """The element's text as a reader sees it (<br> and blocks become line breaks, images'
    alt text such as emoji kept, hidden parts of links skipped only where the markup says
    so) and its links, mentions and hashtags in order."""
    parts: list[str] = []
    links: list[Link] = []

    def walk(node: HtmlElement) -> None:
        if not isinstance(node.tag, str):  # comments (<!-- SC_OFF -->, Lit's <!--?-->), PIs
            if node.tail:
                parts.append(node.tail)
            return
        tag = node.tag
        if tag in _SKIP:
            if node.tail:
                parts.append(node.tail)
            return
        if tag == "br":
            parts.append("\n")
        elif tag == "img":
            parts.append(node.get("alt") or "")
        elif tag in _BLOCK and parts and not "".join(parts).endswith("\n"):
            parts.append("\n")
        if tag == "a":
            start = len(parts)
            if node.text:
                parts.append(node.text)
            for child in node:
                walk(child)
            shown = "".join(parts[start:]).strip()
            href = node.get("href")
            if shown:
                url = ev.absolute(href) if (ev and href) else href
                links.append(Link(kind=link_kind(shown, href, node.get("class") or ""), text=shown, url=url))
        else:
            if node.text:
                parts.append(node.text)
            for child in node:
                walk(child)
        if tag == "p":
            parts.append("\n\n")
        elif tag in _BLOCK and tag != "p":
            parts.append("\n")
        if node.tail:
            parts.append(node.tail)

    if el.text:
        parts.append(el.text)
    for child in el:
        walk(child)
    text = "".join(parts).replace("\u00a0", " ")
    text = re.sub(r"[ \t]+\n", "\n", text)
    text = re.sub(r"\n{3,}", "\n\n", text).strip()
    return text, links


def clean(text: str | None) -> str | None:
    if text is None:
        return None
    text = re.sub(r"\s+", " ", text).strip()
    return text or None
