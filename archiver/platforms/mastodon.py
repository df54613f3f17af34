"""Mastodon (any instance): status pages /@user/<id>, /@user@remote.host/<id>,
/users/<user>/statuses/<id>. Documented in docs/platforms/mastodon.md.

The web app is a React shell that fetches /api/v1/statuses/<id> and .../context; the
extractor reads those recorded API answers first (the REST shape is stable across 3.x-4.x)
and falls back to the rendered DOM (div.detailed-status) and the server's og: meta.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import lxml.html
from lxml.html import HtmlElement

from ..capture.behaviours.runner import Behaviour
from .base import Platform, clean, count, parse_time, text_and_links
from .evidence import PageEvidence
from .models import Author, Count, Extraction, Link, LinkKind, Media, MediaType, Post, Relations, Source, SourceKind

NAME = "mastodon"
VERSION = 1

# /@alice/1234, /@alice@other.host/1234, /users/alice/statuses/1234 (+ the old /web/ prefix)
STATUS_PATH = re.compile(
    r"^/(?:web/)?(?:@(?P<acct>[A-Za-z0-9_.-]+(?:@[A-Za-z0-9.-]+)?)|users/(?P<user>[A-Za-z0-9_.-]+)/statuses)/(?P<id>\d+)/?$"
)
STATUS_API = r"/api/v1/statuses/(\d+)(?:\?|$)"
STATUSES_BATCH_API = r"/api/v1/statuses\?"
CONTEXT_API = r"/api/v1/statuses/(\d+)/context(?:\?|$)"
AUTH_ERROR = re.compile(r"authenticated user|sign in|log in|login", re.I)

MEDIA_TYPES = {
    "image": MediaType.IMAGE,
    "video": MediaType.VIDEO,
    "gifv": MediaType.GIF,
    "audio": MediaType.AUDIO,
}

EXPAND_JS = r"""async (args) => {
  const actions = [];
  const roots = [...document.querySelectorAll('.detailed-status')];
  if (args.comments) roots.push(...document.querySelectorAll('.status'));
  let cw = 0, media = 0;
  for (const root of roots) {
    // content warnings: 4.0-4.2 button.status__content__spoiler-link, 4.3+ .content-warning button
    for (const b of root.querySelectorAll('button.status__content__spoiler-link, .content-warning button')) {
      const open = b.getAttribute('aria-expanded') === 'true' || b.classList.contains('status__content__spoiler-link--show-less');
      if (open) continue;
      try { b.click(); cw++; } catch (e) { /* a detached button */ }
    }
    // sensitive media hidden behind an overlay
    for (const b of root.querySelectorAll('button.spoiler-button__overlay, .media-gallery__item__overlay button')) {
      try { b.click(); media++; } catch (e) { /* a detached button */ }
    }
  }
  if (cw) actions.push(`expanded ${cw} content warning(s) ('Show more', button.status__content__spoiler-link)`);
  if (media) actions.push(`revealed ${media} sensitive media item(s) (button.spoiler-button__overlay)`);
  return {actions, more: false};
}"""

EXPAND = Behaviour(
    name="mastodon-expand",
    description="expand content warnings ('Show more') and reveal sensitive media of the status (and of its replies when comments are on)",
    script=EXPAND_JS,
    rounds=2,
    pause=0.3,
)


def status_id(url: str) -> str | None:
    m = STATUS_PATH.match(urlsplit(url).path)
    return m.group("id") if m else None


# -- reading the API JSON -----------------------------------------------------------------


def content_text(html: str, ev: PageEvidence) -> tuple[str, list[Link]]:
    """A status' HTML content as the web app shows it: span.invisible parts of long links
    hidden, span.ellipsis followed by '…', mentions and hashtags as links."""
    if not html.strip():
        return "", []
    root = lxml.html.fragment_fromstring(html, create_parent="div")
    return shown_text(root, ev)


def shown_text(root: HtmlElement, ev: PageEvidence) -> tuple[str, list[Link]]:
    root = copy.deepcopy(root)
    for node in root.xpath(".//comment()"):
        node.drop_tree()
    for span in root.cssselect("span.invisible"):
        span.drop_tree()
    for span in root.cssselect("span.ellipsis"):
        span.text = (span.text or "") + "\u2026"
    text, links = text_and_links(root, ev)
    return text, [_link_kind(link) for link in links]


def _link_kind(link: Link) -> Link:
    """Mastodon marks hashtags `class="mention hashtag"`: the text decides."""
    if link.text.startswith("#"):
        kind = LinkKind.HASHTAG
    elif link.text.startswith("@"):
        kind = LinkKind.MENTION
    else:
        kind = link.kind if link.kind is not LinkKind.HASHTAG else LinkKind.LINK
    return link.model_copy(update={"kind": kind})


def instance_domain(ev: PageEvidence) -> str | None:
    """LOCAL_DOMAIN of the instance, as the web app uses it to complete local handles."""
    for state in ev.script_json("script#initial-state"):
        if isinstance(state, dict):
            domain = (state.get("meta") or {}).get("domain")
            if isinstance(domain, str) and domain:
                return domain
    return None


def handle_of(acct: str, account_url: str | None, domain: str | None) -> str:
    if "@" in acct:
        return "@" + acct
    host = domain or (urlsplit(account_url).hostname if account_url else None)
    return f"@{acct}@{host}" if host else "@" + acct


def media_of(items: list[dict[str, Any]]) -> list[Media]:
    out = []
    for item in items:
        kind = MEDIA_TYPES.get(item.get("type") or "")
        url = item.get("url") or item.get("remote_url")
        if kind is None or not url:
            continue
        original = ((item.get("meta") or {}).get("original")) or {}
        video = kind in (MediaType.VIDEO, MediaType.GIF)
        out.append(
            Media(
                type=kind,
                url=url,
                alt=clean(item.get("description")),
                width=original.get("width"),
                height=original.get("height"),
                poster_url=item.get("preview_url") if video else None,
            )
        )
    return out


@dataclass
class Found:
    """The status JSON for the page, and which responses it came from."""

    status: dict[str, Any]
    locator: str
    context: dict[str, Any] | None = None
    context_locator: str | None = None
    known: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> any status seen


def find_status(ev: PageEvidence, wanted: str | None) -> Found | None:
    known: dict[str, dict[str, Any]] = {}
    hit: tuple[dict[str, Any], str] | None = None
    for url, data in ev.api_json(STATUS_API):
        if isinstance(data, dict) and data.get("id"):
            known[str(data["id"])] = data
            if hit is None and (wanted is None or str(data["id"]) == wanted):
                hit = (data, url)
    for url, data in ev.api_json(STATUSES_BATCH_API):  # 4.3+: /api/v1/statuses?id[]=...
        for item in data if isinstance(data, list) else []:
            if isinstance(item, dict) and item.get("id"):
                known.setdefault(str(item["id"]), item)
                if hit is None and wanted is not None and str(item["id"]) == wanted:
                    hit = (item, url)
    if hit is None:
        return None
    found = Found(status=hit[0], locator=hit[1], known=known)
    sid = str(hit[0]["id"])
    for url, data in ev.api_json(CONTEXT_API):
        m = re.search(CONTEXT_API, url)
        if m and m.group(1) == sid and isinstance(data, dict):
            found.context, found.context_locator = data, url
            for item in (data.get("ancestors") or []) + (data.get("descendants") or []):
                if isinstance(item, dict) and item.get("id"):
                    known.setdefault(str(item["id"]), item)
    return found


def quoted_url(status: dict[str, Any]) -> str | None:
    """Mastodon 4.5 `quote: {state, quoted_status}`; Fedibird/glitch-style `quote: Status`."""
    quote = status.get("quote")
    if not isinstance(quote, dict):
        return None
    inner = quote.get("quoted_status") if "state" in quote else quote
    if isinstance(inner, dict):
        return inner.get("url") or inner.get("uri")
    return None


def relations_of(found: Found, shown: dict[str, Any]) -> tuple[Relations, bool]:
    """(relations, whether the context answer was needed for them)."""
    used_context = False
    reply_to = None
    parent = shown.get("in_reply_to_id")
    if parent:
        known = found.known.get(str(parent))
        if known is not None:
            reply_to = known.get("url") or known.get("uri")
            used_context = found.context is not None
    root = None
    ancestors = (found.context or {}).get("ancestors") or []
    if ancestors and isinstance(ancestors[0], dict):
        root = ancestors[0].get("url") or ancestors[0].get("uri")
        used_context = True
    reblog = found.status.get("reblog")
    repost_of = reblog.get("url") or reblog.get("uri") if isinstance(reblog, dict) else None
    return Relations(reply_to=reply_to, quote_of=quoted_url(shown), repost_of=repost_of, thread_root=root), used_context


def dom_counts(ev: PageEvidence) -> list[Count]:
    """Boosts / favourites (/ quotes, 4.5) as the detailed status' meta line shows them."""
    out = []
    meta = ev.first(".detailed-status .detailed-status__meta")
    if meta is None:
        return out
    for name, css, suffix in (
        ("reposts", ".detailed-status__reblogs", "/reblogs"),
        ("quotes", ".detailed-status__quotes", "/quotes"),
        ("likes", ".detailed-status__favorites", "/favourites"),
    ):
        el = ev.first(css, meta)
        if el is None:
            for a in ev.select("a.detailed-status__link", meta):
                if (a.get("href") or "").rstrip("/").endswith(suffix):
                    el = ev.first(".animated-number", a) or a
        found = count(name, clean(el.text_content())) if el is not None else None
        if found is not None and found.value is not None:
            out.append(found)
    return out


def api_counts(status: dict[str, Any], shown_in_dom: set[str]) -> list[Count]:
    out = []
    for name, key in (("replies", "replies_count"), ("reposts", "reblogs_count"), ("quotes", "quotes_count"), ("likes", "favourites_count")):
        value = status.get(key)
        if name not in shown_in_dom and isinstance(value, int):
            found = count(name, str(value))
            if found is not None:
                out.append(found)
    return out


ORDER = {"replies": 0, "reposts": 1, "quotes": 2, "likes": 3}


def from_api(ev: PageEvidence, found: Found) -> Post:
    status = found.status
    shown = status["reblog"] if isinstance(status.get("reblog"), dict) else status
    account = status.get("account") or {}
    domain = instance_domain(ev)
    text, links = content_text(shown.get("content") or "", ev)
    relations, used_context = relations_of(found, shown)
    counts_dom = dom_counts(ev)
    counts = counts_dom + api_counts(shown, {c.name for c in counts_dom})
    counts.sort(key=lambda c: ORDER.get(c.name, 9))
    author = Author(
        display_name=clean(account.get("display_name")) or account.get("username"),
        handle=handle_of(account.get("acct") or account.get("username") or "", account.get("url"), domain),
        url=account.get("url"),
        id=str(account["id"]) if account.get("id") else None,
        avatar_url=account.get("avatar"),
    )
    fields = ["id", "url", "author", "published", "text", "language", "media", "relations"]
    fields += ["title"] if shown.get("spoiler_text") else []
    fields += ["links"] if links else []
    fields += ["counts"] if len(counts) > len(counts_dom) else []
    sources = [Source(kind=SourceKind.API_JSON, locator=found.locator, fields=fields)]
    if used_context and found.context_locator:
        sources.append(Source(kind=SourceKind.API_JSON, locator=found.context_locator, fields=["relations"]))
    if domain and "@" not in (account.get("acct") or "@"):
        sources.append(Source(kind=SourceKind.EMBEDDED_JSON, locator="script#initial-state", fields=["author.handle"]))
    if counts_dom:
        sources.append(Source(kind=SourceKind.DOM, locator=".detailed-status .detailed-status__meta", fields=["counts"]))
    return Post(
        platform=NAME,
        id=str(status["id"]),
        url=status.get("url") or status.get("uri") or ev.final_url,
        author=author,
        published=parse_time(status.get("created_at")),
        published_raw=status.get("created_at"),
        title=clean(shown.get("spoiler_text")),
        text=text or None,
        links=links,
        language=shown.get("language"),
        media=media_of(shown.get("media_attachments") or []),
        counts=counts,
        relations=relations,
        sources=sources,
        extraction=Extraction(extractor=NAME, version=VERSION),
    )


# -- reading the DOM (no API answer recorded) ---------------------------------------------


def dom_media(ev: PageEvidence, root: HtmlElement) -> list[Media]:
    out = []
    for item in ev.select(".media-gallery__item", root):
        link = ev.first("a.media-gallery__item-thumbnail", item)
        img = ev.first("img", item)
        video = ev.first("video", item)
        if video is not None:
            src = video.get("src")
            if src:
                out.append(Media(type=MediaType.GIF, url=ev.absolute(src) or src, alt=video.get("aria-label") or video.get("title")))
        elif link is not None and link.get("href"):
            out.append(Media(type=MediaType.IMAGE, url=ev.absolute(link.get("href")) or "", alt=img.get("alt") if img is not None else None))
    for video in ev.select(".video-player video, .audio-player audio", root):
        src = video.get("src")
        if src:
            kind = MediaType.AUDIO if video.tag == "audio" else MediaType.VIDEO
            out.append(Media(type=kind, url=ev.absolute(src) or src, alt=video.get("aria-label") or video.get("title"), poster_url=ev.absolute(video.get("poster"))))
    return out


def from_dom(ev: PageEvidence) -> Post | None:
    root = ev.first(".detailed-status")
    if root is None:
        return None
    sources: list[Source] = []
    name_el = ev.first(".display-name__html", root)
    acct_el = ev.first(".display-name__account", root)
    profile = ev.first("a.detailed-status__display-name", root)
    avatar = ev.first(".account__avatar img", root)
    author = Author(
        display_name=clean(text_and_links(name_el)[0]) if name_el is not None else None,
        handle=clean(acct_el.text_content()) if acct_el is not None else None,
        url=ev.absolute(profile.get("href")) if profile is not None else None,
        avatar_url=ev.absolute(avatar.get("src")) if avatar is not None else None,
    )
    sources.append(Source(kind=SourceKind.DOM, locator=".detailed-status .display-name", fields=["author"]))
    body = ev.first(".status__content__text", root)
    text, links = shown_text(body, ev) if body is not None else ("", [])
    spoiler = ev.first(".status__content > p > span, .content-warning p", root)
    title = clean(spoiler.text_content()) if spoiler is not None else None
    if body is not None:
        sources.append(Source(kind=SourceKind.DOM, locator=".detailed-status .status__content__text", fields=["text", "links", "language"]))
    stamp = ev.first("a.detailed-status__datetime", root)
    url = ev.absolute(stamp.get("href")) if stamp is not None else ev.meta("og:url") or ev.final_url
    time_el = ev.first("time[datetime]", stamp) if stamp is not None else None
    raw = time_el.get("datetime") if time_el is not None else ev.meta("og:published_time")
    if raw:
        kind, loc = (SourceKind.DOM, "a.detailed-status__datetime time") if time_el is not None else (SourceKind.OPENGRAPH, "og:published_time")
        sources.append(Source(kind=kind, locator=loc, fields=["published"]))
    sources.append(Source(kind=SourceKind.DOM, locator="a.detailed-status__datetime", fields=["id", "url"]))
    media = dom_media(ev, root)
    if media:
        sources.append(Source(kind=SourceKind.DOM, locator=".detailed-status .media-gallery__item", fields=["media"]))
    counts = dom_counts(ev)
    if counts:
        sources.append(Source(kind=SourceKind.DOM, locator=".detailed-status .detailed-status__meta", fields=["counts"]))
    return Post(
        platform=NAME,
        id=status_id(url) if url else None,
        url=url,
        author=author,
        published=parse_time(raw),
        published_raw=raw,
        title=title,
        text=text or None,
        links=links,
        language=body.get("lang") if body is not None else None,
        media=media,
        counts=counts,
        sources=sources,
        extraction=Extraction(extractor=NAME, version=VERSION),
    )


# -- the platform -------------------------------------------------------------------------


def _is_mastodon_state(state: Any) -> bool:
    meta = state.get("meta") if isinstance(state, dict) else None
    if not isinstance(meta, dict):
        return False
    repo = f"{meta.get('repository') or ''} {meta.get('source_url') or ''}".lower()
    return "mastodon" in repo or ("domain" in meta and "streaming_api_base_url" in meta)


@dataclass(frozen=True)
class Mastodon(Platform):
    name: str = NAME
    version: int = VERSION
    hosts: tuple[str, ...] = ()  # any instance: see matches() and detect()
    behaviours: tuple[Behaviour, ...] = (EXPAND,)

    def matches(self, url: str) -> bool:
        return status_id(url) is not None

    def detect(self, ev: PageEvidence) -> bool:
        if ev.first("div#mastodon[data-props]") is not None:
            return True
        if any(_is_mastodon_state(s) for s in ev.script_json("script#initial-state")):
            return True
        for _, data in ev.api_json(STATUS_API):
            if isinstance(data, dict) and isinstance(data.get("account"), dict) and "acct" in data["account"] and "spoiler_text" in data:
                return True
        return False

    def post_selectors(self, url: str) -> list[str]:
        return [".detailed-status__wrapper", ".detailed-status"]

    def login_wall(self, ev: PageEvidence) -> str | None:
        wanted = status_id(ev.final_url) or status_id(ev.url)
        for r in ev.responses(STATUS_API):
            m = re.search(STATUS_API, r.url)
            if r.status in (401, 403) and m and (wanted is None or m.group(1) == wanted):
                data = r.json()
                error = data.get("error") if isinstance(data, dict) else None
                if error is None or AUTH_ERROR.search(error):
                    return f"the instance answered {r.status} for the status ({error or 'no reason given'}): sign-in required"
        return None

    def extract(self, ev: PageEvidence) -> Post | None:
        wanted = status_id(ev.final_url) or status_id(ev.url)
        found = find_status(ev, wanted)
        if found is not None:
            return from_api(ev, found)
        return from_dom(ev)


PLATFORM = Mastodon()
